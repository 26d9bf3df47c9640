//! Pure policy: what a message is ([`Post`]), what to do with it
//! ([`decide`], and [`judge`] for the crypto settings), what each member
//! receives ([`plan_delivery`], [`render`]) and what the list answers
//! itself ([`notices`], [`commands`]). Nothing here reads a clock, a file,
//! the network or the keychain, so every rule is a fast unit test.

pub mod commands;
mod crypto;
mod decide;
pub mod notices;
mod post;
pub mod presets;
pub mod render;
pub mod view;

pub use commands::ListCommand;
pub use crypto::{
    CryptoVerdict, DeliveryPlan, Encryption, Evidence, Signature, Wrap, judge, plan_delivery,
};
pub use decide::{
    Decision, DiscardReason, HoldReason, RejectReason, decide, decide_protected,
    hold_reused_message_id, recipients,
};
pub use post::{Mailbox, Post, Unreadable};
