//! A list as it travels in a hand-over bundle: what makes it the list
//! (settings, account, members and their keys, the list's public keys,
//! trusted authorities), not its history (posts, the outbox, held posts,
//! the log), which belongs to the laptop that handled them.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{ActivityKind, Result, Store, StoreError, now};
use crate::model::List;

/// Everything of a list the store keeps that a second laptop needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRecord {
    pub address: String,
    pub name: String,
    pub protocol: String,
    pub paused: bool,
    pub created_at: i64,
    pub settings: BTreeMap<String, String>,
    pub account: Option<AccountRecord>,
    pub list_keys: Vec<KeyRecord>,
    pub members: Vec<MemberRecord>,
    pub trust_anchors: Vec<AnchorRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub imap_host: String,
    pub imap_port: i64,
    pub imap_tls: String,
    pub imap_user: String,
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_tls: String,
    pub smtp_user: String,
    pub ca_pem: Option<String>,
    pub daily_limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub protocol: String,
    pub fingerprint: String,
    #[serde(with = "base64_bytes")]
    pub cert: Vec<u8>,
    pub added_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub email: String,
    pub name: String,
    pub role: String,
    pub own_posts: bool,
    pub smime_cipher: String,
    pub added_at: i64,
    pub keys: Vec<KeyRecord>,
    /// When the member or their keys last changed (0 from a Conclave that
    /// did not keep it): a second laptop's changes are weighed by it.
    #[serde(default)]
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRecord {
    pub fingerprint: String,
    pub subject: String,
    #[serde(with = "base64_bytes")]
    pub cert: Vec<u8>,
    pub added_at: i64,
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

impl Store {
    /// The list as a bundle carries it, read in one transaction.
    pub fn list_record(&self, list: &List) -> Result<ListRecord> {
        let tx = self.conn.unchecked_transaction()?;
        let (paused, created_at): (bool, i64) = tx.query_row(
            "SELECT paused, created_at FROM lists WHERE id = ?1",
            [list.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let settings = tx
            .prepare("SELECT key, value FROM list_settings WHERE list_id = ?1")?
            .query_map([list.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<BTreeMap<String, String>>>()?;
        let account = tx
            .query_row(
                "SELECT imap_host, imap_port, imap_tls, imap_user, smtp_host, smtp_port,
                        smtp_tls, smtp_user, ca_pem, daily_limit
                 FROM accounts WHERE list_id = ?1",
                [list.id],
                |r| {
                    Ok(AccountRecord {
                        imap_host: r.get(0)?,
                        imap_port: r.get(1)?,
                        imap_tls: r.get(2)?,
                        imap_user: r.get(3)?,
                        smtp_host: r.get(4)?,
                        smtp_port: r.get(5)?,
                        smtp_tls: r.get(6)?,
                        smtp_user: r.get(7)?,
                        ca_pem: r.get(8)?,
                        daily_limit: r.get(9)?,
                    })
                },
            )
            .optional()?;
        let list_keys = tx
            .prepare(
                "SELECT protocol, fingerprint, public_cert, created_at FROM list_keys
                 WHERE list_id = ?1 ORDER BY protocol",
            )?
            .query_map([list.id], key_record)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut members = tx
            .prepare(
                "SELECT id, email, name, role, own_posts, smime_cipher, added_at, updated_at FROM members
                 WHERE list_id = ?1 ORDER BY email",
            )?
            .query_map([list.id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    MemberRecord {
                        email: r.get(1)?,
                        name: r.get(2)?,
                        role: r.get(3)?,
                        own_posts: r.get(4)?,
                        smime_cipher: r.get(5)?,
                        added_at: r.get(6)?,
                        keys: Vec::new(),
                        updated_at: r.get(7)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut keys_of = tx.prepare(
            "SELECT protocol, fingerprint, cert, added_at FROM member_keys
             WHERE member_id = ?1 ORDER BY protocol",
        )?;
        for (id, member) in &mut members {
            member.keys = keys_of
                .query_map([*id], key_record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
        }
        drop(keys_of);
        let trust_anchors = tx
            .prepare(
                "SELECT fingerprint, subject, cert, added_at FROM trust_anchors
                 WHERE list_id = ?1 ORDER BY fingerprint",
            )?
            .query_map([list.id], |r| {
                Ok(AnchorRecord {
                    fingerprint: r.get(0)?,
                    subject: r.get(1)?,
                    cert: r.get(2)?,
                    added_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(ListRecord {
            address: list.address.clone(),
            name: list.name.clone(),
            protocol: list.protocol.as_str().to_string(),
            paused,
            created_at,
            settings,
            account,
            list_keys,
            members: members.into_iter().map(|(_, m)| m).collect(),
            trust_anchors,
        })
    }

    /// Makes the list a bundle carried, whole or not at all. The list must
    /// not exist here yet. Values the schema refuses (an unknown protocol,
    /// role or cipher) refuse the whole list.
    pub fn restore_list(&self, record: &ListRecord) -> Result<List> {
        let address = crate::model::check_address(&record.address)?;
        let tx = self.conn.unchecked_transaction()?;
        let exists: Option<i64> = tx
            .query_row("SELECT id FROM lists WHERE address = ?1", [&address], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::ListExists(address));
        }
        let bad = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Invalid(format!(
                "the bundle's list {address} has a value this Conclave does not take ({e}): nothing was imported; update Conclave and try again"
            )),
            _ => StoreError::from(e),
        };
        tx.execute(
            "INSERT INTO lists (address, name, protocol, paused, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![address, record.name, record.protocol, record.paused, record.created_at],
        )
        .map_err(bad)?;
        let list_id = tx.last_insert_rowid();
        for (key, value) in &record.settings {
            tx.execute(
                "INSERT INTO list_settings (list_id, key, value) VALUES (?1, ?2, ?3)",
                params![list_id, key, value],
            )
            .map_err(bad)?;
        }
        if let Some(a) = &record.account {
            tx.execute(
                "INSERT INTO accounts (list_id, imap_host, imap_port, imap_tls, imap_user,
                     smtp_host, smtp_port, smtp_tls, smtp_user, ca_pem, daily_limit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    list_id,
                    a.imap_host,
                    a.imap_port,
                    a.imap_tls,
                    a.imap_user,
                    a.smtp_host,
                    a.smtp_port,
                    a.smtp_tls,
                    a.smtp_user,
                    a.ca_pem,
                    a.daily_limit
                ],
            )
            .map_err(bad)?;
        }
        for k in &record.list_keys {
            tx.execute(
                "INSERT INTO list_keys (list_id, protocol, fingerprint, public_cert, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![list_id, k.protocol, k.fingerprint, k.cert, k.added_at],
            )
            .map_err(bad)?;
        }
        for m in &record.members {
            let email = crate::model::check_address(&m.email)?;
            tx.execute(
                "INSERT INTO members (list_id, email, name, role, own_posts, smime_cipher, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![list_id, email, m.name, m.role, m.own_posts, m.smime_cipher, m.added_at],
            )
            .map_err(bad)?;
            let member_id = tx.last_insert_rowid();
            for k in &m.keys {
                tx.execute(
                    "INSERT INTO member_keys (member_id, protocol, fingerprint, cert, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![member_id, k.protocol, k.fingerprint, k.cert, k.added_at],
                )
                .map_err(bad)?;
            }
            // As the other laptop knew it: a later change there or here is
            // told apart from this copy.
            if m.updated_at > 0 {
                tx.execute(
                    "UPDATE members SET updated_at = ?1 WHERE id = ?2",
                    params![m.updated_at, member_id],
                )?;
            }
        }
        for t in &record.trust_anchors {
            tx.execute(
                "INSERT INTO trust_anchors (list_id, fingerprint, subject, cert, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![list_id, t.fingerprint, t.subject, t.cert, t.added_at],
            )
            .map_err(bad)?;
        }
        tx.execute(
            "INSERT INTO activity (list_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
            params![
                list_id,
                now(),
                ActivityKind::Config.as_str(),
                format!(
                    "imported from a bundle: {} members, {} list keys",
                    record.members.len(),
                    record.list_keys.len()
                )
            ],
        )?;
        tx.commit()?;
        // Read through the one reader of lists, so settings a newer
        // bundle may lack get their defaults as everywhere else.
        self.list(&address)
    }
}

impl Store {
    /// The digest of what the list's newest backup in its mailbox holds,
    /// and when it was made.
    pub fn last_backup(&self, list: &List) -> Result<Option<(String, i64)>> {
        Ok(self.conn.query_row(
            "SELECT backed_up_sha256, backed_up_at FROM lists WHERE id = ?1",
            [list.id],
            |r| {
                Ok(r.get::<_, Option<String>>(0)?
                    .zip(r.get::<_, Option<i64>>(1)?))
            },
        )?)
    }

    /// The digest of the list's content when it was last backed up, or
    /// last found without a recovery passphrase.
    pub fn backup_digest(&self, list: &List) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT backed_up_sha256 FROM lists WHERE id = ?1",
            [list.id],
            |r| r.get(0),
        )?)
    }

    /// Notes that the list's content with `digest` has no backup to make
    /// (no recovery passphrase): the time of the last backup, if any, stays.
    pub fn note_no_backup(&self, list: &List, digest: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE lists SET backed_up_sha256 = ?1 WHERE id = ?2",
            params![digest, list.id],
        )?;
        Ok(())
    }

    /// Records a backup made (`Some`), or that the next run must make one
    /// whatever changed (`None`: a new recovery passphrase).
    pub fn set_last_backup(&self, list: &List, digest: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE lists SET backed_up_sha256 = ?1, backed_up_at = ?2 WHERE id = ?3",
            params![digest, digest.map(|_| now()), list.id],
        )?;
        Ok(())
    }
}

fn key_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        protocol: r.get(0)?,
        fingerprint: r.get(1)?,
        cert: r.get(2)?,
        added_at: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, Endpoint, Protocol, Role, TlsMode};
    use crate::store::test_support::store;
    use crate::store::{StoredKey, TrustAnchor};

    fn endpoint(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            tls: TlsMode::Implicit,
            user: "list".into(),
        }
    }

    #[test]
    fn a_list_comes_back_whole_in_another_store() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        s.set_setting("l@example.org", "subject-prefix", "[L]")
            .unwrap();
        s.set_account(
            "l@example.org",
            &Account {
                imap: endpoint("imap.example.org", 993),
                smtp: endpoint("smtp.example.org", 465),
                ca_pem: None,
                daily_limit: Some(500),
            },
        )
        .unwrap();
        s.set_list_key(
            &list,
            Protocol::Openpgp,
            &StoredKey {
                fingerprint: "AAAA".into(),
                cert: vec![1, 2, 3],
            },
            false,
        )
        .unwrap();
        s.add_member(&list, "ann@example.org", "Ann", Role::Moderator)
            .unwrap();
        s.add_member(&list, "bo@example.org", "", Role::Member)
            .unwrap();
        s.set_member_key(
            &list,
            "bo@example.org",
            Protocol::Openpgp,
            &StoredKey {
                fingerprint: "BBBB".into(),
                cert: vec![0, 255, 7],
            },
            false,
        )
        .unwrap();
        s.add_trust_anchor(
            &list,
            &TrustAnchor {
                fingerprint: "CCCC".into(),
                subject: "CN=Example CA".into(),
                cert: b"-----BEGIN CERTIFICATE-----".to_vec(),
            },
        )
        .unwrap();
        let record = s.list_record(&s.list("l@example.org").unwrap()).unwrap();
        let json = serde_json::to_string(&record).unwrap();
        let back: ListRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);

        let (_d2, other) = store();
        let made = other.restore_list(&back).unwrap();
        assert_eq!(
            made.settings.pairs(),
            s.list("l@example.org").unwrap().settings.pairs()
        );
        assert_eq!(other.list_record(&made).unwrap(), record);
        assert_eq!(other.account(&made).unwrap().daily_limit, Some(500));

        // Twice is refused, and leaves the first as it was.
        assert!(matches!(
            other.restore_list(&back),
            Err(StoreError::ListExists(_))
        ));
        assert_eq!(other.list_record(&made).unwrap(), record);
    }

    #[test]
    fn a_value_this_schema_refuses_refuses_the_whole_list() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        s.add_member(&list, "ann@example.org", "Ann", Role::Member)
            .unwrap();
        let mut record = s.list_record(&list).unwrap();
        record.address = "m@example.org".into();
        record.members[0].role = "emperor".into();
        let e = s.restore_list(&record).unwrap_err();
        assert!(e.to_string().contains("nothing was imported"), "{e}");
        assert!(matches!(
            s.list("m@example.org"),
            Err(StoreError::NoSuchList(_))
        ));
    }
}
