//! Held posts: waiting for an owner to approve, reject or discard them.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store, StoreError, now, rfc3339};
use crate::model::List;

/// A post waiting for an owner.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HeldPost {
    pub id: i64,
    pub post_id: i64,
    /// What From says.
    pub sender: String,
    /// The member whose key made a good signature on it, when a member's
    /// key did, even if From names someone else: who really wrote it.
    pub signed_by: Option<String>,
    /// That member's key: the OpenPGP fingerprint or the certificate's
    /// SHA-256.
    pub signer_key: Option<String>,
    pub subject: String,
    pub size: u64,
    pub reason: String,
    /// Automated mail (bounces, auto-replies) can only be discarded.
    pub approvable: bool,
    /// RFC 3339, UTC.
    pub held_at: String,
}

/// What an owner does with a held post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ts_rs::TS)]
// The window sends it as a word that the app parses (parse_action).
#[ts(rename = "HeldAction", rename_all = "lowercase")]
pub enum Resolution {
    /// Send it to the members.
    Approve,
    /// Refuse it and tell the poster.
    Reject,
    /// Drop it silently.
    Discard,
}

impl Resolution {
    /// What the ledger keeps of the post afterwards.
    fn outcome(self) -> super::Outcome {
        match self {
            Resolution::Approve => super::Outcome::Approved,
            Resolution::Reject => super::Outcome::Rejected,
            Resolution::Discard => super::Outcome::Discarded,
        }
    }

    fn past(self) -> &'static str {
        match self {
            Resolution::Approve => "approved",
            Resolution::Reject => "rejected",
            Resolution::Discard => "discarded",
        }
    }
}

impl Store {
    /// The held-post number of a post, if it was held.
    pub fn held_id_of(&self, post_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM held_posts WHERE post_id = ?1",
                [post_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Held posts still waiting, oldest first.
    pub fn held_posts(&self, list: &List) -> Result<Vec<HeldPost>> {
        let mut stmt = self.conn.prepare(
            "SELECT h.id, h.post_id, p.sender, p.subject, p.size, h.reason, h.approvable, h.held_at, p.signer, p.signer_key
             FROM held_posts h JOIN posts p ON p.id = h.post_id
             WHERE p.list_id = ?1 AND h.resolution IS NULL ORDER BY h.id",
        )?;
        let rows = stmt.query_map([list.id], |r| {
            Ok(HeldPost {
                id: r.get(0)?,
                post_id: r.get(1)?,
                sender: r.get(2)?,
                subject: r.get(3)?,
                size: r.get(4)?,
                reason: r.get(5)?,
                approvable: r.get(6)?,
                held_at: rfc3339(r.get(7)?),
                signed_by: r.get(8)?,
                signer_key: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Resolves a held post in one transaction. `recipients` are who gets
    /// it when approved (or the poster, for the notice when rejected).
    pub fn resolve_held(
        &self,
        list: &List,
        held_id: i64,
        how: Resolution,
        recipients: &[String],
    ) -> Result<HeldPost> {
        // Write-locked from the start: the window and the CLI resolving the
        // same post at once take turns, and the second finds it resolved.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let row: Option<(i64, Option<String>, bool)> = tx
            .query_row(
                "SELECT h.post_id, h.resolution, h.approvable FROM held_posts h
                 JOIN posts p ON p.id = h.post_id WHERE h.id = ?1 AND p.list_id = ?2",
                params![held_id, list.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (post_id, resolution, approvable) = row.ok_or_else(|| StoreError::NoSuchHeldPost {
            list: list.address.clone(),
            id: held_id,
        })?;
        if let Some(how) = resolution {
            return Err(StoreError::HeldPostResolved { id: held_id, how });
        }
        if how == Resolution::Approve && !approvable {
            return Err(StoreError::NotApprovable { id: held_id });
        }
        let held = self
            .held_posts(list)?
            .into_iter()
            .find(|h| h.id == held_id)
            .ok_or_else(|| StoreError::NoSuchHeldPost {
                list: list.address.clone(),
                id: held_id,
            })?;
        let t = now();
        tx.execute(
            "UPDATE held_posts SET resolution = ?1, resolved_at = ?2 WHERE id = ?3",
            params![how.past(), t, held_id],
        )?;
        let (kind, state) = match how {
            Resolution::Approve if !recipients.is_empty() => ("post", "queued"),
            Resolution::Approve | Resolution::Discard => ("post", "done"),
            Resolution::Reject => ("notice", "done"),
        };
        if how != Resolution::Discard {
            for rcpt in recipients {
                tx.execute(
                    "INSERT OR IGNORE INTO deliveries (post_id, kind, recipient, updated_at) VALUES (?1, ?2, ?3, ?4)",
                    params![post_id, kind, rcpt, t],
                )?;
            }
        }
        // The bytes are kept only while members may still receive them.
        tx.execute(
            &format!(
                "UPDATE posts SET state = ?1, decision = ?2{} WHERE id = ?3",
                if state == "queued" {
                    ""
                } else {
                    ", raw = NULL"
                }
            ),
            params![state, how.outcome(), post_id],
        )?;
        let line = match how {
            Resolution::Approve => format!(
                "held post {held_id} approved by an owner: distribute to {} member(s)",
                recipients.len()
            ),
            Resolution::Reject => {
                format!("held post {held_id} rejected by an owner; the poster is told")
            }
            Resolution::Discard => format!("held post {held_id} discarded by an owner"),
        };
        tx.execute(
            "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![list.id, post_id, t, "decision", line],
        )?;
        tx.commit()?;
        Ok(held)
    }
}
