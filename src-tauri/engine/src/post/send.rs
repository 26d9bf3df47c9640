//! Sending what is due: each delivery's message built, sent over SMTP and
//! its state committed before and after, over up to [`SMTP_LANES`]
//! connections side by side; temporary refusals tried again with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::agent::{AgentError, ListReport};
use crate::model::{Account, List};
use crate::policy::Post;
use crate::store::{Delivery, DeliveryKind, Outcome, Store, now};
use crate::transport::smtp::SendOutcome;
use crate::transport::{Sender, Servers};

use super::db;
use super::deliver::render::{self, Author};
use super::deliver::{self, Copy, Masthead, notices};
use super::keys::ListCrypto;

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

/// One list's sending in one run: what it sends with and as.
pub(crate) struct Sending<'a, S: Servers> {
    pub(crate) store: &'a Mutex<Store>,
    pub(crate) list: &'a List,
    pub(crate) account: &'a Account,
    pub(crate) password: &'a str,
    pub(crate) crypto: Option<&'a ListCrypto>,
    pub(crate) masthead: &'a Masthead<'a>,
    /// Where the SMTP connections come from.
    pub(crate) servers: &'a S,
}

impl<S: Servers> Sending<'_, S> {
    fn domain(&self) -> &str {
        self.list.address.rsplit('@').next().unwrap_or("localhost")
    }

    /// Sends every delivery that is due, each state committed before and
    /// after its send: over one SMTP connection when the list has a
    /// send-rate, else over up to [`SMTP_LANES`] connections side by side.
    pub(crate) async fn send_due(
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
            Some(c) => deliver::prepare(&raw, self.list, c, self.masthead, &fallback)
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
            deliver::keyless_notice(self.list, crypto, self.masthead, &env)
        };
        Ok(match delivery.kind {
            DeliveryKind::Post => match (prepared.get(&delivery.post_id), self.crypto) {
                (None, _) => Err("the post was not prepared".into()),
                (Some(Err(e)), _) => Err(e.clone()),
                (Some(Ok(Rendering::Plain(m))), _) => Ok(m.clone()),
                (Some(Ok(Rendering::Protected(p))), Some(c)) => {
                    match deliver::copy_for(p, self.list, c, &delivery.recipient) {
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
            let mut smtp: Option<S::Sender> = None;
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
                    smtp = Some(self.servers.sender(self.account, self.password).await?);
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
                decision: post.decision.unwrap_or(Outcome::Discard),
                reason: post.reason.as_deref().unwrap_or(""),
                held_id,
            },
            &env,
        ))
    }
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
