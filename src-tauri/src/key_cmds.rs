//! The list key screen: the list's OpenPGP key and S/MIME certificate,
//! their export (copy, or a file through the system's save dialog) and
//! renewal. Everything is `conclave_engine::list_key`, as for the CLI.

use std::path::PathBuf;
use std::time::SystemTime;

use conclave_engine::list_key::{ListKeyError, ListKeyView};
use conclave_engine::model::Protocol;
use conclave_engine::owner;
use conclave_engine::owner::keys;
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

use crate::Shell;
use crate::commands::{CommandError, run};

/// A list's keys, its own protocol's first.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ListKeys {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    pub keys: Vec<ListKeyView>,
    /// How long a renewed key is valid, in days.
    pub renew_days: u32,
}

fn key_error(e: ListKeyError) -> CommandError {
    match e {
        ListKeyError::Store(e) => e.into(),
        other => CommandError {
            code: "list-key",
            message: other.to_string(),
        },
    }
}

/// The list's keys.
#[tauri::command]
pub async fn list_keys(shell: State<'_, Shell>, address: String) -> Result<ListKeys, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        let keys = keys::show_all(store, &list, SystemTime::now()).map_err(key_error)?;
        Ok(ListKeys {
            address: list.address,
            name: list.name,
            protocol: list.protocol,
            keys,
            renew_days: keys::RENEW_DAYS,
        })
    })
    .await
}

/// Renews the list's key of `protocol` for `days` (default two years).
#[tauri::command]
pub async fn renew_list_key(
    shell: State<'_, Shell>,
    address: String,
    protocol: Protocol,
    days: Option<u32>,
) -> Result<ListKeyView, CommandError> {
    keys::renew(
        &shell.data_dir,
        &address,
        Some(protocol),
        days.unwrap_or(keys::RENEW_DAYS),
    )
    .await
    .map_err(key_error)
}

/// Asks where to save, with the system's dialog; `None` when cancelled.
pub(crate) async fn ask_where(
    app: &AppHandle,
    title: &str,
    file_name: String,
    filter: (&str, &[&str]),
) -> Result<Option<PathBuf>, CommandError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(title)
        .set_file_name(file_name)
        .add_filter(filter.0, filter.1)
        .save_file(move |chosen| {
            let _ = tx.send(chosen);
        });
    let chosen = rx.await.map_err(|_| CommandError {
        code: "internal",
        message: "the save dialog closed without an answer; try again".into(),
    })?;
    chosen
        .map(|p| {
            p.into_path().map_err(|e| CommandError {
                code: "save",
                message: format!(
                    "that place cannot be written to ({e}): choose a folder on this computer"
                ),
            })
        })
        .transpose()
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<String, CommandError> {
    std::fs::write(path, bytes).map_err(|e| CommandError {
        code: "save",
        message: format!(
            "cannot write {} ({e}): choose another folder",
            path.display()
        ),
    })?;
    Ok(path.display().to_string())
}

/// Saves the list's public key or certificate where the owner chooses;
/// returns the file written, or `None` when the dialog was cancelled.
#[tauri::command]
pub async fn save_list_key(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    protocol: Protocol,
) -> Result<Option<String>, CommandError> {
    let (list, text) = run(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        let cert = owner::keys::export(store, &list.address, Some(protocol))?;
        Ok((list, cert))
    })
    .await?;
    let filter: (&str, &[&str]) = match protocol {
        Protocol::Smime => ("Certificate (PEM)", &["pem", "crt"]),
        _ => ("OpenPGP public key", &["asc"]),
    };
    let Some(path) = ask_where(
        &app,
        "Save the list's public key",
        owner::keys::export_file_name(&list.address, protocol),
        filter,
    )
    .await?
    else {
        return Ok(None);
    };
    write(&path, &text).map(Some)
}

/// S/MIME from an authority: installs its answer to a request (the
/// certificate for the list's key in the keychain, with its chain).
#[tauri::command]
pub async fn install_list_certificate(
    shell: State<'_, Shell>,
    address: String,
    bytes: Vec<u8>,
) -> Result<ListKeyView, CommandError> {
    keys::install_certificate(&shell.data_dir, &address, &bytes)
        .await
        .map_err(key_error)
}

/// S/MIME from an authority: saves a certificate request on the list's
/// present key, to send to the authority; `None` when cancelled.
#[tauri::command]
pub async fn save_renewal_request(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
) -> Result<Option<String>, CommandError> {
    let request = keys::renewal_request(&shell.data_dir, &address)
        .await
        .map_err(key_error)?;
    let local = owner::keys::export_file_name(&address, Protocol::Smime)
        .replace("-certificate.pem", "-renewal.csr");
    let Some(path) = ask_where(
        &app,
        "Save the renewal request",
        local,
        ("Certificate request", &["csr", "pem"]),
    )
    .await?
    else {
        return Ok(None);
    };
    write(&path, &request).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_code() {
        let e = key_error(ListKeyError::Store(
            conclave_engine::store::StoreError::NoSuchList("x@y".into()),
        ));
        assert_eq!(e.code, "list-not-found");
        let e = key_error(ListKeyError::NoDays);
        assert_eq!(e.code, "list-key");
    }
}
