//! "Do these account settings work?": a real login to the IMAP server (and
//! opening INBOX) and to the SMTP server, each told separately, with what
//! failed said in plain words and what to do about it. The CLI (`list
//! account`, `list check`) and the window's "Test connection" share it.

use serde::Serialize;

use super::TransportError;
use super::imap::Mailbox;
use super::smtp::Outgoing;
use crate::model::Account;

/// The outcome of logging in to both servers of an account.
#[derive(Debug)]
pub struct AccountCheck {
    pub imap: Result<(), TransportError>,
    pub smtp: Result<(), TransportError>,
}

impl AccountCheck {
    pub fn ok(&self) -> bool {
        self.imap.is_ok() && self.smtp.is_ok()
    }

    /// The first failure (IMAP's before SMTP's), for callers that stop at one.
    pub fn into_result(self) -> Result<(), TransportError> {
        self.imap.and(self.smtp)
    }

    /// What the window shows: one outcome per server.
    pub fn report(&self, account: &Account) -> CheckReport {
        let outcome = |r: &Result<(), TransportError>, host: &str, port: u16| ServerOutcome {
            ok: r.is_ok(),
            problem: r.as_ref().err().map(|e| explain(e, host, port)),
        };
        CheckReport {
            imap: outcome(&self.imap, &account.imap.host, account.imap.port),
            smtp: outcome(&self.smtp, &account.smtp.host, account.smtp.port),
        }
    }
}

/// Logs in to both servers at once (so a slow one does not hide the other's
/// answer) and logs out again. Nothing is saved.
pub async fn check_account(
    account: &Account,
    imap_password: &str,
    smtp_password: &str,
) -> AccountCheck {
    let ca = account.ca_pem.as_deref();
    let imap = async {
        let mut mailbox = Mailbox::connect(&account.imap, ca, imap_password).await?;
        // A login that cannot open INBOX is no use to a list.
        let opened = mailbox.open_inbox().await.map(|_| ());
        mailbox.logout().await;
        opened
    };
    let smtp = async {
        Outgoing::connect(&account.smtp, ca, smtp_password)
            .await?
            .quit()
            .await;
        Ok(())
    };
    let (imap, smtp) = tokio::join!(imap, smtp);
    AccountCheck { imap, smtp }
}

/// The window's view of a check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CheckReport {
    pub imap: ServerOutcome,
    pub smtp: ServerOutcome,
}

/// How logging in to one server went.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ServerOutcome {
    pub ok: bool,
    pub problem: Option<Problem>,
}

/// Which kind of trouble: each asks the owner for a different fix.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    WrongPassword,
    HostNotFound,
    NothingListens,
    NoAnswer,
    SecurityMismatch,
    Offline,
    Unreachable,
    Certificate,
    Tls,
    NoStarttls,
    NoLogin,
    Plaintext,
    CaFile,
    Protocol,
}

/// A failed login in words for someone who never set up a mail client by
/// hand: what happened, what to do, and the server's own words.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What happened, one sentence.
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// The server's or the system's own words, for someone who helps.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.message, self.fix)
    }
}

const PORTS: &str = "IMAP uses 993 with implicit TLS or 143 with STARTTLS; SMTP uses 465 with implicit TLS or 587 with STARTTLS";

/// Sorts a transport error into what the owner must do. `host` and `port`
/// are the server's as the owner typed them.
pub fn explain(e: &TransportError, host: &str, port: u16) -> Problem {
    let problem = |kind, message: String, fix: &str, detail: &str| Problem {
        kind,
        message,
        fix: fix.to_string(),
        detail: detail.to_string(),
    };
    match e {
        TransportError::WrongPassword { user, detail, .. } => problem(
            ProblemKind::WrongPassword,
            format!("The server refused the user name or password (user name “{user}”)."),
            "Check both. Gmail, Fastmail, Yahoo and others need an app password, made in the account's \
             security settings, instead of the password you use in the browser.",
            detail,
        ),
        TransportError::Unreachable { detail, .. } => unreachable(detail, host, port),
        TransportError::BadCertificate { detail, .. } => problem(
            ProblemKind::Certificate,
            format!("The server {host} showed a certificate this computer does not trust."),
            "Check the host name: it must be the one the provider gives (the certificate names it). If you \
             run the server yourself with your own certificate authority, give the authority's certificate \
             (a .pem file) under “Advanced”.",
            detail,
        ),
        TransportError::Tls { detail, .. } => problem(
            ProblemKind::Tls,
            "The encrypted connection could not be set up.".to_string(),
            &format!("The security setting probably does not fit the port: {PORTS}."),
            detail,
        ),
        TransportError::NoStarttls { .. } => problem(
            ProblemKind::NoStarttls,
            format!("The server at port {port} does not offer STARTTLS."),
            "Choose implicit TLS (usually port 993 for IMAP and 465 for SMTP).",
            "",
        ),
        TransportError::NoLogin { detail, .. } => problem(
            ProblemKind::NoLogin,
            "The server offers no way to log in on this connection.".to_string(),
            "Choose STARTTLS or implicit TLS: most servers take a password only over an encrypted connection.",
            detail,
        ),
        TransportError::PlaintextNotLoopback { .. } => problem(
            ProblemKind::Plaintext,
            format!(
                "Without security, the password would cross the network readable to anyone on the way to {host}."
            ),
            "Choose implicit TLS or STARTTLS. (No security is allowed only for a server on this computer.)",
            "",
        ),
        TransportError::BadCaFile(detail) => problem(
            ProblemKind::CaFile,
            "The certificate authority file under “Advanced” is not a PEM certificate.".to_string(),
            "Choose the authority's certificate (a text file starting with “-----BEGIN CERTIFICATE-----”), \
             or remove it if the server's certificate comes from a public authority.",
            detail,
        ),
        TransportError::Protocol { detail, .. } => problem(
            ProblemKind::Protocol,
            "The server answered something unexpected.".to_string(),
            "Check the host name, port and security setting; if they are right, try again in a while.",
            detail,
        ),
    }
}

/// "Cannot reach" has several causes the system's words tell apart.
fn unreachable(detail: &str, host: &str, port: u16) -> Problem {
    let d = detail.to_ascii_lowercase();
    let (kind, message, fix) = if d.contains("lookup address")
        || d.contains("name or service not known")
        || d.contains("nodename nor servname")
        || d.contains("no such host")
        || d.contains("temporary failure in name resolution")
    {
        (
            ProblemKind::HostNotFound,
            format!("There is no server named “{host}”."),
            "Check the spelling of the host name, and that this computer is online.".to_string(),
        )
    } else if d.contains("refused") {
        (
            ProblemKind::NothingListens,
            format!("{host} answers, but not at port {port}."),
            format!("Check the port: {PORTS}."),
        )
    } else if d.contains("no greeting") {
        (
            ProblemKind::SecurityMismatch,
            format!("The server at port {port} did not say hello."),
            format!("The security setting probably does not fit the port: {PORTS}."),
        )
    } else if d.contains("network is unreachable") || d.contains("no route to host") {
        (
            ProblemKind::Offline,
            "This computer cannot reach the network.".to_string(),
            "Check that it is online, then try again.".to_string(),
        )
    } else if d.contains("in time") || d.contains("timed out") || d.contains("stopped answering") {
        (
            ProblemKind::NoAnswer,
            format!("{host} did not answer in time."),
            format!(
                "Check the host name and port ({PORTS}), and that this computer is online; a firewall may block the port."
            ),
        )
    } else {
        (
            ProblemKind::Unreachable,
            format!("Conclave cannot reach {host} at port {port}."),
            "Check the host name and port, and that this computer is online.".to_string(),
        )
    };
    Problem {
        kind,
        message,
        fix,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(e: TransportError) -> ProblemKind {
        explain(&e, "mail.example.org", 993).kind
    }

    fn unreachable_because(detail: &str) -> ProblemKind {
        kind(TransportError::Unreachable {
            server: "IMAP server".into(),
            detail: detail.into(),
        })
    }

    #[test]
    fn a_refused_login_says_check_the_password_and_app_passwords() {
        let p = explain(
            &TransportError::WrongPassword {
                server: "IMAP server x:993".into(),
                user: "list@example.org".into(),
                detail: "[AUTHENTICATIONFAILED] Authentication failed.".into(),
            },
            "x",
            993,
        );
        assert_eq!(p.kind, ProblemKind::WrongPassword);
        assert!(
            p.message.contains("refused the user name or password"),
            "{}",
            p.message
        );
        assert!(p.message.contains("list@example.org"), "{}", p.message);
        assert!(p.fix.contains("app password"), "{}", p.fix);
        assert_eq!(p.detail, "[AUTHENTICATIONFAILED] Authentication failed.");
        assert!(
            !p.to_string().contains("conclave-cli"),
            "the window's words name no command"
        );
    }

    #[test]
    fn cannot_reach_is_told_apart_by_its_cause() {
        assert_eq!(
            unreachable_because("failed to lookup address information: Name or service not known"),
            ProblemKind::HostNotFound
        );
        assert_eq!(
            unreachable_because("Connection refused (os error 111)"),
            ProblemKind::NothingListens
        );
        assert_eq!(
            unreachable_because("no greeting in time"),
            ProblemKind::SecurityMismatch
        );
        assert_eq!(
            unreachable_because("no answer in time"),
            ProblemKind::NoAnswer
        );
        assert_eq!(
            unreachable_because("the server stopped answering"),
            ProblemKind::NoAnswer
        );
        assert_eq!(
            unreachable_because("Network is unreachable (os error 101)"),
            ProblemKind::Offline
        );
        assert_eq!(
            unreachable_because("the connection was closed"),
            ProblemKind::Unreachable
        );
        let p = explain(
            &TransportError::Unreachable {
                server: "s".into(),
                detail: "Connection refused (os error 111)".into(),
            },
            "127.0.0.1",
            1,
        );
        assert!(p.message.contains("port 1"), "{}", p.message);
        assert!(p.fix.contains("993") && p.fix.contains("587"), "{}", p.fix);
    }

    #[test]
    fn tls_troubles_point_at_the_setting_to_change() {
        let cert = explain(
            &TransportError::BadCertificate {
                server: "s".into(),
                detail: "certificate verify failed".into(),
            },
            "mail.example.org",
            993,
        );
        assert_eq!(cert.kind, ProblemKind::Certificate);
        assert!(cert.fix.contains("Advanced"), "{}", cert.fix);
        assert!(!cert.fix.contains("--ca-file"), "{}", cert.fix);
        let tls = explain(
            &TransportError::Tls {
                server: "s".into(),
                detail: "wrong version number".into(),
            },
            "h",
            143,
        );
        assert_eq!(tls.kind, ProblemKind::Tls);
        assert!(tls.fix.contains("does not fit the port"), "{}", tls.fix);
        assert_eq!(
            kind(TransportError::NoStarttls { server: "s".into() }),
            ProblemKind::NoStarttls
        );
        assert!(
            explain(&TransportError::NoStarttls { server: "s".into() }, "h", 993)
                .fix
                .contains("implicit TLS")
        );
        assert_eq!(
            kind(TransportError::NoLogin {
                server: "s".into(),
                detail: "no mechanism".into()
            }),
            ProblemKind::NoLogin
        );
        assert_eq!(
            kind(TransportError::PlaintextNotLoopback { host: "h".into() }),
            ProblemKind::Plaintext
        );
        assert_eq!(
            kind(TransportError::BadCaFile(
                "no certificate found in it".into()
            )),
            ProblemKind::CaFile
        );
        assert_eq!(
            kind(TransportError::Protocol {
                server: "s".into(),
                detail: "BAD".into()
            }),
            ProblemKind::Protocol
        );
    }

    #[test]
    fn every_problem_says_what_to_do() {
        let all = [
            TransportError::Unreachable {
                server: "s".into(),
                detail: "x".into(),
            },
            TransportError::BadCertificate {
                server: "s".into(),
                detail: "x".into(),
            },
            TransportError::Tls {
                server: "s".into(),
                detail: "x".into(),
            },
            TransportError::NoStarttls { server: "s".into() },
            TransportError::NoLogin {
                server: "s".into(),
                detail: "x".into(),
            },
            TransportError::WrongPassword {
                server: "s".into(),
                user: "u".into(),
                detail: "x".into(),
            },
            TransportError::PlaintextNotLoopback { host: "h".into() },
            TransportError::BadCaFile("x".into()),
            TransportError::Protocol {
                server: "s".into(),
                detail: "x".into(),
            },
        ];
        for e in all {
            let p = explain(&e, "h", 1);
            assert!(!p.message.is_empty() && !p.fix.is_empty(), "{e:?}");
            assert!(
                !p.fix.contains("conclave-cli") && !p.fix.contains(" --"),
                "{e:?}: {}",
                p.fix
            );
        }
    }

    #[test]
    fn the_first_failure_is_imap_s_then_smtp_s() {
        let refused = |server: &str| TransportError::WrongPassword {
            server: server.into(),
            user: "u".into(),
            detail: String::new(),
        };
        let both = AccountCheck {
            imap: Err(refused("IMAP")),
            smtp: Err(refused("SMTP")),
        };
        assert!(!both.ok());
        assert!(
            matches!(both.into_result(), Err(TransportError::WrongPassword { server, .. }) if server == "IMAP")
        );
        let smtp = AccountCheck {
            imap: Ok(()),
            smtp: Err(refused("SMTP")),
        };
        assert!(
            matches!(smtp.into_result(), Err(TransportError::WrongPassword { server, .. }) if server == "SMTP")
        );
        let fine = AccountCheck {
            imap: Ok(()),
            smtp: Ok(()),
        };
        assert!(fine.ok() && fine.into_result().is_ok());
    }
}
