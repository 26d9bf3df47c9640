//! Sending over SMTP (lettre's connection, kept open for a whole fan-out).

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
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
        Ok(Outgoing { conn, server })
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
        match tokio::time::timeout(COMMAND_TIMEOUT, self.conn.send(&envelope, &wire)).await {
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

    /// Whether the connection can carry another message.
    pub fn is_broken(&self) -> bool {
        self.conn.has_broken()
    }

    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, self.conn.quit()).await;
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
}
