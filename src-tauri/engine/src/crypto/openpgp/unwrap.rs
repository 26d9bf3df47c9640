//! Reading a post sent to an OpenPGP list: decrypt with the list key, check
//! signatures against the members' keys, and hand back the clear content
//! only when every check has read to the end.
//!
//! Only the message's root counts: a signed or encrypted part somewhere
//! inside an unsigned multipart is not a signed post (the "Johnny, you are
//! fired" attacks). The checks follow RFC 3156 and RFC 9580 section 13.

use std::io::Read;
use std::time::SystemTime;

use pgp::crypto::SessionKey;
use pgp::packet::{PKESK, SKESK};
use pgp::parse::Parse;
use pgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, DetachedVerifierBuilder, MessageLayer, MessageStructure,
    VerificationError, VerificationHelper,
};
use pgp::serialize::MarshalInto;
use pgp::types::{RevocationStatus, SymmetricAlgorithm};
use sequoia_openpgp as pgp;

use super::{ListKey, MemberKey, policy};
use crate::mime;

pub use crate::crypto::{Encrypted, Signed, Unwrapped};

/// Why a signature by a key that is not among the members' does not count.
const NO_MEMBERS_KEY: &str = "signed by a key that is no member's";

/// What the verifier saw, judged after everything was read.
#[derive(Default)]
struct Seen {
    good: Vec<(pgp::Fingerprint, pgp::packet::Signature)>,
    bad: Vec<String>,
    pkesk_for_list: bool,
    decrypted: bool,
}

struct Helper<'a> {
    list_key: &'a ListKey,
    members: &'a [(String, MemberKey)],
    seen: Seen,
}

impl VerificationHelper for &mut Helper<'_> {
    fn get_certs(&mut self, _ids: &[pgp::KeyHandle]) -> pgp::Result<Vec<pgp::Cert>> {
        Ok(self.members.iter().map(|(_, k)| k.cert().clone()).collect())
    }

    fn check(&mut self, structure: MessageStructure) -> pgp::Result<()> {
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for r in results {
                    match r {
                        Ok(good) => self
                            .seen
                            .good
                            .push((good.ka.cert().fingerprint(), good.sig.clone())),
                        // The members' keys are all the verifier is given:
                        // a key it lacks is no member's.
                        Err(VerificationError::MissingKey { sig }) => {
                            let issuer = sig
                                .get_issuers()
                                .first()
                                .map(|h| format!(" (OpenPGP key {})", h.to_hex()))
                                .unwrap_or_default();
                            self.seen.bad.push(format!("{NO_MEMBERS_KEY}{issuer}"));
                        }
                        Err(e) => self.seen.bad.push(e.to_string()),
                    }
                }
            }
        }
        // The decision is made by the caller over everything collected.
        Ok(())
    }
}

impl DecryptionHelper for &mut Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> pgp::Result<Option<pgp::Cert>> {
        let p = policy();
        let cert = self.list_key.cert();
        for ka in cert
            .keys()
            .with_policy(&p, None)
            .unencrypted_secret()
            .supported()
            .for_transport_encryption()
        {
            let id = pgp::KeyHandle::from(ka.key().fingerprint());
            for pkesk in pkesks
                .iter()
                .filter(|k| k.recipient().is_none_or(|r| r.aliases(&id)))
            {
                self.seen.pkesk_for_list = true;
                let mut pair = ka.key().clone().into_keypair()?;
                if pkesk
                    .decrypt(&mut pair, sym_algo)
                    .is_some_and(|(algo, sk)| decrypt(algo, &sk))
                {
                    self.seen.decrypted = true;
                    return Ok(Some(cert.clone()));
                }
            }
        }
        Err(refusal("not encrypted to the list key"))
    }
}

fn refusal(msg: &str) -> pgp::anyhow::Error {
    pgp::Error::InvalidOperation(msg.to_string()).into()
}

/// Reads a post. `from` is the post's single From address (or `None` when
/// there is not exactly one, or a Sender differs from it).
///
/// Crafted packets can make the OpenPGP library panic (a truncated SEIP
/// packet after a key packet for the list did, in sequoia-openpgp 2.4.2):
/// such a post reads as broken, so it is refused and the reading goes on.
pub fn unwrap(
    raw: &[u8],
    list_key: &ListKey,
    members: &[(String, MemberKey)],
    from: Option<&str>,
    max_size: usize,
    now: SystemTime,
) -> Unwrapped {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read(raw, list_key, members, from, max_size, now)
    }))
    .unwrap_or_else(|_| broken("its OpenPGP data is damaged: the OpenPGP library failed on it"))
}

fn read(
    raw: &[u8],
    list_key: &ListKey,
    members: &[(String, MemberKey)],
    from: Option<&str>,
    max_size: usize,
    now: SystemTime,
) -> Unwrapped {
    let (head, body) = mime::split_head(raw);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    let mut helper = Helper {
        list_key,
        members,
        seen: Seen::default(),
    };
    match (
        mime::media_type(&ct).as_str(),
        mime::param(&ct, "protocol").map(|p| p.to_ascii_lowercase()),
    ) {
        ("multipart/encrypted", Some(p)) if p == "application/pgp-encrypted" => {
            let Some(ciphertext) = mime::param(&ct, "boundary")
                .and_then(|b| mime::parts(body, &b))
                .filter(|parts| parts.len() == 2)
                .map(|parts| mime::split_head(parts[1]).1.to_vec())
            else {
                return broken("the PGP/MIME structure is damaged");
            };
            pgp_mime_encrypted(&ciphertext, list_key, members, from, max_size, now)
        }
        // PGP/MIME as Microsoft Exchange passes it on (see exchange_mangled).
        ("multipart/mixed", _) => match exchange_mangled(&ct, body) {
            Some(ciphertext) => {
                pgp_mime_encrypted(&ciphertext, list_key, members, from, max_size, now)
            }
            None => plain(),
        },
        ("multipart/signed", Some(_)) if is_pgp_signed(&ct) => match signed_parts(&ct, body) {
            Some((signed, sig)) => {
                verify_detached(&signed, &sig, &mut helper);
                let (signed_by, digest, time) = judge(&helper.seen, members, list_key, from, now);
                Unwrapped {
                    encrypted: Encrypted::No,
                    signed: signed_by,
                    content: Some(signed),
                    signature_digest: digest,
                    signature_time: time,
                }
            }
            None => Unwrapped {
                encrypted: Encrypted::No,
                signed: Signed::Invalid("the PGP/MIME signed structure is damaged".into()),
                content: None,
                signature_digest: None,
                signature_time: None,
            },
        },
        ("text/plain" | "", _) => inline(raw, list_key, members, from, max_size, now),
        _ => plain(),
    }
}

/// The encrypted part of a PGP/MIME post (RFC 3156 section 4): decrypted
/// with the list key, and its signature checked, inside (section 6.2) or
/// on a multipart/signed inside (section 6.1).
fn pgp_mime_encrypted(
    ciphertext: &[u8],
    list_key: &ListKey,
    members: &[(String, MemberKey)],
    from: Option<&str>,
    max_size: usize,
    now: SystemTime,
) -> Unwrapped {
    let mut helper = Helper {
        list_key,
        members,
        seen: Seen::default(),
    };
    let plaintext = match decrypt(ciphertext, &mut helper, max_size) {
        Ok(p) => p,
        Err(e) => {
            return Unwrapped {
                encrypted: if helper.seen.pkesk_for_list {
                    Encrypted::Broken(e)
                } else {
                    Encrypted::NotForList
                },
                signed: Signed::No,
                content: None,
                signature_digest: None,
                signature_time: None,
            };
        }
    };
    // Signed inside the encryption (RFC 3156 section 6.1)?
    let (inner_head, inner_body) = mime::split_head(&plaintext);
    let inner_ct = mime::header(inner_head, "Content-Type").unwrap_or_default();
    if helper.seen.good.is_empty() && helper.seen.bad.is_empty() && is_pgp_signed(&inner_ct) {
        return match signed_parts(&inner_ct, inner_body) {
            Some((signed, sig)) => {
                let mut inner = Helper {
                    list_key,
                    members,
                    seen: Seen::default(),
                };
                verify_detached(&signed, &sig, &mut inner);
                let (signed_by, digest, time) = judge(&inner.seen, members, list_key, from, now);
                Unwrapped {
                    encrypted: Encrypted::ForList,
                    signed: signed_by,
                    content: Some(signed),
                    signature_digest: digest,
                    signature_time: time,
                }
            }
            None => broken("the signed part inside the encryption is damaged"),
        };
    }
    let (signed_by, digest, time) = judge(&helper.seen, members, list_key, from, now);
    Unwrapped {
        encrypted: Encrypted::ForList,
        signed: signed_by,
        content: Some(plaintext),
        signature_digest: digest,
        signature_time: time,
    }
}

/// Whether a post is PGP/MIME encrypted, as sent or as Exchange passes
/// it on: what a list without an OpenPGP key calls encrypted to another
/// key.
pub fn looks_encrypted(raw: &[u8]) -> bool {
    let (head, body) = mime::split_head(raw);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    match mime::media_type(&ct).as_str() {
        "multipart/encrypted" => true,
        "multipart/mixed" => exchange_mangled(&ct, body).is_some(),
        _ => false,
    }
}

/// A PGP/MIME encrypted post as Microsoft Exchange (and Outlook.com)
/// passes it on: the multipart/encrypted turned into a multipart/mixed of
/// exactly three parts, a text/plain part (empty, or the organisation's
/// footer), the version part "Version: 1" (named "PGPMIME version(s)
/// identification") and the armored data (named "encrypted.asc"), the
/// last two often in base64. Thunderbird and Delta Chat read it as the
/// PGP/MIME it was; so does the list: the encrypted data, decoded, or
/// `None` when the post is not exactly that. The text/plain part is
/// outside the encryption and is dropped with the rest of the wrapping.
fn exchange_mangled(ct: &str, body: &[u8]) -> Option<Vec<u8>> {
    let parts = mime::parts(body, &mime::param(ct, "boundary")?)?;
    let [text, version, data] = parts.as_slice() else {
        return None;
    };
    let media = |part: &[u8]| {
        let (head, _) = mime::split_head(part);
        mime::media_type(&mime::header(head, "Content-Type").unwrap_or_default())
    };
    if media(text) != "text/plain"
        || media(version) != "application/pgp-encrypted"
        || media(data) != "application/octet-stream"
    {
        return None;
    }
    let version = transfer_decoded(version)?;
    if String::from_utf8_lossy(&version).trim() != "Version: 1" {
        return None;
    }
    let data = transfer_decoded(data)?;
    String::from_utf8_lossy(&data)
        .trim_start()
        .starts_with("-----BEGIN PGP MESSAGE-----")
        .then_some(data)
}

/// A part's body with its base64 undone (7bit, 8bit and binary pass);
/// `None` for any other transfer encoding.
fn transfer_decoded(part: &[u8]) -> Option<Vec<u8>> {
    let (head, body) = mime::split_head(part);
    match mime::header(head, "Content-Transfer-Encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => crate::crypto::smime::unbase64(body).ok(),
        None | Some("7bit" | "8bit" | "binary") => Some(body.to_vec()),
        Some(_) => None,
    }
}

fn plain() -> Unwrapped {
    Unwrapped {
        encrypted: Encrypted::No,
        signed: Signed::No,
        content: None,
        signature_digest: None,
        signature_time: None,
    }
}

/// A text/plain entity around text that was signed or encrypted inline.
fn text_entity(text: &[u8]) -> Vec<u8> {
    [
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            .as_slice(),
        &mime::crlf(text),
    ]
    .concat()
}

/// Inline PGP in a text/plain body: a cleartext-signed block, or an armored
/// encrypted block. Text before or after the block is not covered by its
/// signature, so a post that has any does not count as signed, and only the
/// block's own content is passed on.
fn inline(
    raw: &[u8],
    list_key: &ListKey,
    members: &[(String, MemberKey)],
    from: Option<&str>,
    max_size: usize,
    now: SystemTime,
) -> Unwrapped {
    let Some(text) = mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
    else {
        return plain();
    };
    let find = |begin: &str, end: &str| -> Option<(usize, usize)> {
        let start = text.find(begin)?;
        let stop = text[start..].find(end)? + start + end.len();
        Some((start, stop))
    };
    let outside = |(start, stop): (usize, usize)| {
        !text[..start].trim().is_empty() || !text[stop..].trim().is_empty()
    };
    let mut helper = Helper {
        list_key,
        members,
        seen: Seen::default(),
    };
    if let Some(span) = find(
        "-----BEGIN PGP SIGNED MESSAGE-----",
        "-----END PGP SIGNATURE-----",
    ) {
        let block = &text.as_bytes()[span.0..span.1];
        let p = policy();
        let mut cleartext = Vec::new();
        let verified = pgp::parse::stream::VerifierBuilder::from_bytes(block)
            .and_then(|b| b.with_policy(&p, None, &mut helper))
            .and_then(|mut v| {
                (&mut v)
                    .take(max_size as u64 + 1)
                    .read_to_end(&mut cleartext)?;
                Ok(())
            });
        if let Err(e) = verified
            && helper.seen.bad.is_empty()
        {
            helper.seen.bad.push(e.to_string());
        }
        // The cleartext framework signs the text without its last line
        // break; the copy's text ends with one, as mail text does.
        if !cleartext.ends_with(b"\n") {
            cleartext.extend_from_slice(b"\r\n");
        }
        return inline_result(
            Encrypted::No,
            &cleartext,
            judge(&helper.seen, members, list_key, from, now),
            outside(span),
        );
    }
    if let Some(span) = find("-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----") {
        let block = text.as_bytes()[span.0..span.1].to_vec();
        return match decrypt(&block, &mut helper, max_size) {
            Err(e) => Unwrapped {
                encrypted: if helper.seen.pkesk_for_list {
                    Encrypted::Broken(e)
                } else {
                    Encrypted::NotForList
                },
                ..plain()
            },
            Ok(plaintext) => inline_result(
                Encrypted::ForList,
                &plaintext,
                judge(&helper.seen, members, list_key, from, now),
                outside(span),
            ),
        };
    }
    plain()
}

/// An inline block's verdict: a signature does not count when text stands
/// outside the block, and only a counting signature is kept for the replay
/// and age checks.
fn inline_result(
    encrypted: Encrypted,
    text: &[u8],
    (signed, digest, time): (Signed, Option<String>, Option<SystemTime>),
    text_outside: bool,
) -> Unwrapped {
    let signed = if text_outside && signed != Signed::No {
        Signed::Invalid("text outside the signed block is not covered by its signature".into())
    } else {
        signed
    };
    let counts = matches!(signed, Signed::ByMember { .. });
    Unwrapped {
        encrypted,
        signed,
        content: Some(text_entity(text)),
        signature_digest: digest.filter(|_| counts),
        signature_time: time.filter(|_| counts),
    }
}

fn broken(reason: &str) -> Unwrapped {
    Unwrapped {
        encrypted: Encrypted::Broken(reason.into()),
        signed: Signed::No,
        content: None,
        signature_digest: None,
        signature_time: None,
    }
}

fn is_pgp_signed(ct: &str) -> bool {
    mime::media_type(ct) == "multipart/signed"
        && mime::param(ct, "protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-signature"))
}

/// The signed entity (exact bytes, CRLF canonical) and the signature.
fn signed_parts(ct: &str, body: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let parts = mime::parts(body, &mime::param(ct, "boundary")?)?;
    if parts.len() != 2 {
        return None;
    }
    Some((mime::crlf(parts[0]), mime::split_head(parts[1]).1.to_vec()))
}

/// Looks at the packets ahead of the data: whether any key packet is for the
/// list, and whether the data lacks integrity protection (a Symmetrically
/// Encrypted Data packet, which sequoia rightly refuses to decrypt).
fn scan(ciphertext: &[u8], list_key: &ListKey) -> (bool, bool) {
    use pgp::parse::{PacketParser, PacketParserResult};
    let ours: Vec<pgp::KeyHandle> = list_key
        .cert()
        .keys()
        .map(|k| pgp::KeyHandle::from(k.key().fingerprint()))
        .collect();
    let (mut for_list, mut no_mdc) = (false, false);
    let Ok(mut ppr) = PacketParser::from_bytes(ciphertext) else {
        return (false, false);
    };
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            pgp::Packet::PKESK(pkesk) => {
                for_list |= pkesk
                    .recipient()
                    .is_none_or(|r| ours.iter().any(|o| o.aliases(&r)));
            }
            other if other.tag() == pgp::packet::Tag::SED => no_mdc = true,
            _ => {}
        }
        // Only the top level: the data itself is not decrypted here.
        match pp.next() {
            Ok((_, next)) => ppr = next,
            Err(_) => break,
        }
    }
    (for_list, no_mdc)
}

fn decrypt(ciphertext: &[u8], helper: &mut Helper<'_>, max_size: usize) -> Result<Vec<u8>, String> {
    let (for_list, no_mdc) = scan(ciphertext, helper.list_key);
    helper.seen.pkesk_for_list |= for_list;
    if no_mdc {
        return Err(
            "encrypted without integrity protection (no MDC), which is unsafe to decrypt (EFAIL)"
                .into(),
        );
    }
    let p = policy();
    let mut decryptor = DecryptorBuilder::from_bytes(ciphertext)
        .map_err(|e| format!("not an OpenPGP message: {e}"))?
        .with_policy(&p, None, &mut *helper)
        .map_err(|e| describe_failure(&e))?;
    let mut plaintext = Vec::new();
    // Reading to the end is what lets the verifier finish; the cap stops a
    // compression bomb.
    (&mut decryptor)
        .take(max_size as u64 + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| describe_failure(&e.into()))?;
    if plaintext.len() > max_size {
        return Err(format!(
            "it decrypts to more than {max_size} bytes (setting max-size)"
        ));
    }
    drop(decryptor);
    Ok(plaintext)
}

fn describe_failure(e: &pgp::anyhow::Error) -> String {
    let text = format!("{e:#}");
    if text.contains("SED")
        || text.to_ascii_lowercase().contains("integrity")
        || text.contains("MDC")
    {
        format!(
            "encrypted without integrity protection, which is unsafe to decrypt (EFAIL): {text}"
        )
    } else {
        text
    }
}

fn verify_detached(signed: &[u8], sig: &[u8], helper: &mut Helper<'_>) {
    let p = policy();
    let result = DetachedVerifierBuilder::from_bytes(sig)
        .and_then(|b| b.with_policy(&p, None, &mut *helper))
        .and_then(|mut v| v.verify_bytes(signed));
    if let Err(e) = result {
        // Collected by check() already when it got that far; a parse error
        // is recorded here.
        if helper.seen.bad.is_empty() && helper.seen.good.is_empty() {
            helper.seen.bad.push(e.to_string());
        }
    }
}

/// Decides who signed, from everything the verifier saw.
fn judge(
    seen: &Seen,
    members: &[(String, MemberKey)],
    list_key: &ListKey,
    from: Option<&str>,
    now: SystemTime,
) -> (Signed, Option<String>, Option<SystemTime>) {
    if seen.good.is_empty() {
        return match seen.bad.first() {
            None => (Signed::No, None, None),
            Some(reason) if reason.starts_with(NO_MEMBERS_KEY) => {
                (Signed::Invalid(reason.clone()), None, None)
            }
            Some(reason) => (
                Signed::Invalid(format!("the signature does not verify: {reason}")),
                None,
                None,
            ),
        };
    }
    if !seen.bad.is_empty() {
        return (
            Signed::Invalid(format!(
                "one of its signatures does not verify: {}",
                seen.bad[0]
            )),
            None,
            None,
        );
    }
    let (fingerprint, sig) = &seen.good[0];
    let Some((email, key)) = members
        .iter()
        .find(|(_, k)| k.cert().fingerprint() == *fingerprint)
    else {
        return (Signed::Invalid(NO_MEMBERS_KEY.into()), None, None);
    };
    let p = policy();
    let names_from = match key.cert().with_policy(&p, now) {
        Err(e) => {
            return (
                Signed::Invalid(format!("the signer's key is not valid now: {e}")),
                None,
                None,
            );
        }
        Ok(vc) => {
            if let RevocationStatus::Revoked(_) = vc.revocation_status() {
                return (
                    Signed::Invalid("the signer's key is revoked".into()),
                    None,
                    None,
                );
            }
            if let Err(e) = vc.alive() {
                return (
                    Signed::Invalid(format!("the signer's key has expired: {e}")),
                    None,
                    None,
                );
            }
            from.is_some_and(|from| {
                email.eq_ignore_ascii_case(from)
                    && vc.userids().any(|u| {
                        u.userid()
                            .email()
                            .ok()
                            .flatten()
                            .is_some_and(|e| e.eq_ignore_ascii_case(from))
                    })
            })
        }
    };
    let recipients: Vec<_> = sig.intended_recipients().collect();
    let list_fpr = list_key.cert().fingerprint();
    if !recipients.is_empty() && !recipients.iter().any(|r| **r == list_fpr) {
        return (
            Signed::Invalid(
                "the signature was made for other recipients (Intended Recipient), not this list"
                    .into(),
            ),
            None,
            None,
        );
    }
    // Last: the signature is good and a member's; whether the post says it
    // is theirs decides whether it counts.
    if !names_from {
        return (
            Signed::NotTheSender {
                email: email.clone(),
                fingerprint: fingerprint.to_hex(),
            },
            None,
            sig.signature_creation_time(),
        );
    }
    let digest = sig
        .to_vec()
        .ok()
        .map(|bytes| crate::store::sha256_hex(&bytes));
    (
        Signed::ByMember {
            email: email.clone(),
            fingerprint: fingerprint.to_hex(),
        },
        digest,
        sig.signature_creation_time(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_that_makes_the_openpgp_library_panic_reads_as_broken() {
        // Found by the openpgp_unwrap fuzz target: inline PGP whose key
        // packet is for the list, followed by a SEIP packet cut short where
        // the armor breaks off; sequoia-openpgp 2.4.2 unwraps an
        // "unexpected EOF" there (parse.rs, `data_consume_hard(bl + 2)`).
        // The key is the fuzz fixture's list key.
        let now = SystemTime::now();
        let list = ListKey::import(
            include_bytes!("testdata/fuzz-list-key.asc"),
            None,
            "list@example.org",
            now,
        )
        .unwrap();
        let post = include_bytes!("testdata/seip-cut-short.eml");
        let u = unwrap(post, &list, &[], None, 1 << 20, now);
        assert!(matches!(u.encrypted, Encrypted::Broken(_)), "{u:?}");
        assert_eq!(u.content, None);
    }

    fn fuzz_list_key(now: SystemTime) -> ListKey {
        ListKey::import(
            include_bytes!("testdata/fuzz-list-key.asc"),
            None,
            "list@example.org",
            now,
        )
        .unwrap()
    }

    /// A Thunderbird post (from test-data/messages, encrypted to the fuzz
    /// fixture's list key) as Exchange passes it on: a multipart/mixed of
    /// a text/plain footer, "PGPMIME Versions Identification" and
    /// "encrypted.asc" in base64.
    const EXCHANGE_MANGLED: &[u8] = include_bytes!("testdata/exchange-mangled.eml");

    #[test]
    fn pgp_mime_mangled_by_exchange_reads_as_the_pgp_mime_it_was() {
        let now = SystemTime::now();
        let u = unwrap(
            EXCHANGE_MANGLED,
            &fuzz_list_key(now),
            &[],
            None,
            1 << 20,
            now,
        );
        assert_eq!(u.encrypted, Encrypted::ForList, "{u:?}");
        let content = String::from_utf8(u.content.unwrap()).unwrap();
        assert!(content.contains("(exchange-mangled-pgpmime-with-footer)"));
        // The part Exchange put in front stays outside.
        assert!(!content.contains("Registered office"));
    }

    #[test]
    fn a_list_without_the_key_sees_an_exchange_mangled_post_as_encrypted() {
        let corpus = |name: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../test-data/messages")
                .join(name);
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        assert!(looks_encrypted(&corpus("exchange-mangled-pgpmime.eml")));
        assert!(looks_encrypted(&corpus(
            "thunderbird-pgpmime-signed-encrypted.eml"
        )));
        assert!(!looks_encrypted(&corpus("thunderbird-pgpmime-signed.eml")));
        assert!(!looks_encrypted(&corpus("neomutt-plain.eml")));
    }

    #[test]
    fn only_exactly_the_exchange_shape_is_repaired() {
        let now = SystemTime::now();
        let list = fuzz_list_key(now);
        let text = String::from_utf8(EXCHANGE_MANGLED.to_vec()).unwrap();
        let (head, _) = mime::split_head(EXCHANGE_MANGLED);
        let ct = mime::header(head, "Content-Type").unwrap();
        let b = mime::param(&ct, "boundary").unwrap();
        let variants = [
            // A fourth part.
            text.replace(
                &format!("--{b}--"),
                &format!("--{b}\r\nContent-Type: text/plain\r\n\r\nmore\r\n--{b}--"),
            ),
            // Another first part.
            text.replace(
                "Content-Type: text/plain; charset=\"us-ascii\"",
                "Content-Type: text/html; charset=\"us-ascii\"",
            ),
            // A version part that is not "Version: 1" ("Version: 2\r\r\n").
            text.replace("VmVyc2lvbjogMQ0NCg==", "VmVyc2lvbjogMg0NCg=="),
            // Data that is not application/octet-stream.
            text.replace(
                "Content-Type: application/octet-stream; name=",
                "Content-Type: text/plain; name=",
            ),
            // Data in an encoding Exchange does not use.
            text.replace(
                "Content-Type: application/octet-stream; name=\"encrypted.asc\"",
                "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Transfer-Encoding: quoted-printable",
            ),
            // Not multipart/mixed.
            text.replace("Content-Type: multipart/mixed;", "Content-Type: multipart/alternative;"),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(
                v.as_bytes(),
                EXCHANGE_MANGLED,
                "variant {i} changed nothing"
            );
            let u = unwrap(v.as_bytes(), &list, &[], None, 1 << 20, now);
            assert_eq!(u.encrypted, Encrypted::No, "variant {i}: {u:?}");
            assert_eq!(u.content, None, "variant {i}");
        }
    }

    #[test]
    fn a_signature_by_a_key_that_is_no_members_says_so() {
        let now = SystemTime::now();
        let list = fuzz_list_key(now);
        let stranger = ListKey::generate(
            "Carol",
            "carol@example.net",
            super::super::KeyAlgo::Ed25519,
            now,
        )
        .unwrap();
        let signed =
            super::super::sign_entity(b"Content-Type: text/plain\r\n\r\nHi\r\n", &stranger)
                .unwrap();
        let post = [b"From: carol@example.net\r\n".as_slice(), &signed].concat();
        let u = unwrap(&post, &list, &[], Some("carol@example.net"), 1 << 20, now);
        let Signed::Invalid(why) = &u.signed else {
            panic!("{u:?}");
        };
        assert!(
            why.starts_with("signed by a key that is no member's (OpenPGP key "),
            "{why}"
        );
        assert_eq!(u.signature_digest, None);
    }
}
