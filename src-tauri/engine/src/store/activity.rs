//! The activity log: every decision and delivery with its reason.

use rusqlite::params;
use serde::Serialize;

use super::{Result, Store, now, rfc3339};
use crate::model::List;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    /// The owner changed something.
    Config,
    /// A message was found in the list's mailbox.
    Received,
    /// What was decided about a post, and why.
    Decision,
    /// A delivery was sent, retried or failed.
    Delivery,
    /// The message was filed away on the server.
    Server,
    /// Something went wrong that the owner should see.
    Error,
}

impl ActivityKind {
    fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Config => "config",
            ActivityKind::Received => "received",
            ActivityKind::Decision => "decision",
            ActivityKind::Delivery => "delivery",
            ActivityKind::Server => "server",
            ActivityKind::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: String,
    pub post_id: Option<i64>,
    pub message: String,
}

impl Store {
    pub fn log(&self, list_id: i64, post_id: Option<i64>, kind: ActivityKind, message: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![list_id, post_id, now(), kind.as_str(), message],
        )?;
        Ok(())
    }

    /// Newest first.
    pub fn activity(&self, list: &List, limit: u32) -> Result<Vec<Activity>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, kind, post_id, message FROM activity WHERE list_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![list.id, limit], |r| {
            let at: i64 = r.get(1)?;
            Ok(Activity {
                id: r.get(0)?,
                at: rfc3339(at),
                kind: r.get(2)?,
                post_id: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
