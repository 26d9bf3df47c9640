//! The authorities an S/MIME list trusts to vouch for its members'
//! certificates. The rules (only authorities, only valid ones) are
//! `crate::member_keys`'s; this is what the owner does with them.

use std::time::SystemTime;

use crate::crypto::smime::CertInfo;
use crate::member_keys;
use crate::store::Store;

use super::OwnerError;

/// Trusts every authority in a certificate file (PEM or DER); returns the
/// ones just trusted. A file with a certificate that is no authority, or
/// an authority out of its validity, trusts nothing.
pub fn add(
    store: &Store,
    address: &str,
    bytes: &[u8],
    now: SystemTime,
) -> Result<Vec<CertInfo>, OwnerError> {
    let list = store.list(address)?;
    Ok(member_keys::trust_authorities(store, &list, bytes, now)?)
}

/// The authorities the list trusts, in the order they were added.
pub fn list(store: &Store, address: &str) -> Result<Vec<CertInfo>, OwnerError> {
    Ok(member_keys::trusted_authorities(
        store,
        &store.list(address)?,
    )?)
}

/// Stops trusting an authority (by its fingerprint; spaces, colons and
/// case do not matter). Members already added keep their certificates:
/// they were checked when they were added. Returns the authorities left.
pub fn remove(
    store: &Store,
    address: &str,
    fingerprint: &str,
) -> Result<Vec<CertInfo>, OwnerError> {
    let list = store.list(address)?;
    store.remove_trust_anchor(&list, fingerprint)?;
    Ok(member_keys::trusted_authorities(store, &list)?)
}
