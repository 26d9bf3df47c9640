//! Invitations: a one-time code an owner passes on to someone over a
//! channel they trust. Only the code's digest is kept; it is good for a
//! number of days and once.

use rusqlite::{OptionalExtension, params};

use super::{ActivityKind, Result, Store, StoreError, now, sha256_hex};
use crate::model::{List, Role};

/// An invitation as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The digest under which a code is kept: what the invitee types may
/// differ in letter case and spaces around it.
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.trim().to_ascii_lowercase().as_bytes())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invitation> {
    let role: String = r.get(3)?;
    Ok(Invitation {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: role.parse().unwrap_or(Role::Member),
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        used_at: r.get(6)?,
    })
}

const COLUMNS: &str = "id, email, name, role, created_at, expires_at, used_at";

impl Store {
    /// Records an invitation of `email` to `list` with `token`, good for
    /// `days` days.
    pub fn create_invitation(
        &self,
        list: &List,
        email: &str,
        name: &str,
        role: Role,
        token: &str,
        days: u32,
    ) -> Result<Invitation> {
        let email = crate::model::check_address(email).map_err(StoreError::from)?;
        if email.eq_ignore_ascii_case(&list.address) {
            return Err(StoreError::Invalid(
                "the list cannot invite its own address".into(),
            ));
        }
        let t = now();
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO invitations (list_id, email, name, role, token_sha256, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                list.id,
                email,
                name.trim(),
                role.as_str(),
                token_digest(token),
                t,
                t + i64::from(days) * 86_400
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO activity (list_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
            params![
                list.id,
                t,
                ActivityKind::Config.as_str(),
                format!("{email} invited as {role}, for {days} days")
            ],
        )?;
        tx.commit()?;
        Ok(self.conn.query_row(
            &format!("SELECT {COLUMNS} FROM invitations WHERE id = ?1"),
            [id],
            row,
        )?)
    }

    /// Makes an invitation end a second ago, as the days would.
    #[cfg(test)]
    pub(crate) fn end_invitation(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE invitations SET expires_at = ?1 WHERE id = ?2",
            params![now() - 1, id],
        )?;
        Ok(())
    }

    /// The invitation `token` opens on `list`, used or not, expired or not.
    pub fn invitation_for_token(&self, list: &List, token: &str) -> Result<Option<Invitation>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM invitations WHERE list_id = ?1 AND token_sha256 = ?2"
                ),
                params![list.id, token_digest(token)],
                row,
            )
            .optional()?)
    }

    /// Invitations not yet used nor ended, newest first.
    pub fn open_invitations(&self, list: &List) -> Result<Vec<Invitation>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM invitations
             WHERE list_id = ?1 AND used_at IS NULL AND expires_at > ?2 ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map(params![list.id, now()], row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// Someone who asked to join by mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct JoinRequest {
    pub email: String,
    /// The name their mail gave, if any.
    pub name: String,
    /// RFC 3339, UTC.
    pub requested: String,
    /// An invitation for them is open.
    pub invited: bool,
}

impl Store {
    /// Requests to join from people who are not members, oldest first.
    pub fn join_requests(&self, list: &List) -> Result<Vec<JoinRequest>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.email, r.name, r.requested_at,
                EXISTS (SELECT 1 FROM invitations i WHERE i.list_id = r.list_id AND i.email = r.email
                        AND i.used_at IS NULL AND i.expires_at > ?2)
             FROM join_requests r
             WHERE r.list_id = ?1
               AND NOT EXISTS (SELECT 1 FROM members m WHERE m.list_id = r.list_id AND m.email = r.email)
             ORDER BY r.requested_at",
        )?;
        let rows = stmt.query_map(params![list.id, now()], |r| {
            Ok(JoinRequest {
                email: r.get(0)?,
                name: r.get(1)?,
                requested: super::rfc3339(r.get(2)?),
                invited: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Dismisses a request to join (the owner does not invite them).
    pub fn dismiss_join_request(&self, list: &List, email: &str) -> Result<()> {
        let gone = self.conn.execute(
            "DELETE FROM join_requests WHERE list_id = ?1 AND email = ?2",
            params![list.id, email],
        )?;
        if gone == 0 {
            return Err(StoreError::Invalid(format!(
                "{email} has not asked to join {}",
                list.address
            )));
        }
        self.log(
            list.id,
            None,
            ActivityKind::Config,
            &format!("{email}'s request to join dismissed"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;
    use crate::store::test_support::store;

    #[test]
    fn a_code_opens_its_invitation_and_only_its_digest_is_kept() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let inv = s
            .create_invitation(
                &l,
                "ann@example.org",
                "Ann",
                Role::Moderator,
                "abcde-fghij",
                7,
            )
            .unwrap();
        assert_eq!(inv.expires_at - inv.created_at, 7 * 86_400);
        assert_eq!(
            s.invitation_for_token(&l, " ABCDE-fghij ")
                .unwrap()
                .map(|i| i.id),
            Some(inv.id)
        );
        assert!(s.invitation_for_token(&l, "abcde-fghik").unwrap().is_none());
        let kept: String = s
            .conn
            .query_row("SELECT token_sha256 FROM invitations", [], |r| r.get(0))
            .unwrap();
        assert_ne!(kept, "abcde-fghij");
        assert_eq!(s.open_invitations(&l).unwrap().len(), 1);
        assert!(
            s.create_invitation(&l, "l@example.org", "", Role::Member, "x", 7)
                .is_err()
        );
    }
}
