//! Public keys: the list's certificate and the members' certificates. Only
//! checked keys arrive here (crypto decides what is acceptable); secret keys
//! never do.

use rusqlite::{OptionalExtension, params};

use super::{ActivityKind, Result, Store, StoreError, now};
use crate::model::{List, Protocol};

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub fingerprint: String,
    pub cert: Vec<u8>,
}

/// An authority a list trusts to vouch for its members' S/MIME
/// certificates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustAnchor {
    pub fingerprint: String,
    pub subject: String,
    #[serde(skip)]
    pub cert: Vec<u8>,
}

impl Store {
    pub fn list_key(&self, list: &List, protocol: Protocol) -> Result<Option<StoredKey>> {
        Ok(self
            .conn
            .query_row(
                "SELECT fingerprint, public_cert FROM list_keys WHERE list_id = ?1 AND protocol = ?2",
                params![list.id, protocol.as_str()],
                |r| Ok(StoredKey { fingerprint: r.get(0)?, cert: r.get(1)? }),
            )
            .optional()?)
    }

    /// Records the list's public certificate. Replacing one is refused
    /// unless asked for, because members encrypt to the old one.
    pub fn set_list_key(
        &self,
        list: &List,
        protocol: Protocol,
        key: &StoredKey,
        replace: bool,
    ) -> Result<()> {
        let old = self.list_key(list, protocol)?;
        if let Some(old) = &old
            && !replace
            && old.fingerprint != key.fingerprint
        {
            return Err(StoreError::ListKeyExists {
                list: list.address.clone(),
                fingerprint: old.fingerprint.clone(),
            });
        }
        // An OpenPGP list that takes an S/MIME certificate becomes a mixed
        // list, whose S/MIME members' clients (Outlook, Apple Mail) show
        // only the clear Subject: it is no longer hidden.
        if protocol == Protocol::Smime
            && list.protocol != Protocol::Smime
            && old.is_none()
            && list.settings.protect_subject
        {
            self.conn.execute(
                "INSERT INTO list_settings (list_id, key, value) VALUES (?1, 'protect-subject', 'no')
                 ON CONFLICT (list_id, key) DO UPDATE SET value = excluded.value",
                [list.id],
            )?;
            self.log(
                list.id,
                None,
                ActivityKind::Config,
                "protect-subject set to 'no': the list now sends S/MIME too, and S/MIME mail clients show only the clear subject",
            )?;
        }
        self.conn.execute(
            "INSERT INTO list_keys (list_id, protocol, fingerprint, public_cert, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (list_id, protocol) DO UPDATE SET
                fingerprint = excluded.fingerprint, public_cert = excluded.public_cert,
                created_at = excluded.created_at",
            params![list.id, protocol.as_str(), key.fingerprint, key.cert, now()],
        )?;
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!("{protocol} list key set: {}", key.fingerprint),
        )
    }

    /// Records the list's renewed public certificate: the same key with a
    /// later expiry (an OpenPGP key keeps its fingerprint; a re-issued
    /// S/MIME certificate gets a new one). Logged with the new expiry.
    pub fn renew_list_key(
        &self,
        list: &List,
        protocol: Protocol,
        key: &StoredKey,
        expires: &str,
    ) -> Result<()> {
        let Some(old) = self.list_key(list, protocol)? else {
            return Err(StoreError::Invalid(format!(
                "{} has no {protocol} list key to renew",
                list.address
            )));
        };
        let tx = self.conn.unchecked_transaction()?;
        self.conn.execute(
            "UPDATE list_keys SET fingerprint = ?1, public_cert = ?2 WHERE list_id = ?3 AND protocol = ?4",
            params![key.fingerprint, key.cert, list.id, protocol.as_str()],
        )?;
        // Members' clients must learn the new expiry: the agent mails it.
        self.conn.execute(
            "INSERT INTO key_announcements (list_id, protocol, fingerprint, expires, made_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![list.id, protocol.as_str(), key.fingerprint, expires, now()],
        )?;
        let line = if old.fingerprint == key.fingerprint {
            format!(
                "{protocol} list key renewed, valid until {expires}: {}",
                key.fingerprint
            )
        } else {
            format!(
                "{protocol} list key renewed, valid until {expires}: {} → {}",
                old.fingerprint, key.fingerprint
            )
        };
        self.log(list.id, None, ActivityKind::Config, &line)?;
        tx.commit()?;
        Ok(())
    }

    pub fn member_key(
        &self,
        list: &List,
        email: &str,
        protocol: Protocol,
    ) -> Result<Option<StoredKey>> {
        Ok(self
            .conn
            .query_row(
                "SELECT k.fingerprint, k.cert FROM member_keys k JOIN members m ON m.id = k.member_id
                 WHERE m.list_id = ?1 AND m.email = ?2 AND k.protocol = ?3",
                params![list.id, email.trim(), protocol.as_str()],
                |r| Ok(StoredKey { fingerprint: r.get(0)?, cert: r.get(1)? }),
            )
            .optional()?)
    }

    /// Every member's key of this protocol, by member address.
    pub fn member_keys(&self, list: &List, protocol: Protocol) -> Result<Vec<(String, StoredKey)>> {
        let mut stmt = self.conn.prepare(
            "SELECT m.email, k.fingerprint, k.cert FROM member_keys k JOIN members m ON m.id = k.member_id
             WHERE m.list_id = ?1 AND k.protocol = ?2 ORDER BY m.email",
        )?;
        let rows = stmt.query_map(params![list.id, protocol.as_str()], |r| {
            Ok((
                r.get(0)?,
                StoredKey {
                    fingerprint: r.get(1)?,
                    cert: r.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The authorities whose certificates this list trusts for members
    /// (S/MIME), as DER.
    pub fn trust_anchors(&self, list: &List) -> Result<Vec<TrustAnchor>> {
        let mut stmt = self.conn.prepare(
            "SELECT fingerprint, subject, cert FROM trust_anchors WHERE list_id = ?1 ORDER BY added_at, fingerprint",
        )?;
        let rows = stmt.query_map([list.id], |r| {
            Ok(TrustAnchor {
                fingerprint: r.get(0)?,
                subject: r.get(1)?,
                cert: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn add_trust_anchor(&self, list: &List, anchor: &TrustAnchor) -> Result<()> {
        self.conn.execute(
            "INSERT INTO trust_anchors (list_id, fingerprint, subject, cert, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (list_id, fingerprint) DO NOTHING",
            params![list.id, anchor.fingerprint, anchor.subject, anchor.cert, now()],
        )?;
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!(
                "trust anchor added: {} ({})",
                anchor.subject, anchor.fingerprint
            ),
        )
    }

    /// Removes an anchor by its fingerprint (spaces and case do not
    /// matter). Members already added stay: their certificates were checked
    /// when they were added.
    pub fn remove_trust_anchor(&self, list: &List, fingerprint: &str) -> Result<()> {
        let wanted: String = fingerprint
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect::<String>()
            .to_ascii_uppercase();
        let found = self
            .trust_anchors(list)?
            .into_iter()
            .find(|a| a.fingerprint.replace(' ', "") == wanted);
        let Some(anchor) = found else {
            return Err(StoreError::Invalid(format!(
                "{} has no trust anchor with fingerprint {fingerprint}: see `conclave-cli list trust list {}`",
                list.address, list.address
            )));
        };
        self.conn.execute(
            "DELETE FROM trust_anchors WHERE list_id = ?1 AND fingerprint = ?2",
            params![list.id, anchor.fingerprint],
        )?;
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!(
                "trust anchor removed: {} ({})",
                anchor.subject, anchor.fingerprint
            ),
        )
    }

    /// The post that carried this signature before, if any (a replay).
    pub fn signature_seen(&self, list: &List, digest: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT post_id FROM signatures WHERE list_id = ?1 AND digest = ?2",
                params![list.id, digest],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets a member's key. Replacing an existing one is an explicit owner
    /// action (`replace`), and logged with both fingerprints.
    pub fn set_member_key(
        &self,
        list: &List,
        email: &str,
        protocol: Protocol,
        key: &StoredKey,
        replace: bool,
    ) -> Result<()> {
        let member_id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM members WHERE list_id = ?1 AND email = ?2",
                params![list.id, email.trim()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchMember {
                list: list.address.clone(),
                email: email.trim().into(),
            })?;
        let old = self.member_key(list, email, protocol)?;
        if let Some(old) = &old
            && !replace
            && old.fingerprint != key.fingerprint
        {
            return Err(StoreError::MemberKeyExists {
                list: list.address.clone(),
                email: email.trim().into(),
                fingerprint: old.fingerprint.clone(),
            });
        }
        self.conn.execute(
            "INSERT INTO member_keys (member_id, protocol, fingerprint, cert, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (member_id, protocol) DO UPDATE SET
                fingerprint = excluded.fingerprint, cert = excluded.cert, added_at = excluded.added_at",
            params![member_id, protocol.as_str(), key.fingerprint, key.cert, now()],
        )?;
        let line = match old {
            Some(old) if old.fingerprint != key.fingerprint => format!(
                "{protocol} key of {} replaced by an owner: {} → {}",
                email.trim(),
                old.fingerprint,
                key.fingerprint
            ),
            _ => format!(
                "{protocol} key of {} set: {}",
                email.trim(),
                key.fingerprint
            ),
        };
        self.log(list.id, None, ActivityKind::Config, &line)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;
    use crate::model::Role;

    fn key(fpr: &str) -> StoredKey {
        StoredKey {
            fingerprint: fpr.into(),
            cert: fpr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn list_keys_are_replaced_only_when_asked() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        assert_eq!(s.list_key(&l, Protocol::Openpgp).unwrap(), None);
        s.set_list_key(&l, Protocol::Openpgp, &key("AA"), false)
            .unwrap();
        assert!(matches!(
            s.set_list_key(&l, Protocol::Openpgp, &key("BB"), false),
            Err(StoreError::ListKeyExists { .. })
        ));
        s.set_list_key(&l, Protocol::Openpgp, &key("BB"), true)
            .unwrap();
        assert_eq!(s.list_key(&l, Protocol::Openpgp).unwrap(), Some(key("BB")));
    }

    #[test]
    fn trust_anchors_are_added_once_and_removed_by_fingerprint() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Smime)
            .unwrap();
        let a = TrustAnchor {
            fingerprint: "AB12 CD34".into(),
            subject: "CN=Org CA".into(),
            cert: vec![1, 2],
        };
        s.add_trust_anchor(&l, &a).unwrap();
        s.add_trust_anchor(&l, &a).unwrap();
        assert_eq!(s.trust_anchors(&l).unwrap(), vec![a]);
        assert!(s.remove_trust_anchor(&l, "ffff").is_err());
        s.remove_trust_anchor(&l, "ab12cd34").unwrap();
        assert!(s.trust_anchors(&l).unwrap().is_empty());
    }

    #[test]
    fn member_keys_are_replaced_explicitly_and_logged() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        assert!(
            s.set_member_key(&l, "bob@example.org", Protocol::Openpgp, &key("AA"), false)
                .is_err()
        );
        s.add_member(&l, "bob@example.org", "", Role::Member)
            .unwrap();
        s.set_member_key(&l, "bob@example.org", Protocol::Openpgp, &key("AA"), false)
            .unwrap();
        assert!(matches!(
            s.set_member_key(&l, "bob@example.org", Protocol::Openpgp, &key("BB"), false),
            Err(StoreError::MemberKeyExists { .. })
        ));
        s.set_member_key(&l, "BOB@example.org", Protocol::Openpgp, &key("BB"), true)
            .unwrap();
        assert_eq!(
            s.member_key(&l, "bob@example.org", Protocol::Openpgp)
                .unwrap(),
            Some(key("BB"))
        );
        let log = s.activity(&l, 10).unwrap();
        assert!(
            log[0].message.contains("replaced by an owner: AA → BB"),
            "{:?}",
            log[0]
        );
        // Removing the member removes the key.
        s.remove_member(&l, "bob@example.org").unwrap();
        s.add_member(&l, "bob@example.org", "", Role::Member)
            .unwrap();
        assert_eq!(
            s.member_key(&l, "bob@example.org", Protocol::Openpgp)
                .unwrap(),
            None
        );
    }
}
