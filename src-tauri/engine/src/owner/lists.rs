//! Lists as an owner makes and keeps them: created, bound to a mail account
//! (both logins tried, the passwords in the keychain before anything is
//! saved), their settings, paused and resumed, shown, and removed from
//! this laptop.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::model::{Account, List, Protocol};
use crate::secrets::{self, SecretKind, Sensitive};
use crate::store::{ListSummary, Store};
use crate::transport;

use super::OwnerError;

pub fn create(
    store: &Store,
    address: &str,
    name: &str,
    protocol: Protocol,
) -> Result<List, OwnerError> {
    Ok(store.create_list(address, name, protocol)?)
}

/// Binds the list to its mail account. Unless `check` is off, both logins
/// are tried first; the passwords go to the keychain before the account is
/// saved, so an unreachable keychain saves nothing at all.
pub async fn set_account(
    store: &Store,
    address: &str,
    account: &Account,
    imap_password: Sensitive<String>,
    smtp_password: Sensitive<String>,
    check: bool,
) -> Result<List, OwnerError> {
    let list = store.list(address)?;
    if let Some(pem) = &account.ca_pem {
        transport::parse_ca_pem(pem)?;
    }
    if check {
        transport::check_account(account, imap_password.expose(), smtp_password.expose())
            .await
            .into_result()?;
    }
    secrets::store(&list.address, SecretKind::ImapPassword, imap_password).await?;
    secrets::store(&list.address, SecretKind::SmtpPassword, smtp_password).await?;
    store.set_account(&list.address, account)?;
    Ok(list)
}

/// Logs in to both of the list's servers with the passwords in the
/// keychain; the first failure is the error.
pub async fn check(store: &Store, address: &str) -> Result<List, OwnerError> {
    let list = store.list(address)?;
    let account = store.account(&list)?;
    let imap = secrets::load(&list.address, SecretKind::ImapPassword).await?;
    let smtp = secrets::load(&list.address, SecretKind::SmtpPassword).await?;
    transport::check_account(&account, imap.expose(), smtp.expose())
        .await
        .into_result()?;
    Ok(list)
}

/// Changes one setting (or the list's name); logged.
pub fn set(store: &Store, address: &str, key: &str, value: &str) -> Result<List, OwnerError> {
    Ok(store.set_setting(address, key, value)?)
}

/// Changes several settings at once, or none of them when one is refused
/// (each refusal with its reason).
pub fn set_many(
    store: &Store,
    address: &str,
    changes: &[(String, String)],
) -> Result<List, OwnerError> {
    Ok(store.set_settings(address, changes)?)
}

pub fn set_paused(store: &Store, address: &str, paused: bool) -> Result<(), OwnerError> {
    Ok(store.set_paused(address, paused)?)
}

/// Every list's line in an overview.
/// How many days ahead an owner hears that a list key ends: members'
/// clients need the renewed key before, and renewal may need an authority.
pub const LIST_KEY_WARNING_DAYS: i64 = 60;

pub fn summaries(store: &Store) -> Result<Vec<ListSummary>, OwnerError> {
    let now = std::time::SystemTime::now();
    let soon = chrono::Utc::now() + chrono::Duration::days(LIST_KEY_WARNING_DAYS);
    let mut out = store.list_summaries()?;
    for summary in &mut out {
        let list = store.list(&summary.address)?;
        for protocol in [Protocol::Openpgp, Protocol::Smime] {
            let Some(stored) = store.list_key(&list, protocol)? else {
                continue;
            };
            let Some(ends) = crate::list_key::describe(protocol, &stored, now)
                .ok()
                .and_then(|v| v.expires)
            else {
                continue;
            };
            let Ok(at) = chrono::DateTime::parse_from_rfc3339(&ends) else {
                continue;
            };
            let earlier = summary
                .list_key_ends
                .as_deref()
                .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                .is_none_or(|e| at < e);
            if at <= soon && earlier {
                summary.list_key_ends = Some(ends);
            }
        }
    }
    Ok(out)
}

/// A list whole, as `list show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ListView {
    pub summary: ListSummary,
    /// Every setting by its CLI key.
    pub settings: BTreeMap<&'static str, String>,
    pub list_id: String,
    /// `None` before the list has a mail account.
    pub account: Option<Account>,
}

/// One list (or every list) whole.
pub fn show(store: &Store, address: Option<&str>) -> Result<Vec<ListView>, OwnerError> {
    let wanted = address.map(|a| store.list(a)).transpose()?;
    let mut out = Vec::new();
    for summary in summaries(store)? {
        if wanted
            .as_ref()
            .is_some_and(|l| !l.address.eq_ignore_ascii_case(&summary.address))
        {
            continue;
        }
        let list = store.list(&summary.address)?;
        out.push(ListView {
            settings: list.settings.pairs().into_iter().collect(),
            list_id: list.list_id(),
            account: store.account(&list).ok(),
            summary,
        });
    }
    Ok(out)
}

/// Removes a list from this laptop, once the owner has typed its address
/// (`typed`) to confirm: its secrets in the keychain first, so that none
/// outlives it, then all the store keeps of it. No agent may be working on
/// the data folder meanwhile. The mailbox at the provider, and the mail in
/// it, stay as they are.
pub async fn forget(data_dir: &Path, address: &str, typed: &str) -> Result<(), OwnerError> {
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    let list = crate::post::blocking(move || Store::open(&dir)?.list(&wanted)).await?;
    if !typed.trim().eq_ignore_ascii_case(&list.address) {
        return Err(OwnerError::Refused(format!(
            "to remove {} from this laptop, type its address exactly; nothing was removed",
            list.address
        )));
    }
    let _working = crate::agent::lock(data_dir)?;
    for kind in [
        SecretKind::ImapPassword,
        SecretKind::SmtpPassword,
        SecretKind::OpenPgpListKey,
        SecretKind::SmimeListKey,
        SecretKind::RecoveryPassphrase,
        SecretKind::SyncSecret,
    ] {
        secrets::forget(&list.address, kind).await?;
    }
    let dir = data_dir.to_path_buf();
    crate::post::blocking(move || Store::open(&dir)?.delete_list(&list)).await?;
    Ok(())
}
