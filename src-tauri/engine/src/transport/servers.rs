//! The seam between a run and the mail servers: a run asks [`Servers`] for
//! the list's [`Inbox`] and for [`Sender`]s, and uses only what these
//! traits say. [`MailServers`] are the real ones (IMAP and SMTP, passwords
//! from the keychain); tests put fakes in their place, so the agent's
//! guarantees (exactly once, retries, lanes, quarantine) are checked
//! without a mail server.

use std::future::Future;

use super::imap::Mailbox;
use super::smtp::{Addressed, Outgoing, SendOutcome};
use super::{Claim, TransportError};
use crate::model::{Account, List};
use crate::secrets::{self, ReadAhead, SecretError, SecretKind, Sensitive};

/// A message as fetched: its bytes, and when it reached the mailbox
/// (seconds since the epoch) when the server says.
pub type Fetched = (Vec<u8>, Option<i64>);

/// The list's mailbox, as a run reads and files it.
pub trait Inbox: Send {
    /// Selects INBOX; its UIDVALIDITY.
    fn open_inbox(&mut self) -> impl Future<Output = Result<u32, TransportError>> + Send;
    /// UIDs in INBOX not yet filed, oldest first.
    fn waiting_uids(&mut self) -> impl Future<Output = Result<Vec<u32>, TransportError>> + Send;
    /// The message and when it arrived (seconds since the epoch); `None`
    /// when it is gone.
    fn fetch(
        &mut self,
        uid: u32,
    ) -> impl Future<Output = Result<Option<Fetched>, TransportError>> + Send;
    /// Files the message into `folder`, out of INBOX.
    fn file(
        &mut self,
        uid: u32,
        folder: &str,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Whether posts are claimed before they are read: the server can move
    /// a message so that exactly one client wins it.
    fn can_claim(&self) -> bool;
    /// Moves `uids` from INBOX (selected) into the Claimed folder: those
    /// this connection moved; another laptop may have moved some first.
    fn claim(&mut self, uids: &[u32])
    -> impl Future<Output = Result<Claim, TransportError>> + Send;
    /// Whether the claim `uid` (the Claimed folder selected) was made by
    /// another laptop too, and first: a lower UID there holds the same
    /// message. A server that moves by copying, then expunging, lets two
    /// laptops copy one message at the same moment; the lower copy wins.
    fn claimed_before(
        &mut self,
        uid: u32,
    ) -> impl Future<Output = Result<bool, TransportError>> + Send;
    /// Removes this laptop's copy `uid` of a message another laptop
    /// claimed first (the Claimed folder selected).
    fn withdraw_claim(
        &mut self,
        uid: u32,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Selects the Claimed folder: its UIDVALIDITY, and each message there
    /// with its lease mark ("" before the first).
    #[allow(clippy::type_complexity)]
    fn open_claims(
        &mut self,
    ) -> impl Future<Output = Result<(u32, Vec<(u32, String)>), TransportError>> + Send;
    /// Selects the Claimed folder if it is not selected: its UIDVALIDITY.
    fn claims_validity(&mut self) -> impl Future<Output = Result<u32, TransportError>> + Send {
        async move { Ok(self.open_claims().await?.0) }
    }
    /// Sets the lease mark of these claims (the Claimed folder selected).
    fn mark_claims(
        &mut self,
        uids: &[u32],
        mark: &str,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Moves these claims (the Claimed folder selected) back to INBOX.
    fn release_claims(
        &mut self,
        uids: &[u32],
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// The messages in `folder` (made when missing) after UID `after`, when
    /// its UIDVALIDITY is still `validity`, else all of them; with the
    /// folder's UIDVALIDITY now.
    #[allow(clippy::type_complexity)]
    fn new_in(
        &mut self,
        folder: &str,
        validity: u32,
        after: u32,
    ) -> impl Future<Output = Result<(u32, Vec<(u32, Vec<u8>)>), TransportError>> + Send;
    /// Puts `message` into `folder` and keeps only the newest `keep` there
    /// (the list's backups).
    fn keep_newest(
        &mut self,
        folder: &str,
        message: &[u8],
        keep: usize,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    fn logout(self) -> impl Future<Output = ()> + Send;
}

/// One SMTP connection, as a lane of a fan-out sends over it.
pub trait Sender: Send {
    /// One message to one recipient, its envelope and then itself.
    fn send(
        &mut self,
        from: &str,
        to: &str,
        message: &[u8],
    ) -> impl Future<Output = SendOutcome> + Send {
        async move {
            match self.offer(Addressed { from, to, message }).await {
                Ok(()) => self.hand_over(message, None).await.0,
                Err(refused) => refused,
            }
        }
    }
    /// Offers a copy's envelope; once accepted, the server waits for its
    /// message, and delivers nothing before [`Sender::hand_over`] ends it.
    fn offer(
        &mut self,
        copy: Addressed<'_>,
    ) -> impl Future<Output = Result<(), SendOutcome>> + Send;
    /// Hands over the offered copy's message and ends it, offering `next`
    /// in the same round trip where the server allows: what became of the
    /// copy, and of the next one's envelope (`None`: offer it again).
    fn hand_over(
        &mut self,
        message: &[u8],
        next: Option<Addressed<'_>>,
    ) -> impl Future<Output = (SendOutcome, Option<Result<(), SendOutcome>>)> + Send;
    /// Whether it can carry another message.
    fn is_broken(&self) -> bool;
    fn quit(self) -> impl Future<Output = ()> + Send;
}

/// Where a run's connections (and the secrets they and the list's keys
/// need) come from.
pub trait Servers: Send + Sync {
    type Inbox: Inbox;
    type Sender: Sender;
    /// Whether the agent loop watches each list's mailbox over a connection
    /// of its own (IMAP IDLE) between runs. A mailbox in memory has nothing
    /// to watch: whoever puts mail into it wakes the agent instead.
    const WATCHED: bool = true;
    /// Reads ahead what a run will ask of these lists' secrets, for as long
    /// as the guard lives. Nothing by default: each is asked for alone.
    fn read_ahead(&self, lists: &[String]) -> impl Future<Output = ReadAhead> + Send {
        let _ = lists;
        async { ReadAhead::nothing() }
    }
    /// Starts opening what [`Servers::read_ahead`] reads through, beside
    /// other work. Nothing by default.
    fn open_keychain_ahead(&self) {}
    /// Starts connecting to the account's IMAP server, beside other work,
    /// for the next [`Servers::inbox`] of that account to log in on.
    /// Nothing by default.
    fn open_inbox_ahead(&self, account: &Account) {
        let _ = account;
    }
    /// The list's account passwords (IMAP, SMTP).
    fn passwords(
        &self,
        list: &List,
    ) -> impl Future<Output = Result<(Sensitive<String>, Sensitive<String>), SecretError>> + Send;
    /// A secret key of the list (its OpenPGP key, its S/MIME key).
    fn list_secret(
        &self,
        list: &List,
        kind: SecretKind,
    ) -> impl Future<Output = Result<Sensitive<String>, SecretError>> + Send;
    fn inbox(
        &self,
        account: &Account,
        password: &str,
    ) -> impl Future<Output = Result<Self::Inbox, TransportError>> + Send;
    fn sender(
        &self,
        account: &Account,
        password: &str,
    ) -> impl Future<Output = Result<Self::Sender, TransportError>> + Send;
}

/// The real servers: the account's IMAP and SMTP, passwords from the
/// keychain.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailServers;

impl Servers for MailServers {
    type Inbox = Mailbox;
    type Sender = Outgoing;

    fn open_keychain_ahead(&self) {
        secrets::open_session_ahead();
    }

    fn open_inbox_ahead(&self, account: &Account) {
        Mailbox::reach_ahead(&account.imap, account.ca_pem.as_deref());
    }

    /// The logins and the list's key (one of the two, by its protocol; a
    /// mixed list has both), in one keychain session.
    async fn read_ahead(&self, lists: &[String]) -> ReadAhead {
        const RUN_SECRETS: [SecretKind; 4] = [
            SecretKind::ImapPassword,
            SecretKind::SmtpPassword,
            SecretKind::OpenPgpListKey,
            SecretKind::SmimeListKey,
        ];
        secrets::read_ahead(lists, &RUN_SECRETS).await
    }

    async fn passwords(
        &self,
        list: &List,
    ) -> Result<(Sensitive<String>, Sensitive<String>), SecretError> {
        // Each read is a round trip to the keychain's service: both at once.
        tokio::try_join!(
            secrets::load(&list.address, SecretKind::ImapPassword),
            secrets::load(&list.address, SecretKind::SmtpPassword)
        )
    }

    async fn list_secret(
        &self,
        list: &List,
        kind: SecretKind,
    ) -> Result<Sensitive<String>, SecretError> {
        secrets::load(&list.address, kind).await
    }

    async fn inbox(&self, account: &Account, password: &str) -> Result<Mailbox, TransportError> {
        Mailbox::borrow_or_connect(&account.imap, account.ca_pem.as_deref(), password).await
    }

    async fn sender(&self, account: &Account, password: &str) -> Result<Outgoing, TransportError> {
        Outgoing::connect(&account.smtp, account.ca_pem.as_deref(), password).await
    }
}

impl Inbox for Mailbox {
    async fn open_inbox(&mut self) -> Result<u32, TransportError> {
        Mailbox::open_inbox(self).await
    }
    async fn waiting_uids(&mut self) -> Result<Vec<u32>, TransportError> {
        Mailbox::waiting_uids(self).await
    }
    async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, TransportError> {
        Mailbox::fetch(self, uid).await
    }
    async fn file(&mut self, uid: u32, folder: &str) -> Result<(), TransportError> {
        Mailbox::file(self, uid, folder).await
    }
    fn can_claim(&self) -> bool {
        Mailbox::can_claim(self)
    }
    async fn claim(&mut self, uids: &[u32]) -> Result<Claim, TransportError> {
        Mailbox::claim(self, uids).await
    }
    async fn open_claims(&mut self) -> Result<(u32, Vec<(u32, String)>), TransportError> {
        Mailbox::open_claims(self).await
    }
    async fn claims_validity(&mut self) -> Result<u32, TransportError> {
        Mailbox::claims_validity(self).await
    }
    async fn claimed_before(&mut self, uid: u32) -> Result<bool, TransportError> {
        Mailbox::claimed_before(self, uid).await
    }
    async fn withdraw_claim(&mut self, uid: u32) -> Result<(), TransportError> {
        Mailbox::withdraw_claim(self, uid).await
    }
    async fn mark_claims(&mut self, uids: &[u32], mark: &str) -> Result<(), TransportError> {
        Mailbox::mark_claims(self, uids, mark).await
    }
    async fn release_claims(&mut self, uids: &[u32]) -> Result<(), TransportError> {
        Mailbox::release_claims(self, uids).await
    }
    async fn new_in(
        &mut self,
        folder: &str,
        validity: u32,
        after: u32,
    ) -> Result<(u32, Vec<(u32, Vec<u8>)>), TransportError> {
        Mailbox::new_in(self, folder, validity, after).await
    }
    async fn keep_newest(
        &mut self,
        folder: &str,
        message: &[u8],
        keep: usize,
    ) -> Result<(), TransportError> {
        Mailbox::keep_newest(self, folder, message, keep).await
    }
    async fn logout(self) {
        Mailbox::logout(self).await
    }
}

impl Sender for Outgoing {
    async fn offer(&mut self, copy: Addressed<'_>) -> Result<(), SendOutcome> {
        Outgoing::offer(self, copy).await
    }
    async fn hand_over(
        &mut self,
        message: &[u8],
        next: Option<Addressed<'_>>,
    ) -> (SendOutcome, Option<Result<(), SendOutcome>>) {
        Outgoing::hand_over(self, message, next).await
    }
    fn is_broken(&self) -> bool {
        Outgoing::is_broken(self)
    }
    async fn quit(self) {
        Outgoing::quit(self).await
    }
}
