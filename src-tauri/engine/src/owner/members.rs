//! Members, as an owner adds them: with a key checked before anything is
//! saved, and saved with the member or not at all.

use std::time::SystemTime;

use crate::member_keys::{self, MemberKeyView};
use crate::model::{List, Member, Protocol, Role};
use crate::store::{Store, StoreError, StoredKey};

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
    keep_signature_checks(store);
    Ok(Added { member, key })
}

/// Keeps the signatures found good while checking keys for the runs to
/// come: without them, the first run after an owner adds members verifies
/// every new key again before its first copy (200 new members cost that
/// run 0.15 s of CPU more than the next). Only a cache: when it cannot be
/// written, that run verifies again, and the member's addition stands.
fn keep_signature_checks(store: &Store) {
    let _ = store.keep_signature_checks();
}

/// The list, when it keeps keys for its members (it has a key of either
/// protocol, or is an OpenPGP or S/MIME list).
pub fn keyed_list(store: &Store, address: &str) -> Result<List, OwnerError> {
    let list = store.list(address)?;
    if member_keys::key_protocols(store, &list)?.is_empty() {
        return Err(OwnerError::PlainList(list.address));
    }
    Ok(list)
}

/// What the keys and certificates in files (or pasted text) are and what
/// saving them would do, for `email` when given. Nothing is saved.
pub fn review(
    store: &Store,
    address: &str,
    email: Option<&str>,
    files: &[Vec<u8>],
    now: SystemTime,
) -> Result<Vec<member_keys::KeyCandidate>, OwnerError> {
    let list = keyed_list(store, address)?;
    Ok(member_keys::review(store, &list, email, files, now)?)
}

/// Adds a member for each of the chosen keys of the files (by
/// fingerprint, as [`review`] listed them), all or none; the certificates
/// in `pinned` are trusted for their member only.
pub fn import(
    store: &Store,
    address: &str,
    files: &[Vec<u8>],
    fingerprints: &[String],
    pinned: &[String],
    role: Role,
    now: SystemTime,
) -> Result<Vec<MemberRow>, OwnerError> {
    let list = keyed_list(store, address)?;
    let added = member_keys::import(store, &list, files, fingerprints, pinned, role, now)?;
    keep_signature_checks(store);
    added.iter().map(|e| row(store, &list, e, now)).collect()
}

/// One member as an owner sees them: their keys of either protocol (the
/// list's own first), whether they receive posts, and whether their server
/// refuses the list's copies.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct MemberRow {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub own_posts: bool,
    /// The member's keys, the list's own protocol first (a member of a
    /// mixed list may have an OpenPGP key and an S/MIME certificate).
    pub keys: Vec<MemberKeyView>,
    /// Whether they get posts: not on a list with keys that sends only
    /// encrypted (distrib-encrypt force) while they have no usable key.
    pub receives_posts: bool,
    /// Their mail server refused the last copy sent to them: its answer.
    pub bouncing: Option<String>,
}

/// A list's members, with what a members table needs to know of the list.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct MembersView {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    /// The protocols the list encrypts to members in (both on a mixed
    /// list, none on a plain one).
    pub protocols: Vec<Protocol>,
    pub members: Vec<MemberRow>,
}

fn row_with(
    store: &Store,
    list: &List,
    protocols: &[Protocol],
    member: Member,
    bouncing: Option<String>,
    now: SystemTime,
) -> Result<MemberRow, OwnerError> {
    let keys = member_keys::member_keys(store, list, &member.email, now)?;
    let usable = keys
        .iter()
        .any(|k| k.usable && protocols.contains(&k.protocol));
    let receives_posts = protocols.is_empty()
        || usable
        || list.settings.distrib_encrypt != crate::model::Requirement::Force;
    Ok(MemberRow {
        email: member.email,
        name: member.name,
        role: member.role,
        own_posts: member.own_posts,
        keys,
        receives_posts,
        bouncing,
    })
}

/// One member's row.
pub fn row(
    store: &Store,
    list: &List,
    email: &str,
    now: SystemTime,
) -> Result<MemberRow, OwnerError> {
    let member = store
        .member(list, email)?
        .ok_or_else(|| StoreError::NoSuchMember {
            list: list.address.clone(),
            email: email.into(),
        })?;
    let bouncing = store
        .bouncing(list)?
        .remove(&member.email.to_ascii_lowercase());
    let protocols = member_keys::key_protocols(store, list)?;
    row_with(store, list, &protocols, member, bouncing, now)
}

/// The list's members, ordered by address.
pub fn view(store: &Store, list: &List, now: SystemTime) -> Result<MembersView, OwnerError> {
    let mut bouncing = store.bouncing(list)?;
    let protocols = member_keys::key_protocols(store, list)?;
    let members = store
        .members(list)?
        .into_iter()
        .map(|m| {
            let refused = bouncing.remove(&m.email.to_ascii_lowercase());
            row_with(store, list, &protocols, m, refused, now)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MembersView {
        address: list.address.clone(),
        name: list.name.clone(),
        protocol: list.protocol,
        protocols,
        members,
    })
}

/// Gives a member a key, or replaces theirs of the same protocol when
/// `replace` (logged with both fingerprints). The key is checked first.
pub fn set_key(
    store: &Store,
    list: &List,
    email: &str,
    key: KeyFile<'_>,
    replace: bool,
    now: SystemTime,
) -> Result<(Protocol, StoredKey), OwnerError> {
    let (protocol, stored) = member_keys::check(store, list, key.bytes, email, key.pin, now)?;
    store.set_member_key(list, email, protocol, &stored, replace)?;
    keep_signature_checks(store);
    Ok((protocol, stored))
}

/// Removes a member and their keys.
pub fn remove(store: &Store, list: &List, email: &str) -> Result<(), OwnerError> {
    Ok(store.remove_member(list, email)?)
}

/// Changes one member setting: name, role, own-posts, smime-cipher.
pub fn set(
    store: &Store,
    list: &List,
    email: &str,
    key: &str,
    value: &str,
) -> Result<Member, OwnerError> {
    Ok(store.set_member(list, email, key, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::openpgp::{KeyAlgo, ListKey};
    use std::time::Duration;

    #[test]
    fn the_signatures_checked_when_a_key_is_added_are_kept_for_the_next_run() {
        let (_dir, store) = crate::store::test_support::store();
        let list = store
            .create_list("list@example.org", "L", Protocol::Openpgp)
            .unwrap();
        assert!(store.signature_checks().unwrap().is_empty());
        let made = SystemTime::now() - Duration::from_secs(60);
        let key = ListKey::generate("Ann", "ann@example.org", KeyAlgo::Ed25519, made)
            .unwrap()
            .public_armored();
        let key = KeyFile {
            bytes: key.as_bytes(),
            pin: false,
        };
        let now = SystemTime::now();
        add(
            &store,
            &list,
            "ann@example.org",
            "Ann",
            Role::Member,
            Some(key),
            now,
        )
        .unwrap();
        assert!(
            !store.signature_checks().unwrap().is_empty(),
            "the next run would verify Ann's key again"
        );
    }
}
