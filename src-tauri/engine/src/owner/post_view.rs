//! What an owner is shown of a post before deciding about it: its header
//! fields, how it was protected, its text and the names of its attachments.
//! Pure: the bytes as they arrived and, for a protected list, what the
//! crypto layer found (with the clear content, decrypted in memory by the
//! caller) go in. Nothing of a post is ever rendered as HTML: an HTML part
//! becomes its text with tags, scripts and styles left out, and its source
//! is kept as text to be shown as text.

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use serde::Serialize;

use crate::policy::{Encryption, Evidence, Signature};

/// One header field, its value unfolded and decoded for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct HeaderLine {
    pub name: String,
    pub value: String,
}

/// A part of the post that is read as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TextPart {
    /// "type/subtype", lower case.
    pub media_type: String,
    /// The words: a text part as it is; an HTML part without its markup.
    pub text: String,
    /// An HTML part's source, to be shown as text, never rendered.
    pub html_source: Option<String>,
    /// The text was longer than [`MAX_TEXT`] characters and is cut there.
    pub cut: bool,
}

/// A part the post carries as a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Attachment {
    pub name: String,
    /// "type/subtype", lower case.
    pub media_type: String,
    /// Decoded size in bytes.
    pub size: u64,
}

/// How the post arrived encrypted, in short for the window's styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionKind {
    None,
    ToList,
    OtherKey,
    Broken,
}

/// Whose signature the post carries, in short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    None,
    Member,
    Invalid,
    /// Inside an encryption the list cannot open: not known.
    Unread,
}

/// What the crypto layer found, in the words of the hold reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Protection {
    pub encryption: EncryptionKind,
    pub encryption_words: String,
    pub signature: SignatureKind,
    pub signature_words: String,
}

/// A post as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PostView {
    /// From, To, Cc, Date, Subject and Message-ID, those it has, in that order.
    pub main_headers: Vec<HeaderLine>,
    /// Every header field as it arrived, in order.
    pub headers: Vec<HeaderLine>,
    /// Header fields carried inside the signed or encrypted content (a
    /// client that protects the subject puts the real one here).
    pub inner_headers: Vec<HeaderLine>,
    /// `None` on a list without keys, which does not read encryption or
    /// signatures.
    pub protection: Option<Protection>,
    /// The text and attachments shown were decrypted for this view.
    pub decrypted: bool,
    pub texts: Vec<TextPart>,
    pub attachments: Vec<Attachment>,
    /// Why the content cannot be shown, when it cannot.
    pub unreadable: Option<String>,
}

/// The most characters of one text part shown: a post is read, not
/// searched, and the window stays quick with a huge one.
pub const MAX_TEXT: usize = 100_000;

/// Parts beyond this many are not looked at (as in [`super::Post::read`]).
const MAX_PARTS: usize = crate::policy::MAX_PARTS;

const MAIN: [&str; 6] = ["From", "To", "Cc", "Date", "Subject", "Message-ID"];

impl PostView {
    /// Reads `raw` as it arrived. `evidence` is what the crypto layer found
    /// (none on a list without keys); `content` the clear MIME entity it
    /// gave back (decrypted, or the signed part), whose text is shown
    /// instead of the raw body's.
    pub fn of(raw: &[u8], evidence: Option<&Evidence>, content: Option<&[u8]>) -> PostView {
        let protection = evidence.map(protection);
        let decrypted =
            evidence.is_some_and(|e| e.encryption == Encryption::ToList) && content.is_some();
        let parser = MessageParser::default();
        let Some(msg) = parser.parse(raw).filter(|m| !m.headers().is_empty()) else {
            return PostView {
                main_headers: vec![],
                headers: vec![],
                inner_headers: vec![],
                protection,
                decrypted: false,
                texts: vec![],
                attachments: vec![],
                unreadable: Some("it cannot be read as e-mail: no header could be parsed".into()),
            };
        };
        let headers = header_lines(&msg);
        let main_headers = MAIN
            .iter()
            .filter_map(|name| headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)))
            .map(|h| HeaderLine {
                name: canonical(&h.name),
                value: h.value.clone(),
            })
            .collect();
        let mut view = PostView {
            main_headers,
            headers,
            inner_headers: vec![],
            protection,
            decrypted,
            texts: vec![],
            attachments: vec![],
            unreadable: None,
        };
        if let Some(content) = content {
            match parser.parse(content) {
                Some(inner) => {
                    view.inner_headers = header_lines(&inner)
                        .into_iter()
                        .filter(|h| !is_mime_field(&h.name))
                        .collect();
                    view.read_parts(&inner);
                }
                None => {
                    view.unreadable = Some("its decrypted content cannot be read as e-mail".into())
                }
            }
            return view;
        }
        if let Some(why) = sealed(&msg, evidence) {
            view.unreadable = Some(why);
            return view;
        }
        view.read_parts(&msg);
        view
    }

    fn read_parts(&mut self, msg: &Message<'_>) {
        if msg.parts.len() > MAX_PARTS {
            self.unreadable = Some(format!(
                "it has {} MIME parts, more than the {MAX_PARTS} a post may have",
                msg.parts.len()
            ));
            return;
        }
        // The parser picks one part of each alternative (text over HTML)
        // as the body; the others of an alternative are the same words.
        for &id in &msg.text_body {
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            match &part.body {
                PartType::Text(text) => {
                    let (text, cut) = limited(text);
                    self.texts.push(TextPart {
                        media_type: media_type(part),
                        text,
                        html_source: None,
                        cut,
                    });
                }
                PartType::Html(html) => {
                    let (text, cut) = limited(&mail_parser::decoders::html::html_to_text(html));
                    let (source, _) = limited(html);
                    self.texts.push(TextPart {
                        media_type: media_type(part),
                        text,
                        html_source: Some(source),
                        cut,
                    });
                }
                _ => {}
            }
        }
        for &id in &msg.attachments {
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            let (size, nested_subject) = match &part.body {
                PartType::Text(t) | PartType::Html(t) => (t.len(), None),
                PartType::Binary(b) | PartType::InlineBinary(b) => (b.len(), None),
                PartType::Message(m) => (m.raw_message.len(), m.subject().map(str::to_string)),
                PartType::Multipart(_) => continue,
            };
            let name = part
                .attachment_name()
                .map(str::to_string)
                .or(nested_subject.map(|s| format!("a forwarded message: {s}")))
                .unwrap_or_else(|| "(no name)".into());
            self.attachments.push(Attachment {
                name,
                media_type: media_type(part),
                size: size as u64,
            });
        }
    }
}

fn protection(e: &Evidence) -> Protection {
    let encryption = match e.encryption {
        Encryption::None => EncryptionKind::None,
        Encryption::ToList => EncryptionKind::ToList,
        Encryption::ToOtherKey => EncryptionKind::OtherKey,
        Encryption::Broken(_) => EncryptionKind::Broken,
    };
    let (signature, signature_words) = match (&e.encryption, &e.signature) {
        // What the list cannot decrypt, it cannot look into for a signature.
        (Encryption::ToOtherKey | Encryption::Broken(_), _) => (
            SignatureKind::Unread,
            "a signature inside the encryption cannot be read".to_string(),
        ),
        (_, s @ Signature::None) => (SignatureKind::None, s.describe()),
        (_, s @ Signature::ByMember { .. }) => (SignatureKind::Member, s.describe()),
        (_, s @ (Signature::Invalid(_) | Signature::NotTheSender { .. })) => {
            (SignatureKind::Invalid, s.describe())
        }
    };
    Protection {
        encryption,
        encryption_words: e.encryption.describe(),
        signature,
        signature_words,
    }
}

/// Why the body of a post without clear content is not shown, when it is
/// encrypted.
fn sealed(msg: &Message<'_>, evidence: Option<&Evidence>) -> Option<String> {
    if let Some(e) = evidence {
        return match &e.encryption {
            Encryption::None => None,
            // Decrypted but no content: nothing to show, say so.
            Encryption::ToList => {
                Some("it was encrypted to the list's key, but its content could not be read".into())
            }
            other => Some(format!("it is {}", other.describe())),
        };
    }
    let ct = msg.root_part().content_type()?;
    let media = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase();
    let smime_type = ct
        .attribute("smime-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let encrypted = crate::crypto::openpgp::looks_encrypted(msg.raw_message())
        || (matches!(
            media.as_str(),
            "application/pkcs7-mime" | "application/x-pkcs7-mime"
        ) && smime_type != "signed-data");
    encrypted.then(|| "it is encrypted, and this list has no key to decrypt it".into())
}

fn media_type(part: &mail_parser::MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => {
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase()
        }
        None => "text/plain".into(),
    }
}

fn limited(text: &str) -> (String, bool) {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => (text[..at].to_string(), true),
        None => (text.to_string(), false),
    }
}

fn is_mime_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("content-") || n == "mime-version"
}

/// "message-id" → "Message-ID" for the fields shown first.
fn canonical(name: &str) -> String {
    MAIN.iter()
        .find(|m| m.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |m| m.to_string())
}

fn header_lines(msg: &Message<'_>) -> Vec<HeaderLine> {
    let raw = msg.raw_message.as_ref();
    msg.root_part()
        .headers
        .iter()
        .map(|h| {
            let as_written = || {
                unfold(
                    raw.get(h.offset_start as usize..h.offset_end as usize)
                        .unwrap_or_default(),
                )
            };
            let value = match (&h.name, &h.value) {
                // Identifiers and dates read best as they were written.
                (
                    HeaderName::MessageId
                    | HeaderName::InReplyTo
                    | HeaderName::References
                    | HeaderName::Date,
                    _,
                ) => as_written(),
                (_, HeaderValue::Address(a)) => addresses(a),
                (_, HeaderValue::Text(t)) => t.trim().to_string(),
                (_, HeaderValue::TextList(l)) => {
                    l.iter().map(|t| t.trim()).collect::<Vec<_>>().join(", ")
                }
                _ => as_written(),
            };
            HeaderLine {
                name: h.name.as_str().to_string(),
                value,
            }
        })
        .collect()
}

fn addresses(a: &Address<'_>) -> String {
    a.iter()
        .map(|m| match (m.name(), m.address()) {
            (Some(name), Some(addr)) if !name.trim().is_empty() => {
                format!("{} <{addr}>", name.trim())
            }
            (_, Some(addr)) => addr.to_string(),
            (Some(name), None) => name.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn unfold(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(encryption: Encryption, signature: Signature) -> Evidence {
        Evidence {
            encryption,
            signature,
        }
    }

    fn value<'a>(lines: &'a [HeaderLine], name: &str) -> Option<&'a str> {
        lines
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    const PLAIN: &[u8] = b"Received: from mx.example.net\r\n\tby mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n\
From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.net>\r\nTo: Tenants <tenants@example.org>\r\n\
Cc: bob@example.org, Carol <carol@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from\r\n the hall\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0100\r\nMessage-ID: <m1@example.net>\r\nX-Mailer: Hand\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Meeting at 7, gr=C3=BC=C3=9Fe.\r\n";

    #[test]
    fn a_plain_post_shows_its_headers_decoded_and_its_text() {
        let v = PostView::of(PLAIN, None, None);
        let names: Vec<&str> = v.main_headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, MAIN);
        assert_eq!(
            value(&v.main_headers, "From"),
            Some("Jürgen <jurgen@example.net>")
        );
        assert_eq!(
            value(&v.main_headers, "Cc"),
            Some("bob@example.org, Carol <carol@example.org>")
        );
        assert_eq!(
            value(&v.main_headers, "Subject"),
            Some("Grüße from the hall")
        );
        assert_eq!(
            value(&v.main_headers, "Message-ID"),
            Some("<m1@example.net>")
        );
        assert_eq!(
            value(&v.main_headers, "Date"),
            Some("Mon, 1 Jan 2024 10:00:00 +0100")
        );
        // The rest, unfolded, on demand.
        assert_eq!(value(&v.headers, "X-Mailer"), Some("Hand"));
        assert!(
            value(&v.headers, "Received")
                .unwrap()
                .contains("mx.example.net by mx.example.org")
        );
        assert_eq!(v.texts.len(), 1);
        assert_eq!(v.texts[0].text.trim_end(), "Meeting at 7, grüße.");
        assert_eq!(v.texts[0].media_type, "text/plain");
        assert!(
            v.attachments.is_empty()
                && v.unreadable.is_none()
                && v.protection.is_none()
                && !v.decrypted
        );
    }

    #[test]
    fn html_is_shown_as_text_and_source_never_as_markup() {
        let raw = b"From: a@example.org\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><style>p{color:red}</style></head><body><p>Hello <b>there</b></p>\
<script>alert('x')</script><img src=\"https://tracker.example/p.gif\"></body></html>\r\n";
        let v = PostView::of(raw, None, None);
        assert_eq!(v.texts.len(), 1);
        let t = &v.texts[0];
        assert_eq!(t.media_type, "text/html");
        assert!(
            t.text.contains("Hello") && t.text.contains("there"),
            "{:?}",
            t.text
        );
        assert!(
            !t.text.contains('<') && !t.text.contains("alert") && !t.text.contains("color:red"),
            "{:?}",
            t.text
        );
        assert!(
            t.html_source.as_deref().unwrap().contains("<script>"),
            "the source is there, to be shown as text"
        );
    }

    #[test]
    fn an_alternative_shows_its_text_once_and_attachments_by_name_type_and_size() {
        let raw = b"From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n\
--a\r\nContent-Type: text/plain\r\n\r\nThe minutes are attached.\r\n\
--a\r\nContent-Type: text/html\r\n\r\n<p>The minutes are attached.</p>\r\n--a--\r\n\
--m\r\nContent-Type: application/pdf; name=\"minutes.pdf\"\r\nContent-Disposition: attachment; filename=\"minutes.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7w=\r\n\
--m\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nsecret notes\r\n\
--m--\r\n";
        let v = PostView::of(raw, None, None);
        assert_eq!(v.texts.len(), 1, "{:?}", v.texts);
        assert_eq!(v.texts[0].media_type, "text/plain");
        assert!(v.texts[0].text.contains("The minutes are attached."));
        assert_eq!(v.attachments.len(), 2, "{:?}", v.attachments);
        assert_eq!(
            v.attachments[0],
            Attachment {
                name: "minutes.pdf".into(),
                media_type: "application/pdf".into(),
                size: 14
            }
        );
        assert_eq!(v.attachments[1].name, "notes.txt");
        assert_eq!(v.attachments[1].media_type, "text/plain");
        assert!(
            !v.texts.iter().any(|t| t.text.contains("secret notes")),
            "an attached file is listed, not shown"
        );
    }

    #[test]
    fn a_forwarded_message_is_listed_by_its_subject() {
        let raw = b"From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n\
--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.org\r\nSubject: the original\r\n\r\nold words\r\n\
--m--\r\n";
        let v = PostView::of(raw, None, None);
        assert_eq!(v.attachments.len(), 1, "{:?}", v.attachments);
        assert_eq!(v.attachments[0].name, "a forwarded message: the original");
        assert_eq!(v.attachments[0].media_type, "message/rfc822");
    }

    const ENCRYPTED: &[u8] = b"From: eve@example.net\r\nTo: tenants@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n\
Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n\r\n--b1--\r\n";

    #[test]
    fn a_decrypted_post_shows_its_clear_content_and_protected_subject() {
        let content = b"Content-Type: multipart/mixed; boundary=\"i\"; protected-headers=\"v1\"\r\nSubject: The real subject\r\n\r\n\
--i\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMeet at the back door.\r\n\
--i\r\nContent-Type: image/png; name=\"map.png\"\r\nContent-Disposition: attachment; filename=\"map.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--i--\r\n";
        let e = evidence(
            Encryption::ToList,
            Signature::ByMember {
                email: "alice@example.org".into(),
            },
        );
        let v = PostView::of(ENCRYPTED, Some(&e), Some(content));
        assert!(v.decrypted);
        let p = v.protection.as_ref().unwrap();
        assert_eq!(
            (p.encryption, p.signature),
            (EncryptionKind::ToList, SignatureKind::Member)
        );
        assert_eq!(p.encryption_words, "encrypted to the list's key");
        assert_eq!(
            p.signature_words,
            "signed by the key of the member alice@example.org"
        );
        assert_eq!(value(&v.main_headers, "Subject"), Some("..."));
        assert_eq!(
            v.inner_headers,
            [HeaderLine {
                name: "Subject".into(),
                value: "The real subject".into()
            }]
        );
        assert_eq!(v.texts.len(), 1);
        assert!(v.texts[0].text.contains("Meet at the back door."));
        assert_eq!(v.attachments.len(), 1);
        assert_eq!(v.attachments[0].name, "map.png");
        assert_eq!(v.attachments[0].size, 8);
        assert!(v.unreadable.is_none());
    }

    #[test]
    fn what_the_list_cannot_decrypt_is_said_not_shown() {
        let e = evidence(Encryption::ToOtherKey, Signature::None);
        let v = PostView::of(ENCRYPTED, Some(&e), None);
        assert!(
            !v.decrypted && v.texts.is_empty() && v.attachments.is_empty(),
            "no ciphertext as attachment: {v:?}"
        );
        assert_eq!(
            v.unreadable.as_deref(),
            Some("it is encrypted to a key that is not the list's: the list cannot read it")
        );
        let p = v.protection.unwrap();
        assert_eq!(
            p.signature,
            SignatureKind::Unread,
            "a signature inside is not known, not absent"
        );

        let broken = evidence(
            Encryption::Broken("no integrity protection".into()),
            Signature::None,
        );
        let v = PostView::of(ENCRYPTED, Some(&broken), None);
        assert!(
            v.unreadable
                .unwrap()
                .contains("cannot be trusted (no integrity protection)")
        );

        // A list without keys: it says why there is nothing to read.
        let v = PostView::of(ENCRYPTED, None, None);
        assert_eq!(
            v.unreadable.as_deref(),
            Some("it is encrypted, and this list has no key to decrypt it")
        );
        assert!(v.texts.is_empty() && v.attachments.is_empty());
    }

    #[test]
    fn a_signed_post_shows_the_signed_content_and_the_signature_in_words() {
        let raw = b"From: alice@example.org\r\nSubject: signed\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n\
--s\r\nContent-Type: text/plain\r\n\r\nSigned words.\r\n--s\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\nSIG\r\n--s--\r\n";
        let content = b"Content-Type: text/plain\r\n\r\nSigned words.\r\n";
        let e = evidence(
            Encryption::None,
            Signature::Invalid("made by a key that is no member's".into()),
        );
        let v = PostView::of(raw, Some(&e), Some(content));
        assert!(!v.decrypted);
        let p = v.protection.unwrap();
        assert_eq!(
            (p.encryption, p.signature),
            (EncryptionKind::None, SignatureKind::Invalid)
        );
        assert_eq!(
            p.signature_words,
            "its signature does not count (made by a key that is no member's)"
        );
        assert_eq!(p.encryption_words, "not encrypted");
        assert!(v.texts[0].text.contains("Signed words."));
        assert!(
            v.attachments.is_empty(),
            "the signature is not an attachment of the post: {:?}",
            v.attachments
        );
    }

    #[test]
    fn long_text_is_cut_and_garbage_is_said_to_be_unreadable() {
        let mut raw = b"From: a@example.org\r\nSubject: long\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', MAX_TEXT + 10));
        let v = PostView::of(&raw, None, None);
        assert!(v.texts[0].cut);
        assert_eq!(v.texts[0].text.chars().count(), MAX_TEXT);

        let v = PostView::of(b"\r\n\r\n", None, None);
        assert!(v.unreadable.is_some() && v.headers.is_empty());
    }
}
