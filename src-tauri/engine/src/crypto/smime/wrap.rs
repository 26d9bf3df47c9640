//! Building what an S/MIME member receives (RFC 8551): the clear content
//! signed once by the list (multipart/signed, SHA-256), then enveloped with
//! AES-256 so that no copy names another member's certificate. For a
//! fan-out the content is encrypted once ([`SharedPayload`]): each
//! member's copy is that one encrypted content with that member's
//! RecipientInfo alone, as the OpenPGP fan-out gives each member the shared
//! encrypted packet with their own key packet.

use std::collections::HashMap;
use std::io::Write;

use openssl::cms::{CMSOptions, CmsContentInfo};

use super::der::{self, Tlv};
use super::{ListKey, MemberCert, SmimeError, base64_lines, failed};
use crate::crypto::shared_text::SharedText;
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
pub fn sign_entity(content: &[u8], list: &ListKey) -> Result<Vec<u8>, SmimeError> {
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
pub fn encrypt_entity(
    entity: &[u8],
    member: &MemberCert,
    cipher: Cipher,
) -> Result<Vec<u8>, SmimeError> {
    let mut certs = openssl::stack::Stack::new().map_err(failed)?;
    certs.push(member.cert().clone()).map_err(failed)?;
    let (algo, kind) = cipher_parts(cipher);
    let cms = CmsContentInfo::encrypt(&certs, entity, algo, CMSOptions::BINARY).map_err(failed)?;
    pkcs7_mime(kind, &cms.to_der().map_err(failed)?)
}

fn cipher_parts(cipher: Cipher) -> (openssl::symm::Cipher, &'static str) {
    match cipher {
        Cipher::Cbc => (openssl::symm::Cipher::aes_256_cbc(), "enveloped-data"),
        Cipher::Gcm => (openssl::symm::Cipher::aes_256_gcm(), "authEnveloped-data"),
    }
}

/// Characters per base64 line in MIME (RFC 2045 6.8).
const MIME_LINE: usize = 76;

/// The MIME entity that carries an enveloped CMS message.
fn pkcs7_mime(kind: &str, der: &[u8]) -> Result<Vec<u8>, SmimeError> {
    Ok([pkcs7_mime_head(kind).as_bytes(), &base64_lines(der)].concat())
}

/// The header of the MIME entity that carries an enveloped CMS message in
/// base64.
fn pkcs7_mime_head(kind: &str) -> String {
    format!(
        "Content-Type: application/pkcs7-mime; smime-type={kind}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\
         Content-Description: S/MIME Encrypted Message\r\n\r\n"
    )
}

/// One entity enveloped once for several members: OpenSSL encrypts the
/// content under one content key and makes a RecipientInfo for each
/// member; each member's copy is then put together from the shared parts
/// and that member's RecipientInfo alone. The content is encrypted once,
/// not once per member, and no copy names another member.
pub struct SharedPayload {
    kind: &'static str,
    authenticated: bool,
    /// The ContentInfo's content type (the OID element).
    content_type: Vec<u8>,
    /// The version element as OpenSSL wrote it (kept for AuthEnvelopedData,
    /// whose version is always 0).
    version: Vec<u8>,
    /// originatorInfo, if OpenSSL wrote one.
    originator: Option<Vec<u8>>,
    /// Everything after the recipient infos: the encrypted content and, for
    /// GCM, the authenticated attributes and the tag; with its base64
    /// lines made once for all copies.
    rest: SharedText,
    /// Whether `rest` carries unprotectedAttrs (EnvelopedData).
    unprotected: bool,
    /// Each member's RecipientInfo, by lowercased address.
    recipients: HashMap<String, Vec<u8>>,
}

/// Fewer members than this share one envelope even with cores to spare:
/// another envelope is another pass over the whole content.
const MIN_SHARE: usize = 32;

/// `entity` enveloped for all of `members`, in as many shared envelopes as
/// there are cores (the public-key work is spread over them; each envelope
/// encrypts the content once).
pub fn shared_payloads(
    entity: &[u8],
    members: &[(&str, &MemberCert)],
    cipher: Cipher,
) -> Result<Vec<SharedPayload>, SmimeError> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = members.len().div_ceil(cores).max(MIN_SHARE);
    std::thread::scope(|scope| {
        let parts: Vec<_> = members
            .chunks(chunk)
            .map(|part| scope.spawn(move || SharedPayload::new(entity, part, cipher)))
            .collect();
        parts
            .into_iter()
            .map(|p| {
                p.join()
                    .unwrap_or_else(|_| Err(failed("enveloping stopped unexpectedly")))
            })
            .collect()
    })
}

impl SharedPayload {
    /// Envelopes `entity` (CRLF line ends, as for [`envelope`]) for
    /// `members`. Each certificate must be able to receive encryption.
    pub fn new(
        entity: &[u8],
        members: &[(&str, &MemberCert)],
        cipher: Cipher,
    ) -> Result<SharedPayload, SmimeError> {
        let mut certs = openssl::stack::Stack::new().map_err(failed)?;
        for (_, cert) in members {
            certs.push(cert.cert().clone()).map_err(failed)?;
        }
        let (algo, kind) = cipher_parts(cipher);
        let der = CmsContentInfo::encrypt(&certs, entity, algo, CMSOptions::BINARY)
            .map_err(failed)?
            .to_der()
            .map_err(failed)?;
        Self::split(&der, kind, cipher == Cipher::Gcm, members)
            .map_err(|e| failed(format!("the envelope OpenSSL made: {e}")))
    }

    fn split(
        der: &[u8],
        kind: &'static str,
        authenticated: bool,
        members: &[(&str, &MemberCert)],
    ) -> Result<SharedPayload, String> {
        fn one<'a>(t: Option<&Tlv<'a>>, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
            match t {
                Some(t) if t.tag == tag => Ok(*t),
                _ => Err(format!("no {what}")),
            }
        }
        let (info, _) = der::read(der)?;
        let outer = der::children(info.body)?;
        let content_type = one(outer.first(), 0x06, "content type")?;
        let (data, _) = der::read(one(outer.get(1), 0xa0, "content")?.body)?;
        let fields = der::children(data.body)?;
        let version = one(fields.first(), 0x02, "version")?;
        let originator = fields
            .get(1)
            .filter(|t| t.tag == 0xa0)
            .map(|t| t.whole.to_vec());
        let at = if originator.is_some() { 2 } else { 1 };
        let infos = one(fields.get(at), 0x31, "recipient infos")?;
        let rest = &fields[at + 1..];
        let unprotected = !authenticated && rest.iter().any(|t| t.tag == 0xa1);
        let mut recipients = HashMap::new();
        for info in der::children(infos.body)? {
            let ids = der::recipient_ids(&info)?;
            let Some((email, _)) = members
                .iter()
                .find(|(_, c)| ids.iter().any(|id| id.names(c.cert())))
            else {
                return Err("a recipient that is no member".into());
            };
            if ids.len() != 1
                || recipients
                    .insert(email.to_ascii_lowercase(), info.whole.to_vec())
                    .is_some()
            {
                return Err("a recipient info for several certificates".into());
            }
        }
        if recipients.len() != members.len() {
            return Err(format!(
                "{} recipient infos for {} members",
                recipients.len(),
                members.len()
            ));
        }
        Ok(SharedPayload {
            kind,
            authenticated,
            content_type: content_type.whole.to_vec(),
            version: version.whole.to_vec(),
            originator,
            rest: SharedText::new(
                rest.iter().flat_map(|t| t.whole.iter().copied()).collect(),
                MIME_LINE,
            ),
            unprotected,
            recipients,
        })
    }

    /// Whether `member` has a RecipientInfo here.
    pub fn has(&self, member: &str) -> bool {
        self.recipients.contains_key(&member.to_ascii_lowercase())
    }

    /// `member`'s copy (the same MIME entity [`envelope`] makes), or `None`
    /// when the envelope was not made for them.
    pub fn copy_for(&self, member: &str) -> Option<Result<Vec<u8>, SmimeError>> {
        let info = self.recipients.get(&member.to_ascii_lowercase())?;
        // RFC 5652 6.1: version 0 when there is no originatorInfo, no
        // unprotectedAttrs and the one RecipientInfo is version 0 (key
        // transport to an issuer and serial number); else 2.
        let version = if self.authenticated {
            self.version.clone()
        } else {
            let ktri_v0 = info.first() == Some(&0x30)
                && der::read(info)
                    .ok()
                    .and_then(|(t, _)| der::children(t.body).ok()?.first().map(|v| v.body == [0]))
                    .unwrap_or(false);
            vec![
                0x02,
                0x01,
                if ktri_v0 && self.originator.is_none() && !self.unprotected {
                    0
                } else {
                    2
                },
            ]
        };
        // Headers first, then the one copy of the large shared part.
        let rest = self.rest.bytes();
        let set = der::header(0x31, info.len());
        let originator = self.originator.as_deref().unwrap_or_default();
        let inner = version.len() + originator.len() + set.len() + info.len() + rest.len();
        let data = der::header(0x30, inner);
        let explicit = der::header(0xa0, data.len() + inner);
        let outer = der::header(
            0x30,
            self.content_type.len() + explicit.len() + data.len() + inner,
        );
        let own = [
            &outer[..],
            &self.content_type,
            &explicit,
            &data,
            &version,
            originator,
            &set,
            info,
        ]
        .concat();
        // Only the member's own part is encoded anew; the shared part's
        // base64 lines are copied, straight into the copy.
        let head = pkcs7_mime_head(self.kind);
        let mut out = Vec::with_capacity(head.len() + own.len() * 2 + self.rest.encoded_len());
        out.extend_from_slice(head.as_bytes());
        self.rest.write_after(&own, &mut out);
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::cert_for;
    use super::super::{KeyAlgo, unwrap};
    use super::*;
    use crate::crypto::{Encrypted, Signed};
    use std::time::SystemTime;

    const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\r\nMeet at noon.\r\n";

    fn message(from: &str, entity: &[u8]) -> Vec<u8> {
        [
            format!("From: {from}\r\nTo: list@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n")
                .as_bytes(),
            entity,
        ]
        .concat()
    }

    /// A list, and a member whose certificate it holds; the member's
    /// identity is a ListKey too, so it can sign and decrypt.
    fn setup(rsa: Option<u32>) -> (ListKey, ListKey, Vec<(String, MemberCert)>) {
        let list = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        let (cert, key) = cert_for("bob@example.org", None, rsa);
        let bob = ListKey::with_key(
            key,
            vec![cert.clone()],
            "bob@example.org",
            SystemTime::now(),
        )
        .unwrap();
        let members = vec![(
            "bob@example.org".to_string(),
            MemberCert::from_stored(&cert.to_der().unwrap()).unwrap(),
        )];
        (list, bob, members)
    }

    #[test]
    fn a_signed_post_by_a_member_counts_and_keeps_its_content() {
        let (list, bob, members) = setup(None);
        let signed = sign_entity(ENTITY, &bob).unwrap();
        let post = message("bob@example.org", &signed);
        let u = unwrap(
            &post,
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            SystemTime::now(),
        );
        assert!(
            matches!(u.signed, Signed::ByMember { ref email, .. } if email == "bob@example.org"),
            "{:?}",
            u.signed
        );
        assert_eq!(u.encrypted, Encrypted::No);
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        assert!(u.signature_time.is_some() && u.signature_digest.is_some());

        let forged = unwrap(
            &post,
            Some(&list),
            &members,
            Some("eve@example.org"),
            1 << 20,
            SystemTime::now(),
        );
        // Good, and bob's: who signed is known, but it does not count for eve.
        assert!(
            matches!(forged.signed, Signed::NotTheSender { ref email, .. } if email == "bob@example.org"),
            "{:?}",
            forged.signed
        );
        assert!(forged.signature_digest.is_none());
        let tampered = String::from_utf8(post.clone())
            .unwrap()
            .replace("noon", "dawn");
        let t = unwrap(
            tampered.as_bytes(),
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            SystemTime::now(),
        );
        assert!(
            matches!(t.signed, Signed::Invalid(ref w) if w.contains("does not match")),
            "{:?}",
            t.signed
        );
        assert_eq!(t.content, None);
    }

    #[test]
    fn a_signature_by_a_certificate_that_has_since_expired_does_not_count() {
        let (list, bob, members) = setup(None);
        let post = message("bob@example.org", &sign_entity(ENTITY, &bob).unwrap());
        let later = SystemTime::now() + std::time::Duration::from_secs(400 * 86_400);
        let u = unwrap(
            &post,
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            later,
        );
        assert!(
            matches!(u.signed, Signed::Invalid(ref w) if w.contains("expired")),
            "{:?}",
            u.signed
        );
        assert_eq!(u.content, None);
    }

    #[test]
    fn encryption_to_the_list_needs_a_signature_inside_unless_gcm() {
        let (list, bob, members) = setup(Some(2048));
        let list_as_member = MemberCert::from_stored(&list.cert().to_der().unwrap()).unwrap();
        let now = SystemTime::now();
        // Unsigned, CBC: no integrity, refused.
        let cbc = message(
            "bob@example.org",
            &encrypt_entity(ENTITY, &list_as_member, Cipher::Cbc).unwrap(),
        );
        let u = unwrap(
            &cbc,
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            now,
        );
        assert!(
            matches!(u.encrypted, Encrypted::Broken(ref w) if w.contains("AES-CBC")),
            "{:?}",
            u.encrypted
        );
        assert_eq!(u.content, None);
        // Unsigned, GCM: counts as encrypted, unsigned.
        let gcm = message(
            "bob@example.org",
            &encrypt_entity(ENTITY, &list_as_member, Cipher::Gcm).unwrap(),
        );
        let u = unwrap(
            &gcm,
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            now,
        );
        assert_eq!((u.encrypted, u.signed), (Encrypted::ForList, Signed::No));
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        // Signed, then CBC: counts, with the signed content.
        let both = encrypt_entity(
            &sign_entity(ENTITY, &bob).unwrap(),
            &list_as_member,
            Cipher::Cbc,
        )
        .unwrap();
        let u = unwrap(
            &message("bob@example.org", &both),
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            now,
        );
        assert_eq!(u.encrypted, Encrypted::ForList);
        assert!(
            matches!(u.signed, Signed::ByMember { .. }),
            "{:?}",
            u.signed
        );
        assert_eq!(u.content.as_deref(), Some(ENTITY));
        // Too large once decrypted.
        let u = unwrap(
            &message("bob@example.org", &both),
            Some(&list),
            &members,
            Some("bob@example.org"),
            10,
            now,
        );
        assert!(matches!(u.encrypted, Encrypted::Broken(ref w) if w.contains("max-size")));
        // For another certificate: not the list's.
        let other = MemberCert::from_stored(&members[0].1.to_bytes()).unwrap();
        let elsewhere = message(
            "bob@example.org",
            &encrypt_entity(ENTITY, &other, Cipher::Gcm).unwrap(),
        );
        let u = unwrap(
            &elsewhere,
            Some(&list),
            &members,
            Some("bob@example.org"),
            1 << 20,
            now,
        );
        assert_eq!(u.encrypted, Encrypted::NotForList);
        // Without an S/MIME key the list reads nothing encrypted.
        let u = unwrap(&gcm, None, &members, Some("bob@example.org"), 1 << 20, now);
        assert_eq!(u.encrypted, Encrypted::NotForList);
    }

    /// Members with an RSA-2048, an RSA-3072 and a P-256 certificate, with
    /// their private keys.
    fn three_members() -> Vec<(String, MemberCert, ListKey)> {
        [
            ("ann@example.org", Some(2048)),
            ("bob@example.org", Some(3072)),
            ("cy@example.org", None),
        ]
        .into_iter()
        .map(|(email, rsa)| {
            let (cert, key) = cert_for(email, None, rsa);
            let id = ListKey::with_key(key, vec![cert.clone()], email, SystemTime::now()).unwrap();
            (
                email.to_string(),
                MemberCert::from_stored(&cert.to_der().unwrap()).unwrap(),
                id,
            )
        })
        .collect()
    }

    fn der_of(copy: &[u8]) -> Vec<u8> {
        let (_, body) = mime::split_head(copy);
        super::super::unbase64(body).unwrap()
    }

    #[test]
    fn a_shared_envelope_gives_each_member_a_copy_only_they_can_open() {
        let list = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        let signed = sign_entity(ENTITY, &list).unwrap();
        let members = three_members();
        let refs: Vec<(&str, &MemberCert)> =
            members.iter().map(|(e, c, _)| (e.as_str(), c)).collect();
        for cipher in [Cipher::Cbc, Cipher::Gcm] {
            let shared = SharedPayload::new(&signed, &refs, cipher).unwrap();
            assert!(shared.copy_for("eve@example.org").is_none());
            for (email, cert, id) in &members {
                let copy = shared.copy_for(&email.to_uppercase()).unwrap().unwrap();
                let single = encrypt_entity(&signed, cert, cipher).unwrap();
                // The same MIME head as a copy enveloped on its own.
                assert_eq!(mime::split_head(&copy).0, mime::split_head(&single).0);
                let der = der_of(&copy);
                // It names this member's certificate and no other.
                match super::super::der::inspect(&der).unwrap() {
                    super::super::der::Cms::Enveloped(e) => {
                        assert_eq!(e.recipients.len(), 1, "{email}");
                        assert!(e.recipients[0].names(cert.cert()), "{email}");
                        assert_eq!(e.authenticated, cipher == Cipher::Gcm);
                    }
                    other => panic!("{email}: {other:?}"),
                }
                // The version is the one OpenSSL gives a lone recipient.
                let version = |d: &[u8]| {
                    let (ci, _) = super::super::der::read(d).unwrap();
                    let outer = super::super::der::children(ci.body).unwrap();
                    let (data, _) = super::super::der::read(outer[1].body).unwrap();
                    super::super::der::children(data.body).unwrap()[0]
                        .body
                        .to_vec()
                };
                assert_eq!(
                    version(&der),
                    version(&der_of(&single)),
                    "{email} {cipher:?}"
                );
                let cms = CmsContentInfo::from_der(&der).unwrap();
                assert_eq!(
                    cms.decrypt(id.key(), id.cert()).unwrap(),
                    signed,
                    "{email} {cipher:?}"
                );
                // Another member's key does not open it.
                let other = members.iter().find(|(e, _, _)| e != email).unwrap();
                assert!(
                    CmsContentInfo::from_der(&der)
                        .unwrap()
                        .decrypt(other.2.key(), other.2.cert())
                        .is_err()
                );
            }
        }
    }

    #[test]
    fn many_members_are_spread_over_envelopes_each_with_its_share() {
        let (cert, _) = cert_for("m@example.org", None, Some(2048));
        let cert = MemberCert::from_stored(&cert.to_der().unwrap()).unwrap();
        // One certificate under many names cannot be told apart: this only
        // counts how the members are split.
        let names: Vec<String> = (0..70).map(|i| format!("m{i}@example.org")).collect();
        let members: Vec<(&str, &MemberCert)> = names.iter().map(|n| (n.as_str(), &cert)).collect();
        assert!(
            shared_payloads(ENTITY, &members, Cipher::Cbc).is_err(),
            "an envelope must map every recipient to one member"
        );
        assert!(
            shared_payloads(ENTITY, &[], Cipher::Cbc)
                .unwrap()
                .is_empty()
        );
        let three = three_members();
        let refs: Vec<(&str, &MemberCert)> =
            three.iter().map(|(e, c, _)| (e.as_str(), c)).collect();
        let all = shared_payloads(ENTITY, &refs, Cipher::Cbc).unwrap();
        assert_eq!(all.len(), 1, "three members share one envelope");
        assert!(refs.iter().all(|(e, _)| all[0].has(e)));
    }

    #[test]
    fn a_shared_envelope_needs_a_certificate_for_every_member() {
        let members = three_members();
        let refs: Vec<(&str, &MemberCert)> =
            members.iter().map(|(e, c, _)| (e.as_str(), c)).collect();
        // Two names for one certificate: the second has no RecipientInfo.
        let doubled = [refs[0], ("alias@example.org", refs[0].1)];
        assert!(SharedPayload::new(ENTITY, &doubled, Cipher::Cbc).is_err());
        assert!(SharedPayload::new(ENTITY, &refs, Cipher::Cbc).is_ok());
    }

    #[test]
    fn a_copy_decrypts_for_its_member_and_carries_the_list_signature() {
        let (list, bob, members) = setup(Some(2048));
        let signed = sign_entity(ENTITY, &list).unwrap();
        for cipher in [Cipher::Cbc, Cipher::Gcm] {
            let copy = encrypt_entity(&signed, &members[0].1, cipher).unwrap();
            let (_, body) = mime::split_head(&copy);
            let der = super::super::unbase64(body).unwrap();
            let cms = CmsContentInfo::from_der(&der).unwrap();
            assert_eq!(cms.decrypt(bob.key(), bob.cert()).unwrap(), signed);
        }
        // The list's signature reads as the list's, with the list's
        // certificate standing in as a member.
        let as_member = vec![(
            "list@example.org".to_string(),
            MemberCert::from_stored(&list.cert().to_der().unwrap()).unwrap(),
        )];
        let u = unwrap(
            &message("list@example.org", &signed),
            None,
            &as_member,
            Some("list@example.org"),
            1 << 20,
            SystemTime::now(),
        );
        assert!(
            matches!(u.signed, Signed::ByMember { .. }),
            "{:?}",
            u.signed
        );
    }
}

/// The openssl command line, as a member's client: it must accept what the
/// list signs with the certificate it makes for itself.
#[cfg(test)]
mod openssl_cli {
    use super::super::{KeyAlgo, ListKey};
    use super::*;

    #[test]
    fn openssl_decrypts_copies_from_a_shared_envelope() {
        let dir = tempfile::tempdir().unwrap();
        let entity = b"Content-Type: text/plain\r\n\r\nshared\r\n";
        let mut certs = Vec::new();
        for (email, rsa) in [("ann@example.org", Some(2048)), ("cy@example.org", None)] {
            let (cert, key) = super::super::test_support::cert_for(email, None, rsa);
            std::fs::write(
                dir.path().join(format!("{email}.pem")),
                cert.to_pem().unwrap(),
            )
            .unwrap();
            std::fs::write(
                dir.path().join(format!("{email}.key")),
                key.private_key_to_pem_pkcs8().unwrap(),
            )
            .unwrap();
            certs.push((
                email,
                MemberCert::from_stored(&cert.to_der().unwrap()).unwrap(),
            ));
        }
        let refs: Vec<(&str, &MemberCert)> = certs.iter().map(|(e, c)| (*e, c)).collect();
        for cipher in [Cipher::Cbc, Cipher::Gcm] {
            let shared = SharedPayload::new(entity, &refs, cipher).unwrap();
            for (email, _) in &refs {
                let msg = dir.path().join("copy.eml");
                let copy = shared.copy_for(email).unwrap().unwrap();
                std::fs::write(&msg, [b"MIME-Version: 1.0\r\n".as_slice(), &copy].concat())
                    .unwrap();
                let out = std::process::Command::new("openssl")
                    .args(["cms", "-decrypt", "-in"])
                    .arg(&msg)
                    .arg("-recip")
                    .arg(dir.path().join(format!("{email}.pem")))
                    .arg("-inkey")
                    .arg(dir.path().join(format!("{email}.key")))
                    .output()
                    .expect("openssl runs");
                assert!(
                    out.status.success(),
                    "{email} {cipher:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(out.stdout, entity, "{email} {cipher:?}");
            }
        }
    }

    #[test]
    fn openssl_verifies_the_list_signature_against_the_self_signed_certificate() {
        for algo in [KeyAlgo::P256, KeyAlgo::Rsa3072] {
            let list = ListKey::generate("list@example.org", algo).unwrap();
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
            assert!(
                out.status.success(),
                "{algo:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, entity);
        }
    }
}
