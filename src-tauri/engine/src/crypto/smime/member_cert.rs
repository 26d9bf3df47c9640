//! A member's S/MIME certificate, checked before it is stored: it must be
//! for the member's address, valid now, made for mail signing and
//! encryption, with a key of a safe size, and either issued by one of the
//! list's trust anchors or pinned by the owner.

use std::time::SystemTime;

use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509KeyUsage, X509PurposeId, X509Ref, X509StoreContext};

use super::{CertInfo, SmimeError, emails, info, key_algorithm, read_certs, secs, unix};

#[derive(Clone)]
pub struct MemberCert {
    cert: X509,
}

/// Why a certificate cannot be a member's, if it cannot.
fn unsuitable(cert: &X509Ref, now: SystemTime) -> Option<String> {
    if let Err(why) = key_algorithm(cert) {
        return Some(why);
    }
    let now = secs(now);
    if unix(cert.not_before()) > now {
        return Some(format!("it is valid only from {}", info(cert).valid_from));
    }
    if unix(cert.not_after()) < now {
        return Some(format!("it expired on {}", info(cert).expires));
    }
    if let Some(usage) = cert.key_usage() {
        let rsa = cert.public_key().is_ok_and(|k| k.rsa().is_ok());
        let sign =
            usage.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION);
        let encrypt = if rsa {
            usage.contains(X509KeyUsage::KEY_ENCIPHERMENT)
        } else {
            usage.contains(X509KeyUsage::KEY_AGREEMENT)
        };
        if !sign || !encrypt {
            return Some("its key usage does not allow both signing and encrypting mail".into());
        }
    }
    if let Some(purposes) = cert.extended_key_usage()
        && !purposes.intersects(
            openssl::x509::X509ExtendedKeyUsage::SMIME
                | openssl::x509::X509ExtendedKeyUsage::ANYEKU,
        )
    {
        return Some(
            "it is not made for e-mail (its extended key usage lacks emailProtection)".into(),
        );
    }
    let digest = cert.signature_algorithm().object().nid();
    use openssl::nid::Nid;
    if [
        Nid::SHA1WITHRSAENCRYPTION,
        Nid::MD5WITHRSAENCRYPTION,
        Nid::ECDSA_WITH_SHA1,
        Nid::DSAWITHSHA1,
    ]
    .contains(&digest)
    {
        return Some("it is signed with SHA-1 or MD5, which can be forged".into());
    }
    None
}

impl MemberCert {
    /// Checks a certificate file (PEM, DER or PKCS#7 bundle) for `email`.
    /// `anchors` are the list's trust anchors; `pinned` says the owner
    /// vouches for this very certificate (self-made ones are common).
    pub fn check(
        bytes: &[u8],
        email: &str,
        anchors: &[X509],
        pinned: bool,
        now: SystemTime,
    ) -> Result<MemberCert, SmimeError> {
        let email = email.trim();
        let certs = read_certs(bytes)?;
        let mut refusals = Vec::new();
        let mut leaf = None;
        for cert in &certs {
            match emails(cert) {
                Err(why) => refusals.push(why),
                Ok(found) if found.iter().any(|e| e.eq_ignore_ascii_case(email)) => {
                    leaf = Some(cert.clone());
                    break;
                }
                Ok(_) => {}
            }
        }
        let Some(cert) = leaf else {
            return Err(match refusals.pop() {
                Some(why) => SmimeError::Refused(why),
                None => SmimeError::NotForAddress(email.into()),
            });
        };
        if let Some(why) = unsuitable(&cert, now) {
            return Err(SmimeError::Refused(why));
        }
        if !pinned {
            let others: Vec<X509> = certs
                .iter()
                .filter(|c| c.to_der().ok() != cert.to_der().ok())
                .cloned()
                .collect();
            if let Err(why) = chains_to(&cert, &others, anchors) {
                return Err(SmimeError::Refused(why.to_string()));
            }
        }
        Ok(MemberCert { cert })
    }

    /// What a certificate is and how it stands, whether or not it would be
    /// taken, so that an owner sees it before anything is saved: why it
    /// cannot be a member's at all, if so, and whether it chains to one of
    /// `anchors` (with `others` as intermediates) or would have to be
    /// pinned. [`MemberCert::check`] decides the same way.
    pub fn examine(cert: &X509, others: &[X509], anchors: &[X509], now: SystemTime) -> CertReview {
        let unsuitable = emails(cert).err().or_else(|| unsuitable(cert, now));
        let trust = match chains_to(cert, others, anchors) {
            Ok(anchor) => Trust::Authority {
                subject: info(&anchor).subject,
                fingerprint: super::fingerprint(&anchor),
            },
            Err(Untrusted::Unknown) if info(cert).self_signed => Trust::SelfSigned,
            Err(Untrusted::Unknown) => Trust::UnknownIssuer {
                issuer: info(cert).issuer,
            },
            Err(Untrusted::Broken(why)) => Trust::Broken { why },
        };
        CertReview {
            info: info(cert),
            unsuitable,
            trust,
        }
    }

    /// A certificate read back from the store (checked when it was added).
    pub fn from_stored(der: &[u8]) -> Result<MemberCert, SmimeError> {
        X509::from_der(der)
            .map(|cert| MemberCert { cert })
            .map_err(|e| SmimeError::NotACertificate(e.to_string()))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.cert.to_der().unwrap_or_default()
    }

    /// When the certificate ends.
    pub fn not_after(&self) -> std::time::SystemTime {
        let secs = super::unix(self.cert.not_after());
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64)
    }

    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    pub fn fingerprint(&self) -> String {
        super::fingerprint(&self.cert)
    }

    pub fn info(&self) -> CertInfo {
        info(&self.cert)
    }

    /// Whether a copy may be encrypted to it now.
    pub fn can_encrypt(&self, now: SystemTime) -> bool {
        unsuitable(&self.cert, now).is_none()
    }

    /// Why a signature made with it does not count now, if it does not.
    pub fn unusable(&self, now: SystemTime) -> Option<String> {
        unsuitable(&self.cert, now)
    }
}

/// What is known of a certificate before it is taken or refused
/// ([`MemberCert::examine`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertReview {
    pub info: CertInfo,
    /// Why it cannot be a member's certificate at all, pinned or not.
    pub unsuitable: Option<String>,
    pub trust: Trust,
}

/// How a certificate stands with the authorities a list trusts. Any but
/// `Authority` is taken only when the owner pins it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Trust {
    /// Issued (directly or through the file's intermediates) by this
    /// trusted authority.
    Authority {
        subject: String,
        fingerprint: String,
    },
    /// Signed by its own key: only the member can vouch for it.
    SelfSigned,
    /// Issued by an authority the list does not trust.
    UnknownIssuer { issuer: String },
    /// Its chain to a trusted authority does not verify.
    Broken { why: String },
}

impl Trust {
    pub fn trusted(&self) -> bool {
        matches!(self, Trust::Authority { .. })
    }
}

/// Whether a certificate is an authority's (it signs certificates) rather
/// than a member's: its key usage says so, or it issued another
/// certificate among `others` and carries no address of its own.
pub fn is_authority(cert: &X509Ref, others: &[X509]) -> bool {
    if cert
        .key_usage()
        .is_some_and(|u| u.contains(X509KeyUsage::KEY_CERT_SIGN))
    {
        return true;
    }
    let subject = cert.subject_name().to_der().ok();
    let own = cert.to_der().ok();
    emails(cert).is_ok_and(|e| e.is_empty())
        && others
            .iter()
            .any(|o| o.to_der().ok() != own && o.issuer_name().to_der().ok() == subject)
}

enum Untrusted {
    /// No trusted authority is its issuer.
    Unknown,
    Broken(String),
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untrusted::Unknown => f.write_str(
                "it is not issued by an authority this list trusts: add the authority's certificate with \
                 `list trust add`, or pin this certificate (--pin) if the member gave it to you in person",
            ),
            Untrusted::Broken(why) => write!(f, "its chain to the list's authority does not verify ({why})"),
        }
    }
}

/// The trusted authority the certificate chains to, with `others` as
/// intermediates.
fn chains_to(cert: &X509Ref, others: &[X509], anchors: &[X509]) -> Result<X509, Untrusted> {
    if anchors.is_empty() {
        return Err(Untrusted::Unknown);
    }
    let broken = |e: openssl::error::ErrorStack| Untrusted::Broken(e.to_string());
    let mut store = X509StoreBuilder::new().map_err(broken)?;
    for a in anchors {
        store.add_cert(a.clone()).map_err(broken)?;
    }
    store
        .set_purpose(X509PurposeId::SMIME_SIGN)
        .map_err(broken)?;
    let store = store.build();
    let mut chain = openssl::stack::Stack::new().map_err(broken)?;
    for o in others {
        chain.push(o.clone()).map_err(broken)?;
    }
    let mut ctx = X509StoreContext::new().map_err(broken)?;
    let (ok, error, top) = ctx
        .init(&store, cert, &chain, |c| {
            let ok = c.verify_cert()?;
            let top = c
                .chain()
                .and_then(|s| s.iter().last().map(|t| t.to_owned()));
            Ok((ok, c.error(), top))
        })
        .map_err(broken)?;
    if ok {
        return top.ok_or_else(|| Untrusted::Broken("no chain was built".into()));
    }
    let unknown_issuer = [
        openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
        openssl_sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
        openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
    ];
    if unknown_issuer.contains(&error.as_raw()) {
        Err(Untrusted::Unknown)
    } else {
        Err(Untrusted::Broken(error.error_string().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::KeyAlgo;
    use super::super::list_key::{make_cert, new_key};
    use super::*;

    fn pem(c: &X509) -> Vec<u8> {
        c.to_pem().unwrap()
    }

    #[test]
    fn trusted_or_pinned_and_for_the_address() {
        let now = SystemTime::now();
        let ca_key = new_key(KeyAlgo::P256).unwrap();
        let ca = make_cert("", &ca_key, None, 30, true).unwrap();
        let key = new_key(KeyAlgo::P256).unwrap();
        let issued = make_cert("bob@example.org", &key, Some((&ca, &ca_key)), 30, false).unwrap();
        let own = make_cert("bob@example.org", &key, None, 30, false).unwrap();

        let ok = MemberCert::check(
            &pem(&issued),
            "Bob@example.org",
            std::slice::from_ref(&ca),
            false,
            now,
        )
        .unwrap();
        assert_eq!(ok.fingerprint(), super::super::fingerprint(&issued));
        // DER and a PKCS#7 bundle too.
        assert!(
            MemberCert::check(
                &issued.to_der().unwrap(),
                "bob@example.org",
                std::slice::from_ref(&ca),
                false,
                now
            )
            .is_ok()
        );

        let e = MemberCert::check(
            &pem(&own),
            "bob@example.org",
            std::slice::from_ref(&ca),
            false,
            now,
        )
        .err()
        .unwrap();
        assert!(
            e.to_string()
                .contains("not issued by an authority this list trusts"),
            "{e}"
        );
        assert!(
            MemberCert::check(&pem(&own), "bob@example.org", &[], true, now).is_ok(),
            "pinned"
        );
        let e = MemberCert::check(
            &pem(&issued),
            "carol@example.org",
            std::slice::from_ref(&ca),
            false,
            now,
        )
        .err()
        .unwrap();
        assert!(matches!(e, SmimeError::NotForAddress(_)), "{e}");
        let later = now + std::time::Duration::from_secs(40 * 86_400);
        let e = MemberCert::check(
            &pem(&issued),
            "bob@example.org",
            std::slice::from_ref(&ca),
            false,
            later,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn examined_it_says_which_authority_vouches_for_it_or_why_none_does() {
        let ca_key = new_key(KeyAlgo::P256).unwrap();
        let ca = make_cert("", &ca_key, None, 30, true).unwrap();
        let key = new_key(KeyAlgo::P256).unwrap();
        let issued = make_cert("bob@example.org", &key, Some((&ca, &ca_key)), 30, false).unwrap();
        let own = make_cert("bob@example.org", &key, None, 30, false).unwrap();
        let now = SystemTime::now();

        let r = MemberCert::examine(&issued, &[], std::slice::from_ref(&ca), now);
        assert_eq!(
            r.trust,
            Trust::Authority {
                subject: info(&ca).subject,
                fingerprint: super::super::fingerprint(&ca)
            }
        );
        assert!(r.unsuitable.is_none() && r.trust.trusted());
        // The list trusts someone, but not the issuer.
        let r = MemberCert::examine(&issued, &[], std::slice::from_ref(&own), now);
        assert_eq!(
            r.trust,
            Trust::UnknownIssuer {
                issuer: info(&ca).subject
            }
        );
        assert_eq!(
            MemberCert::examine(&own, &[], std::slice::from_ref(&ca), now).trust,
            Trust::SelfSigned
        );
        let later = now + std::time::Duration::from_secs(40 * 86_400);
        assert!(
            MemberCert::examine(&issued, &[], std::slice::from_ref(&ca), later)
                .unsuitable
                .unwrap()
                .contains("expired")
        );

        assert!(is_authority(&ca, &[]));
        assert!(!is_authority(&issued, std::slice::from_ref(&ca)));
        assert!(!is_authority(&own, &[]));
    }

    #[test]
    fn small_rsa_keys_and_strange_addresses_are_refused() {
        let now = SystemTime::now();
        let small =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
        let cert = make_cert("bob@example.org", &small, None, 30, false).unwrap();
        let e = MemberCert::check(&pem(&cert), "bob@example.org", &[], true, now)
            .err()
            .unwrap();
        assert!(e.to_string().contains("1024 bits"), "{e}");

        let key = new_key(KeyAlgo::P256).unwrap();
        let spoof = make_cert("bob@example.org\tx", &key, None, 30, false).unwrap();
        let e = MemberCert::check(&pem(&spoof), "bob@example.org", &[], true, now)
            .err()
            .unwrap();
        assert!(e.to_string().contains("control characters"), "{e}");
    }
}
