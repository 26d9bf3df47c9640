//! A list's policy as the owner sees it: its settings, which preset they
//! are, the presets on offer and the words for each crypto setting; and
//! saving many settings at once, all or none (as `conclave-cli list set`
//! would one by one).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Protocol;
use crate::owner::presets::{self, CRYPTO_CHOICES, PRESETS, SettingChoices};
use crate::store::Store;

use super::OwnerError;

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
    /// Whether the list has an S/MIME key, so that members' certificates
    /// (and how renewed ones are taken) matter.
    pub smime: bool,
    /// Every setting by its CLI key, in the CLI's spelling (max-size in
    /// bytes).
    pub settings: BTreeMap<&'static str, String>,
    /// The preset the saved settings are; none is "Custom".
    pub preset: Option<&'static str>,
    pub presets: Vec<PresetView>,
    pub crypto_choices: &'static [SettingChoices],
}

/// A list's policy.
pub fn view(store: &Store, address: &str) -> Result<PolicyView, OwnerError> {
    let list = store.list(address)?;
    // The agent reads posts as protected as soon as the list holds a key of
    // either protocol (post::keys::ListCrypto::load), whatever its
    // own protocol says.
    let smime = store.list_key(&list, Protocol::Smime)?.is_some();
    let has_key = store.list_key(&list, Protocol::Openpgp)?.is_some() || smime;
    Ok(PolicyView {
        address: list.address.clone(),
        name: list.name.clone(),
        protocol: list.protocol,
        crypto_applies: list.protocol != Protocol::Plain || has_key,
        smime: smime || list.protocol == Protocol::Smime,
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

/// Saves the changes (CLI key, value) all at once, or none of them; a
/// bad value comes back as `StoreError::BadSettings` naming each field.
pub fn save(
    store: &Store,
    address: &str,
    changes: &[(String, String)],
) -> Result<PolicyView, OwnerError> {
    let list = store.set_settings(address, changes)?;
    view(store, &list.address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_preset_saved_is_the_preset_shown() {
        let (_d, s) = store();
        s.create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let view = view(&s, "l@example.org").unwrap();
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
    fn crypto_settings_apply_to_a_plain_list_only_once_it_has_a_key() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        assert!(!view(&s, "l@example.org").unwrap().crypto_applies);
        let key = crate::store::StoredKey {
            fingerprint: "AB".repeat(20),
            cert: b"public key".to_vec(),
        };
        s.set_list_key(&list, Protocol::Openpgp, &key, false)
            .unwrap();
        assert!(view(&s, "l@example.org").unwrap().crypto_applies);
    }
}
