//! The background agent: the engine's agent takes what waits in the lists'
//! mailboxes as soon as their servers tell of new mail (IMAP IDLE), every
//! minute for servers without IDLE, and at once when asked. The window hears
//! of each run through the `lists-changed` event, and of a long sending
//! through `progress` events.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use conclave_engine::agent::{Agent, AgentError, RunHooks, RunReport, SendProgress, Watching};
pub use conclave_engine::desktop::{AgentStatus, CHECK_INTERVAL, Watch};
use conclave_engine::transport::Servers;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

/// The event the window listens to; its payload is an [`AgentStatus`].
pub const LISTS_CHANGED: &str = "lists-changed";

/// The event of a long piece of work; its payload is a [`Progress`].
pub const PROGRESS: &str = "progress";

/// How far a list's work has got, as the window shows it ("Sending 120 of
/// 500").
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Progress {
    /// The list's address.
    pub list: String,
    /// What is going on: "sending".
    #[ts(type = "\"sending\"")]
    pub what: &'static str,
    pub done: u32,
    pub total: u32,
    /// The work is over (all done, or stopped on an error).
    pub finished: bool,
}

/// The window needs a few reports a second, not one per delivery.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Lets through the first and the last report of a list's sending, and
/// between them one per [`PROGRESS_EVERY`].
#[derive(Debug, Default)]
pub struct Throttle {
    last: HashMap<String, Instant>,
}

impl Throttle {
    pub fn pass(&mut self, p: &SendProgress, now: Instant) -> bool {
        if p.finished {
            self.last.remove(&p.list);
            return true;
        }
        match self.last.get(&p.list) {
            Some(at) if p.done > 0 && now.duration_since(*at) < PROGRESS_EVERY => false,
            _ => {
                self.last.insert(p.list.clone(), now);
                true
            }
        }
    }
}

/// Tells the window how the agent's sending goes, throttled.
fn progress_to(app: AppHandle) -> impl Fn(&SendProgress) + Send + Sync + 'static {
    let throttle = Mutex::new(Throttle::default());
    move |p| {
        let pass = throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pass(p, Instant::now());
        if pass {
            let payload = Progress {
                list: p.list.clone(),
                what: "sending",
                done: p.done,
                total: p.total,
                finished: p.finished,
            };
            let _ = app.emit(PROGRESS, payload);
        }
    }
}

/// What the app does around each run of the engine's agent loop: shows
/// the status in the tray and the window, and notifies.
struct AppHooks<F> {
    app: AppHandle,
    watch: std::sync::Arc<Watch>,
    data_dir: String,
    observe: F,
}

impl<F: Fn(&AppHandle, &AgentStatus, bool) + Send + 'static> RunHooks for AppHooks<F> {
    fn paused(&self) -> bool {
        self.watch.paused_all()
    }

    fn starting(&mut self) {
        (self.observe)(&self.app, &self.watch.status(&self.data_dir), true);
    }

    fn finished(
        &mut self,
        run: Option<&Result<RunReport, AgentError>>,
        watching: Vec<(String, Watching)>,
    ) -> bool {
        self.watch.record_run("conclave", run, watching);
        let status = self.watch.status(&self.data_dir);
        (self.observe)(&self.app, &status, false);
        if let Err(e) = self.app.emit(LISTS_CHANGED, status) {
            eprintln!("conclave: cannot tell the window: {e}");
        }
        true
    }
}

/// Runs the engine's agent loop until the app quits, on the real mail
/// servers or (the demo) on the fake ones. `observe` hears the status
/// before each run (with `working` set) and after it, for the tray and the
/// notifications.
pub async fn run<S: Servers + 'static>(
    app: AppHandle,
    agent: Agent<S>,
    watch: std::sync::Arc<Watch>,
    data_dir: String,
    observe: impl Fn(&AppHandle, &AgentStatus, bool) + Send + 'static,
) {
    let agent = agent.with_progress(progress_to(app.clone()));
    let stop = watch.stopped();
    let hooks = AppHooks {
        app,
        watch: watch.clone(),
        data_dir,
        observe,
    };
    agent
        .run_forever(CHECK_INTERVAL, stop, watch.wake_signal(), hooks)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reaches_the_window_a_few_times_a_second_and_always_at_the_end() {
        let at = |list: &str, done: u32, finished: bool| SendProgress {
            list: list.into(),
            done,
            total: 500,
            finished,
        };
        let mut t = Throttle::default();
        let start = Instant::now();
        assert!(
            t.pass(&at("a@x", 0, false), start),
            "the start shows at once"
        );
        assert!(!t.pass(&at("a@x", 1, false), start + Duration::from_millis(10)));
        assert!(
            t.pass(&at("b@x", 0, false), start + Duration::from_millis(10)),
            "each list by itself"
        );
        assert!(!t.pass(&at("a@x", 2, false), start + Duration::from_millis(200)));
        assert!(t.pass(&at("a@x", 3, false), start + PROGRESS_EVERY));
        assert!(
            t.pass(&at("a@x", 500, true), start + PROGRESS_EVERY),
            "the end is never held back"
        );
        assert!(
            t.pass(&at("a@x", 0, false), start + PROGRESS_EVERY),
            "a next sending starts afresh"
        );
    }
}
