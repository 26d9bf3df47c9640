//! The list's backup in its own mailbox, as an owner turns it on and
//! brings a list back from it ([`crate::backup`]).

use std::path::Path;

use super::OwnerError;
use crate::backup;
use crate::bundle::BundleSummary;
use crate::model::{Endpoint, List};
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::Store;

/// Whether a list is backed up into its mailbox, and the newest backup.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct BackupState {
    /// A recovery passphrase is kept: each run after a change backs up.
    pub on: bool,
    /// When the newest backup went into the mailbox (RFC 3339, UTC).
    pub last: Option<String>,
}

pub async fn state(data_dir: &Path, address: &str) -> Result<BackupState, OwnerError> {
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    let (list, last) = crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.list(&wanted)?;
        let last = store.last_backup(&list)?;
        Ok::<_, crate::store::StoreError>((list, last))
    })
    .await?;
    let on = match secrets::load(&list.address, SecretKind::RecoveryPassphrase).await {
        Ok(_) => true,
        Err(SecretError::Missing(_)) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(BackupState {
        on,
        last: last.and_then(|(_, at)| {
            chrono::DateTime::from_timestamp(at, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }),
    })
}

/// Turns on backups into the list's mailbox, sealed with `passphrase`, or
/// with a new one Conclave makes when `None`; returns the list and the
/// passphrase, for the owner to write down (it is shown this once).
pub async fn set_recovery(
    data_dir: &Path,
    address: &str,
    passphrase: Option<Sensitive<String>>,
) -> Result<(List, Sensitive<String>), OwnerError> {
    let passphrase = passphrase.unwrap_or_else(backup::new_recovery_passphrase);
    let list = backup::set_recovery(data_dir, address, &passphrase).await?;
    Ok((list, passphrase))
}

/// Brings the list `address` back from its mailbox (see
/// [`backup::restore`]).
pub async fn restore(
    data_dir: &Path,
    address: &str,
    imap: &Endpoint,
    ca_pem: Option<&str>,
    passwords: (Sensitive<String>, Sensitive<String>),
    recovery: &Sensitive<String>,
) -> Result<BundleSummary, OwnerError> {
    Ok(backup::restore(data_dir, address, imap, ca_pem, passwords, recovery).await?)
}
