//! The list's own key: it signs what the list sends and decrypts what
//! members send to it. Its secret part goes to the keychain only.

use std::time::SystemTime;

use sequoia_openpgp as pgp;
use pgp::cert::{CertBuilder, CipherSuite};
use pgp::serialize::SerializeInto;
use pgp::cert::amalgamation::key::PrimaryKey;
use pgp::types::KeyFlags;

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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ed25519" | "cv25519" | "25519" => Ok(KeyAlgo::Ed25519),
            "rsa4096" | "rsa" => Ok(KeyAlgo::Rsa4096),
            other => Err(format!("'{other}' is not one of: ed25519, rsa4096")),
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
    pub fn generate(name: &str, address: &str, algo: KeyAlgo, now: SystemTime) -> Result<ListKey, OpenPgpError> {
        let suite = match algo {
            KeyAlgo::Ed25519 => CipherSuite::Cv25519,
            KeyAlgo::Rsa4096 => CipherSuite::RSA4k,
        };
        let (cert, _revocation) = CertBuilder::new()
            .set_creation_time(now)
            .set_cipher_suite(suite)
            .add_userid(format!("{name} <{address}>"))
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .add_subkey(KeyFlags::empty().set_transport_encryption().set_storage_encryption(), None, None)
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
        Ok(cert.keys().secret().any(|ka| ka.key().secret().is_encrypted()))
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
            let key = ka.key().clone().decrypt_secret(&password).map_err(|_| OpenPgpError::WrongPassphrase)?;
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
        let bytes = self.cert.as_tsk().armored().to_vec().expect("serializing to memory does not fail");
        Sensitive::new(String::from_utf8(bytes).expect("armor is ASCII"))
    }

    /// The public certificate, armored, for members to import.
    pub fn public_armored(&self) -> String {
        let bytes = self.cert.armored().to_vec().expect("serializing to memory does not fail");
        String::from_utf8(bytes).expect("armor is ASCII")
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
        vc.alive().map_err(|e| OpenPgpError::Unusable(format!("it is not valid now: {e}")))?;
        let signs = vc.keys().unencrypted_secret().alive().revoked(false).for_signing().next().is_some();
        if !signs {
            return Err(OpenPgpError::Unusable("it has no valid secret key that can sign".into()));
        }
        let decrypts = vc
            .keys()
            .unencrypted_secret()
            .alive()
            .revoked(false)
            .key_flags(KeyFlags::empty().set_transport_encryption().set_storage_encryption())
            .next()
            .is_some();
        if !decrypts {
            return Err(OpenPgpError::Unusable("it has no valid secret key that can decrypt".into()));
        }
        let names_list = vc
            .userids()
            .any(|u| u.userid().email().ok().flatten().is_some_and(|e| e.eq_ignore_ascii_case(address)));
        if !names_list {
            return Err(OpenPgpError::Unusable(format!("none of its user IDs is {address}")));
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
        let key = ListKey::generate("Tenants", "tenants@example.org", KeyAlgo::Ed25519, now).unwrap();
        let info = key.info(now);
        assert_eq!(info.user_ids, ["Tenants <tenants@example.org>"]);
        assert_eq!(info.algorithms, ["Ed25519", "Cv25519"]);
        assert!(info.expires.is_none());
        assert_eq!(info.fingerprint.split(' ').count(), 10);
        // Through the keychain and back.
        let again = ListKey::from_keychain(&key.to_keychain()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert!(key.public_armored().starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
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
            ListKey::import(&bytes, Some(&Sensitive::new("wrong".into())), "l@example.org", now),
            Err(OpenPgpError::WrongPassphrase)
        ));
        let imported =
            ListKey::import(&bytes, Some(&Sensitive::new("correct horse".into())), "l@example.org", now).unwrap();
        assert_eq!(imported.fingerprint(), key.fingerprint());
        assert!(!imported.to_keychain().expose().is_empty());

        let public = key.public_armored();
        assert!(matches!(ListKey::import(public.as_bytes(), None, "l@example.org", now), Err(OpenPgpError::NoSecret)));
        let other_address = ListKey::import(key.to_keychain().expose().as_bytes(), None, "other@example.org", now);
        assert!(matches!(other_address, Err(OpenPgpError::Unusable(m)) if m.contains("other@example.org")));
    }

    #[test]
    fn rsa_for_old_clients() {
        let now = SystemTime::now();
        let key = ListKey::generate("L", "l@example.org", KeyAlgo::Rsa4096, now).unwrap();
        assert_eq!(key.info(now).algorithms, ["RSA 4096", "RSA 4096"]);
    }
}
