//! A message from the list's mailbox, read into what policy needs to know.

use mail_parser::{Address, MessageParser, MimeHeaders};

/// One address of a header, display name apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

/// What policy needs to know of a message. The raw bytes stay with the
/// caller; this is a reading of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Every mailbox of every From header.
    pub from: Vec<Mailbox>,
    /// How many From header fields there are (RFC 5322 allows one).
    pub from_fields: usize,
    /// The Sender address, if any.
    pub sender: Option<String>,
    pub message_id: String,
    pub subject: String,
    /// Raw values of List-Id fields (this list's mark if it came back).
    pub list_ids: Vec<String>,
    /// Raw values of X-Loop fields.
    pub x_loops: Vec<String>,
    /// The Auto-Submitted value, if any (RFC 3834).
    pub auto_submitted: Option<String>,
    /// Whether the envelope sender was empty (`Return-Path: <>`): a bounce.
    pub null_return_path: bool,
    /// "type/subtype" of the top part, lower case.
    pub content_type: String,
    /// Size in bytes, as received.
    pub size: u64,
}

/// More MIME parts than any real post has: a message built to exhaust the
/// reader is refused rather than walked.
pub const MAX_PARTS: usize = 1000;

/// Why a message could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message cannot be read as e-mail: {0}")]
pub struct Unreadable(pub String);

impl Post {
    /// The poster, when a signature may be tied to them: exactly one From
    /// mailbox, and no Sender naming someone else.
    pub fn signing_poster(&self) -> Option<&str> {
        let poster = self.poster()?;
        match &self.sender {
            Some(s) if !s.eq_ignore_ascii_case(poster) => None,
            _ => Some(poster),
        }
    }

    /// The poster's address, when there is exactly one From mailbox.
    pub fn poster(&self) -> Option<&str> {
        match (self.from_fields, self.from.as_slice()) {
            (1, [one]) if !one.address.is_empty() => Some(&one.address),
            _ => None,
        }
    }

    /// Who From names, as the ledger and the activity log keep it: the
    /// poster, or every From address.
    pub fn sender_text(&self) -> String {
        match self.poster() {
            Some(p) => p.to_string(),
            None => self
                .from
                .iter()
                .map(|m| m.address.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    pub fn read(raw: &[u8]) -> Result<Post, Unreadable> {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Unreadable("it is empty".into()));
        }
        let msg = MessageParser::default()
            .parse(raw)
            .ok_or_else(|| Unreadable("no header could be parsed".into()))?;
        if msg.headers().is_empty() {
            return Err(Unreadable("it has no header fields".into()));
        }
        if msg.parts.len() > MAX_PARTS {
            return Err(Unreadable(format!(
                "it has {} MIME parts, more than the {MAX_PARTS} a post may have",
                msg.parts.len()
            )));
        }
        let raw_values = |name: &str| -> Vec<String> {
            msg.headers_raw()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
                .collect()
        };
        let from_fields = raw_values("From").len();
        let from = msg
            .from()
            .map(|a: &Address<'_>| {
                a.iter()
                    .map(|m| Mailbox {
                        name: m.name().unwrap_or_default().to_string(),
                        address: m.address().unwrap_or_default().trim().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let content_type = msg
            .root_part()
            .content_type()
            .map(|ct| {
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase()
            })
            .unwrap_or_else(|| "text/plain".into());
        let sender = msg
            .sender()
            .and_then(|a| a.first())
            .and_then(|m| m.address())
            .map(|a| a.trim().to_string());
        Ok(Post {
            from,
            from_fields,
            sender,
            message_id: msg
                .message_id()
                .map(|id| format!("<{id}>"))
                .unwrap_or_default(),
            subject: msg.subject().unwrap_or_default().to_string(),
            list_ids: raw_values("List-Id"),
            x_loops: raw_values("X-Loop"),
            auto_submitted: raw_values("Auto-Submitted").into_iter().next(),
            null_return_path: raw_values("Return-Path")
                .iter()
                .any(|v| v.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>"),
            content_type,
            size: raw.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_post() {
        let raw = b"Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\nTo: list@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <1@example.org>\r\n\r\nHello\r\n";
        let p = Post::read(raw).unwrap();
        assert_eq!(p.poster(), Some("alice@example.org"));
        assert_eq!(p.subject, "Grüße");
        assert_eq!(p.message_id, "<1@example.org>");
        assert!(!p.null_return_path);
        assert_eq!(p.content_type, "text/plain");
        assert_eq!(p.size, raw.len() as u64);
    }

    #[test]
    fn several_from_mailboxes_or_fields_have_no_poster() {
        let two = b"From: a@example.org, b@example.org\r\nSubject: x\r\n\r\nbody";
        assert_eq!(Post::read(two).unwrap().poster(), None);
        let fields = b"From: a@example.org\r\nFrom: b@example.org\r\n\r\nbody";
        assert_eq!(Post::read(fields).unwrap().poster(), None);
        let none = b"Subject: no sender\r\n\r\nbody";
        assert_eq!(Post::read(none).unwrap().poster(), None);
    }

    #[test]
    fn a_differing_sender_unties_the_poster_from_signatures() {
        let p = Post::read(b"From: a@example.org\r\nSender: b@example.org\r\n\r\nbody").unwrap();
        assert_eq!(p.poster(), Some("a@example.org"));
        assert_eq!(p.signing_poster(), None);
        let same = Post::read(b"From: a@example.org\r\nSender: A@example.org\r\n\r\nbody").unwrap();
        assert_eq!(same.signing_poster(), Some("a@example.org"));
    }

    #[test]
    fn automated_marks() {
        let bounce = b"Return-Path: <>\r\nFrom: MAILER-DAEMON@example.org\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x--\r\n";
        let p = Post::read(bounce).unwrap();
        assert!(p.null_return_path);
        assert_eq!(p.content_type, "multipart/report");
        let auto = b"From: a@example.org\r\nAuto-Submitted: auto-replied\r\n\r\nbody";
        assert_eq!(
            Post::read(auto).unwrap().auto_submitted.as_deref(),
            Some("auto-replied")
        );
    }

    #[test]
    fn a_broken_nesting_of_messages_is_read_without_a_panic() {
        // Found by the post_read fuzz target: a message/rfc822 part in a
        // multipart whose boundary runs on into it made mail-parser 0.11
        // fail its debug assertion "Invalid part ID, could not find
        // multipart." (a release build recovers there).
        let raw = b"ed,\x190\r\nContent-Type:multipart/; boundary=\"a\r\n\r\n--aContent-Type: message/rfc822\r\n\nContent-Type: message/rfc822\r\n\n\r\n1-\n--a--";
        let post = Post::read(raw).unwrap();
        assert_eq!(post.content_type, "multipart/");
        assert_eq!(post.poster(), None);
    }

    #[test]
    fn a_message_of_too_many_parts_is_unreadable() {
        let mut m = String::from(
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
        );
        for _ in 0..MAX_PARTS + 5 {
            m.push_str("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        m.push_str("--b--\r\n");
        let e = Post::read(m.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("MIME parts"), "{e}");
    }

    #[test]
    fn empty_input_is_unreadable() {
        assert!(Post::read(b"").is_err());
        assert!(Post::read(b"\r\n\r\n").is_err());
    }
}
