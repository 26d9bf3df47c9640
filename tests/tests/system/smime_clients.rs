//! The S/MIME members' clients of `rig::smime` against each other, with no
//! Conclave involved: what openssl makes, openssl and gpgsm read, and the
//! other way round; and the certificates are what they claim to be.

use std::process::{Command, Stdio};

use conclave_engine::mime;
use rig::smime::{self, Ca, CertSpec, Cipher, Gpgsm, KeyKind, MemberCert};

/// `openssl` over `stdin`, for looking at what the helper made.
fn openssl(args: &[&str], stdin: &[u8]) -> Result<String, String> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The list's certificate as the engine makes it: self-signed, CA:false.
fn list() -> MemberCert {
    MemberCert::self_signed_with(&CertSpec::new("list@conclave.test").key(KeyKind::Rsa3072))
}

fn content_type(entity: &[u8]) -> String {
    mime::header(mime::split_head(entity).0, "Content-Type").unwrap()
}

/// The content-encryption algorithm named in an enveloped entity.
fn content_cipher(entity: &[u8]) -> String {
    let dump = openssl(
        &[
            "cms",
            "-cmsout",
            "-print",
            "-provider",
            "legacy",
            "-provider",
            "default",
        ],
        entity,
    )
    .unwrap();
    let at = dump
        .find("contentEncryptionAlgorithm")
        .expect("an enveloped entity");
    dump[at..].lines().nth(1).unwrap().trim().to_string()
}

const BINARY: &[u8] = &[0, 1, 2, 0xff, 0xfe, b'\r', b'\n', b'\n', b'\r', 0x80, 0x7f];

fn entity() -> Vec<u8> {
    let bytes: Vec<u8> = (0..=255u8).chain(BINARY.iter().copied()).collect();
    smime::entity_with_attachment("Hello list,\nsee attached.\n", "data.bin", &bytes)
}

#[test]
fn certificates_have_what_they_claim() {
    let ca = Ca::new("Conclave Test CA");
    let ca_text = openssl(&["x509", "-noout", "-text"], &ca.pem()).unwrap();
    assert!(
        ca_text.contains("CA:TRUE") && ca_text.contains("Public-Key: (3072 bit)"),
        "{ca_text}"
    );

    let alice = ca.issue("alice@conclave.test");
    let t = alice.text();
    for want in [
        "Public-Key: (2048 bit)",
        "Digital Signature, Key Encipherment",
        "E-mail Protection",
        "email:alice@conclave.test",
        "Issuer: CN = Conclave Test CA",
        "CA:FALSE",
    ] {
        assert!(t.contains(want), "{want} missing in\n{t}");
    }
    openssl(
        &[
            "verify",
            "-CAfile",
            ca.cert.to_str().unwrap(),
            "-purpose",
            "smimesign",
            alice.cert.to_str().unwrap(),
        ],
        b"",
    )
    .unwrap();

    let ec = ca
        .issue_with(&CertSpec::new("ec@conclave.test").key(KeyKind::P256))
        .text();
    assert!(
        ec.contains("NIST CURVE: P-256") && ec.contains("Digital Signature, Key Agreement"),
        "{ec}"
    );
    let small = ca
        .issue_with(&CertSpec::new("s@conclave.test").key(KeyKind::Rsa1024))
        .text();
    assert!(small.contains("Public-Key: (1024 bit)"), "{small}");

    let old = ca.issue_with(&CertSpec::new("old@conclave.test").expired());
    assert!(
        old.text().contains("Not After : Jan  1 00:00:00 2021 GMT"),
        "{}",
        old.text()
    );
    let early =
        MemberCert::self_signed_with(&CertSpec::new("early@conclave.test").not_yet_valid()).text();
    assert!(
        early.contains("Not Before: Jan  1 00:00:00 2099 GMT"),
        "{early}"
    );

    let own =
        MemberCert::self_signed_with(&CertSpec::new("own@conclave.test").key(KeyKind::Rsa3072))
            .text();
    assert!(
        own.contains("Issuer: CN = own@conclave.test")
            && own.contains("Subject: CN = own@conclave.test")
    );
    assert!(own.contains("Public-Key: (3072 bit)"), "{own}");

    let spaced = ca
        .issue_with(&CertSpec::new("bob@conclave.test").san_email("bob @conclave.test"))
        .text();
    assert!(spaced.contains("email:bob @conclave.test"), "{spaced}");
    let tabbed = ca
        .issue_with(&CertSpec::new("bob@conclave.test").san_email("bob\t@conclave.test"))
        .text();
    assert!(tabbed.contains("email:bob\t@conclave.test"), "{tabbed}");
    let other = ca
        .issue_with(&CertSpec::new("bob@conclave.test").san_email("carol@conclave.test"))
        .text();
    assert!(
        other.contains("email:carol@conclave.test") && !other.contains("email:bob"),
        "{other}"
    );
}

#[test]
fn certificates_export_as_der_pkcs7_and_pkcs12() {
    let ca = Ca::new("Export CA");
    let alice = ca.issue("alice@conclave.test");
    let from_der = openssl(&["x509", "-inform", "DER"], &alice.der()).unwrap();
    assert_eq!(from_der.as_bytes(), alice.pem());
    let bundle = openssl(
        &["pkcs7", "-inform", "DER", "-print_certs", "-noout"],
        &alice.pkcs7(),
    )
    .unwrap();
    assert!(
        bundle.contains("subject=CN = alice@conclave.test")
            && bundle.contains("subject=CN = Export CA"),
        "{bundle}"
    );
    for p12 in [alice.pkcs12("s3cret"), alice.pkcs12_3des("s3cret")] {
        let keys = openssl(&["pkcs12", "-passin", "pass:s3cret", "-noenc"], &p12).unwrap();
        assert!(keys.contains("PRIVATE KEY") && keys.matches("BEGIN CERTIFICATE").count() == 2);
        assert!(openssl(&["pkcs12", "-passin", "pass:wrong", "-noenc"], &p12).is_err());
    }
}

#[test]
fn openssl_signed_posts_verify_with_openssl() {
    let ca = Ca::new("Signing CA");
    let alice = ca.issue("alice@conclave.test");
    let e = entity();

    let detached = alice.signed(&e);
    assert_eq!(
        content_type(&detached).split("; boundary").next().unwrap(),
        "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\""
    );
    assert_eq!(
        smime::verify(&detached, &ca.cert).unwrap(),
        e,
        "the signed content comes back byte for byte"
    );

    let opaque = alice.signed_opaque(&e);
    assert!(content_type(&opaque).starts_with("application/pkcs7-mime; smime-type=signed-data"));
    assert_eq!(smime::verify(&opaque, &ca.cert).unwrap(), e);

    let sha1 = alice.signed_with_digest("sha1", &e);
    assert!(
        content_type(&sha1).contains("micalg=\"sha1\""),
        "{}",
        content_type(&sha1)
    );

    let err = smime::verify(&smime::tampered(&detached), &ca.cert).unwrap_err();
    assert!(err.contains("verification failure"), "{err}");
    let other_root = list();
    assert!(
        smime::verify(&detached, &other_root.cert).is_err(),
        "trusting only another certificate"
    );

    // Whole messages verify the same way, and are CRLF throughout.
    let post = alice.post("list@conclave.test", "Signed", &detached);
    assert_eq!(smime::verify(&post, &ca.cert).unwrap(), e);
    assert!(
        !post.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
        "bare LF in the post"
    );
    let head = String::from_utf8_lossy(mime::split_head(&post).0).into_owned();
    for h in [
        "From: alice@conclave.test\r\n",
        "To: list@conclave.test\r\n",
        "Subject: Signed\r\n",
        "Date: ",
        "Message-ID: <",
    ] {
        assert!(head.contains(h), "{h} missing in\n{head}");
    }
    assert_eq!(head.matches("MIME-Version: 1.0").count(), 1, "{head}");
}

#[test]
fn self_signed_and_ec_members_sign_and_read() {
    let list = list();
    let ec = MemberCert::self_signed_with(&CertSpec::new("ec@conclave.test").key(KeyKind::P256));
    let e = smime::text_entity("Grüße\n");
    assert_eq!(smime::verify(&ec.signed(&e), &ec.cert).unwrap(), e);
    assert_eq!(
        smime::verify(&list.signed(&e), &list.cert).unwrap(),
        e,
        "a self-signed CA:false root is enough"
    );
    let copy = smime::message(
        "list@conclave.test",
        "ec@conclave.test",
        "x",
        &list.signed_then_encrypted(&[&ec.cert], Cipher::Aes256Cbc, &e),
    );
    let inner = ec.decrypt(&copy);
    assert_eq!(smime::verify(&inner, &list.cert).unwrap(), e);
}

#[test]
fn openssl_encrypted_posts_decrypt_with_openssl_and_gpgsm() {
    let list = list();
    let gpgsm = Gpgsm::for_member(&list);
    let e = entity();
    let cases = [
        (Cipher::Aes128Cbc, "enveloped-data", "aes-128-cbc"),
        (Cipher::Aes256Cbc, "enveloped-data", "aes-256-cbc"),
        (Cipher::Aes256Gcm, "authEnveloped-data", "aes-256-gcm"),
        (Cipher::Des3, "enveloped-data", "des-ede3-cbc"),
        (Cipher::Rc2_40, "enveloped-data", "rc2-cbc"),
    ];
    for (cipher, smime_type, algo) in cases {
        let enc = smime::encrypted(&[&list.cert], cipher, &e);
        assert_eq!(
            content_type(&enc),
            format!("application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\""),
            "{cipher:?}"
        );
        assert!(
            content_cipher(&enc).contains(algo),
            "{cipher:?}: {}",
            content_cipher(&enc)
        );
        let post = smime::message(
            "alice@conclave.test",
            "list@conclave.test",
            "Encrypted",
            &enc,
        );
        let by_gpgsm = gpgsm.decrypt(&post);
        match cipher {
            // Without the legacy provider OpenSSL 3.0 has no RC2, and
            // gpgsm never had it.
            Cipher::Rc2_40 => {
                assert!(list.try_decrypt(&post).unwrap_err().contains("unsupported"));
                assert!(by_gpgsm.unwrap_err().contains("RC2"));
            }
            // gpgsm 2.2 does not read AuthEnvelopedData ("error getting IV").
            Cipher::Aes256Gcm => {
                assert_eq!(list.decrypt(&post), e);
                assert!(by_gpgsm.is_err());
            }
            _ => {
                assert_eq!(list.decrypt(&post), e, "{cipher:?}");
                assert_eq!(by_gpgsm.unwrap(), e, "{cipher:?}");
            }
        }
    }
}

#[test]
fn gpgsm_posts_read_with_openssl() {
    let ca = Ca::new("gpgsm CA");
    let alice = ca.issue("alice@conclave.test");
    let list = list();
    let gpgsm = Gpgsm::for_member(&alice);
    let e = entity();

    let detached = gpgsm.signed(&e);
    assert!(content_type(&detached).starts_with(
        "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary="
    ));
    assert_eq!(smime::verify(&detached, &ca.cert).unwrap(), e);
    assert!(smime::verify(&smime::tampered(&detached), &ca.cert).is_err());

    let opaque = gpgsm.signed_opaque(&e);
    assert!(content_type(&opaque).starts_with("application/pkcs7-mime; smime-type=signed-data"));
    assert_eq!(smime::verify(&opaque, &ca.cert).unwrap(), e);

    let enc = gpgsm.encrypted(&[&list.cert], &e);
    assert!(content_type(&enc).starts_with("application/pkcs7-mime; smime-type=enveloped-data"));
    assert!(
        content_cipher(&enc).contains("aes-256-cbc"),
        "{}",
        content_cipher(&enc)
    );
    assert_eq!(list.decrypt(&enc), e);

    let both = gpgsm.signed_then_encrypted(&[&list.cert], &e);
    let post = smime::message(&alice.email, &list.email, "Signed and encrypted", &both);
    let inner = list.decrypt(&post);
    assert!(content_type(&inner).starts_with("multipart/signed"));
    assert_eq!(smime::verify(&inner, &ca.cert).unwrap(), e);
}

#[test]
fn gpgsm_reads_what_openssl_makes() {
    let ca = Ca::new("Reading CA");
    let alice = ca.issue("alice@conclave.test");
    let gpgsm = Gpgsm::for_member(&alice);
    let e = entity();
    assert_eq!(gpgsm.verify(&alice.signed(&e)).unwrap(), e);
    assert_eq!(gpgsm.verify(&alice.signed_opaque(&e)).unwrap(), e);
    assert!(gpgsm.verify(&smime::tampered(&alice.signed(&e))).is_err());

    // The list signs and encrypts a copy to alice; her gpgsm trusts the list.
    let list = list();
    gpgsm.trust(&list.cert);
    let copy = list.post(
        &alice.email,
        "Copy",
        &list.signed_then_encrypted(&[&alice.cert], Cipher::Aes256Cbc, &e),
    );
    let inner = gpgsm.decrypt(&copy).unwrap();
    assert_eq!(gpgsm.verify(&inner).unwrap(), e);
    assert_eq!(smime::verify(&inner, &list.cert).unwrap(), e);
}

#[test]
fn a_member_cannot_read_what_is_not_for_them() {
    let (list, bob) = (list(), MemberCert::self_signed("bob@conclave.test"));
    let enc = smime::encrypted(
        &[&list.cert],
        Cipher::Aes256Cbc,
        &smime::text_entity("not for bob"),
    );
    assert!(bob.try_decrypt(&enc).is_err());
}
