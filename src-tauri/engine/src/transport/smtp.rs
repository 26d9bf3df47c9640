//! Sending over SMTP (lettre's connection, kept open for a whole fan-out).

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::Ehlo;
use lettre::transport::smtp::extension::ClientId;

use std::pin::Pin;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::imap::tls_connector;
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

/// A TLS connection on our own socket, for lettre to speak SMTP over:
/// implicit TLS (port 465), or STARTTLS done by [`starttls`], which hands
/// lettre the server's greeting again (lettre reads one first, and the
/// server sent it before TLS began).
#[derive(Debug)]
struct OwnTls {
    greeting: Vec<u8>,
    given: usize,
    tls: tokio_native_tls::TlsStream<Tcp>,
}

impl AsyncRead for OwnTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.given < this.greeting.len() {
            let n = buf.remaining().min(this.greeting.len() - this.given);
            buf.put_slice(&this.greeting[this.given..this.given + n]);
            this.given += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for OwnTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for OwnTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.tls.get_ref().get_ref().get_ref().peer_addr()
    }
}

/// Plain TCP (loopback only) for lettre.
impl AsyncTokioStream for Tcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        Tcp::peer_addr(self)
    }
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
) -> Result<OwnTls, TransportError> {
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
    let tls = tls_connector(ca_pem)?
        .connect(host, from.into_inner())
        .await
        .map_err(|e| tls_failure(server.into(), e.to_string()))?;
    Ok(OwnTls {
        greeting,
        given: 0,
        tls,
    })
}

/// A logged-in SMTP connection.
pub struct Outgoing {
    conn: AsyncSmtpConnection,
    server: String,
    /// The server takes MAIL, RCPT and DATA in one go (RFC 2920).
    pipelining: bool,
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
        let stream: Box<dyn AsyncTokioStream> = match ep.tls {
            TlsMode::Implicit => {
                let tls = tls_connector(ca_pem)?
                    .connect(host, tcp)
                    .await
                    .map_err(|e| tls_failure(server.clone(), e.to_string()))?;
                Box::new(OwnTls {
                    greeting: Vec::new(),
                    given: 0,
                    tls,
                })
            }
            TlsMode::Starttls => Box::new(
                tokio::time::timeout(CONNECT_TIMEOUT, starttls(&server, host, ca_pem, tcp))
                    .await
                    .map_err(|_| TransportError::Unreachable {
                        server: server.clone(),
                        detail: "no answer in time before TLS".into(),
                    })??,
            ),
            TlsMode::None => Box::new(tcp),
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
        // lettre keeps only the EHLO keywords it uses, and PIPELINING is
        // not one of them: ask once more (a repeated EHLO changes nothing
        // else before the login).
        let pipelining = conn
            .command(Ehlo::new(hello()))
            .await
            .map(|r| offers("PIPELINING", r.message()))
            .map_err(|e| connect_error(&server, e))?;
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
        })
    }

    /// Sends one message to one recipient.
    pub async fn send(&mut self, from: &str, to: &str, message: &[u8]) -> SendOutcome {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| format!("'{a}' is not a usable address: {e}"))
        };
        let envelope = match (parse(from), parse(to)) {
            (Ok(f), Ok(t)) => Envelope::new(Some(f), vec![t]).map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let envelope = match envelope {
            Ok(e) => e,
            Err(e) => return SendOutcome::Failed(e),
        };
        let wire = wire_format(message);
        let sending = async {
            if self.pipelining {
                self.send_pipelined(&envelope, &wire).await
            } else {
                self.conn.send(&envelope, &wire).await
            }
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, sending).await {
            Ok(Ok(_)) => SendOutcome::Sent,
            Ok(Err(e))
                if is_sending_limit(
                    e.status().and_then(|c| c.to_string().parse().ok()),
                    &full_message(&e),
                ) =>
            {
                SendOutcome::Limited(full_message(&e))
            }
            Ok(Err(e)) if e.is_permanent() => SendOutcome::Failed(full_message(&e)),
            Ok(Err(e)) => SendOutcome::Retry(full_message(&e)),
            Err(_) => SendOutcome::Retry(format!("the {} stopped answering", self.server)),
        }
    }

    /// MAIL, RCPT and DATA in one write and their three answers read
    /// after (RFC 2920), then the message: two round trips a copy instead
    /// of four. lettre writes a command as its text, so the three go as
    /// one; the answers are read in order. Any refusal ends the connection
    /// (as lettre's own send does), so no answer is left unread behind it.
    async fn send_pipelined(
        &mut self,
        envelope: &Envelope,
        wire: &[u8],
    ) -> Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
        let group = Pipelined::new(envelope, wire);
        let answers = [
            self.conn.command(&group).await,
            self.conn.read_response().await,
            self.conn.read_response().await,
        ];
        let mut refused = None;
        for answer in answers {
            if let Err(e) = answer {
                refused.get_or_insert(e);
            }
        }
        if let Some(e) = refused {
            self.conn.abort().await;
            return Err(e);
        }
        let done = self.conn.message(wire).await;
        if done.is_err() {
            self.conn.abort().await;
        }
        done
    }

    /// Whether the connection can carry another message.
    pub fn is_broken(&self) -> bool {
        self.conn.has_broken()
    }

    pub async fn quit(mut self) {
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

/// MAIL, RCPT and DATA for one copy, as one text, with the parameters
/// lettre's own send would give MAIL (SMTPUTF8 for addresses that are not
/// ASCII, BODY=8BITMIME for a message that is not).
struct Pipelined(String);

impl Pipelined {
    fn new(envelope: &Envelope, wire: &[u8]) -> Pipelined {
        use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
        use lettre::transport::smtp::extension::{MailBodyParameter, MailParameter};
        let mut options = Vec::new();
        let ascii = |a: &Address| AsRef::<str>::as_ref(a).is_ascii();
        if !envelope.from().is_none_or(ascii) || !envelope.to().iter().all(ascii) {
            options.push(MailParameter::SmtpUtfEight);
        }
        if !wire.is_ascii() {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mut text = Mail::new(envelope.from().cloned(), options).to_string();
        for to in envelope.to() {
            text.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
        }
        text.push_str(&Data.to_string());
        Pipelined(text)
    }
}

impl std::fmt::Display for Pipelined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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

    async fn send_two(port: u16) -> Vec<super::SendOutcome> {
        let ep = crate::model::Endpoint {
            host: "127.0.0.1".into(),
            port,
            tls: crate::model::TlsMode::None,
            user: "list".into(),
        };
        let mut out = super::Outgoing::connect(&ep, None, "secret").await.unwrap();
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
