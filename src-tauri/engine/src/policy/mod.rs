//! Pure policy: what a message is ([`Post`]), what to do with it
//! ([`decide`]), and what each member receives ([`render`]). Nothing here
//! reads a clock, a file, the network or the keychain, so every rule is a
//! fast unit test.

mod decide;
mod post;
pub mod render;

pub use decide::{Decision, DiscardReason, HoldReason, RejectReason, decide, recipients};
pub use post::{Mailbox, Post, Unreadable};
