//! Receiving: each new message in the list's INBOX is fetched and recorded
//! in the ledger (UIDVALIDITY, UID, Message-ID, its sender, a hash of its
//! bytes) before anything is done with it, so a crash anywhere after never
//! loses it and never takes it twice. A copy of a post seen before is
//! recorded as such and goes no further. Where the server can, a message
//! is claimed (moved into the Claimed folder, see [`super::claim`]) before
//! it is fetched, and recorded by its place there.

use crate::agent::{AgentError, ListReport};
use crate::model::List;
use crate::policy::Post;
use crate::store::{NewPost, Sighting};
use crate::transport::Inbox;

use super::{SharedStore, with_store};

/// What waits in the INBOX (selected, of `uidvalidity`) that the ledger
/// does not know yet, by UID.
pub async fn waiting(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
) -> Result<Vec<u32>, AgentError> {
    let mut waiting = Vec::new();
    for uid in mailbox.waiting_uids().await? {
        // Recorded where it is by a Conclave that did not claim yet: it is
        // filed from INBOX as it was.
        let known_list = list.clone();
        let known = with_store(store, move |s| s.post_at(&known_list, uidvalidity, uid)).await?;
        if known.is_none() {
            waiting.push(uid);
        }
    }
    Ok(waiting)
}

/// Fetches and records what [`waiting`] found; the new posts, in the order
/// they came, to be decided.
pub async fn take_new(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
    waiting: Vec<u32>,
    report: &mut ListReport,
) -> Result<Vec<i64>, AgentError> {
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let mut new_posts = Vec::new();
    if mailbox.can_claim() {
        let claim = mailbox.claim(&waiting).await?;
        let validity = mailbox.claims_validity().await?;
        let won: Vec<u32> = claim
            .won
            .iter()
            .map(|(_, uid)| *uid)
            .filter(|_| claim.uidvalidity == validity)
            .collect();
        // Marked at once with this laptop's name: if it stops before
        // recording them, it knows them for its own when it starts again
        // (a claim left unmarked is taken back by anyone after a lease).
        let laptop = with_store(store, |s| s.laptop_id()).await?;
        let mark =
            super::claim::lease_mark(crate::store::now(), list.settings.claim_lease, &laptop);
        mailbox.mark_claims(&won, &mark).await?;
        new_posts = take_claimed(store, list, mailbox, validity, &won, report).await?;
    } else {
        for uid in waiting {
            take_one(
                store,
                list,
                mailbox,
                uidvalidity,
                uid,
                false,
                report,
                &mut new_posts,
            )
            .await?;
        }
    }
    Ok(new_posts)
}

/// Fetches and records these claims of this laptop (the Claimed folder
/// selected, its UIDVALIDITY `validity`): the new posts.
pub(super) async fn take_claimed(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    validity: u32,
    uids: &[u32],
    report: &mut ListReport,
) -> Result<Vec<i64>, AgentError> {
    let mut new_posts = Vec::new();
    for &uid in uids {
        // Another laptop copied the same message into Claimed a moment
        // before this one: it is theirs, and this copy goes.
        if mailbox.claimed_before(uid).await? {
            mailbox.withdraw_claim(uid).await?;
            let l = list.clone();
            with_store(store, move |s| {
                s.log(
                    l.id,
                    None,
                    crate::store::ActivityKind::Server,
                    "another laptop claimed a post at the same moment, and first: it is left to that laptop",
                )
            })
            .await?;
            continue;
        }
        take_one(
            store,
            list,
            mailbox,
            validity,
            uid,
            true,
            report,
            &mut new_posts,
        )
        .await?;
    }
    Ok(new_posts)
}

/// Fetches one message from the selected folder and records it.
#[allow(clippy::too_many_arguments)]
async fn take_one(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
    uid: u32,
    claimed: bool,
    report: &mut ListReport,
    new_posts: &mut Vec<i64>,
) -> Result<(), AgentError> {
    let Some((raw, arrived_at)) = mailbox.fetch(uid).await? else {
        return Ok(());
    };
    let list = list.clone();
    let sighting = with_store(store, move |s| {
        // Only what the ledger keeps; the post is read whole when decided.
        let (message_id, sender) = Post::read(&raw)
            .map(|p| (p.message_id.clone(), p.sender_text()))
            .unwrap_or_default();
        let new = NewPost {
            uidvalidity,
            uid,
            message_id: &message_id,
            sender: &sender,
            raw: &raw,
            arrived_at,
            claimed,
        };
        s.record_post(&list, &new)
    })
    .await?;
    match sighting {
        Sighting::New(id) => {
            report.new_posts += 1;
            new_posts.push(id);
        }
        Sighting::Copy { .. } => report.discarded += 1,
    }
    Ok(())
}
