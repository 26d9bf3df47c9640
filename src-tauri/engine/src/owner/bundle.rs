//! Hand-over bundles: one file that carries a whole list to another laptop
//! (a co-owner's, or this one after a reinstall): its settings, account,
//! members and their keys, trusted authorities, the list's secret keys and,
//! when asked for, the account's passwords. Sealed with a passphrase
//! ([`crate::crypto::openpgp::passphrase`]); nothing is written anywhere
//! until the whole bundle has opened and checked out.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::OwnerError;
use crate::crypto::openpgp::passphrase::{self, MIN_PASSPHRASE, Unsealed};
use crate::model::Protocol;
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::{ListRecord, Store};

/// What the sealed file holds. `format` changes when a reader of an older
/// format could misread it.
#[derive(Serialize, Deserialize)]
struct Contents {
    format: u32,
    made_by: String,
    made_at: i64,
    list: ListRecord,
    secrets: Secrets,
}

const FORMAT: u32 = 1;

/// The largest bundle read: keys of thousands of members fit many times.
pub const MAX_BUNDLE: usize = 64 * 1024 * 1024;

/// The list's secrets, as the keychain holds them.
#[derive(Default, Serialize, Deserialize)]
struct Secrets {
    openpgp_list_key: Option<String>,
    smime_list_key: Option<String>,
    imap_password: Option<String>,
    smtp_password: Option<String>,
}

impl Secrets {
    fn items(&self) -> [(SecretKind, &Option<String>); 4] {
        [
            (SecretKind::OpenPgpListKey, &self.openpgp_list_key),
            (SecretKind::SmimeListKey, &self.smime_list_key),
            (SecretKind::ImapPassword, &self.imap_password),
            (SecretKind::SmtpPassword, &self.smtp_password),
        ]
    }
}

/// What an export or an import did, for the owner.
#[derive(Debug, Clone, Serialize)]
pub struct BundleSummary {
    pub list: String,
    pub members: usize,
    /// "openpgp", "smime": the list keys it carries, secret part included.
    pub list_keys: Vec<String>,
    pub with_passwords: bool,
}

fn check_passphrase(passphrase: &Sensitive<String>) -> Result<(), OwnerError> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE {
        return Err(OwnerError::Refused(format!(
            "a bundle's passphrase needs at least {MIN_PASSPHRASE} characters (a few words are easiest to pass on and hard to guess); nothing was written"
        )));
    }
    Ok(())
}

async fn optional_secret(list: &str, kind: SecretKind) -> Result<Option<String>, OwnerError> {
    match secrets::load(list, kind).await {
        Ok(s) => Ok(Some(s.expose().clone())),
        Err(SecretError::Missing(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Seals the list `address` into `to`, with the account's passwords when
/// `with_passwords`. The file is written whole or not at all, readable by
/// this user only.
pub async fn export(
    data_dir: &Path,
    address: &str,
    to: &Path,
    passphrase: &Sensitive<String>,
    with_passwords: bool,
) -> Result<BundleSummary, OwnerError> {
    check_passphrase(passphrase)?;
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    let record = crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.list(&wanted)?;
        store.list_record(&list)
    })
    .await?;
    let mut secrets = Secrets {
        openpgp_list_key: optional_secret(&record.address, SecretKind::OpenPgpListKey).await?,
        smime_list_key: optional_secret(&record.address, SecretKind::SmimeListKey).await?,
        ..Secrets::default()
    };
    if with_passwords {
        secrets.imap_password = optional_secret(&record.address, SecretKind::ImapPassword).await?;
        secrets.smtp_password = optional_secret(&record.address, SecretKind::SmtpPassword).await?;
        if secrets.imap_password.is_none() && secrets.smtp_password.is_none() {
            return Err(OwnerError::Refused(format!(
                "{} has no passwords in this keychain to put in the bundle: export without them, or set them with `conclave-cli list account` first; nothing was written",
                record.address
            )));
        }
    }
    for k in &record.list_keys {
        let held = if k.protocol == Protocol::Smime.as_str() {
            &secrets.smime_list_key
        } else {
            &secrets.openpgp_list_key
        };
        if held.is_none() {
            return Err(OwnerError::Refused(format!(
                "the secret part of {}'s {} key is not in this keychain, and a bundle without it cannot run the list: unlock the keychain that holds it; nothing was written",
                record.address, k.protocol
            )));
        }
    }
    let summary = summary(&record, &secrets);
    let contents = Contents {
        format: FORMAT,
        made_by: format!("Conclave {}", env!("CARGO_PKG_VERSION")),
        made_at: crate::store::now(),
        list: record,
        secrets,
    };
    let json = Sensitive::new(serde_json::to_vec(&contents).map_err(|e| {
        OwnerError::Refused(format!("cannot write the bundle: {e}; nothing was written"))
    })?);
    drop(contents);
    let passphrase = passphrase.clone();
    let to = to.to_path_buf();
    crate::post::blocking(move || {
        let sealed = passphrase::seal(json.expose(), &passphrase).map_err(|e| {
            OwnerError::Refused(format!("cannot seal the bundle: {e}; nothing was written"))
        })?;
        write_private(&to, &sealed).map_err(|e| {
            OwnerError::Refused(format!(
                "cannot write {}: {e}; choose another place (nothing was written)",
                to.display()
            ))
        })
    })
    .await?;
    Ok(summary)
}

fn summary(record: &ListRecord, secrets: &Secrets) -> BundleSummary {
    BundleSummary {
        list: record.address.clone(),
        members: record.members.len(),
        list_keys: record
            .list_keys
            .iter()
            .map(|k| k.protocol.clone())
            .collect(),
        with_passwords: secrets.imap_password.is_some() || secrets.smtp_password.is_some(),
    }
}

/// Writes beside the target and renames, so a bundle is never half there;
/// only the owner may read it (it holds the list's secret keys, sealed).
fn write_private(to: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = to
        .file_name()
        .ok_or_else(|| std::io::Error::other("that is a folder, not a file name"))?;
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
    result
}

/// Opens the bundle `bytes` and makes its list here: the secrets in this
/// machine's keychain, the rest in the store. Refused, with nothing
/// written, when the passphrase is wrong, a byte was changed, the list
/// exists here already, or a secret key does not match its list's key.
pub async fn import(
    data_dir: &Path,
    bytes: &[u8],
    passphrase: &Sensitive<String>,
) -> Result<BundleSummary, OwnerError> {
    let (sealed, pass) = (bytes.to_vec(), passphrase.clone());
    let json = crate::post::blocking(move || {
        passphrase::open(&sealed, &pass).map_err(|e| match e {
            Unsealed::WrongPassphrase => OwnerError::Refused(
                "the passphrase does not open this bundle: check it and try again; nothing was imported"
                    .into(),
            ),
            Unsealed::Damaged(why) => OwnerError::Refused(format!(
                "this file is not a Conclave bundle, or it was damaged or changed after it was made ({why}): ask for a new copy; nothing was imported"
            )),
        })
    })
    .await?;
    let contents: Contents = serde_json::from_slice(&json).map_err(|e| {
        OwnerError::Refused(format!(
            "the bundle opened but its contents are not what Conclave writes ({e}); nothing was imported"
        ))
    })?;
    if contents.format > FORMAT {
        return Err(OwnerError::Refused(format!(
            "the bundle was made by a newer Conclave ({}): update Conclave, then import it; nothing was imported",
            contents.made_by
        )));
    }
    check_secret_keys(&contents)?;
    let address = contents.list.address.clone();
    let (dir, wanted) = (data_dir.to_path_buf(), address.clone());
    let exists = crate::post::blocking(move || {
        Ok::<_, OwnerError>(Store::open(&dir)?.list(&wanted).is_ok())
    })
    .await?;
    if exists {
        return Err(OwnerError::Refused(format!(
            "{address} is a list on this laptop already: remove it here first (Policy → Remove this list from this laptop, or `conclave-cli list forget`), or import into another data folder; nothing was imported"
        )));
    }
    let _working = crate::agent::lock(data_dir)?;
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
    let made = crate::post::blocking(move || Store::open(&dir)?.restore_list(&record)).await;
    if let Err(e) = made {
        forget_all(&address, &kept).await;
        return Err(e.into());
    }
    Ok(summary(&contents.list, &contents.secrets))
}

async fn forget_all(address: &str, kinds: &[SecretKind]) {
    for kind in kinds {
        let _ = secrets::forget(address, *kind).await;
    }
}

/// Each list key's secret part belongs to it: a bundle put together by
/// hand from two lists must not make a list that signs with a stranger's
/// key.
fn check_secret_keys(contents: &Contents) -> Result<(), OwnerError> {
    use crate::crypto::{openpgp, smime};
    let refuse = |protocol: &str, why: String| {
        OwnerError::Refused(format!(
            "the bundle's {protocol} secret key does not belong to {}'s {protocol} key ({why}); nothing was imported",
            contents.list.address
        ))
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
        let e = export(
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
