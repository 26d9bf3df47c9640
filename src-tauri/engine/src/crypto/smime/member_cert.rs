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
        let sign = usage.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION);
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
        && !purposes.intersects(openssl::x509::X509ExtendedKeyUsage::SMIME | openssl::x509::X509ExtendedKeyUsage::ANYEKU)
    {
        return Some("it is not made for e-mail (its extended key usage lacks emailProtection)".into());
    }
    let digest = cert.signature_algorithm().object().nid();
    use openssl::nid::Nid;
    if [Nid::SHA1WITHRSAENCRYPTION, Nid::MD5WITHRSAENCRYPTION, Nid::ECDSA_WITH_SHA1, Nid::DSAWITHSHA1].contains(&digest) {
        return Some("it is signed with SHA-1 or MD5, which can be forged".into());
    }
    None
}

impl MemberCert {
    /// Checks a certificate file (PEM, DER or PKCS#7 bundle) for `email`.
    /// `anchors` are the list's trust anchors; `pinned` says the owner
    /// vouches for this very certificate (self-made ones are common).
    pub fn check(bytes: &[u8], email: &str, anchors: &[X509], pinned: bool, now: SystemTime) -> Result<MemberCert, SmimeError> {
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
            let others: Vec<X509> = certs.iter().filter(|c| c.to_der().ok() != cert.to_der().ok()).cloned().collect();
            if let Err(why) = chains_to(&cert, &others, anchors) {
                return Err(SmimeError::Refused(why));
            }
        }
        Ok(MemberCert { cert })
    }

    /// A certificate read back from the store (checked when it was added).
    pub fn from_stored(der: &[u8]) -> Result<MemberCert, SmimeError> {
        X509::from_der(der).map(|cert| MemberCert { cert }).map_err(|e| SmimeError::NotACertificate(e.to_string()))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.cert.to_der().unwrap_or_default()
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

/// Whether the certificate chains to one of the anchors, with `others` as
/// intermediates.
fn chains_to(cert: &X509Ref, others: &[X509], anchors: &[X509]) -> Result<(), String> {
    let untrusted = "it is not issued by an authority this list trusts: add the authority's certificate with \
                     `list trust add`, or pin this certificate (--pin) if the member gave it to you in person";
    if anchors.is_empty() {
        return Err(untrusted.into());
    }
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    for a in anchors {
        store.add_cert(a.clone()).map_err(|e| e.to_string())?;
    }
    store.set_purpose(X509PurposeId::SMIME_SIGN).map_err(|e| e.to_string())?;
    let store = store.build();
    let mut chain = openssl::stack::Stack::new().map_err(|e| e.to_string())?;
    for o in others {
        chain.push(o.clone()).map_err(|e| e.to_string())?;
    }
    let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
    let (ok, error) = ctx
        .init(&store, cert, &chain, |c| Ok((c.verify_cert()?, c.error())))
        .map_err(|e| e.to_string())?;
    if ok {
        return Ok(());
    }
    let unknown_issuer = [
        openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
        openssl_sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
        openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
    ];
    if unknown_issuer.contains(&error.as_raw()) {
        Err(untrusted.into())
    } else {
        Err(format!("its chain to the list's authority does not verify ({})", error.error_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::identity::{make_cert, new_key};
    use super::super::SmimeAlgo;
    use super::*;

    fn pem(c: &X509) -> Vec<u8> {
        c.to_pem().unwrap()
    }

    #[test]
    fn trusted_or_pinned_and_for_the_address() {
        let now = SystemTime::now();
        let ca_key = new_key(SmimeAlgo::P256).unwrap();
        let ca = make_cert("", &ca_key, None, 30, true).unwrap();
        let key = new_key(SmimeAlgo::P256).unwrap();
        let issued = make_cert("bob@example.org", &key, Some((&ca, &ca_key)), 30, false).unwrap();
        let own = make_cert("bob@example.org", &key, None, 30, false).unwrap();

        let ok = MemberCert::check(&pem(&issued), "Bob@example.org", std::slice::from_ref(&ca), false, now).unwrap();
        assert_eq!(ok.fingerprint(), super::super::fingerprint(&issued));
        // DER and a PKCS#7 bundle too.
        assert!(MemberCert::check(&issued.to_der().unwrap(), "bob@example.org", std::slice::from_ref(&ca), false, now).is_ok());

        let e = MemberCert::check(&pem(&own), "bob@example.org", std::slice::from_ref(&ca), false, now).err().unwrap();
        assert!(e.to_string().contains("not issued by an authority this list trusts"), "{e}");
        assert!(MemberCert::check(&pem(&own), "bob@example.org", &[], true, now).is_ok(), "pinned");
        let e = MemberCert::check(&pem(&issued), "carol@example.org", std::slice::from_ref(&ca), false, now).err().unwrap();
        assert!(matches!(e, SmimeError::NotForAddress(_)), "{e}");
        let later = now + std::time::Duration::from_secs(40 * 86_400);
        let e = MemberCert::check(&pem(&issued), "bob@example.org", std::slice::from_ref(&ca), false, later).err().unwrap();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn small_rsa_keys_and_strange_addresses_are_refused() {
        let now = SystemTime::now();
        let small = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
        let cert = make_cert("bob@example.org", &small, None, 30, false).unwrap();
        let e = MemberCert::check(&pem(&cert), "bob@example.org", &[], true, now).err().unwrap();
        assert!(e.to_string().contains("1024 bits"), "{e}");

        let key = new_key(SmimeAlgo::P256).unwrap();
        let spoof = make_cert("bob@example.org\tx", &key, None, 30, false).unwrap();
        let e = MemberCert::check(&pem(&spoof), "bob@example.org", &[], true, now).err().unwrap();
        assert!(e.to_string().contains("control characters"), "{e}");
    }
}
