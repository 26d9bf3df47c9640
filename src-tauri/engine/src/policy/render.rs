//! What a member receives: the post as it came, its body byte for byte, with
//! the list's headers (RFC 2369, RFC 2919) and the fields that would leak or
//! mislead removed.

use crate::model::{List, ReplyTo};

/// Header fields never passed on. Received and X-Originating-IP would tell
/// every member the poster's network address; the rest belong to the hop
/// into the list's mailbox, or are replaced by the list's own.
const DROPPED: &[&str] = &[
    "return-path",
    "received",
    "x-originating-ip",
    "delivered-to",
    "x-original-to",
    "bcc",
    "sender",
    "errors-to",
    "precedence",
    "x-loop",
    "list-id",
    "list-post",
    "list-help",
    "list-owner",
    "list-subscribe",
    "list-unsubscribe",
    "list-archive",
    "dkim-signature",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "authentication-results",
];

/// One header field: its name and its raw value, folding kept.
struct Field<'a> {
    name: &'a str,
    /// Everything after the colon up to and including the last line break.
    raw: &'a [u8],
}

/// Splits a message into its header fields and its body. The body starts
/// after the first empty line and is never touched.
fn split(raw: &[u8]) -> (Vec<Field<'_>>, &[u8], &'static str) {
    let eol = if raw.windows(2).any(|w| w == b"\r\n") { "\r\n" } else { "\n" };
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let line_end = raw[i..].iter().position(|&b| b == b'\n').map(|p| i + p + 1).unwrap_or(raw.len());
        let line = &raw[i..line_end];
        if line == b"\r\n" || line == b"\n" {
            return (fields, &raw[line_end..], eol);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // A continuation of the previous field.
            if let Some(last) = fields.last_mut() {
                let start = last.raw.as_ptr() as usize - raw.as_ptr() as usize;
                last.raw = &raw[start..line_end];
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = std::str::from_utf8(&line[..colon]).unwrap_or("").trim();
            fields.push(Field { name, raw: &raw[i + colon + 1..line_end] });
        }
        // A line that is neither is not a header; it is dropped rather than
        // passed on as garbage.
        i = line_end;
    }
    (fields, &[], eol)
}

/// A display name as an RFC 5322 phrase: plain, quoted, or encoded.
fn phrase(name: &str) -> String {
    if !name.is_ascii() {
        return encoded_word(name);
    }
    if name.chars().all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c)) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// An RFC 2047 encoded word (UTF-8, base64).
fn encoded_word(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 16);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("=?UTF-8?B?{out}?=")
}

/// The decoded subject, to see whether the prefix is there already.
fn decoded_subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The post as a member receives it. The same bytes go to every member of a
/// plain list; `fallback_message_id` is used only when the post has none.
pub fn render_post(raw: &[u8], list: &List, fallback_message_id: &str) -> Vec<u8> {
    if !list.settings.footer.is_empty() {
        return render_post_with_footer(raw, list, fallback_message_id);
    }
    let (fields, body, eol) = split(raw);
    let prefix = &list.settings.subject_prefix;
    let subject = decoded_subject(raw);
    let add_prefix = !prefix.trim().is_empty() && !subject.contains(prefix.trim());
    let prefix_text = if prefix.is_ascii() {
        prefix.clone()
    } else {
        format!("{} ", encoded_word(prefix.trim_end()))
    };

    let mut out = Vec::with_capacity(raw.len() + 512);
    let mut has_subject = false;
    let mut has_message_id = false;
    for f in &fields {
        let lname = f.name.to_ascii_lowercase();
        if DROPPED.contains(&lname.as_str()) {
            continue;
        }
        if lname == "reply-to" && list.settings.reply_to == ReplyTo::List {
            continue;
        }
        out.extend_from_slice(f.name.as_bytes());
        out.push(b':');
        if lname == "subject" {
            has_subject = true;
            if add_prefix {
                out.push(b' ');
                out.extend_from_slice(prefix_text.as_bytes());
                let value = f.raw;
                let start = value.iter().position(|b| !b" \t".contains(b)).unwrap_or(value.len());
                out.extend_from_slice(&value[start..]);
                continue;
            }
        }
        if lname == "message-id" {
            has_message_id = true;
        }
        out.extend_from_slice(f.raw);
    }
    let mut add = |name: &str, value: &str| {
        out.extend_from_slice(format!("{name}: {value}{eol}").as_bytes());
    };
    if !has_subject {
        add("Subject", prefix_text.trim_end());
    }
    if !has_message_id {
        add("Message-ID", fallback_message_id);
    }
    let address = &list.address;
    add("List-Id", &format!("{} <{}>", phrase(&list.name), list.list_id()));
    add("List-Post", &format!("<mailto:{address}>"));
    add("Precedence", "list");
    add("X-Loop", address);
    if list.settings.reply_to == ReplyTo::List {
        add("Reply-To", address);
    }
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(body);
    out
}

/// A plain copy with the list's footer: the post's own content (its
/// Content-* fields and body, untouched) becomes the first part of a
/// multipart/mixed whose second part is the footer, so a signature the
/// poster made over that content still holds.
fn render_post_with_footer(raw: &[u8], list: &List, fallback_message_id: &str) -> Vec<u8> {
    let (fields, _, _) = split(raw);
    let outer: Vec<u8> = fields
        .iter()
        .filter(|f| {
            let lname = f.name.to_ascii_lowercase();
            !lname.starts_with("content-") && lname != "mime-version"
        })
        .flat_map(|f| [f.name.as_bytes(), b":", f.raw].concat())
        .collect();
    let wrapped = with_footer(&entity_of(raw), &list.settings.footer);
    let stripped = [crate::mime::crlf(&outer).as_slice(), b"MIME-Version: 1.0\r\n", &wrapped].concat();
    // The wrapped entity is CRLF already; the post's fields may not be.
    let mut settings = list.settings.clone();
    settings.footer.clear();
    let plain = List { settings, ..list.clone() };
    crate::mime::crlf(&render_post(&stripped, &plain, fallback_message_id))
}

/// `entity` (Content-* fields and body, CRLF) followed by the footer, as a
/// multipart/mixed entity; `entity` itself when there is no footer.
pub fn with_footer(entity: &[u8], footer: &str) -> Vec<u8> {
    if footer.trim().is_empty() {
        return entity.to_vec();
    }
    // A boundary that cannot occur in the post.
    let mut boundary = String::from("conclave-footer");
    let mut n: u64 = entity.len() as u64;
    while memchr_find(entity, boundary.as_bytes()) {
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        boundary = format!("conclave-footer-{n:016x}");
    }
    let text = footer.replace('\n', "\r\n");
    let (encoding, body) = if footer.is_ascii() && footer.lines().all(|l| l.len() <= 900) {
        ("7bit", format!("{text}\r\n"))
    } else {
        let b64 = openssl::base64::encode_block(text.as_bytes());
        let lines: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        ("base64", format!("{}\r\n", lines.join("\r\n")))
    };
    let mut out = Vec::with_capacity(entity.len() + text.len() + 300);
    out.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n").as_bytes());
    out.extend_from_slice(entity);
    if !entity.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\
             Content-Disposition: inline\r\nContent-Description: list footer\r\n\r\n{body}--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    out
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Header fields a protected copy takes from the post; everything else is
/// left behind, because the copy is built fresh around verified content.
const ALLOWED: &[&str] = &["from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references", "reply-to"];

/// The header block (without the empty line) of a copy whose body is built
/// by the crypto layer: the allow-listed fields of the post, the list's
/// headers, and `X-Conclave-Decrypted: yes` when the list decrypted it.
/// Always CRLF.
pub fn render_protected_headers(raw: &[u8], list: &List, fallback_message_id: &str, decrypted: bool) -> Vec<u8> {
    let (fields, _, _) = split(raw);
    let prefix = &list.settings.subject_prefix;
    let subject = decoded_subject(raw);
    let add_prefix = !prefix.trim().is_empty() && !subject.contains(prefix.trim());
    let prefix_text = if prefix.is_ascii() { prefix.clone() } else { format!("{} ", encoded_word(prefix.trim_end())) };
    let mut out = Vec::new();
    let (mut has_subject, mut has_message_id) = (false, false);
    for f in &fields {
        let lname = f.name.to_ascii_lowercase();
        if !ALLOWED.contains(&lname.as_str()) || (lname == "reply-to" && list.settings.reply_to == ReplyTo::List) {
            continue;
        }
        let value = String::from_utf8_lossy(f.raw);
        let value = value.trim();
        let value = value.replace("\r\n", "\n").replace('\n', "\r\n");
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(b": ");
        if lname == "subject" {
            has_subject = true;
            if add_prefix {
                out.extend_from_slice(prefix_text.as_bytes());
            }
        }
        has_message_id |= lname == "message-id";
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut add = |name: &str, value: &str| out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    if !has_subject {
        add("Subject", prefix_text.trim_end());
    }
    if !has_message_id {
        add("Message-ID", fallback_message_id);
    }
    add("MIME-Version", "1.0");
    add("List-Id", &format!("{} <{}>", phrase(&list.name), list.list_id()));
    add("List-Post", &format!("<mailto:{}>", list.address));
    add("Precedence", "list");
    add("X-Loop", &list.address);
    if list.settings.reply_to == ReplyTo::List {
        add("Reply-To", &list.address);
    }
    if decrypted {
        add("X-Conclave-Decrypted", "yes");
    }
    out
}

/// The MIME entity of a plain post: its Content-* fields and its body, the
/// part a list signs or encrypts when the post itself was not protected.
pub fn entity_of(raw: &[u8]) -> Vec<u8> {
    let (fields, body, _) = split(raw);
    let mut out = Vec::with_capacity(raw.len());
    let mut has_type = false;
    for f in &fields {
        let lname = f.name.to_ascii_lowercase();
        if lname.starts_with("content-") {
            has_type |= lname == "content-type";
            out.extend_from_slice(f.name.as_bytes());
            out.push(b':');
            out.extend_from_slice(&crate::mime::crlf(f.raw));
        }
    }
    if !has_type {
        out.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&crate::mime::crlf(body));
    out
}

/// What an owner is told about a post the list did not send.
pub struct OwnerNotice<'a> {
    pub sender: &'a str,
    pub subject: &'a str,
    pub message_id: &'a str,
    /// "hold", "reject" or "discard".
    pub decision: &'a str,
    pub reason: &'a str,
    pub held_id: Option<i64>,
}

/// The mail to an owner about a held, rejected or discarded post: its
/// headers and the reason, never its content (which may have been
/// decrypted by the list).
pub fn render_owner_notice(list: &List, to: &str, n: &OwnerNotice<'_>, message_id: &str, date: &str) -> Vec<u8> {
    let eol = "\r\n";
    let what = match n.decision {
        "hold" => "held for an owner",
        "reject" => "rejected",
        _ => "discarded",
    };
    let subject = format!("[{}] post {what}: {}", list.name, n.subject);
    let mut m = notice_head(list, to, &subject, date, message_id, "auto-generated");
    m.push_str(&format!("A post to {} was {what}.{eol}{eol}", list.address));
    m.push_str(&format!("From:       {}{eol}Subject:    {}{eol}Message-ID: {}{eol}Reason:     {}{eol}{eol}", n.sender, n.subject, n.message_id, n.reason));
    if let Some(id) = n.held_id.filter(|_| n.decision == "hold") {
        m.push_str(&format!(
            "Approve, reject or discard it in the Conclave window, or with{eol}  conclave-cli held approve|reject|discard {} {id}{eol}{eol}",
            list.address
        ));
    }
    m.push_str(&format!("The post's content is not included in this notice.{eol}"));
    m.into_bytes()
}

/// The header block and empty line of a notice from the list: marked as
/// automatic (RFC 3834) and with the list's loop marks, so no machine
/// answers it and it never comes back through the list.
fn notice_head(list: &List, to: &str, subject: &str, date: &str, message_id: &str, auto: &str) -> String {
    let eol = "\r\n";
    let mut m = String::new();
    let mut add = |name: &str, value: &str| m.push_str(&format!("{name}: {value}{eol}"));
    add("From", &format!("{} <{}>", phrase(&list.name), list.address));
    add("To", to);
    add("Subject", &if subject.is_ascii() { subject.to_string() } else { encoded_word(subject) });
    add("Date", date);
    add("Message-ID", message_id);
    add("Auto-Submitted", auto);
    add("X-Loop", &list.address);
    add("List-Id", &format!("{} <{}>", phrase(&list.name), list.list_id()));
    add("MIME-Version", "1.0");
    add("Content-Type", "text/plain; charset=utf-8");
    add("Content-Transfer-Encoding", "8bit");
    m.push_str(eol);
    m
}

/// The notice a poster receives when an owner rejects a held post.
pub fn render_notice(list: &List, to: &str, subject: &str, reason: &str, message_id: &str, date: &str) -> Vec<u8> {
    let mut m = notice_head(list, to, &notice_subject(list, subject), date, message_id, "auto-replied");
    m.push_str(&notice_text(list, subject, reason, "\r\n"));
    m.into_bytes()
}

fn notice_subject(list: &List, subject: &str) -> String {
    format!("Your post to {} was not accepted: {subject}", list.name)
}

fn notice_text(list: &List, subject: &str, reason: &str, eol: &str) -> String {
    format!(
        "Your message \"{subject}\" to the list {} was rejected by an owner.{eol}{eol}Reason: {reason}{eol}",
        list.address
    )
}

/// The subject and text of the notice a rejected poster gets, as the owner
/// is shown them before choosing Reject.
pub fn notice_words(list: &List, subject: &str, reason: &str) -> (String, String) {
    (notice_subject(list, subject), notice_text(list, subject, reason, "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListSettings, Protocol};

    fn list() -> List {
        List {
            id: 1,
            address: "list@example.org".into(),
            name: "Tenants".into(),
            protocol: Protocol::Plain,
            paused: false,
            settings: ListSettings::defaults_for("Tenants"),
        }
    }

    const POST: &[u8] = b"Return-Path: <alice@example.org>\r\nReceived: from [192.0.2.7] by mx\r\n\tfolded continuation\r\nFrom: Alice <alice@example.org>\r\nTo: list@example.org\r\nSubject: Meeting\r\n  on Tuesday\r\nMessage-ID: <m1@example.org>\r\nReply-To: alice@home.example\r\nMIME-Version: 1.0\r\n\r\nBody line 1\r\n\r\nFrom the body: not a header\r\n";

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn adds_list_headers_and_keeps_the_body_exactly() {
        let out = render_post(POST, &list(), "<unused@x>");
        let s = text(&out);
        assert!(s.contains("List-Id: Tenants <list.example.org>\r\n"), "{s}");
        assert!(s.contains("List-Post: <mailto:list@example.org>\r\n"));
        assert!(s.contains("X-Loop: list@example.org\r\n"));
        assert!(s.contains("Precedence: list\r\n"));
        assert!(s.contains("Subject: [Tenants] Meeting\r\n  on Tuesday\r\n"), "{s}");
        assert!(s.contains("Message-ID: <m1@example.org>\r\n"));
        assert!(s.contains("Reply-To: alice@home.example\r\n"));
        assert!(s.ends_with("\r\n\r\nBody line 1\r\n\r\nFrom the body: not a header\r\n"));
        // The poster's network address does not travel.
        assert!(!s.contains("192.0.2.7") && !s.contains("Return-Path") && !s.contains("folded continuation"));
    }

    #[test]
    fn a_footer_follows_the_post_in_a_part_of_its_own() {
        let mut l = list();
        l.settings.footer = "Tenants' union\nTuesdays at 7".into();
        let raw = b"From: a@example.org\nSubject: hi\nContent-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n\nhello\n";
        let out = render_post(raw, &l, "<x@y>");
        let text = text(&out);
        let parsed = mail_parser::MessageParser::default().parse(&out).unwrap();
        assert_eq!(parsed.subject(), Some("[Tenants] hi"));
        assert_eq!(parsed.parts.len(), 3, "multipart, the post, the footer: {text}");
        assert_eq!(parsed.body_text(0).unwrap().trim(), "hello");
        assert_eq!(parsed.body_text(1).unwrap().trim(), "Tenants' union\r\nTuesdays at 7");
        assert_eq!(text.matches("MIME-Version").count(), 1, "{text}");
        assert!(!text.contains("\n\n") || text.contains("\r\n\r\n"), "CRLF throughout");
        assert!(!out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'), "no bare LF: {text}");
    }

    #[test]
    fn a_footer_wraps_any_entity_and_keeps_it_byte_for_byte() {
        let entity = b"Content-Type: multipart/signed; boundary=\"s\"; protocol=\"application/pgp-signature\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--s--\r\n";
        assert_eq!(with_footer(entity, ""), entity);
        let wrapped = with_footer(entity, "Ünion news");
        let parsed = mail_parser::MessageParser::default().parse(&wrapped).unwrap();
        // The signed part is carried unchanged.
        assert!(wrapped.windows(entity.len()).any(|w| w == entity));
        let footer = parsed.parts.last().unwrap();
        assert_eq!(footer.text_contents().map(str::trim_end), Some("Ünion news"));
        // A boundary already in the post is not used again.
        let tricky = b"Content-Type: text/plain\r\n\r\n--conclave-footer\r\n";
        let again = text(&with_footer(tricky, "f"));
        assert!(again.contains("boundary=\"conclave-footer-"), "{again}");
    }

    #[test]
    fn the_prefix_is_added_once() {
        let once = render_post(POST, &list(), "<x@x>");
        let twice = render_post(&once, &list(), "<x@x>");
        assert_eq!(text(&twice).matches("[Tenants]").count(), 1);
    }

    #[test]
    fn reply_to_the_list_replaces_the_posters() {
        let mut l = list();
        l.settings.reply_to = ReplyTo::List;
        let s = text(&render_post(POST, &l, "<x@x>"));
        assert!(s.contains("Reply-To: list@example.org\r\n"));
        assert!(!s.contains("alice@home.example"));
    }

    #[test]
    fn missing_fields_are_supplied_and_names_encoded() {
        let mut l = list();
        l.name = "Küche, Haus".into();
        l.settings.subject_prefix = "[Küche] ".into();
        let s = text(&render_post(b"From: a@example.org\n\nbody\n", &l, "<fallback@example.org>"));
        assert!(s.contains("Message-ID: <fallback@example.org>\n"), "{s}");
        assert!(s.contains("Subject: =?UTF-8?B?W0vDvGNoZV0=?=\n"), "{s}");
        assert!(s.contains("List-Id: =?UTF-8?B?"), "{s}");
        assert!(s.ends_with("\n\nbody\n"));
        let p = crate::policy::Post::read(s.as_bytes()).unwrap();
        assert_eq!(p.subject, "[Küche]");
    }

    #[test]
    fn a_rendered_post_is_recognised_as_a_loop() {
        let out = render_post(POST, &list(), "<x@x>");
        let p = crate::policy::Post::read(&out).unwrap();
        let members = vec![crate::model::Member {
            email: "alice@example.org".into(),
            name: String::new(),
            role: crate::model::Role::Member,
            own_posts: true,
        }];
        assert!(matches!(crate::policy::decide(&p, &list(), &members), crate::policy::Decision::Discard(_)));
    }

    #[test]
    fn protected_copies_take_only_allowed_fields() {
        let h = text(&render_protected_headers(POST, &list(), "<x@x>", true));
        assert!(h.contains("From: Alice <alice@example.org>\r\n"));
        assert!(h.contains("Subject: [Tenants] Meeting\r\n  on Tuesday\r\n"), "{h}");
        assert!(h.contains("X-Conclave-Decrypted: yes\r\n"));
        assert!(h.contains("List-Id: Tenants <list.example.org>\r\n"));
        assert!(!h.contains("Received") && !h.contains("Return-Path") && !h.contains("MIME-Version: 1.0\r\nMIME-Version"));
        assert!(!h.ends_with("\r\n\r\n"));
        let plain = text(&render_protected_headers(POST, &list(), "<x@x>", false));
        assert!(!plain.contains("X-Conclave-Decrypted"));
    }

    #[test]
    fn the_entity_of_a_plain_post_is_its_content_fields_and_body() {
        let e = text(&entity_of(b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\nSubject: x\n\nhello\n"));
        assert_eq!(e, "Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n");
        let e = text(&entity_of(b"From: a@example.org\r\n\r\nhello\r\n"));
        assert_eq!(e, "Content-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n");
    }

    #[test]
    fn owner_notices_carry_headers_and_reason_only() {
        let n = OwnerNotice {
            sender: "eve@example.net",
            subject: "hello",
            message_id: "<m@x>",
            decision: "hold",
            reason: "eve@example.net is not a member",
            held_id: Some(7),
        };
        let t = text(&render_owner_notice(&list(), "owner@example.org", &n, "<n@x>", "Mon, 1 Jan 2024 00:00:00 +0000"));
        assert!(t.contains("Subject: [Tenants] post held for an owner: hello\r\n"), "{t}");
        assert!(t.contains("Reason:     eve@example.net is not a member"));
        assert!(t.contains("held approve|reject|discard list@example.org 7"));
        assert!(t.contains("Auto-Submitted: auto-generated\r\n"));
    }

    #[test]
    fn notices_are_marked_automatic() {
        let n = text(&render_notice(&list(), "eve@example.net", "Hi", "off topic", "<n@x>", "Mon, 1 Jan 2024 00:00:00 +0000"));
        assert!(n.contains("Auto-Submitted: auto-replied\r\n"));
        assert!(n.contains("Reason: off topic"));
        let (subject, text) = notice_words(&list(), "Hi", "off topic");
        assert!(n.contains(&format!("Subject: {subject}\r\n")), "{n}");
        assert!(n.ends_with(&text.replace('\n', "\r\n")), "the owner is shown what the poster gets: {n}");
    }
}
