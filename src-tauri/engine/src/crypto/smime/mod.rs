//! S/MIME with OpenSSL's CMS: the list's certificate and private key
//! ([`ListKey`]), the members' certificates ([`MemberCert`]), reading
//! posts ([`unwrap`]) and building the members' copies ([`sign_entity`],
//! [`encrypt_entity`]). What is read ends in the same [`crate::crypto::Unwrapped`]
//! as for OpenPGP, so one policy core decides for both.

mod der;
mod list_key;
mod member_cert;
mod unwrap;
mod wrap;

pub use list_key::{KeyAlgo, ListKey};
pub use member_cert::{CertReview, MemberCert, Trust, is_authority};
pub use unwrap::{is_smime, unwrap};
pub use wrap::{Cipher, SharedPayload, encrypt_entity, shared_payloads, sign_entity};

use std::time::SystemTime;

use openssl::x509::{X509, X509Ref};

#[derive(Debug, thiserror::Error)]
pub enum SmimeError {
    #[error(
        "no certificate found in it ({0}): give a PEM (.pem, .crt), DER (.cer, .der) or PKCS#7 (.p7b) file"
    )]
    NotACertificate(String),
    #[error("no certificate in it carries the address {0}: give the member's own certificate")]
    NotForAddress(String),
    #[error("the certificate is refused: {0}")]
    Refused(String),
    #[error(
        "this is not a list key ({0}): give a PKCS#12 file (.p12, .pfx) or a PEM file with the private key and its certificate"
    )]
    NotAnIdentity(String),
    #[error("the PKCS#12 file is protected by a password: give the password")]
    NeedsPassword,
    #[error("the password does not open this PKCS#12 file: check it and try again")]
    WrongPassword,
    #[error(
        "the certificate does not belong to the list's private key: install the certificate issued for this list's request"
    )]
    KeyMismatch,
    #[error("the list key is not usable: {0}")]
    Unusable(String),
    #[error("the list certificate cannot be renewed: {0}")]
    Renew(String),
}

fn failed(e: impl std::fmt::Display) -> SmimeError {
    SmimeError::Unusable(e.to_string())
}

/// What is known of a certificate, for `list key show` and the members
/// table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct CertInfo {
    /// SHA-256 of the certificate, upper-case hex in groups of four.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub emails: Vec<String>,
    /// "RSA 3072", "ECDSA P-256".
    pub algorithm: String,
    /// RFC 3339, UTC.
    pub valid_from: String,
    pub expires: String,
    pub self_signed: bool,
}

pub fn fingerprint(cert: &X509Ref) -> String {
    let digest = cert
        .digest(openssl::hash::MessageDigest::sha256())
        .map(|d| d.to_vec())
        .unwrap_or_default();
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

fn name_text(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let field = e.object().nid().short_name().unwrap_or("?");
            let value = String::from_utf8_lossy(e.data().as_slice()).into_owned();
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since 1970 of an ASN.1 time.
fn unix(t: &openssl::asn1::Asn1TimeRef) -> i64 {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).expect("the epoch is a time");
    epoch
        .diff(t)
        .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs))
        .unwrap_or(0)
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn secs(now: SystemTime) -> i64 {
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// "RSA 3072" or "ECDSA P-256"; an error names what is not accepted.
fn key_algorithm(cert: &X509Ref) -> Result<String, String> {
    let key = cert
        .public_key()
        .map_err(|e| format!("its public key cannot be read ({e})"))?;
    if let Ok(rsa) = key.rsa() {
        let bits = rsa.size() * 8;
        if bits < 2048 {
            return Err(format!(
                "its RSA key has {bits} bits; at least 2048 are needed"
            ));
        }
        return Ok(format!("RSA {bits}"));
    }
    if let Ok(ec) = key.ec_key() {
        use openssl::nid::Nid;
        return match ec.group().curve_name() {
            Some(Nid::X9_62_PRIME256V1) => Ok("ECDSA P-256".into()),
            Some(Nid::SECP384R1) => Ok("ECDSA P-384".into()),
            Some(Nid::SECP521R1) => Ok("ECDSA P-521".into()),
            other => Err(format!(
                "its key is on a curve mail clients do not share ({other:?})"
            )),
        };
    }
    Err("its key is neither RSA nor elliptic-curve".into())
}

/// The e-mail addresses a certificate carries (subjectAltName rfc822Name
/// and subject emailAddress), refusing any with whitespace or control
/// characters: such an address can make one certificate pass for another
/// in a client's display (signature spoofing).
pub(crate) fn emails(cert: &X509Ref) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in names.iter() {
            if let Some(e) = n.email() {
                found.push(e.to_string());
            }
        }
    }
    for e in cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::PKCS9_EMAILADDRESS)
    {
        let raw = e.data().as_slice();
        found.push(String::from_utf8_lossy(raw).into_owned());
    }
    for e in &found {
        if e.chars().any(|c| c.is_whitespace() || c.is_control()) || !e.contains('@') {
            return Err(format!(
                "it carries the address {e:?}, which holds spaces or control characters (a spoofing trick)"
            ));
        }
    }
    // The same address often stands in both places.
    let mut unique: Vec<String> = Vec::with_capacity(found.len());
    for e in found {
        if !unique.iter().any(|u| u.eq_ignore_ascii_case(&e)) {
            unique.push(e);
        }
    }
    Ok(unique)
}

/// The subject's common name, when it is a name rather than an address
/// (what a member is called, for the members table).
pub fn person_name(cert: &X509Ref) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .map(|e| {
            String::from_utf8_lossy(e.data().as_slice())
                .trim()
                .to_string()
        })
        .filter(|n| !n.is_empty() && !n.contains('@') && !n.chars().any(char::is_control))
}

pub fn info(cert: &X509Ref) -> CertInfo {
    CertInfo {
        fingerprint: fingerprint(cert),
        subject: name_text(cert.subject_name()),
        issuer: name_text(cert.issuer_name()),
        emails: emails(cert).unwrap_or_default(),
        algorithm: key_algorithm(cert).unwrap_or_else(|e| e),
        valid_from: rfc3339(unix(cert.not_before())),
        expires: rfc3339(unix(cert.not_after())),
        self_signed: cert.subject_name().to_der().ok() == cert.issuer_name().to_der().ok()
            && cert
                .public_key()
                .and_then(|k| cert.verify(&k))
                .unwrap_or(false),
    }
}

/// Every certificate in a PEM file (one or many), a DER certificate, or a
/// PKCS#7 bundle (PEM or DER).
pub fn read_certs(bytes: &[u8]) -> Result<Vec<X509>, SmimeError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN CERTIFICATE-----")
        || text.contains("-----BEGIN X509 CERTIFICATE-----")
    {
        return X509::stack_from_pem(bytes).map_err(|e| SmimeError::NotACertificate(e.to_string()));
    }
    if text.contains("-----BEGIN PKCS7-----") {
        let p7 = openssl::pkcs7::Pkcs7::from_pem(bytes)
            .map_err(|e| SmimeError::NotACertificate(e.to_string()))?;
        return pkcs7_certs(&p7);
    }
    if let Ok(cert) = X509::from_der(bytes) {
        return Ok(vec![cert]);
    }
    match openssl::pkcs7::Pkcs7::from_der(bytes) {
        Ok(p7) => pkcs7_certs(&p7),
        Err(e) => Err(SmimeError::NotACertificate(e.to_string())),
    }
}

/// The certificates a mail's S/MIME signature carries (a detached
/// application/pkcs7-signature part, or opaque signed-data), the signer's
/// among them: where a newcomer's certificate comes from.
pub fn signature_certs(raw: &[u8]) -> Vec<X509> {
    use mail_parser::MimeHeaders;
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let mut certs = Vec::new();
    for part in message.parts.iter() {
        let signature = part.is_content_type("application", "pkcs7-signature")
            || part.is_content_type("application", "x-pkcs7-signature")
            || ((part.is_content_type("application", "pkcs7-mime")
                || part.is_content_type("application", "x-pkcs7-mime"))
                && part
                    .content_type()
                    .and_then(|ct| ct.attribute("smime-type"))
                    .is_some_and(|t| t.eq_ignore_ascii_case("signed-data")));
        if signature && let Ok(found) = read_certs(part.contents()) {
            certs.extend(found);
        }
    }
    certs
}

fn pkcs7_certs(p7: &openssl::pkcs7::Pkcs7Ref) -> Result<Vec<X509>, SmimeError> {
    let certs: Vec<X509> = p7
        .signed()
        .and_then(|s| s.certificates())
        .map(|stack| stack.iter().map(|c| c.to_owned()).collect())
        .unwrap_or_default();
    if certs.is_empty() {
        return Err(SmimeError::NotACertificate(
            "the PKCS#7 bundle holds no certificate".into(),
        ));
    }
    Ok(certs)
}

/// Base64 with lines of 76 characters and CRLF, as mail carries it.
pub(crate) fn base64_lines(data: &[u8]) -> Vec<u8> {
    crate::crypto::shared_text::lines(data, 76)
}

pub(crate) fn unbase64(text: &[u8]) -> Result<Vec<u8>, String> {
    let clean: String = text
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| *b as char)
        .collect();
    openssl::base64::decode_block(&clean).map_err(|_| "its base64 encoding is broken".to_string())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use openssl::pkey::{PKey, Private};

    /// A certificate for `email`, signed by `issuer` (or by itself).
    pub fn cert_for(
        email: &str,
        issuer: Option<(&X509, &PKey<Private>)>,
        rsa_bits: Option<u32>,
    ) -> (X509, PKey<Private>) {
        let key = match rsa_bits {
            Some(bits) => PKey::from_rsa(openssl::rsa::Rsa::generate(bits).unwrap()).unwrap(),
            None => {
                let group =
                    openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                        .unwrap();
                PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap()
            }
        };
        let cert = list_key::make_cert(
            email,
            &key,
            issuer,
            365,
            issuer.is_none() && email.is_empty(),
        )
        .unwrap();
        (cert, key)
    }
}
