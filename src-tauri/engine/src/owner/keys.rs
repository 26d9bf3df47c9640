//! The list's own keys as an owner makes and shows them: generated or
//! imported (the secret part to the keychain first, so a keychain that
//! cannot keep it records nothing), a certificate request for an authority,
//! the public key members import, what a key is. Renewing, a renewal
//! request and installing an authority's answer work on the keychain's
//! key and live in `crate::list_key`; they are offered here too.

use std::time::SystemTime;

use serde::Serialize;

use crate::crypto::openpgp::{KeyAlgo, KeyInfo, ListKey, MemberKey};
use crate::crypto::smime::{self, CertInfo};
use crate::model::{List, Protocol};
use crate::secrets::{self, SecretKind, Sensitive};
use crate::store::{Store, StoreError, StoredKey};

use super::OwnerError;

pub use crate::list_key::{
    ListKeyView, RENEW_DAYS, install_certificate, renew, renewal_request, show_all,
};

/// What a list key is, by its kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum KeyShown {
    OpenPgp(KeyInfo),
    Smime(CertInfo),
}

/// The protocol a key operation is about: the one asked for, else the
/// list's own. A plain list has no key of its own protocol.
pub fn protocol_for(list: &List, asked: Option<Protocol>) -> Result<Protocol, OwnerError> {
    match asked.unwrap_or(list.protocol) {
        Protocol::Plain => Err(OwnerError::Refused(format!(
            "{} is a plain list: keys are for openpgp and smime lists (or give --protocol openpgp|smime to add one)",
            list.address
        ))),
        p => Ok(p),
    }
}

fn no_key_yet(list: &List, protocol: Protocol) -> OwnerError {
    OwnerError::Refused(format!(
        "{} has no {protocol} key yet: `conclave-cli list key generate {} --protocol {protocol}`",
        list.address, list.address
    ))
}

fn refuse_silent_replace(
    store: &Store,
    list: &List,
    protocol: Protocol,
    replace: bool,
) -> Result<(), OwnerError> {
    if let (false, Some(old)) = (replace, store.list_key(list, protocol)?) {
        return Err(StoreError::ListKeyExists {
            list: list.address.clone(),
            fingerprint: old.fingerprint,
        }
        .into());
    }
    Ok(())
}

/// Makes a new list key of `protocol` (default the list's): OpenPGP
/// Ed25519 (or RSA 4096), S/MIME RSA 3072 (or P-256) with a certificate
/// the list signs itself.
pub async fn generate(
    store: &Store,
    address: &str,
    protocol: Option<Protocol>,
    algo: Option<&str>,
    replace: bool,
    now: SystemTime,
) -> Result<KeyShown, OwnerError> {
    let list = store.list(address)?;
    let protocol = protocol_for(&list, protocol)?;
    refuse_silent_replace(store, &list, protocol, replace)?;
    match protocol {
        Protocol::Smime => {
            let algo: smime::KeyAlgo = algo
                .unwrap_or("rsa3072")
                .parse()
                .map_err(|e: crate::model::BadValue| OwnerError::Refused(format!("--algo: {e}")))?;
            let identity = smime::ListKey::generate(&list.address, algo)?;
            save_identity(store, &list, &identity, replace).await?;
            Ok(KeyShown::Smime(identity.info()))
        }
        _ => {
            let algo: KeyAlgo = algo
                .unwrap_or("ed25519")
                .parse()
                .map_err(|e: crate::model::BadValue| OwnerError::Refused(format!("--algo: {e}")))?;
            let key = ListKey::generate(&list.name, &list.address, algo, now)?;
            save_list_key(store, &list, &key, replace).await?;
            Ok(KeyShown::OpenPgp(key.info(now)))
        }
    }
}

/// Makes an S/MIME key whose certificate an authority is to sign: the key
/// goes to the keychain, the request (PEM) is returned for the authority.
/// Its answer is installed with `list_key::install_certificate`.
pub async fn request(
    store: &Store,
    address: &str,
    algo: Option<&str>,
    replace: bool,
) -> Result<Vec<u8>, OwnerError> {
    let list = store.list(address)?;
    refuse_silent_replace(store, &list, Protocol::Smime, replace)?;
    let algo: smime::KeyAlgo = algo
        .unwrap_or("rsa3072")
        .parse()
        .map_err(|e: crate::model::BadValue| OwnerError::Refused(format!("--algo: {e}")))?;
    let (key, request) = smime::ListKey::request(&list.address, algo)?;
    secrets::store(
        &list.address,
        SecretKind::SmimeListKey,
        smime::ListKey::key_to_keychain(&key)?,
    )
    .await?;
    Ok(request)
}

/// Whether importing this file needs its passphrase (PKCS#12 password,
/// OpenPGP passphrase).
pub fn needs_passphrase(protocol: Protocol, bytes: &[u8]) -> Result<bool, OwnerError> {
    Ok(match protocol {
        Protocol::Smime => smime::ListKey::needs_password(bytes),
        _ => ListKey::needs_passphrase(bytes)?,
    })
}

/// Takes an existing secret key: OpenPGP (armored or binary), or S/MIME
/// (PKCS#12, or PEM with key and certificate).
pub async fn import(
    store: &Store,
    address: &str,
    protocol: Option<Protocol>,
    bytes: &[u8],
    passphrase: Option<&Sensitive<String>>,
    replace: bool,
    now: SystemTime,
) -> Result<KeyShown, OwnerError> {
    let list = store.list(address)?;
    let protocol = protocol_for(&list, protocol)?;
    refuse_silent_replace(store, &list, protocol, replace)?;
    if protocol == Protocol::Smime {
        let identity = smime::ListKey::import(bytes, passphrase, &list.address, now)?;
        save_identity(store, &list, &identity, replace).await?;
        Ok(KeyShown::Smime(identity.info()))
    } else {
        let key = ListKey::import(bytes, passphrase, &list.address, now)?;
        save_list_key(store, &list, &key, replace).await?;
        Ok(KeyShown::OpenPgp(key.info(now)))
    }
}

/// The public key (armored) or certificate (PEM) members import.
pub fn export(
    store: &Store,
    address: &str,
    protocol: Option<Protocol>,
) -> Result<Vec<u8>, OwnerError> {
    let list = store.list(address)?;
    let protocol = protocol_for(&list, protocol)?;
    let key = store
        .list_key(&list, protocol)?
        .ok_or_else(|| no_key_yet(&list, protocol))?;
    Ok(key.cert)
}

/// What the list's key of `protocol` is.
pub fn show(
    store: &Store,
    address: &str,
    protocol: Option<Protocol>,
    now: SystemTime,
) -> Result<KeyShown, OwnerError> {
    let list = store.list(address)?;
    let protocol = protocol_for(&list, protocol)?;
    let key = store
        .list_key(&list, protocol)?
        .ok_or_else(|| no_key_yet(&list, protocol))?;
    if protocol == Protocol::Smime {
        let cert = smime::read_certs(&key.cert)?
            .into_iter()
            .next()
            .ok_or_else(|| OwnerError::Refused("no certificate is stored for the list".into()))?;
        Ok(KeyShown::Smime(smime::info(&cert)))
    } else {
        Ok(KeyShown::OpenPgp(
            MemberKey::from_stored(&key.cert)?.info(now),
        ))
    }
}

/// Keychain first: if it cannot keep the secret, nothing is recorded.
async fn save_list_key(
    store: &Store,
    list: &List,
    key: &ListKey,
    replace: bool,
) -> Result<(), OwnerError> {
    secrets::store(&list.address, SecretKind::OpenPgpListKey, key.to_keychain()).await?;
    let stored = StoredKey {
        fingerprint: key.fingerprint(),
        cert: key.public_armored().into_bytes(),
    };
    store.set_list_key(list, Protocol::Openpgp, &stored, replace)?;
    Ok(())
}

async fn save_identity(
    store: &Store,
    list: &List,
    identity: &smime::ListKey,
    replace: bool,
) -> Result<(), OwnerError> {
    secrets::store(
        &list.address,
        SecretKind::SmimeListKey,
        smime::ListKey::key_to_keychain(identity.key())?,
    )
    .await?;
    let stored = StoredKey {
        fingerprint: identity.fingerprint(),
        cert: identity.public_pem(),
    };
    store.set_list_key(list, Protocol::Smime, &stored, replace)?;
    Ok(())
}

/// The file name offered when saving the list's public key or
/// certificate: "tenants-openpgp.asc" for tenants@example.org.
pub fn export_file_name(address: &str, protocol: Protocol) -> String {
    let local: String = address
        .split('@')
        .next()
        .unwrap_or("list")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match protocol {
        Protocol::Smime => format!("{local}-certificate.pem"),
        _ => format!("{local}-openpgp.asc"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_files_are_named_after_the_list() {
        assert_eq!(
            export_file_name("tenants@example.org", Protocol::Openpgp),
            "tenants-openpgp.asc"
        );
        assert_eq!(
            export_file_name("a b/c@example.org", Protocol::Smime),
            "a_b_c-certificate.pem"
        );
    }
}
