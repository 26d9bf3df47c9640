//! A list sealed into one file, for another laptop (a hand-over bundle)
//! or for its own mailbox (the backup): its settings, account, members and
//! their keys, trusted authorities, the list's secret keys and, when asked
//! for, the account's passwords. Sealed with a passphrase
//! ([`crate::crypto::openpgp::passphrase`]); nothing is written anywhere
//! until the whole bundle has opened and checked out.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::openpgp::passphrase::{self, MIN_PASSPHRASE, Unsealed};
use crate::model::Protocol;
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::{ListRecord, Store, StoreError};

/// Why a bundle was not made or not opened; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "a bundle's passphrase needs at least {MIN_PASSPHRASE} characters (a few words are easiest to pass on and hard to guess); nothing was written"
    )]
    ShortPassphrase,
    #[error(
        "the passphrase does not open this bundle: check it and try again; nothing was imported"
    )]
    WrongPassphrase,
    #[error(
        "this file is not a Conclave bundle, or it was damaged or changed after it was made ({0}): ask for a new copy; nothing was imported"
    )]
    Damaged(String),
    #[error(
        "the bundle opened but its contents are not what Conclave writes ({0}); nothing was imported"
    )]
    NotABundle(String),
    #[error(
        "the bundle was made by a newer Conclave ({0}): update Conclave, then import it; nothing was imported"
    )]
    TooNew(String),
    #[error(
        "{0} is a list on this laptop already: remove it here first (Policy → Remove this list from this laptop, or `conclave-cli list forget`), or import into another data folder; nothing was imported"
    )]
    Exists(String),
    #[error(
        "the bundle's {protocol} secret key does not belong to {list}'s {protocol} key ({why}); nothing was imported"
    )]
    ForeignSecretKey {
        list: String,
        protocol: String,
        why: String,
    },
    #[error(
        "the secret part of {list}'s {protocol} key is not in this keychain, and a bundle without it cannot run the list: unlock the keychain that holds it; nothing was written"
    )]
    NoSecretKey { list: String, protocol: String },
    #[error(
        "{0} has no passwords in this keychain to put in the bundle: export without them, or set them with `conclave-cli list account` first; nothing was written"
    )]
    NoPasswords(String),
    #[error("cannot write {path}: {error}; choose another place (nothing was written)")]
    Write {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("cannot seal the bundle: {0}; nothing was written")]
    Seal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// What the sealed file holds. `format` changes when a reader of an older
/// format could misread it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Contents {
    format: u32,
    made_by: String,
    made_at: i64,
    pub(crate) list: ListRecord,
    secrets: Secrets,
}

const FORMAT: u32 = 1;

/// The largest bundle read: keys of thousands of members fit many times.
pub const MAX_BUNDLE: usize = 64 * 1024 * 1024;

/// The list's secrets, as the keychain holds them.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Secrets {
    pub(crate) openpgp_list_key: Option<String>,
    pub(crate) smime_list_key: Option<String>,
    pub(crate) imap_password: Option<String>,
    pub(crate) smtp_password: Option<String>,
    /// What seals the changes the laptops running the list send each
    /// other (absent from bundles of a Conclave before it).
    #[serde(default)]
    pub(crate) sync_secret: Option<String>,
}

impl Secrets {
    fn items(&self) -> [(SecretKind, &Option<String>); 5] {
        [
            (SecretKind::OpenPgpListKey, &self.openpgp_list_key),
            (SecretKind::SmimeListKey, &self.smime_list_key),
            (SecretKind::ImapPassword, &self.imap_password),
            (SecretKind::SmtpPassword, &self.smtp_password),
            (SecretKind::SyncSecret, &self.sync_secret),
        ]
    }
}

/// The list's sync secret, made and kept when it has none yet: a bundle
/// may start a second laptop, and the two need it to share their changes.
pub(crate) async fn sync_secret(address: &str) -> Result<String, BundleError> {
    if let Some(secret) = optional_secret(address, SecretKind::SyncSecret).await? {
        return Ok(secret);
    }
    let made = secrets::new_code();
    secrets::store(address, SecretKind::SyncSecret, made.clone()).await?;
    Ok(made.expose().clone())
}

/// What a bundle held, once sealed or opened: for the owner.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BundleSummary {
    pub list: String,
    #[ts(type = "number")]
    pub members: usize,
    /// "openpgp", "smime": the list keys it carries, secret part included.
    pub list_keys: Vec<String>,
    pub with_passwords: bool,
}

impl Contents {
    pub(crate) fn summary(&self) -> BundleSummary {
        BundleSummary {
            list: self.list.address.clone(),
            members: self.list.members.len(),
            list_keys: self
                .list
                .list_keys
                .iter()
                .map(|k| k.protocol.clone())
                .collect(),
            with_passwords: self.secrets.imap_password.is_some()
                || self.secrets.smtp_password.is_some(),
        }
    }
}

pub fn check_passphrase(passphrase: &Sensitive<String>) -> Result<(), BundleError> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE {
        return Err(BundleError::ShortPassphrase);
    }
    Ok(())
}

async fn optional_secret(list: &str, kind: SecretKind) -> Result<Option<String>, BundleError> {
    match secrets::load(list, kind).await {
        Ok(s) => Ok(Some(s.expose().clone())),
        Err(SecretError::Missing(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The list's secrets from the keychain (the passwords when
/// `with_passwords`).
pub(crate) async fn keychain_secrets(
    address: &str,
    with_passwords: bool,
) -> Result<Secrets, BundleError> {
    let mut secrets = Secrets {
        openpgp_list_key: optional_secret(address, SecretKind::OpenPgpListKey).await?,
        smime_list_key: optional_secret(address, SecretKind::SmimeListKey).await?,
        sync_secret: Some(sync_secret(address).await?),
        ..Secrets::default()
    };
    if with_passwords {
        secrets.imap_password = optional_secret(address, SecretKind::ImapPassword).await?;
        secrets.smtp_password = optional_secret(address, SecretKind::SmtpPassword).await?;
        if secrets.imap_password.is_none() && secrets.smtp_password.is_none() {
            return Err(BundleError::NoPasswords(address.to_string()));
        }
    }
    Ok(secrets)
}

impl Contents {
    /// The list `record` with its `secrets`, ready to seal; refused when a
    /// list key's secret part is missing, since such a bundle could not
    /// run the list.
    pub(crate) fn new(record: ListRecord, secrets: Secrets) -> Result<Contents, BundleError> {
        for k in &record.list_keys {
            let held = if k.protocol == Protocol::Smime.as_str() {
                &secrets.smime_list_key
            } else {
                &secrets.openpgp_list_key
            };
            if held.is_none() {
                return Err(BundleError::NoSecretKey {
                    list: record.address.clone(),
                    protocol: k.protocol.clone(),
                });
            }
        }
        Ok(Contents {
            format: FORMAT,
            made_by: format!("Conclave {}", env!("CARGO_PKG_VERSION")),
            made_at: crate::store::now(),
            list: record,
            secrets,
        })
    }
}

/// `contents` sealed under `passphrase`. Blocking (Argon2).
pub(crate) fn seal(
    contents: &Contents,
    passphrase: &Sensitive<String>,
) -> Result<Vec<u8>, BundleError> {
    check_passphrase(passphrase)?;
    let json =
        Sensitive::new(serde_json::to_vec(contents).map_err(|e| BundleError::Seal(e.to_string()))?);
    passphrase::seal(json.expose(), passphrase).map_err(BundleError::Seal)
}

/// The contents of sealed `bytes`, checked: the passphrase, every byte,
/// the format, and that each secret key belongs to its list key. Blocking.
pub(crate) fn open(bytes: &[u8], passphrase: &Sensitive<String>) -> Result<Contents, BundleError> {
    let json = passphrase::open(bytes, passphrase).map_err(|e| match e {
        Unsealed::WrongPassphrase => BundleError::WrongPassphrase,
        Unsealed::Damaged(why) => BundleError::Damaged(why),
    })?;
    let contents: Contents =
        serde_json::from_slice(&json).map_err(|e| BundleError::NotABundle(e.to_string()))?;
    if contents.format > FORMAT {
        return Err(BundleError::TooNew(contents.made_by));
    }
    check_secret_keys(&contents)?;
    Ok(contents)
}

/// Writes beside the target and renames, so a bundle is never half there;
/// only the owner may read it (it holds the list's secret keys, sealed).
pub(crate) fn write_private(to: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    use std::io::Write;
    let failed = |error| BundleError::Write {
        path: to.to_path_buf(),
        error,
    };
    let name = to
        .file_name()
        .ok_or_else(|| failed(std::io::Error::other("that is a folder, not a file name")))?;
    let tmp = to.with_file_name(format!(".{}.part", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, to)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(failed)
}

/// Makes the list of opened `contents` in `data_dir`: the secrets in this
/// machine's keychain, the rest in the store, or none of it.
pub(crate) async fn make_list(data_dir: &Path, contents: &Contents) -> Result<(), BundleError> {
    let address = contents.list.address.clone();
    let (dir, wanted) = (data_dir.to_path_buf(), address.clone());
    let exists = crate::post::blocking(move || {
        Ok::<_, StoreError>(Store::open(&dir)?.list(&wanted).is_ok())
    })
    .await?;
    if exists {
        return Err(BundleError::Exists(address));
    }
    let mut kept = Vec::new();
    for (kind, value) in contents.secrets.items() {
        if let Some(value) = value {
            if let Err(e) = secrets::store(&address, kind, Sensitive::new(value.clone())).await {
                forget_all(&address, &kept).await;
                return Err(e.into());
            }
            kept.push(kind);
        }
    }
    let dir = data_dir.to_path_buf();
    let record = contents.list.clone();
    let shares = contents.secrets.sync_secret.is_some();
    let made = crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.restore_list(&record)?;
        if shares {
            store.start_sharing_changes(&list)?;
        }
        Ok::<_, StoreError>(list)
    })
    .await;
    if let Err(e) = made {
        forget_all(&address, &kept).await;
        return Err(match e {
            StoreError::ListExists(a) => BundleError::Exists(a),
            other => other.into(),
        });
    }
    Ok(())
}

async fn forget_all(address: &str, kinds: &[SecretKind]) {
    for kind in kinds {
        let _ = secrets::forget(address, *kind).await;
    }
}

/// Each list key's secret part belongs to it: a bundle put together by
/// hand from two lists must not make a list that signs with a stranger's
/// key.
fn check_secret_keys(contents: &Contents) -> Result<(), BundleError> {
    use crate::crypto::{openpgp, smime};
    let refuse = |protocol: &str, why: String| BundleError::ForeignSecretKey {
        list: contents.list.address.clone(),
        protocol: protocol.to_string(),
        why,
    };
    for k in &contents.list.list_keys {
        if k.protocol == Protocol::Openpgp.as_str() {
            let Some(secret) = &contents.secrets.openpgp_list_key else {
                return Err(refuse("openpgp", "it is missing".into()));
            };
            let key = openpgp::ListKey::from_keychain(&Sensitive::new(secret.clone()))
                .map_err(|e| refuse("openpgp", e.to_string()))?;
            if key.fingerprint() != k.fingerprint {
                return Err(refuse("openpgp", format!("it is {}", key.fingerprint())));
            }
        } else {
            let Some(secret) = &contents.secrets.smime_list_key else {
                return Err(refuse("smime", "it is missing".into()));
            };
            let key = smime::ListKey::key_from_keychain(&Sensitive::new(secret.clone()))
                .map_err(|e| refuse("smime", e.to_string()))?;
            let matches = openssl::x509::X509::from_pem(&k.cert)
                .or_else(|_| openssl::x509::X509::from_der(&k.cert))
                .and_then(|c| c.public_key())
                .map(|p| p.public_eq(&key))
                .map_err(|e| refuse("smime", e.to_string()))?;
            if !matches {
                return Err(refuse("smime", "another key pair".into()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{openpgp, smime};
    use crate::store::KeyRecord;
    use std::collections::BTreeMap;

    fn contents(list_keys: Vec<KeyRecord>, secrets: Secrets) -> Contents {
        Contents {
            format: FORMAT,
            made_by: "test".into(),
            made_at: 0,
            list: ListRecord {
                address: "l@example.org".into(),
                name: "L".into(),
                protocol: "openpgp".into(),
                paused: false,
                created_at: 0,
                settings: BTreeMap::new(),
                account: None,
                list_keys,
                members: Vec::new(),
                trust_anchors: Vec::new(),
            },
            secrets,
        }
    }

    fn record(protocol: &str, fingerprint: String, cert: Vec<u8>) -> KeyRecord {
        KeyRecord {
            protocol: protocol.into(),
            fingerprint,
            cert,
            added_at: 0,
        }
    }

    #[test]
    fn a_secret_key_must_belong_to_its_list_key() {
        let now = std::time::SystemTime::now();
        let (ours, theirs) = (
            openpgp::ListKey::generate("L", "l@example.org", openpgp::KeyAlgo::Ed25519, now)
                .unwrap(),
            openpgp::ListKey::generate("M", "m@example.org", openpgp::KeyAlgo::Ed25519, now)
                .unwrap(),
        );
        let key = record(
            "openpgp",
            ours.fingerprint(),
            ours.public_armored().into_bytes(),
        );
        let with = |secret: &openpgp::ListKey| Secrets {
            openpgp_list_key: Some(secret.to_keychain().expose().clone()),
            ..Secrets::default()
        };
        assert!(check_secret_keys(&contents(vec![key.clone()], with(&ours))).is_ok());
        let e = check_secret_keys(&contents(vec![key.clone()], with(&theirs))).unwrap_err();
        assert!(e.to_string().contains("does not belong"), "{e}");
        let e = check_secret_keys(&contents(vec![key], Secrets::default())).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");

        let (ours, theirs) = (
            smime::ListKey::generate("l@example.org", smime::KeyAlgo::P256).unwrap(),
            smime::ListKey::generate("l@example.org", smime::KeyAlgo::P256).unwrap(),
        );
        let key = record("smime", ours.fingerprint(), ours.public_pem());
        let with = |secret: &smime::ListKey| Secrets {
            smime_list_key: Some(
                smime::ListKey::key_to_keychain(secret.key())
                    .unwrap()
                    .expose()
                    .clone(),
            ),
            ..Secrets::default()
        };
        assert!(check_secret_keys(&contents(vec![key.clone()], with(&ours))).is_ok());
        let e = check_secret_keys(&contents(vec![key], with(&theirs))).unwrap_err();
        assert!(e.to_string().contains("another key pair"), "{e}");
    }

    #[tokio::test]
    async fn a_short_passphrase_writes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("b.conclave");
        let e = crate::owner::bundle::export(
            dir.path(),
            "l@example.org",
            &to,
            &Sensitive::new("short".into()),
            false,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("at least 12"), "{e}");
        assert!(!to.exists());
    }
}
