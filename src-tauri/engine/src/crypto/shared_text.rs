//! The large part every member's copy shares (the encrypted post), turned
//! into mail's base64 lines once, not once per copy. A copy is a short
//! part of its own (the member's key packet or RecipientInfo) in front of
//! the shared bytes, and base64 works on groups of three bytes: the copy's
//! own part, with the first one or two shared bytes that complete its last
//! group, is encoded anew; the rest of the shared bytes is the same for
//! every copy that needed the same number of bytes to complete its group.
//! So a fan-out makes at most three encodings of the shared bytes (in
//! practice one: members' key packets of one algorithm have one length),
//! and each copy costs its own part and a copy of the lines.
//!
//! The copy's own lines may end with a short line before the shared lines
//! begin; base64 decoders in mail clients take lines of any length up to
//! the limit (gpg, rnp, OpenSSL and gpgsm read them in the tests).

use std::sync::OnceLock;

use base64::Engine;

/// Shared bytes, with their base64 lines made when first needed, one set
/// for each of the three ways a copy's own part can end.
pub struct SharedText {
    bytes: Vec<u8>,
    /// Characters per line.
    line: usize,
    /// The lines of `bytes[k..]`, for k = 0, 1, 2.
    lines: [OnceLock<Vec<u8>>; 3],
}

impl SharedText {
    /// `bytes` to be written in lines of `line` characters (a multiple of
    /// four: OpenPGP armor uses 64, MIME 76).
    pub fn new(bytes: Vec<u8>, line: usize) -> SharedText {
        debug_assert!(line.is_multiple_of(4) && line > 0);
        SharedText {
            bytes,
            line,
            lines: Default::default(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends to `out` the base64 lines (each ending in CRLF) of `own`
    /// followed by the shared bytes, decoding to exactly those bytes.
    pub fn write_after(&self, own: &[u8], out: &mut Vec<u8>) {
        let k = ((3 - own.len() % 3) % 3).min(self.bytes.len());
        let shared = self.lines[k].get_or_init(|| lines(&self.bytes[k..], self.line));
        let mut head = Vec::with_capacity(own.len() + k);
        head.extend_from_slice(own);
        head.extend_from_slice(&self.bytes[..k]);
        out.reserve(head.len() * 2 + shared.len());
        out.extend_from_slice(&lines(&head, self.line));
        out.extend_from_slice(shared);
    }

    /// About how many bytes [`Self::write_after`] appends.
    pub fn encoded_len(&self) -> usize {
        let chars = self.bytes.len().div_ceil(3) * 4;
        chars + chars / self.line * 2 + 2
    }
}

/// `data` as base64 in lines of `line` characters, each ending in CRLF.
pub fn lines(data: &[u8], line: usize) -> Vec<u8> {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(text.len() + text.len() / line * 2 + 2);
    for chunk in text.as_bytes().chunks(line) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_after(text: &SharedText, own: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        text.write_after(own, &mut out);
        out
    }

    fn decoded(lines: &[u8]) -> Vec<u8> {
        let clean: Vec<u8> = lines
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .unwrap()
    }

    #[test]
    fn every_own_part_length_decodes_to_own_part_then_shared_bytes() {
        let shared: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let text = SharedText::new(shared.clone(), 64);
        for n in 0..10 {
            let own: Vec<u8> = (0..n).map(|i| 200 + i as u8).collect();
            let out = lines_after(&text, &own);
            assert_eq!(decoded(&out), [own.as_slice(), &shared].concat(), "{n}");
            let lines: Vec<&[u8]> = out
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            for (i, line) in lines.iter().enumerate() {
                assert!(line.ends_with(b"\r") && line.len() <= 65, "{n}");
                // No padding but at the very end: the join is seamless.
                assert!(
                    i + 1 == lines.len() || !line.contains(&b'='),
                    "{n}: padding in the middle"
                );
            }
        }
        // Three alignments at most, made once each.
        assert!(text.lines.iter().all(|l| l.get().is_some()));
    }

    #[test]
    fn shared_bytes_shorter_than_a_group_are_encoded_with_the_own_part() {
        let text = SharedText::new(vec![1], 76);
        assert_eq!(decoded(&lines_after(&text, &[9])), vec![9, 1]);
        let empty = SharedText::new(Vec::new(), 76);
        assert_eq!(decoded(&lines_after(&empty, &[9, 8])), vec![9, 8]);
    }
}
