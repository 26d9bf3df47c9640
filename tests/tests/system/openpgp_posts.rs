//! Posts made by real gpg, read by the engine; copies made by the engine,
//! read by real gpg. Every shape a member's client sends, and the ways a
//! post must not count as signed.

use std::time::SystemTime;

use conclave_engine::crypto::openpgp::{
    Encrypted, KeyAlgo, ListKey, MemberKey, Signed, encrypt_entity, sign_entity, unwrap,
};
use conclave_engine::mime;
use rig::gpg::{Gpg, encrypted_mail, gpg_to_list, signed_entity, signed_entity_with, with_headers};

const LIST: &str = "tenants@example.org";
const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nMeeting on Tuesday at 7.\r\nGr\xc3\xbc\xc3\x9fe\r\n";
const MAX: usize = 10 << 20;

struct World {
    list: ListKey,
    alice: Gpg,
    members: Vec<(String, MemberKey)>,
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// The list key, and Alice (a member) with the list key imported.
fn world() -> World {
    let list = ListKey::generate("Tenants", LIST, KeyAlgo::Ed25519, now()).unwrap();
    let alice = Gpg::new();
    alice.generate("Alice <alice@example.org>", "future-default", "never", &[]);
    let out = alice.run(&["--import"], Some(list.public_armored().as_bytes()));
    assert!(out.status.success());
    let key = MemberKey::check(
        &alice.export("alice@example.org"),
        "alice@example.org",
        now(),
    )
    .unwrap();
    World {
        list,
        alice,
        members: vec![("alice@example.org".into(), key)],
    }
}

#[test]
fn gpg_posts_of_every_pgp_mime_shape_are_read() {
    let w = world();
    let from = Some("alice@example.org");

    // Signed and encrypted in one OpenPGP message.
    let ct = gpg_to_list(
        &w.alice,
        &[
            "--local-user",
            "alice@example.org",
            "--sign",
            "--encrypt",
            "--recipient",
            LIST,
        ],
        ENTITY,
    );
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!(u.encrypted, Encrypted::ForList);
    assert!(
        matches!(&u.signed, Signed::ByMember { email, .. } if email == "alice@example.org"),
        "{:?}",
        u.signed
    );
    assert_eq!(u.content.as_deref(), Some(ENTITY));
    assert!(u.signature_digest.is_some());

    // PGP/MIME signed, inside PGP/MIME encrypted.
    let inner = signed_entity(&w.alice, "alice@example.org", ENTITY);
    let ct = gpg_to_list(&w.alice, &["--encrypt", "--recipient", LIST], &inner);
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!(u.encrypted, Encrypted::ForList);
    assert!(
        matches!(u.signed, Signed::ByMember { .. }),
        "{:?}",
        u.signed
    );
    assert_eq!(u.content.as_deref(), Some(ENTITY));

    // Encrypted, not signed.
    let ct = gpg_to_list(&w.alice, &["--encrypt", "--recipient", LIST], ENTITY);
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!((u.encrypted, u.signed), (Encrypted::ForList, Signed::No));

    // PGP/MIME signed only.
    let u = unwrap(
        &with_headers(
            "alice@example.org",
            LIST,
            &signed_entity(&w.alice, "alice@example.org", ENTITY),
        ),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!(u.encrypted, Encrypted::No);
    assert!(
        matches!(u.signed, Signed::ByMember { .. }),
        "{:?}",
        u.signed
    );
    assert_eq!(u.content.as_deref(), Some(ENTITY));
}

#[test]
fn posts_that_must_not_count_as_signed_by_a_member() {
    let w = world();
    let from = Some("alice@example.org");
    let signed = with_headers(
        "alice@example.org",
        LIST,
        &signed_entity(&w.alice, "alice@example.org", ENTITY),
    );

    // A tampered body.
    let tampered = String::from_utf8_lossy(&signed)
        .replace("at 7.", "at 8.")
        .into_bytes();
    let u = unwrap(&tampered, &w.list, &w.members, from, MAX, now());
    assert!(matches!(u.signed, Signed::Invalid(_)), "{:?}", u.signed);

    // Alice's signature under someone else's From: it does not count, but
    // who really signed is known (for the owner).
    let u = unwrap(
        &signed,
        &w.list,
        &w.members,
        Some("carol@example.org"),
        MAX,
        now(),
    );
    assert!(
        matches!(&u.signed, Signed::NotTheSender { email, .. } if email == "alice@example.org"),
        "{:?}",
        u.signed
    );
    assert_eq!(u.signature_digest, None);
    // No single From.
    let u = unwrap(&signed, &w.list, &w.members, None, MAX, now());
    assert!(
        matches!(u.signed, Signed::NotTheSender { .. }),
        "{:?}",
        u.signed
    );

    // Signed by someone who is not a member.
    let mallory = Gpg::new();
    mallory.generate(
        "Mallory <alice@example.org>",
        "future-default",
        "never",
        &[],
    );
    let forged = with_headers(
        "alice@example.org",
        LIST,
        &signed_entity(&mallory, "alice@example.org", ENTITY),
    );
    let u = unwrap(&forged, &w.list, &w.members, from, MAX, now());
    assert!(matches!(u.signed, Signed::Invalid(_)), "{:?}", u.signed);

    // A signed part wrapped in an unsigned multipart: not a signed post.
    let mut wrapped = b"From: alice@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m1\"\r\n\r\n--m1\r\nContent-Type: text/plain\r\n\r\nUnsigned words first.\r\n--m1\r\n".to_vec();
    wrapped.extend_from_slice(&signed_entity(&w.alice, "alice@example.org", ENTITY));
    wrapped.extend_from_slice(b"\r\n--m1--\r\n");
    let u = unwrap(&wrapped, &w.list, &w.members, from, MAX, now());
    assert_eq!(
        (u.encrypted, u.signed, u.content),
        (Encrypted::No, Signed::No, None)
    );

    // Encrypted to a key that is not the list's.
    let bob = Gpg::new();
    bob.generate("Bob <bob@example.org>", "future-default", "never", &[]);
    let bob_pub = bob.export("bob@example.org");
    assert!(w.alice.run(&["--import"], Some(&bob_pub)).status.success());
    let ct = gpg_to_list(
        &w.alice,
        &["--encrypt", "--recipient", "bob@example.org"],
        ENTITY,
    );
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!(u.encrypted, Encrypted::NotForList);
    assert_eq!(u.content, None);
}

#[test]
fn a_compression_bomb_is_refused_not_inflated() {
    let w = world();
    // 16 MiB of zeros compress to a few KiB; the list takes 1 MiB.
    let zeros = vec![0u8; 16 << 20];
    let ct = gpg_to_list(
        &w.alice,
        &["--compress-algo", "zlib", "--encrypt", "--recipient", LIST],
        &zeros,
    );
    assert!(ct.len() < 1 << 20);
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        Some("alice@example.org"),
        1 << 20,
        now(),
    );
    assert!(
        matches!(&u.encrypted, Encrypted::Broken(r) if r.contains("max-size")),
        "{:?}",
        u.encrypted
    );
    assert_eq!(u.content, None);
}

#[test]
fn a_member_decrypts_the_lists_copy_with_gpg_and_verifies_the_list_signature() {
    let w = world();
    let bob = Gpg::new();
    bob.generate("Bob <bob@example.org>", "future-default", "never", &[]);
    assert!(
        bob.run(&["--import"], Some(w.list.public_armored().as_bytes()))
            .status
            .success()
    );
    let bob_key =
        MemberKey::check(&bob.export("bob@example.org"), "bob@example.org", now()).unwrap();

    let copy = encrypt_entity(&sign_entity(ENTITY, &w.list).unwrap(), &bob_key).unwrap();
    let (head, body) = mime::split_head(&copy);
    let ct = mime::header(head, "Content-Type").unwrap();
    let parts = mime::parts(body, &mime::param(&ct, "boundary").unwrap()).unwrap();
    let ciphertext = mime::split_head(parts[1]).1;
    let out = bob.run(&["--decrypt"], Some(ciphertext));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = out.stdout;

    let (shead, sbody) = mime::split_head(&signed);
    let sct = mime::header(shead, "Content-Type").unwrap();
    assert_eq!(mime::media_type(&sct), "multipart/signed");
    let sparts = mime::parts(sbody, &mime::param(&sct, "boundary").unwrap()).unwrap();
    assert_eq!(
        sparts[0], ENTITY,
        "the content is byte for byte what was posted"
    );
    let dir = tempfile::tempdir().unwrap();
    let (data, sig) = (dir.path().join("data"), dir.path().join("sig.asc"));
    std::fs::write(&data, mime::crlf(sparts[0])).unwrap();
    std::fs::write(&sig, mime::split_head(sparts[1]).1).unwrap();
    let out = bob.run(
        &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
        None,
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Good signature from \"Tenants <tenants@example.org>\""),
        "{said}"
    );
}

#[test]
fn encryption_without_integrity_protection_is_never_decrypted() {
    let w = world();
    // --rfc2440 makes gpg write a Symmetrically Encrypted Data packet
    // without MDC: what EFAIL exploits.
    let ct = gpg_to_list(
        &w.alice,
        &[
            "--rfc2440",
            "--cipher-algo",
            "AES256",
            "--encrypt",
            "--recipient",
            LIST,
        ],
        ENTITY,
    );
    let u = unwrap(
        &encrypted_mail("alice@example.org", LIST, &ct),
        &w.list,
        &w.members,
        Some("alice@example.org"),
        MAX,
        now(),
    );
    assert!(
        matches!(&u.encrypted, Encrypted::Broken(r) if r.contains("integrity")),
        "{:?}",
        u.encrypted
    );
    assert_eq!(u.content, None);
}

fn text_mail(from: &str, body: &[u8]) -> Vec<u8> {
    [
        format!("From: {from}\r\nTo: {LIST}\r\nSubject: inline\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").as_bytes(),
        &mime::crlf(body),
    ]
    .concat()
}

#[test]
fn inline_pgp_is_read_and_text_outside_the_block_is_not_signed() {
    let w = world();
    let from = Some("alice@example.org");
    let words = "Meeting at 7, back door.\n".as_bytes();

    let clear = gpg_to_list(
        &w.alice,
        &["--local-user", "alice@example.org", "--clearsign"],
        words,
    );
    let u = unwrap(
        &text_mail("alice@example.org", &clear),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert!(
        matches!(u.signed, Signed::ByMember { .. }),
        "{:?}",
        u.signed
    );
    let content = String::from_utf8(u.content.unwrap()).unwrap();
    assert!(
        content.starts_with("Content-Type: text/plain")
            && content.contains("Meeting at 7, back door."),
        "{content}"
    );
    assert!(
        !content.contains("BEGIN PGP"),
        "only the signed words go on: {content}"
    );

    let with_preface = [b"Forwarded, read this first!\n\n".as_slice(), &clear].concat();
    let u = unwrap(
        &text_mail("alice@example.org", &with_preface),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert!(
        matches!(&u.signed, Signed::Invalid(r) if r.contains("outside the signed block")),
        "{:?}",
        u.signed
    );

    let tampered = String::from_utf8(clear.clone())
        .unwrap()
        .replace("at 7", "at 9")
        .into_bytes();
    let u = unwrap(
        &text_mail("alice@example.org", &tampered),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert!(matches!(u.signed, Signed::Invalid(_)), "{:?}", u.signed);

    let ct = gpg_to_list(
        &w.alice,
        &[
            "--local-user",
            "alice@example.org",
            "--sign",
            "--encrypt",
            "--recipient",
            LIST,
        ],
        words,
    );
    let u = unwrap(
        &text_mail("alice@example.org", &ct),
        &w.list,
        &w.members,
        from,
        MAX,
        now(),
    );
    assert_eq!(u.encrypted, Encrypted::ForList);
    assert!(
        matches!(u.signed, Signed::ByMember { .. }),
        "{:?}",
        u.signed
    );
    assert!(
        String::from_utf8(u.content.unwrap())
            .unwrap()
            .ends_with("\r\n\r\nMeeting at 7, back door.\r\n")
    );
}

#[test]
fn a_member_key_that_expired_or_was_revoked_since_it_was_added_never_counts() {
    let w = world();
    let secs = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (month_ago, weeks_ago) = (
        format!("{}", secs - 30 * 86_400),
        format!("{}!", secs - 25 * 86_400),
    );
    // Dave's key was made a month ago, valid for ten days: it signed while
    // valid, and has expired since.
    let dave = Gpg::new();
    dave.generate(
        "Dave <dave@example.org>",
        "future-default",
        "10d",
        &["--faked-system-time", &month_ago],
    );
    let stored = MemberKey::from_stored(&dave.export("dave@example.org")).unwrap();
    let members = vec![("dave@example.org".to_string(), stored)];
    let entity = signed_entity_with(
        &dave,
        "dave@example.org",
        ENTITY,
        &["--faked-system-time", &weeks_ago],
    );
    let u = unwrap(
        &with_headers("dave@example.org", LIST, &entity),
        &w.list,
        &members,
        Some("dave@example.org"),
        MAX,
        now(),
    );
    assert!(matches!(&u.signed, Signed::Invalid(_)), "{:?}", u.signed);

    // Erin's key is revoked after she was added.
    let erin = Gpg::new();
    let fpr = erin.generate("Erin <erin@example.org>", "future-default", "never", &[]);
    let entity = signed_entity(&erin, "erin@example.org", ENTITY);
    let rev_path = erin
        .home
        .path()
        .join("openpgp-revocs.d")
        .join(format!("{fpr}.rev"));
    let rev = std::fs::read_to_string(rev_path)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    assert!(
        erin.run(&["--import"], Some(rev.as_bytes()))
            .status
            .success()
    );
    let members = vec![(
        "erin@example.org".to_string(),
        MemberKey::from_stored(&erin.export("erin@example.org")).unwrap(),
    )];
    let u = unwrap(
        &with_headers("erin@example.org", LIST, &entity),
        &w.list,
        &members,
        Some("erin@example.org"),
        MAX,
        now(),
    );
    assert!(
        matches!(&u.signed, Signed::Invalid(r) if r.contains("revoked")),
        "{:?}",
        u.signed
    );
}
