//! Reading the list's mailbox over IMAP (async-imap on tokio).

use std::collections::HashMap;
use std::fmt::Debug;

use async_imap::types::NameAttribute;
use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{
    CLAIMED_FOLDER, COMMAND_TIMEOUT, CONNECT_TIMEOUT, Claim, PROCESSED_KEYWORD, TransportError,
    check_tls_allowed, describe, tls_failure,
};
use crate::model::{Endpoint, TlsMode};

/// Any stream IMAP can run over: plain TCP (loopback only) or TLS.
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}

type Stream = Box<dyn ImapStream>;

/// A logged-in connection to the list's mailbox.
pub struct Mailbox {
    session: Session<Stream>,
    server: String,
    can_move: bool,
    can_uidplus: bool,
    can_idle: bool,
    delimiter: Option<String>,
    /// Folders known to exist (listed, or made by this connection), so
    /// each is created at most once.
    made: Vec<String>,
    /// The folder selected now, with its UIDVALIDITY then.
    selected: Option<(String, u32)>,
    /// The watcher that lent this connection to a run: it goes back there
    /// instead of logging out.
    lender: Option<tokio::sync::oneshot::Sender<Mailbox>>,
}

/// Which login a connection is: server, port, TLS and user.
type Login = (String, u16, TlsMode, String);

fn login(ep: &Endpoint) -> Login {
    (
        ep.host.to_ascii_lowercase(),
        ep.port,
        ep.tls,
        ep.user.clone(),
    )
}

/// Connections a watcher lends to the next run for the same login, with the
/// number of the loan: a run that wakes for new mail reads it on the
/// connection that told of it, instead of logging in anew (TCP, TLS, the
/// login and the capabilities: several round trips to a distant provider).
static LENT: std::sync::LazyLock<std::sync::Mutex<HashMap<Login, (u64, Mailbox)>>> =
    std::sync::LazyLock::new(Default::default);

fn lent() -> std::sync::MutexGuard<'static, HashMap<Login, (u64, Mailbox)>> {
    LENT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection lent by [`Mailbox::lend`], until it comes back.
pub struct Loan {
    login: Login,
    number: u64,
    back: tokio::sync::oneshot::Receiver<Mailbox>,
}

impl Loan {
    /// The connection, once the run that took it is done with it, or when
    /// no run took it within `untaken`. `None` when the run dropped it (its
    /// connection failed): log in anew.
    pub async fn back(mut self, untaken: std::time::Duration) -> Option<Mailbox> {
        tokio::select! {
            back = &mut self.back => return back.ok(),
            _ = tokio::time::sleep(untaken) => {}
        }
        if let Some(mailbox) = self.take_if_untaken() {
            return Some(mailbox);
        }
        (&mut self.back).await.ok()
    }

    fn take_if_untaken(&self) -> Option<Mailbox> {
        let mut lent = lent();
        match lent.get(&self.login) {
            Some((number, _)) if *number == self.number => {
                lent.remove(&self.login).map(|(_, mut mailbox)| {
                    mailbox.lender = None;
                    mailbox
                })
            }
            _ => None,
        }
    }
}

impl Drop for Loan {
    /// A watcher that stops (its list paused or removed) takes its
    /// connection out of the lending; dropping it closes it.
    fn drop(&mut self) {
        drop(self.take_if_untaken());
    }
}

/// The keyword a claim's lease mark is: one of two, set in turn while the
/// laptop that claimed the post works on it (see `post::claim`).
fn lease_keyword(mark: &str) -> String {
    format!("$ConclaveLease{mark}")
}

/// UIDs as a command names a set of them: "4,7,9".
fn uid_list(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The UIDs a COPYUID set names, in order (RFC 4315: "4,7:9").
fn uid_set(members: &[async_imap::imap_proto::UidSetMember]) -> Vec<u32> {
    use async_imap::imap_proto::UidSetMember;
    members
        .iter()
        .flat_map(|m| match m {
            UidSetMember::Uid(u) => *u..=*u,
            UidSetMember::UidRange(r) => r.clone(),
        })
        .collect()
}

/// What a wait in IDLE ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEnd {
    /// The server told of a change in the mailbox (a new message, mostly).
    Changed,
    /// The time was up with nothing new: IDLE is re-issued before servers
    /// drop it (RFC 2177 allows them to after 29 minutes).
    Quiet,
}

fn imap_error(server: &str, e: async_imap::error::Error) -> TransportError {
    use async_imap::error::Error;
    match e {
        Error::Io(io) => TransportError::Unreachable {
            server: server.into(),
            detail: io.to_string(),
        },
        Error::ConnectionLost => TransportError::Unreachable {
            server: server.into(),
            detail: "the connection was closed".into(),
        },
        other => TransportError::Protocol {
            server: server.into(),
            detail: other.to_string(),
        },
    }
}

async fn timed<T>(
    server: &str,
    fut: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, TransportError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(r) => r.map_err(|e| imap_error(server, e)),
        Err(_) => Err(TransportError::Unreachable {
            server: server.into(),
            detail: "the server stopped answering".into(),
        }),
    }
}

async fn greeting(
    server: &str,
    client: &mut Client<impl ImapStream>,
) -> Result<(), TransportError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(TransportError::Protocol {
            server: server.into(),
            detail: "no greeting".into(),
        }),
        Ok(Err(e)) => Err(TransportError::Unreachable {
            server: server.into(),
            detail: e.to_string(),
        }),
        Err(_) => Err(TransportError::Unreachable {
            server: server.into(),
            detail: "no greeting in time".into(),
        }),
    }
}

/// The server's own text of a NO answer: async-imap hands it over as
/// `code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")`,
/// and the owner is shown only what is inside the quotes.
fn server_words(detail: &str) -> String {
    detail
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .map(|text| text.replace("\\\"", "\"").replace("\\\\", "\\"))
        .unwrap_or_else(|| detail.to_string())
}

/// Connections made ahead of their login (see [`Mailbox::reach_ahead`]),
/// by login, with when each was begun.
type Reaching = (
    std::time::Instant,
    tokio::task::JoinHandle<Result<Reached, TransportError>>,
);

static REACHING: std::sync::LazyLock<std::sync::Mutex<HashMap<Login, Reaching>>> =
    std::sync::LazyLock::new(Default::default);

fn reaching() -> std::sync::MutexGuard<'static, HashMap<Login, Reaching>> {
    REACHING.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection made ahead is used only this soon after it was begun: a
/// server closes one that does not log in for long.
const REACHED_KEPT: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection up to its login: TCP, the greeting, TLS.
struct Reached {
    client: Client<Stream>,
    server: String,
}

impl Mailbox {
    /// Connects and logs in. Each failure is its own error: unreachable,
    /// untrusted certificate, TLS trouble, wrong password.
    pub async fn connect(
        ep: &Endpoint,
        ca_pem: Option<&str>,
        password: &str,
    ) -> Result<Mailbox, TransportError> {
        Mailbox::log_in(Mailbox::reach(ep, ca_pem).await?, ep, password).await
    }

    /// Begins the connection for `ep` (TCP, the greeting, TLS: a run's
    /// first round trips to the server) while its password is read from the
    /// keychain; the next [`Mailbox::borrow_or_connect`] for that login logs
    /// in on it. Nothing when a watcher lent one.
    pub fn reach_ahead(ep: &Endpoint, ca_pem: Option<&str>) {
        let key = login(ep);
        if lent().contains_key(&key) {
            return;
        }
        let (ep, ca_pem) = (ep.clone(), ca_pem.map(str::to_string));
        let task = tokio::spawn(async move { Mailbox::reach(&ep, ca_pem.as_deref()).await });
        if let Some((_, before)) = reaching().insert(key, (std::time::Instant::now(), task)) {
            before.abort();
        }
    }

    /// The connection begun ahead for `ep`'s login, if one was and is
    /// still young: its outcome, an error included.
    async fn reached_ahead(ep: &Endpoint) -> Option<Result<Reached, TransportError>> {
        let (begun, task) = reaching().remove(&login(ep))?;
        if begun.elapsed() > REACHED_KEPT {
            task.abort();
            return None;
        }
        task.await.ok()
    }

    /// TCP, the greeting and TLS (STARTTLS or implicit), as `ep` says.
    async fn reach(ep: &Endpoint, ca_pem: Option<&str>) -> Result<Reached, TransportError> {
        let server = describe("IMAP", ep);
        check_tls_allowed(ep)?;
        let tcp = super::tcp::connect(&server, &ep.host, ep.port).await?;
        let host = ep.host.trim_start_matches('[').trim_end_matches(']');
        let stream: Stream = match ep.tls {
            TlsMode::None => Box::new(tcp),
            TlsMode::Implicit => {
                let tls = super::tls::setup(ca_pem)?
                    .connect(host, tcp)
                    .await
                    .map_err(|e| tls_failure(server.clone(), e))?;
                Box::new(tls)
            }
            TlsMode::Starttls => {
                let mut client = Client::new(tcp);
                greeting(&server, &mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match e {
                        async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                            TransportError::NoStarttls {
                                server: server.clone(),
                            }
                        }
                        other => imap_error(&server, other),
                    })?;
                let tcp = client.into_inner();
                let tls = super::tls::setup(ca_pem)?
                    .connect(host, tcp)
                    .await
                    .map_err(|e| tls_failure(server.clone(), e))?;
                Box::new(tls)
            }
        };
        let mut client = Client::new(stream);
        if ep.tls != TlsMode::Starttls {
            greeting(&server, &mut client).await?;
        }
        Ok(Reached { client, server })
    }

    /// Logs in on a connection reached, and learns what the server can do.
    async fn log_in(
        reached: Reached,
        ep: &Endpoint,
        password: &str,
    ) -> Result<Mailbox, TransportError> {
        let Reached { client, server } = reached;
        let mut session =
            match tokio::time::timeout(COMMAND_TIMEOUT, client.login(&ep.user, password)).await {
                Ok(Ok(s)) => s,
                Ok(Err((async_imap::error::Error::No(detail), _))) => {
                    return Err(TransportError::WrongPassword {
                        server,
                        user: ep.user.clone(),
                        detail: server_words(&detail),
                    });
                }
                Ok(Err((e, _))) => return Err(imap_error(&server, e)),
                Err(_) => {
                    return Err(TransportError::Unreachable {
                        server,
                        detail: "no answer to the login in time".into(),
                    });
                }
            };
        let caps = timed(&server, session.capabilities()).await?;
        let can_move = caps.has_str("MOVE");
        let can_uidplus = caps.has_str("UIDPLUS");
        let can_idle = caps.has_str("IDLE");
        Ok(Mailbox {
            session,
            server,
            can_move,
            can_uidplus,
            can_idle,
            delimiter: None,
            made: Vec::new(),
            selected: None,
            lender: None,
        })
    }

    /// The connection a watcher lent for this login (see [`Mailbox::lend`]),
    /// or the one begun ahead ([`Mailbox::reach_ahead`]), or a new one.
    pub async fn borrow_or_connect(
        ep: &Endpoint,
        ca_pem: Option<&str>,
        password: &str,
    ) -> Result<Mailbox, TransportError> {
        let key = login(ep);
        let borrowed = lent().remove(&key);
        if let Some((_, mailbox)) = borrowed {
            if let Some((_, unused)) = reaching().remove(&key) {
                unused.abort();
            }
            return Ok(mailbox);
        }
        let reached = match Mailbox::reached_ahead(ep).await {
            Some(reached) => reached?,
            None => Mailbox::reach(ep, ca_pem).await?,
        };
        Mailbox::log_in(reached, ep, password).await
    }

    /// Lends this connection, logged in as `ep` says, to the next
    /// [`Mailbox::borrow_or_connect`] for the same login; it comes back
    /// through the [`Loan`] at that one's logout.
    pub fn lend(mut self, ep: &Endpoint) -> Loan {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (lender, back) = tokio::sync::oneshot::channel();
        self.lender = Some(lender);
        let login = login(ep);
        // Another watcher's loan for the same login (two lists on one
        // account) is dropped: that watcher logs in anew.
        drop(lent().insert(login.clone(), (number, self)));
        Loan {
            login,
            number,
            back,
        }
    }

    /// Selects INBOX and returns its UIDVALIDITY.
    pub async fn open_inbox(&mut self) -> Result<u32, TransportError> {
        let mbox = self.select("INBOX").await?;
        mbox.uid_validity.ok_or_else(|| TransportError::Protocol {
            server: self.server.clone(),
            detail: "INBOX has no UIDVALIDITY".into(),
        })
    }

    /// Selects `name`, noting it as the selected folder (a SELECT that
    /// fails leaves none selected, RFC 9051 6.3.2).
    async fn select(&mut self, name: &str) -> Result<async_imap::types::Mailbox, TransportError> {
        self.selected = None;
        let mbox = timed(&self.server, self.session.select(name)).await?;
        self.selected = Some((name.to_string(), mbox.uid_validity.unwrap_or(0)));
        Ok(mbox)
    }

    /// UIDs in INBOX not yet filed, oldest first.
    pub async fn waiting_uids(&mut self) -> Result<Vec<u32>, TransportError> {
        let query = format!("UNKEYWORD {PROCESSED_KEYWORD}");
        let mut uids: Vec<u32> = timed(&self.server, self.session.uid_search(&query))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The whole message, without setting \Seen, and when it reached the
    /// mailbox (INTERNALDATE, seconds since the epoch). `None` if it is gone.
    pub async fn fetch(
        &mut self,
        uid: u32,
    ) -> Result<Option<(Vec<u8>, Option<i64>)>, TransportError> {
        let server = self.server.clone();
        let fetches: Vec<_> = timed(&server, async {
            let stream = self
                .session
                .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
                .await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(fetches.iter().find(|f| f.uid == Some(uid)).and_then(|f| {
            f.body()
                .map(|b| (b.to_vec(), f.internal_date().map(|d| d.timestamp())))
        }))
    }

    /// The server's folder name for "A/B", using its hierarchy delimiter.
    /// The first call lists Conclave's own folders: the delimiter comes
    /// with them, and a folder listed needs no CREATE (a round trip for it
    /// and one for its parent, on each connection).
    async fn folder_name(&mut self, folder: &str) -> Result<String, TransportError> {
        if self.delimiter.is_none() {
            let top = CLAIMED_FOLDER.split('/').next().unwrap_or(CLAIMED_FOLDER);
            let mut names = self.list(&format!("\"{top}*\"")).await?;
            if names.is_empty() {
                // None made yet: the root alone tells the delimiter.
                names = self.list("\"\"").await?;
            }
            self.delimiter = Some(
                names
                    .iter()
                    .find_map(|(_, delimiter, _)| delimiter.clone())
                    .unwrap_or_else(|| "/".into()),
            );
            self.made.extend(
                names
                    .into_iter()
                    .filter(|(_, _, selectable)| *selectable)
                    .map(|(name, _, _)| name),
            );
        }
        let delim = self.delimiter.as_deref().unwrap_or("/");
        Ok(folder.replace('/', delim))
    }

    /// The folders matching `pattern` (LIST "", the pattern quoted as sent):
    /// each name, its delimiter, and whether it can hold messages.
    async fn list(
        &mut self,
        pattern: &str,
    ) -> Result<Vec<(String, Option<String>, bool)>, TransportError> {
        let server = self.server.clone();
        let names: Vec<_> = timed(&server, async {
            let stream = self.session.list(Some(""), Some(pattern)).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(names
            .iter()
            .map(|n| {
                let selectable = !n.attributes().iter().any(|a| {
                    matches!(a, NameAttribute::NoSelect)
                        || matches!(a, NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent"))
                });
                (
                    n.name().to_string(),
                    n.delimiter().map(str::to_string),
                    selectable,
                )
            })
            .collect())
    }

    /// Files a message away: flags it \Seen (a claim is already) and moves
    /// it to `folder` (created when missing). Without MOVE: COPY, \Deleted, UID EXPUNGE.
    /// Without UIDPLUS either, it stays in INBOX with a keyword that makes
    /// Conclave pass over it, because a plain EXPUNGE could remove messages
    /// another client deleted but did not mean to lose yet.
    pub async fn file(&mut self, uid: u32, folder: &str) -> Result<(), TransportError> {
        let server = self.server.clone();
        let name = self.folder_name(folder).await?;
        let claims = self.folder_name(CLAIMED_FOLDER).await?;
        let set = uid.to_string();
        self.create_folder(&name).await;
        // A claim is \Seen already: its lease mark was set with it
        // ([`Mailbox::mark_claims`]), before it was read.
        let a_claim = self.selected.as_ref().is_some_and(|(s, _)| *s == claims);
        if !a_claim {
            timed(&server, async {
                let s = self.session.uid_store(&set, "+FLAGS (\\Seen)").await?;
                s.try_collect::<Vec<_>>().await
            })
            .await?;
        }
        if self.can_move {
            timed(&server, self.session.uid_mv(&set, &name)).await?;
        } else if self.can_uidplus {
            timed(&server, self.session.uid_copy(&set, &name)).await?;
            self.expunge_uids(&set).await?;
        } else {
            timed(&server, self.session.uid_copy(&set, &name)).await?;
            let flags = format!("+FLAGS ({PROCESSED_KEYWORD})");
            timed(&server, async {
                let s = self.session.uid_store(&set, &flags).await?;
                s.try_collect::<Vec<_>>().await
            })
            .await?;
        }
        Ok(())
    }

    /// Creates `name` and its parent, unless listed or made on this
    /// connection already; one that exists answers NO, and what follows
    /// says it if the folder really cannot be used.
    async fn create_folder(&mut self, name: &str) {
        if self.made.iter().any(|m| m == name) {
            return;
        }
        let server = self.server.clone();
        let parent = name
            .rsplit_once(self.delimiter.as_deref().unwrap_or("/"))
            .map(|(p, _)| p.to_string());
        if let Some(parent) = parent.filter(|p| !self.made.contains(p)) {
            let _ = timed(&server, self.session.create(&parent)).await;
            self.made.push(parent);
        }
        let _ = timed(&server, self.session.create(name)).await;
        self.made.push(name.to_string());
    }

    /// Puts `message` (seen) into `folder`, created when missing, then
    /// removes all but the newest `keep` messages there. Only Conclave
    /// writes to that folder, so a plain EXPUNGE (without UIDPLUS) takes
    /// nothing of anyone else's.
    pub async fn keep_newest(
        &mut self,
        folder: &str,
        message: &[u8],
        keep: usize,
    ) -> Result<(), TransportError> {
        let server = self.server.clone();
        let name = self.folder_name(folder).await?;
        self.create_folder(&name).await;
        timed(
            &server,
            self.session.append(&name, Some("(\\Seen)"), None, message),
        )
        .await?;
        self.select(&name).await?;
        let mut uids: Vec<u32> = timed(&server, self.session.uid_search("ALL"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        if uids.len() > keep {
            let old = uid_list(&uids[..uids.len() - keep]);
            timed(&server, async {
                let s = self.session.uid_store(&old, "+FLAGS (\\Deleted)").await?;
                s.try_collect::<Vec<_>>().await
            })
            .await?;
            if self.can_uidplus {
                timed(&server, async {
                    let s = self.session.uid_expunge(&old).await?;
                    s.try_collect::<Vec<_>>().await
                })
                .await?;
            } else {
                timed(&server, async {
                    let s = self.session.expunge().await?;
                    s.try_collect::<Vec<_>>().await
                })
                .await?;
            }
        }
        Ok(())
    }

    /// The messages in `folder` (made when missing) after UID `after`, or
    /// all of them when its UIDVALIDITY is no longer `validity`; with the
    /// UIDVALIDITY now.
    pub async fn new_in(
        &mut self,
        folder: &str,
        validity: u32,
        after: u32,
    ) -> Result<(u32, Vec<(u32, Vec<u8>)>), TransportError> {
        let server = self.server.clone();
        let name = self.folder_name(folder).await?;
        self.create_folder(&name).await;
        let mbox = self.select(&name).await?;
        let now = mbox.uid_validity.unwrap_or(0);
        let after = if now == validity { after } else { 0 };
        if mbox.exists == 0 {
            return Ok((now, Vec::new()));
        }
        // "N:*" names the last message even when its UID is below N.
        let mut uids: Vec<u32> = timed(
            &server,
            self.session
                .uid_search(format!("UID {}:*", after.saturating_add(1))),
        )
        .await?
        .into_iter()
        .filter(|u| *u > after)
        .collect();
        uids.sort_unstable();
        let mut found = Vec::new();
        for uid in uids {
            if let Some((raw, _)) = self.fetch(uid).await? {
                found.push((uid, raw));
            }
        }
        Ok((now, found))
    }

    /// The newest message in `folder`, or `None` when the folder is
    /// missing or empty.
    pub async fn newest_in(&mut self, folder: &str) -> Result<Option<Vec<u8>>, TransportError> {
        let server = self.server.clone();
        let name = self.folder_name(folder).await?;
        if self.select(&name).await.is_err() {
            return Ok(None);
        }
        let newest = timed(&server, self.session.uid_search("ALL"))
            .await?
            .into_iter()
            .max();
        match newest {
            Some(uid) => Ok(self.fetch(uid).await?.map(|(raw, _)| raw)),
            None => Ok(None),
        }
    }

    /// Whether a move can be a claim: with MOVE (RFC 6851) a message leaves
    /// INBOX for exactly one client, and with UIDPLUS (RFC 4315) the mover
    /// learns it was the one.
    pub fn can_claim(&self) -> bool {
        self.can_move && self.can_uidplus
    }

    /// Moves `uids` from the selected INBOX into the Claimed folder; what
    /// this connection moved, as the server's COPYUID says. A message
    /// another laptop moved first is not in it.
    pub async fn claim(&mut self, uids: &[u32]) -> Result<Claim, TransportError> {
        let server = self.server.clone();
        let name = self.folder_name(CLAIMED_FOLDER).await?;
        self.create_folder(&name).await;
        let set = uid_list(uids);
        let command = format!(
            "UID MOVE {set} \"{}\"",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let session = &mut self.session;
        timed(&server, async {
            use async_imap::imap_proto::{Response, ResponseCode, Status};
            let id = session.run_command(&command).await?;
            let mut claim = Claim::default();
            loop {
                let Some(answer) = session.read_response().await? else {
                    return Err(async_imap::error::Error::ConnectionLost);
                };
                let (status, code, done) = match answer.parsed() {
                    Response::Data { status, code, .. } => (status, code, false),
                    Response::Done {
                        tag, status, code, ..
                    } => (status, code, *tag == id),
                    _ => continue,
                };
                if let Some(ResponseCode::CopyUid(validity, from, to)) = code {
                    claim.uidvalidity = *validity;
                    claim.won.extend(uid_set(from).into_iter().zip(uid_set(to)));
                }
                if done {
                    return match status {
                        Status::Ok => Ok(claim),
                        other => Err(async_imap::error::Error::No(format!(
                            "the move into {CLAIMED_FOLDER} was refused ({other:?})"
                        ))),
                    };
                }
            }
        })
        .await
    }

    /// Selects the Claimed folder (made when missing): its UIDVALIDITY, and
    /// each message in it with its lease mark ("" before the first).
    pub async fn open_claims(&mut self) -> Result<(u32, Vec<(u32, String)>), TransportError> {
        let server = self.server.clone();
        let (validity, exists) = self.select_claims().await?;
        if exists == 0 {
            return Ok((validity, Vec::new()));
        }
        let fetches: Vec<_> = timed(&server, async {
            let stream = self.session.uid_fetch("1:*", "(UID FLAGS)").await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let marks = fetches
            .iter()
            .filter_map(|f| {
                let mark = f
                    .flags()
                    .find_map(|flag| match flag {
                        async_imap::types::Flag::Custom(k) => {
                            k.strip_prefix("$ConclaveLease").map(str::to_string)
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                f.uid.map(|uid| (uid, mark))
            })
            .collect();
        Ok((validity, marks))
    }

    /// Selects the Claimed folder, unless it is selected already: its
    /// UIDVALIDITY. For filing and taking claims, which need no lease marks.
    pub async fn claims_validity(&mut self) -> Result<u32, TransportError> {
        let name = self.folder_name(CLAIMED_FOLDER).await?;
        if let Some((selected, validity)) = &self.selected
            && *selected == name
            && *validity != 0
        {
            return Ok(*validity);
        }
        Ok(self.select_claims().await?.0)
    }

    /// Selects the Claimed folder (made when missing): its UIDVALIDITY and
    /// how many messages it holds.
    async fn select_claims(&mut self) -> Result<(u32, u32), TransportError> {
        let name = self.folder_name(CLAIMED_FOLDER).await?;
        self.create_folder(&name).await;
        let mbox = self.select(&name).await?;
        let validity = mbox.uid_validity.ok_or_else(|| TransportError::Protocol {
            server: self.server.clone(),
            detail: format!("{CLAIMED_FOLDER} has no UIDVALIDITY"),
        })?;
        Ok((validity, mbox.exists))
    }

    /// Whether a lower UID in the selected Claimed folder holds the same
    /// message as `uid`: the same size, arrival time and header (a move
    /// keeps all three).
    pub async fn claimed_before(&mut self, uid: u32) -> Result<bool, TransportError> {
        let server = self.server.clone();
        let fetches: Vec<_> = timed(&server, async {
            let stream = self
                .session
                .uid_fetch(
                    format!("1:{uid}"),
                    "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])",
                )
                .await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let identity = |f: &async_imap::types::Fetch| {
            (
                f.size,
                f.internal_date().map(|d| d.timestamp()),
                f.header().map(<[u8]>::to_vec),
            )
        };
        let Some(mine) = fetches.iter().find(|f| f.uid == Some(uid)).map(identity) else {
            return Ok(false);
        };
        Ok(fetches
            .iter()
            .any(|f| f.uid.is_some_and(|u| u < uid) && identity(f) == mine))
    }

    /// Removes the copy `uid` from the selected Claimed folder (UIDPLUS's
    /// UID EXPUNGE, so that nothing else there goes).
    pub async fn withdraw_claim(&mut self, uid: u32) -> Result<(), TransportError> {
        self.expunge_uids(&uid.to_string()).await
    }

    /// Flags the UIDs of `set` \Deleted in the selected folder and
    /// expunges those alone (UIDPLUS's UID EXPUNGE).
    async fn expunge_uids(&mut self, set: &str) -> Result<(), TransportError> {
        let server = self.server.clone();
        timed(&server, async {
            let s = self.session.uid_store(set, "+FLAGS (\\Deleted)").await?;
            s.try_collect::<Vec<_>>().await
        })
        .await?;
        timed(&server, async {
            let s = self.session.uid_expunge(set).await?;
            s.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(())
    }

    /// Sets the lease mark of these claims (the Claimed folder selected).
    pub async fn mark_claims(&mut self, uids: &[u32], mark: &str) -> Result<(), TransportError> {
        if uids.is_empty() {
            return Ok(());
        }
        let server = self.server.clone();
        let set = uid_list(uids);
        let flags = format!("FLAGS (\\Seen {})", lease_keyword(mark));
        timed(&server, async {
            let s = self.session.uid_store(&set, &flags).await?;
            s.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(())
    }

    /// Moves these claims (the Claimed folder selected) back to INBOX, for
    /// whichever laptop claims them next.
    pub async fn release_claims(&mut self, uids: &[u32]) -> Result<(), TransportError> {
        if uids.is_empty() {
            return Ok(());
        }
        let server = self.server.clone();
        let set = uid_list(uids);
        timed(&server, async {
            let s = self
                .session
                .uid_store(
                    &set,
                    &format!("-FLAGS ({} {})", lease_keyword("0"), lease_keyword("1")),
                )
                .await?;
            s.try_collect::<Vec<_>>().await
        })
        .await?;
        timed(&server, self.session.uid_mv(&set, "INBOX")).await?;
        Ok(())
    }

    /// Whether the server offers IDLE (RFC 2177), so that the agent can wait
    /// for new mail instead of asking every minute.
    pub fn can_idle(&self) -> bool {
        self.can_idle
    }

    /// Waits in IDLE on the selected mailbox until the server tells of a
    /// change or `limit` passes, then ends IDLE. Keepalives ("still here")
    /// do not end the wait. The connection comes back for the next wait.
    pub async fn idle(
        self,
        limit: std::time::Duration,
    ) -> Result<(Mailbox, IdleEnd), TransportError> {
        let Mailbox {
            session,
            server,
            can_move,
            can_uidplus,
            can_idle,
            delimiter,
            made,
            selected,
            lender,
        } = self;
        let mut handle = session.idle();
        timed(&server, handle.init()).await?;
        let end = {
            let (wait, _interrupt) = handle.wait_with_timeout(limit);
            // The library's own timeout restarts at each keepalive; this one
            // does not.
            tokio::select! {
                r = wait => match r.map_err(|e| imap_error(&server, e))? {
                    async_imap::extensions::idle::IdleResponse::NewData(_) => IdleEnd::Changed,
                    async_imap::extensions::idle::IdleResponse::Timeout => IdleEnd::Quiet,
                    // The stream ended under us: the connection is gone.
                    async_imap::extensions::idle::IdleResponse::ManualInterrupt => {
                        return Err(TransportError::Unreachable {
                            server,
                            detail: "the connection was closed while waiting for new mail".into(),
                        });
                    }
                },
                _ = tokio::time::sleep(limit) => IdleEnd::Quiet,
            }
        };
        let session = timed(&server, handle.done()).await?;
        Ok((
            Mailbox {
                session,
                server,
                can_move,
                can_uidplus,
                can_idle,
                delimiter,
                made,
                selected,
                lender,
            },
            end,
        ))
    }

    /// Logs out, or gives a lent connection back to its watcher.
    pub async fn logout(mut self) {
        if let Some(lender) = self.lender.take() {
            match lender.send(self) {
                Ok(()) => return,
                // The watcher stopped meanwhile.
                Err(back) => self = back,
            }
        }
        // Its answer tells nothing: every change was confirmed before it.
        // Waiting for it would be a round trip at the end of every run, so
        // the command is sent and the connection closed.
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, self.session.run_command("LOGOUT")).await;
    }
}

#[cfg(test)]
mod tests {

    use super::server_words;

    /// An IMAP server on loopback that answers as Dovecot would, from a
    /// script: one mailbox of one message (UID 4), MOVE and UIDPLUS, with
    /// Conclave's folders there when `folders`. It hands back the commands
    /// it was sent ("SELECT", "UID MOVE", …).
    async fn scripted_imap(folders: bool) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        scripted_imap_answering(folders, true).await
    }

    /// The same server; without `answers_logout` it answers nothing to a
    /// LOGOUT and waits for the client to close the connection.
    async fn scripted_imap_answering(
        folders: bool,
        answers_logout: bool,
    ) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (read, mut write) = sock.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"* OK ready\r\n").await.unwrap();
            let mut commands = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut words = line.split(' ');
                let tag = words.next().unwrap_or("*").to_string();
                let mut verb = words.next().unwrap_or("").to_uppercase();
                if verb == "UID" {
                    verb = format!("UID {}", words.next().unwrap_or("").to_uppercase());
                }
                commands.push(verb.clone());
                if verb == "LOGOUT" && !answers_logout {
                    while let Ok(Some(_)) = lines.next_line().await {}
                    commands.push("closed".into());
                    break;
                }
                let data = match verb.as_str() {
                    "CAPABILITY" => "* CAPABILITY IMAP4rev1 MOVE UIDPLUS IDLE\r\n",
                    "LIST" if line.ends_with("\"Conclave*\"") && folders => {
                        "* LIST (\\HasChildren) \"/\" Conclave\r\n* LIST (\\HasNoChildren) \"/\" Conclave/Claimed\r\n* LIST (\\HasNoChildren) \"/\" Conclave/Processed\r\n"
                    }
                    "LIST" if line.ends_with("\"Conclave*\"") => "",
                    "LIST" => "* LIST (\\Noselect) \"/\" \"\"\r\n",
                    "SELECT" => {
                        "* 1 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 5] ok\r\n"
                    }
                    "UID FETCH" | "UID STORE" => "* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n",
                    "UID MOVE" => "* OK [COPYUID 9 4 1] moved\r\n* 1 EXPUNGE\r\n",
                    "LOGOUT" => "* BYE\r\n",
                    _ => "",
                };
                let done = match verb.as_str() {
                    "CREATE" => "NO [ALREADYEXISTS] it exists",
                    "SELECT" => "OK [READ-WRITE] selected",
                    _ => "OK done",
                };
                let answer = format!("{data}{tag} {done}\r\n");
                if write.write_all(answer.as_bytes()).await.is_err() || verb == "LOGOUT" {
                    break;
                }
            }
            commands
        });
        (port, server)
    }

    fn endpoint(port: u16) -> crate::model::Endpoint {
        crate::model::Endpoint {
            host: "127.0.0.1".into(),
            port,
            tls: crate::model::TlsMode::None,
            user: "list".into(),
        }
    }

    async fn connect(port: u16) -> super::Mailbox {
        super::Mailbox::connect(&endpoint(port), None, "secret")
            .await
            .unwrap()
    }

    fn count(commands: &[String], verb: &str) -> usize {
        commands.iter().filter(|c| *c == verb).count()
    }

    #[tokio::test]
    async fn a_claim_is_filed_with_one_move_in_the_folder_already_selected() {
        let (port, server) = scripted_imap(true).await;
        let mut mailbox = connect(port).await;
        assert_eq!(mailbox.claims_validity().await.unwrap(), 7);
        assert_eq!(mailbox.claims_validity().await.unwrap(), 7);
        mailbox
            .file(4, crate::transport::PROCESSED_FOLDER)
            .await
            .unwrap();
        mailbox.logout().await;
        let commands = server.await.unwrap();
        assert_eq!(count(&commands, "SELECT"), 1, "{commands:?}");
        assert_eq!(
            count(&commands, "UID STORE"),
            0,
            "a claim is \\Seen since its lease mark: {commands:?}"
        );
        assert_eq!(count(&commands, "UID MOVE"), 1, "{commands:?}");
    }

    #[tokio::test]
    async fn a_post_filed_from_inbox_is_flagged_seen_first() {
        let (port, server) = scripted_imap(true).await;
        let mut mailbox = connect(port).await;
        assert_eq!(mailbox.open_inbox().await.unwrap(), 7);
        mailbox
            .file(4, crate::transport::PROCESSED_FOLDER)
            .await
            .unwrap();
        // INBOX is what is selected: the Claimed folder is selected anew.
        assert_eq!(mailbox.claims_validity().await.unwrap(), 7);
        mailbox.logout().await;
        let commands = server.await.unwrap();
        let filing: Vec<&str> = commands
            .iter()
            .map(String::as_str)
            .filter(|c| c.starts_with("UID S") || *c == "UID MOVE")
            .collect();
        assert_eq!(filing, ["UID STORE", "UID MOVE"], "{commands:?}");
        assert_eq!(count(&commands, "SELECT"), 2, "{commands:?}");
    }

    /// The commands of a connection that selects the Claimed folder and
    /// files UID 4 `filings` times, with Conclave's folders there or not.
    async fn claims_then_filings(folders: bool, filings: usize) -> Vec<String> {
        let (port, server) = scripted_imap(folders).await;
        let mut mailbox = connect(port).await;
        mailbox.claims_validity().await.unwrap();
        for _ in 0..filings {
            mailbox
                .file(4, crate::transport::PROCESSED_FOLDER)
                .await
                .unwrap();
        }
        mailbox.logout().await;
        server.await.unwrap()
    }

    #[tokio::test]
    async fn folders_the_server_lists_are_not_created_again() {
        let commands = claims_then_filings(true, 1).await;
        assert_eq!(count(&commands, "LIST"), 1, "{commands:?}");
        assert_eq!(count(&commands, "CREATE"), 0, "{commands:?}");
    }

    #[tokio::test]
    async fn folders_not_there_yet_are_created_with_their_parent_once() {
        let commands = claims_then_filings(false, 2).await;
        // Conclave's own, then the root for the delimiter.
        assert_eq!(count(&commands, "LIST"), 2, "{commands:?}");
        // The parent, the Claimed folder, the Processed folder.
        assert_eq!(count(&commands, "CREATE"), 3, "{commands:?}");
    }

    #[tokio::test]
    async fn a_connection_begun_ahead_is_the_one_logged_in_on() {
        let (port, server) = scripted_imap(true).await;
        let ep = endpoint(port);
        super::Mailbox::reach_ahead(&ep, None);
        // Made and greeted before any password is known.
        let key = super::login(&ep);
        for _ in 0..1000 {
            if super::reaching()
                .get(&key)
                .is_some_and(|(_, task)| task.is_finished())
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(super::reaching().get(&key).unwrap().1.is_finished());
        // The server takes one connection: a second would wait forever.
        let mailbox = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            super::Mailbox::borrow_or_connect(&ep, None, "secret"),
        )
        .await
        .expect("logged in on the connection begun ahead")
        .unwrap();
        mailbox.logout().await;
        let commands = server.await.unwrap();
        assert_eq!(count(&commands, "LOGIN"), 1, "{commands:?}");
        assert!(super::reaching().get(&key).is_none());
    }

    #[tokio::test]
    async fn a_logout_does_not_wait_for_the_server_s_answer() {
        let (port, server) = scripted_imap_answering(true, false).await;
        let mailbox = connect(port).await;
        // Waiting for an answer that never comes would take the connection
        // timeout (20 s).
        tokio::time::timeout(std::time::Duration::from_secs(10), mailbox.logout())
            .await
            .expect("the logout returns without the server's answer");
        let commands = server.await.unwrap();
        assert_eq!(commands[commands.len() - 2..], ["LOGOUT", "closed"]);
    }

    #[test]
    fn a_no_answer_is_shown_in_the_server_s_own_words() {
        assert_eq!(
            server_words(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(
            server_words(r#"code: None, info: Some("say \"no\"")"#),
            r#"say "no""#
        );
        assert_eq!(
            server_words("code: None, info: None"),
            "code: None, info: None"
        );
        assert_eq!(server_words("Login failed"), "Login failed");
    }
}
