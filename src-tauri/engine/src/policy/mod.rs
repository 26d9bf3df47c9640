//! Pure policy: what a message is ([`Post`]), what to do with it
//! ([`decide`], and [`judge`] for the crypto settings), and what each
//! member receives ([`plan_delivery`], [`render`]). Nothing here
//! reads a clock, a file, the network or the keychain, so every rule is a
//! fast unit test.

mod crypto;
mod decide;
mod post;
pub mod presets;
pub mod render;
pub mod view;

pub use crypto::{CryptoVerdict, DeliveryPlan, Encryption, Evidence, Signature, Wrap, judge, plan_delivery};
pub use decide::{Decision, DiscardReason, HoldReason, RejectReason, decide, decide_protected, recipients};
pub use post::{Mailbox, Post, Unreadable};
