//! Receiving: each new message in the list's INBOX is fetched and recorded
//! in the ledger (UIDVALIDITY, UID, Message-ID, its sender, a hash of its
//! bytes) before anything is done with it, so a crash anywhere after never
//! loses it and never takes it twice. A copy of a post seen before is
//! recorded as such and goes no further.

use std::sync::Mutex;

use crate::agent::{AgentError, ListReport};
use crate::model::List;
use crate::policy::Post;
use crate::store::{NewPost, Sighting, Store};
use crate::transport::Inbox;

use super::db;

/// Fetches and records what waits in the INBOX that the ledger does not
/// know yet, handing each new post to `decide` as soon as it is recorded.
pub async fn take_new(
    store: &Mutex<Store>,
    list: &List,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
    report: &mut ListReport,
    mut decide: impl FnMut(&Store, i64, &mut ListReport) -> Result<(), AgentError>,
) -> Result<(), AgentError> {
    for uid in mailbox.waiting_uids().await? {
        if db(store).post_at(list, uidvalidity, uid)?.is_some() {
            continue;
        }
        let Some((raw, arrived_at)) = mailbox.fetch(uid).await? else {
            continue;
        };
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
        let sighting = db(store).record_post(list, &new)?;
        match sighting {
            Sighting::New(id) => {
                report.new_posts += 1;
                decide(&db(store), id, report)?;
            }
            Sighting::Copy { .. } => report.discarded += 1,
        }
    }
    Ok(())
}
