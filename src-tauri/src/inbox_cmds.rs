//! Members who come by mail, from the window: invitations (the text to pass
//! on, optionally mailed from the list) and the key inbox (Accept, Reject).
//! Everything is `conclave_engine::owner::{invite, key_inbox}`, as for
//! `conclave-cli member invite` and `keys pending|accept|reject`.

use conclave_engine::owner;
use conclave_engine::owner::invite::InvitationView;
use conclave_engine::store::{JoinRequest, PendingKey};
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::commands::{CommandError, run};
use crate::watch::LISTS_CHANGED;

/// Invites `email` for `days` days (none: the list's `invite-days`); with
/// `send`, mails the invitation from the list too.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn invite_member(
    shell: State<'_, Shell>,
    address: String,
    email: String,
    name: String,
    role: String,
    days: Option<u32>,
    send: bool,
) -> Result<InvitationView, CommandError> {
    let made = run(shell.data_dir.clone(), move |store| {
        let role = crate::member_cmds::parse_role(&role)?;
        Ok(owner::invite::invite(
            store, &address, &email, &name, role, days,
        )?)
    })
    .await?;
    if send {
        owner::invite::send(&shell.data_dir, &made).await?;
    }
    Ok(made)
}

#[tauri::command]
pub async fn pending_keys(
    shell: State<'_, Shell>,
    address: String,
) -> Result<Vec<PendingKey>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::key_inbox::pending(store, &address)?)
    })
    .await
}

/// Accepts (`accept`) or rejects a waiting key.
#[tauri::command]
pub async fn decide_pending_key(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    id: i64,
    accept: bool,
) -> Result<PendingKey, CommandError> {
    let decided = run(shell.data_dir.clone(), move |store| {
        Ok(if accept {
            owner::key_inbox::accept(store, &address, id)?
        } else {
            owner::key_inbox::reject(store, &address, id)?
        })
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(decided)
}

#[tauri::command]
pub async fn join_requests(
    shell: State<'_, Shell>,
    address: String,
) -> Result<Vec<JoinRequest>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::invite::requests(store, &address)?)
    })
    .await
}

#[tauri::command]
pub async fn dismiss_join_request(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    email: String,
) -> Result<(), CommandError> {
    run(shell.data_dir.clone(), move |store| {
        Ok(owner::invite::dismiss(store, &address, &email)?)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}
