//! Reading a post sent to an S/MIME list (RFC 8551): decrypt with the list
//! key, check the signature against the members' certificates, and hand back
//! the clear content only when every check has passed.
//!
//! As for OpenPGP, only the message's root counts, plus one layer inside an
//! encryption (signed, then enveloped). S/MIME's own traps are handled here:
//! CBC encryption has no integrity, so an encrypted post counts only with a
//! member's signature inside; decryption is given the list certificate and
//! every failure reads the same; a signature must have exactly one signer
//! and its content either beside it (multipart/signed) or inside it, never
//! both.

use std::time::SystemTime;

use openssl::cms::{CMSOptions, CmsContentInfo};

use super::der::{self, Cms, SignedData};
use super::{ListKey, MemberCert, unbase64};
use crate::crypto::{Encrypted, Signed, Unwrapped};
use crate::mime;

/// The one answer for every way decryption can fail, so that a poster
/// probing the list learns nothing from the reason (a padding oracle).
const UNDECRYPTABLE: &str = "it could not be decrypted with the list key";

fn is_pkcs7(media: &str) -> bool {
    media == "application/pkcs7-mime" || media == "application/x-pkcs7-mime"
}

fn is_pkcs7_signature(protocol: &str) -> bool {
    let p = protocol.to_ascii_lowercase();
    p == "application/pkcs7-signature" || p == "application/x-pkcs7-signature"
}

/// Whether the message is S/MIME at its root (encrypted, or signed either
/// way), so that the S/MIME reader is the one to read it.
pub fn is_smime(raw: &[u8]) -> bool {
    let (head, _) = mime::split_head(raw);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    let media = mime::media_type(&ct);
    is_pkcs7(&media)
        || (media == "multipart/signed"
            && mime::param(&ct, "protocol").is_some_and(|p| is_pkcs7_signature(&p)))
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

/// A body's transfer encoding undone (base64 is what S/MIME uses; binary
/// and 7bit pass).
fn decoded_body(head: &[u8], body: &[u8]) -> Result<Vec<u8>, String> {
    match mime::header(head, "Content-Transfer-Encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => unbase64(body),
        Some("quoted-printable") => {
            Err("its CMS part is quoted-printable, which S/MIME does not use".into())
        }
        _ => Ok(body.to_vec()),
    }
}

/// The CMS message as DER: OpenSSL reads BER (gpgsm's indefinite lengths
/// too) and writes it back as DER for [`der::inspect`].
fn parse_cms(bytes: &[u8]) -> Result<(CmsContentInfo, Vec<u8>), String> {
    let cms =
        CmsContentInfo::from_der(bytes).map_err(|_| "its CMS part cannot be read".to_string())?;
    let der = cms
        .to_der()
        .map_err(|_| "its CMS part cannot be read".to_string())?;
    Ok((cms, der))
}

/// Reads a post. `from` is the post's single From address (or `None` when
/// there is not exactly one, or a Sender differs from it). `list` is `None`
/// when the list has no S/MIME key: then nothing can be decrypted, but
/// signatures are still read.
pub fn unwrap(
    raw: &[u8],
    list: Option<&ListKey>,
    members: &[(String, MemberCert)],
    from: Option<&str>,
    max_size: usize,
    now: SystemTime,
) -> Unwrapped {
    let (head, body) = mime::split_head(raw);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    let media = mime::media_type(&ct);
    if media == "multipart/signed" {
        return match mime::param(&ct, "protocol") {
            Some(p) if is_pkcs7_signature(&p) => {
                let checked = detached(&ct, body, members, from, now);
                finish(Encrypted::No, checked)
            }
            _ => plain(),
        };
    }
    if !is_pkcs7(&media) {
        return plain();
    }
    let bytes = match decoded_body(head, body) {
        Ok(b) => b,
        Err(why) => return broken_or_invalid(&ct, why),
    };
    let (cms, der) = match parse_cms(&bytes) {
        Ok(p) => p,
        Err(why) => return broken_or_invalid(&ct, why),
    };
    match der::inspect(&der) {
        Err(why) => broken_or_invalid(&ct, why),
        Ok(Cms::Signed(info)) => finish(Encrypted::No, opaque(cms, &info, members, from, now)),
        Ok(Cms::Other(kind)) => broken_or_invalid(
            &ct,
            format!("a CMS content of type {kind}, which Conclave does not read"),
        ),
        Ok(Cms::Enveloped(info)) => {
            if let Some(why) = weak_cipher(&info.cipher) {
                return broken(why);
            }
            let Some(list) = list else {
                return Unwrapped {
                    encrypted: Encrypted::NotForList,
                    ..plain()
                };
            };
            if !info.recipients.iter().any(|r| r.names(list.cert())) {
                return Unwrapped {
                    encrypted: Encrypted::NotForList,
                    ..plain()
                };
            }
            let Ok(clear) = cms.decrypt(list.key(), list.cert()) else {
                return broken(UNDECRYPTABLE.into());
            };
            if clear.len() > max_size {
                return broken(format!(
                    "it decrypts to more than max-size ({max_size} bytes)"
                ));
            }
            let inner = inner(&clear, members, from, now);
            let encrypted = match (&inner.signed, info.authenticated) {
                // A member's signature over the content protects it.
                (Signed::ByMember { .. } | Signed::NotTheSender { .. }, _) | (_, true) => Encrypted::ForList,
                (Signed::No, false) => Encrypted::Broken(
                    "encrypted with AES-CBC, which does not protect against changes, and not signed by a member inside; \
                     ask the poster to sign encrypted posts"
                        .into(),
                ),
                (Signed::Invalid(why), false) => Encrypted::Broken(format!(
                    "encrypted with AES-CBC, which does not protect against changes, and the signature inside does not count ({why})"
                )),
            };
            if matches!(encrypted, Encrypted::Broken(_)) {
                return Unwrapped {
                    encrypted,
                    ..plain()
                };
            }
            Unwrapped { encrypted, ..inner }
        }
    }
}

fn broken(why: String) -> Unwrapped {
    Unwrapped {
        encrypted: Encrypted::Broken(why),
        ..plain()
    }
}

/// An unreadable CMS part counts against the post as what it claims to be.
fn broken_or_invalid(ct: &str, why: String) -> Unwrapped {
    let kind = mime::param(ct, "smime-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if kind == "signed-data" {
        Unwrapped {
            signed: Signed::Invalid(why),
            ..plain()
        }
    } else {
        broken(why)
    }
}

/// The content decrypted from an enveloped post: a signed entity is
/// checked; anything else is the content as it is (and unsigned).
fn inner(
    clear: &[u8],
    members: &[(String, MemberCert)],
    from: Option<&str>,
    now: SystemTime,
) -> Unwrapped {
    let (head, body) = mime::split_head(clear);
    let ct = mime::header(head, "Content-Type").unwrap_or_default();
    let media = mime::media_type(&ct);
    let checked = if media == "multipart/signed"
        && mime::param(&ct, "protocol").is_some_and(|p| is_pkcs7_signature(&p))
    {
        detached(&ct, body, members, from, now)
    } else if is_pkcs7(&media) {
        match decoded_body(head, body).and_then(|b| parse_cms(&b)) {
            Err(why) => Checked::invalid(why),
            Ok((cms, der)) => match der::inspect(&der) {
                Ok(Cms::Signed(info)) => opaque(cms, &info, members, from, now),
                Ok(_) => Checked::invalid(
                    "it holds a second encryption inside the first, which Conclave does not read"
                        .into(),
                ),
                Err(why) => Checked::invalid(why),
            },
        }
    } else {
        return Unwrapped {
            content: Some(clear.to_vec()),
            ..plain()
        };
    };
    match checked.signed {
        // What the signature covers is what members get; an inner signature
        // that does not count leaves the clear entity, still marked invalid.
        Signed::ByMember { .. } | Signed::NotTheSender { .. } => {
            finish(Encrypted::ForList, checked)
        }
        _ => Unwrapped {
            signed: checked.signed,
            content: Some(clear.to_vec()),
            ..plain()
        },
    }
}

/// What checking one signature found.
struct Checked {
    signed: Signed,
    content: Option<Vec<u8>>,
    digest: Option<String>,
    time: Option<SystemTime>,
}

impl Checked {
    fn invalid(why: String) -> Checked {
        Checked {
            signed: Signed::Invalid(why),
            content: None,
            digest: None,
            time: None,
        }
    }
}

fn finish(encrypted: Encrypted, c: Checked) -> Unwrapped {
    let good = matches!(c.signed, Signed::ByMember { .. });
    // What a member's key signed is the content, whoever From names.
    let verified = good || matches!(c.signed, Signed::NotTheSender { .. });
    Unwrapped {
        encrypted,
        content: if verified { c.content } else { None },
        signature_digest: if good { c.digest } else { None },
        signature_time: if good { c.time } else { None },
        signed: c.signed,
    }
}

/// multipart/signed: the first part exactly as it came, the second the
/// signature over it.
fn detached(
    ct: &str,
    body: &[u8],
    members: &[(String, MemberCert)],
    from: Option<&str>,
    now: SystemTime,
) -> Checked {
    let Some(parts) = mime::param(ct, "boundary").and_then(|b| mime::parts(body, &b)) else {
        return Checked::invalid("its multipart/signed structure is broken".into());
    };
    if parts.len() != 2 {
        return Checked::invalid(format!(
            "its multipart/signed has {} parts instead of 2",
            parts.len()
        ));
    }
    let (sig_head, sig_body) = mime::split_head(parts[1]);
    let sig_ct = mime::header(sig_head, "Content-Type").unwrap_or_default();
    if !is_pkcs7_signature(&mime::media_type(&sig_ct)) {
        return Checked::invalid("its signature part is not application/pkcs7-signature".into());
    }
    let parsed = decoded_body(sig_head, sig_body).and_then(|b| parse_cms(&b));
    let (mut cms, der) = match parsed {
        Ok(p) => p,
        Err(why) => return Checked::invalid(why),
    };
    let info = match der::inspect(&der) {
        Ok(Cms::Signed(info)) => info,
        Ok(_) => return Checked::invalid("its signature part holds no signature".into()),
        Err(why) => return Checked::invalid(why),
    };
    if info.has_content {
        return Checked::invalid(
            "its signature carries content of its own besides the signed part".into(),
        );
    }
    verify(&mut cms, &info, Some(parts[0]), members, from, now)
}

/// application/pkcs7-mime; smime-type=signed-data: the content inside.
fn opaque(
    mut cms: CmsContentInfo,
    info: &SignedData,
    members: &[(String, MemberCert)],
    from: Option<&str>,
    now: SystemTime,
) -> Checked {
    if !info.has_content {
        return Checked::invalid("its signature has no content (detached) but stands alone".into());
    }
    verify(&mut cms, info, None, members, from, now)
}

const WEAK_DIGESTS: [(&str, &str); 2] = [("1.2.840.113549.2.5", "MD5"), ("1.3.14.3.2.26", "SHA-1")];
const WEAK_SIGNATURES: [(&str, &str); 5] = [
    ("1.2.840.113549.1.1.4", "MD5 with RSA"),
    ("1.2.840.113549.1.1.5", "SHA-1 with RSA"),
    ("1.2.840.10045.4.1", "ECDSA with SHA-1"),
    ("1.2.840.10040.4.3", "DSA with SHA-1"),
    ("1.2.840.10040.4.1", "DSA"),
];

/// Why a content cipher is refused, if it is: RC2, DES and 3DES are old
/// enough to be broken or to tell of a client that should be updated.
fn weak_cipher(oid: &str) -> Option<String> {
    let name = match oid {
        "1.2.840.113549.3.2" => "RC2",
        "1.3.14.3.2.7" => "DES",
        "1.2.840.113549.3.7" => "3DES",
        // AES-128/192/256 in CBC and GCM.
        "2.16.840.1.101.3.4.1.2" | "2.16.840.1.101.3.4.1.22" | "2.16.840.1.101.3.4.1.42" => {
            return None;
        }
        "2.16.840.1.101.3.4.1.6" | "2.16.840.1.101.3.4.1.26" | "2.16.840.1.101.3.4.1.46" => {
            return None;
        }
        other => {
            return Some(format!(
                "it is encrypted with an algorithm Conclave does not accept ({other})"
            ));
        }
    };
    Some(format!(
        "it is encrypted with {name}, which is too weak; the poster's mail client should use AES"
    ))
}

fn verify(
    cms: &mut CmsContentInfo,
    info: &SignedData,
    detached: Option<&[u8]>,
    members: &[(String, MemberCert)],
    from: Option<&str>,
    now: SystemTime,
) -> Checked {
    let signer = match info.signers.as_slice() {
        [one] => one,
        [] => return Checked::invalid("its signature has no signer".into()),
        many => {
            return Checked::invalid(format!(
                "its signature has {} signers; only one is accepted",
                many.len()
            ));
        }
    };
    if let Some((_, name)) = WEAK_DIGESTS.iter().find(|(o, _)| *o == signer.digest) {
        return Checked::invalid(format!("it is signed with {name}, which can be forged"));
    }
    if let Some((_, name)) = WEAK_SIGNATURES
        .iter()
        .find(|(o, _)| *o == signer.signature_algorithm)
    {
        return Checked::invalid(format!("it is signed with {name}, which can be forged"));
    }
    let Some((email, cert)) = members.iter().find(|(_, c)| signer.signer.names(c.cert())) else {
        return Checked::invalid("it is signed by a certificate that is no member's".into());
    };
    if let Some(why) = cert.unusable(now) {
        return Checked::invalid(format!(
            "the signing certificate of {email} does not count: {why}"
        ));
    }
    let mut certs = match openssl::stack::Stack::new() {
        Ok(s) => s,
        Err(e) => return Checked::invalid(e.to_string()),
    };
    if certs.push(cert.cert().clone()).is_err() {
        return Checked::invalid("the member's certificate cannot be used".into());
    }
    let store = match openssl::x509::store::X509StoreBuilder::new() {
        Ok(b) => b.build(),
        Err(e) => return Checked::invalid(e.to_string()),
    };
    // The signer is found among the stored member certificates only (not
    // those the message brings), and its chain was judged when the owner
    // added it; what is checked here is the signature over the bytes.
    let flags = CMSOptions::NOINTERN | CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY;
    let mut out = Vec::new();
    if cms
        .verify(Some(&certs), Some(&store), detached, Some(&mut out), flags)
        .is_err()
    {
        return Checked::invalid(
            "its signature does not match the content (changed after signing?)".into(),
        );
    }
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&signer.signature)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let content = match detached {
        Some(d) => d.to_vec(),
        None => out,
    };
    let time = signer
        .signing_time
        .map(|t| std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64));
    // Last: the signature is good and a member's; whether the post says it
    // is theirs decides whether it counts.
    if !from.is_some_and(|f| f.eq_ignore_ascii_case(email)) {
        let signed = Signed::NotTheSender {
            email: email.clone(),
            fingerprint: cert.fingerprint(),
        };
        return Checked {
            signed,
            content: Some(content),
            digest: None,
            time,
        };
    }
    Checked {
        signed: Signed::ByMember {
            email: email.clone(),
            fingerprint: cert.fingerprint(),
        },
        content: Some(content),
        digest: Some(digest),
        time,
    }
}
