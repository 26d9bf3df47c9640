//! A renewed list key, to be mailed to each member once: the newest
//! announcement of each protocol, to the members who were on the list when
//! it was made and have not had it yet.

use rusqlite::params;

use super::{Result, Store, now};
use crate::model::{List, Protocol};

/// A renewed list key still to be mailed to some members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub id: i64,
    pub protocol: Protocol,
    pub fingerprint: String,
    /// When the renewed key ends, as the owner was told.
    pub expires: String,
    /// The members still to be told.
    pub to: Vec<String>,
}

impl Store {
    /// The newest announcement of each of the list's protocols, with the
    /// members still to be told; those told of all are left out.
    pub fn announcements_due(&self, list: &List) -> Result<Vec<Announcement>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id, a.protocol, a.fingerprint, a.expires, a.made_at FROM key_announcements a
             WHERE a.list_id = ?1
               AND a.id = (SELECT max(b.id) FROM key_announcements b
                           WHERE b.list_id = a.list_id AND b.protocol = a.protocol)",
        )?;
        let rows = stmt
            .query_map([list.id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (id, protocol, fingerprint, expires, made_at) in rows {
            let mut to = self.conn.prepare(
                "SELECT m.email FROM members m
                 WHERE m.list_id = ?1 AND m.added_at <= ?2
                   AND NOT EXISTS (SELECT 1 FROM key_announced k
                                   WHERE k.announcement_id = ?3 AND k.email = m.email)
                 ORDER BY m.email",
            )?;
            let to = to
                .query_map(params![list.id, made_at, id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            if !to.is_empty() {
                out.push(Announcement {
                    id,
                    protocol: protocol.parse().unwrap_or(Protocol::Openpgp),
                    fingerprint,
                    expires,
                    to,
                });
            }
        }
        Ok(out)
    }

    pub fn record_announced(&self, announcement: i64, email: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO key_announced (announcement_id, email, sent_at) VALUES (?1, ?2, ?3)",
            params![announcement, email, now()],
        )?;
        Ok(())
    }
}
