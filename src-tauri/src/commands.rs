//! The commands the window calls. Each opens the store for its own call
//! (a SQLite connection is not shared between threads) off the main thread.

use std::path::PathBuf;
use std::time::SystemTime;

use conclave_engine::agent::AgentError;
use conclave_engine::member_keys::MemberKeyError;
use conclave_engine::owner::{self, OwnerError};
use conclave_engine::store::{HeldPost, ListSummary, Resolution, Store, StoreError};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::watch::{AgentStatus, LISTS_CHANGED};

/// An error as the window receives it: `{code, message}`, the message in
/// words for the owner.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        // The held-post errors name CLI commands; the window says it in its
        // own words.
        let (code, message) = match &e {
            StoreError::NoSuchHeldPost { id, list } => (
                "held-not-found",
                format!("there is no held post {id} on {list} (resolved elsewhere?)"),
            ),
            StoreError::HeldPostResolved { id, how } => {
                ("held-resolved", format!("held post {id} was {how} already"))
            }
            StoreError::NotApprovable { id } => (
                "held-not-approvable",
                format!(
                    "held post {id} is an automated message (bounce or auto-reply) and is never sent to members: discard it"
                ),
            ),
            StoreError::NoSuchList(list) => (
                "list-not-found",
                format!("there is no list {list} any more (removed elsewhere?): close this view"),
            ),
            StoreError::NoSuchMember { list, email } => (
                "member-not-found",
                format!("{email} is not a member of {list} (removed elsewhere?)"),
            ),
            StoreError::MemberExists { list, email } => (
                "member-exists",
                format!("{email} is a member of {list} already: find them in the table"),
            ),
            StoreError::MemberKeyExists {
                email, fingerprint, ..
            } => (
                "member-key-exists",
                format!(
                    "{email} has a key already ({fingerprint}): use “Replace key” in their row to replace it"
                ),
            ),
            StoreError::DiskFull => ("disk-full", e.to_string()),
            _ => ("store", e.to_string()),
        };
        CommandError { code, message }
    }
}

/// The owner API's refusals: the store's in the window's own words, the
/// rest in the engine's.
impl From<OwnerError> for CommandError {
    fn from(e: OwnerError) -> Self {
        match e {
            OwnerError::Store(e)
            | OwnerError::Key(MemberKeyError::Store(e))
            | OwnerError::Agent(AgentError::Store(e)) => e.into(),
            other => CommandError {
                code: other.code().as_str(),
                message: other.to_string(),
            },
        }
    }
}

/// The lists in the store, for the overview.
#[tauri::command]
pub async fn lists(shell: State<'_, Shell>) -> Result<Vec<ListSummary>, CommandError> {
    run(shell.data_dir.clone(), |store| {
        Ok(owner::lists::summaries(store)?)
    })
    .await
}

/// Pauses or resumes one list. Resuming checks its mailbox at once.
#[tauri::command]
pub async fn set_paused(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    paused: bool,
) -> Result<(), CommandError> {
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::lists::set_paused(store, &address, paused)?)
    })
    .await?;
    if !paused {
        shell.watch.wake();
    }
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

/// Removes a list from this laptop, its keychain entries included, once
/// the owner has typed its address again (`typed`). The mailbox at the
/// provider stays.
#[tauri::command]
pub async fn forget_list(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    typed: String,
) -> Result<(), CommandError> {
    owner::lists::forget(&shell.data_dir, &address, &typed).await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

/// Checks every list's mailbox now instead of at the next minute.
#[tauri::command]
pub fn check_now(shell: State<'_, Shell>) {
    shell.watch.wake();
}

/// Whether all lists are paused from the tray, and what stopped the last run.
#[tauri::command]
pub fn status(shell: State<'_, Shell>) -> AgentStatus {
    shell.status()
}

/// The posts of one list that wait for an owner, oldest first.
#[tauri::command]
pub async fn held_posts(
    shell: State<'_, Shell>,
    address: String,
) -> Result<Vec<HeldPost>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::held::list(store, &address)?)
    })
    .await
}

/// What the window asks for a held post: "approve", "reject" or "discard".
pub fn parse_action(action: &str) -> Result<Resolution, CommandError> {
    match action {
        "approve" => Ok(Resolution::Approve),
        "reject" => Ok(Resolution::Reject),
        "discard" => Ok(Resolution::Discard),
        other => Err(CommandError {
            code: "bad-action",
            message: format!("unknown action {other:?}: approve, reject or discard"),
        }),
    }
}

/// Approves, rejects or discards one held post, then wakes the agent so an
/// approved post or a rejection notice goes out at once.
#[tauri::command]
pub async fn resolve_held(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    id: i64,
    action: String,
) -> Result<(), CommandError> {
    let how = parse_action(&action)?;
    run(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        owner::held::resolve(store, &list, id, how, SystemTime::now())?;
        Ok(())
    })
    .await?;
    if how != Resolution::Discard {
        shell.watch.wake();
    }
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

/// Runs a store call on the blocking pool, with a store of its own.
pub(crate) async fn run<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(move || f(&Store::open(&dir)?))
        .await
        .map_err(|e| CommandError {
            code: "internal",
            message: format!("the store call failed: {e}"),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_others_are_refused() {
        assert_eq!(parse_action("approve").unwrap(), Resolution::Approve);
        assert_eq!(parse_action("reject").unwrap(), Resolution::Reject);
        assert_eq!(parse_action("discard").unwrap(), Resolution::Discard);
        assert_eq!(parse_action("delete").unwrap_err().code, "bad-action");
    }

    #[test]
    fn held_errors_reach_the_window_with_their_own_code() {
        let e = CommandError::from(StoreError::NotApprovable { id: 3 });
        assert_eq!(e.code, "held-not-approvable");
        assert!(!e.message.contains("conclave-cli"));
        let e = CommandError::from(StoreError::HeldPostResolved {
            id: 3,
            how: "approved".into(),
        });
        assert_eq!(e.code, "held-resolved");
    }
}
