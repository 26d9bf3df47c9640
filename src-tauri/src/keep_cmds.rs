//! Keeping a list safe from the window: its backup in the mailbox (turned
//! on with a recovery passphrase shown once), a hand-over file through the
//! system's save dialog, and bringing a list back from either. Everything
//! is `conclave_engine::owner::{backup, bundle}`, as for the CLI.

use conclave_engine::bundle::BundleSummary;
use conclave_engine::model::Endpoint;
use conclave_engine::owner;
use conclave_engine::owner::backup::BackupState;
use conclave_engine::secrets::Sensitive;
use serde::Deserialize;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::commands::CommandError;
use crate::key_cmds::ask_where;
use crate::watch::LISTS_CHANGED;

#[tauri::command]
pub async fn backup_state(
    shell: State<'_, Shell>,
    address: String,
) -> Result<BackupState, CommandError> {
    Ok(owner::backup::state(&shell.data_dir, &address).await?)
}

/// Turns backups on with a new recovery passphrase, which the window shows
/// this once; the agent makes the first backup at once.
#[tauri::command]
pub async fn turn_on_backups(
    shell: State<'_, Shell>,
    address: String,
) -> Result<String, CommandError> {
    let (_, passphrase) = owner::backup::set_recovery(&shell.data_dir, &address, None).await?;
    shell.watch.wake();
    Ok(passphrase.expose().clone())
}

/// Seals the list into a file the owner picks; `None` when they cancel.
#[tauri::command]
pub async fn export_list(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    passphrase: String,
    with_passwords: bool,
) -> Result<Option<BundleSummary>, CommandError> {
    let passphrase = Sensitive::new(passphrase);
    // Checked before the dialog, so a short passphrase is told at once.
    conclave_engine::bundle::check_passphrase(&passphrase)
        .map_err(|e| CommandError::from(owner::OwnerError::from(e)))?;
    let Some(path) = ask_where(
        &app,
        "Export the list",
        format!("{}.conclave", address.to_ascii_lowercase()),
        ("Conclave list", &["conclave"]),
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        owner::bundle::export(
            &shell.data_dir,
            &address,
            &path,
            &passphrase,
            with_passwords,
        )
        .await?,
    ))
}

/// Makes a list from a hand-over file's bytes.
#[tauri::command]
pub async fn import_list(
    app: AppHandle,
    shell: State<'_, Shell>,
    bytes: Vec<u8>,
    passphrase: String,
) -> Result<BundleSummary, CommandError> {
    let made = owner::bundle::import(&shell.data_dir, &bytes, &Sensitive::new(passphrase)).await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(made)
}

/// How to reach a list's mailbox, and the account's passwords to keep.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct MailboxLogin {
    pub imap: Endpoint,
    /// The authority's certificate (PEM) of a server with its own.
    pub ca_pem: Option<String>,
    pub imap_password: String,
    pub smtp_password: String,
}

/// Brings a list back from the newest backup in its mailbox.
#[tauri::command]
pub async fn restore_list(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    login: MailboxLogin,
    recovery: String,
) -> Result<BundleSummary, CommandError> {
    let made = owner::backup::restore(
        &shell.data_dir,
        &address,
        &login.imap,
        login.ca_pem.as_deref(),
        (
            Sensitive::new(login.imap_password),
            Sensitive::new(login.smtp_password),
        ),
        &Sensitive::new(recovery),
    )
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(made)
}
