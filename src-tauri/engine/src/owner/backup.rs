//! The list's backup in its own mailbox, as an owner turns it on and
//! brings a list back from it ([`crate::backup`]).

use std::path::Path;

use super::OwnerError;
use crate::backup;
use crate::bundle::BundleSummary;
use crate::model::{Endpoint, List};
use crate::secrets::Sensitive;

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
