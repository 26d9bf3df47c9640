//! Every committed seed through its target's function, without a fuzzer:
//! `cargo test` in fuzz/ on any toolchain. It also checks that the seeds
//! still reach what they were made for (a fixture change that broke them
//! would leave the fuzzer starting from nothing).

use std::path::Path;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

#[test]
fn post_read_seeds() {
    for (_, data) in seeds("post_read") {
        conclave_fuzz::post_read(&data);
    }
}

#[test]
fn openpgp_unwrap_seeds() {
    for (_, data) in seeds("openpgp_unwrap") {
        conclave_fuzz::openpgp_unwrap(&data);
    }
}

#[test]
fn smime_unwrap_seeds() {
    for (_, data) in seeds("smime_unwrap") {
        conclave_fuzz::smime_unwrap(&data);
    }
}

#[test]
fn member_keys_seeds() {
    for (_, data) in seeds("member_keys") {
        conclave_fuzz::member_keys(&data);
    }
}

#[test]
fn decide_seeds() {
    for (_, data) in seeds("decide") {
        conclave_fuzz::decide(&data);
    }
}

/// What a seed was made to be, as the list reads it: (encrypted, signed).
fn expect(
    target: &str,
    cases: &[(&str, &str, &str)],
    read: impl Fn(&[u8], Option<&str>) -> conclave_engine::crypto::Unwrapped,
) {
    use conclave_engine::crypto::{Encrypted, Signed};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    for (name, encrypted, signed) in cases {
        let raw = std::fs::read(dir.join(name)).unwrap();
        let from = conclave_engine::policy::Post::read(&raw)
            .ok()
            .and_then(|p| p.signing_poster().map(str::to_string));
        let u = read(&raw, from.as_deref());
        let e = match u.encrypted {
            Encrypted::No => "no",
            Encrypted::ForList => "for-list",
            Encrypted::NotForList => "not-for-list",
            Encrypted::Broken(_) => "broken",
        };
        let s = match &u.signed {
            Signed::No => "no".to_string(),
            Signed::ByMember { email, .. } => email.clone(),
            Signed::NotTheSender { email, .. } => format!("not-the-sender {email}"),
            Signed::Invalid(_) => "invalid".to_string(),
        };
        assert_eq!(
            (e, s.as_str()),
            (*encrypted, *signed),
            "{target}/{name}: {u:?}"
        );
    }
}

#[test]
fn the_openpgp_seeds_read_as_they_were_made() {
    let keys = conclave_fuzz::openpgp();
    expect(
        "openpgp_unwrap",
        &[
            ("signed.eml", "no", "alice@example.org"),
            ("signed-attachment.eml", "no", "alice@example.org"),
            (
                "signed-not-the-sender.eml",
                "no",
                "not-the-sender alice@example.org",
            ),
            ("signed-non-member.eml", "no", "invalid"),
            ("signed-encrypted.eml", "for-list", "alice@example.org"),
            ("encrypted.eml", "for-list", "no"),
            ("signed-then-encrypted.eml", "for-list", "alice@example.org"),
            ("encrypted-other-key.eml", "not-for-list", "no"),
            (
                "rsa-signed-encrypted-two-recipients.eml",
                "for-list",
                "bob@example.org",
            ),
            ("signed-encrypted-zlib.eml", "for-list", "alice@example.org"),
            ("inline-clearsigned.eml", "no", "alice@example.org"),
            ("inline-clearsigned-text-outside.eml", "no", "invalid"),
            ("inline-encrypted.eml", "for-list", "alice@example.org"),
            ("symmetric.eml", "not-for-list", "no"),
            ("regression-seip-cut-short.eml", "broken", "no"),
        ],
        |raw, from| {
            conclave_engine::crypto::openpgp::unwrap(
                raw,
                &keys.list,
                &keys.members,
                from,
                1 << 20,
                conclave_fuzz::now(),
            )
        },
    );
}

#[test]
fn the_smime_seeds_read_as_they_were_made() {
    let keys = conclave_fuzz::smime();
    expect(
        "smime_unwrap",
        &[
            ("signed.eml", "no", "alice@example.org"),
            ("signed-opaque.eml", "no", "alice@example.org"),
            ("signed-rsa.eml", "no", "bob@example.org"),
            (
                "signed-not-the-sender.eml",
                "no",
                "not-the-sender alice@example.org",
            ),
            ("signed-non-member.eml", "no", "invalid"),
            ("signed-sha1.eml", "no", "invalid"),
            ("signed-two-signers.eml", "no", "invalid"),
            ("encrypted-cbc-unsigned.eml", "broken", "no"),
            (
                "signed-then-encrypted-cbc.eml",
                "for-list",
                "alice@example.org",
            ),
            ("encrypted-gcm.eml", "for-list", "no"),
            (
                "opaque-signed-then-encrypted-gcm.eml",
                "for-list",
                "alice@example.org",
            ),
            (
                "encrypted-two-recipients.eml",
                "for-list",
                "alice@example.org",
            ),
            ("encrypted-other-key.eml", "not-for-list", "no"),
            ("encrypted-3des.eml", "broken", "no"),
            ("gpgsm-signed.eml", "no", "bob@example.org"),
            ("gpgsm-signed-opaque.eml", "no", "bob@example.org"),
            ("gpgsm-signed-then-encrypted.eml", "not-for-list", "no"),
        ],
        |raw, from| {
            conclave_engine::crypto::smime::unwrap(
                raw,
                Some(&keys.list),
                &keys.members,
                from,
                1 << 20,
                conclave_fuzz::now(),
            )
        },
    );
}

#[test]
fn the_key_files_are_taken_or_refused_as_they_were_made() {
    use conclave_engine::crypto::openpgp::MemberKey;
    use conclave_engine::crypto::smime::MemberCert;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/member_keys");
    let file = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let now = conclave_fuzz::now();
    for (name, email, taken) in [
        ("alice.asc", "alice@example.org", true),
        ("alice.gpg", "alice@example.org", true),
        ("bob-rsa.asc", "bob@example.org", true),
        ("expired.asc", "old@example.org", false),
        ("sha1-self-signatures.asc", "sha1@example.org", false),
        ("no-encryption-subkey.asc", "signer@example.org", false),
    ] {
        let checked = MemberKey::check(&file(name), email, now);
        assert_eq!(checked.is_ok(), taken, "{name}: {checked:?}");
    }
    let anchors = [conclave_fuzz::smime().authority.clone()];
    for (name, email, pinned, taken) in [
        ("alice.pem", "alice@example.org", false, true),
        ("alice-with-chain.p7b", "alice@example.org", false, true),
        ("alice-with-authority.pem", "alice@example.org", false, true),
        ("bob.der", "bob@example.org", false, true),
        ("bob.p7b.der", "bob@example.org", false, true),
        ("self-signed.pem", "carol@example.net", false, false),
        ("self-signed.pem", "carol@example.net", true, true),
        ("expired.pem", "old@example.org", true, false),
        ("rsa1024.pem", "weak@example.org", true, false),
        ("sha1-signed.pem", "sha1@example.org", true, false),
    ] {
        let checked = MemberCert::check(&file(name), email, &anchors, pinned, now);
        assert_eq!(checked.is_ok(), taken, "{name}: {:?}", checked.err());
    }
}
