//! Sending what is due: each delivery's message built, sent over SMTP and
//! its state committed before and after, over up to [`SMTP_LANES`]
//! connections side by side; temporary refusals tried again with backoff.
//!
//! A lane records a copy's outcome together with the next copy's start, in
//! the commit it must make anyway before that send, and the lanes' commits
//! of one moment are one transaction ([`committer`]): about one fsync per
//! copy across all lanes instead of two per copy per lane. A crash still
//! repeats at most the copy each connection had in flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::agent::{AgentError, ListReport};
use crate::model::{Account, List};
use crate::store::{Delivery, DeliveryChange, DeliveryKind, Outcome, Store, now};
use crate::transport::smtp::{Addressed, SendOutcome};
use crate::transport::{Sender, Servers, TransportError};

use super::deliver::render::{self, Author};
use super::deliver::{self, Copy, CopyError, Masthead, notices};
use super::keys::ListCrypto;
use super::read::ReadPost;
use super::{SharedStore, blocking, db, with_store};

/// How often a delivery is tried before it counts as failed. With the
/// backoff below this spans about half a day.
pub const MAX_SEND_ATTEMPTS: u32 = 16;

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

/// Counts the deliveries of one list's sending as its lanes try them, and
/// tells the listener: first none of the total, then each one done, and a
/// last report when the sending ends short of the total.
pub(crate) struct Tally<'a> {
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

/// The wait before retry number `attempts + 1`: one minute, doubling, at
/// most an hour.
pub fn retry_delay(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(6);
    (60i64 << exp).min(3600)
}

/// A post ready to be sent, kept for the rest of a fan-out.
pub(crate) enum Rendering {
    Plain(Arc<Vec<u8>>),
    Protected(Arc<deliver::Prepared>),
}

/// How many SMTP connections a fan-out uses at once when the list has no
/// send-rate: the server handles several messages in parallel, which is most
/// of the time of a fan-out to many members.
pub const SMTP_LANES: usize = 4;

/// What one lane of a fan-out did.
#[derive(Default)]
pub(crate) struct LaneReport {
    sent: u32,
    failed: u32,
    retrying: u32,
}

/// How long the copies wait once the provider refuses more mail: then one
/// copy tries again, and if the limit still holds they wait again.
pub const LIMIT_WAIT_SECS: i64 = 3600;

/// One list's sending in one run: what it sends with and as. The parts
/// blocking work needs (the store, the list, its keys, what copies name)
/// are shared, so that work can go to the blocking pool.
pub(crate) struct Sending<'a, S: Servers> {
    pub(crate) store: SharedStore,
    pub(crate) list: Arc<List>,
    pub(crate) account: &'a Account,
    pub(crate) password: &'a str,
    pub(crate) crypto: Option<Arc<ListCrypto>>,
    pub(crate) masthead: Arc<Masthead>,
    /// Where the SMTP connections come from.
    pub(crate) servers: &'a S,
    /// The posts this run decided to distribute, as it read them; a post
    /// decided in an earlier run is read again.
    pub(crate) read: HashMap<i64, Arc<ReadPost>>,
    /// SMTP connections opened ahead, while the posts were being decided
    /// ([`open_ahead`]), and those whose lanes are done: a lane takes one
    /// before it opens its own, and the rest are ended at the end.
    pub(crate) opened: std::sync::Mutex<Vec<S::Sender>>,
}

/// Ends these connections, side by side.
pub(crate) async fn quit_all<C: Sender>(connections: Vec<C>) {
    futures::future::join_all(connections.into_iter().map(Sender::quit)).await;
}

/// Opens up to `lanes` SMTP connections side by side. One that fails is
/// left out: its lane opens it again, and tells what failed.
pub(crate) async fn open_ahead<S: Servers>(
    servers: &S,
    account: &Account,
    password: &str,
    lanes: usize,
) -> Vec<S::Sender> {
    let opening = (0..lanes).map(|_| servers.sender(account, password));
    futures::future::join_all(opening)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// What one delivery sends, or why it cannot be made.
type Message = Result<Arc<Vec<u8>>, CopyError>;

fn domain(list: &List) -> &str {
    list.address.rsplit('@').next().unwrap_or("localhost")
}

impl<S: Servers> Sending<'_, S> {
    /// An SMTP connection: one opened ahead, or a new one.
    pub(crate) async fn connection(&self) -> Result<S::Sender, TransportError> {
        let ahead = self.opened.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match ahead {
            Some(conn) if !conn.is_broken() => Ok(conn),
            _ => self.servers.sender(self.account, self.password).await,
        }
    }

    /// Ends the connections opened ahead that no lane took, and those of
    /// the lanes that are done.
    pub(crate) async fn close_unused(&self) {
        let unused = std::mem::take(&mut *self.opened.lock().unwrap_or_else(|p| p.into_inner()));
        quit_all(unused).await;
    }

    /// Sends every delivery that is due, each state committed before and
    /// after its send: over one SMTP connection when the list has a
    /// send-rate, else over up to [`SMTP_LANES`] connections side by side.
    pub(crate) async fn send_due(
        &self,
        report: &mut ListReport,
        progress: Option<&OnProgress>,
    ) -> Result<(), AgentError> {
        let list = self.list.clone();
        let mut due = with_store(&self.store, move |s| s.due_deliveries(&list, now())).await?;
        if due.is_empty() {
            return Ok(());
        }
        if let Some(limit) = self.account.daily_limit {
            report.waiting_for_limit += self.keep_to_daily_limit(&mut due, limit).await?;
            if due.is_empty() {
                return Ok(());
            }
        }
        let tally = Tally::start(&self.list.address, due.len(), progress);
        // Prepared once per post: a plain list sends every member the same
        // bytes; a protected list signs once and encrypts per member.
        let mut prepared: HashMap<i64, Arc<Result<Rendering, CopyError>>> = HashMap::new();
        for delivery in due.iter().filter(|d| d.kind == DeliveryKind::Post) {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                prepared.entry(delivery.post_id)
            {
                slot.insert(Arc::new(self.prepare(delivery.post_id).await));
            }
        }
        let lanes = if self.list.settings.send_rate > 0 {
            1
        } else {
            SMTP_LANES.min(due.len())
        };
        let (commits, to_commit) = tokio::sync::mpsc::unbounded_channel();
        // The provider's words once it refuses more mail: every lane stops.
        let limited: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let sending = async {
            let lane = |i: usize| {
                let mine: Vec<&Delivery> = due.iter().skip(i).step_by(lanes).collect();
                self.send_lane(mine, &prepared, &tally, commits.clone(), &limited)
            };
            let outcomes = futures::future::join_all((0..lanes).map(lane)).await;
            // The committer ends once no lane can ask it for more.
            drop(commits);
            outcomes
        };
        let ((), outcomes) = tokio::join!(committer(self.store.clone(), to_commit), sending);
        tally.end();
        let words = limited.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(words) = words {
            let list = self.list.clone();
            let until = now() + LIMIT_WAIT_SECS;
            report.waiting_for_limit =
                with_store(&self.store, move |s| s.wait_for_limit(&list, until, &words)).await?;
        }
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

    /// Leaves in `due` what the account's daily limit lets go out now (the
    /// messages of the last 24 hours counted); the rest wait until the
    /// first of those is a day old and makes room. Returns how many wait.
    async fn keep_to_daily_limit(
        &self,
        due: &mut Vec<Delivery>,
        limit: u32,
    ) -> Result<u32, AgentError> {
        let list = self.list.clone();
        let (sent, first) = with_store(&self.store, move |s| s.sent_in_last_day(&list)).await?;
        let room = limit.saturating_sub(sent) as usize;
        if due.len() <= room {
            return Ok(0);
        }
        let later: Vec<i64> = due.split_off(room).iter().map(|d| d.id).collect();
        // A day after the first send of the window (this run's, when it is
        // the first) a place frees.
        let until = first.unwrap_or_else(now) + 86_400;
        let (list, words) = (
            self.list.clone(),
            format!(
                "the account's daily limit of {limit} messages is reached (daily-limit; {sent} went out in the last 24 hours before this run)"
            ),
        );
        Ok(with_store(&self.store, move |s| {
            s.wait_for_daily_limit(&list, until, &words, &later)
        })
        .await?)
    }

    /// A post made ready for its copies, on the blocking pool (a protected
    /// list's post is decrypted, signed and encrypted once here).
    async fn prepare(&self, post_id: i64) -> Result<Rendering, CopyError> {
        let (store, list, crypto, masthead) = (
            self.store.clone(),
            self.list.clone(),
            self.crypto.clone(),
            self.masthead.clone(),
        );
        let read = self.read.get(&post_id).cloned();
        blocking(move || {
            let raw = db(&store)
                .post_raw(post_id)
                .ok()
                .flatten()
                .ok_or(CopyError::Gone)?;
            let read = match read {
                Some(read) if read.unwrapped.is_some() == crypto.is_some() => read,
                _ => Arc::new(
                    ReadPost::again(&raw, crypto.as_deref(), list.settings.max_size as usize)
                        .map_err(|e| CopyError::Unreadable(e.to_string()))?,
                ),
            };
            let fallback = format!("<conclave.{}.{post_id}@{}>", list.id, domain(&list));
            match (crypto, &read.unwrapped) {
                (Some(c), Some(unwrapped)) => {
                    deliver::prepare(&raw, &read.post, unwrapped, &list, &c, &masthead, &fallback)
                        .map(Rendering::Protected)
                }
                _ => {
                    let author = match read.post.poster() {
                        Some(p) => Author::named(p, &masthead.members),
                        None => Author::the_list(&list),
                    };
                    let copy =
                        render::render_post(&raw, &list, &masthead.headers, &author, &fallback);
                    Ok(Rendering::Plain(Arc::new(copy)))
                }
            }
        })
        .await
    }

    /// What one delivery sends. Copies are encrypted and notices signed on
    /// the blocking pool.
    async fn message(
        &self,
        delivery: &Delivery,
        prepared: &HashMap<i64, Arc<Result<Rendering, CopyError>>>,
    ) -> Result<Message, AgentError> {
        let (list, crypto, masthead) = (
            self.list.clone(),
            self.crypto.clone(),
            self.masthead.clone(),
        );
        let d = delivery.clone();
        Ok(match delivery.kind {
            DeliveryKind::Post => {
                let rendering = prepared.get(&delivery.post_id).cloned();
                blocking(move || match (rendering.as_deref(), crypto) {
                    (None, _) => Err(CopyError::NotPrepared),
                    (Some(Err(e)), _) => Err(e.clone()),
                    (Some(Ok(Rendering::Plain(m))), _) => Ok(m.clone()),
                    (Some(Ok(Rendering::Protected(p))), Some(c)) => {
                        match deliver::copy_for(p, &list, &c, &d.recipient) {
                            Ok(Copy::Post(m)) => Ok(Arc::new(m)),
                            // Its key went away since the post was decided.
                            Ok(Copy::KeylessNotice) => {
                                keyless(&list, Some(&c), &masthead, &d).map(Arc::new)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    (Some(Ok(Rendering::Protected(_))), None) => Err(CopyError::NoListKey),
                })
                .await
            }
            DeliveryKind::KeylessNotice => {
                blocking(move || keyless(&list, crypto.as_deref(), &masthead, &d).map(Arc::new))
                    .await
            }
            DeliveryKind::Reply => {
                let id = delivery.id;
                with_store(&self.store, move |s| s.delivery_body(id))
                    .await?
                    .map(Arc::new)
                    .ok_or(CopyError::AnswerMissing)
            }
            DeliveryKind::Notice => Ok(Arc::new(
                with_store(&self.store, move |s| notice(s, &list, &d)).await?,
            )),
            DeliveryKind::OwnerNotice => Ok(Arc::new(
                with_store(&self.store, move |s| owner_notice(s, &list, &d)).await?,
            )),
        })
    }

    /// One lane of a fan-out: its deliveries in order over one connection.
    /// What was done is counted even when the lane stops on an error, and
    /// recorded before the lane gives up.
    async fn send_lane(
        &self,
        due: Vec<&Delivery>,
        prepared: &HashMap<i64, Arc<Result<Rendering, CopyError>>>,
        tally: &Tally<'_>,
        commits: Commits,
        limited: &std::sync::Mutex<Option<String>>,
    ) -> (LaneReport, Option<AgentError>) {
        let list = self.list.clone();
        let mut counts = LaneReport::default();
        // Outcomes not yet committed: they go with the next copy's start.
        let mut pending: Vec<DeliveryChange> = Vec::new();
        let result = async {
            let pause = (list.settings.send_rate > 0)
                .then(|| Duration::from_secs_f64(60.0 / list.settings.send_rate as f64));
            let mut smtp: Option<S::Sender> = None;
            // The copy whose envelope the server accepted, with its message.
            let mut offered: Option<Arc<Vec<u8>>> = None;
            let mut k = 0;
            while k < due.len() {
                if limited.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                    // The provider takes no more for now: what is left waits.
                    break;
                }
                let delivery = due[k];
                k += 1;
                if let (true, Some(p)) = (k > 1, pause) {
                    tokio::time::sleep(p).await;
                }
                if offered.is_none() && smtp.as_ref().is_none_or(|s| s.is_broken()) {
                    // Before its start is on record: a server out of reach
                    // counts no attempt.
                    smtp = Some(self.connection().await?);
                }
                // Its start is committed (with the last copy's outcome)
                // before its message is handed over, and meanwhile it is
                // made and its envelope offered, and the next copy made.
                pending.push(DeliveryChange::Sending(delivery.id));
                let changes = std::mem::take(&mut pending);
                let next = due.get(k).copied().filter(|_| pause.is_none());
                let this = match offered.take() {
                    Some(message) => Ok(Ok(message)),
                    None => Err(()),
                };
                let making = async {
                    let this = match this {
                        Ok(made) => made,
                        Err(()) => {
                            let conn = smtp.as_mut().expect("connected above");
                            match self.message(delivery, prepared).await? {
                                Ok(m) => {
                                    let copy = addressed(&list, delivery, &m);
                                    conn.offer(copy)
                                        .await
                                        .map(|()| m)
                                        .map_err(Refused::Envelope)
                                }
                                Err(e) => Err(Refused::Unmade(e)),
                            }
                        }
                    };
                    let next = match next {
                        Some(d) if this.is_ok() => Some((d, self.message(d, prepared).await?)),
                        _ => None,
                    };
                    Ok::<_, AgentError>((this, next))
                };
                let (made, committed) = tokio::join!(making, commit(&commits, changes));
                committed?;
                let (this, next) = made?;
                let message = match this {
                    Ok(m) => m,
                    Err(refused) => {
                        pending.push(refused.change(delivery, &mut counts, limited));
                        tally.one_done();
                        continue;
                    }
                };
                let conn = smtp.as_mut().expect("an envelope was offered on it");
                let next_copy = match &next {
                    Some((d, Ok(m))) => Some(addressed(&list, d, m)),
                    _ => None,
                };
                let (outcome, next_offer) = conn.hand_over(&message, next_copy).await;
                pending.push(settle(outcome, delivery, &mut counts, limited));
                tally.one_done();
                match (next, next_offer) {
                    (Some((_, Ok(m))), Some(Ok(()))) => offered = Some(m),
                    (Some((d, Ok(_))), Some(Err(refused))) => {
                        // An attempt, recorded as a refusal after its start.
                        pending.push(DeliveryChange::Sending(d.id));
                        pending.push(settle(refused, d, &mut counts, limited));
                        tally.one_done();
                        k += 1;
                    }
                    (Some((d, Err(e))), _) => {
                        // Recorded as it would be after its start.
                        pending.push(DeliveryChange::Sending(d.id));
                        pending.push(Refused::Unmade(e).change(d, &mut counts, limited));
                        tally.one_done();
                        k += 1;
                    }
                    // Not offered after all: it is offered again on its turn.
                    _ => {}
                }
            }
            if let Some(conn) = smtp {
                // Ended with the others, while the post is filed (or used
                // for a reminder first).
                self.opened
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(conn);
            }
            Ok::<(), AgentError>(())
        }
        .await;
        // What was sent is recorded whatever stopped the lane: a copy left
        // as sending would go out again.
        let recorded = commit(&commits, pending).await;
        (counts, result.and(recorded).err())
    }
}

/// Why a copy's message was not handed over.
enum Refused {
    /// The copy could not be made.
    Unmade(CopyError),
    /// The server refused its envelope.
    Envelope(SendOutcome),
}

impl Refused {
    fn change(
        self,
        delivery: &Delivery,
        counts: &mut LaneReport,
        limited: &std::sync::Mutex<Option<String>>,
    ) -> DeliveryChange {
        match self {
            Refused::Unmade(e) => {
                counts.failed += 1;
                DeliveryChange::Unmade {
                    delivery: delivery.clone(),
                    error: e.to_string(),
                }
            }
            Refused::Envelope(outcome) => settle(outcome, delivery, counts, limited),
        }
    }
}

/// A delivery as its lane's connection sends it.
fn addressed<'a>(list: &'a List, delivery: &'a Delivery, message: &'a [u8]) -> Addressed<'a> {
    Addressed {
        from: &list.address,
        to: &delivery.recipient,
        message,
    }
}

/// What the server's answer makes of a delivery, counted; a sending limit
/// stops every lane.
fn settle(
    outcome: SendOutcome,
    delivery: &Delivery,
    counts: &mut LaneReport,
    limited: &std::sync::Mutex<Option<String>>,
) -> DeliveryChange {
    let d = delivery.clone();
    match outcome {
        SendOutcome::Sent => {
            counts.sent += 1;
            DeliveryChange::Sent(d.id)
        }
        SendOutcome::Failed(error) => {
            counts.failed += 1;
            DeliveryChange::Failed { delivery: d, error }
        }
        SendOutcome::Limited(error) => {
            *limited.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
            DeliveryChange::Limited {
                delivery: d,
                error,
                until: now() + LIMIT_WAIT_SECS,
            }
        }
        SendOutcome::Retry(e) => {
            let attempts = d.attempts + 1;
            if attempts >= MAX_SEND_ATTEMPTS {
                counts.failed += 1;
                DeliveryChange::Failed {
                    delivery: d,
                    error: format!("gave up after {attempts} tries: {e}"),
                }
            } else {
                counts.retrying += 1;
                DeliveryChange::Retry {
                    delivery: d,
                    error: e,
                    next_at: now() + retry_delay(attempts),
                }
            }
        }
    }
}

/// Changes to commit, and where to say they are durable.
type CommitAsk = (
    Vec<DeliveryChange>,
    tokio::sync::oneshot::Sender<Result<(), AgentError>>,
);

/// Where a lane sends its changes to be committed, and hears back.
type Commits = tokio::sync::mpsc::UnboundedSender<CommitAsk>;

/// Commits `changes` with whatever the other lanes send meanwhile, and
/// waits until they are durable.
async fn commit(commits: &Commits, changes: Vec<DeliveryChange>) -> Result<(), AgentError> {
    if changes.is_empty() {
        return Ok(());
    }
    // The committer runs beside the lanes until the last of them is done
    // (`Sending::send_due`), so it is there to answer.
    let (done, heard) = tokio::sync::oneshot::channel();
    commits
        .send((changes, done))
        .expect("the committer outlives the lanes");
    heard.await.expect("the committer answers every lane")
}

/// Group commit: takes the lanes' changes as they come, and all that
/// arrived while the last commit ran go into the next transaction. Should
/// that fail, each lane's changes are tried alone, so each lane hears its
/// own error.
async fn committer(store: SharedStore, mut asked: tokio::sync::mpsc::UnboundedReceiver<CommitAsk>) {
    while let Some(first) = asked.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = asked.try_recv() {
            batch.push(more);
        }
        let all: Vec<DeliveryChange> = batch.iter().flat_map(|(c, _)| c.clone()).collect();
        if with_store(&store, move |s| s.record_deliveries(&all))
            .await
            .is_ok()
        {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
            continue;
        }
        for (changes, done) in batch {
            let alone = with_store(&store, move |s| s.record_deliveries(&changes)).await;
            let _ = done.send(alone.map_err(AgentError::from));
        }
    }
}

/// The notice a member without a usable key gets instead of a post that
/// arrived encrypted.
fn keyless(
    list: &List,
    crypto: Option<&ListCrypto>,
    masthead: &Masthead,
    d: &Delivery,
) -> Result<Vec<u8>, CopyError> {
    let crypto = crypto.ok_or(CopyError::NoListKey)?;
    let message_id = format!("<conclave.keyless.{}@{}>", d.id, domain(list));
    let date = chrono::Utc::now().to_rfc2822();
    let env = notices::Envelope {
        to: &d.recipient,
        message_id: &message_id,
        date: &date,
    };
    deliver::keyless_notice(list, crypto, masthead, &env)
}

fn notice(store: &Store, list: &List, delivery: &Delivery) -> Result<Vec<u8>, AgentError> {
    let post = store.post(delivery.post_id)?;
    let message_id = format!("<conclave.notice.{}@{}>", delivery.id, domain(list));
    let date = chrono::Utc::now().to_rfc2822();
    let env = notices::Envelope {
        to: &delivery.recipient,
        message_id: &message_id,
        date: &date,
    };
    Ok(notices::render_notice(
        list,
        &env,
        &post.subject,
        post.reason.as_deref().unwrap_or("no reason given"),
    ))
}

fn owner_notice(store: &Store, list: &List, delivery: &Delivery) -> Result<Vec<u8>, AgentError> {
    let post = store.post(delivery.post_id)?;
    let held_id = store.held_id_of(post.id)?;
    let message_id = format!("<conclave.owner.{}@{}>", delivery.id, domain(list));
    let date = chrono::Utc::now().to_rfc2822();
    let env = notices::Envelope {
        to: &delivery.recipient,
        message_id: &message_id,
        date: &date,
    };
    Ok(notices::render_owner_notice(
        list,
        &notices::OwnerNotice {
            sender: &post.sender,
            subject: &post.subject,
            message_id: &post.message_id,
            decision: post.decision.unwrap_or(Outcome::Discard),
            reason: post.reason.as_deref().unwrap_or(""),
            held_id,
        },
        &env,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(retry_delay(1), 60);
        assert_eq!(retry_delay(2), 120);
        assert_eq!(retry_delay(3), 240);
        assert_eq!(retry_delay(10), 3600);
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
}
