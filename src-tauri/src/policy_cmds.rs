//! The policy panel's commands: a list's settings with the presets and the
//! words for each crypto setting (all from the engine), and saving many
//! settings at once, as `conclave-cli list set` would one by one.

use std::path::PathBuf;

use conclave_engine::model::SettingProblem;
use conclave_engine::owner::{OwnerError, policy};
use conclave_engine::store::{Store, StoreError};
use serde::Serialize;
use tauri::State;

pub use conclave_engine::owner::policy::PolicyView;

use crate::Shell;
use crate::commands::CommandError;

/// A [`CommandError`] that may name the settings it is about, so the
/// window shows each reason next to its field. Only saving has such
/// errors; everything else arrives as a plain [`CommandError`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct PolicyError {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<SettingProblem>,
}

impl From<CommandError> for PolicyError {
    fn from(e: CommandError) -> Self {
        PolicyError {
            code: e.code,
            message: e.message,
            fields: vec![],
        }
    }
}

impl From<OwnerError> for PolicyError {
    fn from(e: OwnerError) -> Self {
        match e {
            OwnerError::Store(StoreError::BadSettings(fields)) => PolicyError {
                code: "bad-settings",
                message: format!(
                    "Nothing was saved: {} not right. Correct {} and save again.",
                    if fields.len() == 1 {
                        "one value is"
                    } else {
                        "some values are"
                    },
                    if fields.len() == 1 { "it" } else { "them" },
                ),
                fields,
            },
            other => CommandError::from(other).into(),
        }
    }
}

async fn with_store<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, OwnerError> + Send + 'static,
) -> Result<T, PolicyError> {
    tauri::async_runtime::spawn_blocking(move || f(&Store::open(&dir)?))
        .await
        .map_err(|e| PolicyError {
            code: "internal",
            message: format!("the store call failed: {e}"),
            fields: vec![],
        })?
        .map_err(PolicyError::from)
}

/// A list's settings, the preset they match, and what the panel offers.
#[tauri::command]
pub async fn policy(shell: State<'_, Shell>, address: String) -> Result<PolicyView, PolicyError> {
    with_store(shell.data_dir.clone(), move |store| {
        policy::view(store, &address)
    })
    .await
}

/// Saves changed settings together; a bad value saves nothing and comes
/// back with its reason under `fields`. The agent reads the settings afresh
/// on its next run.
#[tauri::command]
pub async fn save_policy(
    shell: State<'_, Shell>,
    address: String,
    changes: Vec<(String, String)>,
) -> Result<PolicyView, PolicyError> {
    with_store(shell.data_dir.clone(), move |store| {
        policy::save(store, &address, &changes)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_engine::model::Protocol;

    #[test]
    fn a_bad_value_saves_nothing_and_names_its_field() {
        let dir = tempfile::tempdir().unwrap();
        conclave_engine::secrets::keep_database_keys_in_memory();
        let s = Store::open(dir.path()).unwrap();
        s.create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let changes = [("post-sign", "force"), ("send-rate", "fast")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let e: PolicyError = policy::save(&s, "l@example.org", &changes)
            .unwrap_err()
            .into();
        assert_eq!(e.code, "bad-settings");
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.fields[0].key, "send-rate");
        assert!(e.fields[0].message.contains("messages a minute"), "{e:?}");
        assert!(e.message.starts_with("Nothing was saved"), "{e:?}");
        assert_eq!(
            s.list("l@example.org").unwrap().settings.post_sign.as_str(),
            "yes"
        );

        let e: PolicyError = policy::save(&s, "gone@example.org", &[])
            .unwrap_err()
            .into();
        assert_eq!((e.code, e.fields.len()), ("list-not-found", 0));
    }
}
