//! Just enough MIME for the crypto layers: split a message into its header
//! block and body, read a header's parameters, and cut a multipart body
//! into the exact bytes of its parts (signatures are checked over exactly
//! those bytes, RFC 1847 and RFC 3156).

/// The header block (without the empty line) and the body.
pub fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(raw.len());
        let line = &raw[i..end];
        if line == b"\r\n" || line == b"\n" {
            return (&raw[..i], &raw[end..]);
        }
        i = end;
    }
    (raw, &[])
}

/// The unfolded value of the first header field called `name`.
pub fn header(head: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let mut value: Option<String> = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// "type/subtype" of a Content-Type value, lower case.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a header value (`boundary`, `protocol`, `micalg`).
pub fn param(value: &str, name: &str) -> Option<String> {
    for part in value.split(';').skip(1) {
        let (n, v) = part.split_once('=')?;
        if n.trim().eq_ignore_ascii_case(name) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            return Some(v.to_string());
        }
    }
    None
}

/// The parts of a multipart body, each exactly as it stands between its
/// delimiters: the line break before a delimiter belongs to the delimiter.
/// `None` when the body has no closing delimiter.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<&'a [u8]>> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut starts = Vec::new(); // (line start, line end incl. its break)
    let mut i = 0;
    let mut closed = false;
    while i < body.len() {
        let end = body[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(body.len());
        let line = &body[i..end];
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if let Some(rest) = bare.strip_prefix(delim) {
            let rest_trimmed: &[u8] = {
                let mut r = rest;
                while let [head @ .., b' ' | b'\t'] = r {
                    r = head;
                }
                r
            };
            if rest_trimmed == b"--" {
                starts.push((i, end));
                closed = true;
                break;
            }
            if rest_trimmed.is_empty() {
                starts.push((i, end));
            }
        }
        i = end;
    }
    if !closed || starts.len() < 2 {
        return None;
    }
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let (_, content_start) = w[0];
        let (next_delim, _) = w[1];
        let mut content_end = next_delim;
        // The CRLF (or LF) before the delimiter is the delimiter's.
        if content_end > content_start && body[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > content_start && body[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        out.push(&body[content_start..content_end.max(content_start)]);
    }
    Some(out)
}

/// Every line ending as CRLF: the canonical form signatures are made over.
pub fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// A boundary that cannot occur in base64 or armored text.
pub fn new_boundary(seed: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(seed);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("=_conclave_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nHello\r\n\r\n--XX\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn parts_are_cut_exactly() {
        let (head, body) = split_head(SIGNED);
        let ct = header(head, "content-type").unwrap();
        assert_eq!(media_type(&ct), "multipart/signed");
        assert_eq!(
            param(&ct, "protocol").as_deref(),
            Some("application/pgp-signature")
        );
        assert_eq!(param(&ct, "micalg").as_deref(), Some("pgp-sha256"));
        let p = parts(body, &param(&ct, "boundary").unwrap()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0], b"Content-Type: text/plain\r\n\r\nHello\r\n");
        assert_eq!(p[1], b"Content-Type: application/pgp-signature\r\n\r\nSIG");
    }

    #[test]
    fn an_unclosed_multipart_has_no_parts() {
        assert!(parts(b"--XX\r\nabc\r\n--XX\r\ndef\r\n", "XX").is_none());
    }

    #[test]
    fn canonical_line_endings() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }
}
