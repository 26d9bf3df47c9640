//! What travels between two laptops running one list (see `crate::sync`):
//! the members with their keys, the members removed, and the settings,
//! each with when it last changed. The store's triggers keep those times,
//! whatever path of the code made the change. Merging is per member and
//! per setting: the later change wins (a tie goes to the greater content,
//! so both laptops choose the same); a member removed later than any
//! change to them stays removed.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::bundle::{KeyRecord, MemberRecord};
use super::{ActivityKind, Result, Store, StoreError};
use crate::model::List;

/// A list's shared state as one laptop has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedState {
    pub list: String,
    pub members: Vec<MemberRecord>,
    /// Members removed, with when.
    pub gone: Vec<(String, i64)>,
    /// (setting, value, when it was set).
    pub settings: Vec<(String, String, i64)>,
    /// Posts held on that laptop, waiting or decided lately: an owner on
    /// any laptop may decide one, and the others learn the decision.
    #[serde(default)]
    pub held: Vec<SharedHeld>,
}

/// A held post as it travels: known on every laptop by the digest of its
/// bytes; the bytes only while it waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedHeld {
    pub digest: String,
    #[serde(default, with = "optional_bytes")]
    pub raw: Option<Vec<u8>>,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub reason: String,
    pub approvable: bool,
    pub held_at: i64,
    pub arrived_at: Option<i64>,
    pub signer: Option<String>,
    pub signer_key: Option<String>,
    /// "approved", "rejected", "discarded", with when.
    pub resolution: Option<(String, i64)>,
}

/// How long a decided held post is still told to the other laptops.
const DECIDED_TOLD_FOR: i64 = 30 * 24 * 3600;

mod optional_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// What merging another laptop's state changed here, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub settings: Vec<String>,
    /// Members both laptops changed since they last heard of each other.
    pub conflicts: Vec<String>,
    /// Held posts that came from the other laptop, and decisions made there.
    pub held: Vec<String>,
}

impl Merged {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.settings.is_empty()
            && self.held.is_empty()
    }
}

/// A member as compared between laptops: everything but the times.
fn content(m: &MemberRecord) -> String {
    let keys: Vec<(&str, &str, &[u8])> = m
        .keys
        .iter()
        .map(|k| {
            (
                k.protocol.as_str(),
                k.fingerprint.as_str(),
                k.cert.as_slice(),
            )
        })
        .collect();
    super::sha256_hex(
        &serde_json::to_vec(&(
            m.email.to_ascii_lowercase(),
            &m.name,
            &m.role,
            m.own_posts,
            &m.smime_cipher,
            keys,
        ))
        .unwrap_or_default(),
    )
}

/// Whether `theirs` is to replace `ours`: later, or as late and greater.
fn later(theirs: (i64, &str), ours: (i64, &str)) -> bool {
    theirs > ours
}

impl Store {
    /// The list's shared state, to send to the other laptops.
    pub fn shared_state(&self, list: &List) -> Result<SharedState> {
        let record = self.list_record(list)?;
        let gone = self
            .conn
            .prepare("SELECT email, gone_at FROM members_gone WHERE list_id = ?1 ORDER BY email")?
            .query_map([list.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let settings = self
            .conn
            .prepare(
                "SELECT key, value, changed_at FROM list_settings WHERE list_id = ?1 ORDER BY key",
            )?
            .query_map([list.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let held = self
            .conn
            .prepare(
                "SELECT p.raw_sha256, p.raw, p.message_id, p.sender, p.subject, h.reason,
                        h.approvable, h.held_at, p.arrived_at, p.signer, p.signer_key,
                        h.resolution, h.resolved_at
                 FROM held_posts h JOIN posts p ON p.id = h.post_id
                 WHERE p.list_id = ?1 AND (h.resolution IS NULL OR h.resolved_at > ?2)
                 ORDER BY h.id",
            )?
            .query_map(params![list.id, super::now() - DECIDED_TOLD_FOR], |r| {
                let resolution: Option<String> = r.get(11)?;
                let resolved_at: Option<i64> = r.get(12)?;
                Ok(SharedHeld {
                    digest: r.get(0)?,
                    raw: if resolution.is_none() {
                        r.get(1)?
                    } else {
                        None
                    },
                    message_id: r.get(2)?,
                    sender: r.get(3)?,
                    subject: r.get(4)?,
                    reason: r.get(5)?,
                    approvable: r.get(6)?,
                    held_at: r.get(7)?,
                    arrived_at: r.get(8)?,
                    signer: r.get(9)?,
                    signer_key: r.get(10)?,
                    resolution: resolution.zip(resolved_at),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SharedState {
            list: list.address.clone(),
            members: record.members,
            gone,
            settings,
            held,
        })
    }

    /// Merges another laptop's state, made at `made_at` by `laptop`, in one
    /// transaction, and logs what changed and each conflict. A state older
    /// than one already merged from that laptop changes nothing.
    pub fn merge_shared(
        &self,
        list: &List,
        laptop: &str,
        made_at: i64,
        theirs: &SharedState,
    ) -> Result<Merged> {
        let ours = self.shared_state(list)?;
        let tx = self.conn.unchecked_transaction()?;
        let before: Option<i64> = tx
            .query_row(
                "SELECT made_at FROM sync_peers WHERE list_id = ?1 AND laptop = ?2",
                params![list.id, laptop],
                |r| r.get(0),
            )
            .optional()?;
        let mut merged = Merged::default();
        // One made in the same second as the last may be newer still:
        // merged again (merging what is already here changes nothing).
        if before.is_some_and(|b| b > made_at) {
            return Ok(merged);
        }
        for m in &theirs.members {
            let email = crate::model::check_address(&m.email).map_err(StoreError::from)?;
            let mine = ours
                .members
                .iter()
                .find(|o| o.email.eq_ignore_ascii_case(&email));
            let (their_content, their_at) = (content(m), m.updated_at);
            match mine {
                Some(o) => {
                    let my_content = content(o);
                    if my_content == their_content {
                        continue;
                    }
                    // Both changed since the last state heard from there.
                    if before.is_some_and(|b| o.updated_at > b && their_at > b) {
                        merged.conflicts.push(email.clone());
                    }
                    if later((their_at, &their_content), (o.updated_at, &my_content)) {
                        replace_member(&tx, list, m)?;
                        merged.changed.push(email);
                    }
                }
                None => {
                    let removed_here = ours
                        .gone
                        .iter()
                        .find(|(e, _)| e.eq_ignore_ascii_case(&email))
                        .map(|(_, at)| *at);
                    if removed_here.is_some_and(|at| at >= their_at) {
                        continue;
                    }
                    if email.eq_ignore_ascii_case(&list.address) {
                        continue;
                    }
                    replace_member(&tx, list, m)?;
                    merged.added.push(email);
                }
            }
        }
        for (email, at) in &theirs.gone {
            let Some(o) = ours
                .members
                .iter()
                .find(|o| o.email.eq_ignore_ascii_case(email))
            else {
                continue;
            };
            // A removal in the same second as the last change wins, on
            // both laptops alike (an addition it ties with is not made).
            if o.updated_at <= *at {
                tx.execute(
                    "DELETE FROM members WHERE list_id = ?1 AND email = ?2",
                    params![list.id, o.email],
                )?;
                tx.execute(
                    "UPDATE members_gone SET gone_at = ?1 WHERE list_id = ?2 AND email = ?3",
                    params![at, list.id, o.email],
                )?;
                merged.removed.push(o.email.clone());
            }
        }
        for (key, value, at) in &theirs.settings {
            let Some((_, mine, my_at)) = ours.settings.iter().find(|(k, _, _)| k == key) else {
                continue;
            };
            if mine == value || !later((*at, value), (*my_at, mine)) {
                continue;
            }
            // A value this Conclave does not take (from a newer one) is
            // left out, not stored.
            if list.settings.clone().set(key, value).is_err() {
                continue;
            }
            tx.execute(
                "UPDATE list_settings SET value = ?1 WHERE list_id = ?2 AND key = ?3",
                params![value, list.id, key],
            )?;
            tx.execute(
                "UPDATE list_settings SET changed_at = ?1 WHERE list_id = ?2 AND key = ?3",
                params![at, list.id, key],
            )?;
            merged.settings.push(format!("{key} = {value}"));
        }
        for h in &theirs.held {
            merge_held(&tx, list, h, &mut merged)?;
        }
        let mut said = Vec::new();
        for line in &merged.held {
            said.push(format!("from the other laptop: {line}"));
        }
        for (what, who) in [
            ("member added", &merged.added),
            ("member changed", &merged.changed),
            ("member removed", &merged.removed),
            ("setting", &merged.settings),
        ] {
            for w in who {
                said.push(format!("from the other laptop: {what}: {w}"));
            }
        }
        for email in &merged.conflicts {
            let kept = if merged.changed.contains(email) {
                "the other laptop's change is the later one and replaced this laptop's"
            } else {
                "this laptop's change is the later one and stays"
            };
            said.push(format!(
                "both laptops changed member {email} since they last heard of each other: {kept}"
            ));
        }
        for line in said {
            tx.execute(
                "INSERT INTO activity (list_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
                params![list.id, super::now(), ActivityKind::Config.as_str(), line],
            )?;
        }
        tx.execute(
            "INSERT INTO sync_peers (list_id, laptop, made_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (list_id, laptop) DO UPDATE SET made_at = excluded.made_at",
            params![list.id, laptop, made_at],
        )?;
        tx.commit()?;
        Ok(merged)
    }

    /// Notes that the list has a sync secret here (made for a bundle, or
    /// brought by one): from now on its runs share changes. A list never
    /// handed over costs its runs no keychain read for it.
    pub fn start_sharing_changes(&self, list: &List) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (list_id) VALUES (?1) ON CONFLICT (list_id) DO NOTHING",
            [list.id],
        )?;
        Ok(())
    }

    /// For a list that shares changes: the digest of the state this laptop
    /// last published, and how far it read the sync folder (its
    /// UIDVALIDITY, the last UID read). `None` for a list that does not.
    pub fn sync_progress(&self, list: &List) -> Result<Option<(Option<String>, u32, u32)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT published, folder_validity, folder_uid FROM sync_state WHERE list_id = ?1",
                [list.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    pub fn set_sync_published(&self, list: &List, digest: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (list_id, published) VALUES (?1, ?2)
             ON CONFLICT (list_id) DO UPDATE SET published = excluded.published",
            params![list.id, digest],
        )?;
        Ok(())
    }

    pub fn set_sync_read(&self, list: &List, validity: u32, uid: u32) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (list_id, folder_validity, folder_uid) VALUES (?1, ?2, ?3)
             ON CONFLICT (list_id) DO UPDATE SET folder_validity = ?2, folder_uid = ?3",
            params![list.id, validity, uid],
        )?;
        Ok(())
    }

    /// Whether this laptop shares the list's changes with other laptops
    /// (it has published its state): then it looks for theirs often, not
    /// only when mail comes.
    pub fn shares_changes(&self, list: &List) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sync_state WHERE list_id = ?1 AND published IS NOT NULL)",
            [list.id],
            |r| r.get(0),
        )?)
    }
}

/// A held post of the other laptop: one new here waits here too (an owner
/// here may decide it, and this laptop then sends it); a decision made
/// there is taken here, without doing it again (the other laptop does).
fn merge_held(
    tx: &rusqlite::Transaction<'_>,
    list: &List,
    h: &SharedHeld,
    merged: &mut Merged,
) -> Result<()> {
    let here: Option<(i64, i64, Option<String>)> = tx
        .query_row(
            "SELECT h.id, p.id, h.resolution FROM held_posts h JOIN posts p ON p.id = h.post_id
             WHERE p.list_id = ?1 AND p.raw_sha256 = ?2 ORDER BY h.id DESC LIMIT 1",
            params![list.id, h.digest],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let what = format!("post from {} \"{}\"", h.sender, h.subject);
    match (here, &h.resolution) {
        (Some((held_id, post_id, None)), Some((how, at))) => {
            let outcome = match how.as_str() {
                "approved" => "approved",
                "rejected" => "rejected",
                _ => "discarded",
            };
            tx.execute(
                "UPDATE held_posts SET resolution = ?1, resolved_at = ?2 WHERE id = ?3",
                params![outcome, at, held_id],
            )?;
            tx.execute(
                "UPDATE posts SET state = 'done', decision = ?1, raw = NULL WHERE id = ?2",
                params![outcome, post_id],
            )?;
            merged.held.push(format!(
                "held post {held_id} ({what}) {outcome} there, and done from there"
            ));
        }
        (None, None) => {
            let Some(raw) = &h.raw else {
                return Ok(());
            };
            if super::sha256_hex(raw) != h.digest {
                return Ok(());
            }
            // Not on this laptop's server folders: a place of its own, below
            // any UID a server gives.
            let uid: i64 = tx.query_row(
                "SELECT min(0, coalesce(min(uid), 0)) - 1 FROM posts WHERE list_id = ?1 AND uidvalidity = 0",
                [list.id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO posts (list_id, uidvalidity, uid, message_id, sender, subject, raw_sha256, size,
                                    raw, state, on_server, folder, decision, reason, received_at,
                                    arrived_at, signer, signer_key)
                 VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'held', 'processed', 'gone', 'hold', ?9,
                         ?10, ?11, ?12, ?13)",
                params![
                    list.id,
                    uid,
                    h.message_id,
                    h.sender,
                    h.subject,
                    h.digest,
                    raw.len() as i64,
                    raw,
                    h.reason,
                    super::now(),
                    h.arrived_at,
                    h.signer,
                    h.signer_key
                ],
            )?;
            let post_id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO held_posts (post_id, reason, approvable, held_at) VALUES (?1, ?2, ?3, ?4)",
                params![post_id, h.reason, h.approvable, h.held_at],
            )?;
            merged.held.push(format!(
                "held there, and waits here too: {what} ({})",
                h.reason
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Makes the member here what the other laptop has: fields, keys, and the
/// time of its change (set last, after the triggers have had their say).
fn replace_member(tx: &rusqlite::Transaction<'_>, list: &List, m: &MemberRecord) -> Result<()> {
    let email = m.email.trim();
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM members WHERE list_id = ?1 AND email = ?2",
            params![list.id, email],
            |r| r.get(0),
        )
        .optional()?;
    let id = match id {
        Some(id) => {
            tx.execute(
                "UPDATE members SET name = ?1, role = ?2, own_posts = ?3, smime_cipher = ?4
                 WHERE id = ?5",
                params![m.name, m.role, m.own_posts, m.smime_cipher, id],
            )?;
            tx.execute("DELETE FROM member_keys WHERE member_id = ?1", [id])?;
            id
        }
        None => {
            tx.execute(
                "INSERT INTO members (list_id, email, name, role, own_posts, smime_cipher, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![list.id, email, m.name, m.role, m.own_posts, m.smime_cipher, m.added_at],
            )?;
            tx.last_insert_rowid()
        }
    };
    for KeyRecord {
        protocol,
        fingerprint,
        cert,
        added_at,
    } in &m.keys
    {
        tx.execute(
            "INSERT INTO member_keys (member_id, protocol, fingerprint, cert, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, protocol, fingerprint, cert, added_at],
        )?;
    }
    tx.execute(
        "UPDATE members SET updated_at = ?1 WHERE id = ?2",
        params![m.updated_at, id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::{Protocol, Role};
    use crate::store::Store;

    fn two() -> (tempfile::TempDir, Store, tempfile::TempDir, Store) {
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (
            Store::open(da.path()).unwrap(),
            Store::open(db.path()).unwrap(),
        );
        for s in [&a, &b] {
            let l = s
                .create_list("list@example.org", "List", Protocol::Plain)
                .unwrap();
            s.add_member(&l, "alice@example.org", "Alice", Role::Member)
                .unwrap();
        }
        (da, a, db, b)
    }

    fn list(s: &Store) -> crate::model::List {
        s.list("list@example.org").unwrap()
    }

    fn at(s: &Store, email: &str, when: i64) {
        s.conn
            .execute(
                "UPDATE members SET updated_at = ?1 WHERE email = ?2",
                rusqlite::params![when, email],
            )
            .unwrap();
    }

    #[test]
    fn a_member_added_changed_or_removed_on_one_laptop_is_so_on_the_other() {
        let (_da, a, _db, b) = two();
        let (la, lb) = (list(&a), list(&b));
        a.add_member(&la, "bob@example.org", "Bob", Role::Member)
            .unwrap();
        let m = b
            .merge_shared(&lb, "a", 100, &a.shared_state(&la).unwrap())
            .unwrap();
        assert_eq!(m.added, vec!["bob@example.org"]);
        assert!(b.member(&lb, "bob@example.org").unwrap().is_some());
        // Told again, nothing changes.
        let again = b
            .merge_shared(&lb, "a", 101, &a.shared_state(&la).unwrap())
            .unwrap();
        assert!(again.is_empty(), "{again:?}");

        b.remove_member(&lb, "bob@example.org").unwrap();
        a.conn
            .execute("UPDATE members SET updated_at = updated_at - 10", [])
            .unwrap();
        let m = a
            .merge_shared(&la, "b", 200, &b.shared_state(&lb).unwrap())
            .unwrap();
        assert_eq!(m.removed, vec!["bob@example.org"]);
        assert!(a.member(&la, "bob@example.org").unwrap().is_none());
        // A laptop that still has them does not bring them back.
        let m = b
            .merge_shared(&lb, "a", 300, &a.shared_state(&la).unwrap())
            .unwrap();
        assert!(m.added.is_empty(), "{m:?}");
        assert!(b.member(&lb, "bob@example.org").unwrap().is_none());
        let log = a.activity(&la, 20).unwrap();
        assert!(
            log.iter()
                .any(|e| e.message == "from the other laptop: member removed: bob@example.org"),
            "{log:?}"
        );
    }

    #[test]
    fn when_both_laptops_change_a_member_the_later_change_wins_and_both_say_so() {
        let (_da, a, _db, b) = two();
        let (la, lb) = (list(&a), list(&b));
        // They have heard of each other once, at 1000.
        at(&a, "alice@example.org", 900);
        at(&b, "alice@example.org", 900);
        a.merge_shared(&la, "b", 1000, &b.shared_state(&lb).unwrap())
            .unwrap();
        b.merge_shared(&lb, "a", 1000, &a.shared_state(&la).unwrap())
            .unwrap();
        // Then each renames Alice; B's change is the later.
        a.set_member(&la, "alice@example.org", "name", "Alice A")
            .unwrap();
        at(&a, "alice@example.org", 1100);
        b.set_member(&lb, "alice@example.org", "name", "Alice B")
            .unwrap();
        at(&b, "alice@example.org", 1200);
        let state_a = a.shared_state(&la).unwrap();
        let state_b = b.shared_state(&lb).unwrap();
        let on_a = a.merge_shared(&la, "b", 1300, &state_b).unwrap();
        let on_b = b.merge_shared(&lb, "a", 1300, &state_a).unwrap();
        assert_eq!(on_a.changed, vec!["alice@example.org"]);
        assert!(on_b.changed.is_empty());
        assert_eq!(on_a.conflicts, vec!["alice@example.org"]);
        assert_eq!(on_b.conflicts, vec!["alice@example.org"]);
        for s in [&a, &b] {
            let l = list(s);
            assert_eq!(
                s.member(&l, "alice@example.org").unwrap().unwrap().name,
                "Alice B"
            );
            let log = s.activity(&l, 20).unwrap();
            assert!(
                log.iter().any(|e| e
                    .message
                    .contains("both laptops changed member alice@example.org")),
                "{log:?}"
            );
        }
        // An older state from a laptop is not merged over a newer one.
        let stale = a.merge_shared(&la, "b", 1250, &state_b).unwrap();
        assert!(stale.is_empty() && stale.conflicts.is_empty());
    }

    #[test]
    fn settings_go_by_the_later_change_and_a_value_not_taken_is_left_out() {
        let (_da, a, _db, b) = two();
        let (la, lb) = (list(&a), list(&b));
        a.set_setting(&la.address, "send-rate", "30").unwrap();
        a.conn
            .execute(
                "UPDATE list_settings SET changed_at = changed_at + 5 WHERE key = 'send-rate'",
                [],
            )
            .unwrap();
        let mut state = a.shared_state(&la).unwrap();
        state
            .settings
            .push(("colour".into(), "red".into(), i64::MAX));
        for s in state.settings.iter_mut() {
            if s.0 == "max-size" {
                s.1 = "huge".into();
                s.2 = i64::MAX;
            }
        }
        let m = b.merge_shared(&lb, "a", 100, &state).unwrap();
        assert_eq!(m.settings, vec!["send-rate = 30"]);
        assert_eq!(list(&b).settings.send_rate, 30);
    }
}
