//! The outbox: one delivery per post and recipient. Each state change is its
//! own committed statement, so that after a crash the outbox says exactly
//! which sends may have happened: only a delivery left in `sending`.

use rusqlite::params;
use serde::Serialize;

use super::{ActivityKind, Result, Store, now};
use crate::model::List;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Queued,
    /// Handed to SMTP; if the agent died here, the send may or may not have
    /// happened, and it is sent again (the one possible duplicate).
    Sending,
    Sent,
    /// Refused for good (SMTP 5xx, or retries used up).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    /// The post itself, to a member.
    Post,
    /// A notice about the post to its sender (e.g. rejected by an owner).
    Notice,
    /// A notice to an owner that the post was held, rejected or discarded:
    /// its headers and the reason, never its content.
    OwnerNotice,
    /// Instead of a post that arrived encrypted, to a member the list has
    /// no usable key for: that a post went out, and how to send a key.
    KeylessNotice,
    /// The list's answer to a member's command, written when it was taken.
    Reply,
}

/// A change of one delivery's state, as a lane of a fan-out records it.
#[derive(Debug, Clone)]
pub enum DeliveryChange {
    /// About to be handed to the server: one more attempt. A crash before
    /// it is recorded as sent leaves it here, and it is sent again.
    Sending(i64),
    Sent(i64),
    /// Refused for now: try again at `next_at`.
    Retry {
        delivery: Delivery,
        error: String,
        next_at: i64,
    },
    /// Refused for good, or the copy could not be made.
    Failed {
        delivery: Delivery,
        error: String,
    },
    /// The copy could not be made (no usable key, say): it fails without
    /// having been tried, so its member does not count as bouncing.
    Unmade {
        delivery: Delivery,
        error: String,
    },
    /// Refused by the provider's sending limit: waits until `until`, and
    /// the attempt does not count against the copy.
    Limited {
        delivery: Delivery,
        error: String,
        until: i64,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub post_id: i64,
    pub kind: DeliveryKind,
    pub recipient: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        post_id: r.get(1)?,
        kind: match r.get::<_, String>(2)?.as_str() {
            "notice" => DeliveryKind::Notice,
            "owner-notice" => DeliveryKind::OwnerNotice,
            "keyless-notice" => DeliveryKind::KeylessNotice,
            "reply" => DeliveryKind::Reply,
            _ => DeliveryKind::Post,
        },
        recipient: r.get(3)?,
        state: match r.get::<_, String>(4)?.as_str() {
            "sending" => DeliveryState::Sending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            _ => DeliveryState::Queued,
        },
        attempts: r.get(5)?,
        last_error: r.get(6)?,
    })
}

const COLUMNS: &str = "id, post_id, kind, recipient, state, attempts, last_error";

impl Store {
    pub fn deliveries(&self, post_id: i64) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE post_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([post_id], row_to_delivery)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Deliveries of this list that are due now, oldest first. A delivery
    /// left in `sending` by a crash is due again at once.
    pub fn due_deliveries(&self, list: &List, at: i64) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE p.list_id = ?1 AND d.state IN ('queued', 'sending') AND d.next_attempt_at <= ?2
             ORDER BY d.id",
            COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let rows = stmt.query_map(params![list.id, at], row_to_delivery)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// When the next delivery waiting for a retry falls due, over the lists
    /// that are not paused; `None` when nothing waits.
    pub fn next_retry_at(&self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT min(d.next_attempt_at) FROM deliveries d JOIN posts p ON p.id = d.post_id
             JOIN lists l ON l.id = p.list_id
             WHERE l.paused = 0 AND d.state IN ('queued', 'sending') AND d.next_attempt_at > ?1",
            [now()],
            |r| r.get(0),
        )?)
    }

    /// Deliveries of this list still waiting (for a retry), for reports.
    pub fn pending_deliveries(&self, list: &List) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE p.list_id = ?1 AND d.state IN ('queued', 'sending')",
            [list.id],
            |r| r.get(0),
        )?)
    }

    /// Forgets every post's bytes, as if they were lost.
    #[cfg(test)]
    pub(crate) fn lose_raw_posts(&self) {
        self.conn
            .execute("UPDATE posts SET raw = NULL", [])
            .unwrap();
    }

    /// Moves every sent delivery `secs` into the past, as if that time had
    /// gone by (tests do not wait a day).
    #[cfg(test)]
    pub(crate) fn age_sent(&self, secs: i64) {
        self.conn
            .execute(
                "UPDATE deliveries SET updated_at = updated_at - ?1 WHERE state = 'sent'",
                [secs],
            )
            .unwrap();
    }

    /// Every waiting delivery due now, as if its retry time had come (tests
    /// do not wait a minute).
    #[cfg(test)]
    pub(crate) fn make_all_due_now(&self) {
        self.conn
            .execute(
                "UPDATE deliveries SET next_attempt_at = 0 WHERE state IN ('queued', 'sending')",
                [],
            )
            .unwrap();
    }

    /// The message of a delivery written in advance (the list's answers).
    pub fn delivery_body(&self, delivery_id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self.conn.query_row(
            "SELECT body FROM deliveries WHERE id = ?1",
            [delivery_id],
            |r| r.get(0),
        )?)
    }

    /// Records the changes of several deliveries in one transaction: the lanes
    /// of a fan-out share one commit (and its fsync) per moment.
    pub fn record_deliveries(&self, changes: &[DeliveryChange]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for change in changes {
            match change {
                DeliveryChange::Sending(id) => self.mark_sending(*id)?,
                DeliveryChange::Sent(id) => self.mark_sent(*id)?,
                DeliveryChange::Retry {
                    delivery,
                    error,
                    next_at,
                } => self.mark_retry(delivery, error, *next_at)?,
                DeliveryChange::Failed { delivery, error } => self.mark_failed(delivery, error)?,
                DeliveryChange::Unmade { delivery, error } => {
                    self.conn.execute(
                        "UPDATE deliveries SET attempts = max(attempts - 1, 0) WHERE id = ?1",
                        [delivery.id],
                    )?;
                    self.mark_failed(delivery, error)?;
                }
                DeliveryChange::Limited {
                    delivery,
                    error,
                    until,
                } => {
                    self.conn.execute(
                        "UPDATE deliveries SET state = 'queued', attempts = max(attempts - 1, 0),
                            last_error = ?1, next_attempt_at = ?2, limited_until = ?2, updated_at = ?3
                         WHERE id = ?4",
                        params![error, until, now(), delivery.id],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn mark_sending(&self, delivery_id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, limited_until = NULL,
                updated_at = ?1 WHERE id = ?2",
            params![now(), delivery_id],
        )?;
        Ok(())
    }

    pub fn mark_sent(&self, delivery_id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET state = 'sent', last_error = NULL, updated_at = ?1 WHERE id = ?2",
            params![now(), delivery_id],
        )?;
        Ok(())
    }

    /// The provider refuses more mail for now: every copy of the list that
    /// is due by `until` waits until then (trying them one by one would
    /// only collect refusals). Logged once, with the provider's words;
    /// returns how many wait.
    pub fn wait_for_limit(&self, list: &List, until: i64, words: &str) -> Result<u32> {
        let reason =
            format!("the mail provider refuses more mail for now (its sending limit: {words})");
        self.wait_until(list, until, &reason, None)
    }

    /// Like [`Store::wait_for_limit`], for the deliveries `only` (those
    /// beyond what the account's daily limit lets this run send), logged
    /// with `reason`.
    pub fn wait_for_daily_limit(
        &self,
        list: &List,
        until: i64,
        reason: &str,
        only: &[i64],
    ) -> Result<u32> {
        self.wait_until(list, until, reason, Some(only))
    }

    fn wait_until(
        &self,
        list: &List,
        until: i64,
        reason: &str,
        only: Option<&[i64]>,
    ) -> Result<u32> {
        let tx = self.conn.unchecked_transaction()?;
        let waiting = match only {
            None => self.conn.execute(
                "UPDATE deliveries SET next_attempt_at = ?1, limited_until = ?1
                 WHERE state IN ('queued', 'sending') AND next_attempt_at <= ?1
                   AND post_id IN (SELECT id FROM posts WHERE list_id = ?2)",
                params![until, list.id],
            )? as u32,
            Some(ids) => {
                let mut n = 0;
                for id in ids {
                    n += self.conn.execute(
                        "UPDATE deliveries SET next_attempt_at = ?1, limited_until = ?1
                         WHERE id = ?2 AND state IN ('queued', 'sending')",
                        params![until, id],
                    )? as u32;
                }
                n
            }
        };
        let at = chrono::DateTime::from_timestamp(until, 0)
            .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
            .unwrap_or_default();
        self.log(
            list.id,
            None,
            ActivityKind::Delivery,
            &format!("{reason}; {waiting} copies wait until {at}"),
        )?;
        tx.commit()?;
        Ok(waiting)
    }

    /// How many answers (to commands) the list wrote to `email` since
    /// `since`.
    pub fn answers_since(&self, list: &List, email: &str, since: i64) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE p.list_id = ?1 AND d.kind = 'reply' AND d.recipient = ?2 AND d.updated_at > ?3",
            params![list.id, email, since],
            |r| r.get(0),
        )?)
    }

    /// How many messages the list's account sent in the last 24 hours, and
    /// when the first of them went out.
    pub fn sent_in_last_day(&self, list: &List) -> Result<(u32, Option<i64>)> {
        Ok(self.conn.query_row(
            "SELECT count(*), min(d.updated_at) FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE p.list_id = ?1 AND d.state = 'sent' AND d.updated_at > ?2",
            params![list.id, now() - 86_400],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Copies of this list waiting for the provider's sending limit, and
    /// until when the first of them waits.
    pub fn waiting_for_limit(&self, list: &List) -> Result<(u32, Option<i64>)> {
        Ok(self.conn.query_row(
            "SELECT count(*), min(d.limited_until) FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE p.list_id = ?1 AND d.state IN ('queued', 'sending') AND d.limited_until IS NOT NULL",
            [list.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// A temporary failure: try again at `next_at`.
    pub fn mark_retry(&self, d: &Delivery, error: &str, next_at: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET state = 'queued', last_error = ?1, next_attempt_at = ?2, updated_at = ?3
             WHERE id = ?4",
            params![error, next_at, now(), d.id],
        )?;
        let list_id = self.post(d.post_id)?.list_id;
        self.log(
            list_id,
            Some(d.post_id),
            ActivityKind::Delivery,
            &format!("to {}: will try again: {error}", d.recipient),
        )
    }

    /// A final failure, recorded against the recipient.
    /// The members whose mail server refused the last copy of a post sent
    /// to them (after its retries), with the server's answer, by lowercased
    /// address. A copy that could not be made (no usable key) never reached
    /// a server and does not count; a later copy that went through clears it.
    pub fn bouncing(&self, list: &List) -> Result<std::collections::HashMap<String, String>> {
        let mut stmt = self.conn.prepare(
            "SELECT lower(d.recipient), d.state, d.last_error FROM deliveries d
             WHERE d.id IN (
                 SELECT MAX(d2.id) FROM deliveries d2 JOIN posts p ON p.id = d2.post_id
                 WHERE p.list_id = ?1 AND d2.kind = 'post' AND d2.attempts > 0
                   AND d2.state IN ('sent', 'failed')
                 GROUP BY lower(d2.recipient))",
        )?;
        let rows = stmt.query_map([list.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (email, state, error) = row?;
            if state == "failed" {
                out.insert(email, error.unwrap_or_else(|| "refused".into()));
            }
        }
        Ok(out)
    }

    pub fn mark_failed(&self, d: &Delivery, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET state = 'failed', last_error = ?1, updated_at = ?2 WHERE id = ?3",
            params![error, now(), d.id],
        )?;
        let list_id = self.post(d.post_id)?.list_id;
        self.log(
            list_id,
            Some(d.post_id),
            ActivityKind::Error,
            &format!("to {}: not delivered: {error}", d.recipient),
        )
    }
}
