//! Two laptops running one list share their changes (members and their
//! keys, members removed, settings, held posts and their decisions) through the list's own mailbox: after
//! a change, a laptop puts its whole shared state, sealed with the list's
//! sync secret, into the folder `Conclave/Sync`; on each run it reads what
//! the other laptops put there since it last looked and merges the newest
//! state of each (`Store::merge_shared`: per member and per setting, the
//! later change wins, and a conflict is logged on both). The sync secret is
//! made when the list is first handed over and travels in the bundle, so
//! only the laptops the owner set up can read or write these states; the
//! store notes the lists that have one (`Store::start_sharing_changes`).
//! Multi-device sync messages of Delta Chat were the model: the mailbox is
//! the one place both laptops reach.

use serde::{Deserialize, Serialize};

use crate::agent::{AgentError, ListReport};
use crate::crypto::openpgp::passphrase;
use crate::model::List;
use crate::post::{SharedStore, with_store};
use crate::secrets::{SecretError, SecretKind, Sensitive};
use crate::store::SharedState;
use crate::transport::{Inbox, Servers};

/// The folder of the list's mailbox the laptops share their states in.
pub const FOLDER: &str = "Conclave/Sync";
/// How many states the folder keeps: each holds everything, so the newest
/// of each laptop is all another needs; a few more cover several laptops.
const KEEP: usize = 10;
/// The header that marks a state and names the laptop that sent it (not a
/// secret: it only tells a laptop its own states apart without opening
/// them).
const MARK: &str = "X-Conclave-Sync";
const FORMAT: u32 = 1;

/// A laptop's shared state, as sealed into the folder.
#[derive(Serialize, Deserialize)]
struct Sent {
    format: u32,
    laptop: String,
    made_at: i64,
    state: SharedState,
}

/// Publishes this laptop's state when it changed since it last did, then
/// merges what the other laptops published since this one last looked.
/// Nothing to do for a list without a sync secret (never handed over).
pub(crate) async fn exchange<S: Servers>(
    store: &SharedStore,
    list: &List,
    mailbox: &mut S::Inbox,
    servers: &S,
    report: &mut ListReport,
) -> Result<(), AgentError> {
    // The store first: a list never handed over asks the keychain for
    // nothing.
    let l = list.clone();
    let Some((published, validity, read_up_to)) =
        with_store(store, move |s| s.sync_progress(&l)).await?
    else {
        return Ok(());
    };
    let secret = match servers.list_secret(list, SecretKind::SyncSecret).await {
        Ok(s) => s,
        Err(SecretError::Missing(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let l = list.clone();
    let (laptop, state) = with_store(store, move |s| {
        Ok::<_, AgentError>((s.laptop_id()?, s.shared_state(&l)?))
    })
    .await?;
    let digest = crate::store::sha256_hex(&serde_json::to_vec(&state).unwrap_or_default());
    if published.as_deref() != Some(digest.as_str()) {
        let sent = Sent {
            format: FORMAT,
            laptop: laptop.clone(),
            made_at: crate::store::now(),
            state,
        };
        let (address, pass, who) = (list.address.clone(), secret.clone(), laptop.clone());
        let message = crate::post::blocking(move || {
            let json = Sensitive::new(serde_json::to_vec(&sent).unwrap_or_default());
            passphrase::seal(json.expose(), &pass).map(|sealed| message(&address, &who, &sealed))
        })
        .await
        .map_err(|e| AgentError::Sync(format!("cannot seal this laptop's changes: {e}")))?;
        mailbox.keep_newest(FOLDER, &message, KEEP).await?;
        let (l, d) = (list.clone(), digest);
        with_store(store, move |s| s.set_sync_published(&l, &d)).await?;
    }

    let (now_validity, found) = mailbox.new_in(FOLDER, validity, read_up_to).await?;
    let mut newest: Vec<(String, i64, SharedState)> = Vec::new();
    let mut last = if now_validity == validity {
        read_up_to
    } else {
        0
    };
    for (uid, raw) in found {
        last = last.max(uid);
        let Some((from, sealed)) = sealed_part(&raw) else {
            continue;
        };
        if from == laptop {
            continue;
        }
        let pass = secret.clone();
        let opened = crate::post::blocking(move || passphrase::open(&sealed, &pass)).await;
        let sent: Option<Sent> = opened
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok());
        let Some(sent) = sent.filter(|s| {
            s.format <= FORMAT
                && s.laptop == from
                && s.state.list.eq_ignore_ascii_case(&list.address)
        }) else {
            // Not sealed with this list's secret, or not a state: someone
            // else's doing, never merged.
            let (l, said) = (
                list.clone(),
                format!(
                    "a message in {FOLDER} could not be opened with the list's sync secret: it was left unread"
                ),
            );
            with_store(store, move |s| {
                s.log(l.id, None, crate::store::ActivityKind::Error, &said)
            })
            .await?;
            continue;
        };
        match newest.iter_mut().find(|(who, _, _)| *who == sent.laptop) {
            // Read in the order they came: of two made in one second the
            // later is the newer.
            Some(n) if n.1 > sent.made_at => {}
            Some(n) => *n = (sent.laptop, sent.made_at, sent.state),
            None => newest.push((sent.laptop, sent.made_at, sent.state)),
        }
    }
    for (who, made_at, theirs) in newest {
        let l = list.clone();
        let merged = with_store(store, move |s| s.merge_shared(&l, &who, made_at, &theirs)).await?;
        report.synced += (merged.added.len()
            + merged.changed.len()
            + merged.removed.len()
            + merged.settings.len()
            + merged.held.len()) as u32;
    }
    if last != read_up_to || now_validity != validity {
        let l = list.clone();
        with_store(store, move |s| s.set_sync_read(&l, now_validity, last)).await?;
    }
    Ok(())
}

/// A state as a message to the list itself, so a mail client shows what it
/// is and that it must stay.
fn message(list: &str, laptop: &str, sealed: &[u8]) -> Vec<u8> {
    let date = chrono::Utc::now().to_rfc2822();
    let body = crate::backup::base64_lines(sealed);
    format!(
        "From: <{list}>\r\nTo: <{list}>\r\nDate: {date}\r\n\
         Subject: Conclave: changes to {list} from one of its laptops (keep this)\r\n\
         {MARK}: {laptop}\r\nMIME-Version: 1.0\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The laptop a state message names, and its sealed bytes.
fn sealed_part(raw: &[u8]) -> Option<(String, Vec<u8>)> {
    let parsed = mail_parser::MessageParser::default().parse(raw)?;
    let laptop = parsed.header(MARK)?.as_text()?.trim().to_string();
    Some((laptop, parsed.root_part().contents().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_comes_back_out_of_its_message_with_its_laptop() {
        let sealed: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let raw = message("l@example.org", "ab12cd34ef56", &sealed);
        assert_eq!(
            sealed_part(&raw),
            Some(("ab12cd34ef56".to_string(), sealed))
        );
        assert_eq!(
            sealed_part(b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"),
            None
        );
    }
}
