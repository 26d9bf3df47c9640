//! The policy panel's commands: a list's settings with the presets and the
//! words for each crypto setting (all from the engine), and saving many
//! settings at once, as `conclave-cli list set` would one by one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use conclave_engine::model::{List, Protocol, SettingProblem};
use conclave_engine::owner::presets::{self, CRYPTO_CHOICES, PRESETS, SettingChoices};
use conclave_engine::store::{Store, StoreError};
use serde::Serialize;
use tauri::State;

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

impl From<StoreError> for PolicyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadSettings(fields) => PolicyError {
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

/// One preset as the window offers it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
#[ts(rename = "Preset")]
pub struct PresetView {
    pub id: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    /// The four settings it sets, by their CLI keys.
    pub settings: BTreeMap<&'static str, &'static str>,
}

/// A list's policy as the panel shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PolicyView {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    /// Whether the four crypto settings act on this list's posts: a plain
    /// list without a key of either kind forwards posts as they are.
    pub crypto_applies: bool,
    /// Every setting by its CLI key, in the CLI's spelling (max-size in
    /// bytes).
    pub settings: BTreeMap<&'static str, String>,
    /// The preset the saved settings are; none is "Custom".
    pub preset: Option<&'static str>,
    pub presets: Vec<PresetView>,
    pub crypto_choices: &'static [SettingChoices],
}

pub fn policy_view(store: &Store, list: &List) -> Result<PolicyView, StoreError> {
    // The agent reads posts as protected as soon as the list holds a key of
    // either protocol (post::keys::ListCrypto::load), whatever its
    // own protocol says.
    let has_key = store.list_key(list, Protocol::Openpgp)?.is_some()
        || store.list_key(list, Protocol::Smime)?.is_some();
    Ok(PolicyView {
        address: list.address.clone(),
        name: list.name.clone(),
        protocol: list.protocol,
        crypto_applies: list.protocol != Protocol::Plain || has_key,
        settings: list.settings.pairs().into_iter().collect(),
        preset: presets::preset_of(&list.settings).map(|p| p.id),
        presets: PRESETS
            .iter()
            .map(|p| PresetView {
                id: p.id,
                name: p.name,
                summary: p.summary,
                settings: p.settings.pairs().into_iter().collect(),
            })
            .collect(),
        crypto_choices: CRYPTO_CHOICES,
    })
}

/// Saves the changes (CLI key, value) all at once, or none of them.
pub fn save(
    store: &Store,
    address: &str,
    changes: &[(String, String)],
) -> Result<PolicyView, StoreError> {
    let list = store.set_settings(address, changes)?;
    policy_view(store, &list)
}

async fn with_store<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
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
        policy_view(store, &store.list(&address)?)
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
        save(store, &address, &changes)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn changes(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_preset_saved_is_the_preset_shown() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let view = policy_view(&s, &list).unwrap();
        assert!(view.crypto_applies);
        assert_eq!(view.preset, None, "a new list's defaults are no preset");
        assert_eq!(view.presets.len(), PRESETS.len());
        let discussion = view
            .presets
            .iter()
            .find(|p| p.name == "Encrypted discussion")
            .unwrap();
        let chosen: Vec<_> = discussion
            .settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let saved = save(&s, "l@example.org", &chosen).unwrap();
        assert_eq!(saved.preset, Some("encrypted-discussion"));
        assert_eq!(saved.settings["post-encrypt"], "force");
        assert_eq!(saved.settings["distrib-sign"], "yes");
        assert_eq!(saved.settings["max-size"], (10 * 1024 * 1024).to_string());
    }

    #[test]
    fn a_bad_value_saves_nothing_and_names_its_field() {
        let (_d, s) = store();
        s.create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let e: PolicyError = save(
            &s,
            "l@example.org",
            &changes(&[("post-sign", "force"), ("send-rate", "fast")]),
        )
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

        let e: PolicyError = save(&s, "gone@example.org", &[]).unwrap_err().into();
        assert_eq!((e.code, e.fields.len()), ("list-not-found", 0));
    }

    #[test]
    fn crypto_settings_apply_to_a_plain_list_only_once_it_has_a_key() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        assert!(!policy_view(&s, &list).unwrap().crypto_applies);
        let key = conclave_engine::store::StoredKey {
            fingerprint: "AB".repeat(20),
            cert: b"public key".to_vec(),
        };
        s.set_list_key(&list, Protocol::Openpgp, &key, false)
            .unwrap();
        assert!(policy_view(&s, &list).unwrap().crypto_applies);
    }
}
