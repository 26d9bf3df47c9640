//! What a member receives. Every copy is sent as the list: its header From
//! is the list's own address with the poster's name from the member record
//! ("Alice via Tenants"), because providers refuse or rewrite mail from an
//! account that claims another sender, and members' providers bury it
//! (DMARC). A plain list passes the post's body on byte for byte with the
//! list's headers (RFC 2369, RFC 2919); a copy the list signs or encrypts
//! carries the real header fields inside the protection (RFC 9788) and, in
//! the clear, no more than a plain list would show.

use crate::model::{List, Member, ReplyTo};

/// Header fields never passed on from a post. Received and
/// X-Originating-IP would tell every member the poster's network address;
/// Autocrypt fields would hand every member the keys of whoever the poster
/// wrote to (gossip) or claim the poster's key under the list's name; the
/// rest belong to the hop into the list's mailbox, or are replaced by the
/// list's own.
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
    "autocrypt",
    "autocrypt-gossip",
    "autocrypt-draft-state",
    "hp-outer",
    "x-conclave-decrypted",
    // Replaced: the copy is from the list, and replies go where the list says.
    "from",
    "reply-to",
    "mail-followup-to",
    "mail-reply-to",
];

/// The fields of a post a protected copy shows beside the list's own: who
/// it was for and where it belongs in a thread. Everything else of the
/// post's header stays behind; the copy is built fresh around verified
/// content.
const THREAD_FIELDS: &[&str] = &[
    "to",
    "cc",
    "date",
    "message-id",
    "in-reply-to",
    "references",
];

/// The Subject of an encrypted copy when the real one travels inside
/// (RFC 9788, section 4.1).
pub const HIDDEN_SUBJECT: &str = "[...]";

/// Who a copy names as its poster. The name comes from the member record
/// (as the owner entered it), never from the post, so a member cannot
/// appear as "The Manager".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub address: String,
    pub name: String,
}

impl Author {
    /// `address` with the name the list knows it by: the member record's,
    /// else the address's local part.
    pub fn named(address: &str, members: &[Member]) -> Author {
        let name = members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(address))
            .map(|m| m.name.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| address.split('@').next().unwrap_or(address).to_string());
        Author {
            address: address.to_string(),
            name: clean(&name),
        }
    }

    /// For a post that names no one the list could vouch for (an owner
    /// approved it without a single sender): the list itself.
    pub fn the_list(list: &List) -> Author {
        Author {
            address: list.address.clone(),
            name: clean(&list.name),
        }
    }

    fn is_list(&self, list: &List) -> bool {
        self.address.eq_ignore_ascii_case(&list.address)
    }

    /// The header From of a copy: the list's address, the poster's name.
    pub fn via(&self, list: &List) -> String {
        if self.is_list(list) {
            return format!("{} <{}>", phrase(&self.name), list.address);
        }
        let name = format!("{} via {}", self.name, clean(&list.name));
        // Quoted even where RFC 5322 would not need it: as members' clients
        // show it, and as the README's example reads.
        let shown = if name.is_ascii() {
            quoted(&name)
        } else {
            encoded_word(&name)
        };
        format!("{shown} <{}>", list.address)
    }

    /// The poster as a mailbox, for inside a copy's protection.
    pub fn mailbox(&self) -> String {
        format!("{} <{}>", phrase(&self.name), self.address)
    }
}

/// What every copy says about the list itself, gathered once per run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListHeaders {
    /// Where List-Owner points: the first owner's address, if the list has
    /// an owner among its members.
    pub owner: Option<String>,
    /// The list's public OpenPGP key (binary, base64), published in an
    /// `Autocrypt` header so members' clients learn it.
    pub autocrypt_keydata: Option<String>,
}

impl ListHeaders {
    /// The list's fields (RFC 2369, RFC 2919), in the order they go out.
    fn fields(&self, list: &List) -> Vec<(String, String)> {
        let address = &list.address;
        let mut fields = vec![
            field(
                "List-Id",
                format!("{} <{}>", phrase(&clean(&list.name)), list.list_id()),
            ),
            field("List-Post", format!("<mailto:{address}>")),
            field("List-Help", format!("<mailto:{address}?subject=help>")),
        ];
        if let Some(owner) = &self.owner {
            fields.push(field("List-Owner", format!("<mailto:{owner}>")));
        }
        fields.push(field(
            "List-Unsubscribe",
            format!("<mailto:{address}?subject=unsubscribe>"),
        ));
        fields.push(field("Precedence", "list".into()));
        fields.push(field("X-Loop", address.clone()));
        fields
    }

    /// `Autocrypt: addr=LIST; prefer-encrypt=mutual; keydata=…`, folded.
    fn autocrypt(&self, list: &List) -> Option<(String, String)> {
        let keydata = self.autocrypt_keydata.as_ref()?;
        let folded: Vec<&str> = keydata
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        Some(field(
            "Autocrypt",
            format!(
                "addr={}; prefer-encrypt=mutual; keydata=\r\n {}",
                list.address,
                folded.join("\r\n ")
            ),
        ))
    }
}

fn field(name: &str, value: String) -> (String, String) {
    (name.to_string(), value)
}

/// Control characters (a line break above all) never reach a header.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// One header field: its name and its raw value, folding kept.
struct Field<'a> {
    name: &'a str,
    /// Everything after the colon up to and including the last line break.
    raw: &'a [u8],
}

impl Field<'_> {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value without its leading blank and final line break, folding
    /// kept and written with CRLF.
    fn value(&self) -> String {
        let text = String::from_utf8_lossy(self.raw);
        let text = text
            .trim_start_matches([' ', '\t'])
            .trim_end_matches(['\r', '\n']);
        text.replace("\r\n", "\n").replace('\n', "\r\n")
    }
}

/// Splits a message into its header fields and its body. The body starts
/// after the first empty line and is never touched.
fn split(raw: &[u8]) -> (Vec<Field<'_>>, &[u8], &'static str) {
    let eol = if raw.windows(2).any(|w| w == b"\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let line_end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(raw.len());
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
            fields.push(Field {
                name,
                raw: &raw[i + colon + 1..line_end],
            });
        }
        // A line that is neither is not a header; it is dropped rather than
        // passed on as garbage.
        i = line_end;
    }
    (fields, &[], eol)
}

/// A display name as an RFC 5322 phrase: plain, quoted, or encoded.
pub(crate) fn phrase(name: &str) -> String {
    if !name.is_ascii() {
        return encoded_word(name);
    }
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c))
    {
        name.to_string()
    } else {
        quoted(name)
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An RFC 2047 encoded word (UTF-8, base64).
pub(crate) fn encoded_word(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        openssl::base64::encode_block(text.as_bytes())
    )
}

/// A header value as written: plain when it is ASCII, else encoded.
pub(crate) fn header_text(text: &str) -> String {
    let text = clean(text);
    if text.is_ascii() {
        text
    } else {
        encoded_word(&text)
    }
}

/// A Subject value decoded, to see whether the prefix is there already.
fn decode_subject(value: &str) -> String {
    let head = format!("Subject: {value}\r\n\r\n");
    mail_parser::MessageParser::default()
        .parse_headers(head.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The Subject a copy carries: the post's (raw, encoded words kept) with
/// the list's prefix in front unless it is there already.
fn subject_with_prefix(list: &List, raw_value: Option<&str>) -> String {
    let prefix = &list.settings.subject_prefix;
    let prefix_text = if prefix.is_ascii() {
        prefix.clone()
    } else {
        format!("{} ", encoded_word(prefix.trim_end()))
    };
    match raw_value {
        None => prefix_text.trim_end().to_string(),
        Some(value) => {
            let has_prefix =
                prefix.trim().is_empty() || decode_subject(value).contains(prefix.trim());
            if has_prefix {
                value.to_string()
            } else {
                format!("{prefix_text}{value}")
            }
        }
    }
}

/// Where replies go: the list, or the poster (their own Reply-To when the
/// copy names them as the post did).
fn reply_to(list: &List, author: &Author, posters_own: Option<String>) -> String {
    match list.settings.reply_to {
        ReplyTo::List => list.address.clone(),
        ReplyTo::Poster if author.is_list(list) => list.address.clone(),
        ReplyTo::Poster => posters_own.unwrap_or_else(|| author.address.clone()),
    }
}

/// Where answers go, as header fields: Reply-To, and on a list that keeps
/// replies on the list `Mail-Followup-To` too, so a member's reply to all
/// leaves out whoever the post had in Cc (mutt and others honour it).
fn reply_fields(
    list: &List,
    author: &Author,
    posters_own: Option<String>,
) -> Vec<(String, String)> {
    let mut fields = vec![field("Reply-To", reply_to(list, author, posters_own))];
    if list.settings.reply_to == ReplyTo::List {
        fields.push(field("Mail-Followup-To", list.address.clone()));
    }
    fields
}

/// The post's own Reply-To, when the copy names the post's single sender
/// (an owner-approved post signed by someone else keeps none of it).
fn posters_reply_to(fields: &[Field<'_>], author: &Author) -> Option<String> {
    let from = fields.iter().filter(|f| f.is("from")).collect::<Vec<_>>();
    let names_author = from.len() == 1 && {
        let v = from[0].value().to_ascii_lowercase();
        v.contains(&author.address.to_ascii_lowercase()) && !v.contains(',')
    };
    if !names_author {
        return None;
    }
    fields
        .iter()
        .find(|f| f.is("reply-to"))
        .map(|f| f.value())
        .filter(|v| !v.trim().is_empty())
}

/// Writes fields as a header block (without the empty line after it).
pub fn head_bytes(fields: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The post as a member of a plain list receives it: sent as the list, its
/// body byte for byte (a poster's own signature on it still holds), the
/// same bytes for every member. `fallback_message_id` is used only when the
/// post has none.
pub fn render_post(
    raw: &[u8],
    list: &List,
    headers: &ListHeaders,
    author: &Author,
    fallback_message_id: &str,
) -> Vec<u8> {
    if !list.settings.footer.is_empty() {
        return render_post_with_footer(raw, list, headers, author, fallback_message_id);
    }
    let (fields, body, eol) = split(raw);
    let mut out = Vec::with_capacity(raw.len() + 1024);
    let add = |out: &mut Vec<u8>, name: &str, value: &str| {
        out.extend_from_slice(format!("{name}: {value}{eol}").as_bytes());
    };
    add(&mut out, "From", &author.via(list));
    let mut has_subject = false;
    let mut has_message_id = false;
    for f in &fields {
        let lname = f.name.to_ascii_lowercase();
        if DROPPED.contains(&lname.as_str()) {
            continue;
        }
        if lname == "subject" {
            has_subject = true;
            let value = subject_with_prefix(list, Some(&f.value()));
            add(&mut out, f.name, &value.replace("\r\n", eol));
            continue;
        }
        has_message_id |= lname == "message-id";
        out.extend_from_slice(f.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(f.raw);
    }
    if !has_subject {
        add(&mut out, "Subject", &subject_with_prefix(list, None));
    }
    if !has_message_id {
        add(&mut out, "Message-ID", fallback_message_id);
    }
    for (name, value) in reply_fields(list, author, posters_reply_to(&fields, author)) {
        add(&mut out, &name, &value);
    }
    for (name, value) in headers.fields(list) {
        add(&mut out, &name, &value);
    }
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(body);
    out
}

/// A plain copy with the list's footer: the post's own content (its
/// Content-* fields and body, untouched) becomes the first part of a
/// multipart/mixed whose second part is the footer, so a signature the
/// poster made over that content still holds.
fn render_post_with_footer(
    raw: &[u8],
    list: &List,
    headers: &ListHeaders,
    author: &Author,
    fallback_message_id: &str,
) -> Vec<u8> {
    let (fields, _, _) = split(raw);
    let outer: Vec<u8> = fields
        .iter()
        .filter(|f| {
            let lname = f.name.to_ascii_lowercase();
            !lname.starts_with("content-") && lname != "mime-version"
        })
        .flat_map(|f| [f.name.as_bytes(), b":", f.raw].concat())
        .collect();
    let wrapped = with_parts(&entity_of(raw), None, &list.settings.footer);
    let stripped = [
        crate::mime::crlf(&outer).as_slice(),
        b"MIME-Version: 1.0\r\n",
        &wrapped,
    ]
    .concat();
    // The wrapped entity is CRLF already; the post's fields may not be.
    let mut settings = list.settings.clone();
    settings.footer.clear();
    let plain = List {
        settings,
        ..list.clone()
    };
    crate::mime::crlf(&render_post(
        &stripped,
        &plain,
        headers,
        author,
        fallback_message_id,
    ))
}

/// The header sections of a protected (signed or encrypted) copy, built
/// once per post.
#[derive(Debug, Clone)]
pub struct CopyHeaders {
    /// The clear header of an encrypted copy: Subject `[...]` when the list
    /// protects subjects.
    pub encrypted: Vec<(String, String)>,
    /// The header of a copy that is only signed, or plain: the real Subject.
    pub clear: Vec<(String, String)>,
    /// The real fields, for inside the protection: From names the poster,
    /// Subject is the real one with the prefix.
    pub inner: Vec<(String, String)>,
}

/// What goes in the header of each protected copy of a post. `inner_subject`
/// is the Subject the poster protected inside their own encryption, which
/// is the real one when there is one.
pub fn copy_headers(
    raw: &[u8],
    inner_subject: Option<&str>,
    list: &List,
    headers: &ListHeaders,
    author: &Author,
    fallback_message_id: &str,
) -> CopyHeaders {
    let (fields, _, _) = split(raw);
    let mut thread: Vec<(String, String)> = fields
        .iter()
        .filter(|f| THREAD_FIELDS.iter().any(|n| f.is(n)))
        .map(|f| (f.name.to_string(), f.value()))
        .collect();
    if !thread
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("message-id"))
    {
        thread.push(field("Message-ID", fallback_message_id.to_string()));
    }
    let outer_subject = fields.iter().find(|f| f.is("subject")).map(|f| f.value());
    let subject = subject_with_prefix(list, inner_subject.or(outer_subject.as_deref()));
    let reply = reply_fields(list, author, posters_reply_to(&fields, author));
    let list_fields = headers.fields(list);

    let outer = |subject: String| {
        let mut f = vec![field("From", author.via(list))];
        f.extend(thread.iter().cloned());
        f.push(field("Subject", subject));
        f.extend(reply.iter().cloned());
        f.push(field("MIME-Version", "1.0".into()));
        f.extend(list_fields.iter().cloned());
        f.extend(headers.autocrypt(list));
        f
    };
    let hidden = if list.settings.protect_subject {
        HIDDEN_SUBJECT.to_string()
    } else {
        subject.clone()
    };
    let mut inner = vec![field("From", author.mailbox())];
    inner.extend(thread.iter().cloned());
    inner.push(field("Subject", subject.clone()));
    inner.extend(reply.iter().cloned());
    inner.extend(list_fields.iter().cloned());
    CopyHeaders {
        encrypted: outer(hidden),
        clear: outer(subject),
        inner,
    }
}

/// How a copy's cryptographic payload relates to its clear header
/// (RFC 9788): encrypted (the clear header may hide fields) or only signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    Encrypted,
    Signed,
}

/// `payload` with the real header fields on its root part (RFC 9788, and
/// Thunderbird's `protected-headers="v1"`): for an encrypted copy, with
/// `HP-Outer` fields that say exactly what its clear header shows.
pub fn protect_headers(
    payload: &[u8],
    inner: &[(String, String)],
    how: Protection,
    outer: &[(String, String)],
) -> Vec<u8> {
    let (fields, body, _) = split(payload);
    let hp = match how {
        Protection::Encrypted => "cipher",
        Protection::Signed => "clear",
    };
    let mut out = Vec::with_capacity(payload.len() + 2048);
    for f in &fields {
        out.extend_from_slice(f.name.as_bytes());
        out.push(b':');
        if f.is("content-type") {
            // Appended, so the poster's own field stays as they wrote it.
            let raw = crate::mime::crlf(f.raw);
            out.extend_from_slice(raw.trim_ascii_end());
            out.extend_from_slice(
                format!(";\r\n protected-headers=\"v1\";\r\n hp=\"{hp}\"\r\n").as_bytes(),
            );
        } else {
            out.extend_from_slice(&crate::mime::crlf(f.raw));
        }
    }
    out.extend_from_slice(&head_bytes(inner));
    if how == Protection::Encrypted {
        for (name, value) in outer
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("mime-version"))
        {
            out.extend_from_slice(format!("HP-Outer: {name}: {value}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&crate::mime::crlf(body));
    out
}

/// The parameters of a header value, split at the semicolons that are not
/// inside quotes; the first item is the value itself.
fn value_items(value: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("one item at least").push(c);
    }
    items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// A Content-Type value with these parameters set (replacing any of the
/// same name) and without the ones a payload must not inherit.
fn with_params(value: &str, set: &[(&str, &str)]) -> String {
    let unfolded = value.replace("\r\n", "");
    let items = value_items(&unfolded);
    let mut out = items
        .first()
        .cloned()
        .unwrap_or_else(|| "text/plain".into());
    for item in items.iter().skip(1) {
        let name = item
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if set.iter().any(|(n, _)| *n == name) || name == "protected-headers" || name == "hp" {
            continue;
        }
        out.push_str(";\r\n ");
        out.push_str(item);
    }
    for (name, v) in set {
        out.push_str(&format!(";\r\n {name}=\"{v}\""));
    }
    out
}

/// The content a protected copy carries, and the Subject the poster
/// protected inside their own post, if any. Header fields the poster put on
/// the content's root part (their protected headers, `Autocrypt-Gossip`
/// with the keys of whoever else they wrote to, `HP-Outer`) are dropped:
/// the list writes its own. The list's note comes first and its footer
/// last, each a text part of its own.
pub fn payload(content: &[u8], note: Option<&str>, footer: &str) -> (Vec<u8>, Option<String>) {
    let (fields, body, _) = split(content);
    let subject = fields
        .iter()
        .find(|f| f.is("subject"))
        .map(|f| f.value())
        .filter(|s| !s.trim().is_empty());
    let mut entity = Vec::with_capacity(content.len() + 256);
    let mut has_type = false;
    for f in fields
        .iter()
        .filter(|f| f.name.to_ascii_lowercase().starts_with("content-"))
    {
        entity.extend_from_slice(f.name.as_bytes());
        entity.push(b':');
        let value = f.value();
        let marked = |name: &str| {
            value_items(&value)
                .iter()
                .skip(1)
                .any(|i| i.to_ascii_lowercase().starts_with(name))
        };
        if f.is("content-type") && (marked("protected-headers") || marked("hp=") || marked("hp ")) {
            entity.extend_from_slice(format!(" {}\r\n", with_params(&value, &[])).as_bytes());
        } else {
            // As the poster wrote it: what they signed stays byte for byte.
            entity.extend_from_slice(&crate::mime::crlf(f.raw));
        }
        has_type |= f.is("content-type");
    }
    if !has_type {
        entity.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&crate::mime::crlf(body));
    (with_parts(&entity, note, footer), subject)
}

/// The Subject a poster protected on their content's root (decoded), if
/// any: what their client shows as the post's subject.
pub fn protected_subject(content: &[u8]) -> Option<String> {
    let (fields, _, _) = split(content);
    let value = fields.iter().find(|f| f.is("subject"))?.value();
    Some(decode_subject(&value)).filter(|s| !s.trim().is_empty())
}

/// `entity` (Content-* fields and body, CRLF) between the list's note and
/// footer, as a multipart/mixed entity; `entity` itself when there is
/// neither.
pub fn with_parts(entity: &[u8], note: Option<&str>, footer: &str) -> Vec<u8> {
    let note = note.filter(|n| !n.trim().is_empty());
    if footer.trim().is_empty() && note.is_none() {
        return entity.to_vec();
    }
    // A boundary that cannot occur in the post.
    let mut boundary = String::from("conclave-part");
    let mut n: u64 = entity.len() as u64;
    while contains(entity, boundary.as_bytes()) {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        boundary = format!("conclave-part-{n:016x}");
    }
    let mut out = Vec::with_capacity(entity.len() + 1024);
    out.extend_from_slice(
        format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n").as_bytes(),
    );
    if let Some(note) = note {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(&text_part(note, "checked by the list"));
    }
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(entity);
    // The line break before a delimiter belongs to the delimiter (RFC
    // 2046): one of its own, so the entity's last line break stays its.
    out.extend_from_slice(b"\r\n");
    if !footer.trim().is_empty() {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(&text_part(footer, "list footer"));
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// An inline text/plain part: 7bit when it can be, else base64.
fn text_part(text: &str, description: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let (encoding, body) = if text.is_ascii() && text.lines().all(|l| l.len() <= 900) {
        ("7bit", format!("{text}\r\n"))
    } else {
        let b64 = openssl::base64::encode_block(text.as_bytes());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        ("base64", format!("{}\r\n", lines.join("\r\n")))
    };
    format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\
         Content-Disposition: inline\r\nContent-Description: {description}\r\n\r\n{body}"
    )
    .into_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
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

/// What members are told, inside the list's signature, about a post that
/// counted as signed: who signed it, with which key, and whether it reached
/// the list encrypted (Schleuder's "Sig:" and "Enc:" lines).
pub fn signature_note(
    signer: &str,
    key: &str,
    made: Option<&str>,
    arrived_encrypted: bool,
) -> String {
    let made = made.map(|m| format!(", made {m}")).unwrap_or_default();
    let enc = if arrived_encrypted {
        "the post reached the list encrypted to the list's key"
    } else {
        "the post reached the list unencrypted"
    };
    format!("Sig: good signature by {signer}{made}, checked by the list\nKey: {key}\nEnc: {enc}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListSettings, Protocol, Role};

    fn list() -> List {
        List::example("Tenants")
    }

    fn member(email: &str, name: &str) -> Member {
        Member {
            email: email.into(),
            name: name.into(),
            role: Role::Member,
            own_posts: true,
        }
    }

    fn alice() -> Author {
        Author::named(
            "alice@example.org",
            &[member("alice@example.org", "Alice Liddell")],
        )
    }

    fn headers() -> ListHeaders {
        ListHeaders {
            owner: Some("owner@example.org".into()),
            autocrypt_keydata: None,
        }
    }

    const POST: &[u8] = b"Return-Path: <alice@example.org>\r\nReceived: from [192.0.2.7] by mx\r\n\tfolded continuation\r\nFrom: \"The Manager\" <alice@example.org>\r\nTo: list@example.org\r\nSubject: Meeting\r\n  on Tuesday\r\nMessage-ID: <m1@example.org>\r\nReply-To: alice@home.example\r\nAutocrypt: addr=alice@example.org; keydata=AAAA\r\nAutocrypt-Gossip: addr=bob@example.net; keydata=BBBB\r\nMIME-Version: 1.0\r\n\r\nBody line 1\r\n\r\nFrom the body: not a header\r\n";

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    fn header(raw: &[u8], name: &str) -> Option<String> {
        let (fields, _, _) = split(raw);
        fields.iter().find(|f| f.is(name)).map(|f| f.value())
    }

    #[test]
    fn a_copy_is_from_the_list_with_the_posters_name_from_the_member_record() {
        let out = render_post(POST, &list(), &headers(), &alice(), "<unused@x>");
        let s = text(&out);
        assert_eq!(
            header(&out, "From").unwrap(),
            "\"Alice Liddell via Tenants\" <list@example.org>",
            "{s}"
        );
        assert_eq!(
            s.matches("\r\nFrom:").count() + usize::from(s.starts_with("From:")),
            1,
            "one From: {s}"
        );
        assert!(
            !s.contains("The Manager"),
            "the post's own display name never shows: {s}"
        );
        // Plain lists leave replies with the poster, at their own Reply-To.
        assert_eq!(header(&out, "Reply-To").unwrap(), "alice@home.example");
        let unnamed = Author::named("bob@example.org", &[member("bob@example.org", "")]);
        assert_eq!(
            unnamed.via(&list()),
            "\"bob via Tenants\" <list@example.org>"
        );
        let quoted = Author::named(
            "c@example.org",
            &[member("c@example.org", "Carol \"CJ\" Jones")],
        );
        assert_eq!(
            quoted.via(&list()),
            "\"Carol \\\"CJ\\\" Jones via Tenants\" <list@example.org>"
        );
    }

    #[test]
    fn adds_list_headers_and_keeps_the_body_exactly() {
        let out = render_post(POST, &list(), &headers(), &alice(), "<unused@x>");
        let s = text(&out);
        assert!(s.contains("List-Id: Tenants <list.example.org>\r\n"), "{s}");
        assert!(s.contains("List-Post: <mailto:list@example.org>\r\n"));
        assert!(s.contains("List-Help: <mailto:list@example.org?subject=help>\r\n"));
        assert!(s.contains("List-Owner: <mailto:owner@example.org>\r\n"));
        assert!(s.contains("List-Unsubscribe: <mailto:list@example.org?subject=unsubscribe>\r\n"));
        assert!(s.contains("X-Loop: list@example.org\r\n"));
        assert!(s.contains("Precedence: list\r\n"));
        assert!(
            s.contains("Subject: [Tenants] Meeting\r\n  on Tuesday\r\n"),
            "{s}"
        );
        assert!(s.contains("Message-ID: <m1@example.org>\r\n"));
        assert!(s.ends_with("\r\n\r\nBody line 1\r\n\r\nFrom the body: not a header\r\n"));
        // The poster's network address does not travel, nor anyone's keys.
        assert!(
            !s.contains("192.0.2.7")
                && !s.contains("Return-Path")
                && !s.contains("folded continuation")
        );
        assert!(!s.contains("Autocrypt") && !s.contains("BBBB"), "{s}");
    }

    #[test]
    fn a_footer_follows_the_post_in_a_part_of_its_own() {
        let mut l = list();
        l.settings.footer = "Tenants' union\nTuesdays at 7".into();
        let raw = b"From: a@example.org\nSubject: hi\nContent-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n\nhello\n";
        let out = render_post(
            raw,
            &l,
            &headers(),
            &Author::named("a@example.org", &[]),
            "<x@y>",
        );
        let text = text(&out);
        let parsed = mail_parser::MessageParser::default().parse(&out).unwrap();
        assert_eq!(parsed.subject(), Some("[Tenants] hi"));
        assert_eq!(
            parsed.parts.len(),
            3,
            "multipart, the post, the footer: {text}"
        );
        assert_eq!(parsed.body_text(0).unwrap().trim(), "hello");
        assert_eq!(
            parsed.body_text(1).unwrap().trim(),
            "Tenants' union\r\nTuesdays at 7"
        );
        assert_eq!(text.matches("MIME-Version").count(), 1, "{text}");
        assert!(
            !out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
            "no bare LF: {text}"
        );
        assert_eq!(
            header(&out, "From").unwrap(),
            "\"a via Tenants\" <list@example.org>"
        );
    }

    #[test]
    fn parts_wrap_any_entity_and_keep_it_byte_for_byte() {
        let entity = b"Content-Type: multipart/signed; boundary=\"s\"; protocol=\"application/pgp-signature\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--s--\r\n";
        assert_eq!(with_parts(entity, None, ""), entity);
        let wrapped = with_parts(entity, Some("Sig: good"), "Ünion news");
        let parsed = mail_parser::MessageParser::default()
            .parse(&wrapped)
            .unwrap();
        assert!(wrapped.windows(entity.len()).any(|w| w == entity));
        assert_eq!(
            parsed
                .parts
                .last()
                .unwrap()
                .text_contents()
                .map(str::trim_end),
            Some("Ünion news")
        );
        assert_eq!(
            parsed.parts[1].text_contents().map(str::trim_end),
            Some("Sig: good"),
            "the note comes first"
        );
        let tricky = b"Content-Type: text/plain\r\n\r\n--conclave-part\r\n";
        let again = text(&with_parts(tricky, None, "f"));
        assert!(again.contains("boundary=\"conclave-part-"), "{again}");
    }

    #[test]
    fn the_prefix_is_added_once() {
        let once = render_post(POST, &list(), &headers(), &alice(), "<x@x>");
        let twice = render_post(&once, &list(), &headers(), &alice(), "<x@x>");
        assert_eq!(text(&twice).matches("[Tenants]").count(), 1);
    }

    #[test]
    fn reply_to_the_list_replaces_the_posters() {
        let mut l = list();
        l.settings.reply_to = ReplyTo::List;
        let out = render_post(POST, &l, &headers(), &alice(), "<x@x>");
        assert_eq!(header(&out, "Reply-To").unwrap(), "list@example.org");
        assert_eq!(
            header(&out, "Mail-Followup-To").unwrap(),
            "list@example.org",
            "reply-all leaves out the Cc"
        );
        assert!(!text(&out).contains("alice@home.example"));
        let to_poster = render_post(POST, &list(), &headers(), &alice(), "<x@x>");
        assert_eq!(header(&to_poster, "Mail-Followup-To"), None);
        assert_eq!(
            ListSettings::defaults_for("T", Protocol::Openpgp).reply_to,
            ReplyTo::List
        );
        assert_eq!(
            ListSettings::defaults_for("T", Protocol::Smime).reply_to,
            ReplyTo::List
        );
        assert_eq!(
            ListSettings::defaults_for("T", Protocol::Plain).reply_to,
            ReplyTo::Poster
        );
    }

    #[test]
    fn missing_fields_are_supplied_and_names_encoded() {
        let mut l = list();
        l.name = "Küche, Haus".into();
        l.settings.subject_prefix = "[Küche] ".into();
        let raw = b"From: a@example.org\n\nbody\n";
        let s = text(&render_post(
            raw,
            &l,
            &ListHeaders::default(),
            &Author::named("a@example.org", &[]),
            "<fallback@example.org>",
        ));
        assert!(s.contains("Message-ID: <fallback@example.org>\n"), "{s}");
        assert!(s.contains("Subject: =?UTF-8?B?W0vDvGNoZV0=?=\n"), "{s}");
        assert!(s.contains("List-Id: =?UTF-8?B?"), "{s}");
        assert!(!s.contains("List-Owner"), "no owner, no List-Owner: {s}");
        assert!(s.ends_with("\n\nbody\n"));
        let p = crate::policy::Post::read(s.as_bytes()).unwrap();
        assert_eq!(p.subject, "[Küche]");
    }

    #[test]
    fn a_rendered_post_is_recognised_as_a_loop() {
        let out = render_post(POST, &list(), &headers(), &alice(), "<x@x>");
        let p = crate::policy::Post::read(&out).unwrap();
        let members = vec![member("alice@example.org", "")];
        assert!(matches!(
            crate::policy::decide(&p, &list(), &members),
            crate::policy::Decision::Discard(_)
        ));
    }

    #[test]
    fn a_protected_copy_hides_the_subject_outside_and_tells_the_truth_inside() {
        let mut l = list();
        l.settings.protect_subject = true;
        l.settings.reply_to = ReplyTo::List;
        let h = ListHeaders {
            owner: None,
            autocrypt_keydata: Some("A".repeat(200)),
        };
        let heads = copy_headers(POST, Some("Real plans"), &l, &h, &alice(), "<x@x>");
        let get = |fields: &[(String, String)], name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(&heads.encrypted, "Subject").unwrap(), "[...]");
        assert_eq!(
            get(&heads.clear, "Subject").unwrap(),
            "[Tenants] Real plans"
        );
        assert_eq!(
            get(&heads.inner, "Subject").unwrap(),
            "[Tenants] Real plans"
        );
        assert_eq!(
            get(&heads.encrypted, "From").unwrap(),
            "\"Alice Liddell via Tenants\" <list@example.org>"
        );
        assert_eq!(
            get(&heads.inner, "From").unwrap(),
            "Alice Liddell <alice@example.org>"
        );
        assert_eq!(
            get(&heads.encrypted, "Reply-To").unwrap(),
            "list@example.org"
        );
        assert_eq!(
            get(&heads.encrypted, "Mail-Followup-To").unwrap(),
            "list@example.org"
        );
        assert_eq!(
            get(&heads.inner, "Mail-Followup-To").unwrap(),
            "list@example.org"
        );
        assert_eq!(
            get(&heads.encrypted, "Message-ID").unwrap(),
            "<m1@example.org>"
        );
        for fields in [&heads.encrypted, &heads.clear, &heads.inner] {
            assert!(get(fields, "Autocrypt-Gossip").is_none() && get(fields, "Received").is_none());
            assert!(get(fields, "X-Conclave-Decrypted").is_none());
        }
        let autocrypt = get(&heads.encrypted, "Autocrypt").unwrap();
        assert!(
            autocrypt.starts_with("addr=list@example.org; prefer-encrypt=mutual; keydata=\r\n "),
            "{autocrypt}"
        );
        assert!(
            autocrypt.lines().all(|l| l.len() <= 78),
            "folded: {autocrypt}"
        );
        // Without protect-subject the real subject is outside as well.
        l.settings.protect_subject = false;
        let heads = copy_headers(POST, None, &l, &h, &alice(), "<x@x>");
        assert_eq!(
            get(&heads.encrypted, "Subject").unwrap(),
            "[Tenants] Meeting\r\n  on Tuesday"
        );
    }

    #[test]
    fn the_payload_carries_the_real_headers_and_says_what_the_outside_shows() {
        let mut l = list();
        l.settings.protect_subject = true;
        let heads = copy_headers(POST, None, &l, &headers(), &alice(), "<x@x>");
        let (payload, _) = payload(
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n",
            None,
            "",
        );
        let inside = protect_headers(
            &payload,
            &heads.inner,
            Protection::Encrypted,
            &heads.encrypted,
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(&inside)
            .unwrap();
        let ct = mail_parser::MimeHeaders::content_type(parsed.root_part()).unwrap();
        assert_eq!(ct.attribute("protected-headers"), Some("v1"));
        assert_eq!(ct.attribute("hp"), Some("cipher"));
        assert_eq!(parsed.subject(), Some("[Tenants] Meeting on Tuesday"));
        let hp_outer: Vec<String> = parsed
            .headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case("HP-Outer"))
            .map(|(_, v)| v.trim().to_string())
            .collect();
        let outer: Vec<String> = heads
            .encrypted
            .iter()
            .filter(|(n, _)| n != "MIME-Version")
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        assert_eq!(hp_outer, outer, "HP-Outer lists exactly the clear header");
        assert!(hp_outer.contains(&"Subject: [...]".to_string()));
        assert_eq!(parsed.body_text(0).unwrap().trim(), "hello");
        let signed = protect_headers(&payload, &heads.inner, Protection::Signed, &heads.clear);
        let s = text(&signed);
        assert!(s.contains("hp=\"clear\"") && !s.contains("HP-Outer"), "{s}");
    }

    #[test]
    fn the_posters_own_protected_headers_and_gossip_are_dropped() {
        // As Thunderbird encrypts: the real subject and the keys of whoever
        // else the poster wrote to, on the payload's root.
        let content = b"Content-Type: multipart/mixed; boundary=\"b\";\r\n protected-headers=\"v1\"\r\nFrom: Alice <alice@example.org>\r\nSubject: Real plans\r\nAutocrypt-Gossip: addr=bob@example.net; keydata=BBBB\r\nHP-Outer: Subject: ...\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
        let (out, subject) = payload(content, Some("Sig: good signature"), "");
        let s = text(&out);
        assert_eq!(subject.as_deref(), Some("Real plans"));
        assert_eq!(protected_subject(content).as_deref(), Some("Real plans"));
        assert_eq!(
            protected_subject(b"Content-Type: text/plain\r\n\r\nSubject: in the body\r\n"),
            None
        );
        assert!(
            !s.contains("Gossip")
                && !s.contains("BBBB")
                && !s.contains("HP-Outer")
                && !s.contains("protected-headers"),
            "{s}"
        );
        assert!(
            s.contains("boundary=\"b\"")
                && s.contains("hello")
                && s.contains("Sig: good signature"),
            "{s}"
        );
        // An entity without protected headers is carried byte for byte.
        let plain = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nhi\r\n";
        assert_eq!(payload(plain, None, "").0, plain);
        let note = signature_note(
            "alice@example.org",
            "OpenPGP key 0123 4567",
            Some("2026-12-02 10:00 UTC"),
            true,
        );
        assert!(
            note.starts_with("Sig: good signature by alice@example.org")
                && note.contains("Enc: the post reached the list encrypted"),
            "{note}"
        );
    }
}
