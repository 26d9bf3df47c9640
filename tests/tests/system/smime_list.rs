//! S/MIME lists end to end on the real rig: members post with `openssl cms`
//! and with `gpgsm`, the list decrypts, checks, signs and envelopes a copy
//! for each member, and each member's openssl decrypts the copy and verifies
//! the list's signature. A mixed list serves OpenPGP and S/MIME members from
//! one post.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conclave_engine::mime;
use rig::Rig;
use rig::owner::Owner;
use rig::smime::{self, Ca, CertSpec, Cipher, Gpgsm, KeyKind, MemberCert};

fn header(raw: &[u8], name: &str) -> Option<String> {
    mime::header(mime::split_head(raw).0, name)
}

/// An S/MIME list on the rig with a certificate it made for itself
/// (RSA, which every client can encrypt to); its certificate is written to
/// a file members use as their trust anchor for the list.
struct SmimeList {
    owner: Owner,
    cert: PathBuf,
    _dir: tempfile::TempDir,
}

fn smime_list(prefix: &str) -> SmimeList {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique(prefix),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Secure",
        "--protocol",
        "smime",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    let show = owner.ok(&["list", "key", "generate", &owner.list]);
    assert!(
        show.contains("RSA 3072") && show.contains("self-signed"),
        "{show}"
    );
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("list.pem");
    std::fs::write(&cert, owner.ok(&["list", "key", "export", &owner.list])).unwrap();
    SmimeList {
        owner,
        cert,
        _dir: dir,
    }
}

/// Gives the owner a member's certificate; `pin` for a self-made one.
fn add_member(owner: &Owner, m: &MemberCert, pin: bool) {
    let mut args = vec![
        "member",
        "add",
        &owner.list,
        &m.email,
        "--key",
        m.cert.to_str().unwrap(),
    ];
    if pin {
        args.push("--pin");
    }
    let out = owner.ok(&args);
    assert!(out.contains("smime key "), "{out}");
}

/// Opens a member's copy as their client would: decrypt with the member's
/// key, verify the list's signature against the list certificate; returns
/// the signed content.
/// Decrypts and verifies a member's copy as their client would: the
/// list's payload (its protected headers, its note on who signed).
fn open_payload(m: &MemberCert, copy: &[u8], list_cert: &Path) -> Vec<u8> {
    let ct = header(copy, "Content-Type").unwrap();
    assert_eq!(
        mime::media_type(&ct),
        "application/pkcs7-mime",
        "{}",
        String::from_utf8_lossy(copy)
    );
    let signed = m.decrypt(copy);
    smime::verify(&signed, list_cert)
        .unwrap_or_else(|e| panic!("{}: the list signature does not verify: {e}", m.email))
}

/// The post's own content in a member's copy.
fn open_copy(m: &MemberCert, copy: &[u8], list_cert: &Path) -> Vec<u8> {
    rig::copy::poster_content(&open_payload(m, copy, list_cert))
}

fn submit(from: &str, list: &str, raw: &[u8]) {
    let rig = Rig::get();
    rig.submit(from, Some(from), &[list], raw);
}

/// A forgery in `from`'s name: the forger cannot log in as them, so it
/// comes from another server, through the rig's MX port.
fn forge(from: &str, list: &str, raw: &[u8]) {
    Rig::get().deliver(Some(from), &[list], raw);
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(haystack).contains(needle)
}

#[test]
fn every_shape_made_by_openssl_reaches_every_member_signed_by_the_list() {
    let rig = Rig::get();
    let l = smime_list("list-smime");
    let owner = &l.owner;
    let ca = Ca::new("Tenants Union CA");
    let ca_file = ca.dir.path().join("anchor.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    owner.ok(&[
        "list",
        "trust",
        "add",
        &owner.list,
        ca_file.to_str().unwrap(),
    ]);

    let alice = ca.issue(&rig.unique("alice"));
    let bob = MemberCert::self_signed(&rig.unique("bob"));
    let carol = ca.issue_with(&CertSpec::new(&rig.unique("carol")).key(KeyKind::P256));
    add_member(owner, &alice, false);
    add_member(owner, &bob, true);
    add_member(owner, &carol, false);
    // Carol's client reads AES-GCM.
    owner.ok(&[
        "member",
        "set",
        &owner.list,
        &carol.email,
        "smime-cipher",
        "gcm",
    ]);

    let attachment: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let entities = [
        smime::entity_with_attachment(
            "Detached, with the minutes attached.",
            "minutes.bin",
            &attachment,
        ),
        smime::text_entity("Opaque signed: the meeting moves to Thursday."),
        smime::text_entity("Signed, then encrypted (CBC): bring the flyers."),
        smime::entity_with_attachment(
            "Signed, then encrypted (GCM): the key list.",
            "keys.bin",
            &attachment[..500],
        ),
    ];
    let list_cert = [l.cert.as_path()];
    let posts = [
        alice.post(&owner.list, "detached", &alice.signed(&entities[0])),
        alice.post(&owner.list, "opaque", &alice.signed_opaque(&entities[1])),
        alice.post(
            &owner.list,
            "cbc",
            &alice.signed_then_encrypted(&list_cert, Cipher::Aes256Cbc, &entities[2]),
        ),
        alice.post(
            &owner.list,
            "gcm",
            &alice.signed_then_encrypted(&list_cert, Cipher::Aes256Gcm, &entities[3]),
        ),
    ];
    for p in &posts {
        submit(&alice.email, &owner.list, p);
    }
    rig.wait_for(&owner.list, "INBOX", posts.len(), Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("4 distributed") && out.contains("12 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );

    for m in [&alice, &bob, &carol] {
        let copies = rig.wait_for(&m.email, "INBOX", posts.len(), Duration::from_secs(20));
        let mut opened: Vec<Vec<u8>> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        for copy in &copies {
            assert!(
                !contains(copy, "meeting moves"),
                "no clear text on the wire"
            );
            let kind = mime::param(&header(copy, "Content-Type").unwrap(), "smime-type").unwrap();
            let expected = if m.email == carol.email {
                "authEnveloped-data"
            } else {
                "enveloped-data"
            };
            assert_eq!(kind, expected, "{}", m.email);
            let payload = open_payload(m, copy, &l.cert);
            notes.push(rig::copy::note(&payload).unwrap_or_default());
            opened.push(rig::copy::poster_content(&payload));
        }
        for e in &entities {
            assert!(
                opened.iter().any(|o| o == e),
                "{} did not get one post byte for byte",
                m.email
            );
        }
        // Inside the list's signature, members read who signed each post
        // and whether it reached the list encrypted; nothing outside says.
        assert!(
            copies
                .iter()
                .all(|c| header(c, "X-Conclave-Decrypted").is_none())
        );
        assert!(
            notes
                .iter()
                .all(|n| n.contains(&format!("Sig: good signature by {}", alice.email))),
            "{notes:?}"
        );
        let decrypted = notes
            .iter()
            .filter(|n| n.contains("reached the list encrypted"))
            .count();
        assert_eq!(decrypted, 2, "{}: {notes:?}", m.email);
        // S/MIME lists show the real subject outside: Outlook and Apple Mail
        // read no other.
        assert!(
            copies
                .iter()
                .all(|c| header(c, "Subject").unwrap().starts_with("[")),
            "prefixed"
        );
        assert!(
            copies
                .iter()
                .all(|c| header(c, "Subject").as_deref() != Some("[...]"))
        );
    }
}

#[test]
fn every_shape_made_by_gpgsm_reaches_the_members() {
    let rig = Rig::get();
    let l = smime_list("list-gpgsm");
    let owner = &l.owner;
    let ca = Ca::new("Newsroom CA");
    let ca_file = ca.dir.path().join("anchor.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    owner.ok(&[
        "list",
        "trust",
        "add",
        &owner.list,
        ca_file.to_str().unwrap(),
    ]);
    let alice = ca.issue(&rig.unique("alice"));
    let bob = ca.issue(&rig.unique("bob"));
    add_member(owner, &alice, false);
    add_member(owner, &bob, false);
    let client = Gpgsm::for_member(&alice);
    client.trust(&l.cert);

    let entities = [
        smime::text_entity("gpgsm detached: the printer is fixed."),
        smime::text_entity("gpgsm opaque: the keys are in the usual place."),
        smime::entity_with_attachment("gpgsm signed then encrypted.", "plan.bin", &[7u8; 2048]),
    ];
    let posts = [
        alice.post(&owner.list, "detached", &client.signed(&entities[0])),
        alice.post(&owner.list, "opaque", &client.signed_opaque(&entities[1])),
        alice.post(
            &owner.list,
            "encrypted",
            &client.signed_then_encrypted(&[l.cert.as_path()], &entities[2]),
        ),
    ];
    for p in &posts {
        submit(&alice.email, &owner.list, p);
    }
    rig.wait_for(&owner.list, "INBOX", posts.len(), Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("3 distributed") && out.contains("6 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let copies = rig.wait_for(&bob.email, "INBOX", posts.len(), Duration::from_secs(20));
    let opened: Vec<_> = copies.iter().map(|c| open_copy(&bob, c, &l.cert)).collect();
    for e in &entities {
        assert!(
            opened.iter().any(|o| o == e),
            "bob did not get one post byte for byte"
        );
    }
    // And gpgsm reads the copies the list sends to its user.
    let copies = rig.wait_for(&alice.email, "INBOX", posts.len(), Duration::from_secs(20));
    let signed = client.decrypt(&copies[0]).expect("gpgsm decrypts its copy");
    client
        .verify(&signed)
        .expect("gpgsm verifies the list's signature");
}

#[test]
fn certificates_the_list_must_not_take_are_refused_with_the_reason() {
    let rig = Rig::get();
    let l = smime_list("list-smime-certs");
    let owner = &l.owner;
    let ca = Ca::new("Org CA");
    let refused = |m: &MemberCert, pin: bool| {
        let mut args = vec![
            "member",
            "add",
            &owner.list,
            &m.email,
            "--key",
            m.cert.to_str().unwrap(),
        ];
        if pin {
            args.push("--pin");
        }
        owner.fails(&args)
    };
    // Issued by an authority the list does not trust (yet).
    let issued = ca.issue(&rig.unique("dana"));
    assert!(refused(&issued, false).contains("not issued by an authority this list trusts"));
    let expired = MemberCert::self_signed_with(&CertSpec::new(&rig.unique("old")).expired());
    assert!(refused(&expired, true).contains("expired"));
    let small =
        MemberCert::self_signed_with(&CertSpec::new(&rig.unique("small")).key(KeyKind::Rsa1024));
    assert!(refused(&small, true).contains("1024 bits"));
    let email = rig.unique("erin");
    let spoof = MemberCert::self_signed_with(
        &CertSpec::new(&email).san_email(&email.replacen('@', "\t@", 1)),
    );
    let e = refused(&spoof, true);
    assert!(e.contains("spaces or control characters"), "{e}");
    // Nobody was added by any of it.
    let members = owner.json(&["member", "list", &owner.list, "--json"]);
    assert_eq!(members.as_array().unwrap().len(), 0, "{members}");
    // Once the authority is trusted, its certificate is taken (DER, or a
    // PKCS#7 bundle, just as well).
    let ca_file = ca.dir.path().join("anchor.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    owner.ok(&[
        "list",
        "trust",
        "add",
        &owner.list,
        ca_file.to_str().unwrap(),
    ]);
    let bundle = issued.dir.path().join("bundle.p7b");
    std::fs::write(&bundle, issued.pkcs7()).unwrap();
    owner.ok(&[
        "member",
        "add",
        &owner.list,
        &issued.email,
        "--key",
        bundle.to_str().unwrap(),
    ]);
    let trust = owner.ok(&["list", "trust", "list", &owner.list]);
    assert!(trust.contains("Org CA"), "{trust}");
}

#[test]
fn forged_tampered_weak_and_foreign_posts_reach_no_member() {
    let rig = Rig::get();
    let l = smime_list("list-smime-bad");
    let owner = &l.owner;
    let alice = MemberCert::self_signed(&rig.unique("alice"));
    let bob = MemberCert::self_signed(&rig.unique("bob"));
    add_member(owner, &alice, true);
    add_member(owner, &bob, true);
    let list_cert = [l.cert.as_path()];
    let entity = smime::text_entity("Only for the members.");
    let mallory = MemberCert::self_signed(&alice.email);

    let held = |subject: &str, send: fn(&str, &str, &[u8]), raw: Vec<u8>, reason: &str| {
        send(&alice.email, &owner.list, &raw);
        rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
        let out = owner.run_once();
        assert!(
            out.contains("1 held") && out.contains("0 sent"),
            "{subject}: {out}\n{}",
            owner.ok(&["log", &owner.list])
        );
        let list = owner.json(&["held", "list", &owner.list, "--json"]);
        let last = list
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["subject"] == subject)
            .expect("held")
            .clone();
        assert!(
            last["reason"].as_str().unwrap().contains(reason),
            "{subject}: {last}"
        );
    };
    // Bob signs, but the post says it is from Alice.
    held(
        "forged",
        forge,
        smime::message(&alice.email, &owner.list, "forged", &bob.signed(&entity)),
        "From says",
    );
    // A certificate with Alice's address that is not the one she gave.
    held(
        "impostor",
        forge,
        mallory.post(&owner.list, "impostor", &mallory.signed(&entity)),
        "no member's",
    );
    // Changed after signing.
    held(
        "tampered",
        submit,
        alice.post(
            &owner.list,
            "tampered",
            &smime::tampered(&alice.signed(&entity)),
        ),
        "does not match",
    );
    // Two signers in one signature.
    held(
        "two-signers",
        submit,
        alice.post(
            &owner.list,
            "two-signers",
            &alice.signed_with(&bob, &entity),
        ),
        "2 signers",
    );
    // SHA-1.
    held(
        "sha1",
        submit,
        alice.post(
            &owner.list,
            "sha1",
            &alice.signed_with_digest("sha1", &entity),
        ),
        "SHA-1",
    );
    // Encrypted to Bob's certificate, not the list's.
    held(
        "elsewhere",
        submit,
        alice.post(
            &owner.list,
            "elsewhere",
            &alice.signed_then_encrypted(&[bob.cert.as_path()], Cipher::Aes256Cbc, &entity),
        ),
        "not the list's",
    );

    let rejected = |subject: &str, raw: Vec<u8>, reason: &str| {
        submit(&alice.email, &owner.list, &raw);
        rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
        let out = owner.run_once();
        assert!(
            out.contains("1 rejected"),
            "{subject}: {out}\n{}",
            owner.ok(&["log", &owner.list])
        );
        let log = owner.ok(&["log", &owner.list]);
        assert!(log.contains(reason), "{subject}: {log}");
    };
    rejected(
        "rc2",
        alice.post(
            &owner.list,
            "rc2",
            &alice.signed_then_encrypted(&list_cert, Cipher::Rc2_40, &entity),
        ),
        "RC2",
    );
    rejected(
        "3des",
        alice.post(
            &owner.list,
            "3des",
            &alice.signed_then_encrypted(&list_cert, Cipher::Des3, &entity),
        ),
        "3DES",
    );
    // CBC without a signature inside: no integrity, never decrypted for anyone.
    rejected(
        "unsigned-cbc",
        alice.post(
            &owner.list,
            "unsigned-cbc",
            &smime::encrypted(&list_cert, Cipher::Aes256Cbc, &entity),
        ),
        "AES-CBC",
    );

    // Unsigned under post-sign force: dropped.
    owner.ok(&["list", "set", &owner.list, "post-sign", "force"]);
    submit(
        &alice.email,
        &owner.list,
        &rig::post(&alice.email, &owner.list, "unsigned", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );

    // Rejections tell the poster; members got nothing at all.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        rig.messages(&bob.email, "INBOX").is_empty(),
        "nothing reached Bob"
    );
    let to_alice = rig.messages(&alice.email, "INBOX");
    assert!(
        to_alice
            .iter()
            .all(|m| !contains(m, "Only for the members")),
        "only notices, without the content"
    );
}

#[test]
fn a_mixed_list_serves_openpgp_and_smime_members_from_one_post() {
    use rig::gpg::{Gpg, encrypted_mail, gpg_to_list};
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-mixed"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Secure",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &owner.list]);
    owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--protocol",
        "smime",
    ]);
    let pgp_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();
    let dir = tempfile::tempdir().unwrap();
    let list_cert = dir.path().join("list.pem");
    std::fs::write(
        &list_cert,
        owner.ok(&["list", "key", "export", &owner.list, "--protocol", "smime"]),
    )
    .unwrap();

    // Alice uses gpg; Bob uses S/MIME.
    let alice = rig.unique("alice");
    let ga = Gpg::new();
    ga.generate(&format!("Alice <{alice}>"), "future-default", "never", &[]);
    assert!(ga.run(&["--import"], Some(&pgp_key)).status.success());
    let key_file = ga.home.path().join("alice.asc");
    std::fs::write(&key_file, ga.export(&alice)).unwrap();
    owner.ok(&[
        "member",
        "add",
        &owner.list,
        &alice,
        "--key",
        key_file.to_str().unwrap(),
    ]);
    let bob = MemberCert::self_signed(&rig.unique("bob"));
    add_member(&owner, &bob, true);

    let entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nOne post, two protocols.\r\n";
    let ct = gpg_to_list(
        &ga,
        &[
            "--local-user",
            &alice,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        entity,
    );
    submit(
        &alice,
        &owner.list,
        &encrypted_mail(&alice, &owner.list, &ct),
    );
    // And Bob answers in S/MIME.
    let answer = smime::text_entity("Received, in S/MIME.");
    submit(
        &bob.email,
        &owner.list,
        &bob.post(
            &owner.list,
            "answer",
            &bob.signed_then_encrypted(&[list_cert.as_path()], Cipher::Aes256Cbc, &answer),
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("2 distributed") && out.contains("4 sent"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );

    // Bob reads both in openssl, signed by the list's certificate.
    let copies = rig.wait_for(&bob.email, "INBOX", 2, Duration::from_secs(20));
    let opened: Vec<_> = copies
        .iter()
        .map(|c| open_copy(&bob, c, &list_cert))
        .collect();
    assert!(
        opened.iter().any(|o| o.as_slice() == entity),
        "Alice's OpenPGP post reached Bob in S/MIME"
    );
    assert!(opened.contains(&answer));
    // Alice reads both in gpg, signed by the list's OpenPGP key.
    let copies = rig.wait_for(&alice, "INBOX", 2, Duration::from_secs(20));
    for copy in &copies {
        let ct = header(copy, "Content-Type").unwrap();
        assert_eq!(mime::media_type(&ct), "multipart/encrypted");
        let parts = mime::parts(
            mime::split_head(copy).1,
            &mime::param(&ct, "boundary").unwrap(),
        )
        .unwrap();
        let out = ga.run(&["--decrypt"], Some(mime::split_head(parts[1]).1));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed = out.stdout;
        let sct = header(&signed, "Content-Type").unwrap();
        let sparts = mime::parts(
            mime::split_head(&signed).1,
            &mime::param(&sct, "boundary").unwrap(),
        )
        .unwrap();
        let (data, sig) = (dir.path().join("data"), dir.path().join("sig.asc"));
        std::fs::write(&data, mime::crlf(sparts[0])).unwrap();
        std::fs::write(&sig, mime::split_head(sparts[1]).1).unwrap();
        let v = ga.run(
            &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
            None,
        );
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    }
}

#[test]
fn the_list_identity_comes_from_pkcs12_or_from_an_authority_answering_a_request() {
    let rig = Rig::get();
    let ca = Ca::new("Org CA");
    let new_list = |prefix: &str| {
        let owner = Owner {
            data: tempfile::tempdir().unwrap(),
            list: rig.unique(prefix),
        };
        owner.ok(&[
            "list",
            "create",
            &owner.list,
            "--name",
            "Org",
            "--protocol",
            "smime",
        ]);
        owner
    };

    // A PKCS#12 file with a password, as an organisation hands it out.
    let owner = new_list("list-p12");
    let issued = ca.issue(&owner.list);
    let p12 = issued.dir.path().join("list.p12");
    std::fs::write(&p12, issued.pkcs12("correct horse")).unwrap();
    let import = |pass: &str| {
        std::process::Command::new(rig::owner::cli_path())
            .arg("--data-dir")
            .arg(owner.data.path())
            .args(["list", "key", "import", &owner.list, p12.to_str().unwrap()])
            .env("CONCLAVE_KEY_PASSPHRASE", pass)
            .output()
            .unwrap()
    };
    let wrong = import("battery staple");
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("password does not open"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let right = import("correct horse");
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    let show = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    assert!(
        show["issuer"].as_str().unwrap().contains("Org CA"),
        "{show}"
    );
    assert_eq!(show["self_signed"], false);

    // A request the authority answers; the key never leaves the keychain.
    let owner = new_list("list-csr");
    let dir = tempfile::tempdir().unwrap();
    let (csr, cert) = (dir.path().join("list.csr"), dir.path().join("list.pem"));
    let out = owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--csr",
        csr.to_str().unwrap(),
    ]);
    assert!(out.contains("install-cert"), "{out}");
    assert!(
        owner
            .fails(&["list", "key", "export", &owner.list])
            .contains("no smime key yet")
    );
    ca.sign_request(&csr, &cert);
    // Another list's certificate does not fit this key.
    let foreign = dir.path().join("foreign.pem");
    std::fs::write(&foreign, ca.issue(&owner.list).pem()).unwrap();
    assert!(
        owner
            .fails(&[
                "list",
                "key",
                "install-cert",
                &owner.list,
                foreign.to_str().unwrap()
            ])
            .contains("does not belong")
    );
    owner.ok(&[
        "list",
        "key",
        "install-cert",
        &owner.list,
        cert.to_str().unwrap(),
    ]);
    let show = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    assert!(
        show["issuer"].as_str().unwrap().contains("Org CA"),
        "{show}"
    );
    assert!(
        owner
            .ok(&["list", "key", "export", &owner.list])
            .contains("BEGIN CERTIFICATE")
    );
}

/// On an S/MIME list, "key" is answered with a mail signed by the list: its
/// certificate travels in the signature, which openssl verifies against
/// the list's certificate, and the text names its SHA-256.
#[test]
fn the_list_s_certificate_comes_back_by_mail_signed() {
    let rig = Rig::get();
    let list = smime_list("list-smime-key");
    let newcomer = rig.unique("smime-newcomer");
    let mail = rig::post(&newcomer, &list.owner.list, "key", "please\r\n");
    rig.submit(&newcomer, Some(&newcomer), &[&list.owner.list], &mail);
    rig.wait_for(&list.owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = list.owner.run_once();
    assert!(out.contains("1 answered"), "{out}");
    let answer = rig
        .wait_for(&newcomer, "INBOX", 1, Duration::from_secs(20))
        .remove(0);
    assert_eq!(
        header(&answer, "Subject").as_deref(),
        Some("[Secure] the list's key")
    );
    let content = smime::verify(&answer, &list.cert)
        .unwrap_or_else(|e| panic!("the list's signature does not verify: {e}"));
    let text = String::from_utf8_lossy(&content).into_owned();
    let shown = list
        .owner
        .json(&["list", "key", "show", &list.owner.list, "--json"]);
    let sha = shown["fingerprint"].as_str().unwrap();
    assert!(
        text.contains(&format!("S/MIME certificate SHA-256 {sha}")),
        "{text}"
    );
    assert!(
        !text.contains("application/pgp-keys"),
        "no OpenPGP key to attach"
    );
}

/// An S/MIME invitation: the invitee answers "join CODE" signed with a
/// certificate from an authority the list trusts; the list adds them with
/// that certificate and welcomes them, encrypted to it. A certificate from
/// an authority the list does not trust adds nobody.
#[test]
fn an_invitee_joins_an_smime_list_with_the_certificate_that_signed_their_answer() {
    let rig = Rig::get();
    let l = smime_list("list-smime-invite");
    let ca = Ca::new("Invitees CA");
    let ca_file = l._dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    l.owner.ok(&[
        "list",
        "trust",
        "add",
        &l.owner.list,
        ca_file.to_str().unwrap(),
    ]);
    let (carol, dave) = (rig.unique("carol"), rig.unique("dave"));
    let invite = |who: &str| {
        let made = l
            .owner
            .json(&["member", "invite", &l.owner.list, who, "--json"]);
        assert!(made["text"].as_str().unwrap().contains("S/MIME"), "{made}");
        made["token"].as_str().unwrap().to_string()
    };
    let (code_c, code_d) = (invite(&carol), invite(&dave));

    // Dave's certificate is from an authority the list does not trust.
    let stranger = Ca::new("Stranger CA").issue(&dave);
    submit(
        &dave,
        &l.owner.list,
        &stranger.post(
            &l.owner.list,
            &format!("join {code_d}"),
            &stranger.signed(&smime::text_entity("Hi.")),
        ),
    );
    let mc = ca.issue(&carol);
    submit(
        &carol,
        &l.owner.list,
        &mc.post(
            &l.owner.list,
            &format!("join {code_c}"),
            &mc.signed(&smime::text_entity("Hello.")),
        ),
    );
    rig.wait_for(&l.owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = l.owner.run_once();
    assert!(
        out.contains("1 answered") && out.contains("1 held"),
        "{out}"
    );
    let held = l.owner.json(&["held", "list", &l.owner.list, "--json"]);
    assert!(
        held.to_string().contains("certificate is refused"),
        "{held}"
    );
    let members = l.owner.ok(&["member", "list", &l.owner.list]);
    assert!(
        members.contains(&carol) && !members.contains(&dave),
        "{members}"
    );

    let welcome = &rig.wait_for(&carol, "INBOX", 1, Duration::from_secs(20))[0];
    let inner = smime::verify(&mc.decrypt(welcome), &l.cert).expect("signed by the list");
    assert!(
        contains(&inner, "Welcome"),
        "{}",
        String::from_utf8_lossy(&inner)
    );

    // An invitation mailed from the list comes signed with its certificate.
    let erin = rig.unique("erin");
    let made = l
        .owner
        .json(&["member", "invite", &l.owner.list, &erin, "--json", "--send"]);
    let mailed = &rig.wait_for(&erin, "INBOX", 1, Duration::from_secs(20))[0];
    let text = smime::verify(mailed, &l.cert).expect("the invitation is signed by the list");
    assert!(
        contains(&text, made["token"].as_str().unwrap()),
        "{}",
        String::from_utf8_lossy(&text)
    );
}

/// The member's S/MIME fingerprint the owner sees, if any.
fn smime_key_of(owner: &Owner, who: &str) -> Option<String> {
    let listed = owner.json(&["member", "list", &owner.list, "--json"]);
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == who)
        .and_then(|m| {
            m["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["protocol"] == "smime")
                .map(|k| k["fingerprint"].as_str().unwrap().to_string())
        })
}

/// A member's certificate renewed by an authority the list trusts, that
/// signs their post, replaces the old one by itself (`cert-auto-update
/// yes`, the default), and they are told, encrypted to the new one; under
/// `cert-auto-update no` the next renewal waits in the key inbox. A
/// renewal from an authority the list does not trust is not taken at all.
#[test]
fn a_renewed_certificate_that_signs_a_post_replaces_the_old_one_or_waits() {
    let rig = Rig::get();
    let l = smime_list("list-smime-renew");
    let ca = Ca::new("Renewing CA");
    let ca_file = l._dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    l.owner.ok(&[
        "list",
        "trust",
        "add",
        &l.owner.list,
        ca_file.to_str().unwrap(),
    ]);
    let carol = rig.unique("carol");
    let first = ca.issue(&carol);
    add_member(&l.owner, &first, false);
    assert_eq!(
        smime_key_of(&l.owner, &carol),
        Some(smime::sha256_fingerprint(&first.cert))
    );

    // A renewal from an authority the list does not trust changes nothing.
    let stranger = Ca::new("Other CA").issue(&carol);
    submit(
        &carol,
        &l.owner.list,
        &stranger.post(
            &l.owner.list,
            "Hello",
            &stranger.signed(&smime::text_entity("From elsewhere.")),
        ),
    );
    // The trusted renewal.
    let renewed = ca.issue(&carol);
    submit(
        &carol,
        &l.owner.list,
        &renewed.post(
            &l.owner.list,
            "My certificate was renewed",
            &renewed.signed(&smime::text_entity("New year, new certificate.")),
        ),
    );
    rig.wait_for(&l.owner.list, "INBOX", 2, Duration::from_secs(20));
    l.owner.run_once();
    assert_eq!(
        smime_key_of(&l.owner, &carol),
        Some(smime::sha256_fingerprint(&renewed.cert)),
        "the renewed certificate replaced the first"
    );
    let waiting = l.owner.json(&["keys", "pending", &l.owner.list, "--json"]);
    assert_eq!(waiting.as_array().unwrap().len(), 0, "{waiting}");
    let log = l.owner.ok(&["log", &l.owner.list]);
    assert!(log.contains("cert-auto-update yes"), "{log}");
    let told = rig
        .wait_for(&carol, "INBOX", 1, Duration::from_secs(20))
        .into_iter()
        .find(|m| contains(m, "your new key"))
        .expect("the notice of the renewed certificate");
    let words = smime::verify(&renewed.decrypt(&told), &l.cert).expect("signed by the list");
    assert!(
        contains(&words, "renewed certificate"),
        "{}",
        String::from_utf8_lossy(&words)
    );

    // Without automatic updates, the next renewal waits for the owner.
    l.owner
        .ok(&["list", "set", &l.owner.list, "cert-auto-update", "no"]);
    let again = ca.issue(&carol);
    submit(
        &carol,
        &l.owner.list,
        &again.post(
            &l.owner.list,
            "Renewed once more",
            &again.signed(&smime::text_entity("And again.")),
        ),
    );
    rig.wait_for(&l.owner.list, "INBOX", 1, Duration::from_secs(20));
    l.owner.run_once();
    assert_eq!(
        smime_key_of(&l.owner, &carol),
        Some(smime::sha256_fingerprint(&renewed.cert)),
        "nothing replaced under cert-auto-update no"
    );
    let waiting = l.owner.json(&["keys", "pending", &l.owner.list, "--json"]);
    let entry = &waiting.as_array().unwrap()[0];
    assert_eq!(entry["protocol"], "smime", "{entry}");
    assert_eq!(entry["signed_by_it"], true, "{entry}");
    let id = entry["id"].as_i64().unwrap().to_string();
    l.owner.ok(&["keys", "accept", &l.owner.list, &id]);
    assert_eq!(
        smime_key_of(&l.owner, &carol),
        Some(smime::sha256_fingerprint(&again.cert))
    );
}

/// A post with a 1 MiB attachment to members whose RecipientInfos differ
/// in length (RSA-2048, RSA-3072, P-256): each copy's own part is encoded
/// in front of base64 lines of the shared encrypted content made once, and
/// each member's openssl opens it to the post, byte for byte, as gpgsm
/// does for the RSA members.
#[test]
fn a_large_post_reaches_every_kind_of_member_whole() {
    let rig = Rig::get();
    let l = smime_list("list-smime-large");
    let owner = &l.owner;
    let ca = Ca::new("Large CA");
    let ca_file = ca.dir.path().join("anchor.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    owner.ok(&[
        "list",
        "trust",
        "add",
        &owner.list,
        ca_file.to_str().unwrap(),
    ]);
    let members: Vec<MemberCert> = [KeyKind::Rsa2048, KeyKind::Rsa3072, KeyKind::P256]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| ca.issue_with(&CertSpec::new(&rig.unique(&format!("m{i}"))).key(kind)))
        .collect();
    for m in &members {
        add_member(owner, m, false);
    }
    let mut x = 88_172_645u32;
    let attachment: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let entity =
        smime::entity_with_attachment("The archive, attached.", "archive.bin", &attachment);
    let poster = &members[0];
    submit(
        &poster.email,
        &owner.list,
        &poster.post(
            &owner.list,
            "archive",
            &poster.signed_then_encrypted(&[l.cert.as_path()], Cipher::Aes256Cbc, &entity),
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}"
    );
    for (i, m) in members.iter().enumerate() {
        let copy = &rig.wait_for(&m.email, "INBOX", 1, Duration::from_secs(30))[0];
        assert!(
            open_copy(m, copy, &l.cert) == entity,
            "{}: openssl opens the post byte for byte",
            m.email
        );
        // Debian 12's gpgsm (2.2) has no ECDH for CMS: the RSA members'.
        if i == 2 {
            continue;
        }
        let client = Gpgsm::for_member(m);
        client.trust(&l.cert);
        let signed = client.decrypt(copy).expect("gpgsm decrypts the copy");
        client
            .verify(&signed)
            .expect("gpgsm verifies the list's signature");
    }
}
