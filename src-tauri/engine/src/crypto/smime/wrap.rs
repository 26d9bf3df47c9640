//! Building what an S/MIME member receives (RFC 8551): the clear content
//! signed once by the list (multipart/signed, SHA-256), then enveloped
//! separately for each member with AES-256, so no copy names another
//! member's certificate.

use std::io::Write;

use openssl::cms::{CMSOptions, CmsContentInfo};

use super::{ListIdentity, MemberCert, SmimeError, base64_lines, failed};
use crate::mime;

/// The content cipher of a member's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-256-CBC in EnvelopedData: what every client reads.
    Cbc,
    /// AES-256-GCM in AuthEnvelopedData (RFC 5083): protected against
    /// changes, for clients that read it.
    Gcm,
}

/// Signs a MIME entity (its Content-* headers and body) with the list's
/// key: a multipart/signed entity with a detached CMS signature over the
/// entity's canonical (CRLF) bytes, carrying the list's certificate chain.
pub fn sign_entity(content: &[u8], list: &ListIdentity) -> Result<Vec<u8>, SmimeError> {
    let content = mime::crlf(content);
    let mut chain = openssl::stack::Stack::new().map_err(failed)?;
    for c in list.chain() {
        chain.push(c.clone()).map_err(failed)?;
    }
    // SHA-256 is OpenSSL's default digest for RSA and P-256 keys.
    let cms = CmsContentInfo::sign(
        Some(list.cert()),
        Some(list.key()),
        Some(&chain),
        Some(&content),
        CMSOptions::DETACHED | CMSOptions::BINARY,
    )
    .map_err(failed)?;
    let sig = cms.to_der().map_err(failed)?;
    let boundary = mime::new_boundary(&sig);
    let mut out = Vec::with_capacity(content.len() + sig.len() * 2 + 400);
    write!(
        out,
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=sha-256; boundary=\"{boundary}\"\r\n\r\n\
         This is an S/MIME signed message\r\n--{boundary}\r\n"
    )
    .map_err(failed)?;
    out.extend_from_slice(&content);
    write!(
        out,
        "\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\
         Content-Description: S/MIME Cryptographic Signature\r\n\r\n"
    )
    .map_err(failed)?;
    out.extend_from_slice(&base64_lines(&sig));
    write!(out, "\r\n--{boundary}--\r\n").map_err(failed)?;
    Ok(out)
}

/// One member's copy of an entity: application/pkcs7-mime, enveloped for
/// that member's certificate alone (RSA key transport or ECDH key
/// agreement, as the certificate's key is). `entity` must already have CRLF
/// line ends (as [`sign_entity`] gives them): it is made so once per post,
/// not once per member.
pub fn envelope(entity: &[u8], member: &MemberCert, cipher: Cipher) -> Result<Vec<u8>, SmimeError> {
    let mut certs = openssl::stack::Stack::new().map_err(failed)?;
    certs.push(member.cert().clone()).map_err(failed)?;
    let (algo, kind) = match cipher {
        Cipher::Cbc => (openssl::symm::Cipher::aes_256_cbc(), "enveloped-data"),
        Cipher::Gcm => (openssl::symm::Cipher::aes_256_gcm(), "authEnveloped-data"),
    };
    let cms = CmsContentInfo::encrypt(&certs, entity, algo, CMSOptions::BINARY).map_err(failed)?;
    let der = cms.to_der().map_err(failed)?;
    let mut out = Vec::with_capacity(der.len() * 4 / 3 + 300);
    write!(
        out,
        "Content-Type: application/pkcs7-mime; smime-type={kind}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\
         Content-Description: S/MIME Encrypted Message\r\n\r\n"
    )
    .map_err(failed)?;
    out.extend_from_slice(&base64_lines(&der));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::cert_for;
    use super::super::{SmimeAlgo, unwrap};
    use super::*;
    use crate::crypto::{Encrypted, Signed};
    use std::time::SystemTime;

    const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\r\nMeet at noon.\r\n";

    fn message(from: &str, entity: &[u8]) -> Vec<u8> {
        [format!("From: {from}\r\nTo: list@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n").as_bytes(), entity].concat()
    }

    /// A list, and a member whose certificate it holds; the member's
    /// identity is a ListIdentity too, so it can sign and decrypt.
    fn setup(rsa: Option<u32>) -> (ListIdentity, ListIdentity, Vec<(String, MemberCert)>) {
        let list = ListIdentity::generate("list@example.org", SmimeAlgo::P256).unwrap();
        let (cert, key) = cert_for("bob@example.org", None, rsa);
        let bob = ListIdentity::with_key(key, vec![cert.clone()], "bob@example.org", SystemTime::now()).unwrap();
        let members = vec![("bob@example.org".to_string(), MemberCert::from_stored(&cert.to_der().unwrap()).unwrap())];
        (list, bob, members)
    }

    #[test]
    fn a_signed_post_by_a_member_counts_and_keeps_its_content() {
        let (list, bob, members) = setup(None);
        let signed = sign_entity(ENTITY, &bob).unwrap();
        let post = message("bob@example.org", &signed);
        let u = unwrap(&post, Some(&list), &members, Some("bob@example.org"), 1 << 20, SystemTime::now());
        assert!(matches!(u.signed, Signed::ByMember { ref email, .. } if email == "bob@example.org"), "{:?}", u.signed);
        assert_eq!(u.encrypted, Encrypted::No);
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        assert!(u.signature_time.is_some() && u.signature_digest.is_some());

        let forged = unwrap(&post, Some(&list), &members, Some("eve@example.org"), 1 << 20, SystemTime::now());
        assert!(matches!(forged.signed, Signed::Invalid(ref w) if w.contains("From says")), "{:?}", forged.signed);
        let tampered = String::from_utf8(post.clone()).unwrap().replace("noon", "dawn");
        let t = unwrap(tampered.as_bytes(), Some(&list), &members, Some("bob@example.org"), 1 << 20, SystemTime::now());
        assert!(matches!(t.signed, Signed::Invalid(ref w) if w.contains("does not match")), "{:?}", t.signed);
        assert_eq!(t.content, None);
    }

    #[test]
    fn a_signature_by_a_certificate_that_has_since_expired_does_not_count() {
        let (list, bob, members) = setup(None);
        let post = message("bob@example.org", &sign_entity(ENTITY, &bob).unwrap());
        let later = SystemTime::now() + std::time::Duration::from_secs(400 * 86_400);
        let u = unwrap(&post, Some(&list), &members, Some("bob@example.org"), 1 << 20, later);
        assert!(matches!(u.signed, Signed::Invalid(ref w) if w.contains("expired")), "{:?}", u.signed);
        assert_eq!(u.content, None);
    }

    #[test]
    fn encryption_to_the_list_needs_a_signature_inside_unless_gcm() {
        let (list, bob, members) = setup(Some(2048));
        let list_as_member = MemberCert::from_stored(&list.cert().to_der().unwrap()).unwrap();
        let now = SystemTime::now();
        // Unsigned, CBC: no integrity, refused.
        let cbc = message("bob@example.org", &envelope(ENTITY, &list_as_member, Cipher::Cbc).unwrap());
        let u = unwrap(&cbc, Some(&list), &members, Some("bob@example.org"), 1 << 20, now);
        assert!(matches!(u.encrypted, Encrypted::Broken(ref w) if w.contains("AES-CBC")), "{:?}", u.encrypted);
        assert_eq!(u.content, None);
        // Unsigned, GCM: counts as encrypted, unsigned.
        let gcm = message("bob@example.org", &envelope(ENTITY, &list_as_member, Cipher::Gcm).unwrap());
        let u = unwrap(&gcm, Some(&list), &members, Some("bob@example.org"), 1 << 20, now);
        assert_eq!((u.encrypted, u.signed), (Encrypted::ForList, Signed::No));
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        // Signed, then CBC: counts, with the signed content.
        let both = envelope(&sign_entity(ENTITY, &bob).unwrap(), &list_as_member, Cipher::Cbc).unwrap();
        let u = unwrap(&message("bob@example.org", &both), Some(&list), &members, Some("bob@example.org"), 1 << 20, now);
        assert_eq!(u.encrypted, Encrypted::ForList);
        assert!(matches!(u.signed, Signed::ByMember { .. }), "{:?}", u.signed);
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        // Too large once decrypted.
        let u = unwrap(&message("bob@example.org", &both), Some(&list), &members, Some("bob@example.org"), 10, now);
        assert!(matches!(u.encrypted, Encrypted::Broken(ref w) if w.contains("max-size")));
        // For another certificate: not the list's.
        let other = MemberCert::from_stored(&members[0].1.to_bytes()).unwrap();
        let elsewhere = message("bob@example.org", &envelope(ENTITY, &other, Cipher::Gcm).unwrap());
        let u = unwrap(&elsewhere, Some(&list), &members, Some("bob@example.org"), 1 << 20, now);
        assert_eq!(u.encrypted, Encrypted::NotForList);
        // Without an S/MIME key the list reads nothing encrypted.
        let u = unwrap(&gcm, None, &members, Some("bob@example.org"), 1 << 20, now);
        assert_eq!(u.encrypted, Encrypted::NotForList);
    }

    #[test]
    fn a_copy_decrypts_for_its_member_and_carries_the_list_signature() {
        let (list, bob, members) = setup(Some(2048));
        let signed = sign_entity(ENTITY, &list).unwrap();
        for cipher in [Cipher::Cbc, Cipher::Gcm] {
            let copy = envelope(&signed, &members[0].1, cipher).unwrap();
            let (_, body) = mime::split_head(&copy);
            let der = super::super::unbase64(body).unwrap();
            let cms = CmsContentInfo::from_der(&der).unwrap();
            assert_eq!(cms.decrypt(bob.key(), bob.cert()).unwrap(), signed);
        }
        // The list's signature reads as the list's, with the list's
        // certificate standing in as a member.
        let as_member = vec![("list@example.org".to_string(), MemberCert::from_stored(&list.cert().to_der().unwrap()).unwrap())];
        let u = unwrap(&message("list@example.org", &signed), None, &as_member, Some("list@example.org"), 1 << 20, SystemTime::now());
        assert!(matches!(u.signed, Signed::ByMember { .. }), "{:?}", u.signed);
    }
}

/// The openssl command line, as a member's client: it must accept what the
/// list signs with the certificate it makes for itself.
#[cfg(test)]
mod openssl_cli {
    use super::super::{ListIdentity, SmimeAlgo};
    use super::*;

    #[test]
    fn openssl_verifies_the_list_signature_against_the_self_signed_certificate() {
        for algo in [SmimeAlgo::P256, SmimeAlgo::Rsa3072] {
            let list = ListIdentity::generate("list@example.org", algo).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let cert = dir.path().join("list.pem");
            let msg = dir.path().join("msg.eml");
            std::fs::write(&cert, list.public_pem()).unwrap();
            let entity = b"Content-Type: text/plain\r\n\r\nhello\r\n";
            std::fs::write(&msg, sign_entity(entity, &list).unwrap()).unwrap();
            let out = std::process::Command::new("openssl")
                .args(["cms", "-verify", "-in"])
                .arg(&msg)
                .arg("-CAfile")
                .arg(&cert)
                .output()
                .expect("openssl runs");
            assert!(out.status.success(), "{algo:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.stdout, entity);
        }
    }
}
