//! Secrets live in the OS keychain (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows) and nowhere else: not in SQLite,
//! not in a file, not in a log. Without a keychain Conclave refuses to store
//! a password rather than fall back to plaintext.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

#[cfg(target_os = "linux")]
mod session;
#[cfg(target_os = "linux")]
use session::KeychainSession;

/// Every item Conclave stores is under this service name.
pub const SERVICE: &str = "org.conclave.app";

/// A secret held in memory: never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }
    /// The secret itself, for the one call that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no keychain is reachable ({0}). Conclave keeps passwords only in the system keychain: on Linux start and unlock a Secret Service (GNOME Keyring, KWallet or KeePassXC with Secret Service on) in your desktop session, then try again"
    )]
    Unavailable(String),
    #[error(
        "the keychain refused access ({0}): unlock it and allow Conclave to use it, then try again"
    )]
    Locked(String),
    #[error(
        "the keychain failed ({0}); try again, and if it repeats, restart the keychain service"
    )]
    Failed(String),
    #[error("no password is stored for {0}: set it with `conclave-cli list account`")]
    Missing(String),
}

/// Which secret of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ImapPassword,
    SmtpPassword,
    /// The list's OpenPGP secret key, armored.
    OpenPgpListKey,
    /// The list's S/MIME private key, PKCS#8 PEM.
    SmimeListKey,
    /// What seals the list's backups in its mailbox; the owner wrote it
    /// down when it was made.
    RecoveryPassphrase,
    /// What seals the changes two laptops running the list send each
    /// other; made when the list is first handed over, carried in bundles.
    SyncSecret,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::ImapPassword => "imap-password",
            SecretKind::SmtpPassword => "smtp-password",
            SecretKind::OpenPgpListKey => "openpgp-secret-key",
            SecretKind::SmimeListKey => "smime-private-key",
            SecretKind::RecoveryPassphrase => "recovery-passphrase",
            SecretKind::SyncSecret => "sync-secret",
        }
    }
}

fn user(list_address: &str, kind: SecretKind) -> String {
    format!("{}/{}", list_address.to_ascii_lowercase(), kind.label())
}

fn map_err(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::PlatformFailure(inner) => SecretError::Unavailable(inner.to_string()),
        keyring::Error::NoStorageAccess(inner) => SecretError::Locked(inner.to_string()),
        other => SecretError::Failed(other.to_string()),
    }
}

fn entry(list_address: &str, kind: SecretKind) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, &user(list_address, kind)).map_err(map_err)
}

/// Blocking keychain calls (D-Bus round trips) run off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SecretError::Failed(e.to_string()))?
}

pub async fn store(
    list_address: &str,
    kind: SecretKind,
    secret: Sensitive<String>,
) -> Result<(), SecretError> {
    if all_in_memory() {
        kept_secrets().insert(user(list_address, kind), secret);
        return Ok(());
    }
    read_ahead_map().remove(&user(list_address, kind));
    let address = list_address.to_string();
    blocking(move || {
        let e = entry(&address, kind)?;
        e.set_password(secret.expose()).map_err(map_err)?;
        // Read back: some keychains accept a write they cannot keep.
        match e.get_password() {
            Ok(back) if back == *secret.expose() => Ok(()),
            Ok(_) => Err(SecretError::Failed(
                "the keychain did not keep the password".into(),
            )),
            Err(err) => Err(map_err(err)),
        }
    })
    .await
}

/// The secret, or `Missing` when none is stored.
pub async fn load(list_address: &str, kind: SecretKind) -> Result<Sensitive<String>, SecretError> {
    if all_in_memory() {
        return kept_secrets()
            .get(&user(list_address, kind))
            .cloned()
            .ok_or_else(|| SecretError::Missing(format!("{} of {list_address}", kind.label())));
    }
    if let Some((_, secret)) = read_ahead_map().get(&user(list_address, kind)) {
        return Ok(secret.clone());
    }
    let address = list_address.to_string();
    blocking(move || match entry(&address, kind)?.get_password() {
        Ok(p) => Ok(Sensitive::new(p)),
        Err(keyring::Error::NoEntry) => Err(SecretError::Missing(format!(
            "{} of {address}",
            kind.label()
        ))),
        Err(e) => Err(map_err(e)),
    })
    .await
}

/// Removes a secret; removing one that is not there is no error.
pub async fn forget(list_address: &str, kind: SecretKind) -> Result<(), SecretError> {
    if all_in_memory() {
        kept_secrets().remove(&user(list_address, kind));
        return Ok(());
    }
    read_ahead_map().remove(&user(list_address, kind));
    let address = list_address.to_string();
    blocking(move || match entry(&address, kind)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    })
    .await
}

/// The secrets runs read ahead ([`read_ahead`]), by keychain user name,
/// each with the read-ahead it belongs to.
type ReadAheadMap = HashMap<String, (u64, Sensitive<String>)>;

fn read_ahead_map() -> std::sync::MutexGuard<'static, ReadAheadMap> {
    static READ: OnceLock<Mutex<ReadAheadMap>> = OnceLock::new();
    READ.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// What a run read ahead; forgotten when this is dropped, at the run's end.
#[must_use = "the secrets read ahead are forgotten when this is dropped"]
pub struct ReadAhead {
    id: u64,
    read: usize,
    through_session_ahead: bool,
}

impl ReadAhead {
    /// Nothing read ahead: every secret is read when asked for.
    pub fn nothing() -> ReadAhead {
        ReadAhead {
            id: 0,
            read: 0,
            through_session_ahead: false,
        }
    }

    /// How many secrets were read ahead.
    pub fn read(&self) -> usize {
        self.read
    }

    /// Whether they were read through a session [`open_session_ahead`]
    /// opened, rather than one opened when they were asked for.
    pub fn through_session_ahead(&self) -> bool {
        self.through_session_ahead
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        if self.read > 0 {
            read_ahead_map().retain(|_, (id, _)| *id != self.id);
        }
    }
}

/// Reads `kinds` of each of `lists` from the keychain in one go, for
/// [`load`] to give until the returned guard is dropped. A run needs the
/// lists' passwords and keys, and each read on its own is a keychain
/// session: on Linux a D-Bus connection and a Diffie-Hellman exchange with
/// the Secret Service, several milliseconds each, before the first login.
/// Here they share one session. A secret that is not read ahead (absent,
/// locked, not text, or a keychain without sessions) is read as before
/// when asked for, so that what happens then (a prompt to unlock, an
/// error) is unchanged. A secret stored or forgotten meanwhile is read
/// afresh.
pub async fn read_ahead(lists: &[String], kinds: &[SecretKind]) -> ReadAhead {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    if all_in_memory() {
        return ReadAhead::nothing();
    }
    let users: Vec<String> = lists
        .iter()
        .flat_map(|list| kinds.iter().map(move |kind| user(list, *kind)))
        .collect();
    if users.is_empty() {
        return ReadAhead::nothing();
    }
    let (read, through_session_ahead) = blocking(move || Ok(read_in_one_session(&users)))
        .await
        .unwrap_or_default();
    let ahead = ReadAhead {
        id: NEXT.fetch_add(1, Ordering::Relaxed),
        read: read.len(),
        through_session_ahead,
    };
    read_ahead_map().extend(read.into_iter().map(|(u, s)| (u, (ahead.id, s))));
    ahead
}

/// A Secret Service session opened ahead of the reads that use it: still
/// opening on a thread of its own, or open and already used once in this
/// run (for the database's key).
#[cfg(target_os = "linux")]
enum Ahead {
    Opening(std::thread::JoinHandle<Option<KeychainSession>>),
    Open(KeychainSession),
}

#[cfg(target_os = "linux")]
fn session_ahead() -> std::sync::MutexGuard<'static, Option<Ahead>> {
    static AHEAD: OnceLock<Mutex<Option<Ahead>>> = OnceLock::new();
    AHEAD
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The session opened ahead, once it is open; `None` when there is none
/// or it could not open.
#[cfg(target_os = "linux")]
fn take_session_ahead() -> Option<KeychainSession> {
    let ahead = session_ahead().take()?;
    match ahead {
        Ahead::Opening(opening) => opening.join().ok().flatten(),
        Ahead::Open(service) => Some(service),
    }
}

/// `user`'s secret through the session opened ahead, which then stays for
/// the run's other secrets ([`read_ahead`]); `None` when there is no such
/// session or it does not find the secret, unlocked and unambiguous.
#[cfg(target_os = "linux")]
fn read_through_session_ahead(user: &str) -> Option<Sensitive<String>> {
    let service = take_session_ahead()?;
    let mut found = read_through(&service, &[user.to_string()]).ok()?;
    let mut ahead = session_ahead();
    if ahead.is_none() {
        *ahead = Some(Ahead::Open(service));
    }
    found.remove(user)
}

#[cfg(not(target_os = "linux"))]
fn read_through_session_ahead(_user: &str) -> Option<Sensitive<String>> {
    None
}

/// Starts opening the keychain session that the next [`read_ahead`] reads
/// through, so that its D-Bus connection and key exchange (several
/// milliseconds) happen beside other work: the database opening at a
/// run's start, or the wait for mail between the tray's runs. The session
/// holds no secret, only the key that carries them. Does nothing when one
/// is already opening, or when the secrets are kept in memory.
pub fn open_session_ahead() {
    #[cfg(target_os = "linux")]
    if !all_in_memory() {
        let mut ahead = session_ahead();
        if ahead.is_none() {
            *ahead = std::thread::Builder::new()
                .name("keychain-session".into())
                .spawn(|| KeychainSession::open().ok())
                .ok()
                .map(Ahead::Opening);
        }
    }
}

/// The secrets of these keychain users that one Secret Service session
/// finds, and whether that session was opened ahead. A session opened
/// ahead that fails (the service restarted meanwhile) gives way to a new
/// one.
#[cfg(target_os = "linux")]
fn read_in_one_session(users: &[String]) -> (HashMap<String, Sensitive<String>>, bool) {
    if let Some(service) = take_session_ahead()
        && let Ok(found) = read_through(&service, users)
    {
        return (found, true);
    }
    let found = KeychainSession::open()
        .ok()
        .and_then(|service| read_through(&service, users).ok())
        .unwrap_or_default();
    (found, false)
}

/// What `service` finds of these users' secrets, unlocked and unambiguous,
/// as the keychain crate would find them (its items carry the service, the
/// user name and the target "default"): searched one by one, then read in
/// one call. A search that fails is an error; an item that cannot be read
/// is left to be read when asked for.
#[cfg(target_os = "linux")]
fn read_through(
    service: &KeychainSession,
    users: &[String],
) -> Result<HashMap<String, Sensitive<String>>, session::SessionError> {
    let mut items = Vec::new();
    for user in users {
        let attributes = HashMap::from([
            ("service", SERVICE),
            ("username", user.as_str()),
            ("target", "default"),
        ]);
        let found = service.search(attributes)?;
        if let ([item], []) = (found.unlocked.as_slice(), found.locked.as_slice()) {
            items.push((user, item.clone()));
        }
    }
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let paths: Vec<_> = items.iter().map(|(_, item)| item.clone()).collect();
    let mut secrets = service.secrets(&paths).unwrap_or_default();
    Ok(items
        .into_iter()
        .filter_map(|(user, item)| {
            let text = String::from_utf8(secrets.remove(&item)?).ok()?;
            Some((user.clone(), Sensitive::new(text)))
        })
        .collect())
}

/// Elsewhere the keychain has no sessions to share: each secret is read
/// when asked for.
#[cfg(not(target_os = "linux"))]
fn read_in_one_session(_users: &[String]) -> (HashMap<String, Sensitive<String>>, bool) {
    (HashMap::new(), false)
}

/// A code for people to copy by hand (a recovery passphrase, an
/// invitation's code): 25 characters from an alphabet without look-alikes
/// (about 125 bits), in five groups of five.
pub fn new_code() -> Sensitive<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 25];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    Sensitive::new(
        chars
            .chunks(5)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// The keychain item of the key that opens one data folder's database.
fn database_user(id: &str) -> String {
    format!("database/{id}")
}

static IN_MEMORY: AtomicBool = AtomicBool::new(false);

/// Database keys read or made in this process, so that the window, which
/// opens the store for each request, asks the keychain only once.
fn known_keys() -> &'static Mutex<HashMap<String, Sensitive<String>>> {
    static KEYS: OnceLock<Mutex<HashMap<String, Sensitive<String>>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// From now on this process keeps the keys of the databases it makes in
/// memory only, never in the keychain: for tests, fuzzing and a demo,
/// whose data must not outlive the process. A database made so cannot be
/// opened by any other process.
pub fn keep_database_keys_in_memory() {
    IN_MEMORY.store(true, Ordering::SeqCst);
}

fn in_memory() -> bool {
    cfg!(test) || IN_MEMORY.load(Ordering::SeqCst)
}

static ALL_IN_MEMORY: AtomicBool = AtomicBool::new(false);

/// The lists' secrets (passwords, secret keys, recovery passphrases) that
/// [`keep_secrets_in_memory`] keeps instead of the keychain.
fn kept_secrets() -> std::sync::MutexGuard<'static, HashMap<String, Sensitive<String>>> {
    static KEPT: OnceLock<Mutex<HashMap<String, Sensitive<String>>>> = OnceLock::new();
    KEPT.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// From now on this process keeps every secret in memory and never touches
/// the keychain: the databases' keys (as [`keep_database_keys_in_memory`])
/// and the lists' passwords and secret keys. For the demo, which must leave
/// nothing behind when it ends and must never mix with the owner's real
/// lists. There is no way back: a process that holds a demo stays one.
pub fn keep_secrets_in_memory() {
    keep_database_keys_in_memory();
    ALL_IN_MEMORY.store(true, Ordering::SeqCst);
}

/// Whether [`keep_secrets_in_memory`] was called in this process.
pub fn all_in_memory() -> bool {
    ALL_IN_MEMORY.load(Ordering::SeqCst)
}

/// The key (hex) that opens the database of the data folder `id`, or
/// `None` when there is none. Blocking: call it off the async threads.
pub(crate) fn database_key(id: &str) -> Result<Option<Sensitive<String>>, SecretError> {
    let user = database_user(id);
    let mut known = known_keys().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(key) = known.get(&user) {
        return Ok(Some(key.clone()));
    }
    if in_memory() {
        return Ok(None);
    }
    // A run opens the database while its keychain session opens: the key
    // is read through that session when it can be.
    if let Some(key) = read_through_session_ahead(&user) {
        known.insert(user, key.clone());
        return Ok(Some(key));
    }
    let entry = keyring::Entry::new(SERVICE, &user).map_err(map_err)?;
    match entry.get_password() {
        Ok(key) => {
            let key = Sensitive::new(key);
            known.insert(user, key.clone());
            Ok(Some(key))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_err(e)),
    }
}

/// Keeps a new database key, read back to be sure the keychain holds it
/// before anything is encrypted with it. Blocking.
pub(crate) fn keep_database_key(id: &str, key: &Sensitive<String>) -> Result<(), SecretError> {
    let user = database_user(id);
    if !in_memory() {
        let entry = keyring::Entry::new(SERVICE, &user).map_err(map_err)?;
        entry.set_password(key.expose()).map_err(map_err)?;
        match entry.get_password() {
            Ok(back) if back == *key.expose() => {}
            Ok(_) => {
                return Err(SecretError::Failed(
                    "the keychain did not keep the database key".into(),
                ));
            }
            Err(e) => return Err(map_err(e)),
        }
    }
    known_keys()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(user, key.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_do_not_print() {
        let s = Sensitive::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    /// On the keychain the tests run with (tests/with-keychain.sh).
    #[tokio::test]
    async fn a_runs_secrets_are_read_in_one_go_and_forgotten_after() {
        let list = format!("read-ahead-{}@example.org", std::process::id());
        let secret = |s: &str| Sensitive::new(s.to_string());
        store(&list, SecretKind::ImapPassword, secret("imap"))
            .await
            .unwrap();
        store(&list, SecretKind::SmtpPassword, secret("smtp"))
            .await
            .unwrap();
        let kinds = [
            SecretKind::ImapPassword,
            SecretKind::SmtpPassword,
            SecretKind::OpenPgpListKey,
        ];
        // Through the session opened ahead (beside the database's opening,
        // in a run), which the database's key is read through first.
        open_session_ahead();
        let imap = user(&list, SecretKind::ImapPassword);
        let read = blocking(move || Ok(read_through_session_ahead(&imap)))
            .await
            .unwrap();
        assert_eq!(read.as_ref().map(|s| s.expose().as_str()), Some("imap"));
        let ahead = read_ahead(std::slice::from_ref(&list), &kinds).await;
        assert_eq!(ahead.read(), 2, "both passwords; there is no key");
        assert!(ahead.through_session_ahead());
        // Given from what was read: the keychain's item is gone behind its
        // back.
        entry(&list, SecretKind::ImapPassword)
            .unwrap()
            .delete_credential()
            .unwrap();
        assert_eq!(
            load(&list, SecretKind::ImapPassword)
                .await
                .unwrap()
                .expose(),
            "imap"
        );
        // One stored meanwhile is read afresh.
        store(&list, SecretKind::SmtpPassword, secret("changed"))
            .await
            .unwrap();
        assert_eq!(
            load(&list, SecretKind::SmtpPassword)
                .await
                .unwrap()
                .expose(),
            "changed"
        );
        assert!(matches!(
            load(&list, SecretKind::OpenPgpListKey).await,
            Err(SecretError::Missing(_))
        ));
        drop(ahead);
        assert!(
            matches!(
                load(&list, SecretKind::ImapPassword).await,
                Err(SecretError::Missing(_))
            ),
            "forgotten once the run is over"
        );
        // That session served one run: the next opens its own.
        let again = read_ahead(std::slice::from_ref(&list), &kinds).await;
        assert_eq!(again.read(), 1);
        assert!(!again.through_session_ahead());
        drop(again);
        forget(&list, SecretKind::SmtpPassword).await.unwrap();
    }

    #[test]
    fn each_list_and_kind_has_its_own_item() {
        assert_ne!(
            user("l@x.org", SecretKind::ImapPassword),
            user("l@x.org", SecretKind::SmtpPassword)
        );
        assert_eq!(
            user("L@X.org", SecretKind::ImapPassword),
            user("l@x.org", SecretKind::ImapPassword)
        );
    }
}
