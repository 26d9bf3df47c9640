//! The key inbox: keys that came by mail without an invitation (in an
//! `Autocrypt` header or attached, on a member's mail or anyone's), each
//! waiting for an owner's one decision. A key decided once stays decided:
//! the same key in the next mail does not come back.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{ActivityKind, Result, Store, StoreError, StoredKey, now};
use crate::crypto::grouped_hex;
use crate::model::{List, Protocol};

/// A key offered by mail, as the decide step found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedKey {
    pub email: String,
    pub protocol: Protocol,
    pub key: StoredKey,
    /// How it came, in words: "in an Autocrypt header of a member's post".
    pub how: String,
    /// Whether the mail it came in was signed by this very key.
    pub signed_by_it: bool,
    /// The member's key it would replace, by fingerprint.
    pub replaces: Option<String>,
}

/// A key's row as a decision reads it: address, protocol, fingerprint,
/// certificate, and the decision made, if any.
type Waiting = (String, String, String, Vec<u8>, Option<String>);

/// A key waiting for an owner.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PendingKey {
    pub id: i64,
    pub email: String,
    pub protocol: Protocol,
    /// In groups of four, as people compare them.
    pub fingerprint: String,
    pub how: String,
    pub signed_by_it: bool,
    /// The fingerprint (in groups of four) of the member's key it would
    /// replace, if they have one.
    pub replaces: Option<String>,
    /// Whether the address is a member's now.
    pub member: bool,
    /// RFC 3339, UTC.
    pub arrived: String,
}

impl Store {
    /// Whether this key of `email` was offered before (decided or not).
    pub fn key_known(&self, list: &List, email: &str, fingerprint: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM pending_keys WHERE list_id = ?1 AND email = ?2 AND fingerprint = ?3",
                params![list.id, email, fingerprint],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The keys waiting for an owner's decision, oldest first.
    pub fn pending_keys(&self, list: &List) -> Result<Vec<PendingKey>> {
        let mut stmt = self.conn.prepare(
            "SELECT k.id, k.email, k.protocol, k.fingerprint, k.how, k.signed_by_it, k.replaces,
                    EXISTS (SELECT 1 FROM members m WHERE m.list_id = k.list_id AND m.email = k.email),
                    k.arrived_at
             FROM pending_keys k WHERE k.list_id = ?1 AND k.decision IS NULL ORDER BY k.id",
        )?;
        let rows = stmt.query_map([list.id], |r| {
            let protocol: String = r.get(2)?;
            Ok(PendingKey {
                id: r.get(0)?,
                email: r.get(1)?,
                protocol: protocol.parse().unwrap_or(Protocol::Openpgp),
                fingerprint: grouped_hex(&r.get::<_, String>(3)?),
                how: r.get(4)?,
                signed_by_it: r.get(5)?,
                replaces: r.get::<_, Option<String>>(6)?.map(|f| grouped_hex(&f)),
                member: r.get(7)?,
                arrived: super::rfc3339(r.get(8)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many keys wait on `list`.
    pub fn keys_waiting(&self, list: &List) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM pending_keys WHERE list_id = ?1 AND decision IS NULL",
            [list.id],
            |r| r.get(0),
        )?)
    }

    /// Accepts (the key becomes the member's key of its protocol, replacing
    /// one they had) or rejects a waiting key, in one transaction with the
    /// log's line. A key of someone who is not a member is not accepted:
    /// they are added first.
    pub fn decide_pending_key(&self, list: &List, id: i64, accept: bool) -> Result<PendingKey> {
        let tx = self.conn.unchecked_transaction()?;
        let found: Option<Waiting> = tx
            .query_row(
                "SELECT email, protocol, fingerprint, cert, decision FROM pending_keys
                 WHERE list_id = ?1 AND id = ?2",
                params![list.id, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((email, protocol, fingerprint, cert, decided)) = found else {
            return Err(StoreError::Invalid(format!(
                "there is no key {id} waiting on {}: see `conclave-cli keys pending {}`",
                list.address, list.address
            )));
        };
        if let Some(decided) = decided {
            return Err(StoreError::Invalid(format!(
                "key {id} was {decided} already"
            )));
        }
        let view = self
            .pending_keys(list)?
            .into_iter()
            .find(|k| k.id == id)
            .expect("a key not yet decided is pending");
        let t = now();
        if accept {
            let member_id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM members WHERE list_id = ?1 AND email = ?2",
                    params![list.id, email],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(member_id) = member_id else {
                return Err(StoreError::Invalid(format!(
                    "{email} is not a member of {}: add them first (`conclave-cli member add {} {email}`), then accept their key",
                    list.address, list.address
                )));
            };
            tx.execute(
                "INSERT INTO member_keys (member_id, protocol, fingerprint, cert, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (member_id, protocol) DO UPDATE SET
                    fingerprint = excluded.fingerprint, cert = excluded.cert, added_at = excluded.added_at",
                params![member_id, protocol, fingerprint, cert, t],
            )?;
        }
        let decision = if accept { "accepted" } else { "rejected" };
        tx.execute(
            "UPDATE pending_keys SET decision = ?1, decided_at = ?2 WHERE id = ?3",
            params![decision, t, id],
        )?;
        tx.execute(
            "INSERT INTO activity (list_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
            params![
                list.id,
                t,
                ActivityKind::Config.as_str(),
                format!(
                    "the {protocol} key {fingerprint} of {email}, from the key inbox: {decision}"
                )
            ],
        )?;
        tx.commit()?;
        Ok(view)
    }
}

/// Records offered keys in the settlement's transaction (see
/// `settle_post`): each key once.
pub(super) fn record_offered(
    tx: &rusqlite::Transaction<'_>,
    list_id: i64,
    post_id: i64,
    keys: &[OfferedKey],
    t: i64,
) -> rusqlite::Result<()> {
    for k in keys {
        let added = tx.execute(
            "INSERT OR IGNORE INTO pending_keys
                (list_id, email, protocol, fingerprint, cert, how, signed_by_it, replaces, arrived_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                list_id,
                k.email,
                k.protocol.as_str(),
                k.key.fingerprint,
                k.key.cert,
                k.how,
                k.signed_by_it,
                k.replaces,
                t
            ],
        )?;
        if added > 0 {
            tx.execute(
                "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'config', ?4)",
                params![
                    list_id,
                    post_id,
                    t,
                    format!(
                        "a key of {} waits in the key inbox ({}): {}",
                        k.email, k.key.fingerprint, k.how
                    )
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::store::test_support::store;

    fn offered(email: &str, fpr: &str) -> OfferedKey {
        OfferedKey {
            email: email.into(),
            protocol: Protocol::Openpgp,
            key: StoredKey {
                fingerprint: fpr.into(),
                cert: vec![1, 2, 3],
            },
            how: "attached, on a post of a member without a key".into(),
            signed_by_it: true,
            replaces: None,
        }
    }

    #[test]
    fn a_key_waits_once_and_is_decided_once() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        s.add_member(&l, "ann@example.org", "", Role::Member)
            .unwrap();
        let record = |k: OfferedKey| {
            let tx = s.conn.unchecked_transaction().unwrap();
            record_offered(&tx, l.id, 0, &[k], now()).unwrap();
            tx.commit().unwrap();
        };
        record(offered("ann@example.org", "aaaa1111"));
        record(offered("ann@example.org", "aaaa1111"));
        record(offered("eve@example.org", "eeee2222"));
        let waiting = s.pending_keys(&l).unwrap();
        assert_eq!(waiting.len(), 2, "each key once");
        assert_eq!(waiting[0].fingerprint, "AAAA 1111");
        assert!(waiting[0].member && !waiting[1].member);
        assert_eq!(s.keys_waiting(&l).unwrap(), 2);

        let e = s.decide_pending_key(&l, waiting[1].id, true).unwrap_err();
        assert!(e.to_string().contains("not a member"), "{e}");
        s.decide_pending_key(&l, waiting[0].id, true).unwrap();
        let keys = s.member_keys(&l, Protocol::Openpgp).unwrap();
        assert_eq!(keys[0].1.fingerprint, "aaaa1111");
        assert!(
            s.decide_pending_key(&l, waiting[0].id, false).is_err(),
            "once"
        );
        s.decide_pending_key(&l, waiting[1].id, false).unwrap();
        record(offered("eve@example.org", "eeee2222"));
        assert!(
            s.pending_keys(&l).unwrap().is_empty(),
            "a decided key does not come back"
        );
        assert!(s.key_known(&l, "EVE@example.org", "eeee2222").unwrap());
    }
}
