//! The list's backup in its own mailbox: the one shared, always-on place a
//! list without a server has. Once the owner has a recovery passphrase,
//! every run after a change (members, keys, settings, the account) puts a
//! bundle sealed with it into the folder `Conclave/Backup` and keeps the
//! newest few; on a new laptop, the account's login and the recovery
//! passphrase bring the whole list back.

use std::path::Path;

use crate::bundle::{self, BundleError, BundleSummary, Contents, Secrets};
use crate::model::{Endpoint, List};
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::Store;
use crate::transport::imap::Mailbox;
use crate::transport::{Inbox, Servers, TransportError};

/// The folder in the list's mailbox that holds its backups.
pub const FOLDER: &str = "Conclave/Backup";
/// How many backups the folder keeps: a few, so that one made from a
/// mistake (a member removed by accident) is not the only one left.
pub const KEEP: usize = 5;
/// The header that marks a backup message.
const MARK: &str = "X-Conclave-Backup";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "there is no Conclave backup in this mailbox (folder {FOLDER}): was a recovery passphrase made for the list (`conclave-cli list recovery`)? Check the login, or restore from a bundle file instead"
    )]
    NoBackup,
    #[error(
        "the backup in this mailbox is of the list {found}, not {wanted}: check the address, or restore {found}"
    )]
    OtherList { found: String, wanted: String },
    #[error("the newest backup in the mailbox is not readable ({0}): nothing was restored")]
    Unreadable(String),
    #[error(
        "the list {0} was restored, but its passwords could not be kept ({1}): set them with `conclave-cli list account`"
    )]
    PasswordsNotKept(String, SecretError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A recovery passphrase Conclave makes ([`secrets::new_code`]).
pub fn new_recovery_passphrase() -> Sensitive<String> {
    secrets::new_code()
}

/// Keeps `passphrase` as the list's recovery passphrase; the next run
/// makes a backup with it, whatever changed.
pub async fn set_recovery(
    data_dir: &Path,
    address: &str,
    passphrase: &Sensitive<String>,
) -> Result<List, BackupError> {
    bundle::check_passphrase(passphrase)?;
    let (dir, wanted) = (data_dir.to_path_buf(), address.to_string());
    let list = crate::post::blocking(move || Store::open(&dir)?.list(&wanted)).await?;
    secrets::store(
        &list.address,
        SecretKind::RecoveryPassphrase,
        passphrase.clone(),
    )
    .await?;
    let (dir, forget) = (data_dir.to_path_buf(), list.clone());
    crate::post::blocking(move || Store::open(&dir)?.set_last_backup(&forget, None)).await?;
    Ok(list)
}

/// What a backup holds, as a digest: a new backup is made only when it
/// changes.
fn digest(record: &crate::store::ListRecord) -> String {
    crate::store::sha256_hex(&serde_json::to_vec(record).unwrap_or_default())
}

/// What the list holds now, when it changed since the last backup (or
/// since the keychain last said it has no recovery passphrase): a backup
/// is due. The store alone: a run with nothing changed asks the keychain
/// for nothing, and it is read while the run's posts are being filed.
pub(crate) async fn due(
    store: &crate::post::SharedStore,
    list: &List,
) -> Result<Option<Due>, BackupError> {
    let wanted = list.clone();
    let due = crate::post::with_store(store, move |s| {
        let (record, last) = (s.list_record(&wanted)?, s.backup_digest(&wanted)?);
        let digest = digest(&record);
        Ok::<_, crate::store::StoreError>(
            (last.as_deref() != Some(digest.as_str())).then_some(Due { record, digest }),
        )
    })
    .await?;
    Ok(due)
}

/// A list's content a backup is due for, from [`due`].
pub(crate) struct Due {
    record: crate::store::ListRecord,
    digest: String,
}

/// Puts a new backup of what `due` found into the list's mailbox;
/// `Ok(false)` when there is no recovery passphrase (noted, so that the
/// same content does not ask again; turning backups on clears the note).
pub(crate) async fn make<S: Servers>(
    store: &crate::post::SharedStore,
    list: &List,
    due: Due,
    mailbox: &mut S::Inbox,
    servers: &S,
) -> Result<bool, BackupError> {
    let Due { record, digest } = due;
    let passphrase = match servers
        .list_secret(list, SecretKind::RecoveryPassphrase)
        .await
    {
        Ok(p) => p,
        Err(SecretError::Missing(_)) => {
            let (list, digest) = (list.clone(), digest.clone());
            crate::post::with_store(store, move |s| s.note_no_backup(&list, &digest)).await?;
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    let mut secrets = Secrets::default();
    for k in &record.list_keys {
        let (kind, slot) = if k.protocol == crate::model::Protocol::Smime.as_str() {
            (SecretKind::SmimeListKey, &mut secrets.smime_list_key)
        } else {
            (SecretKind::OpenPgpListKey, &mut secrets.openpgp_list_key)
        };
        *slot = Some(servers.list_secret(list, kind).await?.expose().clone());
    }
    // A laptop restored from the backup runs beside this one only if it
    // can read this one's changes.
    secrets.sync_secret = match servers.list_secret(list, SecretKind::SyncSecret).await {
        Ok(s) => Some(s.expose().clone()),
        Err(SecretError::Missing(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let contents = Contents::new(record, secrets)?;
    let address = list.address.clone();
    let message = crate::post::blocking(move || {
        let sealed = bundle::seal(&contents, &passphrase)?;
        Ok::<_, BackupError>(message(&address, &sealed))
    })
    .await?;
    mailbox.keep_newest(FOLDER, &message, KEEP).await?;
    let done = list.clone();
    crate::post::with_store(store, move |s| {
        s.set_last_backup(&done, Some(&digest))?;
        s.log(
            done.id,
            None,
            crate::store::ActivityKind::Config,
            &format!(
                "backed up, sealed with the recovery passphrase, into the mailbox's folder {FOLDER}"
            ),
        )
    })
    .await?;
    Ok(true)
}

/// The backup as a message to the list itself, so any mail client shows
/// what it is and that it must stay.
fn message(list: &str, sealed: &[u8]) -> Vec<u8> {
    let boundary = format!("conclave-backup-{}", crate::store::now());
    let date = chrono::Utc::now().to_rfc2822();
    let file = format!("{list}.conclave");
    let body = base64_lines(sealed);
    format!(
        "From: <{list}>\r\nTo: <{list}>\r\nDate: {date}\r\n\
         Subject: Conclave backup of {list} (keep this)\r\n\
         {MARK}: 1\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         This is Conclave's backup of the list {list}: its settings, members and\r\n\
         keys, sealed with the list's recovery passphrase. Conclave keeps the\r\n\
         newest {KEEP} here. On a new laptop, \"Restore a list from its mailbox\"\r\n\
         (conclave-cli list restore) brings the list back with this account's\r\n\
         login and the recovery passphrase. Without the passphrase it cannot\r\n\
         be opened.\r\n\
         --{boundary}\r\nContent-Type: application/octet-stream; name=\"{file}\"\r\n\
         Content-Disposition: attachment; filename=\"{file}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--{boundary}--\r\n"
    )
    .into_bytes()
}

/// `bytes` in base64, in lines of 76 as MIME wants them.
pub(crate) fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(bytes);
    body.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The sealed bundle inside a backup message.
fn sealed_part(raw: &[u8]) -> Result<Vec<u8>, BackupError> {
    let parsed = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| BackupError::Unreadable("not a mail message".into()))?;
    if parsed.header(MARK).is_none() {
        return Err(BackupError::Unreadable(format!("no {MARK} header")));
    }
    parsed
        .attachments()
        .next()
        .map(|a| a.contents().to_vec())
        .ok_or_else(|| BackupError::Unreadable("no sealed file in it".into()))
}

/// Brings the list `address` back from the newest backup in its mailbox:
/// logs in to `imap` with the passwords' first, opens the backup with the
/// recovery passphrase, and makes the list here (secrets in this keychain,
/// the rest in the store), or nothing. The passwords and the passphrase
/// are kept, so the list runs and goes on backing up.
pub async fn restore(
    data_dir: &Path,
    address: &str,
    imap: &Endpoint,
    ca_pem: Option<&str>,
    passwords: (Sensitive<String>, Sensitive<String>),
    recovery: &Sensitive<String>,
) -> Result<BundleSummary, BackupError> {
    let mut mailbox = Mailbox::connect(imap, ca_pem, passwords.0.expose()).await?;
    let newest = mailbox.newest_in(FOLDER).await;
    mailbox.logout().await;
    let raw = newest?.ok_or(BackupError::NoBackup)?;
    let sealed = sealed_part(&raw)?;
    let pass = recovery.clone();
    let contents = crate::post::blocking(move || bundle::open(&sealed, &pass)).await?;
    if !contents.list.address.eq_ignore_ascii_case(address) {
        return Err(BackupError::OtherList {
            found: contents.list.address.clone(),
            wanted: address.to_string(),
        });
    }
    let _working = crate::agent::lock(data_dir).map_err(|e| {
        BackupError::Unreadable(format!(
            "another Conclave is working on this data folder: {e}"
        ))
    })?;
    bundle::make_list(data_dir, &contents).await?;
    let list = contents.list.address.clone();
    for (kind, value) in [
        (SecretKind::ImapPassword, &passwords.0),
        (SecretKind::SmtpPassword, &passwords.1),
        (SecretKind::RecoveryPassphrase, recovery),
    ] {
        secrets::store(&list, kind, value.clone())
            .await
            .map_err(|e| BackupError::PasswordsNotKept(list.clone(), e))?;
    }
    // What was restored is what the newest backup holds: no new one is
    // needed until something changes.
    let (dir, digest) = (data_dir.to_path_buf(), digest(&contents.list));
    crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.list(&list)?;
        store.set_last_backup(&list, Some(&digest))
    })
    .await?;
    Ok(contents.summary())
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub fn sealed_part(raw: &[u8]) -> Vec<u8> {
        super::sealed_part(raw).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_passphrase_is_long_random_and_easy_to_copy() {
        let (a, b) = (new_recovery_passphrase(), new_recovery_passphrase());
        assert_ne!(a.expose(), b.expose());
        let groups: Vec<&str> = a.expose().split('-').collect();
        assert_eq!(groups.len(), 5);
        assert!(groups.iter().all(|g| g.len() == 5));
        assert!(!a.expose().contains(['l', '1', '0', 'o']));
    }

    #[test]
    fn the_sealed_file_comes_back_out_of_its_message() {
        let sealed: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let raw = message("l@example.org", &sealed);
        assert_eq!(sealed_part(&raw).unwrap(), sealed);
        let plain = b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
        assert!(matches!(
            sealed_part(plain),
            Err(BackupError::Unreadable(_))
        ));
    }
}
