//! `conclave --demo`: the app on a demo list (`conclave_engine::demo`)
//! instead of the owner's lists, to try Conclave without a mail account.
//! The real agent loop runs on the demo's mail servers in memory, the
//! members post every few seconds, and the window, the tray and the
//! notifications say that it is a demo.
//!
//! The demo is a process of its own, never a mode the owner's app switches
//! into: it keeps every secret in memory for as long as the process lives
//! (`secrets::keep_secrets_in_memory`), which must never happen to real
//! lists, and its data folder is a fresh temporary one, removed when the app
//! ends (Quit, the window closed, or the process told to end). The single
//! instance is per data folder, so a demo neither reaches a running app nor
//! is swallowed by one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conclave_engine::agent::Agent;
use conclave_engine::demo::{Demo, POST_EVERY};
use tauri::{AppHandle, Emitter, Manager};

use crate::commands::CommandError;
use crate::watch::{self, AgentStatus, LISTS_CHANGED, Watch};

/// The argument that starts the demo.
pub const DEMO_ARG: &str = "--demo";

/// The beginning of the demo's data folder's name, in the system's
/// temporary folder.
pub const FOLDER_PREFIX: &str = "conclave-demo-";

/// While this many posts wait unread in the demo's mailbox (every list
/// paused from the tray), the members stop writing.
const MOST_WAITING: usize = 10;

/// Whether this process was started as the demo.
pub fn asked_for(mut args: impl Iterator<Item = String>) -> bool {
    args.any(|a| a == DEMO_ARG)
}

/// The file each running demo holds locked in its folder: a folder whose
/// lock nobody holds was left by a demo that could not clean up (killed
/// outright, or the machine went down).
const LOCK_FILE: &str = "demo.lock";

/// A demo folder younger than this is never taken for a leftover: its demo
/// may be starting and not yet hold its lock.
const LEFTOVER_AGE: Duration = Duration::from_secs(60);

/// The demo's data folder, removed when the app ends.
pub struct DemoFolder {
    dir: Mutex<Option<tempfile::TempDir>>,
    /// Locked while the demo runs (see [`LOCK_FILE`]).
    _lock: File,
}

impl DemoFolder {
    /// A fresh folder in the system's temporary folder, readable by this
    /// user alone. Folders left by demos that ended without cleaning up go
    /// first.
    pub fn new() -> Result<DemoFolder, String> {
        let parent = std::env::temp_dir();
        sweep_leftovers(&parent, LEFTOVER_AGE);
        DemoFolder::new_in(&parent)
    }

    fn new_in(parent: &Path) -> Result<DemoFolder, String> {
        let failed = |e: std::io::Error| {
            format!(
                "cannot make the demo's folder in {} ({e}): check that the temporary folder (TMPDIR) can be written to",
                parent.display()
            )
        };
        let dir = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir_in(parent)
            .map_err(failed)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .map_err(failed)?;
        }
        let lock = File::create(dir.path().join(LOCK_FILE)).map_err(failed)?;
        lock.try_lock()
            .map_err(|e| failed(std::io::Error::other(e)))?;
        Ok(DemoFolder {
            dir: Mutex::new(Some(dir)),
            _lock: lock,
        })
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|d| d.path().to_path_buf())
    }

    /// Removes the folder and everything in it (the database among them).
    pub fn remove(&self) {
        if let Some(dir) = self.dir.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                eprintln!(
                    "conclave: cannot remove the demo's folder {} ({e}): delete it by hand",
                    path.display()
                );
            }
        }
    }
}

/// Whether `dir`, a demo folder, was left by a demo that has ended: older
/// than `age`, and its lock file held by nobody (or never made).
fn left_over(dir: &Path, age: Duration) -> bool {
    let old = std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().is_ok_and(|e| e >= age));
    if !old {
        return false;
    }
    match File::open(dir.join(LOCK_FILE)) {
        Ok(f) => f.try_lock().is_ok(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Removes the demo folders in `parent` that ended demos left behind. What
/// they hold cannot be read anyway: its database key was only ever in the
/// memory of the demo that made it.
fn sweep_leftovers(parent: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_string_lossy()
            .starts_with(FOLDER_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if ours
            && left_over(&path, age)
            && let Err(e) = std::fs::remove_dir_all(&path)
        {
            eprintln!(
                "conclave: cannot remove {}, left by an earlier demo ({e})",
                path.display()
            );
        }
    }
}

/// Sets the demo list up in `data_dir`, then runs the agent loop on its
/// mail servers in memory and has a member post every [`POST_EVERY`],
/// waking the agent as IMAP IDLE would, until the app quits.
pub fn start(
    app: AppHandle,
    data_dir: PathBuf,
    watch: Arc<Watch>,
    observe: impl Fn(&AppHandle, &AgentStatus, bool) + Send + 'static,
) {
    tauri::async_runtime::spawn(async move {
        let mut demo = match Demo::set_up(&data_dir).await {
            Ok(demo) => demo,
            Err(e) => {
                let said = format!("the demo could not start: {e}");
                eprintln!("conclave: {said}");
                watch.set_error(Some(said));
                let _ = app.emit(LISTS_CHANGED, watch.status(&shown(&data_dir)));
                return;
            }
        };
        let agent = Agent::with_servers(data_dir.clone(), demo.mail());
        tauri::async_runtime::spawn(watch::run(
            app.clone(),
            agent,
            watch.clone(),
            shown(&data_dir),
            observe,
        ));
        let stop = watch.stopped();
        let mail = demo.mail();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(POST_EVERY) => {}
            }
            let waiting = mail
                .world()
                .mailbox
                .iter()
                .filter(|m| m.folder == "INBOX")
                .count();
            if waiting >= MOST_WAITING {
                continue;
            }
            match demo.deliver_next() {
                Ok(_) => watch.wake(),
                Err(e) => eprintln!("conclave: the demo's next post failed: {e}"),
            }
        }
    });
}

fn shown(data_dir: &Path) -> String {
    data_dir.display().to_string()
}

/// Ends the demo when the process is told to (Ctrl-C in a terminal, the
/// session ending), through the app's own exit, so its folder is removed.
#[cfg(unix)]
pub fn end_on_signals(app: &AppHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ] {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            match signal(kind) {
                Ok(mut told) => {
                    if told.recv().await.is_some() {
                        app.state::<crate::Shell>().watch.set_quitting();
                        app.exit(0);
                    }
                }
                Err(e) => eprintln!("conclave: cannot listen for the end of the session: {e}"),
            }
        });
    }
}

#[cfg(not(unix))]
pub fn end_on_signals(_app: &AppHandle) {}

/// Starts the demo beside this app, in a process of its own (see the
/// module's comment for why never in this one).
#[tauri::command]
pub fn start_demo() -> Result<(), CommandError> {
    let failed = |e: std::io::Error| CommandError {
        code: "demo",
        message: format!(
            "cannot start the demo ({e}): start it from a terminal with `conclave --demo`"
        ),
    };
    let app = std::env::current_exe().map_err(failed)?;
    let mut child = Command::new(app)
        .arg(DEMO_ARG)
        .stdin(Stdio::null())
        .spawn()
        .map_err(failed)?;
    // Reaped when it ends, so it does not linger as a zombie beside a
    // long-running app.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> impl Iterator<Item = String> {
        a.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_the_demo_argument_starts_the_demo() {
        assert!(asked_for(args(&["conclave", "--demo"])));
        assert!(asked_for(args(&["conclave", "--in-tray", "--demo"])));
        assert!(!asked_for(args(&["conclave"])));
        assert!(!asked_for(args(&["conclave", "--demo=no"])));
    }

    #[test]
    fn the_demo_folder_is_gone_once_removed() {
        let folder = DemoFolder::new().unwrap();
        let path = folder.path().unwrap();
        assert!(path.is_dir());
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(FOLDER_PREFIX)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "for this user's eyes only");
        }
        std::fs::write(path.join("conclave.db"), b"x").unwrap();
        folder.remove();
        assert!(!path.exists());
        assert_eq!(folder.path(), None);
        folder.remove();
    }

    #[test]
    fn a_folder_left_by_an_ended_demo_goes_and_a_running_ones_stays() {
        let parent = tempfile::tempdir().unwrap();
        let running = DemoFolder::new_in(parent.path()).unwrap();
        let ended = DemoFolder::new_in(parent.path()).unwrap();
        let ended_path = ended.path().unwrap();
        // Killed outright: its lock went with it, its folder stayed.
        let kept = ended.dir.lock().unwrap().take().map(|d| d.keep());
        assert_eq!(kept.as_ref(), Some(&ended_path));
        drop(ended);
        let never_locked = parent.path().join(format!("{FOLDER_PREFIX}killed-at-once"));
        std::fs::create_dir(&never_locked).unwrap();
        let someone_elses = parent.path().join("conclave-data");
        std::fs::create_dir(&someone_elses).unwrap();

        // Young folders are left alone: their demo may be starting.
        sweep_leftovers(parent.path(), LEFTOVER_AGE);
        assert!(ended_path.exists() && never_locked.exists());

        sweep_leftovers(parent.path(), Duration::ZERO);
        assert!(!ended_path.exists(), "left by an ended demo");
        assert!(!never_locked.exists(), "never locked, and old");
        assert!(running.path().unwrap().exists(), "its demo runs");
        assert!(someone_elses.exists(), "not a demo's");
    }
}
