//! Building what a member receives (RFC 3156): the clear content signed once
//! by the list, then encrypted separately to each member, so no copy names
//! another member's key.

use std::io::Write;

use pgp::armor;
use pgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Signer};
use pgp::types::HashAlgorithm;
use sequoia_openpgp as pgp;

use super::armor_crc::{self, SharedCrc};
use super::{ListKey, MemberKey, OpenPgpError, policy};
use crate::crypto::shared_text::SharedText;
use crate::mime;

fn failed(e: impl std::fmt::Display) -> OpenPgpError {
    OpenPgpError::Unusable(e.to_string())
}

/// Signs a MIME entity (its Content-* headers and body) with the list key:
/// a multipart/signed entity with a detached, armored signature over the
/// entity's canonical (CRLF) bytes.
pub fn sign_entity(content: &[u8], list_key: &ListKey) -> Result<Vec<u8>, OpenPgpError> {
    let content = mime::crlf(content);
    let p = policy();
    let signer = list_key
        .cert()
        .keys()
        .with_policy(&p, None)
        .alive()
        .revoked(false)
        .for_signing()
        .unencrypted_secret()
        .next()
        .ok_or_else(|| OpenPgpError::Unusable("it has no valid secret key that can sign".into()))?
        .key()
        .clone()
        .into_keypair()
        .map_err(failed)?;
    let mut sig = Vec::new();
    {
        let message = Message::new(&mut sig);
        let message = Armorer::new(message)
            .kind(armor::Kind::Signature)
            .build()
            .map_err(failed)?;
        let mut signer = Signer::new(message, signer)
            .map_err(failed)?
            .detached()
            .hash_algo(HashAlgorithm::SHA256)
            .map_err(failed)?
            .build()
            .map_err(failed)?;
        signer.write_all(&content).map_err(failed)?;
        signer.finalize().map_err(failed)?;
    }
    let boundary = mime::new_boundary(&sig);
    let mut out = Vec::with_capacity(content.len() + sig.len() + 400);
    write!(
        out,
        "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\";\r\n boundary=\"{boundary}\"\r\n\r\n\
         This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--{boundary}\r\n"
    )
    .map_err(failed)?;
    out.extend_from_slice(&content);
    write!(
        out,
        "\r\n--{boundary}\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
         Content-Description: OpenPGP digital signature\r\nContent-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n"
    )
    .map_err(failed)?;
    out.extend_from_slice(&mime::crlf(&sig));
    write!(out, "\r\n--{boundary}--\r\n").map_err(failed)?;
    Ok(out)
}

/// A post encrypted once for a whole fan-out: the compressed, encrypted
/// entity under one session key. Each member's copy is a key packet for that
/// member alone in front of these same bytes, so a fan-out costs one
/// public-key operation per member, not one pass over the post per member,
/// and no copy names another member's key.
pub struct SharedPayload {
    session_key: pgp::crypto::SessionKey,
    /// The encrypted data packet, and its armor lines made once.
    encrypted: SharedText,
    /// Its share of every copy's armor checksum.
    crc: SharedCrc,
}

/// Characters per armor line (RFC 9580 6.1: at most 76; gpg writes 64).
const ARMOR_LINE: usize = 64;

const SYMMETRIC: pgp::types::SymmetricAlgorithm = pgp::types::SymmetricAlgorithm::AES256;

impl SharedPayload {
    pub fn new(entity: &[u8]) -> Result<SharedPayload, OpenPgpError> {
        use pgp::serialize::stream::Compressor;
        let session_key =
            pgp::crypto::SessionKey::new(SYMMETRIC.key_size().map_err(failed)?).map_err(failed)?;
        let mut encrypted = Vec::new();
        {
            let message = Message::new(&mut encrypted);
            // No recipients here: integrity-protected data (SEIPD v1, which
            // every client reads) under the session key only.
            let message = Encryptor::with_session_key(message, SYMMETRIC, session_key.clone())
                .map_err(failed)?
                .build()
                .map_err(failed)?;
            let message = Compressor::new(message).build().map_err(failed)?;
            let mut literal = LiteralWriter::new(message).build().map_err(failed)?;
            literal.write_all(entity).map_err(failed)?;
            literal.finalize().map_err(failed)?;
        }
        Ok(SharedPayload {
            session_key,
            crc: SharedCrc::new(&encrypted),
            encrypted: SharedText::new(encrypted, ARMOR_LINE),
        })
    }

    /// One member's copy: a multipart/encrypted entity, the member's key
    /// packet in front of the shared encrypted data. Only the key packet
    /// is armored anew; the shared armor lines are copied.
    pub fn copy_for(&self, member: &MemberKey) -> Result<Vec<u8>, OpenPgpError> {
        use pgp::packet::PKESK;
        use pgp::packet::pkesk::PKESK3;
        use pgp::serialize::Marshal;
        let p = policy();
        let mut binary = Vec::with_capacity(600);
        let mut count = 0;
        for ka in member
            .cert()
            .keys()
            .with_policy(&p, None)
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
        {
            let pkesk =
                PKESK3::for_recipient(SYMMETRIC, &self.session_key, ka.key()).map_err(failed)?;
            pgp::Packet::from(PKESK::from(pkesk))
                .serialize(&mut binary)
                .map_err(failed)?;
            count += 1;
        }
        if count == 0 {
            return Err(OpenPgpError::Unusable(
                "the member's key has no valid encryption subkey".into(),
            ));
        }
        let footer = armor_crc::footer(self.crc.after(&binary));
        Ok(encrypted_entity(
            &binary,
            self.encrypted.encoded_len(),
            |out| self.encrypted.write_after(&binary, out),
            &footer,
        ))
    }
}

/// Encrypts a MIME entity to one member: a multipart/encrypted entity.
pub fn encrypt_entity(entity: &[u8], member: &MemberKey) -> Result<Vec<u8>, OpenPgpError> {
    SharedPayload::new(entity)?.copy_for(member)
}

/// RFC 3156 multipart/encrypted around an armored message: `write_lines`
/// appends its base64 lines (CRLF, about `len` bytes), written straight
/// into the copy, and `footer` is its checksum line. `own` (the member's
/// key packets) names the boundary.
fn encrypted_entity(
    own: &[u8],
    len: usize,
    write_lines: impl FnOnce(&mut Vec<u8>),
    footer: &str,
) -> Vec<u8> {
    // The boundary need not be searched for in the copy: a delimiter line
    // starts with "--", which no base64 line does, and this one cannot be
    // taken for the armor's "-----BEGIN" or "-----END" lines.
    let boundary = format!("=_conclave_{}", &crate::store::sha256_hex(own)[..24]);
    let mut out = Vec::with_capacity(len + 1000);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\";\r\n boundary=\"{boundary}\"\r\n\r\n\
             This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--{boundary}\r\n\
             Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n\
             --{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
             Content-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n\
             -----BEGIN PGP MESSAGE-----\r\n\r\n"
        )
        .as_bytes(),
    );
    write_lines(&mut out);
    out.extend_from_slice(footer.as_bytes());
    out.extend_from_slice(
        format!("-----END PGP MESSAGE-----\r\n\r\n--{boundary}--\r\n").as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::super::{KeyAlgo, Signed, unwrap};
    use super::*;
    use pgp::cert::CertBuilder;
    use pgp::parse::Parse;
    use pgp::serialize::SerializeInto;

    const CONTENT: &[u8] =
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe an alle\r\n";

    fn member(uid: &str, email: &str) -> (pgp::Cert, (String, MemberKey)) {
        let (cert, _) = CertBuilder::general_purpose(Some(uid)).generate().unwrap();
        let key =
            MemberKey::check(&cert.armored().to_vec().unwrap(), email, SystemTime::now()).unwrap();
        (cert, (email.to_string(), key))
    }

    #[test]
    fn what_the_list_signs_verifies_and_tampering_shows() {
        let now = SystemTime::now();
        let list = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        let signed = sign_entity(CONTENT, &list).unwrap();
        // The list reading its own signature back, as a member's client does.
        let as_member = vec![(
            "l@example.org".to_string(),
            MemberKey::check(list.public_armored().as_bytes(), "l@example.org", now).unwrap(),
        )];
        let mail = [b"From: l@example.org\r\n".as_slice(), &signed].concat();
        let u = unwrap(
            &mail,
            &list,
            &as_member,
            Some("l@example.org"),
            1 << 20,
            now,
        );
        assert!(
            matches!(u.signed, Signed::ByMember { .. }),
            "{:?}",
            u.signed
        );
        assert_eq!(u.content.as_deref(), Some(CONTENT));
        let tampered = String::from_utf8_lossy(&mail)
            .replace("an alle", "an Alle")
            .into_bytes();
        let u = unwrap(
            &tampered,
            &list,
            &as_member,
            Some("l@example.org"),
            1 << 20,
            now,
        );
        assert!(matches!(u.signed, Signed::Invalid(_)), "{:?}", u.signed);
    }

    #[test]
    fn copies_share_the_encrypted_post_but_not_the_key_packets() {
        let now = SystemTime::now();
        let list = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        let (bob_cert, bob) = member("Bob <bob@example.org>", "bob@example.org");
        let (_, carol) = member("Carol <carol@example.org>", "carol@example.org");
        let signed = sign_entity(CONTENT, &list).unwrap();
        let shared = SharedPayload::new(&signed).unwrap();
        let (to_bob, to_carol) = (
            shared.copy_for(&bob.1).unwrap(),
            shared.copy_for(&carol.1).unwrap(),
        );
        assert_ne!(to_bob, to_carol);
        // Bob's secret key opens his copy (to the content the list signed),
        // not Carol's.
        let armored = String::from_utf8(bob_cert.as_tsk().armored().to_vec().unwrap()).unwrap();
        let bob_opens = ListKey::from_keychain(&crate::secrets::Sensitive::new(armored)).unwrap();
        let read = |copy: &[u8]| {
            let mail = [b"From: l@example.org\r\n".as_slice(), copy].concat();
            unwrap(&mail, &bob_opens, &[], None, 1 << 20, now)
        };
        let mine = read(&to_bob);
        assert_eq!(mine.encrypted, super::super::Encrypted::ForList);
        assert_eq!(mine.content.as_deref(), Some(CONTENT));
        assert_eq!(
            read(&to_carol).encrypted,
            super::super::Encrypted::NotForList
        );
    }

    #[test]
    fn each_member_gets_a_copy_only_their_key_opens() {
        let now = SystemTime::now();
        let list = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        let (_bob_cert, bob) = member("Bob <bob@example.org>", "bob@example.org");
        let copy = encrypt_entity(&sign_entity(CONTENT, &list).unwrap(), &bob.1).unwrap();
        let text = String::from_utf8_lossy(&copy);
        assert!(text.starts_with("Content-Type: multipart/encrypted;"));
        assert!(!text.contains("an alle"), "no clear text in the copy");
        // Only one recipient key packet: the copy names no other member.
        let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
        let end = text.find("-----END PGP MESSAGE-----").unwrap() + 25;
        let armored = &text[start..end];
        let packets = pgp::PacketPile::from_bytes(armored.as_bytes()).unwrap();
        let pkesks = packets
            .descendants()
            .filter(|p| matches!(p, pgp::Packet::PKESK(_)))
            .count();
        assert_eq!(pkesks, 1);
    }
}
