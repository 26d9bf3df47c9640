//! The list's own key: it signs what the list sends and decrypts what
//! members send to it. Its secret part goes to the keychain only.

use std::time::SystemTime;

use pgp::cert::amalgamation::ValidAmalgamation;
use pgp::cert::amalgamation::key::PrimaryKey;
use pgp::cert::{CertBuilder, CipherSuite};
use pgp::serialize::SerializeInto;
use pgp::types::KeyFlags;
use sequoia_openpgp as pgp;

use super::{KeyInfo, OpenPgpError, describe, one_cert, policy};
use crate::secrets::Sensitive;

/// The algorithms of a new list key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgo {
    /// Ed25519 for certifying and signing, Cv25519 for encryption: small,
    /// fast, read by every current client.
    Ed25519,
    /// RSA 4096 throughout, for old clients that know nothing else.
    Rsa4096,
}

impl std::str::FromStr for KeyAlgo {
    type Err = crate::model::BadValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ed25519" | "cv25519" | "25519" => Ok(KeyAlgo::Ed25519),
            "rsa4096" | "rsa" => Ok(KeyAlgo::Rsa4096),
            other => Err(crate::model::BadValue(format!(
                "'{other}' is not one of: ed25519, rsa4096"
            ))),
        }
    }
}

/// The list's key, secret parts included. Never printed.
#[derive(Clone)]
pub struct ListKey {
    cert: pgp::Cert,
}

impl std::fmt::Debug for ListKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ListKey({})", self.cert.fingerprint())
    }
}

impl ListKey {
    /// Makes a new key with the user ID "NAME <ADDRESS>": a primary key for
    /// certifying and signing, and an encryption subkey.
    pub fn generate(
        name: &str,
        address: &str,
        algo: KeyAlgo,
        now: SystemTime,
    ) -> Result<ListKey, OpenPgpError> {
        let suite = match algo {
            KeyAlgo::Ed25519 => CipherSuite::Cv25519,
            KeyAlgo::Rsa4096 => CipherSuite::RSA4k,
        };
        let (cert, _revocation) = CertBuilder::new()
            .set_creation_time(now)
            .set_cipher_suite(suite)
            .add_userid(format!("{name} <{address}>"))
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .add_subkey(
                KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
                None,
                None,
            )
            .generate()
            .map_err(|e| OpenPgpError::Generate(e.to_string()))?;
        let key = ListKey { cert };
        key.check_usable(address, now)?;
        Ok(key)
    }

    /// Whether an exported secret key needs a passphrase to be used.
    pub fn needs_passphrase(bytes: &[u8]) -> Result<bool, OpenPgpError> {
        let cert = one_cert(bytes)?;
        if !cert.is_tsk() {
            return Err(OpenPgpError::NoSecret);
        }
        Ok(cert
            .keys()
            .secret()
            .any(|ka| ka.key().secret().is_encrypted()))
    }

    /// Takes an exported secret key (armored or binary), unlocking it with
    /// the passphrase when it has one. It must be able to sign and decrypt,
    /// and carry the list's address in a user ID.
    pub fn import(
        bytes: &[u8],
        passphrase: Option<&Sensitive<String>>,
        address: &str,
        now: SystemTime,
    ) -> Result<ListKey, OpenPgpError> {
        use pgp::Packet;
        let cert = one_cert(bytes)?;
        if !cert.is_tsk() {
            return Err(OpenPgpError::NoSecret);
        }
        let mut unlocked: Vec<Packet> = Vec::new();
        for ka in cert.keys().secret() {
            if !ka.key().secret().is_encrypted() {
                continue;
            }
            let Some(pass) = passphrase else {
                return Err(OpenPgpError::NeedsPassphrase);
            };
            let password = pgp::crypto::Password::from(pass.expose().as_str());
            let key = ka
                .key()
                .clone()
                .decrypt_secret(&password)
                .map_err(|_| OpenPgpError::WrongPassphrase)?;
            unlocked.push(if ka.primary() {
                Packet::from(key.role_into_primary())
            } else {
                Packet::from(key.role_into_subordinate())
            });
        }
        let (cert, _) = cert
            .insert_packets(unlocked)
            .map_err(|e| OpenPgpError::Unusable(e.to_string()))?;
        let key = ListKey { cert };
        key.check_usable(address, now)?;
        Ok(key)
    }

    /// The key as the keychain keeps it (armored, unlocked: the keychain is
    /// its protection).
    pub fn from_keychain(armored: &Sensitive<String>) -> Result<ListKey, OpenPgpError> {
        let cert = one_cert(armored.expose().as_bytes())?;
        if !cert.is_tsk() {
            return Err(OpenPgpError::NoSecret);
        }
        Ok(ListKey { cert })
    }

    pub fn to_keychain(&self) -> Sensitive<String> {
        let bytes = self
            .cert
            .as_tsk()
            .armored()
            .to_vec()
            .expect("serializing to memory does not fail");
        Sensitive::new(String::from_utf8(bytes).expect("armor is ASCII"))
    }

    /// The public certificate as an `Autocrypt` header's keydata: binary,
    /// base64, on one line (the header folds it).
    pub fn autocrypt_keydata(&self) -> String {
        let bytes = self
            .cert
            .to_vec()
            .expect("serializing to memory does not fail");
        openssl::base64::encode_block(&bytes)
    }

    /// The public certificate, armored, for members to import.
    pub fn public_armored(&self) -> String {
        let bytes = self
            .cert
            .armored()
            .to_vec()
            .expect("serializing to memory does not fail");
        String::from_utf8(bytes).expect("armor is ASCII")
    }

    /// The same key, valid until `until`: new binding signatures with the
    /// later expiry for the primary key and its user IDs and for each
    /// subkey that is not revoked. The fingerprint stays, so members only
    /// need to refresh the key they have. A key that never expires has
    /// nothing to renew, and `until` must be later than the present expiry.
    pub fn renew(&self, until: SystemTime, now: SystemTime) -> Result<ListKey, OpenPgpError> {
        let refuse = |why: String| OpenPgpError::Renew(why);
        let p = policy();
        let vc = self.cert.with_policy(&p, now).map_err(|e| {
            refuse(format!(
                "the policy rejects it ({e}); make a new key instead"
            ))
        })?;
        if let pgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
            return Err(refuse("it is revoked; make a new key instead".into()));
        }
        let Some(current) = vc.primary_key().key_expiration_time() else {
            return Err(refuse(
                "it does not expire, so there is nothing to renew".into(),
            ));
        };
        if until <= now || until <= current {
            return Err(refuse(format!(
                "it is valid until {} already; give a later date (more days)",
                super::rfc3339(current)
            )));
        }
        let secret = |k: &pgp::packet::Key<
            pgp::packet::key::PublicParts,
            pgp::packet::key::UnspecifiedRole,
        >| {
            k.clone()
                .parts_into_secret()
                .and_then(|k| k.into_keypair())
                .map_err(|e| refuse(format!("its secret key cannot sign ({e}); import it again")))
        };
        let mut primary = secret(vc.primary_key().key().role_as_unspecified())?;
        let failed = |e: pgp::anyhow::Error| refuse(format!("signing the new expiry failed ({e})"));
        let mut sigs = vc
            .primary_key()
            .set_expiration_time(&mut primary, Some(until))
            .map_err(failed)?;
        for ka in vc.keys().subkeys() {
            if let pgp::types::RevocationStatus::Revoked(_) = ka.revocation_status() {
                continue;
            }
            // A subkey that signs must sign its own binding back to the
            // primary key (the "back signature").
            let renewed = if ka.for_signing() || ka.for_certification() || ka.for_authentication() {
                let mut own = secret(ka.key().role_as_unspecified())?;
                ka.set_expiration_time(&mut primary, Some(&mut own), Some(until))
            } else {
                ka.set_expiration_time(&mut primary, None, Some(until))
            };
            sigs.extend(renewed.map_err(failed)?);
        }
        let (cert, _) = self.cert.clone().insert_packets(sigs).map_err(failed)?;
        Ok(ListKey { cert })
    }

    pub fn info(&self, now: SystemTime) -> KeyInfo {
        describe(&self.cert, now)
    }

    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    pub(crate) fn cert(&self) -> &pgp::Cert {
        &self.cert
    }

    /// A list key must be valid now, sign, decrypt, and name the list.
    fn check_usable(&self, address: &str, now: SystemTime) -> Result<(), OpenPgpError> {
        let p = policy();
        let vc = self
            .cert
            .with_policy(&p, now)
            .map_err(|e| OpenPgpError::Unusable(format!("the policy rejects it: {e}")))?;
        if let pgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
            return Err(OpenPgpError::Unusable("it is revoked".into()));
        }
        vc.alive()
            .map_err(|e| OpenPgpError::Unusable(format!("it is not valid now: {e}")))?;
        let signs = vc
            .keys()
            .unencrypted_secret()
            .alive()
            .revoked(false)
            .for_signing()
            .next()
            .is_some();
        if !signs {
            return Err(OpenPgpError::Unusable(
                "it has no valid secret key that can sign".into(),
            ));
        }
        let decrypts = vc
            .keys()
            .unencrypted_secret()
            .alive()
            .revoked(false)
            .key_flags(
                KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
            )
            .next()
            .is_some();
        if !decrypts {
            return Err(OpenPgpError::Unusable(
                "it has no valid secret key that can decrypt".into(),
            ));
        }
        let names_list = vc.userids().any(|u| {
            u.userid()
                .email()
                .ok()
                .flatten()
                .is_some_and(|e| e.eq_ignore_ascii_case(address))
        });
        if !names_list {
            return Err(OpenPgpError::Unusable(format!(
                "none of its user IDs is {address}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_decrypts_and_names_the_list() {
        let now = SystemTime::now();
        let key =
            ListKey::generate("Tenants", "tenants@example.org", KeyAlgo::Ed25519, now).unwrap();
        let info = key.info(now);
        assert_eq!(info.user_ids, ["Tenants <tenants@example.org>"]);
        assert_eq!(info.algorithms, ["Ed25519", "Cv25519"]);
        assert!(info.expires.is_none());
        assert_eq!(info.fingerprint.split(' ').count(), 10);
        // Through the keychain and back.
        let again = ListKey::from_keychain(&key.to_keychain()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert!(
            key.public_armored()
                .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        );
        assert!(!key.public_armored().contains("PRIVATE"));
    }

    #[test]
    fn import_unlocks_with_the_passphrase_and_refuses_public_keys() {
        let now = SystemTime::now();
        let key = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        // Lock every secret key with a passphrase, as gpg exports do.
        let password = pgp::crypto::Password::from("correct horse");
        let mut locked = Vec::new();
        for ka in key.cert.keys().secret() {
            let k = ka.key().clone().encrypt_secret(&password).unwrap();
            locked.push(if ka.primary() {
                pgp::Packet::from(k.role_into_primary())
            } else {
                pgp::Packet::from(k.role_into_subordinate())
            });
        }
        let (locked, _) = key.cert.clone().insert_packets(locked).unwrap();
        let bytes = locked.as_tsk().armored().to_vec().unwrap();
        assert!(ListKey::needs_passphrase(&bytes).unwrap());
        assert!(matches!(
            ListKey::import(&bytes, None, "l@example.org", now),
            Err(OpenPgpError::NeedsPassphrase)
        ));
        assert!(matches!(
            ListKey::import(
                &bytes,
                Some(&Sensitive::new("wrong".into())),
                "l@example.org",
                now
            ),
            Err(OpenPgpError::WrongPassphrase)
        ));
        let imported = ListKey::import(
            &bytes,
            Some(&Sensitive::new("correct horse".into())),
            "l@example.org",
            now,
        )
        .unwrap();
        assert_eq!(imported.fingerprint(), key.fingerprint());
        assert!(!imported.to_keychain().expose().is_empty());

        let public = key.public_armored();
        assert!(matches!(
            ListKey::import(public.as_bytes(), None, "l@example.org", now),
            Err(OpenPgpError::NoSecret)
        ));
        let other_address = ListKey::import(
            key.to_keychain().expose().as_bytes(),
            None,
            "other@example.org",
            now,
        );
        assert!(
            matches!(other_address, Err(OpenPgpError::Unusable(m)) if m.contains("other@example.org"))
        );
    }

    #[test]
    fn renewal_moves_the_expiry_and_keeps_the_key() {
        let day = std::time::Duration::from_secs(86_400);
        let now = SystemTime::now();
        // Made a year ago, valid for 380 days: it expires in about two weeks.
        let made = now - 365 * day;
        let (cert, _) = CertBuilder::new()
            .set_creation_time(made)
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_validity_period(380 * day)
            .add_userid("L <l@example.org>")
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .add_subkey(
                KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
                None,
                None,
            )
            .add_signing_subkey()
            .generate()
            .unwrap();
        let key = ListKey { cert };
        let before = key.info(now).expires.unwrap();

        let until = now + 730 * day;
        let renewed = key.renew(until, now).unwrap();
        assert_eq!(renewed.fingerprint(), key.fingerprint());
        // The new signatures bear the clock's time, which may be a second
        // past `now` by the time they are made.
        let info = renewed.info(SystemTime::now());
        assert!(info.expires.clone().unwrap() > before, "{info:?}");
        assert_eq!(info.created, key.info(now).created);
        // Still a usable list key a year from now, every subkey too.
        let later = now + 400 * day;
        renewed.check_usable("l@example.org", later).unwrap();
        assert!(key.check_usable("l@example.org", later).is_err());
        let p = policy();
        let vc = renewed.cert.with_policy(&p, later).unwrap();
        assert_eq!(vc.keys().alive().count(), 3);
        // Through the keychain the secret parts come along.
        let back = ListKey::from_keychain(&renewed.to_keychain()).unwrap();
        assert_eq!(back.info(now).expires, info.expires);
        // Members get the public key with the new expiry.
        let public = super::super::one_cert(renewed.public_armored().as_bytes()).unwrap();
        assert!(!public.is_tsk());
        assert_eq!(describe(&public, now).expires, info.expires);

        // Not earlier than it is, not for a key that never expires.
        assert!(
            matches!(renewed.renew(now + 30 * day, now), Err(OpenPgpError::Renew(m)) if m.contains("valid until"))
        );
        let forever = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, made).unwrap();
        assert!(
            matches!(forever.renew(until, now), Err(OpenPgpError::Renew(m)) if m.contains("does not expire"))
        );
    }

    #[test]
    fn rsa_for_old_clients() {
        let now = SystemTime::now();
        let key = ListKey::generate("L", "l@example.org", KeyAlgo::Rsa4096, now).unwrap();
        assert_eq!(key.info(now).algorithms, ["RSA 4096", "RSA 4096"]);
    }
}
