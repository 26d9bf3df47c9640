//! The local state: one SQLite file in the data folder, encrypted at rest
//! with a key from the keychain, opened in WAL mode, its schema built by
//! numbered migrations. Never holds a password or a secret key.

mod activity;
mod announcements;
mod at_rest;
mod bundle;
mod claims;
mod held;
mod invitations;
mod key_inbox;
mod keys;
mod ledger;
mod lists;
mod members;
mod migrations;
mod outbox;
mod reminders;
pub mod signature_checks;
mod sync;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use activity::{
    Activity, ActivityEntry, ActivityGroup, ActivityKind, ActivityPage, ActivityQuery,
    MAX_ACTIVITY_PAGE,
};
pub use announcements::Announcement;
pub use bundle::{AccountRecord, AnchorRecord, KeyRecord, ListRecord, MemberRecord};
pub use held::{HeldPost, Resolution};
pub use invitations::{Invitation, JoinRequest, token_digest};
pub use key_inbox::{OfferedKey, PendingKey};
pub use keys::{StoredKey, TrustAnchor};
pub use ledger::{
    KeyChange, MembershipChange, NewPost, OnServer, Outcome, PostRecord, PostState, Settlement,
    Sighting, sha256_hex,
};
pub use lists::ListSummary;
pub use outbox::{Delivery, DeliveryChange, DeliveryKind, DeliveryState};
pub use sync::{Merged, SharedState};

/// What went wrong with the local store, said so the user knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open Conclave's data in {path}: {error}. Check that the folder exists and is writable, or choose another with --data-dir"
    )]
    Open {
        path: PathBuf,
        // Not a `source`: the message says it already, and the CLI prints
        // each source after the message.
        error: rusqlite::Error,
    },
    #[error(
        "the key that opens Conclave's data in {0} is not in this keychain: unlock the keychain that was used with it, or move the folder aside and restore the lists from a bundle"
    )]
    KeyMissing(PathBuf),
    #[error(
        "the key in the keychain does not open Conclave's data in {0}: the keychain item was changed or belongs to another data folder; restore it, or move the folder aside and restore the lists from a bundle"
    )]
    WrongKey(PathBuf),
    #[error(
        "cannot keep Conclave's data encrypted in {path}: {error}. Check that the folder is writable and the disk not full, then start again (nothing was lost)"
    )]
    Encrypting {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the key that opens Conclave's data: {0}")]
    Keychain(crate::secrets::SecretError),
    #[error("cannot create the data folder {path}: {error}")]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the data in {path} was written by a newer Conclave (schema {found}, this one knows {known}): update Conclave"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "there is no list {0}: see `conclave-cli list show` or create it with `conclave-cli list create`"
    )]
    NoSuchList(String),
    #[error("a list {0} exists already")]
    ListExists(String),
    #[error("{email} is not a member of {list}")]
    NoSuchMember { list: String, email: String },
    #[error("{email} is a member of {list} already")]
    MemberExists { list: String, email: String },
    #[error("the list {0} has no mail account yet: set one with `conclave-cli list account`")]
    NoAccount(String),
    #[error("there is no held post {id} on {list}: see `conclave-cli held list {list}`")]
    NoSuchHeldPost { list: String, id: i64 },
    #[error("held post {id} was {how} already")]
    HeldPostResolved { id: i64, how: String },
    #[error(
        "held post {id} is an automated message (bounce or auto-reply) and is never sent to members: discard it"
    )]
    NotApprovable { id: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("nothing was saved: {}", .0.iter().map(|p| format!("{}: {}", p.key, p.message)).collect::<Vec<_>>().join("; "))]
    BadSettings(Vec<crate::model::SettingProblem>),
    #[error(
        "{list} has a list key already ({fingerprint}): replacing it cuts off members who use the old one; add --replace if that is what you want"
    )]
    ListKeyExists { list: String, fingerprint: String },
    #[error(
        "{email} has a key already ({fingerprint}); replacing a member's key is an explicit step: `conclave-cli member key {list} {email} FILE --replace`"
    )]
    MemberKeyExists {
        list: String,
        email: String,
        fingerprint: String,
    },
    #[error(
        "the disk that holds Conclave's data is full: free some space, then try again (nothing was lost: the change was not made)"
    )]
    DiskFull,
    #[error(
        "the local database failed: {0}. If this repeats, copy the data folder aside and report it"
    )]
    Sql(rusqlite::Error),
}

impl From<crate::model::BadValue> for StoreError {
    fn from(e: crate::model::BadValue) -> Self {
        StoreError::Invalid(e.0)
    }
}

impl From<crate::secrets::SecretError> for StoreError {
    fn from(e: crate::secrets::SecretError) -> Self {
        StoreError::Keychain(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sql(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The open store. One connection; not shared between threads.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
}

impl Store {
    /// Opens (creating when missing) the store in `dir` and brings its schema
    /// up to date.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
            path: dir.to_path_buf(),
            error,
        })?;
        Store::prepare(at_rest::open(dir)?, dir)
    }

    /// A store whose file is not encrypted, for tests that read what the
    /// file keeps.
    #[cfg(test)]
    pub(crate) fn open_unencrypted(dir: &Path) -> Result<Store> {
        let conn = Connection::open(dir.join(at_rest::DATABASE))?;
        Store::prepare(conn, dir)
    }

    fn prepare(mut conn: Connection, dir: &Path) -> Result<Store> {
        let path = dir.join(at_rest::DATABASE);
        let open_err = |error| StoreError::Open {
            path: path.clone(),
            error,
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        // FULL: a delivery marked "sending" must be on disk before the SMTP
        // DATA goes out, or a power cut could send a post twice.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrations::run(&mut conn, &path)?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    /// The data folder this store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal mode actually in force (tests check it is WAL).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?)
    }
}

/// Seconds since the epoch: how the store keeps time.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stored time as the user sees it: RFC 3339, UTC.
fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A store in a fresh temporary folder, kept alive with it.
    pub fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_in_wal_mode_and_reopens() {
        let (dir, store) = test_support::store();
        assert_eq!(store.journal_mode().unwrap(), "wal");
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.journal_mode().unwrap(), "wal");
    }
}
