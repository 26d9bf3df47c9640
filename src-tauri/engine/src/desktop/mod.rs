//! What a desktop face of the agent shows and keeps, without any GUI: the
//! agent's state shared by the loop and the tray ([`Watch`]), what the
//! tray's icon and tooltip say ([`tray`]), which desktop notifications a
//! change is worth ([`notices`]), and the one resident agent per data
//! folder ([`resident`]). The window app and the light tray process
//! (`conclave-tray`) both use these, so a closed window changes nothing an
//! owner sees.

pub mod notices;
pub mod resident;
pub mod tray;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tokio::sync::Notify;

use crate::agent::{AgentError, CancellationToken, RunReport, Watching};
use crate::store::ListSummary;
use notices::{Notice, Snapshot};
use tray::TrayLook;

/// How long the agent waits between two runs for lists whose server has no
/// IDLE.
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// What the window and the tray show about the agent itself (the lists' own
/// state is in their summaries).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct AgentStatus {
    /// Every list paused from the tray.
    pub paused_all: bool,
    /// Why the last run over all lists did not happen, in words for the owner.
    pub error: Option<String>,
    /// The data folder the app works on.
    pub data_dir: String,
    /// Some list's server cannot be reached (the laptop is offline, or the
    /// server is down); the agent keeps trying.
    pub offline: bool,
    /// How each active list's mailbox is watched, by address.
    pub watching: Vec<(String, Watching)>,
    /// This app runs the demo (`conclave --demo`): nothing in it is real and
    /// nothing is sent.
    pub demo: bool,
}

/// Set in the environment of the program the window app or the light tray
/// turns into (see the app's `handover`) while every list is paused, so
/// that "Pause all" goes on across the hand-over.
pub const PAUSED_ALL_ENV: &str = "CONCLAVE_PAUSED_ALL";

/// State shared by the agent loop, the commands and the tray.
#[derive(Debug, Default)]
pub struct Watch {
    paused_all: AtomicBool,
    quitting: AtomicBool,
    /// Cancelled when the app quits: the agent loop ends.
    stop: CancellationToken,
    wake: Notify,
    error: Mutex<Option<String>>,
    watching: Mutex<Vec<(String, Watching)>>,
    demo: bool,
}

impl Watch {
    /// The state of the demo's app (`conclave --demo`).
    pub fn for_demo() -> Watch {
        Watch {
            demo: true,
            ..Watch::default()
        }
    }

    /// The state of a start: paused all when the program this process was
    /// before said so ([`Watch::hand_over`]).
    pub fn at_start() -> Watch {
        Watch::paused_if(std::env::var_os(PAUSED_ALL_ENV).as_deref())
    }

    fn paused_if(said: Option<&std::ffi::OsStr>) -> Watch {
        Watch {
            paused_all: AtomicBool::new(said.is_some_and(|v| v == "1")),
            ..Watch::default()
        }
    }

    /// Tells the program this process turns into (exec) whether every
    /// list is paused.
    pub fn hand_over(&self, next: &mut std::process::Command) {
        if self.paused_all() {
            next.env(PAUSED_ALL_ENV, "1");
        } else {
            next.env_remove(PAUSED_ALL_ENV);
        }
    }

    /// Whether this app runs the demo.
    pub fn demo(&self) -> bool {
        self.demo
    }

    /// Cancelled when the app quits.
    pub fn stopped(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// What the agent loop waits on between runs, besides the mailboxes.
    pub fn wake_signal(&self) -> &Notify {
        &self.wake
    }

    pub fn paused_all(&self) -> bool {
        self.paused_all.load(Ordering::SeqCst)
    }

    /// Pauses or resumes every list; resuming starts a run at once.
    pub fn set_paused_all(&self, paused: bool) {
        self.paused_all.store(paused, Ordering::SeqCst);
        if !paused {
            self.wake();
        }
    }

    pub fn quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }

    pub fn set_quitting(&self) {
        self.quitting.store(true, Ordering::SeqCst);
        self.stop.cancel();
    }

    /// Starts a run now instead of at the end of the wait. A wake while a run
    /// is going on starts another right after it.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    pub fn watching(&self) -> Vec<(String, Watching)> {
        self.watching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_watching(&self, states: Vec<(String, Watching)>) {
        *self.watching.lock().unwrap_or_else(|p| p.into_inner()) = states;
    }

    /// Keeps what a turn of the agent loop ended with: the run's error
    /// (said on stderr by `program`), when it ran, and the watchers' states.
    pub fn record_run(
        &self,
        program: &str,
        run: Option<&Result<RunReport, AgentError>>,
        watching: Vec<(String, Watching)>,
    ) {
        if let Some(result) = run {
            let error = run_error(result);
            if let Some(e) = &error {
                eprintln!("{program}: {e}");
            }
            self.set_error(error);
        }
        self.set_watching(watching);
    }

    /// What the window and the tray show about the agent now.
    pub fn status(&self, data_dir: &str) -> AgentStatus {
        let watching = self.watching();
        AgentStatus {
            paused_all: self.paused_all(),
            error: self.error(),
            data_dir: data_dir.to_string(),
            offline: watching
                .iter()
                .any(|(_, w)| matches!(w, Watching::Offline(_))),
            watching,
            demo: self.demo,
        }
    }
}

/// What a finished run leaves for the window to show. Errors of one list are
/// in that list's summary; this is what stopped the whole run.
pub fn run_error(result: &Result<RunReport, AgentError>) -> Option<String> {
    result.as_ref().err().map(|e| e.to_string())
}

/// The file whose presence says the owner was told that closing the window
/// leaves Conclave running.
const HIDE_NOTICE_MARK: &str = "told-window-hides-to-tray";

/// The notice the owner gets the first time the window closes.
pub fn window_closed_notice() -> Notice {
    Notice {
        title: "Conclave is still running".into(),
        body: "It keeps taking and sending posts from the tray. Choose Quit in the tray menu to stop it."
            .into(),
    }
}

/// True the first time the window is hidden for this data folder, so the
/// notice that Conclave goes on in the tray is shown once, not at every
/// close. A folder that cannot be written to gets the notice each time
/// rather than never.
pub fn first_hide(data_dir: &std::path::Path) -> bool {
    let mark = data_dir.join(HIDE_NOTICE_MARK);
    if mark.exists() {
        return false;
    }
    let _ = std::fs::write(&mark, b"");
    true
}

/// What the tray shows and the desktop is told after one look at the
/// agent and its lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub look: TrayLook,
    pub tooltip: String,
    pub notices: Vec<Notice>,
}

/// Turns each status the agent loop reports into the tray's look and the
/// notifications of what changed since the last one.
#[derive(Debug)]
pub struct Observer {
    data_dir: PathBuf,
    last: Option<Snapshot>,
}

impl Observer {
    pub fn new(data_dir: PathBuf) -> Observer {
        Observer {
            data_dir,
            last: None,
        }
    }

    /// [`Observer::seen`] with the lists as the store has them now. A store
    /// that cannot be read shows no lists (the next look tries again).
    pub fn observe(&mut self, status: &AgentStatus, working: bool) -> Seen {
        let lists = read_lists(&self.data_dir).unwrap_or_else(|e| {
            eprintln!("conclave: cannot read the lists for the tray: {e}");
            Vec::new()
        });
        self.seen(status, &lists, working)
    }

    /// The first look only sets the baseline: what was held before the app
    /// or the tray started was told then, or is in the window. The demo's
    /// notices say they are the demo's.
    pub fn seen(&mut self, status: &AgentStatus, lists: &[ListSummary], working: bool) -> Seen {
        let look = tray::look(status, lists, working);
        let now = Snapshot::of(status, lists);
        let notices = match &self.last {
            Some(before) => notices::news(before, &now)
                .into_iter()
                .map(|n| {
                    if status.demo {
                        Notice {
                            title: format!("Demo: {}", n.title),
                            ..n
                        }
                    } else {
                        n
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        self.last = Some(now);
        Seen {
            look,
            tooltip: tray::tooltip(look, status, lists),
            notices,
        }
    }
}

/// The lists' summaries, as the tray counts them.
pub fn read_lists(data_dir: &Path) -> Result<Vec<ListSummary>, crate::owner::OwnerError> {
    let store = crate::store::Store::open(data_dir).map_err(crate::owner::OwnerError::from)?;
    crate::owner::lists::summaries(&store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(demo: bool) -> AgentStatus {
        AgentStatus {
            paused_all: false,
            error: None,
            data_dir: "/data".into(),
            offline: false,
            watching: Vec::new(),
            demo,
        }
    }

    fn list(held: u32) -> ListSummary {
        ListSummary {
            address: "team@x".into(),
            name: "Team".into(),
            protocol: "openpgp".into(),
            members: 3,
            held,
            has_account: true,
            ..ListSummary::default()
        }
    }

    #[test]
    fn the_first_look_sets_the_baseline_and_tells_nothing() {
        let mut o = Observer::new("/data".into());
        let first = o.seen(&status(false), &[list(3)], false);
        assert!(first.notices.is_empty(), "{:?}", first.notices);
        assert_eq!(first.look, TrayLook::Attention);
        assert_eq!(first.tooltip, "Conclave: 3 posts wait for your decision");
        let next = o.seen(&status(false), &[list(4)], false);
        assert_eq!(next.notices.len(), 1);
        assert_eq!(next.notices[0].title, "Team: a post is held for you");
        assert!(o.seen(&status(false), &[list(4)], false).notices.is_empty());
    }

    #[test]
    fn the_demo_s_notices_say_they_are_the_demo_s() {
        let mut o = Observer::new("/data".into());
        o.seen(&status(true), &[list(0)], false);
        let next = o.seen(&status(true), &[list(1)], true);
        assert_eq!(next.notices[0].title, "Demo: Team: a post is held for you");
        assert!(next.tooltip.starts_with("Conclave demo, nothing is sent"));
    }

    #[test]
    fn a_run_that_worked_clears_the_error() {
        let ok = Ok(RunReport::default());
        assert_eq!(run_error(&ok), None);
        let busy = Err(AgentError::Busy("/data".into()));
        assert!(run_error(&busy).unwrap().contains("another Conclave agent"));
    }

    fn woken_within_a_second(watch: &Watch, why: &str) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(1),
                watch.wake_signal().notified(),
            )
            .await
            .expect(why);
        });
    }

    #[test]
    fn pause_all_goes_on_across_a_hand_over() {
        let env = |watch: &Watch| {
            let mut next = std::process::Command::new("true");
            watch.hand_over(&mut next);
            next.get_envs()
                .find(|(k, _)| *k == PAUSED_ALL_ENV)
                .and_then(|(_, v)| v.map(std::ffi::OsStr::to_os_string))
        };
        let paused = Watch::default();
        paused.set_paused_all(true);
        let said = env(&paused);
        assert_eq!(said.as_deref(), Some(std::ffi::OsStr::new("1")));
        assert!(Watch::paused_if(said.as_deref()).paused_all());
        // Resumed before the hand-over: the next one runs, whatever this
        // process was told at its own start.
        let running = Watch::paused_if(Some(std::ffi::OsStr::new("1")));
        running.set_paused_all(false);
        let said = env(&running);
        assert_eq!(said, None);
        assert!(!Watch::paused_if(said.as_deref()).paused_all());
    }

    #[test]
    fn resuming_all_wakes_the_agent() {
        let watch = Watch::default();
        watch.set_paused_all(true);
        assert!(watch.paused_all());
        watch.set_paused_all(false);
        assert!(!watch.paused_all());
        woken_within_a_second(&watch, "resume should start a run at once");
    }

    #[test]
    fn check_now_before_the_loop_waits_is_not_lost() {
        let watch = Watch::default();
        watch.wake();
        woken_within_a_second(&watch, "a wake given before the wait should still count");
    }

    #[test]
    fn the_tray_notice_is_shown_once_per_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(first_hide(dir.path()));
        assert!(!first_hide(dir.path()));
        let other = tempfile::tempdir().unwrap();
        assert!(first_hide(other.path()));
    }

    #[test]
    fn quitting_stops_the_loop() {
        let watch = Watch::default();
        let stop = watch.stopped();
        assert!(!stop.is_cancelled() && !watch.quitting());
        watch.set_quitting();
        assert!(stop.is_cancelled() && watch.quitting());
    }
}
