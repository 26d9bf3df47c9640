//! Presets: the four crypto settings (post-encrypt, post-sign,
//! distrib-encrypt, distrib-sign) chosen together, named after what a group
//! wants, and the words an owner reads for each level of each setting.
//! Pure data; the window gets them from here, never from a copy of its own.

use serde::Serialize;

use crate::model::{ListSettings, Requirement};

/// The four settings a preset sets; the list's other settings are left as
/// they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CryptoSettings {
    pub post_encrypt: Requirement,
    pub post_sign: Requirement,
    pub distrib_encrypt: Requirement,
    pub distrib_sign: bool,
}

impl CryptoSettings {
    pub fn of(settings: &ListSettings) -> Self {
        CryptoSettings {
            post_encrypt: settings.post_encrypt,
            post_sign: settings.post_sign,
            distrib_encrypt: settings.distrib_encrypt,
            distrib_sign: settings.distrib_sign,
        }
    }

    /// The four as (key, value) pairs in the CLI's spelling, the way
    /// `ListSettings::set` takes them.
    pub fn pairs(&self) -> [(&'static str, &'static str); 4] {
        [
            ("post-encrypt", self.post_encrypt.as_str()),
            ("post-sign", self.post_sign.as_str()),
            ("distrib-encrypt", self.distrib_encrypt.as_str()),
            ("distrib-sign", if self.distrib_sign { "yes" } else { "no" }),
        ]
    }
}

/// One preset: what the owner picks, and what it does to posts in one or
/// two sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Stable, for the window and tests.
    pub id: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub settings: CryptoSettings,
}

impl Preset {
    /// These settings with the preset's four applied.
    pub fn apply(&self, settings: &ListSettings) -> ListSettings {
        ListSettings {
            post_encrypt: self.settings.post_encrypt,
            post_sign: self.settings.post_sign,
            distrib_encrypt: self.settings.distrib_encrypt,
            distrib_sign: self.settings.distrib_sign,
            ..settings.clone()
        }
    }
}

use Requirement::{Force, Yes};

// post-encrypt `no` does not mean "encryption not needed" here: the list
// then does not decrypt at all, and a member's post encrypted to the list's
// key is held (see `crypto::judge`). A group that wants signed posts, or
// encrypted delivery, expects such a post to go out like any other, so those
// two presets use `yes` (plain and encrypted posts alike are taken), where
// the issue wrote `no`.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "encrypted-discussion",
        name: "Encrypted discussion",
        summary: "Only posts encrypted to the list's key and signed by a member go out: unencrypted posts are refused, \
                  unsigned ones dropped. Each member gets a copy encrypted to their own key; members without a key get nothing.",
        settings: CryptoSettings {
            post_encrypt: Force,
            post_sign: Force,
            distrib_encrypt: Force,
            distrib_sign: true,
        },
    },
    Preset {
        id: "signed-posts-only",
        name: "Signed posts only, no spam",
        summary: "Only posts signed by a member's key go out; unsigned or forged mail is dropped without filling your queue. \
                  Members with a key get their copy encrypted.",
        settings: CryptoSettings {
            post_encrypt: Yes,
            post_sign: Force,
            distrib_encrypt: Yes,
            distrib_sign: true,
        },
    },
    Preset {
        id: "anonymous-tips",
        name: "Anonymous tips, encrypted",
        summary: "Posts must be encrypted to the list's key but need no signature, so a source need not have a key of their own. \
                  Only members with a key receive them, encrypted; tips from non-members wait as “Who may post” says.",
        settings: CryptoSettings {
            post_encrypt: Force,
            post_sign: Requirement::No,
            distrib_encrypt: Force,
            distrib_sign: true,
        },
    },
    Preset {
        id: "encrypted-delivery",
        name: "Encrypted delivery",
        summary: "Posts are taken as members send them, encrypted or not, signed or not. \
                  Members with a key get their copy encrypted, the others an unencrypted one \
                  (of a post that arrived encrypted, only a notice that they missed it).",
        settings: CryptoSettings {
            post_encrypt: Yes,
            post_sign: Requirement::No,
            distrib_encrypt: Yes,
            distrib_sign: true,
        },
    },
];

/// The preset these settings are, or `None` ("Custom"). Only the four
/// crypto settings count.
pub fn preset_of(settings: &ListSettings) -> Option<&'static Preset> {
    let crypto = CryptoSettings::of(settings);
    PRESETS.iter().find(|p| p.settings == crypto)
}

/// The preset with this id.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// One level of a setting in an owner's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Choice {
    /// The value in the CLI's spelling.
    pub value: &'static str,
    pub label: &'static str,
    /// What it does to posts, as `crypto::judge` and `plan_delivery` do it.
    pub detail: &'static str,
}

/// One of the four crypto settings with its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SettingChoices {
    pub key: &'static str,
    pub label: &'static str,
    pub choices: &'static [Choice],
}

pub const CRYPTO_CHOICES: &[SettingChoices] = &[
    SettingChoices {
        key: "post-encrypt",
        label: "Posts encrypted to the list's key",
        choices: &[
            Choice {
                value: "no",
                label: "Not read",
                detail: "the list does not decrypt: an encrypted post is held for you, a plain post goes out",
            },
            Choice {
                value: "yes",
                label: "Taken",
                detail: "a post encrypted to the list's key is decrypted and goes out; so does a plain post",
            },
            Choice {
                value: "force",
                label: "Required",
                detail: "only posts encrypted to the list's key go out; any other post is refused",
            },
        ],
    },
    SettingChoices {
        key: "post-sign",
        label: "Posts signed by a member's key",
        choices: &[
            Choice {
                value: "no",
                label: "Not needed",
                detail: "posts go out signed or not",
            },
            Choice {
                value: "yes",
                label: "Needed, else held",
                detail: "a post without a valid member's signature waits for your approval",
            },
            Choice {
                value: "force",
                label: "Needed, else dropped",
                detail: "a post without a valid member's signature is discarded",
            },
        ],
    },
    SettingChoices {
        key: "distrib-encrypt",
        label: "Copies sent to the members",
        choices: &[
            Choice {
                value: "no",
                label: "Not encrypted",
                detail: "every member gets an unencrypted copy, except of a post that arrived encrypted: that goes out \
                         encrypted, and members without a key get a notice instead",
            },
            Choice {
                value: "yes",
                label: "Encrypted where possible",
                detail: "members with a key get an encrypted copy, the others an unencrypted one (of a post that arrived \
                         encrypted, a notice instead)",
            },
            Choice {
                value: "force",
                label: "Encrypted only",
                detail: "members without a valid key get nothing",
            },
        ],
    },
    SettingChoices {
        key: "distrib-sign",
        label: "The list signs each copy",
        choices: &[
            Choice {
                value: "yes",
                label: "Signed",
                detail: "members can check that a copy came from the list",
            },
            Choice {
                value: "no",
                label: "Not signed",
                detail: "copies carry no signature of the list",
            },
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> ListSettings {
        ListSettings::defaults_for("L", crate::model::Protocol::Plain)
    }

    fn crypto(settings: &ListSettings) -> (Requirement, Requirement, Requirement, bool) {
        (
            settings.post_encrypt,
            settings.post_sign,
            settings.distrib_encrypt,
            settings.distrib_sign,
        )
    }

    #[test]
    fn each_preset_sets_the_four_settings_it_names() {
        use Requirement::No;
        let expected = [
            (
                "encrypted-discussion",
                "Encrypted discussion",
                (Force, Force, Force, true),
            ),
            (
                "signed-posts-only",
                "Signed posts only, no spam",
                (Yes, Force, Yes, true),
            ),
            (
                "anonymous-tips",
                "Anonymous tips, encrypted",
                (Force, No, Force, true),
            ),
            (
                "encrypted-delivery",
                "Encrypted delivery",
                (Yes, No, Yes, true),
            ),
        ];
        assert_eq!(PRESETS.len(), expected.len());
        for (preset, (id, name, four)) in PRESETS.iter().zip(expected) {
            assert_eq!((preset.id, preset.name), (id, name));
            let applied = preset.apply(&defaults());
            assert_eq!(crypto(&applied), four, "{id}");
        }
    }

    #[test]
    fn a_preset_leaves_the_other_settings_alone() {
        let mut s = defaults();
        s.set("subject-prefix", "[T] ").unwrap();
        s.set("max-size", "2M").unwrap();
        s.set("non-member-posts", "reject").unwrap();
        s.set("signature-max-age-days", "3").unwrap();
        for p in PRESETS {
            let applied = p.apply(&s);
            let mut back = applied.clone();
            for (k, v) in CryptoSettings::of(&s).pairs() {
                back.set(k, v).unwrap();
            }
            assert_eq!(back, s, "{}", p.id);
        }
    }

    #[test]
    fn settings_match_the_preset_they_were_set_to() {
        for p in PRESETS {
            let mut s = defaults();
            for (k, v) in p.settings.pairs() {
                s.set(k, v).unwrap();
            }
            assert_eq!(preset_of(&s).map(|m| m.id), Some(p.id));
            // Settings outside the four do not change which preset it is.
            s.set("max-size", "1K").unwrap();
            s.set("owner-notices", "no").unwrap();
            assert_eq!(preset_of(&s).map(|m| m.id), Some(p.id));
            assert_eq!(preset(p.id), Some(p));
        }
        assert_eq!(preset("nope"), None);
    }

    #[test]
    fn settings_of_no_preset_are_custom() {
        // A new list's defaults (everything `yes`) are no preset.
        assert_eq!(preset_of(&defaults()), None);
        // One setting off a preset makes it custom.
        for p in PRESETS {
            let mut s = p.apply(&defaults());
            s.distrib_sign = !s.distrib_sign;
            assert_eq!(preset_of(&s), None, "{}", p.id);
        }
    }

    #[test]
    fn no_two_presets_are_the_same() {
        for (i, a) in PRESETS.iter().enumerate() {
            for b in &PRESETS[i + 1..] {
                assert_ne!(a.settings, b.settings, "{} and {}", a.id, b.id);
                assert_ne!(a.id, b.id);
            }
        }
    }

    #[test]
    fn every_choice_is_a_value_its_setting_takes() {
        let keys: Vec<_> = CRYPTO_CHOICES.iter().map(|c| c.key).collect();
        assert_eq!(
            keys,
            [
                "post-encrypt",
                "post-sign",
                "distrib-encrypt",
                "distrib-sign"
            ]
        );
        for setting in CRYPTO_CHOICES {
            assert!(ListSettings::KEYS.contains(&setting.key));
            for choice in setting.choices {
                let mut s = defaults();
                s.set(setting.key, choice.value)
                    .unwrap_or_else(|e| panic!("{}: {e}", setting.key));
                let stored = s
                    .pairs()
                    .into_iter()
                    .find(|(k, _)| *k == setting.key)
                    .unwrap()
                    .1;
                assert_eq!(stored, choice.value);
            }
        }
        // Every level of the three requirement settings is offered.
        for setting in &CRYPTO_CHOICES[..3] {
            let values: Vec<_> = setting.choices.iter().map(|c| c.value).collect();
            assert_eq!(values, Requirement::CHOICES, "{}", setting.key);
        }
    }
}
