//! Hand-over bundles, as an owner makes and opens them: one file that
//! carries a whole list to another laptop ([`crate::bundle`]).

use std::path::Path;

use super::OwnerError;
use crate::bundle::{self, BundleSummary};
use crate::secrets::Sensitive;
use crate::store::Store;

pub use crate::bundle::MAX_BUNDLE;

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
    bundle::check_passphrase(passphrase)?;
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    let record = crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.list(&wanted)?;
        store.list_record(&list)
    })
    .await?;
    let secrets = bundle::keychain_secrets(&record.address, with_passwords).await?;
    // The bundle carries the sync secret: a laptop made from it shares its
    // changes with this one.
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        store.start_sharing_changes(&store.list(&wanted)?)
    })
    .await?;
    let contents = bundle::Contents::new(record, secrets)?;
    let summary = contents.summary();
    let (passphrase, to) = (passphrase.clone(), to.to_path_buf());
    crate::post::blocking(move || {
        let sealed = bundle::seal(&contents, &passphrase)?;
        bundle::write_private(&to, &sealed)
    })
    .await?;
    Ok(summary)
}

/// Opens the bundle `bytes` and makes its list here: the secrets in this
/// machine's keychain, the rest in the store. Refused, with nothing
/// written, when the passphrase is wrong, a byte was changed, the list
/// exists here already, or a secret key does not belong to its list key.
pub async fn import(
    data_dir: &Path,
    bytes: &[u8],
    passphrase: &Sensitive<String>,
) -> Result<BundleSummary, OwnerError> {
    let (sealed, pass) = (bytes.to_vec(), passphrase.clone());
    let contents = crate::post::blocking(move || bundle::open(&sealed, &pass)).await?;
    let _working = crate::agent::lock(data_dir)?;
    bundle::make_list(data_dir, &contents).await?;
    Ok(contents.summary())
}
