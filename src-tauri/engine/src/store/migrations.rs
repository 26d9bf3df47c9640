//! The schema, as a straight list of numbered steps. Each step runs in its own
//! transaction together with the bump of `user_version`, so a crash leaves the
//! schema at one step or the next, never between. Steps are never edited once
//! released: a change is a new step at the end.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

pub(super) const STEPS: &[&str] = &[
    // 1: lists, members, accounts, the ledger of posts, the outbox, held
    // posts and the activity log.
    r#"
    CREATE TABLE lists (
        id            INTEGER PRIMARY KEY,
        address       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name          TEXT NOT NULL,
        protocol      TEXT NOT NULL DEFAULT 'plain' CHECK (protocol IN ('plain', 'openpgp', 'smime')),
        paused        INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        last_check_at INTEGER,
        last_error    TEXT
    ) STRICT;

    -- Settings as key/value pairs; model::ListSettings validates them.
    CREATE TABLE list_settings (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (list_id, key)
    ) STRICT;

    -- Passwords are in the OS keychain, never here.
    CREATE TABLE accounts (
        list_id   INTEGER PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
        imap_host TEXT NOT NULL,
        imap_port INTEGER NOT NULL,
        imap_tls  TEXT NOT NULL CHECK (imap_tls IN ('implicit', 'starttls', 'none')),
        imap_user TEXT NOT NULL,
        smtp_host TEXT NOT NULL,
        smtp_port INTEGER NOT NULL,
        smtp_tls  TEXT NOT NULL CHECK (smtp_tls IN ('implicit', 'starttls', 'none')),
        smtp_user TEXT NOT NULL,
        ca_pem    TEXT
    ) STRICT;

    CREATE TABLE members (
        id        INTEGER PRIMARY KEY,
        list_id   INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email     TEXT NOT NULL COLLATE NOCASE,
        name      TEXT NOT NULL DEFAULT '',
        role      TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator', 'owner')),
        own_posts INTEGER NOT NULL DEFAULT 1,
        added_at  INTEGER NOT NULL,
        UNIQUE (list_id, email)
    ) STRICT;

    -- The ledger: every message seen in a list's INBOX, recorded before it
    -- is acted on. raw is kept only while the post may still be sent.
    CREATE TABLE posts (
        id          INTEGER PRIMARY KEY,
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        message_id  TEXT NOT NULL DEFAULT '',
        raw_sha256  TEXT NOT NULL,
        size        INTEGER NOT NULL,
        sender      TEXT NOT NULL DEFAULT '',
        subject     TEXT NOT NULL DEFAULT '',
        raw         BLOB,
        state       TEXT NOT NULL DEFAULT 'received'
                    CHECK (state IN ('received', 'queued', 'held', 'done', 'quarantined')),
        on_server   TEXT NOT NULL DEFAULT 'inbox'
                    CHECK (on_server IN ('inbox', 'processed', 'quarantine')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        decision    TEXT,
        reason      TEXT,
        received_at INTEGER NOT NULL,
        UNIQUE (list_id, uidvalidity, uid)
    ) STRICT;
    CREATE INDEX posts_by_message_id ON posts (list_id, message_id);
    CREATE INDEX posts_by_hash ON posts (list_id, raw_sha256);
    CREATE INDEX posts_by_state ON posts (list_id, state, on_server);

    -- The outbox: one row per post and recipient, written before the first
    -- send; state is committed before and after each send.
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        post_id         INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        kind            TEXT NOT NULL DEFAULT 'post' CHECK (kind IN ('post', 'notice', 'owner-notice')),
        recipient       TEXT NOT NULL COLLATE NOCASE,
        state           TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        updated_at      INTEGER NOT NULL,
        UNIQUE (post_id, kind, recipient)
    ) STRICT;
    CREATE INDEX deliveries_pending ON deliveries (state, next_attempt_at);

    CREATE TABLE held_posts (
        id          INTEGER PRIMARY KEY,
        post_id     INTEGER NOT NULL UNIQUE REFERENCES posts (id) ON DELETE CASCADE,
        reason      TEXT NOT NULL,
        approvable  INTEGER NOT NULL DEFAULT 1,
        held_at     INTEGER NOT NULL,
        resolution  TEXT CHECK (resolution IN ('approved', 'rejected', 'discarded')),
        resolved_at INTEGER
    ) STRICT;

    CREATE TABLE activity (
        id      INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        post_id INTEGER,
        at      INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        message TEXT NOT NULL
    ) STRICT;
    CREATE INDEX activity_by_list ON activity (list_id, id);
    "#,
    // 2: keys. The list's public certificate (its secret part is in the
    // keychain) and each member's checked certificate, per protocol, so a
    // list can hold both an OpenPGP key and an S/MIME certificate.
    r#"
    CREATE TABLE list_keys (
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        protocol    TEXT NOT NULL CHECK (protocol IN ('openpgp', 'smime')),
        fingerprint TEXT NOT NULL,
        public_cert BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (list_id, protocol)
    ) STRICT;

    CREATE TABLE member_keys (
        member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
        protocol    TEXT NOT NULL CHECK (protocol IN ('openpgp', 'smime')),
        fingerprint TEXT NOT NULL,
        cert        BLOB NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (member_id, protocol)
    ) STRICT;
    CREATE INDEX member_keys_by_fingerprint ON member_keys (protocol, fingerprint);

    -- Every member signature a distributed post carried, so a replay of
    -- the same signed post is recognised.
    -- When the message reached the list's mailbox (IMAP INTERNALDATE),
    -- against which a signature's age is judged.
    ALTER TABLE posts ADD COLUMN arrived_at INTEGER;

    CREATE TABLE signatures (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        digest  TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        at      INTEGER NOT NULL,
        PRIMARY KEY (list_id, digest)
    ) STRICT;
    "#,
    // 3: S/MIME. The authorities whose certificates a list trusts for its
    // members, and the cipher each member's client reads (AES-GCM only
    // where the owner knows the client supports it).
    r#"
    CREATE TABLE trust_anchors (
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        subject     TEXT NOT NULL,
        cert        BLOB NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (list_id, fingerprint)
    ) STRICT;

    ALTER TABLE members ADD COLUMN smime_cipher TEXT NOT NULL DEFAULT 'cbc'
        CHECK (smime_cipher IN ('cbc', 'gcm'));
    "#,
    // 4: what the list writes itself, and who really signed. Deliveries
    // take two more kinds: the content-free notice a member without a key
    // gets instead of a post that arrived encrypted, and the list's answers
    // to members' commands (help, unsubscribe), whose text is written when
    // the command is taken (body). SQLite cannot change a CHECK, so the
    // table is made again with its rows.
    r#"
    CREATE TABLE deliveries_4 (
        id              INTEGER PRIMARY KEY,
        post_id         INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        kind            TEXT NOT NULL DEFAULT 'post'
                        CHECK (kind IN ('post', 'notice', 'owner-notice', 'keyless-notice', 'reply')),
        recipient       TEXT NOT NULL COLLATE NOCASE,
        state           TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        updated_at      INTEGER NOT NULL,
        body            BLOB,
        UNIQUE (post_id, kind, recipient)
    ) STRICT;
    INSERT INTO deliveries_4 (id, post_id, kind, recipient, state, attempts, next_attempt_at, last_error, updated_at)
        SELECT id, post_id, kind, recipient, state, attempts, next_attempt_at, last_error, updated_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_4 RENAME TO deliveries;
    CREATE INDEX deliveries_pending ON deliveries (state, next_attempt_at);

    -- A member's request to leave, until they confirm it with the code
    -- the list mailed them (or it ends).
    CREATE TABLE unsubscribe_requests (
        list_id      INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email        TEXT NOT NULL COLLATE NOCASE,
        token        TEXT NOT NULL UNIQUE,
        requested_at INTEGER NOT NULL,
        PRIMARY KEY (list_id, email)
    ) STRICT;

    -- The member whose key made a good signature on the post, and that
    -- key, even when From names someone else (an owner is shown both).
    ALTER TABLE posts ADD COLUMN signer TEXT;
    ALTER TABLE posts ADD COLUMN signer_key TEXT;
    "#,
    // 5: a copy waiting for the provider's sending limit (a quota a day, a
    // rate) rather than for a retry of its own: until when; and the limit
    // an account has, when the owner knows it.
    r#"
    ALTER TABLE deliveries ADD COLUMN limited_until INTEGER;

    -- How many copies the account may send in 24 hours, when known.
    ALTER TABLE accounts ADD COLUMN daily_limit INTEGER;
    "#,
    // 6: the list's sealed backup in its own mailbox: a digest of what the
    // last one held, so a new one is made only after a change.
    r#"
    ALTER TABLE lists ADD COLUMN backed_up_sha256 TEXT;
    ALTER TABLE lists ADD COLUMN backed_up_at INTEGER;
    "#,
    // 7: members told that their key ends soon: once a month ahead and
    // once a week ahead, per key.
    r#"
    CREATE TABLE key_reminders (
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email       TEXT NOT NULL COLLATE NOCASE,
        fingerprint TEXT NOT NULL,
        days        INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        sent_at     INTEGER NOT NULL,
        PRIMARY KEY (list_id, email, fingerprint, days)
    ) STRICT;
    "#,
    // 8: invitations: a one-time code the owner passes on over a channel
    // they trust; the invitee's signed answer with their key makes them a
    // member. Only a digest of the code is kept.
    r#"
    CREATE TABLE invitations (
        id           INTEGER PRIMARY KEY,
        list_id      INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email        TEXT NOT NULL COLLATE NOCASE,
        name         TEXT NOT NULL DEFAULT '',
        role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator', 'owner')),
        token_sha256 TEXT NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        used_at      INTEGER
    ) STRICT;
    "#,
    // 9: the key inbox: keys that came by mail without an invitation, each
    // waiting for an owner's one decision (and remembered after it).
    r#"
    CREATE TABLE pending_keys (
        id           INTEGER PRIMARY KEY,
        list_id      INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email        TEXT NOT NULL COLLATE NOCASE,
        protocol     TEXT NOT NULL CHECK (protocol IN ('openpgp', 'smime')),
        fingerprint  TEXT NOT NULL,
        cert         BLOB NOT NULL,
        how          TEXT NOT NULL,
        signed_by_it INTEGER NOT NULL,
        replaces     TEXT,
        arrived_at   INTEGER NOT NULL,
        decision     TEXT CHECK (decision IN ('accepted', 'rejected')),
        decided_at   INTEGER,
        UNIQUE (list_id, email, fingerprint)
    ) STRICT;
    "#,
    // 10: a renewed list key is mailed to every member once, so their
    // clients take its new expiry before the old one runs out.
    r#"
    CREATE TABLE key_announcements (
        id          INTEGER PRIMARY KEY,
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        protocol    TEXT NOT NULL CHECK (protocol IN ('openpgp', 'smime')),
        fingerprint TEXT NOT NULL,
        expires     TEXT NOT NULL,
        made_at     INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE key_announced (
        announcement_id INTEGER NOT NULL REFERENCES key_announcements (id) ON DELETE CASCADE,
        email           TEXT NOT NULL COLLATE NOCASE,
        sent_at         INTEGER NOT NULL,
        PRIMARY KEY (announcement_id, email)
    ) STRICT;
    "#,
    // 11: requests to join ("subscribe" by mail), for the owner to answer
    // with an invitation or to dismiss.
    r#"
    CREATE TABLE join_requests (
        list_id      INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        email        TEXT NOT NULL COLLATE NOCASE,
        name         TEXT NOT NULL DEFAULT '',
        requested_at INTEGER NOT NULL,
        PRIMARY KEY (list_id, email)
    ) STRICT;
    "#,
    // 12: claims, so that two laptops running one list never both take a
    // post. A post is moved into the Claimed folder before it is read;
    // `folder` says which folder its UIDVALIDITY and UID are of ('gone':
    // another laptop took the claim over while this one was stopped). Claims of
    // other laptops are watched: each with its lease mark as last seen and
    // since when this laptop has seen that mark unchanged.
    r#"
    ALTER TABLE posts ADD COLUMN folder TEXT NOT NULL DEFAULT 'inbox'
        CHECK (folder IN ('inbox', 'claimed', 'gone'));
    CREATE TABLE claims_seen (
        list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        mark        TEXT NOT NULL,
        since       INTEGER NOT NULL,
        PRIMARY KEY (list_id, uidvalidity, uid)
    ) STRICT;
    -- Who this laptop is to the others, in its claims' marks.
    CREATE TABLE this_laptop (id TEXT NOT NULL) STRICT;
    "#,
    // 13: changes that travel between two laptops running one list. When a
    // member (with their keys) or a setting last changed, kept by triggers
    // so that no path of the code can forget it; removed members as
    // tombstones; when the newest state each other laptop sent was made, to
    // tell a conflict (both changed a member since) from news; what this
    // laptop published, and how far it read the folder.
    r#"
    ALTER TABLE members ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
    UPDATE members SET updated_at = added_at;
    ALTER TABLE list_settings ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE members_gone (
        list_id INTEGER NOT NULL,
        email   TEXT NOT NULL COLLATE NOCASE,
        gone_at INTEGER NOT NULL,
        PRIMARY KEY (list_id, email)
    ) STRICT;
    CREATE TABLE sync_state (
        list_id         INTEGER PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
        published       TEXT,
        folder_validity INTEGER NOT NULL DEFAULT 0,
        folder_uid      INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE sync_peers (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        laptop  TEXT NOT NULL,
        made_at INTEGER NOT NULL,
        PRIMARY KEY (list_id, laptop)
    ) STRICT;
    CREATE TRIGGER member_added AFTER INSERT ON members WHEN NEW.updated_at = 0 BEGIN
        UPDATE members SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = NEW.id;
    END;
    CREATE TRIGGER member_back AFTER INSERT ON members BEGIN
        DELETE FROM members_gone WHERE list_id = NEW.list_id AND email = NEW.email;
    END;
    CREATE TRIGGER member_changed AFTER UPDATE OF email, name, role, own_posts, smime_cipher ON members BEGIN
        UPDATE members SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = NEW.id;
    END;
    CREATE TRIGGER member_removed AFTER DELETE ON members BEGIN
        INSERT INTO members_gone (list_id, email, gone_at)
        VALUES (OLD.list_id, OLD.email, CAST(strftime('%s', 'now') AS INTEGER))
        ON CONFLICT (list_id, email) DO UPDATE SET gone_at = excluded.gone_at;
    END;
    CREATE TRIGGER member_key_added AFTER INSERT ON member_keys BEGIN
        UPDATE members SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = NEW.member_id;
    END;
    CREATE TRIGGER member_key_changed AFTER UPDATE ON member_keys BEGIN
        UPDATE members SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = NEW.member_id;
    END;
    CREATE TRIGGER member_key_removed AFTER DELETE ON member_keys BEGIN
        UPDATE members SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = OLD.member_id;
    END;
    CREATE TRIGGER list_made AFTER INSERT ON lists BEGIN
        DELETE FROM members_gone WHERE list_id = NEW.id;
    END;
    CREATE TRIGGER setting_made AFTER INSERT ON list_settings WHEN NEW.changed_at = 0 BEGIN
        UPDATE list_settings SET changed_at = CAST(strftime('%s', 'now') AS INTEGER)
        WHERE list_id = NEW.list_id AND key = NEW.key;
    END;
    CREATE TRIGGER setting_changed AFTER UPDATE OF value ON list_settings BEGIN
        UPDATE list_settings SET changed_at = CAST(strftime('%s', 'now') AS INTEGER)
        WHERE list_id = NEW.list_id AND key = NEW.key;
    END;
    "#,
    // 14: the OpenPGP signatures (members' self-signatures, as a rule)
    // already found good, as sequoia's verification cache names them (an
    // opaque digest of signature, signed data and key), so that a run does
    // not verify every member's key again: the day each was last needed,
    // to let go of those not needed for a month. A list's removal takes
    // them all, so nothing tells which keys a forgotten list held.
    r#"
    CREATE TABLE signature_checks (
        entry   BLOB PRIMARY KEY,
        used_on INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TRIGGER list_forgotten_checks AFTER DELETE ON lists BEGIN
        DELETE FROM signature_checks;
    END;
    "#,
];

pub(super) fn run(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = STEPS.len() as i64;
    // Each step reads the version and moves it on in one write transaction,
    // so that two processes starting at once (the window and the tray's
    // agent) never run the same step twice: the second waits, then finds
    // the step done.
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                known,
            });
        }
        if found == known {
            tx.commit()?;
            return Ok(());
        }
        tx.execute_batch(STEPS[found as usize])?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_step_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut conn = Connection::open(&path).unwrap();
        run(&mut conn, &path).unwrap();
        run(&mut conn, &path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, STEPS.len() as i64);
    }

    #[test]
    fn deliveries_survive_the_rebuild_of_their_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut conn = Connection::open(&path).unwrap();
        for (i, step) in STEPS.iter().enumerate().take(3) {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO lists (id, address, name, created_at) VALUES (1, 'l@example.org', 'L', 0);
             INSERT INTO posts (id, list_id, uidvalidity, uid, raw_sha256, size, received_at) VALUES (1, 1, 1, 1, 'h', 1, 0);
             INSERT INTO deliveries (post_id, kind, recipient, state, attempts, updated_at)
                 VALUES (1, 'owner-notice', 'o@example.org', 'sending', 2, 0);",
        )
        .unwrap();
        run(&mut conn, &path).unwrap();
        let row: (String, String, i64) = conn
            .query_row(
                "SELECT kind, state, attempts FROM deliveries WHERE post_id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, ("owner-notice".into(), "sending".into(), 2));
        conn.execute(
            "INSERT INTO deliveries (post_id, kind, recipient, updated_at, body) VALUES (1, 'reply', 'm@example.org', 0, x'00')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let e = run(&mut conn, &path).unwrap_err();
        assert!(e.to_string().contains("newer Conclave"), "{e}");
    }
}
