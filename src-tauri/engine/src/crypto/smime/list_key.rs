//! The list's own S/MIME key: its private key (kept in the keychain
//! only) and the certificate members encrypt to, with the chain that
//! vouches for it.

use std::time::SystemTime;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Name, X509Req};

use super::{CertInfo, SmimeError, emails, failed, info, key_algorithm, read_certs, secs, unix};
use crate::secrets::Sensitive;

/// The list key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgo {
    Rsa3072,
    P256,
}

impl std::str::FromStr for KeyAlgo {
    type Err = crate::model::BadValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rsa3072" => Ok(KeyAlgo::Rsa3072),
            "p256" => Ok(KeyAlgo::P256),
            other => Err(crate::model::BadValue(format!(
                "unknown algorithm {other:?}: use rsa3072 (every client) or p256"
            ))),
        }
    }
}

/// How long a certificate the list makes for itself is valid.
const SELF_SIGNED_DAYS: u32 = 730;

pub struct ListKey {
    key: PKey<Private>,
    cert: X509,
    chain: Vec<X509>,
}

pub(super) fn new_key(algo: KeyAlgo) -> Result<PKey<Private>, SmimeError> {
    match algo {
        KeyAlgo::Rsa3072 => {
            PKey::from_rsa(openssl::rsa::Rsa::generate(3072).map_err(failed)?).map_err(failed)
        }
        KeyAlgo::P256 => {
            let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                .map_err(failed)?;
            PKey::from_ec_key(openssl::ec::EcKey::generate(&group).map_err(failed)?).map_err(failed)
        }
    }
}

fn subject(common_name: &str, email: &str) -> Result<X509Name, openssl::error::ErrorStack> {
    let mut name = X509Name::builder()?;
    if !common_name.is_empty() {
        name.append_entry_by_text("CN", common_name)?;
    }
    if !email.is_empty() {
        name.append_entry_by_nid(openssl::nid::Nid::PKCS9_EMAILADDRESS, email)?;
    }
    Ok(name.build())
}

/// How far back a certificate the list makes is valid from.
const NOT_BEFORE_SLACK_SECS: i64 = 10 * 60;

/// A certificate for `email` (an authority's when `email` is empty), signed
/// by `issuer` or by its own key. Used for the list's self-signed
/// certificate, and by tests to play an authority.
pub(crate) fn make_cert(
    email: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    days: u32,
    authority: bool,
) -> Result<X509, openssl::error::ErrorStack> {
    let name = if authority {
        subject("Conclave test authority", "")?
    } else {
        subject(email, email)?
    };
    make_named_cert(&name, email, key, issuer, days, authority)
}

fn make_named_cert(
    name: &openssl::x509::X509NameRef,
    email: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    days: u32,
    authority: bool,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(name)?;
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(name))?;
    b.set_pubkey(key)?;
    // Valid from a few minutes back: a member whose clock runs a little
    // behind, or a check whose `now` was taken just before (times are whole
    // seconds), must not find it not yet valid.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        - NOT_BEFORE_SLACK_SECS;
    let (from, until) = (Asn1Time::from_unix(since)?, Asn1Time::days_from_now(days)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    if authority {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(BasicConstraints::new().build()?)?;
        let mut usage = KeyUsage::new();
        usage.critical().digital_signature();
        if key.rsa().is_ok() {
            usage.key_encipherment();
        } else {
            usage.key_agreement();
        }
        b.append_extension(usage.build()?)?;
        b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
        let san = SubjectAlternativeName::new()
            .email(email)
            .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))?;
        b.append_extension(san)?;
    }
    let ski =
        SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))?;
    b.append_extension(ski)?;
    b.sign(
        issuer.map(|(_, k)| k).unwrap_or(key),
        MessageDigest::sha256(),
    )?;
    Ok(b.build())
}

/// A request (PEM) for a certificate of `address` on `key`.
fn csr(key: &PKey<Private>, address: &str) -> Result<Vec<u8>, SmimeError> {
    let mut req = X509Req::builder().map_err(failed)?;
    let name = subject(address, address).map_err(failed)?;
    req.set_subject_name(&name).map_err(failed)?;
    req.set_pubkey(key).map_err(failed)?;
    let mut ext = openssl::stack::Stack::new().map_err(failed)?;
    let san = SubjectAlternativeName::new()
        .email(address)
        .build(&req.x509v3_context(None))
        .map_err(failed)?;
    ext.push(san).map_err(failed)?;
    ext.push(
        ExtendedKeyUsage::new()
            .email_protection()
            .build()
            .map_err(failed)?,
    )
    .map_err(failed)?;
    req.add_extensions(&ext).map_err(failed)?;
    req.sign(key, MessageDigest::sha256()).map_err(failed)?;
    req.build().to_pem().map_err(failed)
}

impl ListKey {
    /// A new key with a self-signed certificate for the list's address;
    /// members pin it (or the owner replaces it by one a CA issued).
    pub fn generate(address: &str, algo: KeyAlgo) -> Result<ListKey, SmimeError> {
        let key = new_key(algo)?;
        let cert = make_cert(address, &key, None, SELF_SIGNED_DAYS, false).map_err(failed)?;
        Ok(ListKey {
            key,
            cert,
            chain: vec![],
        })
    }

    /// A new key and a certificate signing request for a CA (PEM). The key
    /// waits in the keychain until [`ListKey::with_key`] gets the
    /// certificate the CA issued.
    pub fn request(address: &str, algo: KeyAlgo) -> Result<(PKey<Private>, Vec<u8>), SmimeError> {
        let key = new_key(algo)?;
        let csr = csr(&key, address)?;
        Ok((key, csr))
    }

    /// Whether the list signed its certificate itself (then it renews it
    /// itself; an authority's certificate is renewed by the authority).
    pub fn self_signed(&self) -> bool {
        info(&self.cert).self_signed
    }

    /// The same key with a new self-signed certificate valid for `days`
    /// from now, with the same subject. Members must import the new
    /// certificate (its fingerprint is new; the key is the same). Refused
    /// for an authority's certificate, and when it would end no later than
    /// the present one.
    pub fn renew(&self, address: &str, days: u32, now: SystemTime) -> Result<ListKey, SmimeError> {
        if !self.self_signed() {
            return Err(SmimeError::Renew(format!(
                "{} issued it: ask them for a new one (make the request with `conclave-cli list key renew {address} --protocol smime --csr FILE`)",
                info(&self.cert).issuer
            )));
        }
        let until = secs(now) + i64::from(days) * 86_400;
        if days == 0 || until <= unix(self.cert.not_after()) {
            return Err(SmimeError::Renew(format!(
                "it is valid until {} already; give a later date (more days)",
                info(&self.cert).expires
            )));
        }
        let cert = make_named_cert(
            self.cert.subject_name(),
            address,
            &self.key,
            None,
            days,
            false,
        )
        .map_err(failed)?;
        let renewed = ListKey {
            key: self.key.clone(),
            cert,
            chain: vec![],
        };
        renewed.check(address, now)?;
        Ok(renewed)
    }

    /// A certificate signing request (PEM) for the list's present key, to
    /// renew a certificate an authority issued; its answer is installed
    /// like the first one (`install-cert`), since the key stays.
    pub fn renewal_request(&self, address: &str) -> Result<Vec<u8>, SmimeError> {
        csr(&self.key, address)
    }

    /// The list's key with its certificate (and chain), in any order: the
    /// certificate is the one whose public key is the key's.
    pub fn with_key(
        key: PKey<Private>,
        certs: Vec<X509>,
        address: &str,
        now: SystemTime,
    ) -> Result<ListKey, SmimeError> {
        let position = certs
            .iter()
            .position(|c| c.public_key().is_ok_and(|p| p.public_eq(&key)))
            .ok_or(SmimeError::KeyMismatch)?;
        let mut chain = certs;
        let cert = chain.remove(position);
        let identity = ListKey { key, cert, chain };
        identity.check(address, now)?;
        Ok(identity)
    }

    fn check(&self, address: &str, now: SystemTime) -> Result<(), SmimeError> {
        let refused = SmimeError::Refused;
        key_algorithm(&self.cert).map_err(refused)?;
        let carried = emails(&self.cert).map_err(refused)?;
        if !carried.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            return Err(SmimeError::NotForAddress(address.into()));
        }
        if unix(self.cert.not_after()) < secs(now) {
            return Err(SmimeError::Refused(format!(
                "it expired on {}",
                info(&self.cert).expires
            )));
        }
        Ok(())
    }

    /// Whether importing these bytes needs a password (a PKCS#12 file that
    /// the empty password does not open, or an encrypted PEM key).
    pub fn needs_password(bytes: &[u8]) -> bool {
        if String::from_utf8_lossy(bytes).contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return true;
        }
        match openssl::pkcs12::Pkcs12::from_der(bytes) {
            Ok(p12) => p12.parse2("").is_err(),
            Err(_) => false,
        }
    }

    /// Reads a PKCS#12 file, or PEM with the private key and the
    /// certificate (and its chain).
    pub fn import(
        bytes: &[u8],
        password: Option<&Sensitive<String>>,
        address: &str,
        now: SystemTime,
    ) -> Result<ListKey, SmimeError> {
        let pass = password.map(|p| p.expose().as_str()).unwrap_or("");
        let text = String::from_utf8_lossy(bytes);
        if text.contains("PRIVATE KEY-----") {
            let key = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
                if pass.is_empty() {
                    return Err(SmimeError::NeedsPassword);
                }
                PKey::private_key_from_pem_passphrase(bytes, pass.as_bytes())
                    .map_err(|_| SmimeError::WrongPassword)?
            } else {
                PKey::private_key_from_pem(bytes)
                    .map_err(|e| SmimeError::NotAnIdentity(e.to_string()))?
            };
            let certs = read_certs(bytes).map_err(|_| {
                SmimeError::NotAnIdentity(
                    "the PEM file holds a key but no certificate; put both in one file".into(),
                )
            })?;
            return ListKey::with_key(key, certs, address, now);
        }
        let p12 = openssl::pkcs12::Pkcs12::from_der(bytes)
            .map_err(|e| SmimeError::NotAnIdentity(e.to_string()))?;
        let parsed = p12.parse2(pass).map_err(|_| {
            if pass.is_empty() {
                SmimeError::NeedsPassword
            } else {
                SmimeError::WrongPassword
            }
        })?;
        let key = parsed.pkey.ok_or_else(|| {
            SmimeError::NotAnIdentity("the PKCS#12 file holds no private key".into())
        })?;
        let mut certs: Vec<X509> = parsed.cert.into_iter().collect();
        certs.extend(
            parsed
                .ca
                .map(|s| s.into_iter().collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        ListKey::with_key(key, certs, address, now)
    }

    /// The private key as the keychain keeps it (PKCS#8 PEM).
    pub fn key_to_keychain(key: &PKey<Private>) -> Result<Sensitive<String>, SmimeError> {
        let pem = key.private_key_to_pem_pkcs8().map_err(failed)?;
        Ok(Sensitive::new(String::from_utf8(pem).map_err(failed)?))
    }

    pub fn key_from_keychain(pem: &Sensitive<String>) -> Result<PKey<Private>, SmimeError> {
        PKey::private_key_from_pem(pem.expose().as_bytes()).map_err(failed)
    }

    pub fn key(&self) -> &PKey<Private> {
        &self.key
    }

    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    pub fn chain(&self) -> &[X509] {
        &self.chain
    }

    /// The certificate and its chain (PEM), as members import it.
    pub fn public_pem(&self) -> Vec<u8> {
        let mut out = self.cert.to_pem().unwrap_or_default();
        for c in &self.chain {
            out.extend(c.to_pem().unwrap_or_default());
        }
        out
    }

    pub fn fingerprint(&self) -> String {
        super::fingerprint(&self.cert)
    }

    pub fn info(&self) -> CertInfo {
        info(&self.cert)
    }
}

impl Clone for ListKey {
    fn clone(&self) -> Self {
        ListKey {
            key: self.key.clone(),
            cert: self.cert.clone(),
            chain: self.chain.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_is_for_the_list_address_and_survives_the_keychain() {
        let now = SystemTime::now();
        let id = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        let i = id.info();
        // In subjectAltName and the subject's emailAddress, listed once.
        assert_eq!(i.emails, vec!["list@example.org".to_string()]);
        assert_eq!(i.algorithm, "ECDSA P-256");
        assert!(i.self_signed);
        let pem = ListKey::key_to_keychain(id.key()).unwrap();
        let key = ListKey::key_from_keychain(&pem).unwrap();
        let back = ListKey::with_key(
            key,
            read_certs(&id.public_pem()).unwrap(),
            "list@example.org",
            now,
        )
        .unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
        assert!(matches!(
            ListKey::with_key(
                back.key().clone(),
                read_certs(&id.public_pem()).unwrap(),
                "other@example.org",
                now
            ),
            Err(SmimeError::NotForAddress(_))
        ));
        let other = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        assert!(matches!(
            ListKey::with_key(
                other.key().clone(),
                read_certs(&id.public_pem()).unwrap(),
                "list@example.org",
                now
            ),
            Err(SmimeError::KeyMismatch)
        ));
    }

    #[test]
    fn pkcs12_needs_its_password() {
        let now = SystemTime::now();
        let id = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        let p12 = openssl::pkcs12::Pkcs12::builder()
            .name("list")
            .pkey(id.key())
            .cert(id.cert())
            .build2("s3cret")
            .unwrap()
            .to_der()
            .unwrap();
        assert!(ListKey::needs_password(&p12));
        assert!(matches!(
            ListKey::import(&p12, None, "list@example.org", now),
            Err(SmimeError::NeedsPassword)
        ));
        let wrong = Sensitive::new("nope".to_string());
        assert!(matches!(
            ListKey::import(&p12, Some(&wrong), "list@example.org", now),
            Err(SmimeError::WrongPassword)
        ));
        let right = Sensitive::new("s3cret".to_string());
        let back = ListKey::import(&p12, Some(&right), "list@example.org", now).unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
    }

    #[test]
    fn a_self_signed_certificate_is_reissued_on_the_same_key() {
        let now = SystemTime::now();
        let id = ListKey::generate("list@example.org", KeyAlgo::P256).unwrap();
        let before = id.info();
        let renewed = id.renew("list@example.org", 1000, now).unwrap();
        let after = renewed.info();
        assert!(after.expires > before.expires, "{after:?}");
        assert_eq!(after.subject, before.subject);
        assert!(after.self_signed);
        assert_ne!(renewed.fingerprint(), id.fingerprint(), "a new certificate");
        assert!(
            renewed.cert().public_key().unwrap().public_eq(id.key()),
            "the same key"
        );
        // It goes with the key from the keychain, as the agent loads it.
        let back = ListKey::with_key(
            id.key().clone(),
            read_certs(&renewed.public_pem()).unwrap(),
            "list@example.org",
            now,
        )
        .unwrap();
        assert_eq!(back.fingerprint(), renewed.fingerprint());
        // Not to an earlier end.
        assert!(
            matches!(renewed.renew("list@example.org", 30, now), Err(SmimeError::Renew(m)) if m.contains("valid until"))
        );
    }

    #[test]
    fn an_authority_certificate_is_renewed_by_a_request_for_the_same_key() {
        let now = SystemTime::now();
        let (key, _) = ListKey::request("list@example.org", KeyAlgo::P256).unwrap();
        let ca_key = new_key(KeyAlgo::P256).unwrap();
        let ca = make_cert("", &ca_key, None, 30, true).unwrap();
        let issued = make_cert("list@example.org", &key, Some((&ca, &ca_key)), 30, false).unwrap();
        let id = ListKey::with_key(key, vec![issued, ca.clone()], "list@example.org", now).unwrap();
        assert!(
            matches!(id.renew("list@example.org", 730, now), Err(SmimeError::Renew(m)) if m.contains("--csr"))
        );
        let csr = X509Req::from_pem(&id.renewal_request("list@example.org").unwrap()).unwrap();
        assert!(csr.public_key().unwrap().public_eq(id.key()));
        // The authority's answer is installed on the key the list has.
        let again = make_cert(
            "list@example.org",
            id.key(),
            Some((&ca, &ca_key)),
            60,
            false,
        )
        .unwrap();
        let renewed =
            ListKey::with_key(id.key().clone(), vec![again, ca], "list@example.org", now).unwrap();
        assert!(renewed.info().expires > id.info().expires);
    }

    #[test]
    fn a_request_carries_the_address_and_its_answer_is_installed() {
        let now = SystemTime::now();
        let (key, csr) = ListKey::request("list@example.org", KeyAlgo::Rsa3072).unwrap();
        let req = X509Req::from_pem(&csr).unwrap();
        assert!(req.verify(&req.public_key().unwrap()).unwrap());
        // An authority answers the request.
        let ca_key = new_key(KeyAlgo::P256).unwrap();
        let ca = make_cert("", &ca_key, None, 30, true).unwrap();
        let issued = make_cert("list@example.org", &key, Some((&ca, &ca_key)), 30, false).unwrap();
        let id = ListKey::with_key(key, vec![ca.clone(), issued], "list@example.org", now).unwrap();
        assert_eq!(id.chain().len(), 1);
        assert!(!id.info().self_signed);
    }
}
