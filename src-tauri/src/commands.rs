//! The commands the window calls. Each opens the store for its own call
//! (a SQLite connection is not shared between threads) off the main thread.

use std::path::PathBuf;

use conclave_engine::store::{ListSummary, Store, StoreError};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::watch::{AgentStatus, LISTS_CHANGED};

/// An error as the window receives it: `{code, message}`, the message in
/// words for the owner.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError {
            code: "store",
            message: e.to_string(),
        }
    }
}

async fn with_store<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(move || f(&Store::open(&dir)?))
        .await
        .map_err(|e| CommandError {
            code: "internal",
            message: format!("the store call failed: {e}"),
        })?
        .map_err(CommandError::from)
}

/// The lists in the store, for the overview.
#[tauri::command]
pub async fn lists(shell: State<'_, Shell>) -> Result<Vec<ListSummary>, CommandError> {
    with_store(shell.data_dir.clone(), |store| store.list_summaries()).await
}

/// Pauses or resumes one list. Resuming checks its mailbox at once.
#[tauri::command]
pub async fn set_paused(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    paused: bool,
) -> Result<(), CommandError> {
    with_store(shell.data_dir.clone(), move |store| {
        store.set_paused(&address, paused)
    })
    .await?;
    if !paused {
        shell.watch.wake();
    }
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
