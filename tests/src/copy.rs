//! Reading what a member receives from a protected list, as their client
//! would after decrypting and verifying: the list's payload carries the real
//! header fields on its root (RFC 9788), the list's note on who signed
//! first, the post's own content, and the list's footer last.

use conclave_engine::mime;

/// The header fields of the payload's root that are not MIME's own: the
/// protected headers, and the `HP-Outer` fields.
pub fn inner_fields(payload: &[u8]) -> Vec<(String, String)> {
    let head = String::from_utf8_lossy(mime::split_head(payload).0).replace("\r\n", "\n");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push_str("\r\n");
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
        .into_iter()
        .filter(|(n, _)| !n.to_ascii_lowercase().starts_with("content-"))
        .collect()
}

/// The first protected header field called `name`, unfolded.
pub fn inner_header(payload: &[u8], name: &str) -> Option<String> {
    inner_fields(payload)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.replace("\r\n", ""))
}

/// The payload's parts when the list wrapped the post between its note and
/// footer: (note, the post's entity as it came, footer).
fn wrapped(payload: &[u8]) -> Option<(Option<String>, Vec<u8>, Option<String>)> {
    let (head, body) = mime::split_head(payload);
    let ct = mime::header(head, "Content-Type")?;
    let boundary = mime::param(&ct, "boundary")?;
    if !boundary.starts_with("conclave-part") {
        return None;
    }
    let parts = mime::parts(body, &boundary)?;
    let (mut note, mut footer, mut entity) = (None, None, None);
    for part in parts {
        let text = || {
            String::from_utf8_lossy(mime::split_head(part).1)
                .trim_end()
                .replace("\r\n", "\n")
        };
        match mime::header(mime::split_head(part).0, "Content-Description").as_deref() {
            Some("checked by the list") => note = Some(text()),
            Some("list footer") => footer = Some(text()),
            _ => entity = Some(part.to_vec()),
        }
    }
    Some((note, mime::crlf(&entity?), footer))
}

/// The list's note on who signed the post ("Sig:", "Key:", "Enc:" lines),
/// if the copy has one.
pub fn note(payload: &[u8]) -> Option<String> {
    wrapped(payload).and_then(|(note, _, _)| note)
}

/// The post's own content as the poster sent it (its Content-* fields and
/// body), out of the list's payload.
pub fn poster_content(payload: &[u8]) -> Vec<u8> {
    if let Some((_, entity, _)) = wrapped(payload) {
        return entity;
    }
    // Not wrapped: the post's own entity with the list's fields added to
    // its root; take them off again.
    let (head, body) = mime::split_head(payload);
    let head = String::from_utf8_lossy(head).replace("\r\n", "\n");
    let mut out = String::new();
    let mut keep = false;
    for line in head.split('\n').filter(|l| !l.is_empty()) {
        if !line.starts_with([' ', '\t']) {
            keep = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
                .starts_with("content-");
        }
        if keep {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    for hp in ["cipher", "clear"] {
        out = out.replace(
            &format!(";\r\n protected-headers=\"v1\";\r\n hp=\"{hp}\""),
            "",
        );
    }
    [out.as_bytes(), b"\r\n", &mime::crlf(body)].concat()
}
