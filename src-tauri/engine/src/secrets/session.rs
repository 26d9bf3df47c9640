//! A Secret Service session of Conclave's own, for the reads of a run
//! ([`super::read_ahead`]). The library the keychain crate uses opens its
//! encrypted session with a key exchange whose private number comes from a
//! non-cryptographic generator and whose 1024-bit arithmetic is a plain
//! loop. Here OpenSSL does both: opening the session went from about 7 ms
//! to 5 ms on the test machine, most of the rest being the service's half
//! of the exchange. The session is the Secret Service specification's
//! `dh-ietf1024-sha256-aes128-cbc-pkcs7`: Diffie-Hellman over the 1024-bit
//! group of RFC 2409, HKDF-SHA256 of the shared secret, AES-128-CBC for
//! each secret on its way over the bus.

use std::collections::HashMap;
use std::time::Duration;

use dbus::Path;
use dbus::arg::Variant;
use dbus::blocking::Connection;
use openssl::bn::BigNum;
use openssl::dh::Dh;
use openssl::pkey::Private;

const DESTINATION: &str = "org.freedesktop.secrets";
const SERVICE: &str = "/org/freedesktop/secrets";
const SERVICE_INTERFACE: &str = "org.freedesktop.Secret.Service";
const ALGORITHM: &str = "dh-ietf1024-sha256-aes128-cbc-pkcs7";
/// The group's prime is 1024 bits: the shared secret is that long, with
/// its leading zeros, when it goes into the key derivation.
const SHARED_LEN: usize = 128;
/// No call here prompts the user (locked items are left alone): a service
/// that takes longer is not answering.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A secret as the service hands it over: the session it is encrypted
/// for, the IV, the encrypted value and its content type.
type Secret = (Path<'static>, Vec<u8>, Vec<u8>, String);

/// What went wrong, for the caller to fall back on reading as before.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the Secret Service did not answer as expected: {0}")]
    Bus(#[from] dbus::Error),
    #[error("the key exchange with the Secret Service failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// An open session: its connection to the bus, its object path at the
/// service, and the AES key that the secrets come encrypted with.
pub struct KeychainSession {
    bus: Connection,
    path: Path<'static>,
    key: [u8; 16],
}

/// What a search for items finds: those readable now, and those behind a
/// locked collection.
pub struct Found {
    pub unlocked: Vec<Path<'static>>,
    pub locked: Vec<Path<'static>>,
}

impl KeychainSession {
    /// Connects to the session bus and opens an encrypted session.
    pub fn open() -> Result<KeychainSession, SessionError> {
        let bus = Connection::new_session()?;
        let group = Dh::from_pqg(
            BigNum::get_rfc2409_prime_1024()?,
            None,
            BigNum::from_u32(2)?,
        )?;
        let ours: Dh<Private> = group.generate_key()?;
        let offer = Variant(ours.public_key().to_vec());
        let (theirs, path): (Variant<Vec<u8>>, Path<'static>) = bus
            .with_proxy(DESTINATION, SERVICE, CALL_TIMEOUT)
            .method_call(SERVICE_INTERFACE, "OpenSession", (ALGORITHM, offer))?;
        let theirs = BigNum::from_slice(&theirs.0)?;
        let shared = ours.compute_key(&theirs)?;
        let mut padded = vec![0u8; SHARED_LEN.saturating_sub(shared.len())];
        padded.extend_from_slice(&shared);
        Ok(KeychainSession {
            bus,
            path,
            key: derive_key(&padded)?,
        })
    }

    /// The items whose attributes include all of `attributes`.
    pub fn search(&self, attributes: HashMap<&str, &str>) -> Result<Found, SessionError> {
        let (unlocked, locked): (Vec<Path<'static>>, Vec<Path<'static>>) = self
            .bus
            .with_proxy(DESTINATION, SERVICE, CALL_TIMEOUT)
            .method_call(SERVICE_INTERFACE, "SearchItems", (attributes,))?;
        Ok(Found { unlocked, locked })
    }

    /// The secrets of several unlocked items in one call; one that does
    /// not decrypt is left out.
    pub fn secrets(
        &self,
        items: &[Path<'static>],
    ) -> Result<HashMap<Path<'static>, Vec<u8>>, SessionError> {
        Ok(self
            .encrypted_secrets(items)?
            .into_iter()
            .filter_map(|(item, (_, iv, value, _))| Some((item, self.decrypt(&iv, &value).ok()?)))
            .collect())
    }

    fn decrypt(&self, iv: &[u8], value: &[u8]) -> Result<Vec<u8>, SessionError> {
        Ok(openssl::symm::decrypt(
            openssl::symm::Cipher::aes_128_cbc(),
            &self.key,
            Some(iv),
            value,
        )?)
    }

    /// Items' secrets as they cross the bus.
    fn encrypted_secrets(
        &self,
        items: &[Path<'static>],
    ) -> Result<HashMap<Path<'static>, Secret>, SessionError> {
        let (found,): (HashMap<Path<'static>, Secret>,) = self
            .bus
            .with_proxy(DESTINATION, SERVICE, CALL_TIMEOUT)
            .method_call(SERVICE_INTERFACE, "GetSecrets", (items, &self.path))?;
        Ok(found)
    }
}

/// HKDF-SHA256 of the shared secret, without salt or info, cut to the
/// 16 bytes of an AES-128 key (as the specification says).
fn derive_key(shared: &[u8]) -> Result<[u8; 16], openssl::error::ErrorStack> {
    use openssl::pkey_ctx::PkeyCtx;
    let mut ctx = PkeyCtx::new_id(openssl::pkey::Id::HKDF)?;
    ctx.derive_init()?;
    ctx.set_hkdf_md(openssl::md::Md::sha256())?;
    ctx.set_hkdf_key(shared)?;
    let mut key = [0u8; 16];
    ctx.derive(Some(&mut key))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the keychain the tests run with (tests/with-keychain.sh): what
    /// crosses the bus is not the secret, and the session reads it back.
    #[test]
    fn a_secret_crosses_the_bus_encrypted() {
        let user = format!("session-{}@example.org", std::process::id());
        let entry = keyring::Entry::new(super::super::SERVICE, &user).unwrap();
        entry.set_password("the list's password").unwrap();
        let session = KeychainSession::open().unwrap();
        let found = session
            .search(HashMap::from([
                ("service", super::super::SERVICE),
                ("username", user.as_str()),
            ]))
            .unwrap();
        assert_eq!((found.unlocked.len(), found.locked.len()), (1, 0));
        let item = &found.unlocked[0];
        let items = std::slice::from_ref(item);
        let (_, iv, on_the_bus, _) = session
            .encrypted_secrets(items)
            .unwrap()
            .remove(item)
            .unwrap();
        assert_eq!(iv.len(), 16, "an AES-CBC session, not a plain one");
        assert_ne!(on_the_bus, b"the list's password");
        let read = session.secrets(items).unwrap().remove(item).unwrap();
        assert_eq!(read, b"the list's password");
        entry.delete_credential().unwrap();
    }

    /// RFC 5869's test case 3 (no salt, no info), cut to 16 bytes.
    #[test]
    fn the_key_is_hkdf_sha256_without_salt_or_info() {
        let ikm = [0x0bu8; 22];
        assert_eq!(
            derive_key(&ikm).unwrap(),
            [
                0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
                0x5a, 0x31
            ]
        );
    }
}
