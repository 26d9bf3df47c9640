//! The list key and members' keys against real gpg, as members' clients make
//! and read them.

use std::time::SystemTime;

use conclave_engine::crypto::openpgp::{KeyAlgo, KeyRefusal, ListKey, MemberKey};
use conclave_engine::secrets::Sensitive;
use rig::gpg::Gpg;

fn now() -> SystemTime {
    SystemTime::now()
}

#[test]
fn keys_made_by_gpg_are_taken() {
    let gpg = Gpg::new();
    for (uid, algo) in [
        ("Bob <bob@example.org>", "future-default"),
        ("Carol <carol@example.org>", "rsa3072"),
    ] {
        let fpr = gpg.generate(uid, algo, "never", &[]);
        let email = uid.split('<').nth(1).unwrap().trim_end_matches('>');
        let key = MemberKey::check(&gpg.export(email), email, now())
            .unwrap_or_else(|e| panic!("{uid}: {e}"));
        assert_eq!(key.fingerprint(), fpr);
        let info = key.info(now());
        assert_eq!(info.user_ids, [uid]);
        assert_eq!(info.fingerprint.replace(' ', ""), fpr);
    }
}

#[test]
fn keys_gpg_members_should_not_use_are_refused_with_the_reason() {
    let gpg = Gpg::new();
    // Expired: made in 2020, valid for a year.
    gpg.generate(
        "Old <old@example.org>",
        "future-default",
        "1y",
        &["--faked-system-time", "20200101T000000!"],
    );
    let e = MemberKey::check(&gpg.export("old@example.org"), "old@example.org", now()).unwrap_err();
    assert!(matches!(e, KeyRefusal::Expired(_)), "{e}");

    // Revoked with the certificate gpg keeps for that.
    let fpr = gpg.generate("Gone <gone@example.org>", "future-default", "never", &[]);
    let rev_path = gpg
        .home
        .path()
        .join("openpgp-revocs.d")
        .join(format!("{fpr}.rev"));
    let rev = std::fs::read_to_string(&rev_path)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let out = gpg.run(&["--import"], Some(rev.as_bytes()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e =
        MemberKey::check(&gpg.export("gone@example.org"), "gone@example.org", now()).unwrap_err();
    assert_eq!(e, KeyRefusal::Revoked);

    // Weak: RSA 1024.
    gpg.generate("Weak <weak@example.org>", "rsa1024", "never", &[]);
    let e =
        MemberKey::check(&gpg.export("weak@example.org"), "weak@example.org", now()).unwrap_err();
    assert!(matches!(e, KeyRefusal::Policy(_)), "{e}");

    // Weak: SHA-1 self-signatures.
    gpg.generate(
        "Sha <sha@example.org>",
        "rsa3072",
        "never",
        &["--cert-digest-algo", "SHA1"],
    );
    let e = MemberKey::check(&gpg.export("sha@example.org"), "sha@example.org", now()).unwrap_err();
    assert!(matches!(e, KeyRefusal::Policy(_)), "{e}");

    // Signing only: no subkey for encryption.
    gpg.generate("Sign <sign@example.org>", "ed25519", "never", &[]);
    let e =
        MemberKey::check(&gpg.export("sign@example.org"), "sign@example.org", now()).unwrap_err();
    assert_eq!(e, KeyRefusal::NoEncryptionSubkey);

    // Someone else's key.
    gpg.generate("Eve <eve@example.org>", "future-default", "never", &[]);
    let e = MemberKey::check(&gpg.export("eve@example.org"), "bob@example.org", now()).unwrap_err();
    assert!(matches!(e, KeyRefusal::NoMatchingUserId { .. }), "{e}");
}

#[test]
fn the_list_key_is_read_by_gpg_and_gpg_keys_can_become_list_keys() {
    let list =
        ListKey::generate("Tenants", "tenants@example.org", KeyAlgo::Ed25519, now()).unwrap();
    let gpg = Gpg::new();
    let out = gpg.run(&["--import"], Some(list.public_armored().as_bytes()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing =
        String::from_utf8(gpg.ok(&["--with-colons", "--list-keys", "tenants@example.org"]))
            .unwrap();
    assert!(
        listing.contains("Tenants <tenants@example.org>"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("sub:") && l.split(':').nth(11).unwrap().contains('e')),
        "{listing}"
    );
    // A member can encrypt a post to it.
    let out = gpg.run(
        &[
            "--armor",
            "--trust-model",
            "always",
            "--encrypt",
            "--recipient",
            "tenants@example.org",
        ],
        Some(b"hello list"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An owner's existing key, protected by a passphrase, becomes a list key.
    let owner = Gpg::new();
    owner.ok(&[
        "--passphrase",
        "open sesame",
        "--quick-gen-key",
        "Board <board@example.org>",
        "future-default",
        "default",
        "never",
    ]);
    let secret = owner.ok(&[
        "--passphrase",
        "open sesame",
        "--armor",
        "--export-secret-keys",
        "board@example.org",
    ]);
    assert!(ListKey::needs_passphrase(&secret).unwrap());
    let imported = ListKey::import(
        &secret,
        Some(&Sensitive::new("open sesame".into())),
        "board@example.org",
        now(),
    )
    .unwrap();
    assert_eq!(imported.info(now()).user_ids, ["Board <board@example.org>"]);
    assert!(
        ListKey::import(
            &secret,
            Some(&Sensitive::new("wrong".into())),
            "board@example.org",
            now()
        )
        .is_err()
    );
}
