//! The key inbox, as an owner decides it: keys that came by mail without
//! an invitation wait here for Accept (the key becomes the member's) or
//! Reject; nothing is taken silently except a member's own rotation.

use super::OwnerError;
use crate::store::{PendingKey, Store};

pub fn pending(store: &Store, address: &str) -> Result<Vec<PendingKey>, OwnerError> {
    let list = store.list(address)?;
    Ok(store.pending_keys(&list)?)
}

pub fn accept(store: &Store, address: &str, id: i64) -> Result<PendingKey, OwnerError> {
    let list = store.list(address)?;
    Ok(store.decide_pending_key(&list, id, true)?)
}

pub fn reject(store: &Store, address: &str, id: i64) -> Result<PendingKey, OwnerError> {
    let list = store.list(address)?;
    Ok(store.decide_pending_key(&list, id, false)?)
}
