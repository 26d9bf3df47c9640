//! What a list owner deals with: lists, their settings, members, accounts.
//! Plain data, shared by every layer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a list protects its posts. Plain lists forward as they are; the crypto
/// protocols arrive with their own issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Plain,
    Openpgp,
    Smime,
}

/// A member's part in the list. Owners and moderators receive posts too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Transport security of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        "'{other}' is not one of: {}", $ty::CHOICES.join(", ")
                    )),
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
}

impl ListSettings {
    /// Every key `list set` accepts, in the spelling of the CLI.
    pub const KEYS: &'static [&'static str] =
        &["subject-prefix", "reply-to", "non-member-posts", "max-size", "send-rate"];

    pub fn defaults_for(name: &str) -> Self {
        ListSettings {
            subject_prefix: format!("[{name}] "),
            reply_to: ReplyTo::Poster,
            non_member_posts: NonMemberPosts::Hold,
            max_size: 10 * 1024 * 1024,
            send_rate: 0,
        }
    }

    /// Changes one setting; the error says which values are allowed.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
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
            other => {
                return Err(format!(
                    "there is no list setting '{other}'; the settings are: {}",
                    Self::KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The settings as (key, value) pairs, in the CLI's spelling.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("subject-prefix", self.subject_prefix.clone()),
            ("reply-to", self.reply_to.to_string()),
            ("non-member-posts", self.non_member_posts.to_string()),
            ("max-size", self.max_size.to_string()),
            ("send-rate", self.send_rate.to_string()),
        ]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
}

/// The mail account the list lives in. Passwords are in the keychain, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub imap: Endpoint,
    pub smtp: Endpoint,
    /// An extra trusted CA (PEM) for self-hosted servers, beside the system's.
    pub ca_pem: Option<String>,
}

/// Checks an e-mail address well enough to refuse typos; it is no validator
/// of RFC 5321 in full.
pub fn check_address(addr: &str) -> Result<String, String> {
    let a = addr.trim();
    let ok = match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !a.chars().any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\"[]\\".contains(c))
                && !domain.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(a.to_string())
    } else {
        Err(format!("'{addr}' is not an e-mail address (like name@example.org)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_set() {
        let mut s = ListSettings::defaults_for("Tenants");
        assert_eq!(s.subject_prefix, "[Tenants] ");
        s.set("reply-to", "list").unwrap();
        s.set("non-member-posts", "REJECT").unwrap();
        s.set("max-size", "2M").unwrap();
        s.set("subject-prefix", "").unwrap();
        s.set("send-rate", "120").unwrap();
        assert_eq!(s.reply_to, ReplyTo::List);
        assert_eq!(s.non_member_posts, NonMemberPosts::Reject);
        assert_eq!(s.max_size, 2 * 1024 * 1024);
        assert_eq!(s.subject_prefix, "");
        let mut t = ListSettings::defaults_for("x");
        for (k, v) in s.pairs() {
            t.set(k, &v).unwrap();
        }
        assert_eq!(s, t);
    }

    #[test]
    fn bad_settings_say_what_is_allowed() {
        let mut s = ListSettings::defaults_for("x");
        let e = s.set("non-member-posts", "maybe").unwrap_err();
        assert!(e.contains("hold, reject"), "{e}");
        let e = s.set("colour", "red").unwrap_err();
        assert!(e.contains("subject-prefix"), "{e}");
        assert!(s.set("max-size", "0").is_err());
        assert!(s.set("max-size", "lots").is_err());
        assert!(s.set("send-rate", "-1").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(check_address(" a@b.org ").unwrap(), "a@b.org");
        for bad in ["", "a", "a@b", "@b.org", "a b@c.org", "a@b.org>", "a@@b.org"] {
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
            settings: ListSettings::defaults_for("T"),
        };
        assert_eq!(l.list_id(), "tenants.example.org");
    }
}
