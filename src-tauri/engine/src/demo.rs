//! The demo: an OpenPGP list with five members on the mail world in
//! memory ([`FakeMail`]), so that someone without a mail account sees what
//! Conclave does. The real agent takes the posts and the real crypto checks
//! and re-encrypts them; only the servers are make-believe, and nothing
//! ever leaves the process.
//!
//! The members post in turn, each post signed by its author and encrypted
//! to the list key as Thunderbird sends it; once, a stranger sends an
//! unsigned post, which the list's policy holds for the owner; and one
//! member's mail server refuses every copy, so the member shows as bouncing.
//!
//! The caller gives a fresh data folder and keeps every secret in memory
//! (`secrets::keep_secrets_in_memory`), so the demo leaves nothing in the
//! keychain; it wakes the agent after each [`Demo::deliver_next`], as IMAP
//! IDLE would.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::crypto::openpgp::{self, KeyAlgo, ListKey, MemberKey};
use crate::fake_mail::FakeMail;
use crate::model::{Account, Endpoint, List, Protocol, Role, TlsMode};
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::{Store, StoreError, StoredKey};
use crate::transport::smtp::SendOutcome;

/// The demo list's address. The domains of the demo are reserved for
/// examples (RFC 2606): nothing there is anybody's mailbox.
pub const DEMO_LIST: &str = "demo-list@example.org";
/// The demo list's name, as the window shows it.
pub const DEMO_NAME: &str = "Demo list";
/// The member whose mail server refuses every copy.
pub const BOUNCING_MEMBER: &str = "dave@example.net";
/// Who sends the one post from outside the list.
pub const STRANGER: &str = "mallory@example.com";
/// How long the demo waits between two posts: long enough to watch each
/// one go through, short enough that a held post and a bouncing member show
/// within half a minute.
pub const POST_EVERY: Duration = Duration::from_secs(4);

/// The mail servers the demo list's account names. `.invalid` never
/// resolves (RFC 2606): should anything try the real servers of the demo's
/// account (testing the account, sending an invitation), it fails at once
/// instead of reaching somebody's server.
const DEMO_IMAP: &str = "imap.demo.invalid";
const DEMO_SMTP: &str = "smtp.demo.invalid";

/// The members: name, address, role. Alice owns the list, so the owner's
/// notices about held posts go to her (into the fake outbox).
const MEMBERS: [(&str, &str, Role); 5] = [
    ("Alice Martin", "alice@example.org", Role::Owner),
    ("Bob Okafor", "bob@example.org", Role::Member),
    ("Carol Weiss", "carol@example.net", Role::Member),
    ("Dave Nguyen", BOUNCING_MEMBER, Role::Member),
    ("Erin Kowalski", "erin@example.com", Role::Member),
];

/// What the members write about, in turn.
const TALK: [(&str, &str); 8] = [
    (
        "Welcome to the list",
        "Hello everyone, this is our new list. What you write here reaches all of us, signed by you and encrypted on the way.",
    ),
    (
        "Meeting on Thursday",
        "Shall we meet on Thursday at seven, in the back room of the community hall?",
    ),
    (
        "Re: Meeting on Thursday",
        "Thursday works for me. I will bring the printed flyers.",
    ),
    (
        "Notes from last week",
        "Short version: the landlord has not answered our letter. We will send a second one.",
    ),
    (
        "Re: Notes from last week",
        "Thanks for the notes. I can draft the second letter this weekend.",
    ),
    (
        "Flyers are ready",
        "The flyers are printed. Who can take a stack for their building?",
    ),
    (
        "Re: Flyers are ready",
        "I will take twenty for the houses on our street.",
    ),
    (
        "Re: Meeting on Thursday",
        "See you all there. Please bring a neighbour.",
    ),
];

/// The post the stranger sends: not signed, not from a member, so the
/// list's policy holds it for the owner.
const STRANGER_POST: (&str, &str) = (
    "Cheap printing for your group",
    "Dear list, we print flyers at half the price. Reply for an offer.",
);

/// At which turn the stranger's post comes (counted from 0): early, so the
/// held post shows within seconds.
const STRANGER_TURN: usize = 2;

/// Copies and filed posts the fake servers keep: a demo that runs all day
/// must not grow without end.
const KEEP_IN_WORLD: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the demo keeps its data and secrets in memory only, and this process was not started for that: start Conclave with --demo"
    )]
    NotInMemory,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("making the demo's keys failed: {0}")]
    Keys(String),
}

/// A member of the demo who posts: their secret key signs their posts.
struct Poster {
    name: &'static str,
    email: &'static str,
    key: ListKey,
}

/// The demo list, its members and the fake servers it runs on.
pub struct Demo {
    mail: FakeMail,
    list: List,
    members: Vec<Poster>,
    /// The list's public key, which the members encrypt their posts to.
    list_key: MemberKey,
    /// Posts delivered so far.
    turn: usize,
    /// Tells this run's posts from those of other demo runs.
    run_id: u64,
}

/// Who sends a post and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPost {
    pub from: String,
    pub subject: String,
    /// Signed by a member and encrypted to the list (else plain, by the
    /// stranger).
    pub signed: bool,
}

fn keys_failed(e: impl std::fmt::Display) -> DemoError {
    DemoError::Keys(e.to_string())
}

impl Demo {
    /// Makes the demo list in `data_dir` (a fresh folder): the list with
    /// its key, the five members with theirs, an account on servers that do
    /// not exist, and the fake servers with the list key and the bouncing
    /// member's refusals.
    pub async fn set_up(data_dir: &Path) -> Result<Demo, DemoError> {
        // Outside the tests, a store opened without this would put its
        // database key into the owner's keychain.
        if !cfg!(test) && !secrets::all_in_memory() {
            return Err(DemoError::NotInMemory);
        }
        // A minute back, as a key made by a member some time ago would be:
        // a signature is never older than the key that made it.
        let made = SystemTime::now() - Duration::from_secs(60);
        let store = Store::open(data_dir)?;
        let list = store.create_list(DEMO_LIST, DEMO_NAME, Protocol::Openpgp)?;
        let endpoint = |host: &str| Endpoint {
            host: host.into(),
            port: 993,
            tls: TlsMode::Implicit,
            user: DEMO_LIST.into(),
        };
        store.set_account(
            DEMO_LIST,
            &Account {
                imap: endpoint(DEMO_IMAP),
                smtp: endpoint(DEMO_SMTP),
                ca_pem: None,
                daily_limit: None,
            },
        )?;
        let key =
            ListKey::generate(DEMO_NAME, DEMO_LIST, KeyAlgo::Ed25519, made).map_err(keys_failed)?;
        let public = key.public_armored().into_bytes();
        store.set_list_key(
            &list,
            Protocol::Openpgp,
            &StoredKey {
                fingerprint: key.fingerprint(),
                cert: public.clone(),
            },
            false,
        )?;
        let list_key = MemberKey::check(&public, DEMO_LIST, SystemTime::now())
            .map_err(|e| DemoError::Keys(e.to_string()))?;
        let mut members = Vec::new();
        for (name, email, role) in MEMBERS {
            let own =
                ListKey::generate(name, email, KeyAlgo::Ed25519, made).map_err(keys_failed)?;
            let stored = StoredKey {
                fingerprint: own.fingerprint(),
                cert: own.public_armored().into_bytes(),
            };
            store.add_member_with_key(
                &list,
                email,
                name,
                role,
                Some((Protocol::Openpgp, &stored)),
            )?;
            members.push(Poster {
                name,
                email,
                key: own,
            });
        }
        let list = store.list(DEMO_LIST)?;

        let mail = FakeMail::new();
        {
            let mut world = mail.world();
            world.secrets.push((
                DEMO_LIST.into(),
                SecretKind::OpenPgpListKey,
                key.to_keychain().expose().clone(),
            ));
            world.answers.push((
                BOUNCING_MEMBER.into(),
                SendOutcome::Failed(format!(
                    "550 5.1.1 <{BOUNCING_MEMBER}>: Recipient address rejected: User unknown in virtual mailbox table"
                )),
            ));
        }
        // The window's own commands (showing, renewing the list key) read
        // the keychain; in a demo process that is memory. Never the owner's
        // keychain: set_up refused above unless secrets stay in memory.
        // The account's passwords are there too, so that what would log in
        // to the real servers (testing the account, mailing an invitation)
        // fails where it would send: at servers that do not exist.
        if secrets::all_in_memory() {
            secrets::store(DEMO_LIST, SecretKind::OpenPgpListKey, key.to_keychain()).await?;
            for kind in [SecretKind::ImapPassword, SecretKind::SmtpPassword] {
                secrets::store(DEMO_LIST, kind, Sensitive::new("demo".into())).await?;
            }
        }
        let run_id = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        Ok(Demo {
            mail,
            list,
            members,
            list_key,
            turn: 0,
            run_id,
        })
    }

    /// The fake servers the list runs on: give them to the agent.
    pub fn mail(&self) -> FakeMail {
        self.mail.clone()
    }

    pub fn list(&self) -> &List {
        &self.list
    }

    /// Puts the next post into the list's mailbox: a member's signed and
    /// encrypted post, or at its turn the stranger's plain one. Then wake
    /// the agent, as IDLE would.
    pub fn deliver_next(&mut self) -> Result<DemoPost, DemoError> {
        let turn = self.turn;
        self.turn += 1;
        let message_id = format!("<demo-{}-{turn}@example.org>", self.run_id);
        let date = chrono::Utc::now().to_rfc2822();
        let (raw, post) = if turn == STRANGER_TURN {
            let (subject, body) = STRANGER_POST;
            let raw = format!(
                "From: Print Shop <{STRANGER}>\r\nTo: {DEMO_NAME} <{DEMO_LIST}>\r\nSubject: {subject}\r\n\
                 Date: {date}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
            )
            .into_bytes();
            let post = DemoPost {
                from: STRANGER.into(),
                subject: subject.into(),
                signed: false,
            };
            (raw, post)
        } else {
            // Member turns in order, the stranger's turn left out.
            let nth = if turn > STRANGER_TURN { turn - 1 } else { turn };
            let poster = &self.members[nth % self.members.len()];
            let (subject, body) = TALK[nth % TALK.len()];
            let content = format!(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\r\n{}\r\n",
                poster.name
            );
            let signed =
                openpgp::sign_entity(content.as_bytes(), &poster.key).map_err(keys_failed)?;
            let encrypted =
                openpgp::encrypt_entity(&signed, &self.list_key).map_err(keys_failed)?;
            let mut raw = format!(
                "From: {} <{}>\r\nTo: {DEMO_NAME} <{DEMO_LIST}>\r\nSubject: {subject}\r\n\
                 Date: {date}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n",
                poster.name, poster.email
            )
            .into_bytes();
            raw.extend_from_slice(&encrypted);
            let post = DemoPost {
                from: poster.email.into(),
                subject: subject.into(),
                signed: true,
            };
            (raw, post)
        };
        self.mail.deliver(&raw);
        self.tidy();
        Ok(post)
    }

    /// Forgets the oldest copies the fake SMTP server took and the oldest
    /// posts filed away, beyond [`KEEP_IN_WORLD`] each.
    fn tidy(&self) {
        let mut world = self.mail.world();
        let extra = world.sent.len().saturating_sub(KEEP_IN_WORLD);
        world.sent.drain(..extra);
        let filed = world.mailbox.iter().filter(|m| m.folder != "INBOX").count();
        let mut extra = filed.saturating_sub(KEEP_IN_WORLD);
        world.mailbox.retain(|m| {
            let forget = extra > 0 && m.folder != "INBOX";
            if forget {
                extra -= 1;
            }
            !forget
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Agent;

    fn run(agent: &Agent<FakeMail>) -> crate::agent::ListReport {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = rt.block_on(agent.run_once(None)).unwrap();
        report.lists[0].clone()
    }

    #[test]
    fn the_demo_shows_posts_going_out_a_held_post_and_a_bouncing_member() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut demo = rt.block_on(Demo::set_up(dir.path())).unwrap();
        let agent = Agent::with_servers(dir.path().to_path_buf(), demo.mail());

        let first = demo.deliver_next().unwrap();
        assert!(first.signed);
        let l = run(&agent);
        assert_eq!((l.new_posts, l.distributed, l.held), (1, 1, 0), "{l:?}");
        assert_eq!(l.error, None);
        // Four members get the post, encrypted to their own keys; the
        // bouncing one's server refuses it.
        assert_eq!((l.sent, l.failed), (4, 1), "{l:?}");
        for (_, email, _) in MEMBERS.iter().filter(|m| m.1 != BOUNCING_MEMBER) {
            let copies = demo.mail.received(email);
            assert_eq!(copies.len(), 1, "{email}");
            assert!(
                String::from_utf8_lossy(&copies[0]).contains("multipart/encrypted"),
                "{email}'s copy is encrypted"
            );
        }
        demo.deliver_next().unwrap();
        let stranger = demo.deliver_next().unwrap();
        assert_eq!((stranger.from.as_str(), stranger.signed), (STRANGER, false));
        let l = run(&agent);
        assert_eq!((l.new_posts, l.distributed, l.held), (2, 1, 1), "{l:?}");

        let store = Store::open(dir.path()).unwrap();
        let held = store.held_posts(demo.list()).unwrap();
        assert_eq!(held.len(), 1);
        let bouncing = store.bouncing(demo.list()).unwrap();
        assert_eq!(bouncing.keys().collect::<Vec<_>>(), [BOUNCING_MEMBER]);

        // Every member takes a turn, and the turns go on.
        let mut posters = std::collections::HashSet::new();
        for _ in 0..MEMBERS.len() * 2 {
            posters.insert(demo.deliver_next().unwrap().from);
        }
        assert_eq!(posters.len(), MEMBERS.len());
        let l = run(&agent);
        assert_eq!((l.distributed, l.held), (10, 0), "{l:?}");
    }

    #[test]
    fn a_long_demo_keeps_only_the_newest_mail_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let demo = rt.block_on(Demo::set_up(dir.path())).unwrap();
        {
            let mut w = demo.mail.world();
            for i in 0..KEEP_IN_WORLD + 10 {
                w.sent.push(crate::fake_mail::Sent {
                    from: DEMO_LIST.into(),
                    to: format!("m{i}@example.org"),
                    message: Vec::new(),
                    connection: 1,
                });
            }
        }
        demo.tidy();
        let w = demo.mail.world();
        assert_eq!(w.sent.len(), KEEP_IN_WORLD);
        assert_eq!(w.sent[0].to, "m10@example.org", "the oldest go first");
    }
}
