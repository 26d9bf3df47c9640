//! Filing a settled post on the server: to `Conclave/Processed`, or to
//! `Conclave/Quarantine` when it could not be read.

use crate::agent::{AgentError, ListReport};
use crate::store::{OnServer, PostRecord};
use crate::transport::Inbox;
use crate::transport::{PROCESSED_FOLDER, QUARANTINE_FOLDER};

use super::{SharedStore, with_store};

/// Files settled posts on the server, each from the folder it waits in
/// (INBOX, or the Claimed folder). A post recorded under an older
/// UIDVALIDITY is not touched by position: its UID may now name another
/// message. Its copy, seen under the new numbering, is filed instead; a
/// claim that another laptop took over is gone from the folder, and moving
/// it moves nothing.
pub(crate) async fn file_posts(
    store: &SharedStore,
    mailbox: &mut impl Inbox,
    posts: &[PostRecord],
    report: &mut ListReport,
) -> Result<(), AgentError> {
    for claimed in [false, true] {
        let here: Vec<&PostRecord> = posts.iter().filter(|p| p.claimed == claimed).collect();
        if here.is_empty() {
            continue;
        }
        let uidvalidity = if claimed {
            mailbox.claims_validity().await?
        } else {
            mailbox.open_inbox().await?
        };
        for post in here {
            file_post(store, mailbox, uidvalidity, post, report).await?;
        }
    }
    Ok(())
}

async fn file_post(
    store: &SharedStore,
    mailbox: &mut impl Inbox,
    uidvalidity: u32,
    post: &PostRecord,
    report: &mut ListReport,
) -> Result<(), AgentError> {
    let (folder, place) = match post.state {
        crate::store::PostState::Quarantined => (QUARANTINE_FOLDER, OnServer::Quarantine),
        _ => (PROCESSED_FOLDER, OnServer::Processed),
    };
    if post.uidvalidity == uidvalidity {
        mailbox.file(post.uid, folder).await?;
        report.filed += 1;
    }
    let post = post.clone();
    with_store(store, move |s| s.mark_on_server(&post, place)).await?;
    Ok(())
}
