//! Pure policy: what a message is ([`Post`]), what to do with it
//! ([`decide`], and [`judge`] for the crypto settings), who gets which copy
//! ([`plan_delivery`]) and which mails are commands to the list
//! ([`commands`]). Nothing here reads a clock, a file, the network or the
//! keychain, so every rule is a fast unit test. Building the mail itself is
//! `crate::post::deliver`.

pub mod commands;
mod crypto;
mod decide;
mod post;

pub use commands::ListCommand;
pub use crypto::{
    CryptoVerdict, DeliveryPlan, Encryption, Evidence, Signature, Wrap, judge, plan_delivery,
};
pub use decide::{
    Decision, DiscardReason, HoldReason, RejectReason, decide, decide_protected,
    hold_reused_message_id, recipients,
};
pub use post::{MAX_PARTS, Mailbox, Post, Unreadable};
