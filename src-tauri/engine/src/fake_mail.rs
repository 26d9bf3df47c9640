//! A small mail world in memory that plays a list's IMAP mailbox and its
//! SMTP server (`FakeMail`, a `Servers`). The agent's tests run on it (see
//! `testing`), so its guarantees are checked without a mail server, in
//! milliseconds; and the demo (`crate::demo`) runs a whole list on it, so
//! that someone without a mail account sees the real agent at work and
//! nothing is ever sent.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::model::{Account, List};
use crate::secrets::{SecretError, SecretKind, Sensitive};
use crate::transport::smtp::{Addressed, SendOutcome};
use crate::transport::{Inbox, Sender, Servers, TransportError};

/// A message in the fake mailbox.
#[derive(Debug, Clone)]
pub struct Stored {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// "INBOX", or the folder it was filed in.
    pub folder: String,
    /// A claim's lease mark ("" before the first).
    pub mark: String,
}

/// A message the fake SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub from: String,
    pub to: String,
    pub message: Vec<u8>,
    /// Which connection carried it (numbered from 1 in the order opened).
    pub connection: usize,
}

#[cfg(test)]
/// Where the fake makes the agent die, as a killed process would: a panic
/// at that moment, after what the server has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// While fetching a message, before the agent records it.
    OnFetch,
    /// Right after the server accepted the n-th copy of this run, before
    /// the agent could record it as sent.
    AfterSends(usize),
    /// When the agent files a message away.
    OnFiling,
}

#[derive(Debug, Default)]
pub struct World {
    pub uidvalidity: u32,
    next_uid: u32,
    pub mailbox: Vec<Stored>,
    pub sent: Vec<Sent>,
    /// Connections opened to the SMTP server.
    pub connections: usize,
    /// Of those, the ones ended with QUIT.
    pub ended: usize,
    /// Recipients whose address starts with a prefix get that answer.
    pub answers: Vec<(String, SendOutcome)>,
    /// Round trips spent on envelopes alone: those not offered together
    /// with the message before them.
    pub envelopes_alone: usize,
    #[cfg(test)]
    pub crash: Option<Crash>,
    /// A fetch waits (up to 2 s) for an SMTP connection to be opened, as
    /// a fetch over a distance gives SMTP's set-up time to go on, and
    /// notes how many were open when it went on.
    #[cfg(test)]
    pub fetch_waits_for_smtp: bool,
    #[cfg(test)]
    pub smtp_open_at_fetch: Option<usize>,
    /// Each QUIT waits (up to 2 s) for a post to be filed; the filing
    /// notes how many SMTP connections were still open when it began.
    #[cfg(test)]
    pub quit_waits_for_filing: bool,
    #[cfg(test)]
    pub smtp_open_at_filing: Option<usize>,
    /// The IMAP server cannot be reached.
    pub imap_down: bool,
    /// The SMTP server cannot be reached.
    pub smtp_down: bool,
    /// The list's secret keys, as the keychain would keep them.
    pub secrets: Vec<(String, SecretKind, String)>,
    /// The provider's sending limit: once this many copies were taken,
    /// every further one is refused as over the quota.
    pub limit: Option<usize>,
    sends_this_run: usize,
    /// The server has no MOVE or no UIDPLUS: posts cannot be claimed.
    pub no_claims: bool,
    /// The next this many claims copy the message and leave it in INBOX,
    /// as a server that moves by copying, then expunging, does when two
    /// laptops move one message at the same moment.
    pub claims_leave_a_copy: usize,
}

/// The list's mail servers, in memory. Clones share one world.
#[derive(Debug, Clone)]
pub struct FakeMail {
    world: Arc<Mutex<World>>,
}

impl Default for FakeMail {
    fn default() -> FakeMail {
        FakeMail::new()
    }
}

impl FakeMail {
    pub fn new() -> FakeMail {
        FakeMail {
            world: Arc::new(Mutex::new(World {
                uidvalidity: 1,
                next_uid: 1,
                ..World::default()
            })),
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A message arrives in INBOX.
    pub fn deliver(&self, raw: &[u8]) {
        let mut w = self.world();
        let uid = w.next_uid;
        w.next_uid += 1;
        w.mailbox.push(Stored {
            uid,
            raw: raw.to_vec(),
            folder: "INBOX".into(),
            mark: String::new(),
        });
    }

    /// The server renumbers the mailbox: a new UIDVALIDITY, every message a
    /// new UID (as after a restore or a migration).
    pub fn renumber(&self) {
        let mut w = self.world();
        w.uidvalidity += 1;
        let mut uid = 1;
        for m in w.mailbox.iter_mut() {
            m.uid = uid;
            uid += 1;
        }
        w.next_uid = uid;
    }

    /// What `to` received, in order.
    pub fn received(&self, to: &str) -> Vec<Vec<u8>> {
        self.world()
            .sent
            .iter()
            .filter(|s| s.to.eq_ignore_ascii_case(to))
            .map(|s| s.message.clone())
            .collect()
    }

    /// How many messages are in `folder`.
    pub fn in_folder(&self, folder: &str) -> usize {
        self.world()
            .mailbox
            .iter()
            .filter(|m| m.folder == folder)
            .count()
    }
}

pub struct FakeInbox {
    world: Arc<Mutex<World>>,
    /// The folder selected, as an IMAP connection has one.
    selected: String,
}

/// Gives the message a new UID in `folder`, as a move on a server does
/// (UIDs are unique across the fake's folders).
fn move_to(w: &mut World, uid: u32, from: &str, folder: &str) -> Option<u32> {
    let new = w.next_uid;
    let m = w
        .mailbox
        .iter_mut()
        .find(|m| m.uid == uid && m.folder == from)?;
    m.folder = folder.to_string();
    m.uid = new;
    m.mark.clear();
    w.next_uid += 1;
    Some(new)
}

pub struct FakeSender {
    world: Arc<Mutex<World>>,
    number: usize,
    /// The envelope the server accepted, waiting for its message.
    offered: Option<(String, String)>,
}

fn lock(world: &Arc<Mutex<World>>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|p| p.into_inner())
}

impl Servers for FakeMail {
    type Inbox = FakeInbox;
    type Sender = FakeSender;
    const WATCHED: bool = false;

    async fn passwords(
        &self,
        _list: &List,
    ) -> Result<(Sensitive<String>, Sensitive<String>), SecretError> {
        Ok((Sensitive::new("imap".into()), Sensitive::new("smtp".into())))
    }

    async fn list_secret(
        &self,
        list: &List,
        kind: SecretKind,
    ) -> Result<Sensitive<String>, SecretError> {
        self.world()
            .secrets
            .iter()
            .find(|(address, k, _)| *address == list.address && *k == kind)
            .map(|(_, _, secret)| Sensitive::new(secret.clone()))
            .ok_or_else(|| SecretError::Missing(format!("no {kind:?} for {}", list.address)))
    }

    async fn inbox(
        &self,
        _account: &Account,
        _password: &str,
    ) -> Result<FakeInbox, TransportError> {
        if self.world().imap_down {
            return Err(TransportError::Unreachable {
                server: "fake IMAP".into(),
                detail: "down".into(),
            });
        }
        self.world().sends_this_run = 0;
        Ok(FakeInbox {
            world: self.world.clone(),
            selected: "INBOX".into(),
        })
    }

    async fn sender(
        &self,
        _account: &Account,
        _password: &str,
    ) -> Result<FakeSender, TransportError> {
        let mut w = self.world();
        if w.smtp_down {
            return Err(TransportError::Unreachable {
                server: "fake SMTP".into(),
                detail: "down".into(),
            });
        }
        w.connections += 1;
        Ok(FakeSender {
            world: self.world.clone(),
            number: w.connections,
            offered: None,
        })
    }
}

impl Inbox for FakeInbox {
    async fn open_inbox(&mut self) -> Result<u32, TransportError> {
        self.selected = "INBOX".into();
        Ok(lock(&self.world).uidvalidity)
    }

    fn can_claim(&self) -> bool {
        !lock(&self.world).no_claims
    }

    async fn claim(&mut self, uids: &[u32]) -> Result<crate::transport::Claim, TransportError> {
        let mut w = lock(&self.world);
        let mut won = Vec::new();
        for &uid in uids {
            if w.claims_leave_a_copy > 0
                && let Some(m) = w
                    .mailbox
                    .iter()
                    .find(|m| m.uid == uid && m.folder == "INBOX")
                    .cloned()
            {
                w.claims_leave_a_copy -= 1;
                let to = w.next_uid;
                w.next_uid += 1;
                w.mailbox.push(Stored {
                    uid: to,
                    folder: crate::transport::CLAIMED_FOLDER.into(),
                    ..m
                });
                won.push((uid, to));
                continue;
            }
            if let Some(to) = move_to(&mut w, uid, "INBOX", crate::transport::CLAIMED_FOLDER) {
                won.push((uid, to));
            }
        }
        Ok(crate::transport::Claim {
            uidvalidity: w.uidvalidity,
            won,
        })
    }

    async fn open_claims(&mut self) -> Result<(u32, Vec<(u32, String)>), TransportError> {
        self.selected = crate::transport::CLAIMED_FOLDER.into();
        let w = lock(&self.world);
        let marks = w
            .mailbox
            .iter()
            .filter(|m| m.folder == crate::transport::CLAIMED_FOLDER)
            .map(|m| (m.uid, m.mark.clone()))
            .collect();
        Ok((w.uidvalidity, marks))
    }

    async fn claimed_before(&mut self, uid: u32) -> Result<bool, TransportError> {
        let w = lock(&self.world);
        let claimed = |m: &&Stored| m.folder == crate::transport::CLAIMED_FOLDER;
        let Some(mine) = w.mailbox.iter().filter(claimed).find(|m| m.uid == uid) else {
            return Ok(false);
        };
        Ok(w.mailbox
            .iter()
            .filter(claimed)
            .any(|m| m.uid < uid && m.raw == mine.raw))
    }

    async fn withdraw_claim(&mut self, uid: u32) -> Result<(), TransportError> {
        lock(&self.world)
            .mailbox
            .retain(|m| !(m.uid == uid && m.folder == crate::transport::CLAIMED_FOLDER));
        Ok(())
    }

    async fn mark_claims(&mut self, uids: &[u32], mark: &str) -> Result<(), TransportError> {
        let mut w = lock(&self.world);
        for m in w.mailbox.iter_mut() {
            if m.folder == crate::transport::CLAIMED_FOLDER && uids.contains(&m.uid) {
                m.mark = mark.to_string();
            }
        }
        Ok(())
    }

    async fn release_claims(&mut self, uids: &[u32]) -> Result<(), TransportError> {
        let mut w = lock(&self.world);
        for &uid in uids {
            move_to(&mut w, uid, crate::transport::CLAIMED_FOLDER, "INBOX");
        }
        Ok(())
    }

    async fn waiting_uids(&mut self) -> Result<Vec<u32>, TransportError> {
        Ok(lock(&self.world)
            .mailbox
            .iter()
            .filter(|m| m.folder == "INBOX")
            .map(|m| m.uid)
            .collect())
    }

    async fn fetch(
        &mut self,
        uid: u32,
    ) -> Result<Option<crate::transport::servers::Fetched>, TransportError> {
        #[cfg(test)]
        if lock(&self.world).fetch_waits_for_smtp {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while lock(&self.world).connections == 0 && std::time::Instant::now() < until {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let mut w = lock(&self.world);
            w.smtp_open_at_fetch = Some(w.connections);
        }
        let w = lock(&self.world);
        #[cfg(test)]
        if w.crash == Some(Crash::OnFetch) {
            drop(w);
            panic!("the agent dies while fetching");
        }
        Ok(w.mailbox
            .iter()
            .find(|m| m.uid == uid && m.folder == self.selected)
            .map(|m| (m.raw.clone(), None)))
    }

    async fn file(&mut self, uid: u32, folder: &str) -> Result<(), TransportError> {
        let mut w = lock(&self.world);
        #[cfg(test)]
        if w.smtp_open_at_filing.is_none() {
            w.smtp_open_at_filing = Some(w.connections - w.ended);
        }
        #[cfg(test)]
        if w.crash == Some(Crash::OnFiling) {
            drop(w);
            panic!("the agent dies while filing");
        }
        if let Some(m) = w
            .mailbox
            .iter_mut()
            .find(|m| m.uid == uid && m.folder == self.selected)
        {
            m.folder = folder.to_string();
            m.mark.clear();
        }
        Ok(())
    }

    async fn new_in(
        &mut self,
        folder: &str,
        validity: u32,
        after: u32,
    ) -> Result<(u32, Vec<(u32, Vec<u8>)>), TransportError> {
        let w = lock(&self.world);
        let after = if w.uidvalidity == validity { after } else { 0 };
        let found = w
            .mailbox
            .iter()
            .filter(|m| m.folder == folder && m.uid > after)
            .map(|m| (m.uid, m.raw.clone()))
            .collect();
        Ok((w.uidvalidity, found))
    }

    async fn keep_newest(
        &mut self,
        folder: &str,
        message: &[u8],
        keep: usize,
    ) -> Result<(), TransportError> {
        let mut w = lock(&self.world);
        let uid = w.next_uid;
        w.next_uid += 1;
        w.mailbox.push(Stored {
            uid,
            raw: message.to_vec(),
            folder: folder.to_string(),
            mark: String::new(),
        });
        let there = w.mailbox.iter().filter(|m| m.folder == folder).count();
        let mut extra = there.saturating_sub(keep);
        w.mailbox.retain(|m| {
            let drop = extra > 0 && m.folder == folder;
            if drop {
                extra -= 1;
            }
            !drop
        });
        Ok(())
    }

    async fn logout(self) {}
}

impl Sender for FakeSender {
    async fn offer(&mut self, copy: Addressed<'_>) -> Result<(), SendOutcome> {
        lock(&self.world).envelopes_alone += 1;
        self.take_envelope(copy)
    }

    async fn hand_over(
        &mut self,
        message: &[u8],
        next: Option<Addressed<'_>>,
    ) -> (SendOutcome, Option<Result<(), SendOutcome>>) {
        let Some((from, to)) = self.offered.take() else {
            return (SendOutcome::Retry("no envelope was offered".into()), None);
        };
        let outcome = self.take(&from, &to, message);
        let next = match outcome {
            SendOutcome::Sent => next.map(|copy| self.take_envelope(copy)),
            _ => None,
        };
        (outcome, next)
    }

    fn is_broken(&self) -> bool {
        false
    }

    async fn quit(self) {
        #[cfg(test)]
        if lock(&self.world).quit_waits_for_filing {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while lock(&self.world).smtp_open_at_filing.is_none()
                && std::time::Instant::now() < until
            {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        lock(&self.world).ended += 1;
    }
}

impl FakeSender {
    /// The server's answer to an envelope: a scripted refusal of its
    /// recipient, or the message may follow.
    fn take_envelope(&mut self, copy: Addressed<'_>) -> Result<(), SendOutcome> {
        let w = lock(&self.world);
        let scripted = w
            .answers
            .iter()
            .find(|(prefix, _)| copy.to.starts_with(prefix.as_str()));
        match scripted {
            Some((_, answer)) if *answer != SendOutcome::Sent => Err(answer.clone()),
            _ => {
                self.offered = Some((copy.from.into(), copy.to.into()));
                Ok(())
            }
        }
    }

    /// The server's answer to a message's closing dot.
    fn take(&self, from: &str, to: &str, message: &[u8]) -> SendOutcome {
        let mut w = lock(&self.world);
        if w.limit.is_some_and(|most| w.sent.len() >= most) {
            return SendOutcome::Limited("550 5.4.5 Daily user sending quota exceeded.".into());
        }
        w.sent.push(Sent {
            from: from.into(),
            to: to.into(),
            message: message.to_vec(),
            connection: self.number,
        });
        w.sends_this_run += 1;
        #[cfg(test)]
        if w.crash == Some(Crash::AfterSends(w.sends_this_run)) {
            drop(w);
            panic!("the agent dies after the server took a copy");
        }
        SendOutcome::Sent
    }
}
