//! One resident agent per data folder. The agent loop of the window app and
//! that of the light tray process (`conclave-tray`) each run only while
//! their process holds `resident.lock` in the data folder, so at most one
//! watches the mailboxes at any time, and a hand-over between them cannot
//! have two loops race for the same posts (each run also takes the run
//! lock, `agent.lock`, which the CLI honours too).
//!
//! The holder writes who it is into the file (`tray 1234`): a window app
//! starting on the folder while a tray holds it asks the tray to open the
//! window (SIGUSR1) and ends; the tray stops its agent loop and then
//! becomes the window app in the same process (exec), which takes the lock
//! again. The lock is the kernel's (flock, closed on exec): a holder that
//! dies or execs lets go of it by itself.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The file in the data folder.
pub const LOCK_FILE: &str = "resident.lock";

/// Which face of Conclave runs the resident agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// The desktop app with its window.
    Window,
    /// The light tray process, with no window and no web view.
    Tray,
}

impl Holder {
    fn word(self) -> &'static str {
        match self {
            Holder::Window => "window",
            Holder::Tray => "tray",
        }
    }

    fn from_word(word: &str) -> Option<Holder> {
        match word {
            "window" => Some(Holder::Window),
            "tray" => Some(Holder::Tray),
            _ => None,
        }
    }
}

/// Who holds the lock, as written in it: `tray 1234`.
pub fn parse_holder(text: &str) -> Option<(Holder, u32)> {
    let mut words = text.split_whitespace();
    let holder = Holder::from_word(words.next()?)?;
    let pid = words.next()?.parse().ok()?;
    words.next().is_none().then_some((holder, pid))
}

/// Held while this process runs the resident agent; dropping it lets the
/// next one start.
#[derive(Debug)]
pub struct Resident {
    file: File,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot use the lock file {path} ({source}): check that the data folder can be written to")]
pub struct ResidentError {
    path: PathBuf,
    source: std::io::Error,
}

fn open(data_dir: &Path) -> Result<(File, PathBuf), ResidentError> {
    let path = data_dir.join(LOCK_FILE);
    let failed = |source| ResidentError {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(failed)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    Ok((file, path))
}

fn mark(mut file: File, path: PathBuf, holder: Holder) -> Result<Resident, ResidentError> {
    let said = format!("{} {}\n", holder.word(), std::process::id());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(said.as_bytes()))
        .map_err(|source| ResidentError { path, source })?;
    Ok(Resident { file })
}

/// The lock if nobody holds it, else `None` (another agent runs).
pub fn try_hold(data_dir: &Path, holder: Holder) -> Result<Option<Resident>, ResidentError> {
    let (file, path) = open(data_dir)?;
    match file.try_lock() {
        Ok(()) => mark(file, path, holder).map(Some),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(ResidentError { path, source }),
    }
}

/// The lock, once whoever holds it lets go. Blocks: call it off the async
/// threads.
pub fn hold(data_dir: &Path, holder: Holder) -> Result<Resident, ResidentError> {
    let (file, path) = open(data_dir)?;
    file.lock().map_err(|source| ResidentError {
        path: path.clone(),
        source,
    })?;
    mark(file, path, holder)
}

/// Who holds the lock now, if anybody does.
pub fn holder(data_dir: &Path) -> Option<(Holder, u32)> {
    let (mut file, _) = open(data_dir).ok()?;
    if file.try_lock_shared().is_ok() {
        // Nobody holds it: what is written is an old holder's.
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    parse_holder(&text)
}

/// Asks the light tray process running on `data_dir`, if there is one, to
/// open the window: it stops its agent and becomes the window app (same
/// process), which then takes the lock. Answers whether there was one.
pub fn ask_tray_to_open(data_dir: &Path) -> bool {
    // A tray that has just taken the lock may not have written its name
    // yet.
    for _ in 0..20 {
        match holder(data_dir) {
            Some((Holder::Tray, pid)) => return signal(pid, OPEN_SIGNAL),
            Some((Holder::Window, _)) => return false,
            None if !held(data_dir) => return false,
            None => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    false
}

/// The signal that asks the light tray to open the window.
#[cfg(unix)]
pub const OPEN_SIGNAL: i32 = libc::SIGUSR1;
#[cfg(not(unix))]
pub const OPEN_SIGNAL: i32 = 10;

fn held(data_dir: &Path) -> bool {
    open(data_dir)
        .map(|(file, _)| file.try_lock_shared().is_err())
        .unwrap_or(false)
}

#[cfg(unix)]
fn signal(pid: u32, signal: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill has no memory effects; a pid that is gone gives ESRCH.
    unsafe { libc::kill(pid, signal) == 0 }
}

#[cfg(not(unix))]
fn signal(_pid: u32, _signal: i32) -> bool {
    false
}

impl Resident {
    /// Lets the next agent start.
    pub fn release(self) {
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_process_holds_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_hold(dir.path(), Holder::Tray).unwrap().expect("free");
        assert!(try_hold(dir.path(), Holder::Window).unwrap().is_none());
        assert_eq!(holder(dir.path()), Some((Holder::Tray, std::process::id())));
        first.release();
        assert_eq!(holder(dir.path()), None, "a released lock has no holder");
        let window = try_hold(dir.path(), Holder::Window)
            .unwrap()
            .expect("free again");
        assert_eq!(
            holder(dir.path()),
            Some((Holder::Window, std::process::id()))
        );
        assert!(
            !ask_tray_to_open(dir.path()),
            "a window holder is never signalled"
        );
        drop(window);
    }

    #[test]
    fn hold_waits_for_the_holder_to_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_hold(dir.path(), Holder::Tray).unwrap().unwrap();
        let path = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let r = hold(&path, Holder::Window).unwrap();
            tx.send(()).unwrap();
            r
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "taken while held"
        );
        first.release();
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("taken once let go");
        drop(waiter.join().unwrap());
    }

    #[test]
    fn a_free_folder_has_no_tray_to_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!ask_tray_to_open(dir.path()));
    }

    #[test]
    fn the_holder_line_is_read_strictly() {
        assert_eq!(parse_holder("tray 12\n"), Some((Holder::Tray, 12)));
        assert_eq!(parse_holder("window 7"), Some((Holder::Window, 7)));
        assert_eq!(parse_holder(""), None);
        assert_eq!(parse_holder("tray"), None);
        assert_eq!(parse_holder("tray x"), None);
        assert_eq!(parse_holder("cli 3"), None);
        assert_eq!(parse_holder("tray 3 4"), None);
    }
}
