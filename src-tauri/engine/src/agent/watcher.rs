//! Waiting for work without doing any: one IMAP connection per list sits in
//! IDLE and wakes the agent when the INBOX changes; lists whose server has
//! no IDLE are polled. A laptop that slept, or changed networks, finds its
//! connections dead: each watcher reconnects with backoff (the list shows
//! as offline meanwhile) and wakes the agent once it is back, so that what
//! arrived in between is taken at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::model::Account;
use crate::secrets::{self, SecretKind};
use crate::store::Store;
use crate::transport::imap::{IdleEnd, Mailbox};

/// IDLE is ended and issued again after this long, well inside the 29
/// minutes after which RFC 2177 lets servers drop an idle client.
pub const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
/// How long the agent waits when every list is watched in IDLE and nothing
/// happens: a safety net, not the way mail is noticed.
pub const QUIET_POLL: Duration = Duration::from_secs(30 * 60);
/// Reconnecting after a failure: first wait, and the longest.
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// The wall clock moving this much further than the monotonic one between
/// two looks means the machine slept.
const SLEEP_JUMP: Duration = Duration::from_secs(90);
const CLOCK_LOOK: Duration = Duration::from_secs(60);

/// How a list's mailbox is being watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "state", content = "detail", rename_all = "lowercase")]
pub enum Watching {
    /// Logging in.
    Connecting,
    /// In IDLE: new mail is noticed as it arrives.
    Listening,
    /// The server has no IDLE: the list is checked every poll interval.
    Polling,
    /// The server cannot be reached; the reason, and a retry is pending.
    Offline(String),
}

struct Watcher {
    /// What the watcher was started with, to restart it when it changes.
    account: Account,
    cancel: CancellationToken,
    state: Arc<Mutex<Watching>>,
}

/// The watchers of every active list of a data folder.
pub struct Watchers {
    data_dir: PathBuf,
    by_list: HashMap<String, Watcher>,
    /// Notified by any watcher that saw a change.
    changed: Arc<Notify>,
    /// Notified when a watcher's state changes.
    moved: Arc<Notify>,
}

/// Sets a watcher's state; a change is told to `moved`, so the window and
/// the tray can show it without waiting for the next run.
fn set(state: &Mutex<Watching>, to: Watching, moved: &Notify) {
    let mut now = state.lock().unwrap_or_else(|p| p.into_inner());
    if *now != to {
        *now = to;
        moved.notify_one();
    }
}

/// Why [`Watchers::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// There may be mail to take or copies to send: run the agent.
    Work,
    /// Only a watcher's state changed (offline, back, listening): show it.
    Watching,
}

impl Watchers {
    pub fn new(data_dir: PathBuf) -> Watchers {
        Watchers {
            data_dir,
            by_list: HashMap::new(),
            changed: Arc::new(Notify::new()),
            moved: Arc::new(Notify::new()),
        }
    }

    /// Starts a watcher for each list that is active and has an account,
    /// stops those of lists paused, removed or moved to another account.
    /// `paused_all` stops every watcher.
    pub fn sync(&mut self, paused_all: bool) {
        let wanted: HashMap<String, Account> = if paused_all {
            HashMap::new()
        } else {
            Store::open(&self.data_dir)
                .and_then(|s| {
                    let lists = s.lists()?;
                    Ok(lists
                        .into_iter()
                        .filter(|l| !l.paused)
                        .filter_map(|l| s.account(&l).ok().map(|a| (l.address, a)))
                        .collect())
                })
                .unwrap_or_default()
        };
        self.by_list.retain(|address, w| {
            let keep = wanted.get(address) == Some(&w.account);
            if !keep {
                w.cancel.cancel();
            }
            keep
        });
        for (address, account) in wanted {
            if self.by_list.contains_key(&address) {
                continue;
            }
            let cancel = CancellationToken::new();
            let state = Arc::new(Mutex::new(Watching::Connecting));
            let signals = (self.changed.clone(), self.moved.clone());
            tokio::spawn(watch(
                address.clone(),
                account.clone(),
                cancel.clone(),
                state.clone(),
                signals,
            ));
            self.by_list.insert(
                address,
                Watcher {
                    account,
                    cancel,
                    state,
                },
            );
        }
    }

    /// How each list is watched, by address.
    pub fn states(&self) -> Vec<(String, Watching)> {
        let mut out: Vec<_> = self
            .by_list
            .iter()
            .map(|(a, w)| {
                (
                    a.clone(),
                    w.state.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Whether any list is offline now.
    pub fn offline(&self) -> bool {
        self.states()
            .iter()
            .any(|(_, s)| matches!(s, Watching::Offline(_)))
    }

    /// Waits until there is work: a watched INBOX changed, `wake` was
    /// notified, `poll` passed while some list is not in IDLE (or
    /// [`QUIET_POLL`] when all are), a retry falls due, or the machine
    /// woke from sleep; or only a watcher's state changed ([`Woke::Watching`]).
    pub async fn wait(&self, poll: Duration, wake: &Notify) -> Woke {
        let all_listening = !self.by_list.is_empty()
            && self.states().iter().all(|(_, s)| *s == Watching::Listening);
        let mut limit = if all_listening { QUIET_POLL } else { poll };
        if let Ok(store) = Store::open(&self.data_dir) {
            if let Some(due) = store.next_retry_at().ok().flatten() {
                let wait = (due - crate::store::now()).max(1) as u64;
                limit = limit.min(Duration::from_secs(wait));
            }
            // Claims in play are renewed, and other laptops' looked at,
            // though no new mail comes: IDLE on INBOX does not tell of them.
            if let Some(every) = claims_look_every(&store) {
                limit = limit.min(every);
            }
            // Another laptop's changes come into a folder IDLE does not
            // watch: looked for three times a minute on a list handed over.
            let peers = store
                .lists()
                .unwrap_or_default()
                .into_iter()
                .any(|l| !l.paused && store.shares_changes(&l).unwrap_or(false));
            if peers {
                limit = limit.min(SYNC_LOOK);
            }
        }
        tokio::select! {
            _ = wake.notified() => Woke::Work,
            _ = self.changed.notified() => Woke::Work,
            _ = slept_or_elapsed(limit) => Woke::Work,
            _ = self.moved.notified() => Woke::Watching,
        }
    }
}

/// How often a laptop looks for the changes of the list's other laptops.
pub const SYNC_LOOK: Duration = Duration::from_secs(20);

/// The shortest wait until claims must be looked at again, over the lists
/// with claims in play (see `crate::post::claim`).
fn claims_look_every(store: &Store) -> Option<Duration> {
    store
        .lists()
        .ok()?
        .into_iter()
        .filter(|l| !l.paused && store.claims_in_play(l).unwrap_or(false))
        .map(|l| crate::post::claim::look_every(l.settings.claim_lease))
        .min()
}

impl Drop for Watchers {
    fn drop(&mut self) {
        for w in self.by_list.values() {
            w.cancel.cancel();
        }
    }
}

/// Waits `limit`, or less when the wall clock shows the machine slept in
/// between (a suspended machine's monotonic clock stands still, so a plain
/// sleep would oversleep by the length of the nap).
async fn slept_or_elapsed(limit: Duration) {
    let start = tokio::time::Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return;
        }
        let step = left.min(CLOCK_LOOK);
        let (mono, wall) = (tokio::time::Instant::now(), SystemTime::now());
        tokio::time::sleep(step).await;
        let wall_passed = SystemTime::now().duration_since(wall).unwrap_or_default();
        if wall_passed > mono.elapsed() + SLEEP_JUMP {
            return;
        }
    }
}

/// How long a connection lent to the agent's next run waits to be taken
/// before its watcher takes it back (a run may skip the list, or be busy
/// with another list's fan-out).
const LEND_UNTAKEN: Duration = Duration::from_secs(10);

/// Why a watcher's connection ended without an error.
enum Watched {
    /// The server has no IDLE: the agent polls the list instead.
    NoIdle,
    /// A lent connection did not come back: log in again at once.
    Again,
}

/// One list's watcher: log in, select INBOX, IDLE, again and again; on
/// failure wait (doubling) and log in again, then wake the agent to catch
/// up on what arrived meanwhile.
async fn watch(
    address: String,
    account: Account,
    cancel: CancellationToken,
    state: Arc<Mutex<Watching>>,
    (changed, moved): (Arc<Notify>, Arc<Notify>),
) {
    let mut backoff = BACKOFF_FIRST;
    let mut was_offline = false;
    loop {
        let attempt = async {
            let password = secrets::load(&address, SecretKind::ImapPassword)
                .await
                .map_err(|e| e.to_string())?;
            let mut mailbox =
                Mailbox::connect(&account.imap, account.ca_pem.as_deref(), password.expose())
                    .await
                    .map_err(|e| e.to_string())?;
            if !mailbox.can_idle() {
                set(&state, Watching::Polling, &moved);
                mailbox.logout().await;
                return Ok::<Watched, String>(Watched::NoIdle);
            }
            mailbox.open_inbox().await.map_err(|e| e.to_string())?;
            // IDLE tells only of what arrives once it is under way. Mail
            // that reached INBOX after the agent's last look and before
            // this SELECT would wait for the quiet poll (half an hour):
            // the agent's run at start looks before its watchers connect,
            // so a post arriving in between (as one sent the moment the
            // light tray or the window takes over) was missed. What is
            // still waiting now wakes the agent; what comes after this
            // search is told by IDLE (the server reports it when IDLE
            // starts).
            let mut seen = 0;
            let waiting = mailbox.waiting_uids().await.map_err(|e| e.to_string())?;
            let news = new_mail(&waiting, &mut seen);
            set(&state, Watching::Listening, &moved);
            // After an outage, mail may have come and copies may have
            // failed while the connection was down: a run either way.
            if was_offline || news {
                changed.notify_one();
                was_offline = false;
            }
            backoff = BACKOFF_FIRST;
            loop {
                let (back, end) = mailbox.idle(IDLE_RENEW).await.map_err(|e| e.to_string())?;
                mailbox = back;
                // Most changes IDLE tells of are the agent's own: each run
                // flags, moves and expunges what it took. Waking on those
                // made every run start another that found nothing (the
                // light tray's CPU in an idle minute); only a message not
                // seen waiting before is work.
                if end == IdleEnd::Changed {
                    let waiting = mailbox.waiting_uids().await.map_err(|e| e.to_string())?;
                    if new_mail(&waiting, &mut seen) {
                        // The run this wakes reads the news on this
                        // connection, logged in and in INBOX already, and
                        // gives it back when done.
                        let loan = mailbox.lend(&account.imap);
                        changed.notify_one();
                        let Some(back) = loan.back(LEND_UNTAKEN).await else {
                            // The run's use of it failed: log in anew.
                            return Ok(Watched::Again);
                        };
                        mailbox = back;
                        // The run may have left another folder selected,
                        // and mail may have come while it worked.
                        mailbox.open_inbox().await.map_err(|e| e.to_string())?;
                        let waiting = mailbox.waiting_uids().await.map_err(|e| e.to_string())?;
                        if new_mail(&waiting, &mut seen) {
                            changed.notify_one();
                        }
                    }
                }
            }
        };
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            r = attempt => r,
        };
        match outcome {
            // No IDLE on this server: the agent polls it; nothing to watch.
            Ok(Watched::NoIdle) => return,
            Ok(Watched::Again) => continue,
            Err(why) => {
                set(&state, Watching::Offline(why), &moved);
                was_offline = true;
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Whether `waiting` (the UIDs in INBOX not yet taken) holds one above
/// `seen`, the highest this connection has told of; `seen` moves up to
/// them. A new message always gets a higher UID than those before it.
fn new_mail(waiting: &[u32], seen: &mut u32) -> bool {
    let highest = waiting.iter().copied().max().unwrap_or(0);
    let news = highest > *seen;
    *seen = (*seen).max(highest);
    news
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_not_seen_waiting_before_are_news() {
        let mut seen = 0;
        assert!(!new_mail(&[], &mut seen), "an empty INBOX");
        assert!(
            new_mail(&[4], &mut seen),
            "waiting when the watcher connects"
        );
        assert!(
            !new_mail(&[4], &mut seen),
            "a held post stays: not news again"
        );
        assert!(!new_mail(&[], &mut seen), "the agent took it (an expunge)");
        assert!(
            new_mail(&[4, 7], &mut seen),
            "a new one beside the held one"
        );
        assert!(!new_mail(&[4], &mut seen));
        assert_eq!(seen, 7);
    }

    #[tokio::test]
    async fn a_short_wait_ends_on_time() {
        let t = std::time::Instant::now();
        slept_or_elapsed(Duration::from_millis(50)).await;
        assert!(t.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn watching_states_read_plainly_as_json() {
        let s = serde_json::to_string(&Watching::Offline("no route".into())).unwrap();
        assert_eq!(s, r#"{"state":"offline","detail":"no route"}"#);
        assert_eq!(
            serde_json::to_string(&Watching::Listening).unwrap(),
            r#"{"state":"listening"}"#
        );
    }
}
