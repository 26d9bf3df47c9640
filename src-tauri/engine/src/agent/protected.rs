//! What an OpenPGP list adds to the way a post travels: reading the post's
//! encryption and signatures before deciding, and building each member's
//! copy (signed once by the list, encrypted to that member) when sending.
//! Decrypted content lives in memory only: it is decrypted again at send
//! time rather than written to the store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::crypto::openpgp::{self, Encrypted, ListKey, MemberKey, Signed};
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

/// The list key and the members' keys, loaded once per run of a list.
#[derive(Clone)]
pub(super) struct ListCrypto {
    key: ListKey,
    members: Vec<(String, MemberKey)>,
}

impl ListCrypto {
    /// Loads what a protected list needs; `None` for a plain list.
    pub(super) async fn load(store: &std::sync::Mutex<Store>, list: &List) -> Result<Option<ListCrypto>, AgentError> {
        if list.protocol != Protocol::Openpgp {
            return Ok(None);
        }
        let armored = secrets::load(&list.address, SecretKind::OpenPgpListKey).await.map_err(|e| match e {
            secrets::SecretError::Missing(_) => AgentError::NoListKey(list.address.clone()),
            other => other.into(),
        })?;
        let key = ListKey::from_keychain(&armored).map_err(|e| AgentError::BadListKey(e.to_string()))?;
        let stored = super::db(store).member_keys(list, Protocol::Openpgp)?;
        let members = stored
            .into_iter()
            .filter_map(|(email, k)| MemberKey::from_stored(&k.cert).ok().map(|m| (email, m)))
            .collect();
        Ok(Some(ListCrypto { key, members }))
    }

    fn key_of(&self, email: &str) -> Option<&MemberKey> {
        self.members.iter().find(|(e, _)| e.eq_ignore_ascii_case(email)).map(|(_, k)| k)
    }

    /// Whether a member can receive an encrypted copy now.
    pub(super) fn can_encrypt_to(&self, email: &str) -> bool {
        self.key_of(email).is_some_and(|k| k.can_encrypt(SystemTime::now()))
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

/// Decides a post of an OpenPGP list.
/// How far a signature may lie after the post's arrival (clocks differ).
const CLOCK_SKEW_SECS: i64 = 3600;

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
    let (raw_owned, crypto_owned, from) = (raw.to_vec(), crypto.clone(), post.signing_poster().map(str::to_string));
    let unwrapped = with_time_limit(READ_TIME_LIMIT, move || {
        openpgp::unwrap(&raw_owned, &crypto_owned.key, &crypto_owned.members, from.as_deref(), max, SystemTime::now())
    })
    .unwrap_or_else(|| openpgp::Unwrapped {
        encrypted: Encrypted::Broken(format!("reading it took longer than {} s; set aside", READ_TIME_LIMIT.as_secs())),
        signed: Signed::No,
        content: None,
        signature_digest: None,
        signature_time: None,
    });
    let mut signature = match unwrapped.signed {
        Signed::No => Signature::None,
        Signed::ByMember { email, .. } => Signature::ByMember { email },
        Signed::Invalid(why) => Signature::Invalid(why),
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
    let encryption = match unwrapped.encrypted {
        Encrypted::No => Encryption::None,
        Encrypted::ForList => Encryption::ToList,
        Encrypted::NotForList => Encryption::ToOtherKey,
        Encrypted::Broken(why) => Encryption::Broken(why),
    };
    let decision = policy::decide_protected(post, list, members, &Evidence { encryption, signature });
    let (decision, left_out) = match decision {
        Decision::Distribute { recipients } => {
            let plan = policy::plan_delivery(&list.settings, &recipients, |m| crypto.can_encrypt_to(m));
            (Decision::Distribute { recipients: plan.to.into_iter().map(|(m, _)| m).collect() }, plan.left_out)
        }
        other => (other, vec![]),
    };
    Ok(Judged { decision, signature_digest: unwrapped.signature_digest, left_out })
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
/// (signed by the list when it should be) that goes in or under them.
pub(super) struct Prepared {
    headers: Vec<u8>,
    entity: Vec<u8>,
    /// The entity encrypted once for the whole fan-out, when anyone gets an
    /// encrypted copy.
    shared: Option<openpgp::SharedPayload>,
}

pub(super) fn prepare(raw: &[u8], list: &List, crypto: &ListCrypto, fallback_id: &str) -> Result<Arc<Prepared>, String> {
    let max = list.settings.max_size as usize;
    let post = Post::read(raw).map_err(|e| e.to_string())?;
    let unwrapped = openpgp::unwrap(raw, &crypto.key, &crypto.members, post.signing_poster(), max, SystemTime::now());
    let decrypted = unwrapped.encrypted == Encrypted::ForList;
    if matches!(unwrapped.encrypted, Encrypted::NotForList | Encrypted::Broken(_)) {
        return Err("the post can no longer be decrypted with the list key".into());
    }
    let content = unwrapped.content.unwrap_or_else(|| render::entity_of(raw));
    let entity = if list.settings.distrib_sign {
        openpgp::sign_entity(&content, &crypto.key).map_err(|e| e.to_string())?
    } else {
        content
    };
    let shared = match list.settings.distrib_encrypt {
        Requirement::No => None,
        _ => Some(openpgp::SharedPayload::new(&entity).map_err(|e| e.to_string())?),
    };
    Ok(Arc::new(Prepared { headers: render::render_protected_headers(raw, list, fallback_id, decrypted), entity, shared }))
}

/// One member's copy: encrypted to their key when the list says so and they
/// have one; under distrib-encrypt force a member without a usable key gets
/// nothing (the error says why).
pub(super) fn copy_for(prepared: &Prepared, list: &List, crypto: &ListCrypto, member: &str) -> Result<Vec<u8>, String> {
    let key = crypto.key_of(member).filter(|k| k.can_encrypt(SystemTime::now()));
    let body = match (&prepared.shared, key) {
        (Some(shared), Some(key)) => shared.copy_for(key).map_err(|e| e.to_string())?,
        (_, None) if list.settings.distrib_encrypt == Requirement::Force => {
            return Err(format!("{member} has no valid key, and the list sends only encrypted (distrib-encrypt force)"));
        }
        _ => prepared.entity.clone(),
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
}
