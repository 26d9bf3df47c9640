//! Sending over SMTP (lettre's connection, kept open for a whole fan-out).

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::Ehlo;
use lettre::transport::smtp::extension::ClientId;

use std::pin::Pin;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::imap::{tcp, tls_connector};
use super::{
    COMMAND_TIMEOUT, CONNECT_TIMEOUT, TransportError, check_tls_allowed, describe, parse_ca_pem,
    tls_failure,
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

/// An implicit-TLS connection (port 465) on our own socket, for lettre to
/// speak SMTP over.
#[derive(Debug)]
struct ImplicitTls(tokio_native_tls::TlsStream<TcpStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

/// A logged-in SMTP connection.
pub struct Outgoing {
    conn: AsyncSmtpConnection,
    server: String,
    /// The server takes MAIL, RCPT and DATA in one go (RFC 2920).
    pipelining: bool,
}

/// Makes the TLS set-up the account's SMTP connections will need, so that
/// it is ready (kept) when the first copy goes out: called beside the IMAP
/// work of a run, on the other core. A failure shows later, when sending.
pub fn prepare_tls(ep: &Endpoint, ca_pem: Option<&str>) {
    let host = ep.host.trim_start_matches('[').trim_end_matches(']');
    let server = describe("SMTP", ep);
    let _ = match ep.tls {
        TlsMode::Starttls => tls_parameters(host, ca_pem, &server).map(drop),
        TlsMode::Implicit => tls_connector(ca_pem).map(drop),
        TlsMode::None => Ok(()),
    };
}

/// The TLS set-up lettre uses for STARTTLS to `host`, made once for a
/// while (see [`super::TlsSetups`]).
fn tls_parameters(
    host: &str,
    ca_pem: Option<&str>,
    server: &str,
) -> Result<TlsParameters, TransportError> {
    static SETUPS: std::sync::LazyLock<super::TlsSetups<TlsParameters>> =
        std::sync::LazyLock::new(super::TlsSetups::new);
    SETUPS.get(host, ca_pem, || make_tls_parameters(host, ca_pem, server))
}

fn make_tls_parameters(
    host: &str,
    ca_pem: Option<&str>,
    server: &str,
) -> Result<TlsParameters, TransportError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(pem) = ca_pem {
        // Read the same way as for IMAP; lettre wants its own type.
        for cert in parse_ca_pem(pem)? {
            let der = cert
                .to_der()
                .map_err(|e| TransportError::BadCaFile(e.to_string()))?;
            let cert =
                Certificate::from_der(der).map_err(|e| TransportError::BadCaFile(e.to_string()))?;
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build_native().map_err(|e| TransportError::Tls {
        server: server.into(),
        detail: e.to_string(),
    })
}

fn hello() -> ClientId {
    // The list's laptop has no meaningful host name to announce; a fixed
    // one leaks nothing about it.
    ClientId::Domain("conclave.invalid".into())
}

fn connect_error(server: &str, e: lettre::transport::smtp::Error) -> TransportError {
    let detail = full_message(&e);
    if e.is_tls() {
        tls_failure(server.into(), detail)
    } else if e.is_permanent() || e.is_transient() || e.is_response() {
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
        let tcp = tcp(&server, host, ep.port).await?;
        let stream: Box<dyn AsyncTokioStream> = match ep.tls {
            TlsMode::Implicit => Box::new(ImplicitTls(
                tls_connector(ca_pem)?
                    .connect(host, tcp)
                    .await
                    .map_err(|e| tls_failure(server.clone(), e.to_string()))?,
            )),
            _ => Box::new(tcp),
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
        if ep.tls == TlsMode::Starttls {
            if !conn.can_starttls() {
                return Err(TransportError::NoStarttls { server });
            }
            conn.starttls(tls_parameters(host, ca_pem, &server)?, &hello())
                .await
                .map_err(|e| connect_error(&server, e))?;
        }
        // lettre keeps only the EHLO keywords it uses, and PIPELINING is
        // not one of them: ask once more (a repeated EHLO changes nothing
        // else before the login).
        let pipelining = conn
            .command(Ehlo::new(hello()))
            .await
            .map(|r| offers_pipelining(r.message()))
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

/// Whether an EHLO answer's keywords include PIPELINING.
fn offers_pipelining<'a>(lines: impl Iterator<Item = &'a str>) -> bool {
    lines
        .filter_map(|l| l.split_whitespace().next())
        .any(|k| k.eq_ignore_ascii_case("PIPELINING"))
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
}
