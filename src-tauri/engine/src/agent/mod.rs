//! The agent: for each list, take what waits in its INBOX, decide, queue,
//! send, and file the message away — in that order, each step recorded
//! before the next, so that a crash anywhere resumes without losing or
//! repeating a post (the one exception: a send in flight when the agent
//! died is sent again, because SMTP cannot tell whether it arrived).

use std::collections::HashMap;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

mod commands;
mod held_view;
mod protected;
mod watcher;
pub use held_view::{HeldView, RejectNotice, held_view};
use protected::{Copy, ListCrypto, Masthead};
pub use watcher::{IDLE_RENEW, QUIET_POLL, Watchers, Watching, Woke};

use crate::model::{Account, List};
use crate::policy::render::{Author, ListHeaders};
use crate::policy::{self, Decision, Post, notices, render};
use crate::secrets::{self, SecretError, SecretKind};
use crate::store::{
    Delivery, DeliveryKind, NewPost, OnServer, PostRecord, Settlement, Sighting, Store, StoreError,
    now,
};
use crate::transport::imap::Mailbox;
use crate::transport::smtp::{Outgoing, SendOutcome};
use crate::transport::{PROCESSED_FOLDER, QUARANTINE_FOLDER, TransportError};

/// How often a post may fail to be decided (a crash, a panic) before it is
/// set aside instead of tried again.
pub const MAX_DECIDE_ATTEMPTS: u32 = 3;
/// How often a delivery is tried before it counts as failed. With the
/// backoff below this spans about half a day.
pub const MAX_SEND_ATTEMPTS: u32 = 16;

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
    /// What stopped this list's run, in words for the owner.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub lists: Vec<ListReport>,
}

impl RunReport {
    pub fn has_errors(&self) -> bool {
        self.lists.iter().any(|l| l.error.is_some())
    }
}

/// How far the sending of one list's due deliveries has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendProgress {
    /// The list's address.
    pub list: String,
    /// Deliveries tried so far: sent, failed, or put off for a retry.
    pub done: u32,
    pub total: u32,
    /// The last report of this sending: every delivery was tried, or the
    /// sending stopped on an error (then `done` is less than `total`).
    pub finished: bool,
}

/// Hears how a fan-out goes. Called on the agent's task, once per delivery:
/// it must be quick (the app throttles what it shows).
pub type OnProgress = Arc<dyn Fn(&SendProgress) + Send + Sync>;

/// The agent over one data folder. Cheap to clone; each run opens the store.
#[derive(Clone)]
pub struct Agent {
    data_dir: PathBuf,
    progress: Option<OnProgress>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("data_dir", &self.data_dir)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Counts the deliveries of one list's sending as its lanes try them, and
/// tells the listener: first none of the total, then each one done, and a
/// last report when the sending ends short of the total.
struct Tally<'a> {
    list: &'a str,
    total: u32,
    done: AtomicU32,
    hear: Option<&'a OnProgress>,
}

impl<'a> Tally<'a> {
    fn start(list: &'a str, total: usize, hear: Option<&'a OnProgress>) -> Tally<'a> {
        let tally = Tally {
            list,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            done: AtomicU32::new(0),
            hear,
        };
        tally.tell(0, tally.total == 0);
        tally
    }

    fn one_done(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        self.tell(done, done >= self.total);
    }

    /// The end of the sending, whatever stopped it.
    fn end(&self) {
        let done = self.done.load(Ordering::SeqCst);
        if done < self.total {
            self.tell(done, true);
        }
    }

    fn tell(&self, done: u32, finished: bool) {
        if let Some(hear) = self.hear {
            hear(&SendProgress {
                list: self.list.to_string(),
                done,
                total: self.total,
                finished,
            });
        }
    }
}

/// Held while an agent works on a data folder, so the app and the CLI never
/// process the same mailbox at once.
struct RunLock(#[allow(dead_code)] File);

fn lock(data_dir: &Path) -> Result<RunLock, AgentError> {
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

/// The wait before retry number `attempts + 1`: one minute, doubling, at
/// most an hour.
pub fn retry_delay(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(6);
    (60i64 << exp).min(3600)
}

impl Agent {
    pub fn new(data_dir: PathBuf) -> Agent {
        Agent {
            data_dir,
            progress: None,
        }
    }

    /// The same agent, telling `hear` how each list's sending goes.
    pub fn with_progress(mut self, hear: impl Fn(&SendProgress) + Send + Sync + 'static) -> Agent {
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
        let store = Mutex::new(Store::open(&self.data_dir)?);
        let lists = match only {
            Some(address) => vec![db(&store).list(address)?],
            None => db(&store).lists()?,
        };
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
            if only.is_none() && db(&store).account(&list).is_err() {
                lr.no_account = true;
                report.lists.push(lr);
                continue;
            }
            let result = process_list(&store, &list, &mut lr, self.progress.as_ref()).await;
            let error = result.err().map(|e| e.to_string());
            let store = db(&store);
            store.record_check(&list, error.as_deref())?;
            if let Some(e) = &error {
                store.log(list.id, None, crate::store::ActivityKind::Error, e)?;
            }
            lr.pending = store.pending_deliveries(&list)?;
            lr.error = error;
            report.lists.push(lr);
        }
        Ok(report)
    }

    /// Runs until `stop` is cancelled: a run, then a wait for work — new
    /// mail noticed in IDLE, `wake`, a retry falling due, or `interval` for
    /// lists whose server has no IDLE. Errors of a run are in its report and
    /// the activity log; only a busy lock ends the loop.
    pub async fn run_forever(
        &self,
        interval: Duration,
        stop: tokio_util::sync::CancellationToken,
        wake: std::sync::Arc<tokio::sync::Notify>,
        mut on_report: impl FnMut(Result<RunReport, AgentError>),
    ) {
        let mut watchers = Watchers::new(self.data_dir.clone());
        loop {
            let result = self.run_once(None).await;
            let busy = matches!(result, Err(AgentError::Busy(_)));
            on_report(result);
            if busy {
                return;
            }
            watchers.sync(false);
            // A watcher going offline or coming back is no work by itself.
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    woke = watchers.wait(interval, &wake) => if woke == Woke::Work { break },
                }
            }
        }
    }
}

async fn passwords(
    list: &List,
) -> Result<(secrets::Sensitive<String>, secrets::Sensitive<String>), AgentError> {
    let imap = secrets::load(&list.address, SecretKind::ImapPassword).await?;
    let smtp = secrets::load(&list.address, SecretKind::SmtpPassword).await?;
    Ok((imap, smtp))
}

/// The store is shared with the futures of a run, which tokio may move
/// between threads; each use locks it for one synchronous step, never across
/// an await.
fn db(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn process_list(
    store: &Mutex<Store>,
    list: &List,
    report: &mut ListReport,
    progress: Option<&OnProgress>,
) -> Result<(), AgentError> {
    let account = db(store).account(list)?;
    let (imap_pw, smtp_pw) = passwords(list).await?;
    let ca = account.ca_pem.as_deref();

    let crypto = ListCrypto::load(store, list).await?;
    let crypto = crypto.as_ref();

    let mut mailbox = Mailbox::connect(&account.imap, ca, imap_pw.expose()).await?;
    let uidvalidity = mailbox.open_inbox().await?;

    // Posts recorded by a run that stopped before deciding them.
    let undecided = db(store).undecided_posts(list)?;
    for post in undecided {
        decide_recorded(&db(store), list, post.id, report, crypto)?;
    }
    // New messages: record first, then decide.
    for uid in mailbox.waiting_uids().await? {
        let known = db(store).post_at(list, uidvalidity, uid)?.is_some();
        if known {
            continue;
        }
        let Some((raw, arrived_at)) = mailbox.fetch(uid).await? else {
            continue;
        };
        let (message_id, sender) = policy::Post::read(&raw)
            .map(|p| (p.message_id.clone(), p.sender_text()))
            .unwrap_or_default();
        let new = NewPost {
            uidvalidity,
            uid,
            message_id: &message_id,
            sender: &sender,
            raw: &raw,
            arrived_at,
        };
        let sighting = db(store).record_post(list, &new)?;
        match sighting {
            Sighting::New(id) => {
                report.new_posts += 1;
                decide_recorded(&db(store), list, id, report, crypto)?;
            }
            Sighting::Copy { .. } => report.discarded += 1,
        }
    }

    let members = db(store).members(list)?;
    let headers = ListHeaders {
        owner: members
            .iter()
            .find(|m| m.role == crate::model::Role::Owner)
            .map(|m| m.email.clone()),
        autocrypt_keydata: crypto.and_then(ListCrypto::autocrypt_keydata),
    };
    let masthead = Masthead {
        headers: &headers,
        members: &members,
    };
    let sending = Sending {
        store,
        list,
        account: &account,
        password: smtp_pw.expose(),
        crypto,
        masthead: &masthead,
    };
    sending.send_due(report, progress).await?;
    db(store).complete_posts(list)?;

    let to_file = db(store).posts_to_file(list)?;
    for post in to_file {
        file_post(store, &mut mailbox, uidvalidity, &post, report).await?;
    }
    mailbox.logout().await;
    Ok(())
}

/// Decides one recorded post and records the decision with all that follows
/// from it. A post that cannot be read, or that failed too often (a crash
/// or a panic while deciding), is quarantined instead.
fn decide_recorded(
    store: &Store,
    list: &List,
    post_id: i64,
    report: &mut ListReport,
    crypto: Option<&ListCrypto>,
) -> Result<(), AgentError> {
    let attempts = store.begin_attempt(post_id)?;
    let raw = store.post_raw(post_id)?.unwrap_or_default();
    let quarantine = |reason: String| Settlement {
        decision: "quarantine",
        reason,
        ..Settlement::default()
    };
    let settlement = if attempts > MAX_DECIDE_ATTEMPTS {
        quarantine(format!(
            "processing it failed {MAX_DECIDE_ATTEMPTS} times; set aside so the posts behind it go on"
        ))
    } else {
        let members = store.members(list)?;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<_, AgentError> {
            let post = match Post::read(&raw) {
                Ok(post) => post,
                Err(unreadable) => return Ok(Err(unreadable)),
            };
            let reused = store.message_id_taken(post_id)?;
            Ok(Ok(match crypto {
                None => {
                    let decision = policy::hold_reused_message_id(
                        policy::decide(&post, list, &members),
                        reused,
                    );
                    let plan = match &decision {
                        Decision::Distribute { recipients } => {
                            policy::plan_delivery(&list.settings, recipients, false, |_| false)
                        }
                        _ => policy::plan_delivery(&list.settings, &[], false, |_| false),
                    };
                    (decision, None, None, plan, post)
                }
                Some(crypto) => {
                    let arrived = store.post_arrived_at(post_id)?;
                    let judged =
                        protected::judge(&raw, &post, list, &members, crypto, store, arrived)?;
                    let decision = policy::hold_reused_message_id(judged.decision, reused);
                    let recipients = match &decision {
                        Decision::Distribute { recipients } => recipients.as_slice(),
                        _ => &[],
                    };
                    let plan = protected::plan(list, crypto, recipients, judged.arrived_encrypted);
                    (decision, judged.signature_digest, judged.signer, plan, post)
                }
            }))
        }));
        match outcome {
            Err(_) => quarantine(
                "Conclave failed on this message (an internal error); please report it".into(),
            ),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Err(unreadable))) => quarantine(unreadable.to_string()),
            Ok(Ok(Ok((decision, digest, signer, plan, post)))) => {
                for member in &plan.left_out {
                    store.log(
                        list.id,
                        Some(post_id),
                        crate::store::ActivityKind::Delivery,
                        &format!("not sent to {member}: no valid key, and the list sends only encrypted (distrib-encrypt force)"),
                    )?;
                }
                // Bounces and loops are not told to owners by mail: an
                // owner's auto-reply to such a notice would come back as
                // another bounce, and so on. Commands are answered, not
                // reported.
                let quiet = matches!(
                    decision,
                    Decision::Hold(policy::HoldReason::Automated { .. })
                        | Decision::Discard(policy::DiscardReason::Loop)
                        | Decision::Command(_)
                );
                let notify_owners = if list.settings.owner_notices && !quiet {
                    members
                        .iter()
                        .filter(|m| m.role == crate::model::Role::Owner)
                        .map(|m| m.email.clone())
                        .collect()
                } else {
                    vec![]
                };
                let base = match decision {
                    Decision::Command(command) => {
                        commands::settle(store, list, post_id, &post, &command)?
                    }
                    Decision::Distribute { .. } => Settlement {
                        recipients: plan.post_to(),
                        keyless_notices: plan.notice_to(),
                        ..settlement_for(&post, Decision::Distribute { recipients: vec![] })
                    },
                    other => settlement_for(&post, other),
                };
                Settlement {
                    signature_digest: digest,
                    signer,
                    notify_owners,
                    ..base
                }
            }
        }
    };
    match settlement.decision {
        "distribute" => report.distributed += 1,
        "hold" => report.held += 1,
        "reject" => report.rejected += 1,
        "discard" => report.discarded += 1,
        "command" => report.answered += 1,
        _ => report.quarantined += 1,
    }
    store.settle_post(post_id, &settlement)?;
    Ok(())
}

fn settlement_for(post: &Post, decision: Decision) -> Settlement {
    let base = |decision: &'static str, reason: String| Settlement {
        decision,
        reason,
        sender: post.sender_text(),
        subject: post.subject.clone(),
        approvable: true,
        ..Settlement::default()
    };
    match decision {
        Decision::Distribute { recipients } => Settlement {
            recipients,
            ..base("distribute", "from a member".into())
        },
        Decision::Hold(r) => Settlement {
            approvable: r.approvable(),
            ..base("hold", r.to_string())
        },
        Decision::Reject(r) => base("reject", r.to_string()),
        Decision::Discard(r) => base("discard", r.to_string()),
        Decision::Command(c) => base("command", c.describe().to_string()),
    }
}

/// A post ready to be sent, kept for the rest of a fan-out.
enum Rendering {
    Plain(Arc<Vec<u8>>),
    Protected(Arc<protected::Prepared>),
}

/// How many SMTP connections a fan-out uses at once when the list has no
/// send-rate: the server handles several messages in parallel, which is most
/// of the time of a fan-out to many members.
pub const SMTP_LANES: usize = 4;

/// What one lane of a fan-out did.
#[derive(Default)]
struct LaneReport {
    sent: u32,
    failed: u32,
    retrying: u32,
}

/// One list's sending in one run: what it sends with and as.
struct Sending<'a> {
    store: &'a Mutex<Store>,
    list: &'a List,
    account: &'a Account,
    password: &'a str,
    crypto: Option<&'a ListCrypto>,
    masthead: &'a Masthead<'a>,
}

impl Sending<'_> {
    fn domain(&self) -> &str {
        self.list.address.rsplit('@').next().unwrap_or("localhost")
    }

    /// Sends every delivery that is due, each state committed before and
    /// after its send: over one SMTP connection when the list has a
    /// send-rate, else over up to [`SMTP_LANES`] connections side by side.
    async fn send_due(
        &self,
        report: &mut ListReport,
        progress: Option<&OnProgress>,
    ) -> Result<(), AgentError> {
        let due = db(self.store).due_deliveries(self.list, now())?;
        if due.is_empty() {
            return Ok(());
        }
        let tally = Tally::start(&self.list.address, due.len(), progress);
        // Prepared once per post: a plain list sends every member the same
        // bytes; a protected list signs once and encrypts per member.
        let mut prepared: HashMap<i64, Result<Rendering, String>> = HashMap::new();
        for delivery in due.iter().filter(|d| d.kind == DeliveryKind::Post) {
            prepared
                .entry(delivery.post_id)
                .or_insert_with(|| self.prepare(delivery.post_id));
        }
        let lanes = if self.list.settings.send_rate > 0 {
            1
        } else {
            SMTP_LANES.min(due.len())
        };
        let lane = |i: usize| {
            let mine: Vec<&Delivery> = due.iter().skip(i).step_by(lanes).collect();
            self.send_lane(mine, &prepared, &tally)
        };
        let outcomes = futures::future::join_all((0..lanes).map(lane)).await;
        tally.end();
        let mut first_error = None;
        for outcome in outcomes {
            let (counts, error) = outcome;
            report.sent += counts.sent;
            report.failed += counts.failed;
            report.retrying += counts.retrying;
            if first_error.is_none() {
                first_error = error;
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn prepare(&self, post_id: i64) -> Result<Rendering, String> {
        let raw = db(self.store)
            .post_raw(post_id)
            .ok()
            .flatten()
            .ok_or_else(|| "the post's content is no longer stored".to_string())?;
        let fallback = format!("<conclave.{}.{post_id}@{}>", self.list.id, self.domain());
        match self.crypto {
            None => {
                let post = Post::read(&raw).map_err(|e| e.to_string())?;
                let author = match post.poster() {
                    Some(p) => Author::named(p, self.masthead.members),
                    None => Author::the_list(self.list),
                };
                let copy =
                    render::render_post(&raw, self.list, self.masthead.headers, &author, &fallback);
                Ok(Rendering::Plain(Arc::new(copy)))
            }
            Some(c) => protected::prepare(&raw, self.list, c, self.masthead, &fallback)
                .map(Rendering::Protected),
        }
    }

    /// What one delivery sends.
    fn message(
        &self,
        delivery: &Delivery,
        prepared: &HashMap<i64, Result<Rendering, String>>,
    ) -> Result<Result<Arc<Vec<u8>>, String>, AgentError> {
        let keyless = |d: &Delivery| -> Result<Vec<u8>, String> {
            let crypto = self
                .crypto
                .ok_or("the list has no key to sign a notice with")?;
            let message_id = format!("<conclave.keyless.{}@{}>", d.id, self.domain());
            let date = chrono::Utc::now().to_rfc2822();
            let env = notices::Envelope {
                to: &d.recipient,
                message_id: &message_id,
                date: &date,
            };
            protected::keyless_notice(self.list, crypto, self.masthead, &env)
        };
        Ok(match delivery.kind {
            DeliveryKind::Post => match (prepared.get(&delivery.post_id), self.crypto) {
                (None, _) => Err("the post was not prepared".into()),
                (Some(Err(e)), _) => Err(e.clone()),
                (Some(Ok(Rendering::Plain(m))), _) => Ok(m.clone()),
                (Some(Ok(Rendering::Protected(p))), Some(c)) => {
                    match protected::copy_for(p, self.list, c, &delivery.recipient) {
                        Ok(Copy::Post(m)) => Ok(Arc::new(m)),
                        // Its key went away since the post was decided.
                        Ok(Copy::KeylessNotice) => keyless(delivery).map(Arc::new),
                        Err(e) => Err(e),
                    }
                }
                (Some(Ok(Rendering::Protected(_))), None) => Err("no list key".into()),
            },
            DeliveryKind::KeylessNotice => keyless(delivery).map(Arc::new),
            DeliveryKind::Reply => db(self.store)
                .delivery_body(delivery.id)?
                .map(Arc::new)
                .ok_or_else(|| "the answer was not written".to_string()),
            DeliveryKind::Notice => Ok(Arc::new(self.notice(delivery)?)),
            DeliveryKind::OwnerNotice => Ok(Arc::new(self.owner_notice(delivery)?)),
        })
    }

    /// One lane of a fan-out: its deliveries in order over one connection.
    /// What was done is counted even when the lane stops on an error.
    async fn send_lane(
        &self,
        due: Vec<&Delivery>,
        prepared: &HashMap<i64, Result<Rendering, String>>,
        tally: &Tally<'_>,
    ) -> (LaneReport, Option<AgentError>) {
        let (store, list) = (self.store, self.list);
        let mut counts = LaneReport::default();
        let result = async {
            let pause = (list.settings.send_rate > 0)
                .then(|| Duration::from_secs_f64(60.0 / list.settings.send_rate as f64));
            let mut smtp: Option<Outgoing> = None;
            for (i, delivery) in due.into_iter().enumerate() {
                if let (true, Some(p)) = (i > 0, pause) {
                    tokio::time::sleep(p).await;
                }
                let message = match self.message(delivery, prepared)? {
                    Ok(m) => m,
                    Err(e) => {
                        db(store).mark_failed(delivery, &e)?;
                        counts.failed += 1;
                        tally.one_done();
                        continue;
                    }
                };
                if smtp.as_ref().is_none_or(|s| s.is_broken()) {
                    smtp = Some(
                        Outgoing::connect(
                            &self.account.smtp,
                            self.account.ca_pem.as_deref(),
                            self.password,
                        )
                        .await?,
                    );
                }
                let conn = smtp.as_mut().expect("connected above");
                db(store).mark_sending(delivery.id)?;
                let outcome = conn
                    .send(&list.address, &delivery.recipient, &message)
                    .await;
                let store = db(store);
                match outcome {
                    SendOutcome::Sent => {
                        store.mark_sent(delivery.id)?;
                        counts.sent += 1;
                    }
                    SendOutcome::Failed(e) => {
                        store.mark_failed(delivery, &e)?;
                        counts.failed += 1;
                    }
                    SendOutcome::Retry(e) => {
                        let attempts = delivery.attempts + 1;
                        if attempts >= MAX_SEND_ATTEMPTS {
                            store.mark_failed(
                                delivery,
                                &format!("gave up after {attempts} tries: {e}"),
                            )?;
                            counts.failed += 1;
                        } else {
                            store.mark_retry(delivery, &e, now() + retry_delay(attempts))?;
                            counts.retrying += 1;
                        }
                    }
                }
                drop(store);
                tally.one_done();
            }
            if let Some(conn) = smtp {
                conn.quit().await;
            }
            Ok::<(), AgentError>(())
        }
        .await;
        (counts, result.err())
    }

    fn notice(&self, delivery: &Delivery) -> Result<Vec<u8>, AgentError> {
        let post = db(self.store).post(delivery.post_id)?;
        let message_id = format!("<conclave.notice.{}@{}>", delivery.id, self.domain());
        let date = chrono::Utc::now().to_rfc2822();
        let env = notices::Envelope {
            to: &delivery.recipient,
            message_id: &message_id,
            date: &date,
        };
        Ok(notices::render_notice(
            self.list,
            &env,
            &post.subject,
            post.reason.as_deref().unwrap_or("no reason given"),
        ))
    }

    fn owner_notice(&self, delivery: &Delivery) -> Result<Vec<u8>, AgentError> {
        let store = db(self.store);
        let post = store.post(delivery.post_id)?;
        let held_id = store.held_id_of(post.id)?;
        let message_id = format!("<conclave.owner.{}@{}>", delivery.id, self.domain());
        let date = chrono::Utc::now().to_rfc2822();
        let env = notices::Envelope {
            to: &delivery.recipient,
            message_id: &message_id,
            date: &date,
        };
        Ok(notices::render_owner_notice(
            self.list,
            &notices::OwnerNotice {
                sender: &post.sender,
                subject: &post.subject,
                message_id: &post.message_id,
                decision: post.decision.as_deref().unwrap_or(""),
                reason: post.reason.as_deref().unwrap_or(""),
                held_id,
            },
            &env,
        ))
    }
}

/// Files a settled post on the server. A post recorded under an older
/// UIDVALIDITY is not touched by position: its UID may now name another
/// message. Its copy, seen under the new numbering, is filed instead.
async fn file_post(
    store: &Mutex<Store>,
    mailbox: &mut Mailbox,
    uidvalidity: u32,
    post: &PostRecord,
    report: &mut ListReport,
) -> Result<(), AgentError> {
    let (folder, place) = match post.state {
        crate::store::PostState::Quarantined => (QUARANTINE_FOLDER, OnServer::Quarantine),
        _ => (PROCESSED_FOLDER, OnServer::Processed),
    };
    if post.uidvalidity == uidvalidity {
        mailbox.file(post.uid, folder).await?;
        report.filed += 1;
    }
    db(store).mark_on_server(post, place)?;
    Ok(())
}

/// The app runs the agent on tokio's worker threads: its future must be Send.
#[allow(dead_code)]
fn run_once_is_send(agent: &Agent) {
    fn send<T: Send>(_: T) {}
    send(agent.run_once(None));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(retry_delay(1), 60);
        assert_eq!(retry_delay(2), 120);
        assert_eq!(retry_delay(3), 240);
        assert_eq!(retry_delay(10), 3600);
    }

    #[test]
    fn a_post_that_keeps_failing_is_quarantined_not_retried_forever() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", crate::model::Protocol::Plain)
            .unwrap();
        store
            .add_member(&list, "a@example.org", "", crate::model::Role::Member)
            .unwrap();
        let raw = b"From: a@example.org\r\nSubject: boom\r\n\r\nbody\r\n";
        let Sighting::New(id) = store
            .record_post(
                &list,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw,
                    arrived_at: None,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        // Three earlier runs died while deciding this post.
        for _ in 0..MAX_DECIDE_ATTEMPTS {
            store.begin_attempt(id).unwrap();
        }
        let mut report = ListReport::default();
        decide_recorded(&store, &list, id, &mut report, None).unwrap();
        assert_eq!(report.quarantined, 1);
        let post = store.post(id).unwrap();
        assert_eq!(post.state, crate::store::PostState::Quarantined);
        assert!(store.deliveries(id).unwrap().is_empty());
        assert_eq!(
            store.posts_to_file(&list).unwrap().len(),
            1,
            "set aside on the server too"
        );
    }

    #[test]
    fn a_post_decided_after_an_earlier_crash_goes_out_normally() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", crate::model::Protocol::Plain)
            .unwrap();
        store
            .add_member(&list, "a@example.org", "", crate::model::Role::Member)
            .unwrap();
        let raw = b"From: a@example.org\r\nSubject: ok\r\n\r\nbody\r\n";
        let Sighting::New(id) = store
            .record_post(
                &list,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw,
                    arrived_at: None,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        store.begin_attempt(id).unwrap();
        assert_eq!(store.undecided_posts(&list).unwrap().len(), 1);
        let mut report = ListReport::default();
        decide_recorded(&store, &list, id, &mut report, None).unwrap();
        assert_eq!(report.distributed, 1);
        assert_eq!(store.deliveries(id).unwrap().len(), 1);
        assert!(store.undecided_posts(&list).unwrap().is_empty());
    }

    fn heard() -> (OnProgress, Arc<Mutex<Vec<SendProgress>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let sink = calls.clone();
        (
            Arc::new(move |p: &SendProgress| sink.lock().unwrap().push(p.clone())),
            calls,
        )
    }

    #[tokio::test]
    async fn a_fan_out_over_several_lanes_counts_up_to_its_total() {
        let (hear, calls) = heard();
        let tally = Tally::start("l@example.org", 10, Some(&hear));
        // Four lanes taking turns, as send_due runs them.
        let lane = |n: usize| {
            let tally = &tally;
            async move {
                for _ in 0..n {
                    tokio::task::yield_now().await;
                    tally.one_done();
                }
            }
        };
        futures::future::join_all([lane(3), lane(3), lane(2), lane(2)]).await;
        tally.end();
        let calls = calls.lock().unwrap();
        let done: Vec<u32> = calls.iter().map(|p| p.done).collect();
        assert_eq!(
            done,
            (0..=10).collect::<Vec<_>>(),
            "from none to all, one at a time"
        );
        assert!(
            calls
                .iter()
                .all(|p| p.total == 10 && p.list == "l@example.org")
        );
        let last = calls.last().unwrap();
        assert!(last.finished && last.done == last.total);
        assert!(
            calls[..calls.len() - 1].iter().all(|p| !p.finished),
            "only the last one ends it"
        );
    }

    #[test]
    fn a_sending_stopped_by_an_error_still_ends() {
        let (hear, calls) = heard();
        let tally = Tally::start("l@example.org", 5, Some(&hear));
        tally.one_done();
        tally.one_done();
        tally.end();
        let calls = calls.lock().unwrap();
        let last = calls.last().unwrap();
        assert_eq!((last.done, last.total, last.finished), (2, 5, true));
        assert_eq!(calls.len(), 4);
        // Nobody listening is fine too.
        let quiet = Tally::start("l@example.org", 1, None);
        quiet.one_done();
        quiet.end();
    }

    #[test]
    fn one_agent_per_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        assert!(matches!(lock(dir.path()), Err(AgentError::Busy(_))));
        drop(first);
        assert!(lock(dir.path()).is_ok());
    }
}
