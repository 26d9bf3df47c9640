//! A held post opened by an owner: what it says and what each choice would
//! do. A post that came encrypted to the list's key is decrypted here, in
//! memory, with the list's key from the keychain as the agent loads it;
//! the clear text goes to the caller and nowhere else (not the store, not a
//! file).

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::post_view::PostView;
use crate::agent::AgentError;
use crate::owner::held::recipients;
use crate::policy::Post;
use crate::post::deliver::notices;
use crate::post::keys::ListCrypto;
use crate::post::read::read_evidence;
use crate::store::{HeldPost, Resolution, Store, StoreError};

/// What the poster is sent when an owner rejects their post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct RejectNotice {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// A held post with its content and the outcomes of the owner's choices.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HeldView {
    pub held: HeldPost,
    pub post: PostView,
    /// How many members Approve sends it to.
    pub approve_to: usize,
    /// What Reject tells the poster; `None` when nobody is told (automated
    /// mail, or no address to answer).
    pub reject_notice: Option<RejectNotice>,
    /// Why a protected list's key could not be used to read the post.
    pub key_problem: Option<String>,
}

/// A decrypted post may be larger than its ciphertext (compression), but
/// not without bound: a held post is read up to this many times its size,
/// or the list's max-size when that is more.
const GROWTH: usize = 4;

/// Opens held post `held_id` of the list `address` in the data folder.
pub async fn held_view(
    data_dir: &Path,
    address: &str,
    held_id: i64,
) -> Result<HeldView, AgentError> {
    let store = Arc::new(Mutex::new(Store::open(data_dir)?));
    let (list, held, raw, arrived) = {
        let db = crate::post::db(&store);
        let list = db.list(address)?;
        let held = db
            .held_posts(&list)?
            .into_iter()
            .find(|h| h.id == held_id)
            .ok_or_else(|| StoreError::NoSuchHeldPost {
                list: list.address.clone(),
                id: held_id,
            })?;
        let raw = db.post_raw(held.post_id)?.unwrap_or_default();
        let arrived = db.post_arrived_at(held.post_id)?;
        (list, held, raw, arrived)
    };
    // A key that cannot be loaded leaves the headers to be shown, and says why.
    let (crypto, key_problem) =
        match ListCrypto::load(&store, &list, &crate::transport::servers::MailServers).await {
            Ok(c) => (c, None),
            Err(e @ AgentError::Store(_)) => return Err(e),
            Err(e) => (None, Some(e.to_string())),
        };
    // Decrypting and checking signatures is slow work: off the async threads.
    tokio::task::spawn_blocking(move || -> Result<HeldView, AgentError> {
        let store = crate::post::db(&store);
        let post = match (Post::read(&raw), crypto.as_ref()) {
            (Ok(post), Some(crypto)) => {
                let max = (list.settings.max_size as usize).max(raw.len().saturating_mul(GROWTH));
                let (evidence, unwrapped) =
                    read_evidence(&raw, &post, &list, crypto, &store, arrived, max)?;
                PostView::of(&raw, Some(&evidence), unwrapped.content.as_deref())
            }
            _ => PostView::of(&raw, None, None),
        };
        let approve_to = if held.approvable {
            recipients(
                &store,
                &list,
                &held,
                Resolution::Approve,
                std::time::SystemTime::now(),
            )?
            .len()
        } else {
            0
        };
        let reject_notice = recipients(
            &store,
            &list,
            &held,
            Resolution::Reject,
            std::time::SystemTime::now(),
        )?
        .into_iter()
        .next()
        .map(|to| {
            let (subject, text) = notices::notice_words(&list, &held.subject, &held.reason);
            RejectNotice { to, subject, text }
        });
        Ok(HeldView {
            held,
            post,
            approve_to,
            reject_notice,
            key_problem,
        })
    })
    .await
    .map_err(|e| {
        AgentError::Store(StoreError::Invalid(format!(
            "reading the held post failed: {e}"
        )))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, Role};
    use crate::store::{NewPost, Settlement, Sighting};

    fn hold(
        store: &Store,
        list: &crate::model::List,
        uid: u32,
        raw: &[u8],
        sender: &str,
        approvable: bool,
    ) -> i64 {
        let Sighting::New(id) = store
            .record_post(
                list,
                &NewPost {
                    uidvalidity: 1,
                    uid,
                    message_id: "",
                    sender: "",
                    raw,
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        let settle = Settlement {
            decision: crate::store::Outcome::Hold,
            reason: format!(
                "{sender} is not a member; approve to send it, or add them as a member"
            ),
            sender: sender.into(),
            subject: "let me in".into(),
            recipients: vec![],
            approvable,
            ..Settlement::default()
        };
        store.settle_post(id, &settle).unwrap();
        store.held_id_of(id).unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_held_post_of_a_plain_list_opens_with_what_reject_would_say() {
        let dir = tempfile::tempdir().unwrap();
        let (list, id, bounce) = {
            let store = Store::open(dir.path()).unwrap();
            let list = store
                .create_list("l@example.org", "L", Protocol::Plain)
                .unwrap();
            store
                .add_member(&list, "a@example.org", "", Role::Member)
                .unwrap();
            store
                .add_member(&list, "b@example.org", "", Role::Member)
                .unwrap();
            let raw = b"From: eve@example.net\r\nTo: l@example.org\r\nSubject: let me in\r\n\r\nHello list.\r\n";
            let id = hold(&store, &list, 1, raw, "eve@example.net", true);
            let bounce = hold(
                &store,
                &list,
                2,
                b"From: mailer-daemon@example.net\r\n\r\ngone",
                "mailer-daemon@example.net",
                false,
            );
            (list, id, bounce)
        };
        let v = held_view(dir.path(), &list.address, id).await.unwrap();
        assert_eq!(v.held.id, id);
        assert!(v.post.texts[0].text.contains("Hello list."));
        assert!(v.post.protection.is_none() && v.key_problem.is_none());
        assert_eq!(v.approve_to, 2);
        let notice = v.reject_notice.unwrap();
        assert_eq!(notice.to, "eve@example.net");
        assert_eq!(notice.subject, "Your post to L was not accepted: let me in");
        assert!(
            notice
                .text
                .contains("Reason: eve@example.net is not a member"),
            "{}",
            notice.text
        );

        let v = held_view(dir.path(), &list.address, bounce).await.unwrap();
        assert_eq!(
            (v.approve_to, v.reject_notice),
            (0, None),
            "automated mail is never sent on nor answered"
        );

        let e = held_view(dir.path(), &list.address, 999).await.unwrap_err();
        assert!(
            matches!(
                e,
                AgentError::Store(StoreError::NoSuchHeldPost { id: 999, .. })
            ),
            "{e}"
        );
    }
}
