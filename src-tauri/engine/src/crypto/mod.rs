//! Crypto behind one seam per protocol: OpenPGP (sequoia) and S/MIME
//! (OpenSSL's CMS). Both read a post into the same [`Unwrapped`], which the
//! one policy core judges; the list's keys and the members' keys are checked
//! here, before anything is stored or used.

pub mod openpgp;
pub mod shared_text;
pub mod smime;

/// "ABCD 1234 …": a fingerprint (hex) as people read it aloud and compare
/// it, upper case in groups of four.
pub fn grouped_hex(hex: &str) -> String {
    hex.to_ascii_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

use std::time::SystemTime;

/// Whether and how the post was encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encrypted {
    No,
    /// To the list key, and it decrypted with integrity protection (for
    /// S/MIME CBC: with a member's signature inside, see smime::unwrap).
    ForList,
    /// To keys that are not the list's.
    NotForList,
    /// Encrypted, but unusable: no integrity protection, corrupt, too large.
    Broken(String),
}

/// Whether a member signed the post, decided the safe way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    No,
    ByMember {
        email: String,
        fingerprint: String,
    },
    /// A good signature by a member's valid key, but the post's From does
    /// not name that member alone: it does not count, yet an owner is told
    /// who really signed.
    NotTheSender {
        email: String,
        fingerprint: String,
    },
    /// Signed, but it does not count; the reason is for the owner's log.
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Unwrapped {
    pub encrypted: Encrypted,
    pub signed: Signed,
    /// The clear MIME entity (its Content-* headers and body) to send on,
    /// when the post was encrypted or signed; `None` for a plain post.
    pub content: Option<Vec<u8>>,
    /// A digest of the accepted signature, to refuse replays.
    pub signature_digest: Option<String>,
    /// When the accepted signature says it was made.
    pub signature_time: Option<SystemTime>,
}
