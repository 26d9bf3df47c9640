//! What a list owner deals with: lists, their settings, members, accounts.
//! Plain data, shared by every layer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value an owner typed that Conclave does not take (a setting, a role,
/// an address, a name); the message says what it takes instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(pub String);

/// Reads as its message, as the owner will.
impl std::ops::Deref for BadValue {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<BadValue> for String {
    fn from(e: BadValue) -> String {
        e.0
    }
}

/// How a list protects its posts. Plain lists forward as they are; the crypto
/// protocols arrive with their own issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Plain,
    Openpgp,
    Smime,
}

/// A member's part in the list. Owners and moderators receive posts too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Moderator,
    Owner,
}

/// What happens to a post from an address that is not a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NonMemberPosts {
    /// Kept for an owner to approve, reject or discard.
    Hold,
    /// Refused, with the reason in the activity log.
    Reject,
}

/// Where replies to a post go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyTo {
    /// The poster's own Reply-To (or From) is left as it is.
    Poster,
    /// Replies go to the whole list.
    List,
}

/// How strictly a list asks for one protection (encryption or signature).
/// What each level means is in `policy::crypto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// Not asked for.
    No,
    /// Asked for; what lacks it is held or goes out without it.
    Yes,
    /// Required; what lacks it does not pass.
    Force,
}

/// Transport security of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain first, then upgraded with STARTTLS (IMAP 143, SMTP 587).
    Starttls,
    /// No encryption at all: only allowed to a loopback host.
    None,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const CHOICES: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = BadValue;
            fn from_str(s: &str) -> Result<Self, BadValue> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)+
                    other => Err(BadValue(format!(
                        "'{other}' is not one of: {}", $ty::CHOICES.join(", ")
                    ))),
                }
            }
        }
    };
}

text_enum!(Protocol { Plain => "plain", Openpgp => "openpgp", Smime => "smime" });
text_enum!(Role { Member => "member", Moderator => "moderator", Owner => "owner" });
text_enum!(NonMemberPosts { Hold => "hold", Reject => "reject" });
text_enum!(ReplyTo { Poster => "poster", List => "list" });
text_enum!(TlsMode { Implicit => "implicit", Starttls => "starttls", None => "none" });
text_enum!(Requirement { No => "no", Yes => "yes", Force => "force" });

/// The settings an owner changes with `list set ADDR KEY VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSettings {
    /// Put in front of every subject, e.g. "[Tenants] ". Empty for none.
    pub subject_prefix: String,
    pub reply_to: ReplyTo,
    pub non_member_posts: NonMemberPosts,
    /// Posts larger than this (bytes, as received) are held.
    pub max_size: u64,
    /// At most this many messages a minute through the account's SMTP, so
    /// the provider does not block it; 0 for no limit.
    pub send_rate: u32,
    /// Posts encrypted to the list key: decrypted, taken or required.
    pub post_encrypt: Requirement,
    /// Posts signed by a member's key: not needed, else held, else discarded.
    pub post_sign: Requirement,
    /// Copies to members encrypted to their keys: never, when they have one,
    /// or only to members who have one.
    pub distrib_encrypt: Requirement,
    /// Whether the list signs the copies it sends.
    pub distrib_sign: bool,
    /// A post signed longer ago than this is taken for an old post sent
    /// again (a replay); 0 accepts signatures of any age.
    pub signature_max_age_days: u32,
    /// Whether the list's owners get a mail for every post held, rejected
    /// or discarded (headers and reason only, never the content).
    pub owner_notices: bool,
    /// Text added to every copy as a part of its own after the post (inside
    /// the list's signature and encryption); empty for none.
    #[serde(default)]
    pub footer: String,
    /// Whether an encrypted copy's clear Subject is the placeholder `[...]`
    /// (the real one travels inside the encryption, RFC 9788). Clients of
    /// OpenPGP lists show the inner subject; Outlook and Apple Mail show
    /// only the outer one, so S/MIME and mixed lists leave it off.
    #[serde(default)]
    pub protect_subject: bool,
    /// How many days an invitation is good for when the owner does not
    /// say otherwise.
    #[serde(default = "default_invite_days")]
    pub invite_days: u32,
    /// How many answers to mail commands (help, key, join, subscribe,
    /// unsubscribe) one address gets from the list in 24 hours: few, so a
    /// forged sender cannot turn the list into a source of mail to others.
    #[serde(default = "default_answers_a_day")]
    pub answers_a_day: u32,
    /// Whether a member's renewed S/MIME certificate replaces the old one
    /// by itself when a post of theirs is signed with it and it comes from
    /// an authority the list trusts; otherwise it waits in the key inbox.
    #[serde(default = "default_yes")]
    pub cert_auto_update: bool,
    /// How long, in seconds, a post another laptop took from the mailbox
    /// may go without a sign of life from it before this laptop takes the
    /// post over: long enough that a slow fan-out is not taken twice.
    #[serde(default = "default_claim_lease")]
    pub claim_lease: u32,
}

fn default_claim_lease() -> u32 {
    DEFAULT_CLAIM_LEASE
}

fn default_invite_days() -> u32 {
    DEFAULT_INVITE_DAYS
}

fn default_answers_a_day() -> u32 {
    DEFAULT_ANSWERS_A_DAY
}

fn default_yes() -> bool {
    true
}

/// How long an invitation is good for on a new list.
pub const DEFAULT_INVITE_DAYS: u32 = 7;
/// The longest an invitation may be good for.
pub const MAX_INVITE_DAYS: u32 = 90;
/// Answers to mail commands one address gets in 24 hours, on a new list.
pub const DEFAULT_ANSWERS_A_DAY: u32 = 3;
/// The most answers a day a list may be set to give one address.
pub const MAX_ANSWERS_A_DAY: u32 = 50;

/// How long another laptop's claim on a post lasts without a sign of life
/// (10 minutes), on a new list.
pub const DEFAULT_CLAIM_LEASE: u32 = 600;
/// The shortest and longest claim a list may be set to: less than 20 s
/// would take over a laptop that is merely between two renewals.
pub const CLAIM_LEASE_RANGE: std::ops::RangeInclusive<u32> = 20..=86_400;

/// The longest footer a list takes: a few lines, not a document.
pub const MAX_FOOTER_CHARS: usize = 2000;

impl ListSettings {
    /// Every key `list set` accepts, in the spelling of the CLI.
    pub const KEYS: &'static [&'static str] = &[
        "subject-prefix",
        "reply-to",
        "non-member-posts",
        "max-size",
        "send-rate",
        "post-encrypt",
        "post-sign",
        "distrib-encrypt",
        "distrib-sign",
        "signature-max-age-days",
        "owner-notices",
        "footer",
        "protect-subject",
        "invite-days",
        "answers-a-day",
        "cert-auto-update",
        "claim-lease",
    ];

    /// A new list's settings. On a list with a key, replies go to the list:
    /// a member answering the poster alone has no key for them, and the
    /// easy way out would be an unencrypted reply off the list.
    pub fn defaults_for(name: &str, protocol: Protocol) -> Self {
        ListSettings {
            subject_prefix: format!("[{name}] "),
            reply_to: if protocol == Protocol::Plain {
                ReplyTo::Poster
            } else {
                ReplyTo::List
            },
            non_member_posts: NonMemberPosts::Hold,
            max_size: 10 * 1024 * 1024,
            send_rate: 0,
            post_encrypt: Requirement::Yes,
            post_sign: Requirement::Yes,
            distrib_encrypt: Requirement::Yes,
            distrib_sign: true,
            owner_notices: true,
            signature_max_age_days: 7,
            footer: String::new(),
            protect_subject: protocol == Protocol::Openpgp,
            invite_days: DEFAULT_INVITE_DAYS,
            answers_a_day: DEFAULT_ANSWERS_A_DAY,
            cert_auto_update: true,
            claim_lease: DEFAULT_CLAIM_LEASE,
        }
    }

    /// Changes one setting; the error says which values are allowed.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), BadValue> {
        self.set_checked(key, value).map_err(BadValue)
    }

    fn set_checked(&mut self, key: &str, value: &str) -> Result<(), String> {
        // Values end up in headers (the subject prefix) and in the settings
        // the CLI prints; a line break would let a value add header fields,
        // and other control characters garble what the owner reads. A
        // footer is body text and may take several lines.
        if key != "footer" {
            if value.contains(['\r', '\n']) {
                return Err(format!(
                    "the value of {key} must be on one line (no line breaks)"
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(format!(
                    "the value of {key} must be plain text (no control characters)"
                ));
            }
        }
        match key {
            "subject-prefix" => self.subject_prefix = value.to_string(),
            "reply-to" => self.reply_to = value.parse()?,
            "non-member-posts" => self.non_member_posts = value.parse()?,
            "max-size" => self.max_size = parse_size(value)?,
            "send-rate" => {
                self.send_rate = value.trim().parse().map_err(|_| {
                    format!("'{value}' is not a number of messages a minute (0 for no limit)")
                })?
            }
            "post-encrypt" => self.post_encrypt = value.parse()?,
            "post-sign" => self.post_sign = value.parse()?,
            "distrib-encrypt" => self.distrib_encrypt = value.parse()?,
            "distrib-sign" => self.distrib_sign = parse_yes_no(value)?,
            "owner-notices" => self.owner_notices = parse_yes_no(value)?,
            "protect-subject" => self.protect_subject = parse_yes_no(value)?,
            "cert-auto-update" => self.cert_auto_update = parse_yes_no(value)?,
            "invite-days" => {
                self.invite_days = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|d| (1..=MAX_INVITE_DAYS).contains(d))
                    .ok_or_else(|| {
                        format!("'{value}' is not a number of days from 1 to {MAX_INVITE_DAYS}")
                    })?
            }
            "answers-a-day" => {
                self.answers_a_day = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ANSWERS_A_DAY).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "'{value}' is not a number of answers from 1 to {MAX_ANSWERS_A_DAY} (members need at least one, to leave the list by mail)"
                        )
                    })?
            }
            "claim-lease" => self.claim_lease = parse_lease(value)?,
            "footer" => {
                let text = value.replace("\r\n", "\n").replace('\r', "\n");
                if text.chars().count() > MAX_FOOTER_CHARS {
                    return Err(format!(
                        "a footer takes at most {MAX_FOOTER_CHARS} characters"
                    ));
                }
                if text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
                {
                    return Err("a footer is plain text: no control characters".into());
                }
                self.footer = text.trim_end().to_string();
            }
            "signature-max-age-days" => {
                self.signature_max_age_days = value.trim().parse().map_err(|_| {
                    format!("'{value}' is not a number of days (0 to accept signatures of any age)")
                })?
            }
            other => {
                return Err(format!(
                    "there is no list setting '{other}'; the settings are: {}",
                    Self::KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// These settings with every change applied, or every change that
    /// cannot be made, each with its reason. All or nothing: one bad value
    /// leaves the others unapplied too.
    pub fn with_changes(
        &self,
        changes: &[(String, String)],
    ) -> Result<ListSettings, Vec<SettingProblem>> {
        let mut next = self.clone();
        let problems: Vec<SettingProblem> = changes
            .iter()
            .filter_map(|(key, value)| {
                next.set(key, value).err().map(|message| SettingProblem {
                    key: key.clone(),
                    message: message.0,
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(next)
        } else {
            Err(problems)
        }
    }

    /// The settings as (key, value) pairs, in the CLI's spelling.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("subject-prefix", self.subject_prefix.clone()),
            ("reply-to", self.reply_to.to_string()),
            ("non-member-posts", self.non_member_posts.to_string()),
            ("max-size", self.max_size.to_string()),
            ("send-rate", self.send_rate.to_string()),
            ("post-encrypt", self.post_encrypt.to_string()),
            ("post-sign", self.post_sign.to_string()),
            ("distrib-encrypt", self.distrib_encrypt.to_string()),
            (
                "distrib-sign",
                if self.distrib_sign { "yes" } else { "no" }.to_string(),
            ),
            (
                "signature-max-age-days",
                self.signature_max_age_days.to_string(),
            ),
            (
                "owner-notices",
                if self.owner_notices { "yes" } else { "no" }.to_string(),
            ),
            ("footer", self.footer.clone()),
            (
                "protect-subject",
                if self.protect_subject { "yes" } else { "no" }.to_string(),
            ),
            ("invite-days", self.invite_days.to_string()),
            ("answers-a-day", self.answers_a_day.to_string()),
            (
                "cert-auto-update",
                if self.cert_auto_update { "yes" } else { "no" }.to_string(),
            ),
            ("claim-lease", show_lease(self.claim_lease)),
        ]
    }
}

/// "10m", "90s", "2h", or a bare number of minutes.
fn parse_lease(value: &str) -> Result<u32, String> {
    let v = value.trim().to_ascii_lowercase();
    let (number, unit) = match v.strip_suffix('s') {
        Some(n) => (n, 1),
        None => match v.strip_suffix('h') {
            Some(n) => (n, 3600),
            None => (v.strip_suffix('m').unwrap_or(&v), 60),
        },
    };
    number
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|s| CLAIM_LEASE_RANGE.contains(s))
        .ok_or_else(|| {
            format!(
                "'{value}' is not a time from 20s to 24h (write it as 90s, 10m or 2h; a bare number is minutes)"
            )
        })
}

fn show_lease(seconds: u32) -> String {
    if seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// A value a setting does not take, and why, in the owner's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SettingProblem {
    /// The setting, in the CLI's spelling.
    pub key: String,
    pub message: String,
}

fn parse_yes_no(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("'{value}' is not one of: yes, no")),
    }
}

/// "2000000", "500K", "10M" → bytes.
fn parse_size(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let (digits, factor) = match v.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&v[..v.len() - 1], 1024),
        Some('M') => (&v[..v.len() - 1], 1024 * 1024),
        _ => (v, 1),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| n * factor)
        .ok_or_else(|| format!("'{value}' is not a size: write bytes, or a number with K or M"))
}

/// A list as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct List {
    pub id: i64,
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    pub paused: bool,
    pub settings: ListSettings,
}

impl List {
    /// A plain list `list@example.org` called `name`, with its defaults,
    /// for tests of the rules that take a list.
    #[cfg(test)]
    pub(crate) fn example(name: &str) -> List {
        List {
            id: 1,
            address: "list@example.org".into(),
            name: name.into(),
            protocol: Protocol::Plain,
            paused: false,
            settings: ListSettings::defaults_for(name, Protocol::Plain),
        }
    }

    /// The RFC 2919 list identifier: "tenants.example.org" for
    /// tenants@example.org.
    pub fn list_id(&self) -> String {
        self.address.replacen('@', ".", 1).to_ascii_lowercase()
    }
}

/// Someone who receives the list's posts and may post to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Whether the member receives a copy of their own posts.
    pub own_posts: bool,
}

/// One server of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
}

/// The mail account the list lives in. Passwords are in the keychain, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Account {
    pub imap: Endpoint,
    pub smtp: Endpoint,
    /// An extra trusted CA (PEM) for self-hosted servers, beside the system's.
    pub ca_pem: Option<String>,
    /// How many copies the provider lets the account send in 24 hours
    /// (Gmail: 500), if the owner knows: the outbox keeps to it, spreading
    /// a large fan-out over the days, instead of running into refusals.
    #[serde(default)]
    pub daily_limit: Option<u32>,
}

/// A member's name as the owner typed it, trimmed. It becomes the display
/// name of every copy the member posts ("Alice via Tenants"), so it must be
/// one line of plain text: a line break would let it add header fields.
pub fn check_member_name(name: &str) -> Result<String, BadValue> {
    member_name(name).map_err(BadValue)
}

fn member_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(
            "a member's name must be one line of plain text (no line breaks or control characters)"
                .into(),
        );
    }
    if name.chars().count() > 200 {
        return Err("a member's name takes at most 200 characters".into());
    }
    Ok(name.to_string())
}

/// Checks an e-mail address well enough to refuse typos; it is no validator
/// of RFC 5321 in full.
pub fn check_address(addr: &str) -> Result<String, BadValue> {
    address(addr).map_err(BadValue)
}

fn address(addr: &str) -> Result<String, String> {
    let a = addr.trim();
    let ok = match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\"[]\\".contains(c))
                && !domain.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(a.to_string())
    } else {
        Err(format!(
            "'{addr}' is not an e-mail address (like name@example.org)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_footer_takes_lines_but_no_control_characters() {
        let mut s = ListSettings::defaults_for("T", Protocol::Plain);
        assert_eq!(s.footer, "");
        s.set("footer", "Tenants' union\r\nMeetings on Tuesdays\n\n")
            .unwrap();
        assert_eq!(s.footer, "Tenants' union\nMeetings on Tuesdays");
        assert!(
            s.set("footer", "bell\u{7}")
                .unwrap_err()
                .contains("plain text")
        );
        assert!(
            s.set("footer", &"x".repeat(MAX_FOOTER_CHARS + 1))
                .unwrap_err()
                .contains("at most")
        );
        // Other values stay on one line.
        assert!(s.set("subject-prefix", "[T]\n").is_err());
        s.set("footer", "").unwrap();
        assert_eq!(s.footer, "");
    }

    #[test]
    fn settings_round_trip_through_set() {
        let mut s = ListSettings::defaults_for("Tenants", Protocol::Plain);
        assert_eq!(s.subject_prefix, "[Tenants] ");
        s.set("reply-to", "list").unwrap();
        s.set("non-member-posts", "REJECT").unwrap();
        s.set("max-size", "2M").unwrap();
        s.set("subject-prefix", "").unwrap();
        s.set("send-rate", "120").unwrap();
        s.set("post-encrypt", "Force").unwrap();
        s.set("post-sign", "no").unwrap();
        s.set("distrib-encrypt", " force ").unwrap();
        s.set("distrib-sign", "NO").unwrap();
        s.set("signature-max-age-days", "0").unwrap();
        assert_eq!(s.reply_to, ReplyTo::List);
        assert_eq!(s.post_encrypt, Requirement::Force);
        assert_eq!(s.post_sign, Requirement::No);
        assert_eq!(s.distrib_encrypt, Requirement::Force);
        assert!(!s.distrib_sign);
        assert_eq!(s.signature_max_age_days, 0);
        assert_eq!(s.non_member_posts, NonMemberPosts::Reject);
        assert_eq!(s.max_size, 2 * 1024 * 1024);
        assert_eq!(s.subject_prefix, "");
        let mut t = ListSettings::defaults_for("x", Protocol::Plain);
        for (k, v) in s.pairs() {
            t.set(k, &v).unwrap();
        }
        assert_eq!(s, t);
        let keys: Vec<_> = s.pairs().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ListSettings::KEYS);
    }

    #[test]
    fn crypto_settings_default_to_protecting_posts() {
        let s = ListSettings::defaults_for("x", Protocol::Plain);
        assert_eq!(
            (
                s.post_encrypt,
                s.post_sign,
                s.distrib_encrypt,
                s.distrib_sign,
                s.signature_max_age_days
            ),
            (
                Requirement::Yes,
                Requirement::Yes,
                Requirement::Yes,
                true,
                7
            )
        );
    }

    #[test]
    fn no_setting_but_the_footer_takes_a_line_break() {
        let mut s = ListSettings::defaults_for("x", Protocol::Plain);
        // The footer is body text, never a header: see a_footer_takes_lines...
        for key in ListSettings::KEYS.iter().filter(|k| **k != "footer") {
            for bad in ["[x]\r\nBcc: eve@example.net", "yes\n", "\r7"] {
                let e = s.set(key, bad).unwrap_err();
                assert!(e.contains("one line"), "{key} {bad:?}: {e}");
            }
        }
        assert_eq!(s, ListSettings::defaults_for("x", Protocol::Plain));
    }

    #[test]
    fn no_setting_takes_a_control_character() {
        let mut s = ListSettings::defaults_for("x", Protocol::Plain);
        for key in ListSettings::KEYS.iter().filter(|k| **k != "footer") {
            let e = s.set(key, "[x]\u{1b}[31m").unwrap_err();
            assert!(e.contains("control characters"), "{key}: {e}");
        }
        assert_eq!(s, ListSettings::defaults_for("x", Protocol::Plain));
        s.set("subject-prefix", "[Mieter\u{fc}] ").unwrap();
        s.set("protect-subject", "yes").unwrap();
        assert!(s.protect_subject);
        assert!(ListSettings::defaults_for("x", Protocol::Openpgp).protect_subject);
        assert!(!ListSettings::defaults_for("x", Protocol::Smime).protect_subject);
    }

    #[test]
    fn member_names_are_one_line_of_text() {
        assert_eq!(
            check_member_name("  Alice Liddell ").unwrap(),
            "Alice Liddell"
        );
        for bad in [
            "Alice\r\nBcc: eve@example.net",
            "Ali\nce",
            "A\u{7}lice",
            "\u{1b}[31mAlice",
        ] {
            assert!(
                check_member_name(bad).unwrap_err().contains("one line"),
                "{bad:?}"
            );
        }
        assert!(check_member_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn invitation_days_answers_and_certificate_updates_are_settings() {
        let mut s = ListSettings::defaults_for("x", Protocol::Smime);
        assert_eq!(
            (s.invite_days, s.answers_a_day, s.cert_auto_update),
            (7, 3, true)
        );
        s.set("invite-days", "14").unwrap();
        s.set("answers-a-day", "5").unwrap();
        s.set("cert-auto-update", "no").unwrap();
        assert_eq!(
            (s.invite_days, s.answers_a_day, s.cert_auto_update),
            (14, 5, false)
        );
        let pairs = s.pairs();
        for (key, value) in [
            ("invite-days", "14"),
            ("answers-a-day", "5"),
            ("cert-auto-update", "no"),
        ] {
            assert!(pairs.iter().any(|(k, v)| *k == key && v == value), "{key}");
        }
        for (key, bad) in [
            ("invite-days", "0"),
            ("invite-days", "91"),
            ("answers-a-day", "0"),
            ("answers-a-day", "many"),
            ("cert-auto-update", "sometimes"),
        ] {
            assert!(s.set(key, bad).is_err(), "{key} = {bad}");
        }
        // Settings saved by a Conclave before these existed read as the
        // defaults.
        let old: ListSettings = serde_json::from_value({
            let mut v =
                serde_json::to_value(ListSettings::defaults_for("x", Protocol::Plain)).unwrap();
            for k in ["invite_days", "answers_a_day", "cert_auto_update"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .unwrap();
        assert_eq!(
            (old.invite_days, old.answers_a_day, old.cert_auto_update),
            (7, 3, true)
        );
    }

    #[test]
    fn a_claim_lease_is_a_time_from_20_seconds_to_a_day() {
        let mut s = ListSettings::defaults_for("x", Protocol::Plain);
        assert_eq!(s.claim_lease, 600);
        for (given, seconds, shown) in [
            ("30s", 30, "30s"),
            ("15", 900, "15m"),
            ("15m", 900, "15m"),
            ("2h", 7200, "2h"),
            ("90S", 90, "90s"),
        ] {
            s.set("claim-lease", given).unwrap();
            assert_eq!(s.claim_lease, seconds, "{given}");
            assert!(s.pairs().contains(&("claim-lease", shown.to_string())));
        }
        for bad in ["10s", "25h", "soon", "", "-5m", "99999999999h"] {
            let e = s.set("claim-lease", bad).unwrap_err();
            assert!(e.0.contains("20s to 24h"), "{bad}: {e}");
        }
        let mut old =
            serde_json::to_value(ListSettings::defaults_for("x", Protocol::Plain)).unwrap();
        old.as_object_mut().unwrap().remove("claim_lease");
        let old: ListSettings = serde_json::from_value(old).unwrap();
        assert_eq!(old.claim_lease, 600);
    }

    #[test]
    fn bad_settings_say_what_is_allowed() {
        let mut s = ListSettings::defaults_for("x", Protocol::Plain);
        let e = s.set("non-member-posts", "maybe").unwrap_err();
        assert!(e.contains("hold, reject"), "{e}");
        let e = s.set("colour", "red").unwrap_err();
        assert!(e.contains("subject-prefix"), "{e}");
        assert!(s.set("max-size", "0").is_err());
        assert!(s.set("max-size", "lots").is_err());
        assert!(s.set("send-rate", "-1").is_err());
        let e = s.set("post-sign", "always").unwrap_err();
        assert!(e.contains("no, yes, force"), "{e}");
        let e = s.set("distrib-sign", "force").unwrap_err();
        assert!(e.contains("yes, no"), "{e}");
        assert!(s.set("signature-max-age-days", "a week").is_err());
        assert!(s.set("signature-max-age-days", "-1").is_err());
    }

    #[test]
    fn changes_apply_all_together_or_not_at_all() {
        let s = ListSettings::defaults_for("x", Protocol::Plain);
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let next = s
            .with_changes(&pairs(&[
                ("post-sign", "force"),
                ("max-size", "500K"),
                ("reply-to", "list"),
            ]))
            .unwrap();
        assert_eq!(next.post_sign, Requirement::Force);
        assert_eq!(next.max_size, 500 * 1024);
        assert_eq!(next.reply_to, ReplyTo::List);
        assert_eq!(s.with_changes(&[]).unwrap(), s);

        let problems = s
            .with_changes(&pairs(&[
                ("post-sign", "force"),
                ("max-size", "lots"),
                ("send-rate", "fast"),
                ("colour", "red"),
            ]))
            .unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["max-size", "send-rate", "colour"]);
        assert!(problems[0].message.contains("not a size"), "{problems:?}");
        assert!(
            problems[1].message.contains("messages a minute"),
            "{problems:?}"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(check_address(" a@b.org ").unwrap(), "a@b.org");
        for bad in [
            "",
            "a",
            "a@b",
            "@b.org",
            "a b@c.org",
            "a@b.org>",
            "a@@b.org",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_id_follows_rfc2919() {
        let l = List {
            id: 1,
            address: "Tenants@Example.org".into(),
            name: "T".into(),
            protocol: Protocol::Plain,
            paused: false,
            settings: ListSettings::defaults_for("T", Protocol::Plain),
        };
        assert_eq!(l.list_id(), "tenants.example.org");
    }
}
