//! The agent: for each list, take what waits in its INBOX, decide, queue,
//! send, and file the message away — in that order, each step recorded
//! before the next, so that a crash anywhere resumes without losing or
//! repeating a post (the one exception: a send in flight when the agent
//! died is sent again, because SMTP cannot tell whether it arrived). The
//! steps themselves are `crate::post`, one file each.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

mod announcements;
mod reminders;
mod watcher;
pub use crate::post::decide::MAX_DECIDE_ATTEMPTS;
pub use crate::post::send::{MAX_SEND_ATTEMPTS, OnProgress, SMTP_LANES, SendProgress, retry_delay};
pub use tokio_util::sync::CancellationToken;
pub use watcher::{IDLE_RENEW, QUIET_POLL, Watchers, Watching, Woke};

use crate::crypto::openpgp::checked;
use crate::model::List;
use crate::post::deliver::Masthead;
use crate::post::deliver::render::ListHeaders;
use crate::post::keys::ListCrypto;
use crate::post::send::Sending;
use crate::post::{self, SharedStore, with_store};
use crate::secrets::SecretError;
use crate::store::{Store, StoreError};
use crate::transport::TransportError;
use crate::transport::{Inbox, MailServers, Servers};

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(
        "another Conclave agent is already working on {0} (the app, or `conclave-cli run`): let it do the work, or stop it first"
    )]
    Busy(PathBuf),
    #[error(
        "the list {0} has no key of its protocol yet: make one with `conclave-cli list key generate {0}` or import one with `conclave-cli list key import`"
    )]
    NoListKey(String),
    #[error(
        "the list key in the keychain cannot be read ({0}): import it again with `conclave-cli list key import`"
    )]
    BadListKey(String),
    #[error("cannot use the lock file {path}: {detail}")]
    Lock { path: PathBuf, detail: String },
    #[error("{0}: the other laptops get this laptop's changes at a later run")]
    Sync(String),
}

/// What one run did for one list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListReport {
    pub address: String,
    pub paused: bool,
    /// The list has no mail account yet, so it was not looked at.
    pub no_account: bool,
    pub new_posts: u32,
    pub distributed: u32,
    pub held: u32,
    pub rejected: u32,
    pub discarded: u32,
    /// Members' commands to the list (help, unsubscribe), answered.
    pub answered: u32,
    pub quarantined: u32,
    pub sent: u32,
    pub retrying: u32,
    pub failed: u32,
    pub filed: u32,
    /// Deliveries still waiting for a retry after this run.
    pub pending: u32,
    /// Copies this run left waiting because the provider refused more mail
    /// for now (its sending limit).
    pub waiting_for_limit: u32,
    /// What stopped this list's run, in words for the owner.
    pub error: Option<String>,
    /// A new backup went into the list's mailbox.
    pub backed_up: bool,
    /// Members told that their key ends soon.
    pub reminded: u32,
    /// Members sent the list's renewed key.
    pub announced: u32,
    /// Posts another laptop had claimed and left unfinished, taken back.
    pub taken_over: u32,
    /// Posts this laptop had claimed and left unfinished while stopped,
    /// which another laptop took over.
    pub handed_over: u32,
    /// Changes (members, keys, settings) taken from the other laptops.
    pub synced: u32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub lists: Vec<ListReport>,
}

impl ListReport {
    /// Adds what deciding posts found (in a report of its own).
    fn add_decisions(&mut self, d: &ListReport) {
        self.distributed += d.distributed;
        self.held += d.held;
        self.rejected += d.rejected;
        self.discarded += d.discarded;
        self.answered += d.answered;
        self.quarantined += d.quarantined;
    }
}

impl RunReport {
    pub fn has_errors(&self) -> bool {
        self.lists.iter().any(|l| l.error.is_some())
    }
}

/// The agent over one data folder, working with the real mail servers
/// (`MailServers`) or, in tests, with fakes. Cheap to clone; each run opens
/// the store.
#[derive(Clone)]
pub struct Agent<S: Servers = MailServers> {
    data_dir: PathBuf,
    progress: Option<OnProgress>,
    servers: Arc<S>,
}

impl<S: Servers> std::fmt::Debug for Agent<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("data_dir", &self.data_dir)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Held while an agent works on a data folder, so the app and the CLI never
/// process the same mailbox at once.
pub(crate) struct RunLock(#[allow(dead_code)] File);

pub(crate) fn lock(data_dir: &Path) -> Result<RunLock, AgentError> {
    std::fs::create_dir_all(data_dir).map_err(|e| AgentError::Lock {
        path: data_dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    let path = data_dir.join("agent.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AgentError::Lock {
            path: path.clone(),
            detail: e.to_string(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(AgentError::Busy(data_dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(AgentError::Lock {
            path,
            detail: e.to_string(),
        }),
    }
}

impl Agent {
    pub fn new(data_dir: PathBuf) -> Agent {
        Agent::with_servers(data_dir, MailServers)
    }
}

impl<S: Servers> Agent<S> {
    /// An agent that reaches the mail through `servers`.
    pub fn with_servers(data_dir: PathBuf, servers: S) -> Agent<S> {
        Agent {
            data_dir,
            progress: None,
            servers: Arc::new(servers),
        }
    }

    /// The same agent, telling `hear` how each list's sending goes.
    pub fn with_progress(
        mut self,
        hear: impl Fn(&SendProgress) + Send + Sync + 'static,
    ) -> Agent<S> {
        self.progress = Some(Arc::new(hear));
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Takes what waits in each list's INBOX (or one list's), sends what is
    /// due, files what is finished. Paused lists are skipped. One list's
    /// trouble is reported for that list and does not stop the others.
    pub async fn run_once(&self, only: Option<&str>) -> Result<RunReport, AgentError> {
        let _lock = lock(&self.data_dir)?;
        // The keychain session the run's secrets are read through opens
        // while the database does.
        self.servers.open_keychain_ahead();
        let dir = self.data_dir.clone();
        let store: SharedStore = Arc::new(Mutex::new(
            post::blocking(move || -> Result<Store, StoreError> {
                let store = Store::open(&dir)?;
                if checked::needs_restore() {
                    checked::restore(store.signature_checks()?);
                }
                Ok(store)
            })
            .await?,
        ));
        let only_list = only.map(str::to_string);
        let lists = with_store(&store, move |s| match only_list {
            Some(address) => s.list(&address).map(|l| vec![l]),
            None => s.lists(),
        })
        .await?;
        // The passwords and keys this run will ask for, in one keychain
        // session instead of one each; forgotten when the run ends.
        let running: Vec<String> = lists
            .iter()
            .filter(|l| !l.paused)
            .map(|l| l.address.clone())
            .collect();
        // The first list's mailbox is connected to (TCP, its greeting, TLS:
        // round trips to the server) while the keychain is read.
        if let Some(first) = lists.iter().find(|l| !l.paused).cloned()
            && let Some(account) = with_store(&store, move |s| s.account(&first).ok()).await
        {
            self.servers.open_inbox_ahead(&account);
        }
        let _read_ahead = self.servers.read_ahead(&running).await;
        let mut report = RunReport::default();
        for list in lists {
            let mut lr = ListReport {
                address: list.address.clone(),
                paused: list.paused,
                ..Default::default()
            };
            if list.paused {
                report.lists.push(lr);
                continue;
            }
            // A list still being set up is not an error of a run over all
            // lists; asked for by name, it is.
            let account_list = list.clone();
            if only.is_none()
                && with_store(&store, move |s| s.account(&account_list).is_err()).await
            {
                lr.no_account = true;
                report.lists.push(lr);
                continue;
            }
            let result = process_list(
                &store,
                &list,
                &mut lr,
                self.progress.as_ref(),
                &*self.servers,
            )
            .await;
            let error = result.err().map(|e| e.to_string());
            let (checked, said) = (list.clone(), error.clone());
            lr.pending = with_store(&store, move |s| -> Result<u32, StoreError> {
                s.record_check(&checked, said.as_deref())?;
                if let Some(e) = &said {
                    s.log(checked.id, None, crate::store::ActivityKind::Error, e)?;
                }
                s.pending_deliveries(&checked)
            })
            .await?;
            lr.error = error;
            report.lists.push(lr);
        }
        with_store(&store, Store::keep_signature_checks).await?;
        Ok(report)
    }
}

/// What the face running the agent (the app's tray, `conclave-cli run`)
/// hears and says while it runs.
pub trait RunHooks: Send {
    /// Every list paused (the tray's "Pause all"): no runs, and the
    /// mailboxes are not watched.
    fn paused(&self) -> bool {
        false
    }
    /// A run is about to start.
    fn starting(&mut self) {}
    /// A run ended (`Some`), or a wait ended without work (`None`: a
    /// mailbox went offline or came back), with how each mailbox is now
    /// watched. `false` ends the loop.
    fn finished(
        &mut self,
        run: Option<&Result<RunReport, AgentError>>,
        watching: Vec<(String, Watching)>,
    ) -> bool;
}

impl<S: Servers> Agent<S> {
    /// The one agent loop, for the app, the CLI and the demo alike: a run,
    /// then a wait for work — new mail noticed in IDLE, `wake`, a retry
    /// falling due, or `interval` for lists whose server has no IDLE — until
    /// `stop` is cancelled or `hooks` says to end. Errors of a run are in
    /// its report and the activity log. Servers that are not watched (the
    /// demo's mail in memory) are woken through `wake` alone.
    pub async fn run_forever(
        &self,
        interval: Duration,
        stop: CancellationToken,
        wake: &tokio::sync::Notify,
        mut hooks: impl RunHooks,
    ) {
        let mut watchers = Watchers::new(self.data_dir.clone());
        let mut woke = Woke::Work;
        loop {
            let run = if woke == Woke::Work && !hooks.paused() {
                hooks.starting();
                Some(self.run_once(None).await)
            } else {
                None
            };
            if S::WATCHED {
                watchers.sync(hooks.paused());
            }
            if !hooks.finished(run.as_ref(), watchers.states()) {
                return;
            }
            // The next run's keychain session opens while mail is awaited.
            self.servers.open_keychain_ahead();
            tokio::select! {
                _ = stop.cancelled() => return,
                w = watchers.wait(interval, wake) => woke = w,
            }
        }
    }
}

async fn process_list<S: Servers>(
    store: &SharedStore,
    list: &List,
    report: &mut ListReport,
    progress: Option<&OnProgress>,
    servers: &S,
) -> Result<(), AgentError> {
    let account_list = list.clone();
    let account = with_store(store, move |s| s.account(&account_list)).await?;
    // The TLS set-up reads the system's certificates, tens of milliseconds
    // of CPU: made now, beside the keychain reads.
    let tls_account = account.clone();
    let tls_ready =
        tokio::task::spawn_blocking(move || crate::transport::prepare_tls(&tls_account));
    // The list's keys are read (and its members' parsed) while the
    // mailbox's password is read and the mailbox logs in.
    let opening = async {
        let (imap_pw, smtp_pw) = servers.passwords(list).await?;
        let _ = tls_ready.await;
        let mailbox = servers.inbox(&account, imap_pw.expose()).await;
        Ok::<_, AgentError>((mailbox, smtp_pw))
    };
    let (opened, crypto) = tokio::join!(opening, ListCrypto::load(store, list, servers));
    let (mailbox, smtp_pw) = opened?;
    let crypto = crypto?.map(Arc::new);
    let mut mailbox = mailbox?;
    if mailbox.can_claim() {
        post::claim::look_at_claims(store, list, &mut mailbox, report).await?;
    }
    let uidvalidity = mailbox.open_inbox().await?;

    // Posts recorded by a run that stopped before deciding them, then the
    // new ones: each recorded first, then read and decided (on the blocking
    // pool: reading a post is crypto, deciding it a commit).
    let list_now = list.clone();
    let undecided: Vec<i64> = with_store(store, move |s| s.undecided_posts(&list_now))
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let waiting = post::receive::waiting(store, list, &mut mailbox, uidvalidity).await?;
    // A post to decide is mostly copies to send: the lanes' SMTP
    // connections are opened while new mail is taken (claimed, fetched,
    // recorded: round trips to the IMAP server) and the posts decided.
    let lanes = match (
        undecided.is_empty() && waiting.is_empty(),
        list.settings.send_rate,
    ) {
        (true, _) => 0,
        (false, 0) => {
            let list_now = list.clone();
            let members = with_store(store, move |s| s.members(&list_now)).await?;
            post::send::SMTP_LANES.min(members.len())
        }
        (false, _) => 1,
    };
    let opening = post::send::open_ahead(servers, &account, smtp_pw.expose(), lanes);
    // What this run read of each post to distribute, so its copies are
    // built without reading (and decrypting) it again.
    let deciding = async {
        let mut to_decide = undecided;
        to_decide.extend(
            post::receive::take_new(store, list, &mut mailbox, uidvalidity, waiting, report)
                .await?,
        );
        let mut read = HashMap::new();
        for post_id in to_decide {
            let (list, crypto) = (list.clone(), crypto.clone());
            let (decided, post) = with_store(store, move |s| {
                let mut part = ListReport::default();
                post::decide::decide_recorded(s, &list, post_id, &mut part, crypto.as_deref())
                    .map(|post| (part, post))
            })
            .await?;
            report.add_decisions(&decided);
            if let Some(post) = post {
                read.insert(post_id, Arc::new(post));
            }
        }
        // Read after deciding, which may have changed them (a join, a
        // leave).
        let list_now = list.clone();
        let members = with_store(store, move |s| s.members(&list_now)).await?;
        Ok::<_, AgentError>((read, members))
    };
    let (decided, opened) = tokio::join!(deciding, opening);
    let (read, members) = match decided {
        Ok(decided) => decided,
        Err(e) => {
            post::send::quit_all(opened).await;
            return Err(e);
        }
    };
    let headers = ListHeaders {
        owner: members
            .iter()
            .find(|m| m.role == crate::model::Role::Owner)
            .map(|m| m.email.clone()),
        autocrypt_keydata: crypto.as_deref().and_then(ListCrypto::autocrypt_keydata),
    };
    let sending = Sending {
        store: store.clone(),
        list: Arc::new(list.clone()),
        account: &account,
        password: smtp_pw.expose(),
        crypto,
        masthead: Arc::new(Masthead { headers, members }),
        servers,
        read,
        opened: std::sync::Mutex::new(opened),
    };
    // The claims are renewed beside the sending, on the IMAP connection
    // that waits meanwhile.
    let sent = CancellationToken::new();
    let (sending_ended, ()) = tokio::join!(
        async {
            let ended = sending.send_due(report, progress).await;
            sent.cancel();
            ended
        },
        post::claim::keep_claims(store, list, &mut mailbox, &sent),
    );
    let finished = async {
        sending_ended?;
        reminders::send_due(&sending, report).await?;
        announcements::send_due(&sending, report).await
    }
    .await;
    // The SMTP connections are ended (a QUIT, a round trip each) while the
    // posts are filed: every delivery is on record by now.
    let filing = async {
        finished?;
        let list_now = list.clone();
        let to_file = with_store(store, move |s| {
            s.complete_posts(&list_now)?;
            s.posts_to_file(&list_now)
        })
        .await?;
        post::file::file_posts(store, &mut mailbox, &to_file, report).await
    };
    // Whether a backup is due is the store's to say, meanwhile too.
    let (filed, (), backup_due) = tokio::join!(
        filing,
        sending.close_unused(),
        crate::backup::due(store, list)
    );
    filed?;
    // A backup that fails does not hold up the mail: it is told in the log
    // and tried again next run.
    let backed_up = match backup_due {
        Ok(Some(due)) => crate::backup::make(store, list, due, &mut mailbox, servers).await,
        Ok(None) => Ok(false),
        Err(e) => Err(e),
    };
    match backed_up {
        Ok(made) => report.backed_up = made,
        Err(e) => {
            let (list, said) = (
                list.clone(),
                format!("the backup in the mailbox failed: {e}"),
            );
            with_store(store, move |s| {
                s.log(list.id, None, crate::store::ActivityKind::Error, &said)
            })
            .await?;
        }
    }
    // Sharing changes with the other laptops does not hold up the mail
    // either.
    if let Err(e) = crate::sync::exchange(store, list, &mut mailbox, servers, report).await {
        let (list, said) = (
            list.clone(),
            format!("sharing changes with the list's other laptops failed: {e}"),
        );
        with_store(store, move |s| {
            s.log(list.id, None, crate::store::ActivityKind::Error, &said)
        })
        .await?;
    }
    mailbox.logout().await;
    Ok(())
}

/// The app runs the agent on tokio's worker threads: its future must be Send.
#[allow(dead_code)]
fn run_once_is_send(agent: &Agent) {
    fn send<T: Send>(_: T) {}
    send(agent.run_once(None));
}

#[cfg(test)]
mod tests;
