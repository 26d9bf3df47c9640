//! The way a post travels, one file per step it meets, in order:
//!
//! 0. [`claim`]: where the server can, a new message is first moved out of
//!    INBOX into the Claimed folder, so that of two laptops running the
//!    list exactly one takes it; a laptop that stopped loses its claims.
//! 1. [`receive`]: a new message in the list's INBOX is fetched and recorded
//!    in the ledger before anything is done with it.
//! 2. [`read`]: it is read once: what it says, and for a list with a key,
//!    its encryption and signatures checked against the members' keys.
//! 3. [`decide`]: the list's rules decide (pure, in `policy`), and the
//!    decision is settled in one transaction with the deliveries it makes.
//! 4. [`deliver`]: each member's copy is built: sent as the list, signed
//!    once, encrypted to that member.
//! 5. [`send`]: the outbox is drained over SMTP, each delivery's state
//!    committed before and after its send.
//! 6. [`file`]: once every delivery is final, the message is filed away on
//!    the server.
//!
//! [`keys`] holds what a run of a list with keys needs for steps 2 and 4.
//! The agent (`crate::agent`) runs these steps for each list, exactly once
//! per post.

pub mod claim;
pub mod decide;
pub mod deliver;
pub mod file;
pub mod keys;
pub mod read;
pub mod receive;
pub mod send;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::Store;

/// The store of a run, shared by its steps and its lanes; each use locks it
/// for one synchronous step, never across an await.
pub(crate) type SharedStore = Arc<Mutex<Store>>;

pub(crate) fn db(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs blocking work (SQLite, whose commits wait for the disk, and
/// crypto) on tokio's blocking pool, so that the async threads go on
/// driving the other connections meanwhile. A panic in it is the run's
/// panic, as if it had happened in place.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("blocking work was cancelled: {e}"),
        },
    }
}

/// One step with the store, on the blocking pool.
pub(crate) async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    step: impl FnOnce(&Store) -> T + Send + 'static,
) -> T {
    let store = store.clone();
    blocking(move || step(&db(&store))).await
}
