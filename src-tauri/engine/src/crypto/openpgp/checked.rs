//! Sequoia remembers each signature it found good, in a cache of the
//! process, keyed by a digest of the signature, the data it signs and the
//! key; this carries that cache from one run to the next through the
//! store. Without it, a run verifies each member's self-signatures before
//! the list can encrypt to them: about half a millisecond a member, before
//! the first copy goes out.
//!
//! An entry only ever says "this exact signature over this exact data by
//! this exact key was good", so a key that changed, expired or was revoked
//! is judged afresh: expiry and revocation are read from the (verified)
//! signatures, not from the cache.

use std::sync::atomic::{AtomicBool, Ordering};

use sequoia_openpgp::packet::signature::cache::SignatureVerificationCache;

static RESTORED: AtomicBool = AtomicBool::new(false);

/// Whether this process has yet to be given the kept checks.
pub fn needs_restore() -> bool {
    !RESTORED.load(Ordering::SeqCst)
}

/// Gives sequoia the checks kept by earlier runs (once per process) and
/// waits until it has taken them in.
pub fn restore(entries: Vec<Vec<u8>>) {
    if RESTORED.swap(true, Ordering::SeqCst) || entries.is_empty() {
        return;
    }
    let (done, taken) = std::sync::mpsc::channel();
    SignatureVerificationCache::restore(entries.into_iter(), move || {
        let _ = done.send(());
    });
    // Sequoia reads them on a thread of its own; until it is done, lookups
    // only miss.
    let _ = taken.recv();
}

/// The checks to keep: every one this process made or used. The store
/// writes only those it lacks or last saw on an earlier day.
pub fn made_or_used() -> Vec<Vec<u8>> {
    SignatureVerificationCache::dump()
        .into_iter()
        .filter(|e| e.inserted() || e.accessed())
        .map(|e| e.value().to_vec())
        .collect()
}
