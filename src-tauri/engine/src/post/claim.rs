//! Claiming: a post is moved from INBOX into `Conclave/Claimed` before it
//! is read, and the laptop whose move the server confirms (UID MOVE, with
//! UIDPLUS's COPYUID naming the moved message) is the one that sends it.
//! So two laptops running one list never both take a post.
//!
//! A laptop can stop in the middle of a post (closed lid, crash, seized).
//! While it works on its claims it renews them: a lease mark, one of two
//! keywords, changed every fifth of the list's `claim-lease`. Every laptop
//! looks at the others' claims on each run and notes since when each mark
//! has stayed the same, by its own clock; a claim unchanged for a whole
//! lease is moved back to INBOX, where the next run of any laptop claims it
//! afresh. Its members may then get that one post twice: the guarantee is
//! every post to every member, duplicates only for a post whose laptop
//! stopped in the middle of it.
//!
//! A server without MOVE or UIDPLUS cannot make a move a claim: there
//! posts are read where they are, and only one laptop may run the list.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::agent::{AgentError, ListReport};
use crate::model::List;
use crate::store::{ActivityKind, now};
use crate::transport::Inbox;

use super::{SharedStore, with_store};

/// The lease mark `laptop` sets at `now`: its name after a digit that
/// flips every fifth of the lease, so a laptop that renews at least that
/// often never shows the same mark for a whole lease.
pub(crate) fn lease_mark(now: i64, lease: u32, laptop: &str) -> String {
    let flip = (now / i64::from(renew_every_secs(lease))) % 2;
    format!("{flip}{laptop}")
}

/// Whether a mark is `laptop`'s own.
fn marked_by(mark: &str, laptop: &str) -> bool {
    mark.get(1..) == Some(laptop)
}

fn renew_every_secs(lease: u32) -> u32 {
    (lease / 5).max(1)
}

/// How often a laptop with claims in play renews its own and looks at the
/// others': a fifth of the lease.
pub fn look_every(lease: u32) -> Duration {
    Duration::from_secs(u64::from(renew_every_secs(lease)))
}

/// The first step of a run on a server that can claim: renews this
/// laptop's claims, records those it made but had not recorded when it
/// stopped (to be decided with the other undecided posts), notes the marks of the other
/// laptops' claims, and moves back to INBOX those whose laptop stopped, so
/// that this run claims them afresh.
pub(crate) async fn look_at_claims(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    report: &mut ListReport,
) -> Result<(), AgentError> {
    let lease = list.settings.claim_lease;
    let (validity, marks) = mailbox.open_claims().await?;
    let l = list.clone();
    let (laptop, recorded) = with_store(store, move |s| {
        Ok::<_, AgentError>((s.laptop_id()?, s.own_claims(&l, validity)?))
    })
    .await?;
    let mut mine = Vec::new();
    let mut unrecorded = Vec::new();
    let mut others = Vec::new();
    for (uid, mark) in marks {
        if recorded.contains(&uid) {
            mine.push(uid);
        } else if marked_by(&mark, &laptop) {
            unrecorded.push(uid);
        } else {
            others.push((uid, mark));
        }
    }
    let (l, present) = (list.clone(), mine.clone());
    report.handed_over += with_store(store, move |s| s.claims_lost(&l, validity, &present)).await?;
    super::receive::take_claimed(store, list, mailbox, validity, &unrecorded, report).await?;
    mine.extend(unrecorded);
    mailbox
        .mark_claims(&mine, &lease_mark(now(), lease, &laptop))
        .await?;
    let l = list.clone();
    let stale = with_store(store, move |s| {
        s.watch_claims(&l, validity, &others, now(), i64::from(lease))
    })
    .await?;
    if stale.is_empty() {
        return Ok(());
    }
    mailbox.release_claims(&stale).await?;
    report.taken_over += stale.len() as u32;
    let (l, said) = (
        list.clone(),
        format!(
            "{} post(s) another laptop took from the mailbox showed no sign of it for {}: taken back, to be sent from this laptop (its members may get them twice)",
            stale.len(),
            lease_words(lease)
        ),
    );
    with_store(store, move |s| {
        s.log(l.id, None, ActivityKind::Server, &said)
    })
    .await?;
    Ok(())
}

fn lease_words(seconds: u32) -> String {
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// Renews this laptop's claims every fifth of the lease until `done`: a
/// fan-out can last longer than a lease (a send-rate, a slow server), and
/// the other laptops must not take its post meanwhile. A renewal that
/// fails is tried again at the next; if they all fail, the claim lapses,
/// which costs duplicates, never a lost post.
pub(crate) async fn keep_claims(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    done: &CancellationToken,
) {
    if !mailbox.can_claim() {
        return;
    }
    let lease = list.settings.claim_lease;
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            _ = tokio::time::sleep(look_every(lease)) => {}
        }
        let renewed = async {
            let (validity, marks) = mailbox.open_claims().await?;
            let l = list.clone();
            let (laptop, own) = with_store(store, move |s| {
                Ok::<_, AgentError>((s.laptop_id()?, s.own_claims(&l, validity)?))
            })
            .await?;
            let mine: Vec<u32> = marks
                .into_iter()
                .filter(|(uid, mark)| own.contains(uid) || marked_by(mark, &laptop))
                .map(|(uid, _)| uid)
                .collect();
            mailbox
                .mark_claims(&mine, &lease_mark(now(), lease, &laptop))
                .await?;
            Ok::<(), AgentError>(())
        };
        if let Err(e) = renewed.await {
            let (l, said) = (
                list.clone(),
                format!("the claim on posts being sent could not be renewed: {e}"),
            );
            let _ = with_store(store, move |s| {
                s.log(l.id, None, ActivityKind::Error, &said)
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_mark_flips_every_fifth_of_the_lease() {
        let marks: Vec<_> = (0..4).map(|i| lease_mark(i * 120, 600, "ab12")).collect();
        assert_eq!(marks, ["0ab12", "1ab12", "0ab12", "1ab12"]);
        assert_eq!(lease_mark(119, 600, "ab12"), "0ab12");
        assert!(marked_by("1ab12", "ab12"));
        assert!(!marked_by("1ab123", "ab12"));
        assert!(!marked_by("", "ab12"));
        // Renewed at least every fifth of the lease, the mark is never the
        // same for a whole lease.
        for start in 0..600 {
            let seen: std::collections::HashSet<_> = (0..=5)
                .map(|i| lease_mark(start + i * 120, 600, "x"))
                .collect();
            assert_eq!(seen.len(), 2, "from {start}");
        }
        assert_eq!(look_every(600), Duration::from_secs(120));
        assert_eq!(look_every(3), Duration::from_secs(1));
    }
}
