//! Sending over SMTP (lettre's connection, kept open for a whole fan-out).

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

use std::pin::Pin;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::tcp::Tcp;
use super::{
    COMMAND_TIMEOUT, CONNECT_TIMEOUT, TransportError, check_tls_allowed, describe, tls_failure,
};
use crate::model::{Endpoint, TlsMode};

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// 4xx, or the connection dropped: try again later.
    Retry(String),
    /// 5xx: the server refused this recipient or message for good.
    Failed(String),
    /// The provider's sending limit (a quota a day, a rate): nothing is
    /// wrong with this copy or its member; it waits, and so do the copies
    /// behind it.
    Limited(String),
}

/// Whether a refusal is the provider's sending limit rather than about the
/// message or its recipient: a 421, 450, 451, 452, 550 or 554 whose words
/// speak of a quota, a rate or a limit ("550 5.4.5 Daily user sending
/// quota exceeded.", "421 4.7.0 ... rate limited", "452 4.3.1 ... limit").
pub fn is_sending_limit(code: Option<u16>, text: &str) -> bool {
    let code_fits = code.is_none_or(|c| matches!(c, 421 | 450 | 451 | 452 | 550 | 554));
    let words = text.to_ascii_lowercase();
    code_fits
        && words.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            matches!(
                w,
                "quota" | "rate" | "ratelimit" | "ratelimited" | "limit" | "limits" | "limited"
            )
        })
}

/// A message as SMTP carries it: every line ending CRLF (a bare CR or LF is
/// what SMTP smuggling hides behind, and servers disagree about it), and
/// without its final CRLF, which the client adds before the closing dot —
/// so the member receives the post's bytes, not one empty line more.
pub fn wire_format(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' if message.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

/// The longest start of a connection [`OwnStream`] keeps.
const MAX_HEARD: usize = 8192;

/// What a connection heard first, kept until it is read.
type Heard = std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>;

/// Our own socket, for lettre to speak SMTP over: TLS (implicit, port 465,
/// or after [`starttls`], which hands lettre the server's greeting again:
/// lettre reads one first, and the server sent it before TLS began), or
/// plain TCP on loopback. Its first answers (the greeting and the answer to
/// lettre's EHLO) are kept as they pass: lettre keeps only the EHLO
/// keywords it uses, and PIPELINING is not one of them. Reading them here
/// spares a second EHLO, a round trip each connection.
#[derive(Debug)]
struct OwnStream<S> {
    greeting: Vec<u8>,
    given: usize,
    stream: S,
    peer: std::net::SocketAddr,
    heard: Heard,
}

impl<S> OwnStream<S> {
    fn new(greeting: Vec<u8>, stream: S, peer: std::net::SocketAddr, heard: &Heard) -> Self {
        OwnStream {
            greeting,
            given: 0,
            stream,
            peer,
            heard: heard.clone(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for OwnStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = if this.given < this.greeting.len() {
            let n = buf.remaining().min(this.greeting.len() - this.given);
            buf.put_slice(&this.greeting[this.given..this.given + n]);
            this.given += n;
            Poll::Ready(Ok(()))
        } else {
            Pin::new(&mut this.stream).poll_read(cx, buf)
        };
        if let Some(heard) = this
            .heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            let new = &buf.filled()[before..];
            let room = MAX_HEARD.saturating_sub(heard.len());
            heard.extend_from_slice(&new[..new.len().min(room)]);
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for OwnStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl<S> AsyncTokioStream for OwnStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + std::fmt::Debug,
{
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        Ok(self.peer)
    }
}

/// The keyword lines of the EHLO answer among what a connection heard
/// first (its greeting's lines are 220, the EHLO answer's 250).
fn ehlo_keywords(heard: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(heard)
        .lines()
        .filter(|l| l.starts_with("250-") || l.starts_with("250 "))
        .skip(1)
        .map(|l| l[4..].trim().to_string())
        .collect()
}

/// The longest reply line read before TLS, and the most lines of one
/// reply: a server that sends more is not one to talk to.
const MAX_REPLY_LINE: u64 = 2048;
const MAX_REPLY_LINES: usize = 100;

/// One SMTP reply before TLS: its code and its bytes as they came.
async fn reply(
    server: &str,
    from: &mut tokio::io::BufReader<Tcp>,
) -> Result<(u16, Vec<u8>), TransportError> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let broken = |detail: String| TransportError::Protocol {
        server: server.into(),
        detail,
    };
    let mut all = Vec::new();
    for _ in 0..MAX_REPLY_LINES {
        let mut line = Vec::new();
        let n = (&mut *from)
            .take(MAX_REPLY_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| TransportError::Unreachable {
                server: server.into(),
                detail: e.to_string(),
            })?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(broken(
                "the connection ended in the middle of a reply".into(),
            ));
        }
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                broken(format!(
                    "not an SMTP reply: {}",
                    String::from_utf8_lossy(&line).trim_end()
                ))
            })?;
        let last = line.get(3) != Some(&b'-');
        all.extend_from_slice(&line);
        if last {
            return Ok((code, all));
        }
    }
    Err(broken("a reply of too many lines".into()))
}

/// Greeting, EHLO and STARTTLS on our own socket, then TLS with the set-up
/// IMAP uses: lettre's own STARTTLS would make a set-up of its own, which
/// reads the system's certificates twice more (tens of milliseconds of CPU
/// a run).
async fn starttls(
    server: &str,
    host: &str,
    ca_pem: Option<&str>,
    tcp: Tcp,
) -> Result<(Vec<u8>, super::tls::TlsStream<Tcp>), TransportError> {
    use tokio::io::AsyncWriteExt;
    let mut from = tokio::io::BufReader::new(tcp);
    let said = |what: &str, text: &[u8]| TransportError::Protocol {
        server: server.into(),
        detail: format!("{what}: {}", String::from_utf8_lossy(text).trim_end()),
    };
    let (code, greeting) = reply(server, &mut from).await?;
    if code != 220 {
        return Err(said("the server turned the connection away", &greeting));
    }
    let hello = format!("EHLO {}\r\n", hello());
    let write = |e: std::io::Error| TransportError::Unreachable {
        server: server.into(),
        detail: e.to_string(),
    };
    from.get_mut()
        .write_all(hello.as_bytes())
        .await
        .map_err(write)?;
    let (code, answer) = reply(server, &mut from).await?;
    if code != 250 {
        return Err(said("the server refused EHLO", &answer));
    }
    // Each line after the first names a keyword after its "250-" or "250 ".
    let text = String::from_utf8_lossy(&answer);
    let keywords = text.lines().skip(1).map(|l| l.get(4..).unwrap_or(""));
    if !offers("STARTTLS", keywords) {
        return Err(TransportError::NoStarttls {
            server: server.into(),
        });
    }
    from.get_mut()
        .write_all(b"STARTTLS\r\n")
        .await
        .map_err(write)?;
    let (code, _) = reply(server, &mut from).await?;
    if code != 220 {
        return Err(TransportError::NoStarttls {
            server: server.into(),
        });
    }
    // Anything the server sent after its 220 came before TLS and could be
    // an attacker's, put there to be read as if it came over TLS.
    if !from.buffer().is_empty() {
        return Err(TransportError::Protocol {
            server: server.into(),
            detail: "the server sent more after agreeing to STARTTLS, before TLS began".into(),
        });
    }
    let tls = super::tls::setup(ca_pem)?
        .connect(host, from.into_inner())
        .await
        .map_err(|e| tls_failure(server.into(), e))?;
    Ok((greeting, tls))
}

/// A logged-in SMTP connection.
pub struct Outgoing {
    conn: AsyncSmtpConnection,
    server: String,
    /// The server takes MAIL, RCPT and DATA in one go (RFC 2920).
    pipelining: bool,
    /// The server accepted an envelope and waits for its message. Only the
    /// message may follow, or hanging up: a QUIT now would be taken as
    /// part of a message.
    awaiting_message: bool,
    /// The connection is in a state no command can be sent in (waiting for
    /// a message that will not come, or not answering): it is closed
    /// without a word.
    given_up: bool,
}

/// One copy as SMTP carries it: from the list, to one member.
#[derive(Clone, Copy)]
pub struct Addressed<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub message: &'a [u8],
}

fn hello() -> ClientId {
    // The list's laptop has no meaningful host name to announce; a fixed
    // one leaks nothing about it.
    ClientId::Domain("conclave.invalid".into())
}

fn connect_error(server: &str, e: lettre::transport::smtp::Error) -> TransportError {
    // TLS is ours (see [`starttls`]): lettre only speaks SMTP over it.
    let detail = full_message(&e);
    if e.is_permanent() || e.is_transient() || e.is_response() {
        TransportError::Protocol {
            server: server.into(),
            detail,
        }
    } else {
        TransportError::Unreachable {
            server: server.into(),
            detail,
        }
    }
}

fn full_message(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

/// What a refusal or a failure means for the copy it was about.
fn outcome_of(e: &lettre::transport::smtp::Error) -> SendOutcome {
    let words = full_message(e);
    if is_sending_limit(e.status().and_then(|c| c.to_string().parse().ok()), &words) {
        SendOutcome::Limited(words)
    } else if e.is_permanent() {
        SendOutcome::Failed(words)
    } else {
        SendOutcome::Retry(words)
    }
}

/// Whether the server answered (with a refusal), rather than the
/// connection failing under the command.
fn is_answer(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent() || e.is_transient()
}

type Answer = Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>;

impl Outgoing {
    pub async fn connect(
        ep: &Endpoint,
        ca_pem: Option<&str>,
        password: &str,
    ) -> Result<Outgoing, TransportError> {
        let server = describe("SMTP", ep);
        check_tls_allowed(ep)?;
        let host = ep.host.trim_start_matches('[').trim_end_matches(']');
        // Our own socket (lettre's would keep Nagle's algorithm on), reached
        // first so that "unreachable" is told apart from TLS and protocol
        // trouble.
        let tcp = super::tcp::connect(&server, host, ep.port).await?;
        let peer = tcp.peer_addr().map_err(|e| TransportError::Unreachable {
            server: server.clone(),
            detail: e.to_string(),
        })?;
        let heard: Heard = std::sync::Arc::new(std::sync::Mutex::new(Some(Vec::new())));
        let stream: Box<dyn AsyncTokioStream> = match ep.tls {
            TlsMode::Implicit => {
                let tls = super::tls::setup(ca_pem)?
                    .connect(host, tcp)
                    .await
                    .map_err(|e| tls_failure(server.clone(), e))?;
                Box::new(OwnStream::new(Vec::new(), tls, peer, &heard))
            }
            TlsMode::Starttls => {
                let (greeting, tls) =
                    tokio::time::timeout(CONNECT_TIMEOUT, starttls(&server, host, ca_pem, tcp))
                        .await
                        .map_err(|_| TransportError::Unreachable {
                            server: server.clone(),
                            detail: "no answer in time before TLS".into(),
                        })??;
                Box::new(OwnStream::new(greeting, tls, peer, &heard))
            }
            TlsMode::None => Box::new(OwnStream::new(Vec::new(), tcp, peer, &heard)),
        };
        let greeted = tokio::time::timeout(
            CONNECT_TIMEOUT,
            AsyncSmtpConnection::connect_with_transport(stream, &hello()),
        )
        .await
        .map_err(|_| TransportError::Unreachable {
            server: server.clone(),
            detail: "no greeting in time".into(),
        })?;
        let mut conn = greeted.map_err(|e| connect_error(&server, e))?;
        // What lettre's EHLO was answered, as it passed (nothing more is
        // kept once lettre has read it).
        let first = heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        let keywords = ehlo_keywords(&first);
        let pipelining = offers("PIPELINING", keywords.iter().map(String::as_str));
        let creds = Credentials::new(ep.user.clone(), password.to_string());
        match conn
            .auth(&[Mechanism::Plain, Mechanism::Login], &creds)
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_permanent() => {
                return Err(TransportError::WrongPassword {
                    server,
                    user: ep.user.clone(),
                    detail: full_message(&e),
                });
            }
            // lettre found no mechanism both sides know: the server offers
            // AUTH only after STARTTLS, or not at all.
            Err(e) if e.is_client() => {
                return Err(TransportError::NoLogin {
                    server,
                    detail: full_message(&e),
                });
            }
            Err(e) => return Err(connect_error(&server, e)),
        }
        Ok(Outgoing {
            conn,
            server,
            pipelining,
            awaiting_message: false,
            given_up: false,
        })
    }

    /// Offers a copy's envelope: MAIL, RCPT and DATA, in one write when the
    /// server pipelines (RFC 2920). Once it is accepted the server waits
    /// for the message ([`Outgoing::hand_over`]); nothing is delivered
    /// before the message's closing dot, so an envelope may be offered
    /// before the copy's sending is on record.
    pub async fn offer(&mut self, copy: Addressed<'_>) -> Result<(), SendOutcome> {
        if self.given_up || self.awaiting_message {
            return Err(SendOutcome::Retry(format!(
                "the connection to the {} was given up",
                self.server
            )));
        }
        let commands = envelope_commands(copy)?;
        let offering = async {
            if self.pipelining {
                self.in_one_write(commands.concat(), commands.len()).await
            } else {
                // One by one; the first refusal ends the envelope.
                let mut answers = Vec::new();
                for command in &commands {
                    let answer = self.conn.command(command).await;
                    let refused = answer.is_err();
                    answers.push(answer);
                    if refused {
                        break;
                    }
                }
                answers
            }
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, offering).await {
            Ok(answers) => self.settle_envelope(&answers).await,
            Err(_) => Err(self.silent()),
        }
    }

    /// `text` (commands, or a message and the commands after it) in one
    /// write, and the answers to its `answers` parts, in order.
    async fn in_one_write(&mut self, text: String, answers: usize) -> Vec<Answer> {
        let mut read = vec![self.conn.command(text).await];
        for _ in 1..answers {
            read.push(self.conn.read_response().await);
        }
        read
    }

    /// The server stopped answering: nothing more is said on this
    /// connection, and the copy waits for a retry.
    fn silent(&mut self) -> SendOutcome {
        self.given_up = true;
        SendOutcome::Retry(format!("the {} stopped answering", self.server))
    }

    /// Takes the answers to an envelope's commands (the last one DATA's):
    /// the server now waits for the message, or the first refusal says
    /// why not. A refusal ends the connection, so no answer is left unread
    /// behind it.
    async fn settle_envelope(&mut self, answers: &[Answer]) -> Result<(), SendOutcome> {
        let data_accepted = answers.len() > 1 && answers.last().is_some_and(Result::is_ok);
        match answers.iter().find_map(|a| a.as_ref().err()) {
            None => {
                self.awaiting_message = true;
                Ok(())
            }
            Some(e) => {
                let refused = outcome_of(e);
                if data_accepted {
                    // A server that took DATA after refusing part of its
                    // envelope waits for a message none will follow.
                    self.given_up = true;
                } else {
                    self.conn.abort().await;
                }
                Err(refused)
            }
        }
    }

    /// Hands over the offered copy's message, ending it with the closing
    /// dot, after which the server delivers it. With `next`, that copy's
    /// envelope goes with it: when the server pipelines, the message, its
    /// dot and the next MAIL, RCPT and DATA are one write and their answers
    /// one round trip (RFC 2920 lets the message start a group). Returns
    /// what became of this copy, and of the next one's envelope: accepted
    /// (its message may follow), refused, or `None` when it was not offered
    /// and should be offered again, on a new connection if this one broke.
    pub async fn hand_over(
        &mut self,
        message: &[u8],
        next: Option<Addressed<'_>>,
    ) -> (SendOutcome, Option<Result<(), SendOutcome>>) {
        if self.given_up || !self.awaiting_message {
            return (
                SendOutcome::Retry(format!(
                    "no envelope was accepted on the connection to the {}",
                    self.server
                )),
                None,
            );
        }
        let wire = wire_format(message);
        // lettre writes a command as text: a message that is not UTF-8
        // (8-bit text in another charset) goes alone.
        let grouped = match next {
            Some(next) if self.pipelining => envelope_commands(next)
                .ok()
                .zip(String::from_utf8(dot_stuffed(&wire)).ok()),
            _ => None,
        };
        let Some((commands, mut text)) = grouped else {
            let outcome = self.message_alone(&wire).await;
            let next = match (&outcome, next) {
                (SendOutcome::Sent, Some(next)) if !self.is_broken() => {
                    Some(self.offer(next).await)
                }
                _ => None,
            };
            return (outcome, next);
        };
        text.push_str("\r\n.\r\n");
        text.push_str(&commands.concat());
        self.awaiting_message = false;
        let answering = self.in_one_write(text, 1 + commands.len());
        let Ok(mut answers) = tokio::time::timeout(COMMAND_TIMEOUT, answering).await else {
            return (self.silent(), None);
        };
        let envelope = answers.split_off(1);
        let outcome = match &answers[0] {
            Ok(_) => SendOutcome::Sent,
            Err(e) => outcome_of(e),
        };
        let failed = |a: &Answer| a.as_ref().is_err_and(|e| !is_answer(e));
        if answers.iter().chain(&envelope).any(failed) {
            // Nothing more can be said on it; the next copy is offered
            // again on a new connection.
            self.given_up = true;
            return (outcome, None);
        }
        if outcome == SendOutcome::Sent {
            return (outcome, Some(self.settle_envelope(&envelope).await));
        }
        // This copy was refused: the connection ends as after any
        // refusal, and the next copy is offered again on a new one.
        if envelope.last().is_some_and(Result::is_ok) {
            self.given_up = true;
        } else {
            self.conn.abort().await;
        }
        (outcome, None)
    }

    /// The message and its closing dot, the only thing in their write.
    async fn message_alone(&mut self, wire: &[u8]) -> SendOutcome {
        self.awaiting_message = false;
        match tokio::time::timeout(COMMAND_TIMEOUT, self.conn.message(wire)).await {
            Ok(Ok(_)) => SendOutcome::Sent,
            Ok(Err(e)) => {
                self.conn.abort().await;
                outcome_of(&e)
            }
            Err(_) => self.silent(),
        }
    }

    /// Whether the connection can carry another message.
    pub fn is_broken(&self) -> bool {
        self.given_up || self.conn.has_broken()
    }

    /// Says goodbye; a connection in a state where QUIT would be read as a
    /// message, or that stopped answering, is closed without it.
    pub async fn quit(mut self) {
        if self.given_up || self.awaiting_message {
            return;
        }
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, self.conn.quit()).await;
    }
}

/// Whether the lines of an EHLO answer (each a keyword and its parameters)
/// offer `keyword`.
fn offers<'a>(keyword: &str, lines: impl Iterator<Item = &'a str>) -> bool {
    lines
        .filter_map(|l| l.split_whitespace().next())
        .any(|k| k.eq_ignore_ascii_case(keyword))
}

/// MAIL, RCPT and DATA for one copy, each a line, with the parameters
/// lettre's own send would give MAIL (SMTPUTF8 for addresses that are not
/// ASCII, BODY=8BITMIME for a message that is not).
fn envelope_commands(copy: Addressed<'_>) -> Result<Vec<String>, SendOutcome> {
    use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
    use lettre::transport::smtp::extension::{MailBodyParameter, MailParameter};
    let parse = |a: &str| {
        a.parse::<Address>()
            .map_err(|e| SendOutcome::Failed(format!("'{a}' is not a usable address: {e}")))
    };
    let (from, to) = (parse(copy.from)?, parse(copy.to)?);
    let envelope =
        Envelope::new(Some(from), vec![to]).map_err(|e| SendOutcome::Failed(e.to_string()))?;
    let mut options = Vec::new();
    let ascii = |a: &Address| AsRef::<str>::as_ref(a).is_ascii();
    if !envelope.from().is_none_or(ascii) || !envelope.to().iter().all(ascii) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !copy.message.is_ascii() {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mut commands = vec![Mail::new(envelope.from().cloned(), options).to_string()];
    for to in envelope.to() {
        commands.push(Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    commands.push(Data.to_string());
    Ok(commands)
}

/// A message in [`wire_format`] as DATA carries it: a line that starts
/// with a dot gets one more (RFC 5321 4.5.2), so no line of it reads as
/// the end.
fn dot_stuffed(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len() + 16);
    let mut line_start = true;
    for &b in wire {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::is_sending_limit;

    #[test]
    fn a_provider_s_sending_limit_is_told_from_a_refusal() {
        for (code, words) in [
            (550, "5.4.5 Daily user sending quota exceeded."),
            (
                421,
                "4.7.0 Try again later, closing connection. (rate limited)",
            ),
            (452, "4.5.3 Too many messages: sending limit reached"),
            (554, "5.7.1 Ratelimit exceeded for this account"),
            (451, "4.7.1 Rate limit: slow down"),
        ] {
            assert!(is_sending_limit(Some(code), words), "{code} {words}");
        }
        for (code, words) in [
            (550, "5.1.1 User unknown"),
            (552, "5.3.4 Message size exceeds fixed limit"),
            (450, "4.2.0 Mailbox unavailable"),
            (
                550,
                "5.7.60 SendAsDenied: the account may not send as someone else",
            ),
            (554, "5.7.1 Generated message refused"),
        ] {
            assert!(!is_sending_limit(Some(code), words), "{code} {words}");
        }
    }

    use super::wire_format;

    #[test]
    fn line_endings_become_crlf_and_the_last_is_left_to_the_client() {
        assert_eq!(wire_format(b"a\r\nb\r\n"), b"a\r\nb");
        assert_eq!(wire_format(b"a\nb\n\n"), b"a\r\nb\r\n");
        assert_eq!(wire_format(b"a\rb"), b"a\r\nb");
        assert_eq!(wire_format(b"a\r\n\r\n"), b"a\r\n");
        assert_eq!(wire_format(b"no end"), b"no end");
    }

    /// A small SMTP server on loopback for one connection: it answers as a
    /// provider would, offering PIPELINING or not, and notes which commands
    /// arrived in each read, and which ones it refused.
    async fn scripted_server(
        pipelining: bool,
        refuse: &'static str,
    ) -> (u16, tokio::task::JoinHandle<Vec<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            sock.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut reads: Vec<Vec<String>> = Vec::new();
            let mut pending = String::new();
            let mut in_data = false;
            let mut buf = vec![0u8; 65536];
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    return reads;
                }
                pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                let mut commands = Vec::new();
                let mut answer = String::new();
                while let Some(end) = pending.find("\r\n") {
                    let line: String = pending.drain(..end + 2).collect();
                    let line = line.trim_end().to_string();
                    if in_data {
                        if line == "." {
                            commands.push(line);
                            in_data = false;
                            answer.push_str("250 2.0.0 queued\r\n");
                        }
                        continue;
                    }
                    let verb = line.split([' ', ':']).next().unwrap_or("").to_uppercase();
                    commands.push(verb.clone());
                    let reply: &str = match verb.as_str() {
                        "EHLO" if pipelining => {
                            "250-fake\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"
                        }
                        "EHLO" => "250-fake\r\n250 AUTH PLAIN LOGIN\r\n",
                        "AUTH" => "235 2.7.0 ok\r\n",
                        "RCPT" if line.contains(refuse) => "550 5.1.1 no such user\r\n",
                        "MAIL" | "RCPT" | "RSET" => "250 2.1.0 ok\r\n",
                        "DATA" if answer.contains("550") => "554 5.5.1 no valid recipients\r\n",
                        "DATA" => {
                            in_data = true;
                            "354 go on\r\n"
                        }
                        "QUIT" => "221 bye\r\n",
                        _ => "502 5.5.2 what?\r\n",
                    };
                    answer.push_str(reply);
                }
                if !commands.is_empty() {
                    reads.push(commands);
                }
                if !answer.is_empty() {
                    sock.write_all(answer.as_bytes()).await.unwrap();
                }
                if reads
                    .last()
                    .is_some_and(|r| r.contains(&"QUIT".to_string()))
                {
                    return reads;
                }
            }
        });
        (port, server)
    }

    async fn plain_connection(port: u16) -> super::Outgoing {
        let ep = crate::model::Endpoint {
            host: "127.0.0.1".into(),
            port,
            tls: crate::model::TlsMode::None,
            user: "list".into(),
        };
        super::Outgoing::connect(&ep, None, "secret").await.unwrap()
    }

    fn to(to: &'static str, message: &'static [u8]) -> super::Addressed<'static> {
        super::Addressed {
            from: "list@example.org",
            to,
            message,
        }
    }

    /// Two copies as a lane sends them: the first one's envelope alone,
    /// the second one's offered with the first one's message.
    async fn send_two_in_turn(
        port: u16,
    ) -> (
        super::SendOutcome,
        Option<Result<(), super::SendOutcome>>,
        bool,
    ) {
        let mut out = plain_connection(port).await;
        let (one, two) = (
            to("a@example.org", b"Subject: 1\r\n\r\n.one\r\n"),
            to("b@example.org", b"Subject: 2\r\n\r\ntwo\r\n"),
        );
        assert_eq!(out.offer(one).await, Ok(()));
        let (first, next) = out.hand_over(one.message, Some(two)).await;
        let broken = out.is_broken();
        if next == Some(Ok(())) {
            assert_eq!(
                out.hand_over(two.message, None).await,
                (super::SendOutcome::Sent, None)
            );
        }
        out.quit().await;
        (first, next, broken)
    }

    #[tokio::test]
    async fn a_message_its_end_and_the_next_copy_s_envelope_go_in_one_write() {
        let (port, server) = scripted_server(true, "nobody").await;
        let sent = send_two_in_turn(port).await;
        assert_eq!(sent, (super::SendOutcome::Sent, Some(Ok(())), false));
        let reads = server.await.unwrap();
        assert!(
            reads.iter().any(|r| r == &[".", "MAIL", "RCPT", "DATA"]),
            "one round trip for the first copy's end and the next's start: {reads:?}"
        );
        assert_eq!(reads.iter().flatten().filter(|c| *c == ".").count(), 2);
    }

    #[tokio::test]
    async fn without_pipelining_the_next_envelope_waits_for_the_message_s_answer() {
        let (port, server) = scripted_server(false, "nobody").await;
        let sent = send_two_in_turn(port).await;
        assert_eq!(sent, (super::SendOutcome::Sent, Some(Ok(())), false));
        let reads = server.await.unwrap();
        assert!(
            reads.iter().all(|r| r.len() == 1),
            "one command, one answer: {reads:?}"
        );
        assert_eq!(reads.iter().flatten().filter(|c| *c == ".").count(), 2);
    }

    #[tokio::test]
    async fn a_recipient_refused_with_the_message_before_it_fails_that_copy_alone() {
        let (port, server) = scripted_server(true, "b@example.org").await;
        let (first, next, broken) = send_two_in_turn(port).await;
        assert_eq!(first, super::SendOutcome::Sent);
        assert!(
            matches!(&next, Some(Err(super::SendOutcome::Failed(why))) if why.contains("no such user")),
            "{next:?}"
        );
        assert!(broken, "the connection ends after a refusal");
        let reads = server.await.unwrap();
        assert_eq!(reads.iter().flatten().filter(|c| *c == ".").count(), 1);
    }

    #[tokio::test]
    async fn a_connection_waiting_for_a_message_is_closed_without_a_word() {
        let (port, server) = scripted_server(true, "nobody").await;
        let mut out = plain_connection(port).await;
        let one = to("a@example.org", b"Subject: 1\r\n\r\none\r\n");
        assert_eq!(out.offer(one).await, Ok(()));
        // A QUIT now would be read as the message's first line, and never
        // answered.
        tokio::time::timeout(std::time::Duration::from_secs(5), out.quit())
            .await
            .expect("closed at once");
        let reads = server.await.unwrap();
        assert_eq!(
            reads.last().unwrap(),
            &["MAIL", "RCPT", "DATA"],
            "{reads:?}"
        );
        assert!(!reads.iter().flatten().any(|c| c == "." || c == "QUIT"));
    }

    #[test]
    fn a_line_that_starts_with_a_dot_gets_one_more() {
        assert_eq!(
            super::dot_stuffed(b".a\r\nb.\r\n..c\r\n."),
            b"..a\r\nb.\r\n...c\r\n.."
        );
    }

    async fn send_two(port: u16) -> Vec<super::SendOutcome> {
        use crate::transport::Sender;
        let mut out = plain_connection(port).await;
        let mut outcomes = vec![
            out.send(
                "list@example.org",
                "a@example.org",
                b"Subject: 1\r\n\r\none\r\n",
            )
            .await,
        ];
        if !out.is_broken() {
            outcomes.push(
                out.send(
                    "list@example.org",
                    "b@example.org",
                    b"Subject: 2\r\n\r\ntwo\r\n",
                )
                .await,
            );
        }
        out.quit().await;
        outcomes
    }

    #[tokio::test]
    async fn mail_rcpt_and_data_go_in_one_write_when_the_server_offers_pipelining() {
        let (port, server) = scripted_server(true, "nobody").await;
        let outcomes = send_two(port).await;
        assert_eq!(
            outcomes,
            [super::SendOutcome::Sent, super::SendOutcome::Sent]
        );
        let reads = server.await.unwrap();
        let groups = reads
            .iter()
            .filter(|r| r.as_slice() == ["MAIL", "RCPT", "DATA"])
            .count();
        assert_eq!(groups, 2, "each copy's commands in one write: {reads:?}");
        let ehlos = reads.iter().flatten().filter(|c| *c == "EHLO").count();
        assert_eq!(
            ehlos, 1,
            "PIPELINING is read off lettre's own EHLO, not asked again: {reads:?}"
        );
    }

    #[test]
    fn the_keywords_are_the_ehlo_answer_s_not_the_greeting_s() {
        let heard = b"220-mx.example.org ESMTP\r\n220 PIPELINING is not a keyword here\r\n\
250-mx.example.org hello\r\n250-pipelining\r\n250-SIZE 10240000\r\n250 AUTH PLAIN LOGIN\r\n";
        let keywords = super::ehlo_keywords(heard);
        assert_eq!(
            keywords,
            ["pipelining", "SIZE 10240000", "AUTH PLAIN LOGIN"]
        );
        assert!(super::offers(
            "PIPELINING",
            keywords.iter().map(String::as_str)
        ));
        let without = super::ehlo_keywords(b"220 PIPELINING\r\n250-mx\r\n250 AUTH PLAIN\r\n");
        assert!(!super::offers(
            "PIPELINING",
            without.iter().map(String::as_str)
        ));
    }

    #[tokio::test]
    async fn commands_go_one_by_one_when_the_server_does_not_offer_pipelining() {
        let (port, server) = scripted_server(false, "nobody").await;
        let outcomes = send_two(port).await;
        assert_eq!(
            outcomes,
            [super::SendOutcome::Sent, super::SendOutcome::Sent]
        );
        let reads = server.await.unwrap();
        assert!(
            reads.iter().all(|r| r.len() == 1),
            "one command, one answer: {reads:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_recipient_in_a_pipelined_group_fails_that_copy_alone() {
        let (port, server) = scripted_server(true, "a@example.org").await;
        let outcomes = send_two(port).await;
        assert!(
            matches!(&outcomes[..], [super::SendOutcome::Failed(why)] if why.contains("no such user")),
            "{outcomes:?}"
        );
        server.await.unwrap();
    }

    /// A server that greets with `greeting` and answers EHLO with `ehlo`
    /// and STARTTLS with `starttls`, then waits for the client to hang up.
    async fn before_tls(greeting: &'static str, ehlo: &'static str, starttls: &'static str) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let mut sock = tokio::io::BufReader::new(sock);
            sock.get_mut().write_all(greeting.as_bytes()).await.unwrap();
            let mut line = String::new();
            while sock.read_line(&mut line).await.unwrap_or(0) > 0 {
                let answer = if line.starts_with("EHLO") {
                    ehlo
                } else {
                    starttls
                };
                if sock.get_mut().write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                line.clear();
            }
        });
        port
    }

    async fn connect_starttls(port: u16) -> Result<super::Outgoing, super::TransportError> {
        let ep = crate::model::Endpoint {
            host: "127.0.0.1".into(),
            port,
            tls: crate::model::TlsMode::Starttls,
            user: "list".into(),
        };
        super::Outgoing::connect(&ep, None, "secret").await
    }

    #[tokio::test]
    async fn a_server_without_starttls_is_told_and_nothing_is_sent_in_clear() {
        let port = before_tls("220 fake\r\n", "250-fake\r\n250 AUTH PLAIN\r\n", "").await;
        let e = connect_starttls(port).await.err().unwrap();
        assert!(matches!(e, super::TransportError::NoStarttls { .. }), "{e}");
        let port = before_tls(
            "220 fake\r\n",
            "250-fake\r\n250 STARTTLS\r\n",
            "454 4.7.0 TLS not available\r\n",
        )
        .await;
        let e = connect_starttls(port).await.err().unwrap();
        assert!(matches!(e, super::TransportError::NoStarttls { .. }), "{e}");
    }

    #[tokio::test]
    async fn what_a_server_sends_between_starttls_and_tls_is_refused() {
        // An attacker on the path adds a command's answer after the 220, to
        // be read as if it came over TLS (the STARTTLS injection of 2011).
        let port = before_tls(
            "220 fake\r\n",
            "250-fake\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
            "220 2.0.0 go ahead\r\n250 2.1.0 sender ok\r\n",
        )
        .await;
        let e = connect_starttls(port).await.err().unwrap();
        assert!(e.to_string().contains("before TLS began"), "{e}");
    }

    #[tokio::test]
    async fn a_server_that_turns_the_connection_away_says_why() {
        let port = before_tls("554 5.7.1 no service for you\r\n", "", "").await;
        let e = connect_starttls(port).await.err().unwrap();
        assert!(e.to_string().contains("no service for you"), "{e}");
    }
}
