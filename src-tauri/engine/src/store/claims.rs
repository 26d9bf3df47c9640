//! Claims on the server, as this laptop keeps track of them: its own (posts
//! it moved into the Claimed folder and has not filed yet) and other
//! laptops' (each with the lease mark last seen on it, and since when this
//! laptop has seen it unchanged). Only this laptop's clock is used: a mark
//! that has not changed for a whole lease, by this clock, belongs to a
//! laptop that stopped.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use crate::model::List;

impl Store {
    /// This laptop's name in its claims' marks: made once, at random, and
    /// kept. A laptop that stopped between claiming a post and recording it
    /// knows the claim for its own when it starts again.
    pub fn laptop_id(&self) -> Result<String> {
        let tx = self.conn.unchecked_transaction()?;
        let known: Option<String> = tx
            .query_row("SELECT id FROM this_laptop", [], |r| r.get(0))
            .optional()?;
        let id = match known {
            Some(id) => id,
            None => {
                let mut bytes = [0u8; 6];
                openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
                let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                tx.execute("INSERT INTO this_laptop (id) VALUES (?1)", [&id])?;
                id
            }
        };
        tx.commit()?;
        Ok(id)
    }

    /// This laptop's claims still on the server under the Claimed folder's
    /// `uidvalidity`: posts it took and has not filed yet.
    pub fn own_claims(&self, list: &List, uidvalidity: u32) -> Result<Vec<u32>> {
        let mut stmt = self.conn.prepare(
            "SELECT uid FROM posts WHERE list_id = ?1 AND folder = 'claimed'
               AND on_server = 'inbox' AND uidvalidity = ?2 ORDER BY uid",
        )?;
        let rows = stmt.query_map(params![list.id, uidvalidity], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// This laptop's claims that are gone from the Claimed folder (only
    /// `present` are there): another laptop took them over while this one
    /// was stopped. The copies this laptop had yet to send are left to it,
    /// so that members get as few twice as can be, and a copy of the post
    /// taken again later is not refused as one already seen. A claim gone
    /// after every copy went out (filed, then this laptop stopped before
    /// noting it) is only noted as filed. The number handed over.
    pub fn claims_lost(&self, list: &List, uidvalidity: u32, present: &[u32]) -> Result<u32> {
        let lost: Vec<u32> = self
            .own_claims(list, uidvalidity)?
            .into_iter()
            .filter(|uid| !present.contains(uid))
            .collect();
        let tx = self.conn.unchecked_transaction()?;
        let mut handed = 0;
        for uid in lost {
            let (post_id, state): (i64, String) = tx.query_row(
                "SELECT id, state FROM posts WHERE list_id = ?1 AND folder = 'claimed'
                   AND uidvalidity = ?2 AND uid = ?3",
                params![list.id, uidvalidity, uid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if state == "received" || state == "queued" {
                let left = tx.execute(
                    "DELETE FROM deliveries WHERE post_id = ?1 AND state IN ('queued', 'sending')",
                    [post_id],
                )?;
                tx.execute(
                    "UPDATE posts SET state = 'done', folder = 'gone', on_server = 'processed'
                     WHERE id = ?1",
                    [post_id],
                )?;
                tx.execute(
                    "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'server', ?4)",
                    params![
                        list.id,
                        post_id,
                        super::now(),
                        format!(
                            "another laptop took this post over while this one was stopped: the {left} copies not yet sent from here are its to send"
                        )
                    ],
                )?;
                handed += 1;
            } else {
                tx.execute(
                    "UPDATE posts SET on_server = 'processed' WHERE id = ?1",
                    [post_id],
                )?;
            }
        }
        tx.commit()?;
        Ok(handed)
    }

    /// Notes the marks of the claims in the Claimed folder that are not this
    /// laptop's, as seen `now`, and forgets the ones no longer there. The
    /// claims whose mark has not changed for `lease` seconds: their laptop
    /// stopped, and they are to be taken over.
    pub fn watch_claims(
        &self,
        list: &List,
        uidvalidity: u32,
        others: &[(u32, String)],
        now: i64,
        lease: i64,
    ) -> Result<Vec<u32>> {
        let tx = self.conn.unchecked_transaction()?;
        let known: Vec<(u32, u32, String, i64)> = {
            let mut stmt = tx.prepare(
                "SELECT uidvalidity, uid, mark, since FROM claims_seen WHERE list_id = ?1",
            )?;
            let rows = stmt.query_map([list.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for (v, uid, _, _) in &known {
            if *v != uidvalidity || !others.iter().any(|(u, _)| u == uid) {
                tx.execute(
                    "DELETE FROM claims_seen WHERE list_id = ?1 AND uidvalidity = ?2 AND uid = ?3",
                    params![list.id, v, uid],
                )?;
            }
        }
        let mut stale = Vec::new();
        for (uid, mark) in others {
            let seen = known
                .iter()
                .find(|(v, u, _, _)| *v == uidvalidity && u == uid);
            match seen {
                Some((_, _, was, since)) if was == mark => {
                    if now - since >= lease {
                        stale.push(*uid);
                    }
                }
                _ => {
                    tx.execute(
                        "INSERT INTO claims_seen (list_id, uidvalidity, uid, mark, since)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (list_id, uidvalidity, uid) DO UPDATE SET mark = ?4, since = ?5",
                        params![list.id, uidvalidity, uid, mark, now],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(stale)
    }

    /// Moves back the time since which every watched claim's mark has been
    /// seen, as if `seconds` had passed without a change.
    #[cfg(test)]
    pub fn age_claims(&self, seconds: i64) -> Result<()> {
        self.conn
            .execute("UPDATE claims_seen SET since = since - ?1", [seconds])?;
        Ok(())
    }

    /// Whether this laptop has claims of its own on the list's server, or
    /// watches other laptops' there: then it looks at them again within a
    /// fraction of the lease, whether or not new mail comes.
    pub fn claims_in_play(&self, list: &List) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM claims_seen WHERE list_id = ?1)
                 OR EXISTS (SELECT 1 FROM posts WHERE list_id = ?1 AND folder = 'claimed'
                              AND on_server = 'inbox')",
            [list.id],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Protocol;
    use crate::store::{NewPost, Store};

    #[test]
    fn a_claim_whose_mark_stays_the_same_for_a_lease_is_stale_and_a_changing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let list = s
            .create_list("list@example.org", "List", Protocol::Plain)
            .unwrap();
        let seen = |s: &Store, marks: &[(u32, &str)], now| {
            let marks: Vec<(u32, String)> =
                marks.iter().map(|(u, m)| (*u, m.to_string())).collect();
            s.watch_claims(&list, 7, &marks, now, 600).unwrap()
        };
        assert!(seen(&s, &[(1, "a"), (2, "a")], 1000).is_empty());
        assert!(s.claims_in_play(&list).unwrap());
        // 1 keeps being renewed, 2 does not.
        assert!(seen(&s, &[(1, "b"), (2, "a")], 1300).is_empty());
        assert!(seen(&s, &[(1, "a"), (2, "a")], 1599).is_empty());
        assert_eq!(seen(&s, &[(1, "b"), (2, "a")], 1600), vec![2]);
        assert_eq!(seen(&s, &[(1, "b"), (2, "a")], 1899), vec![2]);
        // 1 unchanged since 1600: its laptop stopped there.
        assert_eq!(seen(&s, &[(1, "b"), (2, "a")], 2200), vec![1, 2]);
        // Gone from the folder: forgotten, and a new folder starts afresh.
        assert!(seen(&s, &[], 2300).is_empty());
        assert!(!s.claims_in_play(&list).unwrap());
        assert!(seen(&s, &[(2, "a")], 2301).is_empty());
        let marks = [(2, "a".to_string())];
        assert!(
            s.watch_claims(&list, 8, &marks, 2700, 600)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_laptop_keeps_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let id = Store::open(dir.path()).unwrap().laptop_id().unwrap();
        assert_eq!(id.len(), 12);
        assert_eq!(Store::open(dir.path()).unwrap().laptop_id().unwrap(), id);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(Store::open(other.path()).unwrap().laptop_id().unwrap(), id);
    }

    #[test]
    fn own_claims_are_the_claimed_posts_not_yet_filed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let list = s
            .create_list("list@example.org", "List", Protocol::Plain)
            .unwrap();
        let record = |uid, claimed, raw: &[u8]| {
            s.record_post(
                &list,
                &NewPost {
                    uidvalidity: 7,
                    uid,
                    message_id: "",
                    sender: "a@example.org",
                    raw,
                    arrived_at: None,
                    claimed,
                },
            )
            .unwrap()
        };
        record(3, true, b"Subject: one\r\n\r\n1");
        record(4, false, b"Subject: two\r\n\r\n2");
        record(5, true, b"Subject: three\r\n\r\n3");
        assert_eq!(s.own_claims(&list, 7).unwrap(), vec![3, 5]);
        assert!(s.own_claims(&list, 8).unwrap().is_empty());
        // The INBOX position 3 is another message than the claimed 3.
        assert!(s.post_at(&list, 7, 3).unwrap().is_none());
        assert!(s.post_at(&list, 7, 4).unwrap().is_some());
        let filed = s.own_claims(&list, 7).unwrap()[0];
        let post = s
            .posts_to_file(&list)
            .unwrap()
            .into_iter()
            .chain(s.undecided_posts(&list).unwrap())
            .find(|p| p.uid == filed && p.claimed)
            .unwrap();
        s.mark_on_server(&post, crate::store::OnServer::Processed)
            .unwrap();
        assert_eq!(s.own_claims(&list, 7).unwrap(), vec![5]);
    }
}
