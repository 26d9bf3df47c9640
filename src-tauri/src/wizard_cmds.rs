//! The commands of the first-run wizard that creates a list. Thin: the
//! presets, the login check and the all-or-nothing creation are the
//! engine's (`transport::presets`, `transport::check`, `setup`).

use std::time::SystemTime;

use conclave_engine::model::{Account, Protocol};
use conclave_engine::secrets::Sensitive;
use conclave_engine::setup::{
    self, CreatedList, KeyChoice, ListCheck, ListKeySummary, NewList, SetupError,
};
use conclave_engine::store::Store;
use conclave_engine::transport::presets::{PRESETS, ProviderPreset};
use conclave_engine::transport::{CheckReport, check_account};
use serde::Deserialize;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::commands::CommandError;
use crate::watch::LISTS_CHANGED;

impl From<SetupError> for CommandError {
    fn from(e: SetupError) -> Self {
        let code = match &e {
            SetupError::Invalid(_) => "invalid",
            SetupError::ListExists(_) => "list-exists",
            SetupError::Login { .. } => "login",
            SetupError::NeedsPassphrase(_) => "needs-passphrase",
            SetupError::Key(_) => "key-refused",
            SetupError::Secret(_) => "keychain",
            SetupError::Store(_) => "store",
            SetupError::Internal(_) => "internal",
        };
        CommandError {
            code,
            message: sentence(&e.to_string()),
        }
    }
}

/// "the server …" → "The server ….": the window shows whole sentences.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let mut out: String = match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn internal(e: impl std::fmt::Display) -> CommandError {
    CommandError {
        code: "internal",
        message: format!("The call failed unexpectedly ({e}); nothing was saved. Try again."),
    }
}

/// The providers whose servers the wizard fills in.
#[tauri::command]
pub fn mail_presets() -> Vec<ProviderPreset> {
    PRESETS.to_vec()
}

/// Step 1: the name and address can make a new list; which provider serves
/// the address, if it is a known one.
#[tauri::command]
pub async fn check_new_list(
    shell: State<'_, Shell>,
    address: String,
    name: String,
) -> Result<ListCheck, CommandError> {
    let dir = shell.data_dir.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let store = Store::open(&dir).map_err(SetupError::from)?;
        Ok(setup::check_list(&store, &address, &name)?)
    })
    .await
    .map_err(internal)?
}

/// "Test connection": logs in to both servers and says, for each, whether
/// it worked and if not why. Saves nothing.
#[tauri::command]
pub async fn test_account(
    account: Account,
    imap_password: String,
    smtp_password: String,
) -> Result<CheckReport, CommandError> {
    let (imap_password, smtp_password) =
        (Sensitive::new(imap_password), Sensitive::new(smtp_password));
    // Missing fields are the form's to say; a setting the servers would
    // refuse (no security to a remote host) is reported per server below.
    if let Err(e @ SetupError::Invalid(_)) = setup::check_account_fields(&account) {
        return Err(e.into());
    }
    for (kind, password) in [("IMAP", &imap_password), ("SMTP", &smtp_password)] {
        if password.expose().is_empty() {
            return Err(SetupError::Invalid(format!("type the {kind} password")).into());
        }
    }
    let check = check_account(&account, imap_password.expose(), smtp_password.expose()).await;
    Ok(check.report(&account))
}

/// Step 3, an imported key: what it is, or why it cannot be the list's
/// key (a wrong passphrase, another address...). Saves nothing.
#[tauri::command]
pub async fn preview_list_key(
    address: String,
    name: String,
    protocol: Protocol,
    bytes: Vec<u8>,
    passphrase: Option<String>,
) -> Result<ListKeySummary, CommandError> {
    tauri::async_runtime::spawn_blocking(move || {
        let now = SystemTime::now();
        let choice = KeyChoice::Import {
            bytes,
            passphrase: passphrase.filter(|p| !p.is_empty()).map(Sensitive::new),
        };
        match setup::prepare_key(&address, &name, protocol, &choice, now)? {
            Some(key) => Ok(key.summary(&address, now)),
            None => Err(SetupError::Invalid("a plain list has no key".into()).into()),
        }
    })
    .await
    .map_err(internal)?
}

/// Where the list key comes from, as the window sends it.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KeyInput {
    None,
    Generate {
        algo: Option<String>,
    },
    Import {
        bytes: Vec<u8>,
        passphrase: Option<String>,
    },
}

impl From<KeyInput> for KeyChoice {
    fn from(k: KeyInput) -> Self {
        match k {
            KeyInput::None => KeyChoice::None,
            KeyInput::Generate { algo } => KeyChoice::Generate { algo },
            KeyInput::Import { bytes, passphrase } => KeyChoice::Import {
                bytes,
                passphrase: passphrase.filter(|p| !p.is_empty()).map(Sensitive::new),
            },
        }
    }
}

/// The last step: the list with its account, passwords (keychain) and key,
/// all or nothing. The agent starts watching it at once.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn create_list(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    name: String,
    protocol: Protocol,
    account: Account,
    imap_password: String,
    smtp_password: String,
    key: KeyInput,
) -> Result<CreatedList, CommandError> {
    let new = NewList {
        address,
        name,
        protocol,
        account,
        imap_password: Sensitive::new(imap_password),
        smtp_password: Sensitive::new(smtp_password),
        key: key.into(),
    };
    let created = setup::create_list(&shell.data_dir, new).await?;
    shell.watch.wake();
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_errors_reach_the_window_as_sentences_with_their_code() {
        let e = CommandError::from(SetupError::ListExists("l@example.org".into()));
        assert_eq!(e.code, "list-exists");
        assert!(
            e.message.starts_with("A list l@example.org exists already"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with('.'));
        let e = CommandError::from(SetupError::NeedsPassphrase(
            "The passphrase does not unlock this key: check it and try again".into(),
        ));
        assert_eq!(e.code, "needs-passphrase");
        assert_eq!(sentence("done."), "done.".replacen('d', "D", 1));
    }

    #[test]
    fn the_window_s_key_choice_reads_as_the_engine_s() {
        let k: KeyInput = serde_json::from_str(r#"{"kind":"generate","algo":"rsa4096"}"#).unwrap();
        assert!(
            matches!(KeyChoice::from(k), KeyChoice::Generate { algo: Some(a) } if a == "rsa4096")
        );
        let k: KeyInput =
            serde_json::from_str(r#"{"kind":"import","bytes":[1,2],"passphrase":""}"#).unwrap();
        assert!(
            matches!(
                KeyChoice::from(k),
                KeyChoice::Import {
                    passphrase: None,
                    ..
                }
            ),
            "an empty passphrase is none"
        );
        let k: KeyInput = serde_json::from_str(r#"{"kind":"none"}"#).unwrap();
        assert!(matches!(KeyChoice::from(k), KeyChoice::None));
    }
}
