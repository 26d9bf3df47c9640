//! The database is encrypted at rest (SQLCipher): whoever holds the disk
//! reads no member's address, no subject, no key. Its key is 32 random
//! bytes in the OS keychain, found through a random id kept beside the
//! database (the folder may move; the keychain item stays).
//!
//! A plain database from an earlier Conclave is encrypted in place on the
//! first start, in steps that each leave a database that opens: an
//! encrypted copy is written and made durable beside it, the plain one is
//! renamed aside, the copy takes its name, and only then is the plain one
//! overwritten and removed. A start after a crash finishes or undoes the
//! step it finds.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{Result, StoreError};
use crate::secrets::{self, Sensitive};

/// The database file in a data folder.
pub(super) const DATABASE: &str = "conclave.sqlite3";
/// Which keychain item opens the database (not a secret).
const KEY_ID: &str = "database-key-id";
/// The encrypted copy while it is written.
const ENCRYPTING: &str = "conclave.sqlite3.encrypting";
/// The plain database once its encrypted copy has taken its place, until
/// it is overwritten.
const PLAIN_ASIDE: &str = "conclave.sqlite3.plain";
/// Held while a database is encrypted, so two processes starting at once
/// do not both do it.
const LOCK: &str = "conclave.sqlite3.lock";

const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Opens the database of `dir` with its key, encrypting a plain one first
/// and finishing an encryption a crash interrupted.
pub(super) fn open(dir: &Path) -> Result<Connection> {
    let path = dir.join(DATABASE);
    if has_data(&path) && !is_plain(&path) && !dir.join(PLAIN_ASIDE).exists() {
        // The common case: no lock, no extra file system work.
        return open_encrypted(dir, &path);
    }
    // Making the key of a new database, or encrypting a plain one, is done
    // by one process at a time: two first starts at once (the window and
    // the tray's agent) must not each make a key for the same file.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))
        .map_err(|e| io_err(dir, e))?;
    lock.lock().map_err(|e| io_err(dir, e))?;
    recover(dir)?;
    if is_plain(&path) {
        encrypt_in_place(dir, &path)?;
    }
    let conn = open_encrypted(dir, &path)?;
    // The log is turned on while the lock is held, so no other start finds
    // the new file in the old mode: two connections switching it at once
    // can fail at once with "database is locked", whatever they would wait.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|error| StoreError::Open {
            path: path.clone(),
            error,
        })?;
    drop(lock);
    Ok(conn)
}

/// Whether `path` is a plain SQLite database (SQLCipher's files start
/// with random bytes).
fn is_plain(path: &Path) -> bool {
    let mut head = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|()| &head == PLAIN_HEADER)
        .unwrap_or(false)
}

fn has_data(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
}

fn open_encrypted(dir: &Path, path: &Path) -> Result<Connection> {
    let key = database_key(dir, !has_data(path))?;
    let conn = Connection::open(path).map_err(|error| StoreError::Open {
        path: path.to_path_buf(),
        error,
    })?;
    use_key(&conn, path, &key)?;
    // The key is checked only when a page is read.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
        Ok(()) => Ok(conn),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(StoreError::WrongKey(path.to_path_buf()))
        }
        Err(error) => Err(StoreError::Open {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// A raw key (no passphrase derivation: it is random already), as
/// SQLCipher takes it.
fn use_key(conn: &Connection, path: &Path, key: &Sensitive<String>) -> Result<()> {
    // Hex only (checked: a keychain item could have been changed), so it
    // is safe inside the literal.
    if !key.expose().bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::WrongKey(path.to_path_buf()));
    }
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))?;
    Ok(())
}

/// The key of `dir`'s database; made (and kept in the keychain) when
/// `may_make` and there is none yet.
fn database_key(dir: &Path, may_make: bool) -> Result<Sensitive<String>> {
    let id_path = dir.join(KEY_ID);
    let id = match std::fs::read_to_string(&id_path) {
        Ok(id) => Some(id.trim().to_string()).filter(|id| !id.is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(dir, e)),
    };
    if let Some(id) = &id
        && let Some(key) = secrets::database_key(id)?
    {
        return Ok(key);
    }
    if !may_make {
        return Err(StoreError::KeyMissing(dir.join(DATABASE)));
    }
    // The key goes into the keychain before its id is written: a crash in
    // between leaves an unused keychain item, never a database whose key
    // is nowhere.
    let id = id.unwrap_or_else(|| hex(&random::<16>()));
    let key = Sensitive::new(hex(&random::<32>()));
    secrets::keep_database_key(&id, &key)?;
    write_durably(&id_path, id.as_bytes()).map_err(|e| io_err(dir, e))?;
    Ok(key)
}

/// Finishes or undoes an encryption a crash interrupted.
fn recover(dir: &Path) -> Result<()> {
    let path = dir.join(DATABASE);
    let aside = dir.join(PLAIN_ASIDE);
    if aside.exists() {
        if has_data(&path) {
            // The encrypted copy had taken its place: only the overwrite
            // of the plain one was left.
            wipe(&aside).map_err(|e| io_err(dir, e))?;
        } else {
            // Stopped between the two renames: the plain one comes back
            // and is encrypted again.
            std::fs::rename(&aside, &path).map_err(|e| io_err(dir, e))?;
            sync_dir(dir).map_err(|e| io_err(dir, e))?;
        }
    }
    for half_done in [ENCRYPTING.to_string(), format!("{ENCRYPTING}-journal")] {
        match std::fs::remove_file(dir.join(half_done)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(dir, e)),
        }
    }
    Ok(())
}

fn encrypt_in_place(dir: &Path, path: &Path) -> Result<()> {
    let key = database_key(dir, true)?;
    let copy = dir.join(ENCRYPTING);
    {
        let plain = Connection::open(path).map_err(|error| StoreError::Open {
            path: path.to_path_buf(),
            error,
        })?;
        // No other process writes to it from here on (one that still has
        // it open waits, then fails and starts again on the new file)...
        plain.busy_timeout(std::time::Duration::from_secs(10))?;
        plain.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        // ...and everything in its log goes into the file first, so the
        // copy misses nothing and no plain log is left behind.
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = plain.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        plain.execute(
            "ATTACH DATABASE ?1 AS sealed KEY ?2",
            [
                copy.to_string_lossy().into_owned(),
                format!("x'{}'", key.expose()),
            ],
        )?;
        plain.query_row("SELECT sqlcipher_export('sealed')", [], |_| Ok(()))?;
        plain.pragma_update(Some("sealed"), "user_version", version)?;
        plain.execute_batch("DETACH DATABASE sealed")?;
        plain.close().map_err(|(_, e)| StoreError::from(e))?;
    }
    File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(dir, e))?;
    let aside = dir.join(PLAIN_ASIDE);
    std::fs::rename(path, &aside).map_err(|e| io_err(dir, e))?;
    std::fs::rename(&copy, path).map_err(|e| io_err(dir, e))?;
    sync_dir(dir).map_err(|e| io_err(dir, e))?;
    wipe(&aside).map_err(|e| io_err(dir, e))?;
    for leftover in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{PLAIN_ASIDE}{leftover}")));
    }
    Ok(())
}

/// Overwrites a file with zeros, durably, and removes it. On a disk that
/// remaps writes (an SSD, a copy-on-write file system) old blocks may
/// survive this; README says so.
fn wipe(path: &Path) -> std::io::Result<()> {
    let len = std::fs::metadata(path)?.len();
    let mut f = OpenOptions::new().write(true).open(path)?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("new");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_err(dir: &Path, error: std::io::Error) -> StoreError {
    StoreError::Encrypting {
        path: PathBuf::from(dir),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, Role};
    use crate::store::Store;

    const LIST: &str = "whistle@example.org";
    const MEMBER: &str = "source-in-ministry@example.org";

    fn fill(store: &Store) {
        let list = store.create_list(LIST, "Whistle", Protocol::Plain).unwrap();
        store
            .add_member(&list, MEMBER, "Hidden Name", Role::Member)
            .unwrap();
    }

    fn check_filled(store: &Store) {
        let list = store.list(LIST).unwrap();
        let members = store.members(&list).unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].email, MEMBER);
    }

    /// Every byte of every file in the folder, as one haystack per file.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    }

    fn assert_nothing_readable(dir: &Path) {
        for (name, bytes) in files(dir) {
            for needle in [LIST, MEMBER, "Hidden Name", "SQLite format 3"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{name} shows {needle:?}"
                );
            }
        }
    }

    /// A database as Conclave kept it before it was encrypted.
    fn plain_store(dir: &Path) {
        let path = dir.join(DATABASE);
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        super::super::migrations::run(&mut conn, &path).unwrap();
        conn.execute(
            "INSERT INTO lists (id, address, name, created_at) VALUES (1, ?1, 'Whistle', 0)",
            [LIST],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO members (list_id, email, name, role, added_at) VALUES (1, ?1, 'Hidden Name', 'member', 0)",
            [MEMBER],
        )
        .unwrap();
        assert!(is_plain(&path));
    }

    #[test]
    fn a_new_database_shows_nothing_to_whoever_reads_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store);
        // Read while open too: the write-ahead log holds the newest pages.
        assert_nothing_readable(dir.path());
        drop(store);
        assert_nothing_readable(dir.path());
        check_filled(&Store::open(dir.path()).unwrap());
    }

    #[test]
    fn a_plain_database_is_encrypted_in_place_and_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        plain_store(dir.path());
        let store = Store::open(dir.path()).unwrap();
        check_filled(&store);
        assert_nothing_readable(dir.path());
        let names: Vec<String> = files(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with(PLAIN_ASIDE) || n.ends_with(ENCRYPTING)),
            "{names:?}"
        );
        // The schema version came along: nothing is migrated twice.
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, super::super::migrations::STEPS.len() as i64);
    }

    #[test]
    fn a_crash_while_the_copy_was_written_leaves_the_plain_database_to_encrypt_again() {
        let dir = tempfile::tempdir().unwrap();
        plain_store(dir.path());
        std::fs::write(dir.path().join(ENCRYPTING), b"half a copy").unwrap();
        std::fs::write(dir.path().join(format!("{ENCRYPTING}-journal")), b"its log").unwrap();
        check_filled(&Store::open(dir.path()).unwrap());
        assert!(!dir.path().join(ENCRYPTING).exists());
        assert!(!dir.path().join(format!("{ENCRYPTING}-journal")).exists());
        assert_nothing_readable(dir.path());
    }

    #[test]
    fn a_crash_between_the_renames_brings_the_plain_database_back_and_encrypts_it() {
        let dir = tempfile::tempdir().unwrap();
        plain_store(dir.path());
        // The durable copy was made, the plain one renamed aside, and the
        // copy had not taken its name yet.
        std::fs::rename(dir.path().join(DATABASE), dir.path().join(PLAIN_ASIDE)).unwrap();
        std::fs::write(dir.path().join(ENCRYPTING), b"a copy").unwrap();
        check_filled(&Store::open(dir.path()).unwrap());
        assert_nothing_readable(dir.path());
    }

    #[test]
    fn a_crash_before_the_plain_database_was_overwritten_finishes_the_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        plain_store(dir.path());
        let plain = std::fs::read(dir.path().join(DATABASE)).unwrap();
        drop(Store::open(dir.path()).unwrap());
        std::fs::write(dir.path().join(PLAIN_ASIDE), plain).unwrap();
        check_filled(&Store::open(dir.path()).unwrap());
        assert!(!dir.path().join(PLAIN_ASIDE).exists());
        assert_nothing_readable(dir.path());
    }

    #[test]
    fn a_database_whose_key_is_gone_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        fill(&Store::open(dir.path()).unwrap());
        let before = std::fs::read(dir.path().join(DATABASE)).unwrap();
        // Another keychain: the id names an item this one does not have.
        std::fs::write(dir.path().join(KEY_ID), "0123abcd").unwrap();
        let e = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(e, StoreError::KeyMissing(_)), "{e}");
        assert!(e.to_string().contains("not in this keychain"), "{e}");
        assert_eq!(std::fs::read(dir.path().join(DATABASE)).unwrap(), before);
    }

    #[test]
    fn first_starts_at_once_share_one_key() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let opened: Vec<Result<Store, String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6)
                    .map(|_| scope.spawn(|| Store::open(dir.path()).map_err(|e| e.to_string())))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let failed: Vec<&String> = opened.iter().filter_map(|o| o.as_ref().err()).collect();
            assert!(failed.is_empty(), "{failed:?}");
            drop(opened);
            fill(&Store::open(dir.path()).unwrap());
            check_filled(&Store::open(dir.path()).unwrap());
        }
    }

    #[test]
    fn a_new_database_has_its_log_on_before_another_start_can_open_it() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        let second = open(dir.path()).unwrap();
        let mode: String = second
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_wrong_key_is_told_as_such() {
        let dir = tempfile::tempdir().unwrap();
        fill(&Store::open(dir.path()).unwrap());
        let other = tempfile::tempdir().unwrap();
        drop(Store::open(other.path()).unwrap());
        std::fs::copy(other.path().join(KEY_ID), dir.path().join(KEY_ID)).unwrap();
        let e = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(e, StoreError::WrongKey(_)), "{e}");
    }
}
