//! The ledger: every message seen in a list's INBOX, recorded before anything
//! is done with it. This is what makes processing exactly-once: a message is
//! known by (UIDVALIDITY, UID), and a copy of one already seen (same
//! Message-ID, or the same bytes) is recognised even after the server
//! renumbered its mailbox.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{ActivityKind, Result, Store, StoreError, now};
use crate::model::List;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PostState {
    /// Recorded; no decision yet (or the agent stopped while deciding).
    Received,
    /// Deliveries are queued; some may still be pending.
    Queued,
    /// Waiting for an owner.
    Held,
    /// Nothing more will be sent for it.
    Done,
    /// Could not be read, or kept failing: set aside on the server.
    Quarantined,
}

/// Where the message stands on the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnServer {
    Inbox,
    Processed,
    Quarantine,
}

fn state_str(s: PostState) -> &'static str {
    match s {
        PostState::Received => "received",
        PostState::Queued => "queued",
        PostState::Held => "held",
        PostState::Done => "done",
        PostState::Quarantined => "quarantined",
    }
}

fn parse_state(s: &str) -> PostState {
    match s {
        "queued" => PostState::Queued,
        "held" => PostState::Held,
        "done" => PostState::Done,
        "quarantined" => PostState::Quarantined,
        _ => PostState::Received,
    }
}

fn on_server_str(s: OnServer) -> &'static str {
    match s {
        OnServer::Inbox => "inbox",
        OnServer::Processed => "processed",
        OnServer::Quarantine => "quarantine",
    }
}

/// A message just fetched, about to be recorded.
#[derive(Debug, Clone)]
pub struct NewPost<'a> {
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id: &'a str,
    /// Who From names (see `Post::sender_text`).
    pub sender: &'a str,
    pub raw: &'a [u8],
    /// The server's arrival time (INTERNALDATE), seconds since the epoch.
    pub arrived_at: Option<i64>,
    /// Whether `uidvalidity` and `uid` are of the Claimed folder (the post
    /// was claimed before it was fetched) rather than of INBOX.
    pub claimed: bool,
}

/// What the ledger knew of a fetched message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    /// Seen for the first time: recorded as this post.
    New(i64),
    /// A copy of a post already in the ledger: recorded as this post, done
    /// and to be filed away, nothing sent.
    Copy { post_id: i64, of: i64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct PostRecord {
    pub id: i64,
    pub list_id: i64,
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub size: u64,
    pub state: PostState,
    pub on_server: OnServer,
    pub attempts: u32,
    pub decision: Option<Outcome>,
    pub reason: Option<String>,
    /// Whether it waits in the Claimed folder rather than in INBOX.
    pub claimed: bool,
}

const POST_COLUMNS: &str =
    "id, list_id, uidvalidity, uid, message_id, sender, subject, size, state,
    on_server, attempts, decision, reason, folder";

fn folder_str(claimed: bool) -> &'static str {
    if claimed { "claimed" } else { "inbox" }
}

fn row_to_post(r: &rusqlite::Row<'_>) -> rusqlite::Result<PostRecord> {
    Ok(PostRecord {
        id: r.get(0)?,
        list_id: r.get(1)?,
        uidvalidity: r.get(2)?,
        uid: r.get(3)?,
        message_id: r.get(4)?,
        sender: r.get(5)?,
        subject: r.get(6)?,
        size: r.get(7)?,
        state: parse_state(&r.get::<_, String>(8)?),
        on_server: match r.get::<_, String>(9)?.as_str() {
            "processed" => OnServer::Processed,
            "quarantine" => OnServer::Quarantine,
            _ => OnServer::Inbox,
        },
        attempts: r.get(10)?,
        decision: r
            .get::<_, Option<String>>(11)?
            .as_deref()
            .and_then(Outcome::parse),
        reason: r.get(12)?,
        claimed: r.get::<_, String>(13)? == "claimed",
    })
}

/// What became of a post, as the ledger keeps it: the decision, or an
/// owner's resolution of a held post. Written to the `decision` column as
/// its word and read back from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Distribute,
    Hold,
    Reject,
    Discard,
    /// Set aside: unreadable, or it kept failing.
    #[default]
    Quarantine,
    /// A member's command to the list, answered.
    Command,
    Approved,
    Rejected,
    Discarded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Distribute => "distribute",
            Outcome::Hold => "hold",
            Outcome::Reject => "reject",
            Outcome::Discard => "discard",
            Outcome::Quarantine => "quarantine",
            Outcome::Command => "command",
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Discarded => "discarded",
        }
    }

    /// The word in the column; `None` for one this version does not know.
    pub fn parse(word: &str) -> Option<Outcome> {
        [
            Outcome::Distribute,
            Outcome::Hold,
            Outcome::Reject,
            Outcome::Discard,
            Outcome::Quarantine,
            Outcome::Command,
            Outcome::Approved,
            Outcome::Rejected,
            Outcome::Discarded,
        ]
        .into_iter()
        .find(|o| o.as_str() == word)
    }
}

impl rusqlite::ToSql for Outcome {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// The decision about a post, as the store records it in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    pub decision: Outcome,
    pub reason: String,
    pub sender: String,
    pub subject: String,
    /// For "distribute": who gets a copy.
    pub recipients: Vec<String>,
    /// For "hold": whether an owner may approve it (automated mail may not).
    pub approvable: bool,
    /// For "distribute": the member signature it carried, kept so that a
    /// replay of the same signed post is refused.
    pub signature_digest: Option<String>,
    /// Owners to tell of a hold, rejection or discard.
    pub notify_owners: Vec<String>,
    /// For "distribute": members who get a notice instead of the post (it
    /// arrived encrypted and the list has no usable key of theirs).
    pub keyless_notices: Vec<String>,
    /// The member whose key made a good signature on the post, with that
    /// key, even when From names someone else.
    pub signer: Option<(String, String)>,
    /// For "command": the list's answers, written now (recipient, message).
    pub replies: Vec<(String, Vec<u8>)>,
    /// For "command": what it changes in the list.
    pub membership: Option<MembershipChange>,
    /// Keys the post carried that wait for an owner (the key inbox).
    pub offered_keys: Vec<super::OfferedKey>,
    /// A member's new key, in a post signed by their current key.
    pub key_change: Option<KeyChange>,
}

/// A member's key replaced by a new one that came with their post: signed
/// by the current key, certified by it, or (S/MIME) a renewed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub email: String,
    pub protocol: crate::model::Protocol,
    /// The fingerprint of the key it replaces.
    pub old: String,
    pub key: super::StoredKey,
    /// Why it was taken without an owner, for the activity log: "it came
    /// in their post signed by the old one", say.
    pub because: String,
}

/// What a member's command changes, done in the same transaction as the
/// rest of its settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// A request to leave, waiting for its confirmation with `token`.
    RequestLeave { email: String, token: String },
    /// Confirmed: the member leaves, and the request is done.
    Leave { email: String },
    /// Someone asked to join: the request waits for an owner.
    RequestJoin { email: String, name: String },
    /// An invitation answered with a key that checked out: the invitee is
    /// a member with that key (a member already gets it as their key of
    /// its protocol), and the invitation is used.
    Join {
        invitation: i64,
        email: String,
        name: String,
        role: crate::model::Role,
        protocol: crate::model::Protocol,
        key: super::StoredKey,
    },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// The post recorded for this position in INBOX, if any.
    pub fn post_at(&self, list: &List, uidvalidity: u32, uid: u32) -> Result<Option<PostRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {POST_COLUMNS} FROM posts WHERE list_id = ?1 AND uidvalidity = ?2 AND uid = ?3 AND folder = 'inbox'"),
                params![list.id, uidvalidity, uid],
                row_to_post,
            )
            .optional()?)
    }

    pub fn post(&self, post_id: i64) -> Result<PostRecord> {
        Ok(self.conn.query_row(
            &format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ?1"),
            [post_id],
            row_to_post,
        )?)
    }

    /// The bytes as received, while the post may still be sent.
    pub fn post_raw(&self, post_id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT raw FROM posts WHERE id = ?1", [post_id], |r| {
                r.get(0)
            })?)
    }

    /// Records a fetched message before anything is done with it.
    pub fn record_post(&self, list: &List, new: &NewPost<'_>) -> Result<Sighting> {
        let hash = sha256_hex(new.raw);
        let tx = self.conn.unchecked_transaction()?;
        // A different post that reuses a Message-ID is no copy: taking it
        // for one would let whoever sends a Message-ID first suppress the
        // real post. It is recorded, and deciding it looks at the reuse.
        let earlier: Option<i64> = tx
            .query_row(
                "SELECT id FROM posts WHERE list_id = ?1 AND state != 'quarantined' AND folder != 'gone'
                   AND ((?2 != '' AND message_id = ?2 AND lower(sender) = lower(?4)) OR raw_sha256 = ?3)
                 ORDER BY id LIMIT 1",
                params![list.id, new.message_id, hash, new.sender],
                |r| r.get(0),
            )
            .optional()?;
        let sighting = match earlier {
            None => {
                tx.execute(
                    "INSERT INTO posts (list_id, uidvalidity, uid, message_id, sender, raw_sha256, size, raw, received_at, arrived_at, folder)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        list.id,
                        new.uidvalidity,
                        new.uid,
                        new.message_id,
                        new.sender,
                        hash,
                        new.raw.len() as i64,
                        new.raw,
                        now(),
                        new.arrived_at,
                        folder_str(new.claimed)
                    ],
                )?;
                Sighting::New(tx.last_insert_rowid())
            }
            Some(of) => {
                let reason = format!(
                    "a copy of post {of} (the same content, or its Message-ID from the same sender): not sent again"
                );
                tx.execute(
                    "INSERT INTO posts (list_id, uidvalidity, uid, message_id, sender, raw_sha256, size, state,
                                        decision, reason, received_at, folder)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'done', 'discard', ?8, ?9, ?10)",
                    params![list.id, new.uidvalidity, new.uid, new.message_id, new.sender, hash, new.raw.len() as i64, reason, now(), folder_str(new.claimed)],
                )?;
                let post_id = tx.last_insert_rowid();
                // The earlier record may point at a mailbox position the
                // server has renumbered; it must never be used to move a
                // message again. Its copy here is filed instead.
                tx.execute(
                    "UPDATE posts SET on_server = 'processed'
                     WHERE id = ?1 AND on_server = 'inbox' AND (uidvalidity != ?2 OR folder != ?3)",
                    params![of, new.uidvalidity, folder_str(new.claimed)],
                )?;
                tx.execute(
                    "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'decision', ?4)",
                    params![list.id, post_id, now(), format!("discarded: {reason}")],
                )?;
                Sighting::Copy { post_id, of }
            }
        };
        tx.commit()?;
        Ok(sighting)
    }

    /// An earlier post of the list that went out with this post's
    /// Message-ID from another sender: (its id, its sender).
    pub fn message_id_taken(&self, post_id: i64) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT e.id, e.sender FROM posts p JOIN posts e
                   ON e.list_id = p.list_id AND e.message_id = p.message_id AND e.id < p.id
                 WHERE p.id = ?1 AND p.message_id != '' AND lower(e.sender) != lower(p.sender)
                   AND e.decision IN ('distribute', 'approved')
                 ORDER BY e.id LIMIT 1",
                [post_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// When the post reached the list's mailbox: the server's INTERNALDATE,
    /// else when Conclave recorded it.
    pub fn post_arrived_at(&self, post_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(arrived_at, received_at) FROM posts WHERE id = ?1",
            [post_id],
            |r| r.get(0),
        )?)
    }

    /// Counts one more try at deciding a post, committed before the try, so
    /// that a post which crashes the agent is recognised the next time.
    pub fn begin_attempt(&self, post_id: i64) -> Result<u32> {
        self.conn.execute(
            "UPDATE posts SET attempts = attempts + 1 WHERE id = ?1",
            [post_id],
        )?;
        Ok(self
            .conn
            .query_row("SELECT attempts FROM posts WHERE id = ?1", [post_id], |r| {
                r.get(0)
            })?)
    }

    /// Records the decision about a post and everything that follows from it,
    /// in one transaction: the deliveries (distribute), the held entry (hold),
    /// and the activity line. After this the post's fate survives any crash.
    pub fn settle_post(&self, post_id: i64, s: &Settlement) -> Result<()> {
        let post = self.post(post_id)?;
        if post.state != PostState::Received {
            return Err(StoreError::Invalid(format!(
                "post {post_id} was decided already"
            )));
        }
        let sends =
            !s.recipients.is_empty() || !s.keyless_notices.is_empty() || !s.replies.is_empty();
        let state = match s.decision {
            Outcome::Distribute | Outcome::Command if sends => PostState::Queued,
            Outcome::Distribute | Outcome::Reject | Outcome::Discard | Outcome::Command => {
                PostState::Done
            }
            Outcome::Hold => PostState::Held,
            Outcome::Quarantine => PostState::Quarantined,
            other => {
                return Err(StoreError::Invalid(format!(
                    "{} is an owner's resolution, not a decision",
                    other.as_str()
                )));
            }
        };
        let tx = self.conn.unchecked_transaction()?;
        let keep_raw = matches!(state, PostState::Queued | PostState::Held);
        tx.execute(
            &format!(
                "UPDATE posts SET state = ?1, decision = ?2, reason = ?3, sender = ?4, subject = ?5,
                                  signer = ?6, signer_key = ?7{}
                 WHERE id = ?8",
                // A command's answers are written already; its bytes are
                // not needed to send them.
                if keep_raw && s.decision != Outcome::Command { "" } else { ", raw = NULL" }
            ),
            params![
                state_str(state),
                s.decision,
                s.reason,
                s.sender,
                s.subject,
                s.signer.as_ref().map(|(e, _)| e),
                s.signer.as_ref().map(|(_, k)| k),
                post_id
            ],
        )?;
        let t = now();
        for rcpt in &s.recipients {
            tx.execute(
                "INSERT OR IGNORE INTO deliveries (post_id, kind, recipient, updated_at) VALUES (?1, 'post', ?2, ?3)",
                params![post_id, rcpt, t],
            )?;
        }
        for rcpt in &s.keyless_notices {
            tx.execute(
                "INSERT OR IGNORE INTO deliveries (post_id, kind, recipient, updated_at) VALUES (?1, 'keyless-notice', ?2, ?3)",
                params![post_id, rcpt, t],
            )?;
        }
        for (rcpt, body) in &s.replies {
            tx.execute(
                "INSERT OR IGNORE INTO deliveries (post_id, kind, recipient, updated_at, body) VALUES (?1, 'reply', ?2, ?3, ?4)",
                params![post_id, rcpt, t, body],
            )?;
        }
        super::key_inbox::record_offered(&tx, post.list_id, post_id, &s.offered_keys, t)?;
        if let Some(change) = &s.key_change {
            let changed = tx.execute(
                "UPDATE member_keys SET fingerprint = ?1, cert = ?2, added_at = ?3
                 WHERE protocol = ?4 AND fingerprint = ?5
                   AND member_id = (SELECT id FROM members WHERE list_id = ?6 AND email = ?7)",
                params![
                    change.key.fingerprint,
                    change.key.cert,
                    t,
                    change.protocol.as_str(),
                    change.old,
                    post.list_id,
                    change.email
                ],
            )?;
            if changed > 0 {
                tx.execute(
                    "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'config', ?4)",
                    params![
                        post.list_id,
                        post_id,
                        t,
                        format!(
                            "{}'s {} key {} replaced by {}: {}",
                            change.email,
                            change.protocol,
                            change.old,
                            change.key.fingerprint,
                            change.because
                        )
                    ],
                )?;
            }
        }
        match &s.membership {
            None => {}
            Some(MembershipChange::RequestLeave { email, token }) => {
                tx.execute(
                    "INSERT INTO unsubscribe_requests (list_id, email, token, requested_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (list_id, email) DO UPDATE SET token = excluded.token, requested_at = excluded.requested_at",
                    params![post.list_id, email, token, t],
                )?;
            }
            Some(MembershipChange::RequestJoin { email, name }) => {
                tx.execute(
                    "INSERT INTO join_requests (list_id, email, name, requested_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (list_id, email) DO UPDATE SET requested_at = excluded.requested_at",
                    params![post.list_id, email, name, t],
                )?;
            }
            Some(MembershipChange::Join {
                invitation,
                email,
                name,
                role,
                protocol,
                key,
            }) => {
                tx.execute(
                    "UPDATE invitations SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL",
                    params![t, invitation],
                )?;
                tx.execute(
                    "DELETE FROM join_requests WHERE list_id = ?1 AND email = ?2",
                    params![post.list_id, email],
                )?;
                tx.execute(
                    "INSERT INTO members (list_id, email, name, role, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (list_id, email) DO NOTHING",
                    params![post.list_id, email, name, role.as_str(), t],
                )?;
                let member_id: i64 = tx.query_row(
                    "SELECT id FROM members WHERE list_id = ?1 AND email = ?2",
                    params![post.list_id, email],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO member_keys (member_id, protocol, fingerprint, cert, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (member_id, protocol) DO UPDATE SET
                        fingerprint = excluded.fingerprint, cert = excluded.cert, added_at = excluded.added_at",
                    params![member_id, protocol.as_str(), key.fingerprint, key.cert, t],
                )?;
                tx.execute(
                    "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'config', ?4)",
                    params![post.list_id, post_id, t, format!("{email} joined by invitation, with the {protocol} key {}", key.fingerprint)],
                )?;
            }
            Some(MembershipChange::Leave { email }) => {
                tx.execute(
                    "DELETE FROM unsubscribe_requests WHERE list_id = ?1 AND email = ?2",
                    params![post.list_id, email],
                )?;
                tx.execute(
                    "DELETE FROM members WHERE list_id = ?1 AND email = ?2",
                    params![post.list_id, email],
                )?;
                tx.execute(
                    "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'config', ?4)",
                    params![post.list_id, post_id, t, format!("member {email} removed: they confirmed by mail that they leave")],
                )?;
            }
        }
        if let (PostState::Queued | PostState::Done, Some(digest)) = (state, &s.signature_digest)
            && s.decision == Outcome::Distribute
        {
            tx.execute(
                "INSERT OR IGNORE INTO signatures (list_id, digest, post_id, at) VALUES (?1, ?2, ?3, ?4)",
                params![post.list_id, digest, post_id, t],
            )?;
        }
        if matches!(
            s.decision,
            Outcome::Hold | Outcome::Reject | Outcome::Discard
        ) {
            for owner in &s.notify_owners {
                tx.execute(
                    "INSERT OR IGNORE INTO deliveries (post_id, kind, recipient, updated_at) VALUES (?1, 'owner-notice', ?2, ?3)",
                    params![post_id, owner, t],
                )?;
            }
        }
        if state == PostState::Held {
            tx.execute(
                "INSERT INTO held_posts (post_id, reason, approvable, held_at) VALUES (?1, ?2, ?3, ?4)",
                params![post_id, s.reason, s.approvable, t],
            )?;
        }
        let line = match state {
            PostState::Queued => format!(
                "post from {} \"{}\": distribute to {} member(s)",
                s.sender,
                s.subject,
                s.recipients.len()
            ),
            _ => format!(
                "post from {} \"{}\": {}: {}",
                s.sender,
                s.subject,
                s.decision.as_str(),
                s.reason
            ),
        };
        tx.execute(
            "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'decision', ?4)",
            params![post.list_id, post_id, t, line],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks queued posts whose every delivery is final as done, forgets
    /// their bytes, and logs how many members each reached. Returns how many
    /// were completed.
    pub fn complete_posts(&self, list: &List) -> Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let finished: Vec<(i64, String, String, i64, i64, i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT p.id, p.sender, p.subject,
                        (SELECT count(*) FROM deliveries d WHERE d.post_id = p.id AND d.kind = 'post' AND d.state = 'sent'),
                        (SELECT count(*) FROM deliveries d WHERE d.post_id = p.id AND d.kind = 'post' AND d.state = 'failed'),
                        (SELECT count(*) FROM deliveries d WHERE d.post_id = p.id AND d.kind = 'keyless-notice' AND d.state = 'sent'),
                        coalesce(p.decision, '')
                 FROM posts p
                 WHERE p.list_id = ?1 AND p.state = 'queued'
                   AND NOT EXISTS (SELECT 1 FROM deliveries d
                                   WHERE d.post_id = p.id AND d.state IN ('queued', 'sending'))
                 ORDER BY p.id",
            )?;
            let rows = stmt.query_map([list.id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let t = now();
        for (post_id, sender, subject, sent, failed, notices, decision) in &finished {
            tx.execute(
                "UPDATE posts SET state = 'done', raw = NULL WHERE id = ?1",
                [post_id],
            )?;
            if decision == "command" {
                continue;
            }
            // One line per post, not per member: a list of a thousand
            // members would otherwise bury everything else in the log.
            let mut line =
                format!("post from {sender} \"{subject}\": delivered to {sent} member(s)");
            if *notices > 0 {
                line.push_str(&format!(
                    "; {notices} without a usable key got a notice instead (the post arrived encrypted)"
                ));
            }
            if *failed > 0 {
                line.push_str(&format!("; {failed} could not be reached (see the errors)"));
            }
            tx.execute(
                "INSERT INTO activity (list_id, post_id, at, kind, message) VALUES (?1, ?2, ?3, 'delivery', ?4)",
                params![list.id, post_id, t, line],
            )?;
        }
        tx.commit()?;
        Ok(finished.len())
    }

    /// The member who asked to leave with this confirmation code, if the
    /// request is still open (made less than `max_age` seconds ago).
    pub fn unsubscribe_request(
        &self,
        list: &List,
        token: &str,
        max_age: i64,
    ) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT email FROM unsubscribe_requests WHERE list_id = ?1 AND token = ?2 AND requested_at > ?3",
                params![list.id, token, now() - max_age],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Posts still in the INBOX whose fate is settled: ready to be filed away
    /// on the server (to Processed, or to Quarantine).
    pub fn posts_to_file(&self, list: &List) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE list_id = ?1 AND on_server = 'inbox'
               AND state IN ('held', 'done', 'quarantined') ORDER BY id"
        ))?;
        let rows = stmt.query_map([list.id], row_to_post)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Posts recorded but not yet decided (the agent stopped in between).
    pub fn undecided_posts(&self, list: &List) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE list_id = ?1 AND state = 'received' ORDER BY id"
        ))?;
        let rows = stmt.query_map([list.id], row_to_post)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn mark_on_server(&self, post: &PostRecord, place: OnServer) -> Result<()> {
        self.conn.execute(
            "UPDATE posts SET on_server = ?1 WHERE id = ?2",
            params![on_server_str(place), post.id],
        )?;
        let folder = match place {
            OnServer::Inbox => "INBOX",
            OnServer::Processed => crate::transport::PROCESSED_FOLDER,
            OnServer::Quarantine => crate::transport::QUARANTINE_FOLDER,
        };
        self.log(
            post.list_id,
            Some(post.id),
            ActivityKind::Server,
            &format!("filed in {folder} on the server"),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;
    use crate::model::Protocol;

    fn settle(recipients: &[&str]) -> Settlement {
        Settlement {
            decision: Outcome::Distribute,
            reason: "member".into(),
            sender: "a@example.org".into(),
            subject: "hi".into(),
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            approvable: true,
            ..Settlement::default()
        }
    }

    #[test]
    fn a_message_id_reused_by_another_sender_is_no_copy() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let new = |uid, sender, raw: &'static [u8]| NewPost {
            uidvalidity: 1,
            uid,
            message_id: "<m@x>",
            sender,
            raw,
            arrived_at: None,
            claimed: false,
        };
        // Eve squats on the Message-ID of a post Alice is about to send.
        let Sighting::New(eve) = s
            .record_post(&l, &new(1, "eve@example.net", b"squat"))
            .unwrap()
        else {
            panic!()
        };
        let Sighting::New(alice) = s
            .record_post(&l, &new(2, "Alice@example.org", b"real"))
            .unwrap()
        else {
            panic!("the member's post was taken for a copy")
        };
        // Eve's was held, not sent: Alice's post is nobody's copy.
        s.settle_post(
            eve,
            &Settlement {
                decision: Outcome::Hold,
                sender: "eve@example.net".into(),
                ..Settlement::default()
            },
        )
        .unwrap();
        assert_eq!(s.message_id_taken(alice).unwrap(), None);
        // Had Eve's gone out, Alice's is one to look at.
        let Sighting::New(mallory) = s
            .record_post(&l, &new(3, "mallory@example.org", b"again"))
            .unwrap()
        else {
            panic!()
        };
        s.settle_post(
            alice,
            &Settlement {
                decision: Outcome::Distribute,
                sender: "alice@example.org".into(),
                ..Settlement::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.message_id_taken(mallory).unwrap(),
            Some((alice, "alice@example.org".into()))
        );
        // The same sender again is a copy.
        let again = s
            .record_post(&l, &new(4, "alice@EXAMPLE.org", b"real, relayed twice"))
            .unwrap();
        assert!(
            matches!(again, Sighting::Copy { of, .. } if of == alice),
            "{again:?}"
        );
    }

    #[test]
    fn a_full_disk_says_so() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        // SQLite answers SQLITE_FULL at its page limit as on a full disk.
        let pages: i64 = s
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn.pragma_update(None, "max_page_count", pages).unwrap();
        let big = vec![7u8; 1 << 20];
        let e = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw: &big,
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap_err();
        assert!(matches!(e, crate::store::StoreError::DiskFull), "{e:?}");
        assert!(
            e.to_string().contains("disk") && e.to_string().contains("full"),
            "{e}"
        );
    }

    #[test]
    fn a_copy_is_recognised_by_message_id_or_bytes() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let first = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "<a@x>",
                    sender: "",
                    raw: b"one",
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap();
        let Sighting::New(first) = first else {
            panic!()
        };
        // Same Message-ID, other bytes (e.g. a Received line more).
        let again = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 2,
                    uid: 7,
                    message_id: "<a@x>",
                    sender: "",
                    raw: b"one!",
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap();
        assert!(matches!(again, Sighting::Copy { of, .. } if of == first));
        // No Message-ID, same bytes.
        let Sighting::New(_) = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 2,
                    uid: 8,
                    message_id: "",
                    sender: "",
                    raw: b"two",
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        let copy = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 3,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw: b"two",
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap();
        assert!(matches!(copy, Sighting::Copy { .. }));
        // The renumbered original is never moved by its stale position.
        assert_eq!(s.post(first).unwrap().on_server, OnServer::Processed);
    }

    #[test]
    fn settling_queues_deliveries_and_completion_forgets_bytes() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let Sighting::New(id) = s
            .record_post(
                &l,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "<m>",
                    sender: "",
                    raw: b"raw",
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(s.begin_attempt(id).unwrap(), 1);
        s.settle_post(id, &settle(&["b@example.org", "c@example.org"]))
            .unwrap();
        assert!(
            s.settle_post(id, &settle(&[])).is_err(),
            "a post is decided once"
        );
        assert_eq!(s.post(id).unwrap().state, PostState::Queued);
        assert_eq!(s.deliveries(id).unwrap().len(), 2);
        assert_eq!(s.complete_posts(&l).unwrap(), 0);
        assert!(
            s.posts_to_file(&l).unwrap().is_empty(),
            "not filed while deliveries wait"
        );
        for d in s.deliveries(id).unwrap() {
            s.mark_sending(d.id).unwrap();
            s.mark_sent(d.id).unwrap();
        }
        assert_eq!(s.complete_posts(&l).unwrap(), 1);
        assert_eq!(s.post_raw(id).unwrap(), None);
        let to_file = s.posts_to_file(&l).unwrap();
        assert_eq!(to_file.len(), 1);
        s.mark_on_server(&to_file[0], OnServer::Processed).unwrap();
        assert!(s.posts_to_file(&l).unwrap().is_empty());
    }

    #[test]
    fn a_member_bounces_while_their_last_copy_was_refused() {
        let (_d, s) = store();
        let l = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let post = |uid: u32| {
            let raw = format!("post {uid}");
            let new = NewPost {
                uidvalidity: 1,
                uid,
                message_id: &format!("<{uid}@x>"),
                sender: "",
                raw: raw.as_bytes(),
                arrived_at: None,
                claimed: false,
            };
            let Sighting::New(id) = s.record_post(&l, &new).unwrap() else {
                panic!("post {uid} taken for a copy")
            };
            s.begin_attempt(id).unwrap();
            s.settle_post(
                id,
                &settle(&["Gone@example.org", "ok@example.org", "nokey@example.org"]),
            )
            .unwrap();
            s.deliveries(id).unwrap()
        };
        for d in post(1) {
            match d.recipient.as_str() {
                "Gone@example.org" => {
                    s.mark_sending(d.id).unwrap();
                    s.mark_failed(&d, "550 5.1.1 no such user").unwrap();
                }
                // Never tried: no key to encrypt to.
                "nokey@example.org" => s.mark_failed(&d, "has no valid key").unwrap(),
                _ => {
                    s.mark_sending(d.id).unwrap();
                    s.mark_sent(d.id).unwrap();
                }
            }
        }
        let bouncing = s.bouncing(&l).unwrap();
        assert_eq!(bouncing.len(), 1, "{bouncing:?}");
        assert_eq!(bouncing["gone@example.org"], "550 5.1.1 no such user");
        // The next copy goes through: no longer bouncing.
        for d in post(2) {
            s.mark_sending(d.id).unwrap();
            s.mark_sent(d.id).unwrap();
        }
        assert!(s.bouncing(&l).unwrap().is_empty());
    }
}
