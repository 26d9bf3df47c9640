//! A member's certificate, checked before it is stored: it must be valid
//! now under the StandardPolicy, able to receive encrypted mail, and name the
//! member's address. What is kept is stripped of secret key material and of
//! third-party certifications (certificate flooding).

use std::time::SystemTime;

use pgp::cert::amalgamation::ValidAmalgamation;
use pgp::serialize::SerializeInto;
use pgp::types::RevocationStatus;
use sequoia_openpgp as pgp;

use super::{KeyInfo, OpenPgpError, describe, one_cert, policy};

/// The largest key file taken: real certificates are a few KiB; flooded
/// ones run to megabytes.
pub const MAX_KEY_BYTES: usize = 1024 * 1024;

/// Why a member's key is refused, in words for the owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("the key file is {size} bytes, more than the {max} a key may have")]
    TooLarge { size: usize, max: usize },
    #[error("{0}")]
    Unreadable(String),
    #[error("the key is revoked by its owner: ask the member for their current key")]
    Revoked,
    #[error("the key has expired ({0}): ask the member to extend it or send a new one")]
    Expired(String),
    #[error(
        "the key fails current security rules ({0}), e.g. SHA-1 signatures or RSA under 2048 bits: ask the member for a newer key"
    )]
    Policy(String),
    #[error(
        "the key has no valid subkey for encryption: ask the member for a key that can receive encrypted mail"
    )]
    NoEncryptionSubkey,
    #[error(
        "none of the key's user IDs ({found}) is {email}: it belongs to someone else, or the member must add that address to it"
    )]
    NoMatchingUserId { email: String, found: String },
}

/// A member's certificate that passed every check.
#[derive(Debug, Clone)]
pub struct MemberKey {
    cert: pgp::Cert,
}

impl MemberKey {
    /// Checks a key file for the member `email` at `now`.
    pub fn check(bytes: &[u8], email: &str, now: SystemTime) -> Result<MemberKey, KeyRefusal> {
        if bytes.len() > MAX_KEY_BYTES {
            return Err(KeyRefusal::TooLarge {
                size: bytes.len(),
                max: MAX_KEY_BYTES,
            });
        }
        let cert = one_cert(bytes).map_err(|e| KeyRefusal::Unreadable(e.to_string()))?;
        let cert = strip(cert).map_err(|e| KeyRefusal::Unreadable(e.to_string()))?;
        // What sequoia reads it may not write back (a signature naming a
        // fingerprint of a version it does not know): such a key could not
        // be stored, so it is refused here, not failed on when saved.
        if let Err(e) = cert.to_vec() {
            return Err(KeyRefusal::Unreadable(format!(
                "the key cannot be stored as it is ({e}): ask the member to export it again"
            )));
        }
        let p = policy();
        if let RevocationStatus::Revoked(_) = cert.revocation_status(&p, now) {
            return Err(KeyRefusal::Revoked);
        }
        let vc = cert.with_policy(&p, now).map_err(|e| {
            let msg = format!("{e:#}");
            if msg.contains("expired") {
                KeyRefusal::Expired(msg)
            } else {
                KeyRefusal::Policy(msg)
            }
        })?;
        if let Err(e) = vc.alive() {
            return Err(KeyRefusal::Expired(e.to_string()));
        }
        let encrypts = vc
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .key_flags(
                pgp::types::KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
            )
            .next()
            .is_some();
        if !encrypts {
            return Err(KeyRefusal::NoEncryptionSubkey);
        }
        let uids: Vec<String> = vc
            .userids()
            .filter(|u| !matches!(u.revocation_status(), RevocationStatus::Revoked(_)))
            .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
            .collect();
        let matches = vc.userids().any(|u| {
            !matches!(u.revocation_status(), RevocationStatus::Revoked(_))
                && u.userid()
                    .email()
                    .ok()
                    .flatten()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        });
        if !matches {
            return Err(KeyRefusal::NoMatchingUserId {
                email: email.trim().to_string(),
                found: if uids.is_empty() {
                    "none".into()
                } else {
                    uids.join(", ")
                },
            });
        }
        Ok(MemberKey { cert })
    }

    /// Whether the key file `bytes` carries this key's certification of a
    /// user ID with `email`: a member who made a new key and signed it with
    /// their old one, as `gpg --quick-sign-key` does. It counts only while
    /// this key is not revoked, and only if this key was alive when it
    /// certified (an expired key's late signature proves nothing).
    pub fn certifies(&self, bytes: &[u8], email: &str, now: SystemTime) -> bool {
        if bytes.len() > MAX_KEY_BYTES {
            return false;
        }
        let Ok(new) = one_cert(bytes) else {
            return false;
        };
        let p = policy();
        if let RevocationStatus::Revoked(_) = self.cert.revocation_status(&p, now) {
            return false;
        }
        let issuer = self.cert.primary_key().key().role_as_unspecified();
        new.userids()
            .filter(|u| {
                u.userid()
                    .email()
                    .ok()
                    .flatten()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
            })
            .any(|u| {
                u.active_certifications_by_key(&p, now, issuer).any(|sig| {
                    sig.signature_creation_time().is_some_and(|made| {
                        self.cert
                            .with_policy(&p, made)
                            .is_ok_and(|vc| vc.alive().is_ok())
                    })
                })
            })
    }

    /// Reads back a key the store kept (checked when it was added).
    pub fn from_stored(bytes: &[u8]) -> Result<MemberKey, OpenPgpError> {
        Ok(MemberKey {
            cert: one_cert(bytes)?,
        })
    }

    /// The stripped certificate, binary, for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.cert
            .to_vec()
            .expect("serializing to memory does not fail")
    }

    /// Whether the key can still receive encrypted mail (it may have
    /// expired or been revoked since it was added).
    pub fn can_encrypt(&self, now: SystemTime) -> bool {
        let p = policy();
        let Ok(vc) = self.cert.with_policy(&p, now) else {
            return false;
        };
        if matches!(vc.revocation_status(), RevocationStatus::Revoked(_)) || vc.alive().is_err() {
            return false;
        }
        vc.keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .next()
            .is_some()
    }

    pub fn info(&self, now: SystemTime) -> KeyInfo {
        describe(&self.cert, now)
    }

    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// Until when the list can encrypt to it (the latest end of an
    /// encryption subkey alive now, bounded by the key's own end); `None`
    /// when it does not end, or cannot be used now at all.
    pub fn encrypts_until(&self, now: SystemTime) -> Option<SystemTime> {
        let p = policy();
        let vc = self.cert.with_policy(&p, now).ok()?;
        let primary_end = vc.primary_key().key_expiration_time();
        let ends: Vec<Option<SystemTime>> = vc
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .map(|ka| match (ka.key_expiration_time(), primary_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
            .collect();
        if ends.iter().any(Option::is_none) {
            return None;
        }
        ends.into_iter().flatten().max()
    }

    pub(crate) fn cert(&self) -> &pgp::Cert {
        &self.cert
    }
}

/// The largest key file read as a keyring (many members' keys at once);
/// each key in it must still be under [`MAX_KEY_BYTES`].
pub const MAX_KEYRING_BYTES: usize = 16 * 1024 * 1024;

const ARMOR_BEGIN: &[u8] = b"-----BEGIN PGP ";

impl MemberKey {
    /// Splits a key file that may hold many keys (a keyring exported by
    /// gpg, or several armored blocks pasted one after the other) into one
    /// binary certificate per key, public parts only, in the file's order.
    /// Nothing is checked yet: pass each to [`MemberKey::check`].
    pub fn split(bytes: &[u8]) -> Result<Vec<Vec<u8>>, KeyRefusal> {
        use pgp::parse::Parse;
        if bytes.len() > MAX_KEYRING_BYTES {
            return Err(KeyRefusal::TooLarge {
                size: bytes.len(),
                max: MAX_KEYRING_BYTES,
            });
        }
        let unreadable = |e: pgp::anyhow::Error| {
            KeyRefusal::Unreadable(format!(
                "this is not an OpenPGP key ({e}): give an armored (.asc) or binary (.gpg) key file"
            ))
        };
        let mut certs = Vec::new();
        for block in armor_blocks(bytes) {
            for cert in pgp::cert::CertParser::from_bytes(block).map_err(unreadable)? {
                let cert = cert.map_err(unreadable)?;
                certs.push(cert.to_vec().map_err(unreadable)?);
            }
        }
        if certs.is_empty() {
            return Err(KeyRefusal::Unreadable(
                "no OpenPGP key was found in it: give an armored (.asc) or binary (.gpg) key file"
                    .into(),
            ));
        }
        Ok(certs)
    }

    /// What one key is, whether or not it passes [`MemberKey::check`], so
    /// that a refused key can still be shown: its description, and the
    /// (name, address) of each user ID that has an address, the primary
    /// user ID first.
    pub fn inspect(
        bytes: &[u8],
        now: SystemTime,
    ) -> Result<(KeyInfo, Vec<(String, String)>), KeyRefusal> {
        let cert = one_cert(bytes).map_err(|e| KeyRefusal::Unreadable(e.to_string()))?;
        let p = policy();
        let primary = cert
            .with_policy(&p, now)
            .ok()
            .and_then(|vc| vc.primary_userid().ok().map(|u| u.userid().clone()));
        let mut uids: Vec<pgp::packet::UserID> =
            cert.userids().map(|u| u.userid().clone()).collect();
        if let Some(primary) = primary {
            uids.sort_by_key(|u| *u != primary);
        }
        let mut addresses: Vec<(String, String)> = Vec::new();
        for uid in uids {
            let Some(email) = uid.email().ok().flatten().map(|e| e.to_string()) else {
                continue;
            };
            if addresses
                .iter()
                .any(|(_, e)| e.eq_ignore_ascii_case(&email))
            {
                continue;
            }
            let name = uid
                .name()
                .ok()
                .flatten()
                .map(|n| n.to_string())
                .unwrap_or_default();
            addresses.push((name, email));
        }
        Ok((describe(&cert, now), addresses))
    }
}

/// The armored blocks of a text one after the other, or the whole input
/// when it is binary or a single block.
fn armor_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i..].starts_with(ARMOR_BEGIN) && (i == 0 || bytes[i - 1] == b'\n'))
        .collect();
    if starts.len() < 2 {
        return vec![bytes];
    }
    let mut blocks: Vec<&[u8]> = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
        blocks.push(&bytes[start..end]);
    }
    blocks
}

/// Drops secret key material (a member's secret never belongs here) and
/// every signature not made by the key itself.
fn strip(cert: pgp::Cert) -> pgp::Result<pgp::Cert> {
    let cert = cert.strip_secret_key_material();
    let own = cert.key_handle();
    let packets = cert.into_packets().filter(|p| match p {
        pgp::Packet::Signature(sig) => sig.get_issuers().iter().any(|i| i.aliases(&own)),
        _ => true,
    });
    pgp::Cert::from_packets(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::cert::CertBuilder;
    use std::time::Duration;

    fn key(uid: &str) -> pgp::Cert {
        CertBuilder::general_purpose(Some(uid))
            .generate()
            .unwrap()
            .0
    }

    fn bytes(cert: &pgp::Cert) -> Vec<u8> {
        cert.armored().to_vec().unwrap()
    }

    #[test]
    fn a_key_that_cannot_be_written_back_is_refused() {
        // Found by the member_keys fuzz target: alice's key with a
        // signature that sequoia-openpgp reads but cannot serialize again
        // ("Unknown kind of fingerprint"); storing it panicked in to_bytes.
        let file = include_bytes!("testdata/unwritable-key.gpg");
        let stored =
            MemberKey::check(file, "alice@example.org", SystemTime::now()).map(|k| k.to_bytes());
        assert!(
            matches!(stored, Err(KeyRefusal::Unreadable(_))),
            "{stored:?}"
        );
    }

    /// What signs with `cert`'s primary key (a generated key: it has the
    /// secret).
    fn primary_signer(cert: &pgp::Cert) -> pgp::crypto::KeyPair {
        cert.primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap()
    }

    /// `new` with its user ID certified by `by`'s primary key.
    fn certified(new: &pgp::Cert, by: &pgp::Cert) -> Vec<u8> {
        use pgp::packet::signature::SignatureBuilder;
        use pgp::types::SignatureType;
        let mut signer = primary_signer(by);
        let uid = new.userids().next().unwrap().userid().clone();
        let sig = SignatureBuilder::new(SignatureType::GenericCertification)
            .sign_userid_binding(&mut signer, new.primary_key().key(), &uid)
            .unwrap();
        bytes(
            &new.clone()
                .insert_packets(vec![pgp::Packet::from(sig)])
                .unwrap()
                .0,
        )
    }

    #[test]
    fn a_new_key_counts_as_the_member_s_when_their_current_key_certified_it() {
        let now = SystemTime::now();
        let old = key("Bob <bob@example.org>");
        let current = MemberKey::check(&bytes(&old), "bob@example.org", now).unwrap();
        let new = key("Bob <bob@example.org>");
        let by_old = certified(&new, &old);
        assert!(current.certifies(&by_old, "bob@example.org", now));
        // What is stored of it is stripped of the certification all the same.
        let taken = MemberKey::check(&by_old, "bob@example.org", now).unwrap();
        assert!(!current.certifies(&taken.to_bytes(), "bob@example.org", now));
        // Not certified, certified by someone else, or for another address.
        assert!(!current.certifies(&bytes(&new), "bob@example.org", now));
        let stranger = key("Mallory <bob@example.org>");
        assert!(!current.certifies(&certified(&new, &stranger), "bob@example.org", now));
        assert!(!current.certifies(&by_old, "carol@example.org", now));
        // A revoked old key certifies nothing.
        let revocation = old
            .revoke(
                &mut primary_signer(&old),
                pgp::types::ReasonForRevocation::KeyCompromised,
                b"stolen",
            )
            .unwrap();
        let revoked = old
            .insert_packets(vec![pgp::Packet::from(revocation)])
            .unwrap()
            .0;
        let revoked = MemberKey::from_stored(&revoked.to_vec().unwrap()).unwrap();
        assert!(!revoked.certifies(&by_old, "bob@example.org", now));
    }

    #[test]
    fn a_good_key_is_taken_without_its_secrets() {
        let cert = key("Bob <bob@example.org>");
        let tsk = cert.as_tsk().armored().to_vec().unwrap();
        let m = MemberKey::check(&tsk, "BOB@example.org", SystemTime::now()).unwrap();
        assert!(!m.cert().is_tsk(), "a member's secret key is never kept");
        assert_eq!(m.fingerprint(), cert.fingerprint().to_hex());
        let back = MemberKey::from_stored(&m.to_bytes()).unwrap();
        assert_eq!(back.fingerprint(), m.fingerprint());
    }

    #[test]
    fn a_key_for_someone_else_is_refused() {
        let e = MemberKey::check(
            &bytes(&key("Eve <eve@example.org>")),
            "bob@example.org",
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, KeyRefusal::NoMatchingUserId { found, .. } if found.contains("eve@example.org")),
            "{e}"
        );
    }

    #[test]
    fn expired_and_revoked_keys_are_refused() {
        let past = SystemTime::now() - Duration::from_secs(10 * 86400);
        let (expired, _) = CertBuilder::general_purpose(Some("Bob <bob@example.org>"))
            .set_creation_time(past)
            .set_validity_period(Duration::from_secs(86400))
            .generate()
            .unwrap();
        let e =
            MemberKey::check(&bytes(&expired), "bob@example.org", SystemTime::now()).unwrap_err();
        assert!(matches!(e, KeyRefusal::Expired(_)), "{e}");

        let (cert, revocation) = CertBuilder::general_purpose(Some("Bob <bob@example.org>"))
            .generate()
            .unwrap();
        let (revoked, _) = cert.insert_packets(Some(revocation)).unwrap();
        let e =
            MemberKey::check(&bytes(&revoked), "bob@example.org", SystemTime::now()).unwrap_err();
        assert_eq!(e, KeyRefusal::Revoked);
    }

    #[test]
    fn a_key_that_cannot_encrypt_is_refused() {
        let (signing_only, _) = CertBuilder::new()
            .add_userid("Bob <bob@example.org>")
            .add_signing_subkey()
            .generate()
            .unwrap();
        let e = MemberKey::check(&bytes(&signing_only), "bob@example.org", SystemTime::now())
            .unwrap_err();
        assert_eq!(e, KeyRefusal::NoEncryptionSubkey);
    }

    #[test]
    fn third_party_certifications_are_stripped() {
        let bob = key("Bob <bob@example.org>");
        let mallory = key("Mallory <m@example.org>");
        let mut signer = primary_signer(&mallory);
        let uid = bob.userids().next().unwrap();
        let certification = uid
            .userid()
            .certify(
                &mut signer,
                &bob,
                pgp::types::SignatureType::GenericCertification,
                None,
                None,
            )
            .unwrap();
        let (flooded, _) = bob.clone().insert_packets(Some(certification)).unwrap();
        assert_eq!(
            flooded.userids().next().unwrap().certifications().count(),
            1
        );
        let m = MemberKey::check(&bytes(&flooded), "bob@example.org", SystemTime::now()).unwrap();
        assert_eq!(
            m.cert().userids().next().unwrap().certifications().count(),
            0
        );
    }

    #[test]
    fn a_keyring_splits_into_its_keys_each_described_even_when_refused() {
        let a = key("Alice <alice@example.org>");
        let (b, _) = CertBuilder::new()
            // The first user ID is the primary one.
            .add_userid("Robert <robert@example.net>")
            .add_userid("Bob <bob@example.org>")
            .add_signing_subkey()
            .generate()
            .unwrap();
        // One armored block with both keys, as `gpg --export --armor` writes it.
        let mut ring = Vec::new();
        {
            use pgp::serialize::Serialize;
            let mut w = pgp::armor::Writer::new(&mut ring, pgp::armor::Kind::PublicKey).unwrap();
            a.serialize(&mut w).unwrap();
            b.serialize(&mut w).unwrap();
            w.finalize().unwrap();
        }
        let parts = MemberKey::split(&ring).unwrap();
        assert_eq!(parts.len(), 2);
        let (info, addrs) = MemberKey::inspect(&parts[0], SystemTime::now()).unwrap();
        assert_eq!(info.fingerprint.replace(' ', ""), a.fingerprint().to_hex());
        assert_eq!(
            addrs,
            [("Alice".to_string(), "alice@example.org".to_string())]
        );
        assert!(MemberKey::check(&parts[0], "alice@example.org", SystemTime::now()).is_ok());
        // The one that cannot encrypt is still described, primary user ID first.
        let (info, addrs) = MemberKey::inspect(&parts[1], SystemTime::now()).unwrap();
        assert_eq!(info.user_ids.len(), 2);
        assert_eq!(addrs[0].1, "robert@example.net");
        assert_eq!(addrs[1], ("Bob".to_string(), "bob@example.org".to_string()));
        assert_eq!(
            MemberKey::check(&parts[1], "bob@example.org", SystemTime::now()).unwrap_err(),
            KeyRefusal::NoEncryptionSubkey
        );
        // Two armored blocks pasted one after the other, secrets dropped.
        let pasted = [
            a.as_tsk().armored().to_vec().unwrap(),
            b"\n".to_vec(),
            bytes(&b),
        ]
        .concat();
        let parts = MemberKey::split(&pasted).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(!MemberKey::from_stored(&parts[0]).unwrap().cert().is_tsk());
        assert!(matches!(
            MemberKey::split(b"hello"),
            Err(KeyRefusal::Unreadable(_))
        ));
        assert!(matches!(
            MemberKey::split(b""),
            Err(KeyRefusal::Unreadable(_))
        ));
    }

    #[test]
    fn oversized_and_unreadable_files_are_refused() {
        let big = vec![b'A'; MAX_KEY_BYTES + 1];
        assert!(matches!(
            MemberKey::check(&big, "b@example.org", SystemTime::now()),
            Err(KeyRefusal::TooLarge { .. })
        ));
        assert!(matches!(
            MemberKey::check(b"hello", "b@example.org", SystemTime::now()),
            Err(KeyRefusal::Unreadable(_))
        ));
        let two = [
            bytes(&key("A <a@example.org>")),
            bytes(&key("B <b@example.org>")),
        ]
        .concat();
        let e = MemberKey::check(&two, "a@example.org", SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("2 keys"), "{e}");
    }
}
