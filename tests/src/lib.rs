//! Helpers for system tests against the real mail rig (Dovecot + Postfix on
//! 127.0.0.1, see `tests/rig/README.md`).
//!
//! The rig is started once per test run by `scripts/test.sh`, which exports
//! `CONCLAVE_RIG_DIR`. Tests get it with [`Rig::get`], invent fresh mailboxes
//! with [`Rig::unique`] (any `user@conclave.test` exists and logs in with the
//! rig password) or, for members at other providers, [`Rig::unique_at`] one
//! of [`Rig::other_domains`] (`riseup.test`, `posteo.test`: served exactly
//! like conclave.test), submit mail with [`Rig::submit`], bring in mail from
//! "other servers" with [`Rig::deliver`] and look into mailboxes directly on
//! disk with [`Rig::messages`] / [`Rig::wait_for`].
//!
//! Submission is as strict as real providers: a login sends only with its
//! own address as envelope sender and header From (see the README). Mail
//! that stands for another server's (bounces, forgeries, people at other
//! providers) goes through [`Rig::deliver`], the rig's MX port.
//!
//! Mailboxes are Maildirs with `LAYOUT=fs`:
//! `$RIG_DIR/mail/<domain>/<user>/<folder path>/{cur,new,tmp}`, so `INBOX`
//! is `.../INBOX/` and `Conclave/Processed` is `.../Conclave/Processed/`.

pub mod copy;
pub mod gpg;
pub mod lists;
pub mod neomutt;
pub mod owner;
pub mod smime;
pub mod window;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};

/// The running mail rig, as described by `$CONCLAVE_RIG_DIR/rig.env`.
#[derive(Debug, Clone)]
pub struct Rig {
    /// The rig's folder (`RIG_DIR`).
    pub dir: PathBuf,
    /// Always `127.0.0.1`; the server certificate also names `localhost`.
    pub host: String,
    /// The same IMAP server (plain, port `imap_port`) without MOVE.
    pub host_nomove: String,
    /// The same IMAP server (plain, port `imap_port`) without MOVE and UIDPLUS.
    pub host_nouidplus: String,
    /// The plain SMTP port (`smtp_plain_port`) without PIPELINING.
    pub host_nopipelining: String,
    /// IMAP with STARTTLS (plain login also allowed without TLS).
    pub imap_port: u16,
    /// IMAP over implicit TLS.
    pub imaps_port: u16,
    /// SMTP submission: STARTTLS required, then AUTH.
    pub submission_port: u16,
    /// SMTP submission over implicit TLS.
    pub smtps_port: u16,
    /// SMTP with AUTH and no TLS at all (the app's "no TLS" loopback mode).
    pub smtp_plain_port: u16,
    /// Gmail-like submission (STARTTLS required, then AUTH): a foreign
    /// header From is rewritten to the login instead of refused.
    pub gmail_port: u16,
    /// Inbound MX: no AUTH, no TLS needed, any sender, only recipients in
    /// the rig's domains; mail from other servers arrives this way.
    pub mx_port: u16,
    /// The CA that signed the servers' certificate (`ca.pem`).
    pub ca_path: PathBuf,
    /// A CA that signed nothing the rig serves, for "untrusted" tests.
    pub other_ca_path: PathBuf,
    /// `conclave.test`
    pub domain: String,
    /// More local domains served exactly like `domain` (accounts, delivery,
    /// the strict submission, the MX port), for members at other providers:
    /// `RIG_OTHER_DOMAINS`, by default `riseup.test` and `posteo.test`.
    /// Empty for a rig started by an older start.sh.
    pub other_domains: Vec<String>,
    /// The password of every account in the rig's domains.
    pub password: String,
}

static RIG: OnceLock<Rig> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Rig {
    /// The rig of this test run. Panics with instructions if there is none.
    pub fn get() -> &'static Rig {
        RIG.get_or_init(|| {
            let dir = std::env::var_os("CONCLAVE_RIG_DIR").unwrap_or_else(|| {
                panic!(
                    "CONCLAVE_RIG_DIR is not set: these tests need the mail rig. Run them \
                     through scripts/test.sh, or start one by hand with \
                     `tests/rig/start.sh DIR` (as root) and `export CONCLAVE_RIG_DIR=DIR`"
                )
            });
            Rig::load(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// Reads `DIR/rig.env` as written by `tests/rig/start.sh`.
    pub fn load(dir: &Path) -> Result<Rig, String> {
        let file = dir.join("rig.env");
        let text = std::fs::read_to_string(&file).map_err(|e| {
            format!(
                "cannot read {} ({e}): is the mail rig running? Start it with `tests/rig/start.sh {}`",
                file.display(),
                dir.display()
            )
        })?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches(|c| c == '"' || c == '\'')))
            .collect();
        let get = |k: &str| -> Result<String, String> {
            vars.get(k)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("{} lacks {k}", file.display()))
        };
        let port = |k: &str| -> Result<u16, String> {
            get(k)?
                .parse()
                .map_err(|e| format!("{} has a bad {k}: {e}", file.display()))
        };
        Ok(Rig {
            dir: get("RIG_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| dir.to_path_buf()),
            host: get("RIG_HOST")?,
            host_nomove: get("RIG_HOST_NOMOVE")?,
            host_nouidplus: get("RIG_HOST_NOUIDPLUS")?,
            host_nopipelining: get("RIG_HOST_NOPIPELINING")?,
            imap_port: port("RIG_IMAP_PORT")?,
            imaps_port: port("RIG_IMAPS_PORT")?,
            submission_port: port("RIG_SUBMISSION_PORT")?,
            smtps_port: port("RIG_SMTPS_PORT")?,
            smtp_plain_port: port("RIG_SMTP_PLAIN_PORT")?,
            gmail_port: port("RIG_GMAIL_PORT")?,
            mx_port: port("RIG_MX_PORT")?,
            ca_path: get("RIG_CA")?.into(),
            other_ca_path: get("RIG_OTHER_CA")?.into(),
            domain: get("RIG_DOMAIN")?,
            other_domains: vars
                .get("RIG_OTHER_DOMAINS")
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            password: get("RIG_PASSWORD")?,
        })
    }

    /// `local@conclave.test`.
    pub fn addr(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// A fresh local part, never returned twice in this run, even across test
    /// processes: `prefix-<pid>-<n>`.
    pub fn unique_local(&self, prefix: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{n}", std::process::id())
    }

    /// A fresh full address `prefix-<pid>-<n>@conclave.test`: a mailbox of
    /// its own that no other test touches, which exists and logs in with the
    /// rig password.
    pub fn unique(&self, prefix: &str) -> String {
        self.addr(&self.unique_local(prefix))
    }

    /// Every domain the rig serves: `domain` first, then `other_domains`.
    pub fn domains(&self) -> Vec<&str> {
        std::iter::once(self.domain.as_str())
            .chain(self.other_domains.iter().map(String::as_str))
            .collect()
    }

    /// Like [`Rig::unique`], at `domain`, which must be one the rig serves
    /// (see [`Rig::domains`]): `prefix-<pid>-<n>@riseup.test`. Panics with
    /// instructions for any other domain.
    pub fn unique_at(&self, prefix: &str, domain: &str) -> String {
        let served = self.domains();
        if !served.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            panic!(
                "the rig in {} serves {served:?}, not {domain}: a rig started by an older \
                 tests/rig/start.sh has no other domains (restart it), and \
                 RIG_OTHER_DOMAINS chooses them",
                self.dir.display()
            );
        }
        format!(
            "{}@{}",
            self.unique_local(prefix),
            domain.to_ascii_lowercase()
        )
    }

    /// Sends raw message bytes through submission (STARTTLS, trusting the
    /// rig CA), authenticated as `login_user` with the rig password. The rig
    /// accepts only `envelope_from` and a header From that are the login
    /// (letter case aside); `None` (`MAIL FROM:<>`) is refused: bounces and
    /// forgeries go through [`Rig::deliver`]. Panics if the server does not
    /// accept the message.
    pub fn submit(
        &self,
        login_user: &str,
        envelope_from: Option<&str>,
        rcpts: &[&str],
        raw: &[u8],
    ) {
        if let Err(e) = self.try_submit(login_user, &self.password, envelope_from, rcpts, raw) {
            panic!("submitting as {login_user} to {rcpts:?} failed: {e:?}");
        }
    }

    /// Like [`Rig::submit`], with any password, returning the server's answer.
    pub fn try_submit(
        &self,
        login_user: &str,
        password: &str,
        envelope_from: Option<&str>,
        rcpts: &[&str],
        raw: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        let smtp = self.smtp_on(self.submission_port, Some((login_user, password)));
        send(&smtp, envelope_from, rcpts, raw)
    }

    /// Like [`Rig::try_submit`] with the rig password, through the Gmail-like
    /// port: a header From other than the login is rewritten to it (the
    /// display name kept) rather than refused.
    pub fn try_submit_gmail(
        &self,
        login_user: &str,
        envelope_from: Option<&str>,
        rcpts: &[&str],
        raw: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        let smtp = self.smtp_on(self.gmail_port, Some((login_user, &self.password)));
        send(&smtp, envelope_from, rcpts, raw)
    }

    /// Brings `raw` in from "another server" through the MX port: no login,
    /// any envelope sender (`None` is `MAIL FROM:<>`, a bounce) and any
    /// header From, recipients in the rig's domains only. For bounces, forgeries
    /// and mail from people at other providers. Panics if it is refused.
    pub fn deliver(&self, envelope_from: Option<&str>, rcpts: &[&str], raw: &[u8]) {
        if let Err(e) = send(&self.smtp_on(self.mx_port, None), envelope_from, rcpts, raw) {
            panic!(
                "delivering from {envelope_from:?} to {rcpts:?} through the MX port failed: {e:?}"
            );
        }
    }

    /// A blocking SMTP client for the submission port (STARTTLS required,
    /// rig CA trusted), logging in as `login_user` with `password`.
    pub fn smtp(&self, login_user: &str, password: &str) -> SmtpTransport {
        self.smtp_on(self.submission_port, Some((login_user, password)))
    }

    /// An SMTP client for `port`: with a login, STARTTLS (rig CA trusted)
    /// and AUTH; without, plain SMTP as between servers (the MX port).
    fn smtp_on(&self, port: u16, login: Option<(&str, &str)>) -> SmtpTransport {
        let builder = SmtpTransport::builder_dangerous(self.host.clone())
            .port(port)
            .timeout(Some(Duration::from_secs(30)));
        let Some((user, password)) = login else {
            return builder.build();
        };
        let pem = std::fs::read(&self.ca_path)
            .unwrap_or_else(|e| panic!("{}: {e}", self.ca_path.display()));
        let tls = TlsParameters::builder(self.host.clone())
            .add_root_certificate(Certificate::from_pem(&pem).expect("the rig CA is PEM"))
            .build()
            .expect("TLS parameters");
        builder
            .tls(Tls::Required(tls))
            .credentials(Credentials::new(user.to_string(), password.to_string()))
            .build()
    }

    /// The Maildir folder of `folder` ("INBOX", "Conclave/Processed", …) in
    /// the mailbox of `user_addr` (it may not exist yet), at any of the
    /// rig's domains: `$RIG_DIR/mail/<domain>/<local>/<folder>`.
    pub fn maildir(&self, user_addr: &str, folder: &str) -> PathBuf {
        let addr = user_addr.to_lowercase();
        let (local, domain) = addr
            .rsplit_once('@')
            .unwrap_or_else(|| panic!("{user_addr} is not an address"));
        let folder = if folder.eq_ignore_ascii_case("INBOX") {
            "INBOX"
        } else {
            folder
        };
        let mut p = self.dir.join("mail").join(domain).join(local);
        for part in folder.split('/') {
            p.push(part);
        }
        p
    }

    /// The messages now in `folder` of `user_addr`, read from disk (new/ and
    /// cur/), oldest delivery first. Empty if the folder does not exist.
    pub fn messages(&self, user_addr: &str, folder: &str) -> Vec<Vec<u8>> {
        let dir = self.maildir(user_addr, folder);
        let mut files: Vec<((u64, u64, String), PathBuf)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                files.push((delivery_key(&name), e.path()));
            }
        }
        files.sort();
        // A file can move from new/ to cur/ while we read: skip what vanished.
        files
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(p).ok())
            .collect()
    }

    /// Polls until `folder` of `user_addr` holds at least `count` messages
    /// and returns them; panics with what is there after `timeout`. Use
    /// generous timeouts: this is a wait, not a timing assertion.
    pub fn wait_for(
        &self,
        user_addr: &str,
        folder: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Vec<u8>> {
        let start = Instant::now();
        loop {
            let got = self.messages(user_addr, folder);
            if got.len() >= count {
                return got;
            }
            if start.elapsed() >= timeout {
                let shown: Vec<String> = got.iter().map(|m| summary(m)).collect();
                panic!(
                    "waited {timeout:?} for {count} message(s) in {folder} of {user_addr} ({}), found {}: {shown:#?}\n\
                     (mail log: {})",
                    self.maildir(user_addr, folder).display(),
                    got.len(),
                    self.dir.join("postfix/maillog").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Puts `raw` straight into `folder` of `user_addr` as a new message,
    /// bypassing SMTP (as a broken client or a restore could). Creates the
    /// folder if needed, owned like the rest of the mailbox.
    pub fn drop_into(&self, user_addr: &str, folder: &str, raw: &[u8]) {
        let dir = self.maildir(user_addr, folder);
        let mail_root = self.dir.join("mail");
        let owner = std::fs::metadata(&mail_root)
            .unwrap_or_else(|e| panic!("{}: {e}", mail_root.display()));
        use std::os::unix::fs::MetadataExt;
        let (uid, gid) = (owner.uid(), owner.gid());
        // Create each missing level ourselves, so each gets Dovecot's owner.
        let mut missing = Vec::new();
        let mut p = dir.as_path();
        while !p.exists() {
            missing.push(p.to_path_buf());
            p = p.parent().expect("inside the rig");
        }
        let mut to_make: Vec<PathBuf> = missing.into_iter().rev().collect();
        for sub in ["tmp", "new", "cur"] {
            if !dir.join(sub).exists() {
                to_make.push(dir.join(sub));
            }
        }
        for d in to_make {
            std::fs::create_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
            let _ = std::os::unix::fs::chown(&d, Some(uid), Some(gid));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}.M{}P{}Q{n}.rig-drop,S={}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            raw.len()
        );
        let tmp = dir.join("tmp").join(&name);
        let mut f =
            std::fs::File::create(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        f.write_all(raw).unwrap();
        drop(f);
        let _ = std::os::unix::fs::chown(&tmp, Some(uid), Some(gid));
        std::fs::rename(&tmp, dir.join("new").join(&name)).unwrap();
    }
}

/// Sends `raw` with this envelope; `None` is the null sender `MAIL FROM:<>`.
fn send(
    smtp: &SmtpTransport,
    envelope_from: Option<&str>,
    rcpts: &[&str],
    raw: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let from = envelope_from.map(|a| {
        a.parse::<Address>()
            .unwrap_or_else(|e| panic!("bad sender {a}: {e}"))
    });
    let to = rcpts
        .iter()
        .map(|a| {
            a.parse::<Address>()
                .unwrap_or_else(|e| panic!("bad recipient {a}: {e}"))
        })
        .collect();
    let envelope = Envelope::new(from, to).expect("an envelope needs at least one recipient");
    // lettre ends the data with CRLF "." CRLF itself: a message's own
    // final CRLF would otherwise arrive as an extra empty line.
    let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    smtp.send_raw(&envelope, raw).map(|_| ())
}

/// Orders Maildir file names by delivery time: `<secs>.M<usecs>P<pid>…`.
fn delivery_key(name: &str) -> (u64, u64, String) {
    let (secs, rest) = name.split_once('.').unwrap_or((name, ""));
    let usecs = rest
        .strip_prefix('M')
        .map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    (secs.parse().unwrap_or(0), usecs, name.to_string())
}

/// A short description of a message for failure output.
fn summary(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let pick = |h: &str| {
        text.lines()
            .take_while(|l| !l.trim().is_empty())
            .find(|l| l.len() > h.len() && l[..h.len()].eq_ignore_ascii_case(h))
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{} | {} | {} | {} bytes",
        pick("From:"),
        pick("To:"),
        pick("Subject:"),
        raw.len()
    )
}

/// A simple RFC 5322 message with Date and a unique Message-ID, CRLF line
/// endings. `body` may use LF or CRLF line endings.
pub fn post(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("conclave.test");
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{}.{}.{n}.rig@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        rfc5322_date(now.as_secs()),
        now.as_secs(),
        std::process::id(),
    )
    .into_bytes()
}

/// `Thu, 28 Nov 2024 09:05:03 +0000` for seconds since the epoch (UTC).
pub fn rfc5322_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WD[days.rem_euclid(7) as usize],
        day,
        MON[(month - 1) as usize],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_732_784_703),
            "Thu, 28 Nov 2024 09:05:03 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn maildir_names_sort_by_delivery() {
        let mut v = [
            delivery_key("1700000001.M5P1.h,S=1:2,S"),
            delivery_key("1700000000.M999999P1.h"),
            delivery_key("1700000001.M40P1.h"),
        ];
        v.sort();
        assert_eq!(v[0].0, 1_700_000_000);
        assert_eq!((v[1].1, v[2].1), (5, 40));
    }

    #[test]
    fn posts_use_crlf_and_unique_ids() {
        let a = String::from_utf8(post("a@x.test", "b@x.test", "hi", "one\ntwo\n")).unwrap();
        let b = String::from_utf8(post("a@x.test", "b@x.test", "hi", "one\r\n")).unwrap();
        assert!(a.ends_with("one\r\ntwo\r\n") && !a.replace("\r\n", "").contains('\n'));
        let id = |s: &str| {
            s.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .unwrap()
                .to_string()
        };
        assert_ne!(id(&a), id(&b));
    }
}
