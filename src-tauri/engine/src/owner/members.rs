//! Members, as an owner adds them: with a key checked before anything is
//! saved, and saved with the member or not at all.

use std::time::SystemTime;

use crate::member_keys;
use crate::model::{List, Member, Protocol, Role};
use crate::store::{Store, StoredKey};

use super::OwnerError;

/// A key file given with a new member.
pub struct KeyFile<'a> {
    pub bytes: &'a [u8],
    /// An S/MIME certificate the owner trusts for this member only.
    pub pin: bool,
}

/// A member added, with the key they were given.
#[derive(Debug, Clone)]
pub struct Added {
    pub member: Member,
    pub key: Option<(Protocol, StoredKey)>,
}

/// Adds `email` to the list, with `key` when given: the key is checked
/// first (a refused key adds nobody), and the member and their key are
/// saved in one transaction.
pub fn add(
    store: &Store,
    list: &List,
    email: &str,
    name: &str,
    role: Role,
    key: Option<KeyFile<'_>>,
    now: SystemTime,
) -> Result<Added, OwnerError> {
    let key = match key {
        Some(k) => Some(member_keys::check(store, list, k.bytes, email, k.pin, now)?),
        None => None,
    };
    let member =
        store.add_member_with_key(list, email, name, role, key.as_ref().map(|(p, k)| (*p, k)))?;
    Ok(Added { member, key })
}
