//! What a list owner does, as one API: the window's commands and the CLI
//! both call these and only parse, call and show, so the two faces cannot
//! come to behave differently. Each operation checks what it is given
//! first and writes in one transaction: a refusal leaves nothing half done.

pub mod activity;
pub mod backup;
pub mod bundle;
mod error;
pub mod held;
mod held_view;
pub mod invite;
pub mod key_inbox;
pub mod keys;
pub mod lists;
pub mod members;
pub mod policy;
pub mod post_view;
pub mod presets;
pub mod trust;

pub use held_view::{HeldView, RejectNotice, held_view};

pub use error::{ErrorCode, OwnerError};
