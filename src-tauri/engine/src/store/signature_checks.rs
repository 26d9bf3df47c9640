//! The OpenPGP signatures already found good, kept between runs: a run of
//! `conclave-cli run --once` (or an agent just started) would otherwise
//! verify every member's key again before its first copy, about half a
//! millisecond a member. Each entry is sequoia's own name for one good
//! verification (see `crypto::openpgp::checked`); it vouches for nothing
//! but that exact signature over that exact data by that exact key.

use rusqlite::params;

use super::{Result, Store};

/// Entries not needed for this many days are let go.
pub const KEEP_DAYS: i64 = 30;

/// Today, as the day number the table counts in.
pub fn today() -> i64 {
    super::now().div_euclid(86_400)
}

impl Store {
    /// The checks needed in the last [`KEEP_DAYS`] days.
    pub fn signature_checks(&self) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT entry FROM signature_checks WHERE used_on >= ?1")?;
        let rows = stmt.query_map([today() - KEEP_DAYS], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Keeps every check this process made or used (sequoia's cache, see
    /// `crypto::openpgp::checked`) for the runs to come, noted as needed
    /// today.
    pub fn keep_signature_checks(&self) -> Result<()> {
        let entries = crate::crypto::openpgp::checked::made_or_used();
        if entries.is_empty() {
            return Ok(());
        }
        self.note_signature_checks(&entries, today())
    }

    /// Notes `entries` as needed on `day` (new ones added), and lets go of
    /// those not needed for [`KEEP_DAYS`] days. One transaction, which
    /// writes nothing when every entry was already noted that day.
    pub fn note_signature_checks(&self, entries: &[Vec<u8>], day: i64) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO signature_checks (entry, used_on) VALUES (?1, ?2)
                 ON CONFLICT (entry) DO UPDATE SET used_on = excluded.used_on
                 WHERE used_on < excluded.used_on",
            )?;
            for entry in entries {
                stmt.execute(params![entry, day])?;
            }
        }
        tx.execute(
            "DELETE FROM signature_checks WHERE used_on < ?1",
            [day - KEEP_DAYS],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;
    use crate::store::test_support::store;

    #[test]
    fn checks_are_kept_renewed_and_let_go_after_a_month() {
        let (_dir, store) = store();
        let (a, b) = (vec![1u8; 32], vec![2u8; 32]);
        store
            .note_signature_checks(std::slice::from_ref(&a), today() - KEEP_DAYS - 5)
            .unwrap();
        store
            .note_signature_checks(std::slice::from_ref(&b), today())
            .unwrap();
        // `a` was last needed too long ago: it is no longer read, and the
        // next note lets it go.
        assert_eq!(store.signature_checks().unwrap(), vec![b.clone()]);
        store.note_signature_checks(&[], today()).unwrap();
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM signature_checks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        // Needed again: renewed, not doubled; an older day does not move it
        // back.
        store
            .note_signature_checks(std::slice::from_ref(&a), today())
            .unwrap();
        store
            .note_signature_checks(std::slice::from_ref(&a), today() - 3)
            .unwrap();
        let mut kept = store.signature_checks().unwrap();
        kept.sort();
        assert_eq!(kept, vec![a, b]);
    }

    #[test]
    fn forgetting_a_list_forgets_every_check() {
        let (_dir, store) = store();
        let list = store
            .create_list("list@example.org", "List", Protocol::Openpgp)
            .unwrap();
        store
            .note_signature_checks(&[vec![7u8; 32]], today())
            .unwrap();
        store.delete_list(&list).unwrap();
        assert!(store.signature_checks().unwrap().is_empty());
    }
}
