//! The activity view: what happened on one list or on all of them, newest
//! first, a page at a time. The filtering is the store's (SQL), so a long
//! log never travels to the window whole.

use conclave_engine::owner;
use conclave_engine::store::{ActivityGroup, ActivityPage, ActivityQuery};
use tauri::State;

use crate::Shell;
use crate::commands::{CommandError, run};

/// A page of activity. `list`: a list's address, or none for every list;
/// `before`: the id of the oldest entry shown, for older ones; `groups`:
/// what the entries are about (empty for everything); `text`: words the
/// entry must contain.
#[tauri::command]
pub async fn activity(
    shell: State<'_, Shell>,
    list: Option<String>,
    before: Option<i64>,
    limit: u32,
    groups: Vec<ActivityGroup>,
    text: String,
) -> Result<ActivityPage, CommandError> {
    let query = ActivityQuery {
        list: list.filter(|l| !l.trim().is_empty()),
        before,
        limit,
        groups,
        text,
    };
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::activity::page(store, &query)?)
    })
    .await
}
