//! What happened on a list, newest first: the log the window pages through
//! and `conclave-cli log` prints.

use crate::store::{Activity, ActivityPage, ActivityQuery, Store};

use super::OwnerError;

/// The newest `limit` entries of one list.
pub fn recent(store: &Store, address: &str, limit: u32) -> Result<Vec<Activity>, OwnerError> {
    let list = store.list(address)?;
    Ok(store.activity(&list, limit)?)
}

/// A page of the log, filtered by the store (list, kinds, words).
pub fn page(store: &Store, query: &ActivityQuery) -> Result<ActivityPage, OwnerError> {
    Ok(store.activity_page(query)?)
}
