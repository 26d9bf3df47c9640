//! The engine of Conclave: everything that is not GUI.
//!
//! Layers, from the middle out:
//! - [`policy`]: pure rules. A parsed [`policy::Post`], the list's settings and
//!   its members go in; a [`policy::Decision`] with its reason comes out. No
//!   I/O.
//! - [`store`] (SQLite) and [`secrets`] (the OS keychain) beside it.
//! - [`transport`] at the edge: IMAP in, SMTP out; no policy.
//! - [`list_key`] and [`member_keys`]: the list's keys and its members'
//!   keys as an owner looks after them (the CLI and the window alike).
//! - [`setup`] makes a list whole (account, keychain, key) or not at all.
//! - [`bundle`] seals a whole list into one file (a hand-over bundle);
//!   [`backup`] keeps such a file in the list's own mailbox and restores
//!   a list from it.
//! - [`owner`]: what an owner does, the one API the window and the CLI
//!   call.
//! - [`post`]: the way a post travels, one file per step it meets (receive,
//!   read, decide, deliver, send, file).
//! - [`agent`] runs those steps for each list, exactly once per post, and
//!   watches the mailboxes between runs.
//! - [`fake_mail`] plays a list's mail servers in memory, for the agent's
//!   tests and for [`demo`], a list that runs on them with members who
//!   post, so the app can be tried without an account.
//! - [`desktop`]: what the app's window and the light tray process show of
//!   the agent (tray look, notifications), and the one resident agent per
//!   data folder.

pub mod agent;
pub mod backup;
pub mod bundle;
pub mod crypto;
pub mod demo;
pub mod desktop;
pub mod fake_mail;
pub mod files;
pub mod list_key;
pub mod member_keys;
pub mod mime;
pub mod model;
pub mod owner;
pub mod paths;
pub mod policy;
pub mod post;
pub mod secrets;
pub mod setup;
pub mod store;
pub mod sync;
#[cfg(test)]
pub(crate) mod testing;
pub mod transport;

/// Stops the OpenPGP library's errors from capturing a backtrace each when
/// `RUST_BACKTRACE` is set (as in a developer's shell): sequoia makes
/// errors on its good paths too (reading each stored member key makes
/// some), and nobody reads their backtraces, while taking them cost a run
/// of 50 members a few milliseconds before its first copy. Panics still
/// print theirs; an explicit `RUST_LIB_BACKTRACE` is left as set.
///
/// # Safety
///
/// Sets an environment variable: call it first thing in `main`, before any
/// other thread starts.
pub unsafe fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the caller promises no other thread runs yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}
