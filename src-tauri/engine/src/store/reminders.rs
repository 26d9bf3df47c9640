//! Which members were told that their key ends soon, so each is told once
//! a month ahead and once a week ahead, per key.

use std::collections::HashSet;

use rusqlite::params;

use super::{Result, Store, now};
use crate::model::List;

impl Store {
    /// (lower-case address, fingerprint, days ahead) of every reminder
    /// sent on `list`.
    pub fn reminders_sent(&self, list: &List) -> Result<HashSet<(String, String, u32)>> {
        let mut stmt = self.conn.prepare(
            "SELECT lower(email), fingerprint, days FROM key_reminders WHERE list_id = ?1",
        )?;
        let rows = stmt.query_map([list.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<HashSet<_>>>()?)
    }

    pub fn record_reminder(
        &self,
        list: &List,
        email: &str,
        fingerprint: &str,
        days: u32,
        expires_at: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO key_reminders (list_id, email, fingerprint, days, expires_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![list.id, email, fingerprint, days, expires_at, now()],
        )?;
        Ok(())
    }
}
