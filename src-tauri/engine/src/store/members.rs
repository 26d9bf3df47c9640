//! The members of a list.

use rusqlite::{OptionalExtension, params};

use super::{ActivityKind, Result, Store, StoreError, now};
use crate::model::{List, Member, Role};

impl Store {
    pub fn add_member(&self, list: &List, email: &str, name: &str, role: Role) -> Result<Member> {
        let email = crate::model::check_address(email).map_err(StoreError::from)?;
        if email.eq_ignore_ascii_case(&list.address) {
            return Err(StoreError::Invalid(
                "the list's own address cannot be a member: it would receive its own posts".into(),
            ));
        }
        if self.member(list, &email)?.is_some() {
            return Err(StoreError::MemberExists {
                list: list.address.clone(),
                email,
            });
        }
        let name = crate::model::check_member_name(name).map_err(StoreError::from)?;
        self.conn.execute(
            "INSERT INTO members (list_id, email, name, role, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![list.id, email, name, role.as_str(), now()],
        )?;
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!("member {email} added as {role}"),
        )?;
        Ok(self.member(list, &email)?.expect("just inserted"))
    }

    /// Adds a member and, when given, their key, in one transaction: a
    /// key that cannot be saved adds nobody.
    pub fn add_member_with_key(
        &self,
        list: &List,
        email: &str,
        name: &str,
        role: Role,
        key: Option<(crate::model::Protocol, &super::StoredKey)>,
    ) -> Result<Member> {
        let tx = self.conn.unchecked_transaction()?;
        let member = self.add_member(list, email, name, role)?;
        if let Some((protocol, key)) = key {
            self.set_member_key(list, &member.email, protocol, key, false)?;
        }
        tx.commit()?;
        Ok(member)
    }

    pub fn remove_member(&self, list: &List, email: &str) -> Result<()> {
        let n = self.conn.execute(
            "DELETE FROM members WHERE list_id = ?1 AND email = ?2",
            params![list.id, email.trim()],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchMember {
                list: list.address.clone(),
                email: email.trim().into(),
            });
        }
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!("member {} removed", email.trim()),
        )?;
        Ok(())
    }

    /// Changes one member setting: `name`, `role` or `own-posts` (yes|no).
    pub fn set_member(&self, list: &List, email: &str, key: &str, value: &str) -> Result<Member> {
        let member = self
            .member(list, email)?
            .ok_or_else(|| StoreError::NoSuchMember {
                list: list.address.clone(),
                email: email.trim().into(),
            })?;
        let (column, stored): (&str, rusqlite::types::Value) = match key {
            "name" => (
                "name",
                crate::model::check_member_name(value)
                    .map_err(StoreError::from)?
                    .into(),
            ),
            "role" => (
                "role",
                value
                    .parse::<Role>()
                    .map_err(StoreError::from)?
                    .as_str()
                    .to_string()
                    .into(),
            ),
            "own-posts" => (
                "own_posts",
                (parse_yes_no(value).map_err(StoreError::Invalid)? as i64).into(),
            ),
            "smime-cipher" => match value.trim().to_ascii_lowercase().as_str() {
                v @ ("cbc" | "gcm") => ("smime_cipher", v.to_string().into()),
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "'{value}' is not cbc or gcm: gcm only if the member's mail client reads AES-GCM (authEnveloped-data)"
                    )));
                }
            },
            other => {
                return Err(StoreError::Invalid(format!(
                    "there is no member setting '{other}'; the settings are: name, role, own-posts, smime-cipher"
                )));
            }
        };
        self.conn.execute(
            &format!("UPDATE members SET {column} = ?1 WHERE list_id = ?2 AND email = ?3"),
            params![stored, list.id, member.email],
        )?;
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!("member {}: {key} set to '{value}'", member.email),
        )?;
        Ok(self.member(list, email)?.expect("exists"))
    }

    /// The members whose S/MIME copies are encrypted with AES-GCM.
    pub fn gcm_members(&self, list: &List) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT email FROM members WHERE list_id = ?1 AND smime_cipher = 'gcm'")?;
        let rows = stmt.query_map([list.id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn member(&self, list: &List, email: &str) -> Result<Option<Member>> {
        Ok(self
            .conn
            .query_row(
                "SELECT email, name, role, own_posts FROM members WHERE list_id = ?1 AND email = ?2",
                params![list.id, email.trim()],
                row_to_member,
            )
            .optional()?)
    }

    pub fn members(&self, list: &List) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare(
            "SELECT email, name, role, own_posts FROM members WHERE list_id = ?1 ORDER BY email",
        )?;
        let rows = stmt.query_map([list.id], row_to_member)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn row_to_member(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        email: r.get(0)?,
        name: r.get(1)?,
        role: r.get::<_, String>(2)?.parse().unwrap_or(Role::Member),
        own_posts: r.get(3)?,
    })
}

pub(crate) fn parse_yes_no(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(format!("'{value}' is not yes or no")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn a_member_whose_key_cannot_be_saved_is_not_added() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        // A key too big for what is left of the disk (SQLite's page limit
        // answers as a full disk does): the member row fits, the key not.
        let pages: i64 = s
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn
            .pragma_update(None, "max_page_count", pages + 8)
            .unwrap();
        let key = super::super::StoredKey {
            fingerprint: "F00D".into(),
            cert: vec![7u8; 512 * 1024],
        };
        let e = s
            .add_member_with_key(
                &l,
                "bob@example.org",
                "Bob",
                Role::Member,
                Some((Protocol::Openpgp, &key)),
            )
            .unwrap_err();
        assert!(matches!(e, StoreError::DiskFull), "{e:?}");
        assert!(
            s.member(&l, "bob@example.org").unwrap().is_none(),
            "nothing half-added"
        );
        s.conn
            .pragma_update(None, "max_page_count", 1_073_741_823i64)
            .unwrap();
        s.add_member_with_key(
            &l,
            "bob@example.org",
            "Bob",
            Role::Member,
            Some((Protocol::Openpgp, &key)),
        )
        .unwrap();
        assert!(
            s.member_key(&l, "bob@example.org", Protocol::Openpgp)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn add_list_change_remove() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        s.add_member(&l, "bob@example.org", "Bob", Role::Member)
            .unwrap();
        s.add_member(&l, "Alice@example.org", "", Role::Owner)
            .unwrap();
        assert!(matches!(
            s.add_member(&l, "alice@EXAMPLE.org", "", Role::Member),
            Err(StoreError::MemberExists { .. })
        ));
        assert!(s.add_member(&l, "l@example.org", "", Role::Member).is_err());
        let m = s
            .set_member(&l, "bob@example.org", "own-posts", "no")
            .unwrap();
        assert!(!m.own_posts);
        assert!(
            s.set_member(&l, "bob@example.org", "own-posts", "perhaps")
                .is_err()
        );
        s.set_member(&l, "bob@example.org", "smime-cipher", "GCM")
            .unwrap();
        assert!(
            s.set_member(&l, "bob@example.org", "smime-cipher", "rc2")
                .is_err()
        );
        assert_eq!(s.gcm_members(&l).unwrap(), ["bob@example.org"]);
        let emails: Vec<_> = s
            .members(&l)
            .unwrap()
            .into_iter()
            .map(|m| m.email)
            .collect();
        assert_eq!(emails, ["Alice@example.org", "bob@example.org"]);
        s.remove_member(&l, "alice@example.org").unwrap();
        assert!(matches!(
            s.remove_member(&l, "alice@example.org"),
            Err(StoreError::NoSuchMember { .. })
        ));
        assert_eq!(s.members(&l).unwrap().len(), 1);
    }
}
