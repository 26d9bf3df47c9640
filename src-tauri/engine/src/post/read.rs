//! Reading a post of a list with keys: its encryption and a member's
//! signature, checked with the list's and the members' keys, and what
//! deciding needs to know of them (a signature too old, or seen before, does
//! not count). A post is read once per run into a [`ReadPost`], which
//! deciding and then building the copies take by reference. Decrypted
//! content stays in memory, never in the store: a post sent in a later run
//! (after a crash, or approved when held) is read again from its bytes.

use std::time::{Duration, SystemTime};

use crate::agent::AgentError;
use crate::crypto::smime;
use crate::crypto::{Encrypted, Signed, Unwrapped};
use crate::model::List;
use crate::policy::{Encryption, Evidence, Post, Signature};
use crate::store::Store;

use super::keys::ListCrypto;

/// How long reading one post's crypto may take before it is given up on.
const READ_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` beside the caller and waits at most `limit` for it. A run that
/// takes longer is abandoned (it still ends by itself, bounded by max-size)
/// so that one hostile post cannot stall the posts behind it. Called from
/// blocking work of a run, `f` goes to tokio's blocking pool; only outside
/// any runtime (a unit test) does it get a thread of its own.
pub(crate) fn with_time_limit<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let work = runtime.spawn_blocking(f);
        return runtime
            .block_on(tokio::time::timeout(limit, work))
            .ok()
            .and_then(Result::ok);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// A post as reading found it: what it says and, on a list with keys,
/// its encryption and signature with the clear content.
pub(crate) struct ReadPost {
    pub(crate) post: Post,
    pub(crate) unwrapped: Option<Unwrapped>,
}

impl ReadPost {
    /// Reads a post decided in an earlier run (its clear content was not
    /// kept), with the list's keys when it has them.
    pub(crate) fn again(
        raw: &[u8],
        crypto: Option<&ListCrypto>,
        max: usize,
    ) -> Result<ReadPost, crate::policy::Unreadable> {
        let post = Post::read(raw)?;
        let unwrapped = crypto.map(|c| c.read(raw, post.signing_poster(), max, SystemTime::now()));
        Ok(ReadPost { post, unwrapped })
    }
}

/// How far a signature may lie after the post's arrival (clocks differ).
const CLOCK_SKEW_SECS: i64 = 3600;

/// A signer's key as members and owners compare it: an OpenPGP
/// fingerprint in groups of four, or a certificate's SHA-256 (grouped
/// already), named by kind.
pub(crate) fn readable_key(raw: &[u8], fingerprint: &str) -> String {
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
pub(crate) fn read_evidence(
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
pub(crate) fn signature_age_problem(
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
}
