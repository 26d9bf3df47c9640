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
use crate::policy::render::{Author, ListHeaders, Protection};
use crate::policy::{
    self, Decision, DeliveryPlan, Encryption, Evidence, Post, Signature, notices, render,
};
use crate::secrets::{self, SecretKind};
use crate::store::Store;

use super::AgentError;

/// How long reading one post's crypto may take before it is given up on.
const READ_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread and waits at most `limit` for it. A run that
/// takes longer is abandoned (it still ends by itself, bounded by max-size)
/// so that one hostile post cannot stall the posts behind it.
pub(super) fn with_time_limit<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
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
    pub(super) async fn load(
        store: &std::sync::Mutex<Store>,
        list: &List,
    ) -> Result<Option<ListCrypto>, AgentError> {
        let (has_openpgp, smime_cert) = {
            let db = super::db(store);
            (
                db.list_key(list, Protocol::Openpgp)?.is_some(),
                db.list_key(list, Protocol::Smime)?,
            )
        };
        let openpgp = if list.protocol == Protocol::Openpgp || has_openpgp {
            let armored = secrets::load(&list.address, SecretKind::OpenPgpListKey)
                .await
                .map_err(secret_missing(list))?;
            let key = ListKey::from_keychain(&armored)
                .map_err(|e| AgentError::BadListKey(e.to_string()))?;
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
                let pem = secrets::load(&list.address, SecretKind::SmimeListKey)
                    .await
                    .map_err(secret_missing(list))?;
                let key = ListIdentity::key_from_keychain(&pem)
                    .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let certs = smime::read_certs(&cert.cert)
                    .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let identity = ListIdentity::with_key(key, certs, &list.address, SystemTime::now())
                    .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                let db = super::db(store);
                let members = db
                    .member_keys(list, Protocol::Smime)?
                    .into_iter()
                    .filter_map(|(email, k)| {
                        MemberCert::from_stored(&k.cert).ok().map(|m| (email, m))
                    })
                    .collect();
                Some(SmimeKeys {
                    identity,
                    members,
                    gcm: db.gcm_members(list)?,
                })
            }
        };
        if openpgp.is_none() && smime.is_none() {
            return Ok(None);
        }
        Ok(Some(ListCrypto {
            prefers: list.protocol,
            openpgp,
            smime,
        }))
    }

    fn openpgp_key(&self, email: &str, now: SystemTime) -> Option<&MemberKey> {
        let keys = &self.openpgp.as_ref()?.members;
        keys.iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(email))
            .map(|(_, k)| k)
            .filter(|k| k.can_encrypt(now))
    }

    fn smime_cert(&self, email: &str, now: SystemTime) -> Option<&MemberCert> {
        let certs = &self.smime.as_ref()?.members;
        certs
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(email))
            .map(|(_, c)| c)
            .filter(|c| c.can_encrypt(now))
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
                .filter(|(e, _)| {
                    keys.gcm.iter().any(|g| g.eq_ignore_ascii_case(e))
                        == (cipher == smime::Cipher::Gcm)
                })
                .map(|(e, c)| (e.as_str(), c))
                .collect();
            match smime::shared_envelopes(entity, &group, cipher) {
                Ok(shared) => out.extend(shared),
                Err(_) => return Vec::new(),
            }
        }
        out
    }

    /// The list's OpenPGP key as an `Autocrypt` header publishes it.
    pub(super) fn autocrypt_keydata(&self) -> Option<String> {
        self.openpgp.as_ref().map(|p| p.key.autocrypt_keydata())
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
                Unwrapped {
                    encrypted,
                    signed: Signed::No,
                    content: None,
                    signature_digest: None,
                    signature_time: None,
                }
            }
        }
    }
}

/// What deciding a protected post found.
pub(super) struct Judged {
    /// The decision by the rules and the crypto settings, before it is
    /// known who of the recipients gets which copy.
    pub decision: Decision,
    pub signature_digest: Option<String>,
    /// The member whose key made a good signature, and that key as people
    /// read it, even when From names someone else.
    pub signer: Option<(String, String)>,
    /// It reached the list encrypted to the list's key: it never leaves
    /// unencrypted.
    pub arrived_encrypted: bool,
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
    // A command sent encrypted (a client that knows the list's key
    // encrypts "unsubscribe" too) says so in its protected Subject; read
    // there, in memory, and never stored.
    let inner_subject = unwrapped
        .content
        .as_deref()
        .and_then(render::protected_subject);
    let decision = match inner_subject {
        Some(subject) => {
            let seen = Post {
                subject,
                ..post.clone()
            };
            policy::decide_protected(&seen, list, members, &evidence)
        }
        None => policy::decide_protected(post, list, members, &evidence),
    };
    let signer = match &unwrapped.signed {
        Signed::ByMember { email, fingerprint } | Signed::NotTheSender { email, fingerprint } => {
            Some((email.clone(), readable_key(raw, fingerprint)))
        }
        _ => None,
    };
    Ok(Judged {
        decision,
        signature_digest: unwrapped.signature_digest,
        signer,
        arrived_encrypted: unwrapped.encrypted == Encrypted::ForList,
    })
}

/// Which recipients get the post, which a notice instead, and who nothing.
pub(super) fn plan(
    list: &List,
    crypto: &ListCrypto,
    recipients: &[String],
    arrived_encrypted: bool,
) -> DeliveryPlan {
    policy::plan_delivery(&list.settings, recipients, arrived_encrypted, |m| {
        crypto.can_encrypt_to(m)
    })
}

/// A signer's key as members and owners compare it: an OpenPGP
/// fingerprint in groups of four, or a certificate's SHA-256 (grouped
/// already), named by kind.
fn readable_key(raw: &[u8], fingerprint: &str) -> String {
    if smime::is_smime(raw) {
        return format!("S/MIME certificate SHA-256 {fingerprint}");
    }
    let grouped: Vec<&str> = fingerprint
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!("OpenPGP key {}", grouped.join(" "))
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
    let (raw_owned, crypto_owned, from) = (
        raw.to_vec(),
        crypto.clone(),
        post.signing_poster().map(str::to_string),
    );
    let unwrapped = with_time_limit(READ_TIME_LIMIT, move || {
        crypto_owned.read(&raw_owned, from.as_deref(), max, SystemTime::now())
    })
    .unwrap_or_else(|| Unwrapped {
        encrypted: Encrypted::Broken(format!(
            "reading it took longer than {} s; set aside",
            READ_TIME_LIMIT.as_secs()
        )),
        signed: Signed::No,
        content: None,
        signature_digest: None,
        signature_time: None,
    });
    let mut signature = match &unwrapped.signed {
        Signed::No => Signature::None,
        Signed::ByMember { email, .. } => Signature::ByMember {
            email: email.clone(),
        },
        Signed::NotTheSender { email, fingerprint } => Signature::NotTheSender {
            email: email.clone(),
            key: readable_key(raw, fingerprint),
            from: post.sender_text(),
        },
        Signed::Invalid(why) => Signature::Invalid(why.clone()),
    };
    if let (Signature::ByMember { .. }, Some(made)) = (&signature, unwrapped.signature_time)
        && let Some(why) =
            signature_age_problem(made, arrived_at, list.settings.signature_max_age_days)
    {
        signature = Signature::Invalid(why);
    }
    if let (Signature::ByMember { .. }, Some(digest)) = (&signature, &unwrapped.signature_digest)
        && let Some(earlier) = store.signature_seen(list, digest)?
    {
        signature = Signature::Invalid(format!(
            "a replay: post {earlier} carried the same signature"
        ));
    }
    let encryption = match &unwrapped.encrypted {
        Encrypted::No => Encryption::None,
        Encrypted::ForList => Encryption::ToList,
        Encrypted::NotForList => Encryption::ToOtherKey,
        Encrypted::Broken(why) => Encryption::Broken(why.clone()),
    };
    Ok((
        Evidence {
            encryption,
            signature,
        },
        unwrapped,
    ))
}

/// Why a signature's time does not fit the post's arrival in the list's
/// mailbox (the owner's laptop may have been closed for a week, so arrival,
/// not processing, is the measure), if it does not.
pub(super) fn signature_age_problem(
    made: SystemTime,
    arrived_at: i64,
    max_age_days: u32,
) -> Option<String> {
    let made = made
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if made > arrived_at + CLOCK_SKEW_SECS {
        return Some(
            "its signature is dated after the post reached the list, beyond any clock difference"
                .into(),
        );
    }
    if max_age_days > 0 && made < arrived_at - i64::from(max_age_days) * 86_400 {
        let days = (arrived_at - made) / 86_400;
        return Some(format!(
            "its signature was made {days} days before the post reached the list (more than signature-max-age-days {max_age_days}): an old post sent again"
        ));
    }
    None
}

/// What every copy of one run names: the list's own header fields, and the
/// members whose names the copies carry.
pub(super) struct Masthead<'a> {
    pub headers: &'a ListHeaders,
    pub members: &'a [Member],
}

/// A post made ready for its copies: the clear headers of encrypted and of
/// clear copies, and per protocol the list has, what goes under them. What
/// is encrypted and what is only signed differ (RFC 9788: the encrypted
/// payload says what its clear header hides), and each is built only when
/// some member gets it.
pub(super) struct Prepared {
    encrypted_head: Vec<u8>,
    clear_head: Vec<u8>,
    /// It reached the list encrypted: no clear copy exists.
    arrived_encrypted: bool,
    openpgp: Option<PreparedOpenPgp>,
    smime: Option<PreparedSmime>,
}

struct PreparedOpenPgp {
    /// The payload (signed by the list when it should be) for clear copies.
    clear: Option<Vec<u8>>,
    /// The payload encrypted once for the whole fan-out.
    shared: Option<openpgp::SharedPayload>,
}

struct PreparedSmime {
    clear: Option<Vec<u8>>,
    /// The signed (or unsigned) payload of encrypted copies.
    encrypted: Option<Vec<u8>>,
    /// That payload encrypted once for the members who get S/MIME copies;
    /// empty when it could not be (each copy is then enveloped alone).
    shared: Vec<smime::SharedEnvelope>,
}

/// One member's copy, or the word that they get a notice instead.
pub(super) enum Copy {
    Post(Vec<u8>),
    /// The post arrived encrypted and the list has no usable key of theirs.
    KeylessNotice,
}

pub(super) fn prepare(
    raw: &[u8],
    list: &List,
    crypto: &ListCrypto,
    masthead: &Masthead<'_>,
    fallback_id: &str,
) -> Result<Arc<Prepared>, String> {
    let max = list.settings.max_size as usize;
    let post = Post::read(raw).map_err(|e| e.to_string())?;
    let unwrapped = crypto.read(raw, post.signing_poster(), max, SystemTime::now());
    let arrived_encrypted = unwrapped.encrypted == Encrypted::ForList;
    if matches!(
        unwrapped.encrypted,
        Encrypted::NotForList | Encrypted::Broken(_)
    ) {
        return Err("the post can no longer be decrypted with the list key".into());
    }
    // Copies name who signed, when a member's key did (an owner approved
    // the post if From said otherwise), else the single sender.
    let author = match &unwrapped.signed {
        Signed::ByMember { email, .. } | Signed::NotTheSender { email, .. } => {
            Author::named(email, masthead.members)
        }
        _ => post
            .poster()
            .map(|p| Author::named(p, masthead.members))
            .unwrap_or_else(|| Author::the_list(list)),
    };
    let note = match &unwrapped.signed {
        Signed::ByMember { email, fingerprint } => {
            let made = unwrapped.signature_time.map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            });
            Some(render::signature_note(
                email,
                &readable_key(raw, fingerprint),
                made.as_deref(),
                arrived_encrypted,
            ))
        }
        _ => None,
    };
    let content = unwrapped.content.unwrap_or_else(|| render::entity_of(raw));
    let (payload, inner_subject) = render::payload(
        &crate::mime::crlf(&content),
        note.as_deref(),
        &list.settings.footer,
    );
    let heads = render::copy_headers(
        raw,
        inner_subject.as_deref(),
        list,
        masthead.headers,
        &author,
        fallback_id,
    );

    let sign = list.settings.distrib_sign;
    let encrypt_any = list.settings.distrib_encrypt != Requirement::No || arrived_encrypted;
    let clear_any = !arrived_encrypted && list.settings.distrib_encrypt != Requirement::Force;
    let encrypted_payload = encrypt_any.then(|| {
        render::protect_headers(
            &payload,
            &heads.inner,
            Protection::Encrypted,
            &heads.encrypted,
        )
    });
    // A clear copy the list does not sign is an ordinary message: nothing
    // in it is protected, so it carries no inner header.
    let clear_payload = clear_any.then(|| match sign {
        true => render::protect_headers(&payload, &heads.inner, Protection::Signed, &heads.clear),
        false => payload.clone(),
    });

    let openpgp = match &crypto.openpgp {
        None => None,
        Some(p) => {
            let signed = |entity: &[u8]| -> Result<Vec<u8>, String> {
                if sign {
                    openpgp::sign_entity(entity, &p.key).map_err(|e| e.to_string())
                } else {
                    Ok(entity.to_vec())
                }
            };
            let clear = clear_payload.as_deref().map(signed).transpose()?;
            let shared = match &encrypted_payload {
                None => None,
                Some(e) => {
                    Some(openpgp::SharedPayload::new(&signed(e)?).map_err(|e| e.to_string())?)
                }
            };
            Some(PreparedOpenPgp { clear, shared })
        }
    };
    let smime = match &crypto.smime {
        None => None,
        Some(s) => {
            let signed = |entity: &[u8]| -> Result<Vec<u8>, String> {
                if sign {
                    smime::sign_entity(entity, &s.identity).map_err(|e| e.to_string())
                } else {
                    Ok(crate::mime::crlf(entity))
                }
            };
            let clear = clear_payload.as_deref().map(signed).transpose()?;
            let encrypted = encrypted_payload.as_deref().map(signed).transpose()?;
            let shared = match &encrypted {
                Some(entity) => crypto.smime_envelopes(entity, s),
                None => Vec::new(),
            };
            Some(PreparedSmime {
                clear,
                encrypted,
                shared,
            })
        }
    };
    Ok(Arc::new(Prepared {
        encrypted_head: render::head_bytes(&heads.encrypted),
        clear_head: render::head_bytes(&heads.clear),
        arrived_encrypted,
        openpgp,
        smime,
    }))
}

/// One member's copy, in the protocol of the key the member has (the
/// list's own protocol first when they have both): encrypted to that key
/// when the list says so or the post arrived encrypted, else the clear
/// payload. A member without a usable key gets nothing under
/// distrib-encrypt force (the error says why), and a notice instead of a
/// post that arrived encrypted.
pub(super) fn copy_for(
    prepared: &Prepared,
    list: &List,
    crypto: &ListCrypto,
    member: &str,
) -> Result<Copy, String> {
    enum Route<'a> {
        OpenPgp(&'a MemberKey, &'a PreparedOpenPgp),
        Smime(&'a MemberCert, &'a PreparedSmime),
    }
    let now = SystemTime::now();
    let pgp = crypto
        .openpgp_key(member, now)
        .zip(prepared.openpgp.as_ref())
        .map(|(k, p)| Route::OpenPgp(k, p));
    let cms = crypto
        .smime_cert(member, now)
        .zip(prepared.smime.as_ref())
        .map(|(c, s)| Route::Smime(c, s));
    let route = if crypto.prefers == Protocol::Smime {
        cms.or(pgp)
    } else {
        pgp.or(cms)
    };
    let encrypt = list.settings.distrib_encrypt != Requirement::No || prepared.arrived_encrypted;
    let not_prepared = || "the post was not prepared for this kind of copy".to_string();
    let (head, body) = match route {
        Some(Route::OpenPgp(key, p)) if encrypt => {
            let shared = p.shared.as_ref().ok_or_else(not_prepared)?;
            (
                &prepared.encrypted_head,
                shared.copy_for(key).map_err(|e| e.to_string())?,
            )
        }
        Some(Route::Smime(cert, s)) if encrypt => {
            let body = match s.shared.iter().find_map(|shared| shared.copy_for(member)) {
                Some(copy) => copy.map_err(|e| e.to_string())?,
                None => {
                    let entity = s.encrypted.as_ref().ok_or_else(not_prepared)?;
                    let gcm = crypto
                        .smime
                        .as_ref()
                        .is_some_and(|k| k.gcm.iter().any(|m| m.eq_ignore_ascii_case(member)));
                    smime::envelope(
                        entity,
                        cert,
                        if gcm {
                            smime::Cipher::Gcm
                        } else {
                            smime::Cipher::Cbc
                        },
                    )
                    .map_err(|e| e.to_string())?
                }
            };
            (&prepared.encrypted_head, body)
        }
        None if list.settings.distrib_encrypt == Requirement::Force => {
            return Err(format!(
                "{member} has no valid key, and the list sends only encrypted (distrib-encrypt force)"
            ));
        }
        None if prepared.arrived_encrypted => return Ok(Copy::KeylessNotice),
        // A clear copy, signed in the protocol the member can check.
        Some(Route::OpenPgp(_, p)) => (
            &prepared.clear_head,
            p.clear.clone().ok_or_else(not_prepared)?,
        ),
        Some(Route::Smime(_, s)) => (
            &prepared.clear_head,
            s.clear.clone().ok_or_else(not_prepared)?,
        ),
        None => {
            let pgp_clear = prepared.openpgp.as_ref().and_then(|p| p.clear.clone());
            let cms_clear = prepared.smime.as_ref().and_then(|s| s.clear.clone());
            let body = if crypto.prefers == Protocol::Smime {
                cms_clear.or(pgp_clear)
            } else {
                pgp_clear.or(cms_clear)
            };
            (
                &prepared.clear_head,
                body.ok_or_else(|| "the list has no key to sign with".to_string())?,
            )
        }
    };
    Ok(Copy::Post([head.as_slice(), &body].concat()))
}

/// The notice a member without a usable key gets instead of a post that
/// arrived encrypted: signed by the list (in its own protocol first), with
/// no word of the post.
pub(super) fn keyless_notice(
    list: &List,
    crypto: &ListCrypto,
    masthead: &Masthead<'_>,
    env: &notices::Envelope<'_>,
) -> Result<Vec<u8>, String> {
    let (head, entity) = notices::keyless_notice(list, env, masthead.headers.owner.as_deref());
    let signed = match (crypto.prefers, &crypto.openpgp, &crypto.smime) {
        (Protocol::Smime, _, Some(s)) | (_, None, Some(s)) => {
            smime::sign_entity(&entity, &s.identity).map_err(|e| e.to_string())?
        }
        (_, Some(p), _) => openpgp::sign_entity(&entity, &p.key).map_err(|e| e.to_string())?,
        (_, None, None) => return Err("the list has no key to sign with".into()),
    };
    Ok([head.as_slice(), &signed].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_work_is_abandoned_at_the_time_limit() {
        assert_eq!(with_time_limit(Duration::from_secs(5), || 42), Some(42));
        let slow = with_time_limit(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2))
        });
        assert_eq!(slow, None);
    }

    #[test]
    fn signatures_must_be_recent_at_arrival() {
        let arrived = 1_800_000_000;
        let at = |secs: i64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
        assert_eq!(signature_age_problem(at(arrived - 3600), arrived, 7), None);
        assert!(
            signature_age_problem(at(arrived - 8 * 86_400), arrived, 7)
                .unwrap()
                .contains("8 days")
        );
        assert_eq!(
            signature_age_problem(at(arrived - 800 * 86_400), arrived, 0),
            None,
            "0 turns the window off"
        );
        assert_eq!(
            signature_age_problem(at(arrived + 600), arrived, 7),
            None,
            "small clock differences pass"
        );
        assert!(signature_age_problem(at(arrived + 2 * 3600), arrived, 7).is_some());
    }

    #[test]
    fn smime_copies_share_one_encryption_of_the_post() {
        use crate::crypto::smime::SmimeAlgo;
        let identity = ListIdentity::generate("list@example.org", SmimeAlgo::P256).unwrap();
        let member = |email: &str| {
            let id = ListIdentity::generate(email, SmimeAlgo::P256).unwrap();
            (
                email.to_string(),
                MemberCert::from_stored(&id.cert().to_der().unwrap()).unwrap(),
            )
        };
        let members = vec![
            member("ann@example.org"),
            member("bob@example.org"),
            member("cy@example.org"),
        ];
        let crypto = ListCrypto {
            prefers: Protocol::Smime,
            openpgp: None,
            smime: Some(SmimeKeys {
                identity,
                members,
                gcm: vec!["cy@example.org".into()],
            }),
        };
        let list = List {
            id: 1,
            address: "list@example.org".into(),
            name: "L".into(),
            protocol: Protocol::Smime,
            paused: false,
            settings: crate::model::ListSettings::defaults_for("L", crate::model::Protocol::Plain),
        };
        let raw = b"From: ann@example.org\r\nTo: list@example.org\r\nSubject: s\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n";
        let headers = ListHeaders::default();
        let masthead = Masthead {
            headers: &headers,
            members: &[],
        };
        let prepared = prepare(raw, &list, &crypto, &masthead, "<f@example.org>").unwrap();
        // One envelope for the CBC readers, one for the GCM reader.
        let shared = &prepared.smime.as_ref().unwrap().shared;
        assert_eq!(shared.len(), 2);
        for email in ["ann@example.org", "bob@example.org", "cy@example.org"] {
            assert!(
                shared.iter().filter(|s| s.has(email)).count() == 1,
                "{email}"
            );
            let Copy::Post(copy) = copy_for(&prepared, &list, &crypto, email).unwrap() else {
                panic!("{email} has a key")
            };
            let text = String::from_utf8_lossy(&copy);
            let kind = if email == "cy@example.org" {
                "authEnveloped-data"
            } else {
                "smime-type=enveloped-data"
            };
            assert!(text.contains(kind), "{email}: {text}");
        }
        // Nothing to share when the list sends clear copies.
        let mut clear = list.clone();
        clear.settings.distrib_encrypt = Requirement::No;
        let prepared = prepare(raw, &clear, &crypto, &masthead, "<f@example.org>").unwrap();
        assert!(prepared.smime.as_ref().unwrap().shared.is_empty());
    }
}
