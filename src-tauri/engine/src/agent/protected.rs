//! What a protected (OpenPGP, S/MIME or mixed) list adds to the way a post travels: reading the post's
//! encryption and signatures before deciding, and building each member's
//! copy (signed once by the list, encrypted to that member) when sending.
//! Decrypted content lives in memory only: it is decrypted again at send
//! time rather than written to the store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::crypto::openpgp::{self, ListKey, MemberKey};
use crate::crypto::smime::{self, ListIdentity, MemberCert};
use crate::crypto::{Encrypted, Signed, Unwrapped};
use crate::model::{List, Member, Protocol, Requirement};
use crate::policy::{self, Decision, Encryption, Evidence, Post, Signature, render};
use crate::secrets::{self, SecretKind};
use crate::store::Store;

use super::AgentError;

/// How long reading one post's crypto may take before it is given up on.
const READ_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread and waits at most `limit` for it. A run that
/// takes longer is abandoned (it still ends by itself, bounded by max-size)
/// so that one hostile post cannot stall the posts behind it.
pub(super) fn with_time_limit<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// An OpenPGP list's key and its members' keys.
#[derive(Clone)]
struct OpenPgpKeys {
    key: ListKey,
    members: Vec<(String, MemberKey)>,
}

/// An S/MIME list's identity and its members' certificates.
#[derive(Clone)]
struct SmimeKeys {
    identity: ListIdentity,
    members: Vec<(String, MemberCert)>,
    /// Members whose clients read AES-GCM.
    gcm: Vec<String>,
}

/// The list's keys and the members' keys, loaded once per run of a list:
/// OpenPGP, S/MIME, or both (a mixed list).
#[derive(Clone)]
pub(super) struct ListCrypto {
    /// The list's own protocol, preferred for a member who has both kinds
    /// of key.
    prefers: Protocol,
    openpgp: Option<OpenPgpKeys>,
    smime: Option<SmimeKeys>,
}

fn secret_missing(list: &List) -> impl Fn(secrets::SecretError) -> AgentError + '_ {
    move |e| match e {
        secrets::SecretError::Missing(_) => AgentError::NoListKey(list.address.clone()),
        other => other.into(),
    }
}

impl ListCrypto {
    /// Loads what a protected list needs: the keys of its protocol (which
    /// must be there) and those of the other protocol if the list has
    /// them too. `None` for a plain list.
    pub(super) async fn load(store: &std::sync::Mutex<Store>, list: &List) -> Result<Option<ListCrypto>, AgentError> {
        let (has_openpgp, smime_cert) = {
            let db = super::db(store);
            (db.list_key(list, Protocol::Openpgp)?.is_some(), db.list_key(list, Protocol::Smime)?)
        };
        let openpgp = if list.protocol == Protocol::Openpgp || has_openpgp {
            let armored = secrets::load(&list.address, SecretKind::OpenPgpListKey).await.map_err(secret_missing(list))?;
            let key = ListKey::from_keychain(&armored).map_err(|e| AgentError::BadListKey(e.to_string()))?;
            let stored = super::db(store).member_keys(list, Protocol::Openpgp)?;
            let members = stored
                .into_iter()
                .filter_map(|(email, k)| MemberKey::from_stored(&k.cert).ok().map(|m| (email, m)))
                .collect();
            Some(OpenPgpKeys { key, members })
        } else {
            None
        };
        let smime = match (list.protocol, smime_cert) {
            (Protocol::Smime, None) => return Err(AgentError::NoListKey(list.address.clone())),
            (_, None) => None,
            (_, Some(cert)) => {
                let pem = secrets::load(&list.address, SecretKind::SmimeListKey).await.map_err(secret_missing(list))?;
                let key = ListIdentity::key_from_keychain(&pem).map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let certs = smime::read_certs(&cert.cert).map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let identity = ListIdentity::with_key(key, certs, &list.address, SystemTime::now())
                    .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let db = super::db(store);
                let members = db
                    .member_keys(list, Protocol::Smime)?
                    .into_iter()
                    .filter_map(|(email, k)| MemberCert::from_stored(&k.cert).ok().map(|m| (email, m)))
                    .collect();
                Some(SmimeKeys { identity, members, gcm: db.gcm_members(list)? })
            }
        };
        if openpgp.is_none() && smime.is_none() {
            return Ok(None);
        }
        Ok(Some(ListCrypto { prefers: list.protocol, openpgp, smime }))
    }

    fn openpgp_key(&self, email: &str, now: SystemTime) -> Option<&MemberKey> {
        let keys = &self.openpgp.as_ref()?.members;
        keys.iter().find(|(e, _)| e.eq_ignore_ascii_case(email)).map(|(_, k)| k).filter(|k| k.can_encrypt(now))
    }

    fn smime_cert(&self, email: &str, now: SystemTime) -> Option<&MemberCert> {
        let certs = &self.smime.as_ref()?.members;
        certs.iter().find(|(e, _)| e.eq_ignore_ascii_case(email)).map(|(_, c)| c).filter(|c| c.can_encrypt(now))
    }

    /// Whether `email`, holding a usable certificate, gets S/MIME rather
    /// than OpenPGP: the list's own protocol first (as [`copy_for`]).
    fn routes_to_smime(&self, email: &str, now: SystemTime) -> bool {
        self.prefers == Protocol::Smime || self.openpgp_key(email, now).is_none()
    }

    /// The signed entity enveloped once for everyone who gets an S/MIME
    /// copy, CBC and GCM readers apart. Should it fail (two members with
    /// one certificate, say), copies are enveloped one by one instead.
    fn smime_envelopes(&self, entity: &[u8], keys: &SmimeKeys) -> Vec<smime::SharedEnvelope> {
        let now = SystemTime::now();
        let mut out = Vec::new();
        for cipher in [smime::Cipher::Cbc, smime::Cipher::Gcm] {
            let group: Vec<(&str, &MemberCert)> = keys
                .members
                .iter()
                .filter(|(e, c)| c.can_encrypt(now) && self.routes_to_smime(e, now))
                .filter(|(e, _)| keys.gcm.iter().any(|g| g.eq_ignore_ascii_case(e)) == (cipher == smime::Cipher::Gcm))
                .map(|(e, c)| (e.as_str(), c))
                .collect();
            match smime::shared_envelopes(entity, &group, cipher) {
                Ok(shared) => out.extend(shared),
                Err(_) => return Vec::new(),
            }
        }
        out
    }

    /// Whether a member can receive an encrypted copy now.
    pub(super) fn can_encrypt_to(&self, email: &str) -> bool {
        let now = SystemTime::now();
        self.openpgp_key(email, now).is_some() || self.smime_cert(email, now).is_some()
    }

    /// Reads a post with the protocol it is written in.
    fn read(&self, raw: &[u8], from: Option<&str>, max: usize, now: SystemTime) -> Unwrapped {
        if smime::is_smime(raw) {
            return match &self.smime {
                Some(s) => smime::unwrap(raw, Some(&s.identity), &s.members, from, max, now),
                // Nothing to decrypt with and no member certificates: an
                // encrypted post is for another key, a signature is no
                // member's.
                None => smime::unwrap(raw, None, &[], from, max, now),
            };
        }
        match &self.openpgp {
            Some(p) => openpgp::unwrap(raw, &p.key, &p.members, from, max, now),
            None => {
                let (head, _) = crate::mime::split_head(raw);
                let ct = crate::mime::header(head, "Content-Type").unwrap_or_default();
                let encrypted = if crate::mime::media_type(&ct) == "multipart/encrypted" {
                    Encrypted::NotForList
                } else {
                    Encrypted::No
                };
                Unwrapped { encrypted, signed: Signed::No, content: None, signature_digest: None, signature_time: None }
            }
        }
    }
}

/// What deciding a protected post found.
pub(super) struct Judged {
    pub decision: Decision,
    pub signature_digest: Option<String>,
    /// Members who receive nothing because they have no usable key
    /// (distrib-encrypt force).
    pub left_out: Vec<String>,
}

/// How far a signature may lie after the post's arrival (clocks differ).
const CLOCK_SKEW_SECS: i64 = 3600;

/// Decides a post of a protected (OpenPGP, S/MIME or mixed) list.
pub(super) fn judge(
    raw: &[u8],
    post: &Post,
    list: &List,
    members: &[Member],
    crypto: &ListCrypto,
    store: &Store,
    arrived_at: i64,
) -> Result<Judged, AgentError> {
    let max = list.settings.max_size as usize;
    let (evidence, unwrapped) = read_evidence(raw, post, list, crypto, store, arrived_at, max)?;
    let decision = policy::decide_protected(post, list, members, &evidence);
    let (decision, left_out) = match decision {
        Decision::Distribute { recipients } => {
            let plan = policy::plan_delivery(&list.settings, &recipients, |m| crypto.can_encrypt_to(m));
            (Decision::Distribute { recipients: plan.to.into_iter().map(|(m, _)| m).collect() }, plan.left_out)
        }
        other => (other, vec![]),
    };
    Ok(Judged { decision, signature_digest: unwrapped.signature_digest, left_out })
}

/// What the crypto layer finds out about a post, as deciding it sees it:
/// its encryption and a member's signature (too old, too new or a replay
/// does not count), with the clear content when there is one. `max` bounds
/// the decrypted size.
pub(super) fn read_evidence(
    raw: &[u8],
    post: &Post,
    list: &List,
    crypto: &ListCrypto,
    store: &Store,
    arrived_at: i64,
    max: usize,
) -> Result<(Evidence, Unwrapped), AgentError> {
    let (raw_owned, crypto_owned, from) = (raw.to_vec(), crypto.clone(), post.signing_poster().map(str::to_string));
    let unwrapped = with_time_limit(READ_TIME_LIMIT, move || {
        crypto_owned.read(&raw_owned, from.as_deref(), max, SystemTime::now())
    })
    .unwrap_or_else(|| Unwrapped {
        encrypted: Encrypted::Broken(format!("reading it took longer than {} s; set aside", READ_TIME_LIMIT.as_secs())),
        signed: Signed::No,
        content: None,
        signature_digest: None,
        signature_time: None,
    });
    let mut signature = match &unwrapped.signed {
        Signed::No => Signature::None,
        Signed::ByMember { email, .. } => Signature::ByMember { email: email.clone() },
        Signed::Invalid(why) => Signature::Invalid(why.clone()),
    };
    if let (Signature::ByMember { .. }, Some(made)) = (&signature, unwrapped.signature_time)
        && let Some(why) = signature_age_problem(made, arrived_at, list.settings.signature_max_age_days)
    {
        signature = Signature::Invalid(why);
    }
    if let (Signature::ByMember { .. }, Some(digest)) = (&signature, &unwrapped.signature_digest)
        && let Some(earlier) = store.signature_seen(list, digest)? {
            signature = Signature::Invalid(format!("a replay: post {earlier} carried the same signature"));
        }
    let encryption = match &unwrapped.encrypted {
        Encrypted::No => Encryption::None,
        Encrypted::ForList => Encryption::ToList,
        Encrypted::NotForList => Encryption::ToOtherKey,
        Encrypted::Broken(why) => Encryption::Broken(why.clone()),
    };
    Ok((Evidence { encryption, signature }, unwrapped))
}

/// Why a signature's time does not fit the post's arrival in the list's
/// mailbox (the owner's laptop may have been closed for a week, so arrival,
/// not processing, is the measure), if it does not.
pub(super) fn signature_age_problem(made: SystemTime, arrived_at: i64, max_age_days: u32) -> Option<String> {
    let made = made.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    if made > arrived_at + CLOCK_SKEW_SECS {
        return Some("its signature is dated after the post reached the list, beyond any clock difference".into());
    }
    if max_age_days > 0 && made < arrived_at - i64::from(max_age_days) * 86_400 {
        let days = (arrived_at - made) / 86_400;
        return Some(format!(
            "its signature was made {days} days before the post reached the list (more than signature-max-age-days {max_age_days}): an old post sent again"
        ));
    }
    None
}

/// A post made ready for its copies: the outer headers, and the entity
/// (signed by the list when it should be) that goes in or under them, once
/// per protocol the list has.
pub(super) struct Prepared {
    headers: Vec<u8>,
    openpgp: Option<PreparedOpenPgp>,
    /// The entity signed by the list's S/MIME key (or unsigned).
    smime: Option<Vec<u8>>,
    /// That entity encrypted once for the members who get S/MIME copies;
    /// empty when it could not be (each copy is then enveloped alone).
    smime_shared: Vec<smime::SharedEnvelope>,
}

struct PreparedOpenPgp {
    entity: Vec<u8>,
    /// The entity encrypted once for the whole fan-out, when anyone gets an
    /// encrypted copy.
    shared: Option<openpgp::SharedPayload>,
}

pub(super) fn prepare(raw: &[u8], list: &List, crypto: &ListCrypto, fallback_id: &str) -> Result<Arc<Prepared>, String> {
    let max = list.settings.max_size as usize;
    let post = Post::read(raw).map_err(|e| e.to_string())?;
    let unwrapped = crypto.read(raw, post.signing_poster(), max, SystemTime::now());
    let decrypted = unwrapped.encrypted == Encrypted::ForList;
    if matches!(unwrapped.encrypted, Encrypted::NotForList | Encrypted::Broken(_)) {
        return Err("the post can no longer be decrypted with the list key".into());
    }
    let content = unwrapped.content.unwrap_or_else(|| render::entity_of(raw));
    // The footer goes inside what the list signs and encrypts.
    let content = match list.settings.footer.as_str() {
        "" => content,
        footer => render::with_footer(&crate::mime::crlf(&content), footer),
    };
    let sign = list.settings.distrib_sign;
    let openpgp = match &crypto.openpgp {
        None => None,
        Some(p) => {
            let entity = if sign { openpgp::sign_entity(&content, &p.key).map_err(|e| e.to_string())? } else { content.clone() };
            let shared = match list.settings.distrib_encrypt {
                Requirement::No => None,
                _ => Some(openpgp::SharedPayload::new(&entity).map_err(|e| e.to_string())?),
            };
            Some(PreparedOpenPgp { entity, shared })
        }
    };
    let smime = match &crypto.smime {
        None => None,
        Some(s) if sign => Some(smime::sign_entity(&content, &s.identity).map_err(|e| e.to_string())?),
        Some(_) => Some(crate::mime::crlf(&content)),
    };
    let smime_shared = match (&smime, &crypto.smime, list.settings.distrib_encrypt) {
        (Some(entity), Some(keys), Requirement::Yes | Requirement::Force) => crypto.smime_envelopes(entity, keys),
        _ => Vec::new(),
    };
    Ok(Arc::new(Prepared {
        headers: render::render_protected_headers(raw, list, fallback_id, decrypted),
        openpgp,
        smime,
        smime_shared,
    }))
}

/// One member's copy, in the protocol of the key the member has (the
/// list's own protocol first when they have both): encrypted to that key
/// when the list says so, else the list-signed entity. Under
/// distrib-encrypt force a member without a usable key gets nothing (the
/// error says why).
pub(super) fn copy_for(prepared: &Prepared, list: &List, crypto: &ListCrypto, member: &str) -> Result<Vec<u8>, String> {
    enum Route<'a> {
        OpenPgp(&'a MemberKey, &'a PreparedOpenPgp),
        Smime(&'a MemberCert, &'a Vec<u8>),
    }
    let now = SystemTime::now();
    let pgp = crypto.openpgp_key(member, now).zip(prepared.openpgp.as_ref()).map(|(k, p)| Route::OpenPgp(k, p));
    let cms = crypto.smime_cert(member, now).zip(prepared.smime.as_ref()).map(|(c, e)| Route::Smime(c, e));
    let route = if crypto.prefers == Protocol::Smime { cms.or(pgp) } else { pgp.or(cms) };
    let body = match (list.settings.distrib_encrypt, route) {
        (Requirement::Yes | Requirement::Force, Some(Route::OpenPgp(key, p))) => match &p.shared {
            Some(shared) => shared.copy_for(key).map_err(|e| e.to_string())?,
            None => return Err("the post was prepared without encryption".into()),
        },
        (Requirement::Yes | Requirement::Force, Some(Route::Smime(cert, entity))) => {
            match prepared.smime_shared.iter().find_map(|s| s.copy_for(member)) {
                Some(copy) => copy.map_err(|e| e.to_string())?,
                None => {
                    let gcm = crypto.smime.as_ref().is_some_and(|s| s.gcm.iter().any(|m| m.eq_ignore_ascii_case(member)));
                    smime::envelope(entity, cert, if gcm { smime::Cipher::Gcm } else { smime::Cipher::Cbc })
                        .map_err(|e| e.to_string())?
                }
            }
        }
        (Requirement::Force, None) => {
            return Err(format!("{member} has no valid key, and the list sends only encrypted (distrib-encrypt force)"));
        }
        // A clear copy, signed in the protocol the member can check.
        (_, Some(Route::OpenPgp(_, p))) => p.entity.clone(),
        (_, Some(Route::Smime(_, entity))) => entity.clone(),
        (_, None) => match (crypto.prefers, &prepared.openpgp, &prepared.smime) {
            (Protocol::Smime, _, Some(entity)) | (_, None, Some(entity)) => entity.clone(),
            (_, Some(p), _) => p.entity.clone(),
            (_, None, None) => return Err("the list has no key to sign with".into()),
        },
    };
    Ok([prepared.headers.as_slice(), &body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_work_is_abandoned_at_the_time_limit() {
        assert_eq!(with_time_limit(Duration::from_secs(5), || 42), Some(42));
        let slow = with_time_limit(Duration::from_millis(50), || std::thread::sleep(Duration::from_secs(2)));
        assert_eq!(slow, None);
    }

    #[test]
    fn signatures_must_be_recent_at_arrival() {
        let arrived = 1_800_000_000;
        let at = |secs: i64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
        assert_eq!(signature_age_problem(at(arrived - 3600), arrived, 7), None);
        assert!(signature_age_problem(at(arrived - 8 * 86_400), arrived, 7).unwrap().contains("8 days"));
        assert_eq!(signature_age_problem(at(arrived - 800 * 86_400), arrived, 0), None, "0 turns the window off");
        assert_eq!(signature_age_problem(at(arrived + 600), arrived, 7), None, "small clock differences pass");
        assert!(signature_age_problem(at(arrived + 2 * 3600), arrived, 7).is_some());
    }

    #[test]
    fn smime_copies_share_one_encryption_of_the_post() {
        use crate::crypto::smime::SmimeAlgo;
        let identity = ListIdentity::generate("list@example.org", SmimeAlgo::P256).unwrap();
        let member = |email: &str| {
            let id = ListIdentity::generate(email, SmimeAlgo::P256).unwrap();
            (email.to_string(), MemberCert::from_stored(&id.cert().to_der().unwrap()).unwrap())
        };
        let members = vec![member("ann@example.org"), member("bob@example.org"), member("cy@example.org")];
        let crypto = ListCrypto {
            prefers: Protocol::Smime,
            openpgp: None,
            smime: Some(SmimeKeys { identity, members, gcm: vec!["cy@example.org".into()] }),
        };
        let list = List {
            id: 1,
            address: "list@example.org".into(),
            name: "L".into(),
            protocol: Protocol::Smime,
            paused: false,
            settings: crate::model::ListSettings::defaults_for("L"),
        };
        let raw = b"From: ann@example.org\r\nTo: list@example.org\r\nSubject: s\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n";
        let prepared = prepare(raw, &list, &crypto, "<f@example.org>").unwrap();
        // One envelope for the CBC readers, one for the GCM reader.
        assert_eq!(prepared.smime_shared.len(), 2);
        for email in ["ann@example.org", "bob@example.org", "cy@example.org"] {
            assert!(prepared.smime_shared.iter().filter(|s| s.has(email)).count() == 1, "{email}");
            let copy = copy_for(&prepared, &list, &crypto, email).unwrap();
            let text = String::from_utf8_lossy(&copy);
            let kind = if email == "cy@example.org" { "authEnveloped-data" } else { "smime-type=enveloped-data" };
            assert!(text.contains(kind), "{email}: {text}");
        }
        // Nothing to share when the list sends clear copies.
        let mut clear = list.clone();
        clear.settings.distrib_encrypt = Requirement::No;
        assert!(prepare(raw, &clear, &crypto, "<f@example.org>").unwrap().smime_shared.is_empty());
    }
}
