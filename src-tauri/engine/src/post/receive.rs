//! Receiving: each new message in the list's INBOX is fetched and recorded
//! in the ledger (UIDVALIDITY, UID, Message-ID, its sender, a hash of its
//! bytes) before anything is done with it, so a crash anywhere after never
//! loses it and never takes it twice. A copy of a post seen before is
//! recorded as such and goes no further.

use crate::agent::{AgentError, ListReport};
use crate::model::List;
use crate::policy::Post;
use crate::store::{NewPost, Sighting};
use crate::transport::Inbox;

use super::{SharedStore, with_store};

/// Fetches and records what waits in the INBOX that the ledger does not
/// know yet; the new posts, in the order they came, to be decided.
pub async fn take_new(
    store: &SharedStore,
    list: &List,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
    report: &mut ListReport,
) -> Result<Vec<i64>, AgentError> {
    let mut new_posts = Vec::new();
    for uid in mailbox.waiting_uids().await? {
        let known_list = list.clone();
        let known = with_store(store, move |s| s.post_at(&known_list, uidvalidity, uid)).await?;
        if known.is_some() {
            continue;
        }
        let Some((raw, arrived_at)) = mailbox.fetch(uid).await? else {
            continue;
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
    }
    Ok(new_posts)
}
