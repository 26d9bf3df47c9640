//! The edge: IMAP to read the list's mailbox, SMTP to send. These modules
//! know nothing of policy; they move bytes and say clearly what failed.

pub mod check;
pub mod imap;
pub mod presets;
pub mod servers;
pub mod smtp;
mod tcp;
pub mod tls;

pub use check::{
    AccountCheck, CheckReport, Problem, ProblemKind, ServerOutcome, check_account, explain,
};
pub use servers::{Inbox, MailServers, Sender, Servers};

use std::time::Duration;

use crate::model::{Endpoint, TlsMode};

/// Where a post is filed once its deliveries are final.
pub const PROCESSED_FOLDER: &str = "Conclave/Processed";
/// Where an unreadable message, or one that kept failing, is set aside.
pub const QUARANTINE_FOLDER: &str = "Conclave/Quarantine";
/// Where a post is moved before it is read, so that of two laptops running
/// the list only one takes it (see `post::claim`).
pub const CLAIMED_FOLDER: &str = "Conclave/Claimed";
/// Marks a filed message on servers that cannot move messages.
pub const PROCESSED_KEYWORD: &str = "$ConclaveProcessed";

/// What a claim won: the Claimed folder's UIDVALIDITY, and each message
/// this connection moved there, as (its UID in INBOX, its UID in Claimed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    pub uidvalidity: u32,
    pub won: Vec<(u32, u32)>,
}

/// How long to wait for a server before calling it unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long any single command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What went wrong talking to a mail server. Each kind is distinct, because
/// each asks the user for a different fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error(
        "cannot reach the {server} ({detail}): check the host name and port, and that this computer is online"
    )]
    Unreachable { server: String, detail: String },
    #[error(
        "the {server} presented a certificate that is not trusted ({detail}): if the server is self-hosted, give its CA certificate with --ca-file; Conclave never connects without checking"
    )]
    BadCertificate { server: String, detail: String },
    #[error(
        "TLS with the {server} failed ({detail}): check the port and security setting (993 and 465 use implicit TLS, 143 and 587 use STARTTLS)"
    )]
    Tls { server: String, detail: String },
    #[error(
        "the {server} does not offer STARTTLS: choose implicit TLS (usually port 993 for IMAP, 465 for SMTP)"
    )]
    NoStarttls { server: String },
    #[error(
        "the {server} offers no way to log in on this connection ({detail}): choose starttls or implicit TLS"
    )]
    NoLogin { server: String, detail: String },
    #[error(
        "the {server} refused the login for '{user}' ({detail}): check the user name and password, and set them again with `conclave-cli list account`"
    )]
    WrongPassword {
        server: String,
        user: String,
        detail: String,
    },
    #[error(
        "an unencrypted connection is only allowed to this computer (127.0.0.1, ::1, localhost), and {host} is not it: choose implicit or starttls"
    )]
    PlaintextNotLoopback { host: String },
    #[error(
        "the CA certificate for this account is not a valid PEM certificate ({0}): give the CA's certificate file with --ca-file"
    )]
    BadCaFile(String),
    #[error(
        "the {server} answered unexpectedly ({detail}); if this repeats, check the server settings"
    )]
    Protocol { server: String, detail: String },
}

impl TransportError {
    /// Whether waiting and trying again may help (network trouble), as
    /// opposed to a setting the user must fix.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. } | TransportError::Protocol { .. }
        )
    }
}

/// "IMAP server mail.example.org:993", as errors name a server.
pub fn describe(kind: &str, ep: &Endpoint) -> String {
    format!("{kind} server {}:{}", ep.host, ep.port)
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Refuses plaintext to anything but this computer.
pub fn check_tls_allowed(ep: &Endpoint) -> Result<(), TransportError> {
    if ep.tls == TlsMode::None && !is_loopback(&ep.host) {
        return Err(TransportError::PlaintextNotLoopback {
            host: ep.host.clone(),
        });
    }
    Ok(())
}

/// Reads every certificate of a PEM bundle, refusing a file that holds none.
pub fn parse_ca_pem(pem: &str) -> Result<Vec<openssl::x509::X509>, TransportError> {
    let mut certs = Vec::new();
    let mut rest = pem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let block = &rest[start..start + end + END.len()];
        certs.push(
            openssl::x509::X509::from_pem(block.as_bytes())
                .map_err(|e| TransportError::BadCaFile(e.to_string()))?,
        );
        rest = &rest[start + end + END.len()..];
    }
    if certs.is_empty() {
        return Err(TransportError::BadCaFile(
            "no certificate found in it".into(),
        ));
    }
    Ok(certs)
}

/// How long a TLS set-up is kept for the next connection. Where the
/// system's authorities are looked up one by one ([`tls`]) making one is
/// cheap, and keeping it keeps the authorities already read; where they
/// come as one bundle, each set-up reads and parses it (about 30 ms of CPU),
/// which every lane of a fan-out and every IMAP login would pay again. A
/// changed store is taken up within this time.
const TLS_SETUP_KEPT: Duration = Duration::from_secs(600);

/// Makes the TLS set-up the account's connections will use (IMAP and SMTP
/// share one), ahead of them: where the system's authorities come as one
/// bundle, reading it is tens of milliseconds of CPU. A failure is told
/// when a connection is made.
pub fn prepare_tls(account: &crate::model::Account) {
    if account.imap.tls != TlsMode::None || account.smtp.tls != TlsMode::None {
        let _ = tls::setup(account.ca_pem.as_deref());
    }
}

/// What a TLS set-up was made for: the server name, the extra CA.
type TlsFor = (String, Option<String>);

/// TLS set-ups by what they were made for, with when each was made.
pub(crate) struct TlsSetups<T> {
    kept: std::sync::Mutex<std::collections::HashMap<TlsFor, (std::time::Instant, T)>>,
}

impl<T: Clone> TlsSetups<T> {
    pub(crate) fn new() -> TlsSetups<T> {
        TlsSetups {
            kept: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The set-up for `host` and `ca_pem`, made by `make` when none younger
    /// than [`TLS_SETUP_KEPT`] is kept. A failure is not kept.
    pub(crate) fn get(
        &self,
        host: &str,
        ca_pem: Option<&str>,
        make: impl FnOnce() -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let key = (host.to_string(), ca_pem.map(str::to_string));
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made, setup)) = kept.get(&key)
            && made.elapsed() < TLS_SETUP_KEPT
        {
            return Ok(setup.clone());
        }
        let setup = make()?;
        kept.insert(key, (std::time::Instant::now(), setup.clone()));
        Ok(setup)
    }
}

/// Sorts a TLS failure into "untrusted certificate" or "TLS failed".
fn tls_failure(server: String, detail: String) -> TransportError {
    let d = detail.to_ascii_lowercase();
    if d.contains("certificate")
        || d.contains("self signed")
        || d.contains("self-signed")
        || d.contains("hostname mismatch")
    {
        TransportError::BadCertificate { server, detail }
    } else {
        TransportError::Tls { server, detail }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_tls_set_up_is_made_once_per_server_and_ca_and_a_failure_is_not_kept() {
        let setups = TlsSetups::new();
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            Ok(made.get())
        };
        assert_eq!(setups.get("a.example", None, make).unwrap(), 1);
        assert_eq!(setups.get("a.example", None, make).unwrap(), 1, "kept");
        assert_eq!(setups.get("b.example", None, make).unwrap(), 2);
        assert_eq!(setups.get("a.example", Some("PEM"), make).unwrap(), 3);
        let fail = || Err(TransportError::BadCaFile("no".into()));
        assert!(setups.get("c.example", None, fail).is_err());
        assert_eq!(setups.get("c.example", None, make).unwrap(), 4, "not kept");
    }
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.3.4.5",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "mail.example.org",
            "localhost.example.org",
            "192.168.1.1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plaintext_only_to_loopback() {
        let ep = |host: &str, tls| Endpoint {
            host: host.into(),
            port: 143,
            tls,
            user: "u".into(),
        };
        assert!(check_tls_allowed(&ep("127.0.0.1", TlsMode::None)).is_ok());
        assert!(matches!(
            check_tls_allowed(&ep("imap.example.org", TlsMode::None)),
            Err(TransportError::PlaintextNotLoopback { .. })
        ));
        assert!(check_tls_allowed(&ep("imap.example.org", TlsMode::Starttls)).is_ok());
    }

    #[test]
    fn ca_files_must_hold_a_certificate() {
        assert!(matches!(
            parse_ca_pem("hello"),
            Err(TransportError::BadCaFile(_))
        ));
        assert!(matches!(
            parse_ca_pem("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
            Err(TransportError::BadCaFile(_))
        ));
    }

    #[test]
    fn certificate_failures_are_told_apart() {
        assert!(matches!(
            tls_failure(
                "s".into(),
                "error:0A000086:SSL routines::certificate verify failed".into()
            ),
            TransportError::BadCertificate { .. }
        ));
        assert!(matches!(
            tls_failure("s".into(), "wrong version number".into()),
            TransportError::Tls { .. }
        ));
    }
}
