//! Members' keys as an owner adds them, in either protocol: which protocol a
//! key file is, the check before a key is stored, what each key or
//! certificate of a file is and what saving it would do (the window's
//! review), adding many members from one file, and the authorities a list
//! trusts for S/MIME. `conclave-cli member add --key`, `member key`, `member
//! list`, `list trust` and the window's members screen use these same calls,
//! so they take and refuse the same keys for the same reasons.

use std::time::SystemTime;

use openssl::x509::X509;
use serde::Serialize;

use crate::crypto::openpgp::{KeyInfo, KeyRefusal, MemberKey};
use crate::crypto::smime::{self, CertInfo, MemberCert, SmimeError, Trust};
use crate::model::{List, Protocol, Role};
use crate::store::{Store, StoreError, StoredKey, TrustAnchor};

/// The most a review reads at once (a keyring or a bundle of many members).
pub const MAX_REVIEW_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MemberKeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    OpenPgp(#[from] KeyRefusal),
    #[error(transparent)]
    Smime(#[from] SmimeError),
    #[error("pinning (--pin) is for S/MIME certificates; OpenPGP keys are taken as given")]
    PinNotForOpenPgp,
    #[error(
        "no key or certificate was found in it: give an OpenPGP key (.asc, .gpg) or an S/MIME certificate (.pem, .crt, .cer, .der, .p7b)"
    )]
    NoKey,
    #[error(
        "it holds a private key: a member's private key must never leave their computer; ask them for their public key or certificate only"
    )]
    PrivateKey,
    #[error(
        "the files are {size} bytes together, more than the {max} read at once: give fewer at a time"
    )]
    TooLarge { size: usize, max: usize },
    #[error(
        "it holds only authority certificates ({0}), no member's: add an authority to the list's trusted authorities instead"
    )]
    OnlyAuthorities(String),
    #[error(
        "{0} is not an authority's certificate (it cannot issue certificates): give the certificate of the authority that issued the members' certificates, or pin a member's own certificate with --pin"
    )]
    NotAnAuthority(String),
    #[error("nobody was added: {0}")]
    NotImported(String),
    #[error(
        "the authority {subject} cannot be trusted now: {why}; ask for its current certificate"
    )]
    AuthorityNotValid { subject: String, why: String },
}

/// Which protocol a key file is: X.509 certificates (PEM, DER, PKCS#7) are
/// S/MIME; everything else is read as OpenPGP.
pub fn protocol_of(bytes: &[u8]) -> Protocol {
    if smime::read_certs(bytes).is_ok() {
        Protocol::Smime
    } else {
        Protocol::Openpgp
    }
}

/// The protocols a list encrypts to its members in: its own, and the other
/// one when it holds a list key of it too (a mixed list). Empty for a plain
/// list without keys.
pub fn key_protocols(store: &Store, list: &List) -> Result<Vec<Protocol>, StoreError> {
    let mut out = Vec::new();
    if list.protocol != Protocol::Plain {
        out.push(list.protocol);
    }
    for p in [Protocol::Openpgp, Protocol::Smime] {
        if !out.contains(&p) && store.list_key(list, p)?.is_some() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The list's trusted authorities, as certificates.
pub fn anchors(store: &Store, list: &List) -> Result<Vec<X509>, StoreError> {
    Ok(store
        .trust_anchors(list)?
        .iter()
        .filter_map(|a| X509::from_der(&a.cert).ok())
        .collect())
}

/// A member's key file, checked for `email`: which protocol it is and what
/// to store. S/MIME certificates must chain to one of the list's trusted
/// authorities unless `pin` (the owner vouches for this very certificate).
pub fn check(
    store: &Store,
    list: &List,
    bytes: &[u8],
    email: &str,
    pin: bool,
    now: SystemTime,
) -> Result<(Protocol, StoredKey), MemberKeyError> {
    match protocol_of(bytes) {
        Protocol::Smime => {
            let cert = MemberCert::check(bytes, email, &anchors(store, list)?, pin, now)?;
            Ok((
                Protocol::Smime,
                StoredKey {
                    fingerprint: cert.fingerprint(),
                    cert: cert.to_bytes(),
                },
            ))
        }
        _ => {
            if pin {
                return Err(MemberKeyError::PinNotForOpenPgp);
            }
            let key = MemberKey::check(bytes, email, now)?;
            Ok((
                Protocol::Openpgp,
                StoredKey {
                    fingerprint: key.fingerprint(),
                    cert: key.to_bytes(),
                },
            ))
        }
    }
}

// ---- What a member's stored key is ----------------------------------------

/// One of a member's keys as the members table (and `member list`) shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MemberKeyView {
    pub protocol: Protocol,
    /// Fingerprint in groups of four (S/MIME: the certificate's SHA-256),
    /// algorithms, created (S/MIME: valid from), expiry, user IDs (S/MIME:
    /// the certificate's addresses).
    pub key: KeyInfo,
    /// S/MIME: subject, issuer, validity.
    pub certificate: Option<CertInfo>,
    /// Whether a copy can be encrypted to it now.
    pub usable: bool,
    /// Why it cannot, when that is known beyond its expiry.
    pub problem: Option<String>,
}

/// A certificate described the way an OpenPGP key is.
pub fn cert_key_info(info: &CertInfo) -> KeyInfo {
    KeyInfo {
        fingerprint: info.fingerprint.clone(),
        algorithms: vec![info.algorithm.clone()],
        created: info.valid_from.clone(),
        expires: Some(info.expires.clone()),
        user_ids: info.emails.clone(),
    }
}

/// What a stored key is now (it may have expired since it was added).
pub fn describe(stored: &StoredKey, protocol: Protocol, now: SystemTime) -> MemberKeyView {
    let unreadable = |problem: String| MemberKeyView {
        protocol,
        key: KeyInfo {
            fingerprint: stored.fingerprint.clone(),
            algorithms: vec![],
            created: String::new(),
            expires: None,
            user_ids: vec![],
        },
        certificate: None,
        usable: false,
        problem: Some(problem),
    };
    match protocol {
        Protocol::Smime => match MemberCert::from_stored(&stored.cert) {
            Ok(c) => {
                let info = c.info();
                let problem = c.unusable(now);
                MemberKeyView {
                    protocol,
                    key: cert_key_info(&info),
                    certificate: Some(info),
                    usable: problem.is_none(),
                    problem,
                }
            }
            Err(e) => unreadable(e.to_string()),
        },
        _ => match MemberKey::from_stored(&stored.cert) {
            Ok(k) => MemberKeyView {
                protocol,
                key: k.info(now),
                certificate: None,
                usable: k.can_encrypt(now),
                problem: None,
            },
            Err(e) => unreadable(e.to_string()),
        },
    }
}

/// Every key of a member, the list's own protocol first.
pub fn member_keys(
    store: &Store,
    list: &List,
    email: &str,
    now: SystemTime,
) -> Result<Vec<MemberKeyView>, StoreError> {
    let mut order = [Protocol::Openpgp, Protocol::Smime];
    if list.protocol == Protocol::Smime {
        order.reverse();
    }
    let mut out = Vec::new();
    for protocol in order {
        if let Some(k) = store.member_key(list, email, protocol)? {
            out.push(describe(&k, protocol, now));
        }
    }
    Ok(out)
}

// ---- Reviewing a key file before anything is saved ------------------------

/// A user ID's (or certificate's) name and address.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct UserAddress {
    pub name: String,
    pub email: String,
}

/// What saving a reviewed key would do.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAction {
    /// A new member with this key.
    Add,
    /// A member without a key of this protocol gets this one.
    SetKey,
    /// A member's key is replaced (explicit, logged).
    Replace,
    /// The member has this very key already.
    Same,
    /// It cannot be saved: see the refusal.
    Refused,
}

/// One key or certificate of a key file, reviewed before anything is saved.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct KeyCandidate {
    pub protocol: Protocol,
    pub key: KeyInfo,
    /// S/MIME: subject, issuer, addresses, validity.
    pub certificate: Option<CertInfo>,
    /// S/MIME: whether a trusted authority issued it, or why not.
    pub trust: Option<Trust>,
    /// The user IDs (or certificate addresses), the primary one first.
    pub addresses: Vec<UserAddress>,
    /// The member it is for: the one asked for, else its first address.
    /// `None` when it names no address at all.
    pub email: Option<String>,
    /// The name that goes with it (user ID, or the certificate's name).
    pub name: String,
    /// Whether it names `email`.
    pub matches: bool,
    /// Why it cannot be saved, in words; `None` when it can.
    pub refusal: Option<String>,
    pub action: KeyAction,
    /// Saving needs the owner to pin it ("trust this certificate for this
    /// member only"): no trusted authority vouches for it.
    pub needs_pin: bool,
    /// The member's present key of this protocol (grouped fingerprint).
    pub current: Option<String>,
    /// Something to know that does not stop saving.
    pub note: Option<String>,
    /// What saving is given: the OpenPGP key (binary, public parts only),
    /// or the certificate with the file's authorities (PEM).
    pub cert: Vec<u8>,
}

/// Parts of a file by protocol: the OpenPGP armor blocks (or binary key
/// data) and the certificates, in the file's order.
struct Parts {
    openpgp: Vec<Vec<u8>>,
    certs: Vec<X509>,
}

const CERT_LABELS: [&str; 4] = [
    "CERTIFICATE",
    "X509 CERTIFICATE",
    "TRUSTED CERTIFICATE",
    "PKCS7",
];

fn split_file(bytes: &[u8], parts: &mut Parts) -> Result<(), MemberKeyError> {
    let text = String::from_utf8_lossy(bytes);
    let blocks = armor_blocks(&text);
    if blocks.is_empty() {
        // Binary: a DER certificate or PKCS#7 bundle, else OpenPGP.
        match smime::read_certs(bytes) {
            Ok(certs) => parts.certs.extend(certs),
            Err(_) => parts.openpgp.push(bytes.to_vec()),
        }
        return Ok(());
    }
    for (label, block) in blocks {
        if label.contains("PRIVATE KEY") || label == "PGP SECRET KEY BLOCK" {
            return Err(MemberKeyError::PrivateKey);
        }
        if label.starts_with("PGP ") {
            parts.openpgp.push(block.as_bytes().to_vec());
        } else if CERT_LABELS.contains(&label.as_str()) {
            let block = if label == "TRUSTED CERTIFICATE" {
                block.replace("TRUSTED CERTIFICATE", "CERTIFICATE")
            } else {
                block.to_string()
            };
            parts.certs.extend(smime::read_certs(block.as_bytes())?);
        }
        // Anything else (a request, a CRL) is no member's key.
    }
    Ok(())
}

/// The armored blocks of a text with their labels ("PGP PUBLIC KEY
/// BLOCK", "CERTIFICATE"...), each from its BEGIN line to its END line.
/// Lines may be indented or quoted, as mail clients do.
fn armor_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for raw in text.lines() {
        let line = raw
            .trim_start_matches(|c: char| c.is_whitespace() || c == '>')
            .trim_end();
        if let Some((label, lines)) = &mut open {
            lines.push(line);
            if line == format!("-----END {label}-----") {
                let (label, lines) = open.take().expect("a block is open");
                out.push((label, lines.join("\n") + "\n"));
            }
        } else if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            open = Some((label.to_string(), vec![line]));
        }
    }
    if let Some((label, lines)) = open {
        // Cut off: handed on as it is, so that its reader says what is wrong.
        out.push((label, lines.join("\n") + "\n"));
    }
    out
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn no_list_key_note(protocol: Protocol, protocols: &[Protocol]) -> Option<String> {
    (!protocols.contains(&protocol)).then(|| match protocol {
        Protocol::Smime => "This list has no S/MIME certificate of its own yet: the member's certificate is kept, \
                            but copies reach them encrypted only once the list has one (see the list's Key)."
            .to_string(),
        _ => "This list has no OpenPGP key of its own yet: the member's key is kept, but copies reach them \
              encrypted only once the list has one (see the list's Key)."
            .to_string(),
    })
}

/// Reviews every key and certificate of `files` (key files, or pasted
/// text) for `list`: what each is, who it would be for, whether it can be
/// saved and what saving it does. `email` fixes the member (a key for one
/// member); without it each goes to its own address. Nothing is saved.
pub fn review(
    store: &Store,
    list: &List,
    email: Option<&str>,
    files: &[Vec<u8>],
    now: SystemTime,
) -> Result<Vec<KeyCandidate>, MemberKeyError> {
    let size: usize = files.iter().map(Vec::len).sum();
    if size > MAX_REVIEW_BYTES {
        return Err(MemberKeyError::TooLarge {
            size,
            max: MAX_REVIEW_BYTES,
        });
    }
    let mut parts = Parts {
        openpgp: vec![],
        certs: vec![],
    };
    for f in files {
        split_file(f, &mut parts)?;
    }
    let protocols = key_protocols(store, list)?;
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let mut out: Vec<KeyCandidate> = Vec::new();

    for part in &parts.openpgp {
        let certs = MemberKey::split(part).map_err(|e| {
            // A file that is neither kind says so in both kinds' terms.
            if parts.certs.is_empty() && !String::from_utf8_lossy(part).contains("-----BEGIN PGP") {
                MemberKeyError::NoKey
            } else {
                e.into()
            }
        })?;
        for cert in certs {
            let (key, addrs) = MemberKey::inspect(&cert, now)?;
            let addresses = addrs
                .into_iter()
                .map(|(name, email)| UserAddress { name, email })
                .collect();
            let c = KeyCandidate {
                protocol: Protocol::Openpgp,
                key,
                certificate: None,
                trust: None,
                addresses,
                email: None,
                name: String::new(),
                matches: false,
                refusal: None,
                action: KeyAction::Refused,
                needs_pin: false,
                current: None,
                note: None,
                cert,
            };
            out.push(c);
        }
    }

    // Certificates: the members' ones are candidates; authorities in the
    // file only link them to a trusted authority.
    let mut certs: Vec<X509> = Vec::new();
    for c in parts.certs {
        if !certs.iter().any(|k| k.to_der().ok() == c.to_der().ok()) {
            certs.push(c);
        }
    }
    let (authorities, leaves): (Vec<X509>, Vec<X509>) = certs
        .iter()
        .cloned()
        .partition(|c| smime::is_authority(c, &certs));
    if leaves.is_empty() && !authorities.is_empty() && out.is_empty() {
        let names: Vec<String> = authorities.iter().map(|a| smime::info(a).subject).collect();
        return Err(MemberKeyError::OnlyAuthorities(names.join("; ")));
    }
    let trusted = anchors(store, list)?;
    let mut chain_pem = Vec::new();
    for a in &authorities {
        chain_pem.extend(
            a.to_pem()
                .map_err(|e| SmimeError::NotACertificate(e.to_string()))?,
        );
    }
    for leaf in &leaves {
        let review = MemberCert::examine(leaf, &authorities, &trusted, now);
        let name = smime::person_name(leaf).unwrap_or_default();
        let addresses = review
            .info
            .emails
            .iter()
            .map(|e| UserAddress {
                name: name.clone(),
                email: e.clone(),
            })
            .collect();
        let mut cert = leaf
            .to_pem()
            .map_err(|e| SmimeError::NotACertificate(e.to_string()))?;
        cert.extend_from_slice(&chain_pem);
        out.push(KeyCandidate {
            protocol: Protocol::Smime,
            key: cert_key_info(&review.info),
            certificate: Some(review.info.clone()),
            trust: Some(review.trust.clone()),
            addresses,
            email: None,
            name: String::new(),
            matches: false,
            // Kept until the address is known: an address refusal comes first.
            refusal: review.unsuitable.clone(),
            action: KeyAction::Refused,
            needs_pin: !review.trust.trusted(),
            current: None,
            note: None,
            cert,
        });
    }
    if out.is_empty() {
        return Err(MemberKeyError::NoKey);
    }

    // Whose each is, and what saving it does.
    let mut decided: Vec<KeyCandidate> = Vec::with_capacity(out.len());
    for mut c in out {
        let unsuitable = c.refusal.take();
        let target = match email {
            Some(e) => Some(e.to_string()),
            None => c.addresses.first().map(|a| a.email.clone()),
        };
        c.matches = target
            .as_ref()
            .is_some_and(|t| c.addresses.iter().any(|a| a.email.eq_ignore_ascii_case(t)));
        c.name = target
            .as_ref()
            .and_then(|t| c.addresses.iter().find(|a| a.email.eq_ignore_ascii_case(t)))
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let what = if c.protocol == Protocol::Smime {
            "certificate"
        } else {
            "key"
        };
        let Some(target) = target else {
            c.refusal = Some(format!(
                "The {what} names no e-mail address, so it cannot be told whose it is."
            ));
            decided.push(c);
            continue;
        };
        c.email = Some(target.clone());
        let existing = store.member(list, &target)?;
        if let Some(m) = &existing {
            c.email = Some(m.email.clone());
            c.current = store
                .member_key(list, &m.email, c.protocol)?
                .map(|k| describe(&k, c.protocol, now).key.fingerprint);
        }
        let refusal: Option<String> = if let Err(e) = crate::model::check_address(&target) {
            Some(e.0)
        } else if target.eq_ignore_ascii_case(&list.address) {
            Some("this is the list's own address: the list cannot be its own member".into())
        } else if decided.iter().any(|d| {
            d.refusal.is_none()
                && d.protocol == c.protocol
                && d.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&target))
        }) {
            Some(format!(
                "an earlier {what} in this file is for {target} already: give one {what} per member"
            ))
        } else if c.protocol == Protocol::Smime {
            if !c.matches {
                let found = c
                    .addresses
                    .iter()
                    .map(|a| a.email.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(if found.is_empty() {
                    format!(
                        "the certificate carries no address, so it is not {target}'s: give the member's own certificate"
                    )
                } else {
                    format!(
                        "the certificate is for {found}, not {target}: it is someone else's, or the member needs one for this address"
                    )
                })
            } else {
                unsuitable.map(|why| format!("the certificate is refused: {why}"))
            }
        } else {
            MemberKey::check(&c.cert, &target, now)
                .err()
                .map(|e| e.to_string())
        };
        let same = c
            .current
            .as_deref()
            .is_some_and(|cur| cur.replace(' ', "") == c.key.fingerprint.replace(' ', ""));
        c.action = match (&refusal, &existing, &c.current) {
            (Some(_), _, _) => KeyAction::Refused,
            (None, None, _) => KeyAction::Add,
            (None, Some(_), None) => KeyAction::SetKey,
            (None, Some(_), Some(_)) if same => KeyAction::Same,
            (None, Some(_), Some(_)) => KeyAction::Replace,
        };
        if refusal.is_some() || c.action == KeyAction::Same {
            c.needs_pin = false;
        }
        if refusal.is_none() {
            c.note = no_list_key_note(c.protocol, &protocols);
        }
        c.refusal = refusal.map(|r| capitalized(&r));
        decided.push(c);
    }
    Ok(decided)
}

/// Adds a member for each key of `files` named in `fingerprints` (as the
/// review listed them), all or none: each is checked again first, the
/// certificates in `pinned` as pinned; if one can no longer be added, or a
/// write fails, nobody is added. A member with a key of each protocol in
/// the file is added once, with both. Returns the addresses added.
pub fn import(
    store: &Store,
    list: &List,
    files: &[Vec<u8>],
    fingerprints: &[String],
    pinned: &[String],
    role: Role,
    now: SystemTime,
) -> Result<Vec<String>, MemberKeyError> {
    let same = |a: &str, b: &str| a.replace(' ', "").eq_ignore_ascii_case(&b.replace(' ', ""));
    let reviewed = review(store, list, None, files, now)?;
    // (address, name, the member's keys) for each member to add.
    type Chosen = (String, String, Vec<(Protocol, StoredKey)>);
    let mut chosen: Vec<Chosen> = Vec::new();
    for fpr in fingerprints {
        let c = reviewed
            .iter()
            .find(|c| same(&c.key.fingerprint, fpr))
            .ok_or_else(|| {
                MemberKeyError::NotImported(format!(
                    "the key {fpr} is not in the file any more. Import the file again."
                ))
            })?;
        let who = c.email.as_deref().unwrap_or("no address");
        if c.action != KeyAction::Add {
            return Err(MemberKeyError::NotImported(format!(
                "the key {fpr} for {who} can no longer be added ({}). Import the file again.",
                c.refusal
                    .clone()
                    .unwrap_or_else(|| "that address is a member now".into())
            )));
        }
        let pin = pinned.iter().any(|p| same(p, fpr));
        if c.needs_pin && !pin {
            return Err(MemberKeyError::NotImported(format!(
                "the certificate {fpr} for {who} is not issued by an authority this list trusts, and it was not chosen to be trusted for this member only"
            )));
        }
        let email = c.email.clone().expect("an addable key has an address");
        let (protocol, stored) = check(
            store,
            list,
            &c.cert,
            &email,
            pin && c.protocol == Protocol::Smime,
            now,
        )
        .map_err(|e| {
            MemberKeyError::NotImported(format!("the key {fpr} for {email} is refused: {e}"))
        })?;
        match chosen
            .iter_mut()
            .find(|(e, _, _)| e.eq_ignore_ascii_case(&email))
        {
            Some((_, name, keys)) => {
                if name.is_empty() {
                    *name = c.name.clone();
                }
                keys.push((protocol, stored));
            }
            None => chosen.push((email, c.name.clone(), vec![(protocol, stored)])),
        }
    }
    let mut added: Vec<String> = Vec::new();
    for (email, name, keys) in &chosen {
        let written = store.add_member(list, email, name, role).and_then(|m| {
            added.push(m.email.clone());
            keys.iter().try_for_each(|(protocol, stored)| {
                store.set_member_key(list, &m.email, *protocol, stored, false)
            })
        });
        if let Err(e) = written {
            for email in &added {
                let _ = store.remove_member(list, email);
            }
            return Err(MemberKeyError::NotImported(format!(
                "saving {email} failed: {e}"
            )));
        }
    }
    Ok(added)
}

// ---- The authorities a list trusts -----------------------------------------

/// Trusts the authorities of a certificate file (PEM, DER or PKCS#7) to
/// vouch for the list's members' S/MIME certificates. Refuses a file with
/// a certificate that is no authority's, before trusting any.
pub fn trust_authorities(
    store: &Store,
    list: &List,
    bytes: &[u8],
    now: std::time::SystemTime,
) -> Result<Vec<CertInfo>, MemberKeyError> {
    let certs = smime::read_certs(bytes)?;
    if let Some(leaf) = certs.iter().find(|c| !smime::is_authority(c, &certs)) {
        return Err(MemberKeyError::NotAnAuthority(smime::info(leaf).subject));
    }
    // An authority out of its validity vouches for nobody: every member
    // certificate checked against it would be refused later, one by one.
    let at = openssl::asn1::Asn1Time::from_unix(
        now.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    )
    .map_err(|e| SmimeError::NotACertificate(e.to_string()))?;
    for cert in &certs {
        let info = smime::info(cert);
        if cert.not_after() < at {
            return Err(MemberKeyError::AuthorityNotValid {
                subject: info.subject,
                why: format!("it expired on {}", info.expires),
            });
        }
        if cert.not_before() > at {
            return Err(MemberKeyError::AuthorityNotValid {
                subject: info.subject,
                why: format!("it is valid only from {}", info.valid_from),
            });
        }
    }
    let mut out = Vec::new();
    for cert in certs {
        let info = smime::info(&cert);
        let der = cert
            .to_der()
            .map_err(|e| SmimeError::NotACertificate(e.to_string()))?;
        store.add_trust_anchor(
            list,
            &TrustAnchor {
                fingerprint: info.fingerprint.clone(),
                subject: info.subject.clone(),
                cert: der,
            },
        )?;
        out.push(info);
    }
    Ok(out)
}

/// The list's trusted authorities, each described.
pub fn trusted_authorities(store: &Store, list: &List) -> Result<Vec<CertInfo>, StoreError> {
    Ok(store
        .trust_anchors(list)?
        .iter()
        .map(|a| match X509::from_der(&a.cert) {
            Ok(cert) => smime::info(&cert),
            Err(_) => CertInfo {
                fingerprint: a.fingerprint.clone(),
                subject: a.subject.clone(),
                issuer: String::new(),
                emails: vec![],
                algorithm: String::new(),
                valid_from: String::new(),
                expires: String::new(),
                self_signed: false,
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::openpgp::{KeyAlgo, ListKey};
    use crate::crypto::smime::test_support::cert_for;
    use openssl::pkey::{PKey, Private};

    /// A member's public key, made a minute ago: OpenPGP counts creation in
    /// whole seconds, and a key made as the second turns would not yet be
    /// valid at a `now` the test took just before.
    fn pgp(name: &str, email: &str) -> Vec<u8> {
        let made = SystemTime::now() - std::time::Duration::from_secs(60);
        ListKey::generate(name, email, KeyAlgo::Ed25519, made)
            .unwrap()
            .public_armored()
            .into_bytes()
    }

    fn ca() -> (X509, PKey<Private>) {
        cert_for("", None, None)
    }

    /// A certs-only PKCS#7 bundle (DER) of these certificates.
    fn bundle(certs: &[&X509], signer: &(X509, PKey<Private>)) -> Vec<u8> {
        let mut stack = openssl::stack::Stack::new().unwrap();
        for c in certs {
            stack.push((*c).clone()).unwrap();
        }
        let flags = openssl::pkcs7::Pkcs7Flags::DETACHED | openssl::pkcs7::Pkcs7Flags::BINARY;
        openssl::pkcs7::Pkcs7::sign(&signer.0, &signer.1, &stack, b"", flags)
            .unwrap()
            .to_der()
            .unwrap()
    }

    fn setup(protocol: Protocol) -> (tempfile::TempDir, Store, List) {
        let (dir, store) = crate::store::test_support::store();
        let list = store
            .create_list("list@example.org", "L", protocol)
            .unwrap();
        (dir, store, list)
    }

    #[test]
    fn a_key_file_is_told_apart_by_what_it_holds() {
        let (cert, _) = cert_for("bob@example.org", None, None);
        assert_eq!(protocol_of(&cert.to_pem().unwrap()), Protocol::Smime);
        assert_eq!(protocol_of(&cert.to_der().unwrap()), Protocol::Smime);
        assert_eq!(
            protocol_of(&pgp("Bob", "bob@example.org")),
            Protocol::Openpgp
        );
        assert_eq!(
            protocol_of(b"hello"),
            Protocol::Openpgp,
            "what is no certificate is read as OpenPGP (and refused there)"
        );
    }

    #[test]
    fn a_certificate_is_taken_when_an_authority_of_the_list_issued_it_or_the_owner_pins_it() {
        let (_d, store, list) = setup(Protocol::Smime);
        let authority = ca();
        let (issued, _) = cert_for("bob@example.org", Some((&authority.0, &authority.1)), None);
        let (own, _) = cert_for("bob@example.org", None, None);
        // After the certificates were made: they are valid from then.
        let now = SystemTime::now();

        let e = check(
            &store,
            &list,
            &issued.to_pem().unwrap(),
            "bob@example.org",
            false,
            now,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("not issued by an authority this list trusts"),
            "{e}"
        );
        let trusted = trust_authorities(
            &store,
            &list,
            &authority.0.to_pem().unwrap(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(trusted[0].fingerprint, smime::fingerprint(&authority.0));
        let (protocol, stored) = check(
            &store,
            &list,
            &issued.to_der().unwrap(),
            "bob@example.org",
            false,
            now,
        )
        .unwrap();
        assert_eq!(
            (protocol, stored.fingerprint),
            (Protocol::Smime, smime::fingerprint(&issued))
        );

        assert!(
            check(
                &store,
                &list,
                &own.to_pem().unwrap(),
                "bob@example.org",
                false,
                now
            )
            .is_err()
        );
        assert!(
            check(
                &store,
                &list,
                &own.to_pem().unwrap(),
                "bob@example.org",
                true,
                now
            )
            .is_ok(),
            "pinned"
        );
        let e = check(
            &store,
            &list,
            &pgp("Bob", "bob@example.org"),
            "bob@example.org",
            true,
            now,
        )
        .unwrap_err();
        assert!(matches!(e, MemberKeyError::PinNotForOpenPgp), "{e}");
        let (protocol, _) = check(
            &store,
            &list,
            &pgp("Bob", "bob@example.org"),
            "bob@example.org",
            false,
            now,
        )
        .unwrap();
        assert_eq!(protocol, Protocol::Openpgp);

        // A member's certificate is no authority.
        let e = trust_authorities(&store, &list, &own.to_pem().unwrap(), now).unwrap_err();
        assert!(matches!(e, MemberKeyError::NotAnAuthority(_)), "{e}");
        // An authority past its end (here: in thirty years) is refused, and
        // nothing of it is stored.
        let later = now + std::time::Duration::from_secs(30 * 365 * 86_400);
        let other = ca();
        let e = trust_authorities(&store, &list, &other.0.to_pem().unwrap(), later).unwrap_err();
        assert!(
            matches!(e, MemberKeyError::AuthorityNotValid { .. })
                && e.to_string().contains("expired on"),
            "{e}"
        );
        assert_eq!(trusted_authorities(&store, &list).unwrap().len(), 1);
    }

    #[test]
    fn a_review_says_what_each_certificate_is_and_whether_it_must_be_pinned() {
        let (_d, store, list) = setup(Protocol::Smime);
        let authority = ca();
        trust_authorities(
            &store,
            &list,
            &authority.0.to_pem().unwrap(),
            SystemTime::now(),
        )
        .unwrap();
        let ann = cert_for(
            "ann@example.org",
            Some((&authority.0, &authority.1)),
            Some(2048),
        );
        let (cid, _) = cert_for("cid@example.org", Some((&authority.0, &authority.1)), None);
        let (own, _) = cert_for("dan@example.org", None, None);
        let (small, _) = cert_for("eve@example.org", None, Some(1024));
        let now = SystemTime::now();

        // A bundle of two members with their authority, and two other files.
        let files = vec![
            bundle(&[&cid, &authority.0], &ann),
            own.to_pem().unwrap(),
            small.to_der().unwrap(),
        ];
        let review = review(&store, &list, None, &files, now).unwrap();
        let seen: Vec<_> = review
            .iter()
            .map(|c| (c.email.clone().unwrap(), c.action, c.needs_pin))
            .collect();
        assert_eq!(
            seen,
            [
                ("ann@example.org".into(), KeyAction::Add, false),
                ("cid@example.org".into(), KeyAction::Add, false),
                ("dan@example.org".into(), KeyAction::Add, true),
                ("eve@example.org".into(), KeyAction::Refused, false),
            ],
            "the authority in the bundle is no candidate"
        );
        assert!(
            matches!(&review[0].trust, Some(Trust::Authority { subject, .. }) if subject.contains("Conclave test authority"))
        );
        assert_eq!(review[2].trust, Some(Trust::SelfSigned));
        assert!(
            review[3].refusal.as_deref().unwrap().contains("1024 bits"),
            "{:?}",
            review[3].refusal
        );
        assert_eq!(review[0].key.fingerprint, smime::fingerprint(&ann.0));
        assert_eq!(review[0].key.algorithms, ["RSA 2048"]);
        let info = review[0].certificate.as_ref().unwrap();
        assert_eq!(info.emails, ["ann@example.org"]);
        assert!(review[0].matches);

        // For one member: a certificate for another address is refused.
        let other = super::review(
            &store,
            &list,
            Some("bob@example.org"),
            &[own.to_pem().unwrap()],
            now,
        )
        .unwrap();
        assert_eq!(other[0].action, KeyAction::Refused);
        assert!(!other[0].matches);
        let why = other[0].refusal.as_deref().unwrap();
        assert!(
            why.starts_with("The certificate is for dan@example.org, not bob@example.org"),
            "{why}"
        );

        // Adding all at once: the self-signed one only when pinned; all or none.
        let fprs: Vec<String> = review[..3]
            .iter()
            .map(|c| c.key.fingerprint.clone())
            .collect();
        let e = import(&store, &list, &files, &fprs, &[], Role::Member, now).unwrap_err();
        assert!(
            e.to_string()
                .contains("not issued by an authority this list trusts"),
            "{e}"
        );
        assert!(store.members(&list).unwrap().is_empty(), "nobody was added");
        let added = import(&store, &list, &files, &fprs, &fprs[2..], Role::Member, now).unwrap();
        assert_eq!(
            added,
            ["ann@example.org", "cid@example.org", "dan@example.org"]
        );
        let keys = member_keys(&store, &list, "cid@example.org", now).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key.fingerprint, smime::fingerprint(&cid));
        assert!(keys[0].usable && keys[0].problem.is_none());
        // Reviewed again: they have these keys now.
        let again = super::review(&store, &list, None, &files, now).unwrap();
        assert_eq!(again[0].action, KeyAction::Same);
        assert!(!again[2].needs_pin, "nothing to save, nothing to pin");
    }

    #[test]
    fn pasted_text_may_hold_keys_of_both_kinds_but_no_private_key() {
        let (_d, store, list) = setup(Protocol::Openpgp);
        let (cert, key) = cert_for("bob@example.org", None, None);
        let both = [pgp("Bob", "bob@example.org"), cert.to_pem().unwrap()].concat();
        let now = SystemTime::now();
        // Quoted from a mail, the key of one protocol after the other's.
        let text = both.clone();
        let quoted: String = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect();
        let review = review(&store, &list, None, &[quoted.into_bytes()], now).unwrap();
        let protocols: Vec<_> = review.iter().map(|c| (c.protocol, c.action)).collect();
        assert_eq!(
            protocols,
            [
                (Protocol::Openpgp, KeyAction::Add),
                (Protocol::Smime, KeyAction::Add)
            ]
        );
        assert!(review[0].note.is_none());
        assert!(
            review[1]
                .note
                .as_deref()
                .unwrap()
                .contains("no S/MIME certificate of its own"),
            "{:?}",
            review[1].note
        );

        // Both are added to the one member.
        let fprs: Vec<String> = review.iter().map(|c| c.key.fingerprint.clone()).collect();
        let added = import(&store, &list, &[both], &fprs, &fprs[1..], Role::Member, now).unwrap();
        assert_eq!(added, ["bob@example.org"]);
        let keys = member_keys(&store, &list, "bob@example.org", now).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.protocol).collect::<Vec<_>>(),
            [Protocol::Openpgp, Protocol::Smime]
        );

        let secret = [
            cert.to_pem().unwrap(),
            key.private_key_to_pem_pkcs8().unwrap(),
        ]
        .concat();
        let e = super::review(&store, &list, None, &[secret], now).unwrap_err();
        assert!(matches!(e, MemberKeyError::PrivateKey), "{e}");
        let e = super::review(&store, &list, None, &[b"hello".to_vec()], now).unwrap_err();
        assert!(matches!(e, MemberKeyError::NoKey), "{e}");
        let e = super::review(&store, &list, None, &[ca().0.to_pem().unwrap()], now).unwrap_err();
        assert!(matches!(e, MemberKeyError::OnlyAuthorities(_)), "{e}");
    }
}
