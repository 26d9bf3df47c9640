//! The commands the window calls. Each opens the store for its own call
//! (a SQLite connection is not shared between threads) off the main thread.

use std::path::PathBuf;

use std::time::SystemTime;

use conclave_engine::crypto::openpgp::{KeyInfo, MemberKey};
use conclave_engine::model::{List, Protocol, Role};
use conclave_engine::store::{HeldPost, ListSummary, Resolution, Store, StoreError, StoredKey};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::watch::{AgentStatus, LISTS_CHANGED};

/// An error as the window receives it: `{code, message}`, the message in
/// words for the owner.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        // The held-post errors name CLI commands; the window says it in its
        // own words.
        let (code, message) = match &e {
            StoreError::NoSuchHeldPost { id, list } => (
                "held-not-found",
                format!("there is no held post {id} on {list} (resolved elsewhere?)"),
            ),
            StoreError::HeldPostResolved { id, how } => {
                ("held-resolved", format!("held post {id} was {how} already"))
            }
            StoreError::NotApprovable { id } => (
                "held-not-approvable",
                format!(
                    "held post {id} is an automated message (bounce or auto-reply) and is never sent to members: discard it"
                ),
            ),
            StoreError::NoSuchList(list) => (
                "list-not-found",
                format!("there is no list {list} any more (removed elsewhere?): close this view"),
            ),
            StoreError::NoSuchMember { list, email } => (
                "member-not-found",
                format!("{email} is not a member of {list} (removed elsewhere?)"),
            ),
            StoreError::MemberExists { list, email } => (
                "member-exists",
                format!("{email} is a member of {list} already: find them in the table"),
            ),
            StoreError::MemberKeyExists {
                email, fingerprint, ..
            } => (
                "member-key-exists",
                format!(
                    "{email} has a key already ({fingerprint}): use “Replace key” in their row to replace it"
                ),
            ),
            _ => ("store", e.to_string()),
        };
        CommandError { code, message }
    }
}

pub(crate) async fn with_store<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(move || f(&Store::open(&dir)?))
        .await
        .map_err(|e| CommandError {
            code: "internal",
            message: format!("the store call failed: {e}"),
        })?
        .map_err(CommandError::from)
}

/// The lists in the store, for the overview.
#[tauri::command]
pub async fn lists(shell: State<'_, Shell>) -> Result<Vec<ListSummary>, CommandError> {
    with_store(shell.data_dir.clone(), |store| store.list_summaries()).await
}

/// Pauses or resumes one list. Resuming checks its mailbox at once.
#[tauri::command]
pub async fn set_paused(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    paused: bool,
) -> Result<(), CommandError> {
    with_store(shell.data_dir.clone(), move |store| {
        store.set_paused(&address, paused)
    })
    .await?;
    if !paused {
        shell.watch.wake();
    }
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

/// Checks every list's mailbox now instead of at the next minute.
#[tauri::command]
pub fn check_now(shell: State<'_, Shell>) {
    shell.watch.wake();
}

/// Whether all lists are paused from the tray, and what stopped the last run.
#[tauri::command]
pub fn status(shell: State<'_, Shell>) -> AgentStatus {
    shell.status()
}

/// The posts of one list that wait for an owner, oldest first.
#[tauri::command]
pub async fn held_posts(
    shell: State<'_, Shell>,
    address: String,
) -> Result<Vec<HeldPost>, CommandError> {
    with_store(shell.data_dir.clone(), move |store| {
        store.held_posts(&store.list(&address)?)
    })
    .await
}

/// What the window asks for a held post: "approve", "reject" or "discard".
pub fn parse_action(action: &str) -> Result<Resolution, CommandError> {
    match action {
        "approve" => Ok(Resolution::Approve),
        "reject" => Ok(Resolution::Reject),
        "discard" => Ok(Resolution::Discard),
        other => Err(CommandError {
            code: "bad-action",
            message: format!("unknown action {other:?}: approve, reject or discard"),
        }),
    }
}

/// Approves, rejects or discards one held post, then wakes the agent so an
/// approved post or a rejection notice goes out at once.
#[tauri::command]
pub async fn resolve_held(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    id: i64,
    action: String,
) -> Result<(), CommandError> {
    let how = parse_action(&action)?;
    with_store(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        let held = store.held_posts(&list)?.into_iter().find(|h| h.id == id);
        let recipients = match &held {
            Some(h) => conclave_engine::agent::held_recipients(store, &list, h, how)?,
            None => vec![],
        };
        store.resolve_held(&list, id, how, &recipients).map(|_| ())
    })
    .await?;
    if how != Resolution::Discard {
        shell.watch.wake();
    }
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

// ---- Members -------------------------------------------------------------

/// One member as the members table shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MemberRow {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub own_posts: bool,
    /// The member's OpenPGP key, if they have one.
    pub key: Option<KeyInfo>,
    /// Whether that key can receive encrypted mail now (neither expired
    /// nor revoked since it was added).
    pub key_usable: bool,
}

/// A list's members, with what the table needs to know of the list.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MembersView {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    pub members: Vec<MemberRow>,
}

/// A user ID's name and address.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct UserAddress {
    pub name: String,
    pub email: String,
}

/// What saving a reviewed key would do.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAction {
    /// A new member with this key.
    Add,
    /// A member without a key gets this one.
    SetKey,
    /// A member's key is replaced (explicit, logged).
    Replace,
    /// The member has this very key already.
    Same,
    /// It cannot be saved: see the refusal.
    Refused,
}

/// One key of a key file, reviewed before anything is saved.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct KeyCandidate {
    pub key: KeyInfo,
    /// The user IDs that carry an address, the primary one first.
    pub addresses: Vec<UserAddress>,
    /// The member it is for: the one asked for, else its primary user ID's
    /// address. `None` when the key names no address at all.
    pub email: Option<String>,
    /// The name that goes with it (from the user ID).
    pub name: String,
    /// Whether one of the key's user IDs is `email`.
    pub matches: bool,
    /// Why it cannot be saved, in words; `None` when it can.
    pub refusal: Option<String>,
    pub action: KeyAction,
    /// The member's present key (grouped fingerprint), when they have one.
    pub current: Option<String>,
    /// The key itself (binary, public parts only), for saving it.
    pub cert: Vec<u8>,
}

fn key_error(message: String) -> CommandError {
    CommandError {
        code: "key-refused",
        message,
    }
}

fn openpgp_list(store: &Store, address: &str) -> Result<List, CommandError> {
    let list = store.list(address)?;
    match list.protocol {
        Protocol::Openpgp => Ok(list),
        other => Err(CommandError {
            code: "no-keys",
            message: format!(
                "{} is a {other} list: it keeps no OpenPGP keys for its members",
                list.address
            ),
        }),
    }
}

fn grouped(fingerprint: &str) -> String {
    fingerprint
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn member_row(
    store: &Store,
    list: &List,
    email: &str,
    now: SystemTime,
) -> Result<MemberRow, StoreError> {
    let m = store
        .member(list, email)?
        .ok_or_else(|| StoreError::NoSuchMember {
            list: list.address.clone(),
            email: email.into(),
        })?;
    let key = match store.member_key(list, &m.email, Protocol::Openpgp)? {
        Some(k) => MemberKey::from_stored(&k.cert).ok(),
        None => None,
    };
    Ok(MemberRow {
        key_usable: key.as_ref().is_some_and(|k| k.can_encrypt(now)),
        key: key.map(|k| k.info(now)),
        email: m.email,
        name: m.name,
        role: m.role,
        own_posts: m.own_posts,
    })
}

/// Reviews every key of a key file for `list`: what each is, who it would
/// be for, and whether it can be saved. `email` fixes the member (a key
/// for one member); without it each key goes to its own address.
pub fn review(
    store: &Store,
    list: &List,
    email: Option<&str>,
    bytes: &[u8],
    now: SystemTime,
) -> Result<Vec<KeyCandidate>, CommandError> {
    let certs = MemberKey::split(bytes).map_err(|e| key_error(capitalized(&e.to_string())))?;
    let mut out: Vec<KeyCandidate> = Vec::new();
    for cert in certs {
        let (key, addrs) =
            MemberKey::inspect(&cert, now).map_err(|e| key_error(capitalized(&e.to_string())))?;
        let addresses: Vec<UserAddress> = addrs
            .into_iter()
            .map(|(name, email)| UserAddress { name, email })
            .collect();
        let target = match email {
            Some(e) => Some(e.trim().to_string()),
            None => addresses.first().map(|a| a.email.clone()),
        };
        let name = target
            .as_ref()
            .and_then(|t| addresses.iter().find(|a| a.email.eq_ignore_ascii_case(t)))
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let matches = target
            .as_ref()
            .is_some_and(|t| addresses.iter().any(|a| a.email.eq_ignore_ascii_case(t)));
        let mut candidate = KeyCandidate {
            key,
            addresses,
            email: target.clone(),
            name,
            matches,
            refusal: None,
            action: KeyAction::Refused,
            current: None,
            cert,
        };
        let Some(target) = target else {
            candidate.refusal =
                Some("the key names no e-mail address, so it cannot be told whose it is".into());
            out.push(candidate);
            continue;
        };
        let existing = store.member(list, &target)?;
        if let Some(m) = &existing {
            candidate.email = Some(m.email.clone());
            candidate.current = store
                .member_key(list, &m.email, Protocol::Openpgp)?
                .map(|k| grouped(&k.fingerprint));
        }
        let same_fpr = candidate.key.fingerprint.replace(' ', "");
        let refusal = if let Err(e) = conclave_engine::model::check_address(&target) {
            Some(e)
        } else if target.eq_ignore_ascii_case(&list.address) {
            Some("this is the list's own address: the list cannot be its own member".into())
        } else if out.iter().any(|c| {
            c.refusal.is_none()
                && c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&target))
        }) {
            Some(format!(
                "an earlier key in this file is for {target} already: give one key per member"
            ))
        } else {
            MemberKey::check(&candidate.cert, &target, now)
                .err()
                .map(|e| e.to_string())
        };
        candidate.action = match (&refusal, &existing, &candidate.current) {
            (Some(_), _, _) => KeyAction::Refused,
            (None, None, _) => KeyAction::Add,
            (None, Some(_), None) => KeyAction::SetKey,
            (None, Some(_), Some(cur)) if cur.replace(' ', "") == same_fpr => KeyAction::Same,
            (None, Some(_), Some(_)) => KeyAction::Replace,
        };
        candidate.refusal = refusal.map(|r| capitalized(&r));
        out.push(candidate);
    }
    Ok(out)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn parse_role(role: &str) -> Result<Role, CommandError> {
    role.parse().map_err(|e: String| CommandError {
        code: "bad-role",
        message: e,
    })
}

/// The members of a list, with their keys, ordered by address.
#[tauri::command]
pub async fn members(
    shell: State<'_, Shell>,
    address: String,
) -> Result<MembersView, CommandError> {
    with_store(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        let now = SystemTime::now();
        let members = store
            .members(&list)?
            .iter()
            .map(|m| member_row(store, &list, &m.email, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MembersView {
            address: list.address,
            name: list.name,
            protocol: list.protocol,
            members,
        })
    })
    .await
}

/// What the keys in a file (or pasted text) are and what saving them would
/// do. Nothing is saved.
#[tauri::command]
pub async fn review_keys(
    shell: State<'_, Shell>,
    address: String,
    email: Option<String>,
    bytes: Vec<u8>,
) -> Result<Vec<KeyCandidate>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        let list = openpgp_list(store, &address)?;
        let email = email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        review(store, &list, email, &bytes, SystemTime::now())
    })
    .await
}

/// Adds one member, with a key when one is given. The key is checked before
/// anything is saved; a refused key adds nobody.
#[tauri::command]
pub async fn add_member(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    email: String,
    name: String,
    role: String,
    key: Option<Vec<u8>>,
) -> Result<MemberRow, CommandError> {
    let row = run(shell.data_dir.clone(), move |store| {
        let role = parse_role(&role)?;
        let now = SystemTime::now();
        let (list, key) = match key {
            Some(bytes) => {
                let list = openpgp_list(store, &address)?;
                let key = MemberKey::check(&bytes, &email, now)
                    .map_err(|e| key_error(format!("The key is refused: {e}")))?;
                (
                    list,
                    Some(StoredKey {
                        fingerprint: key.fingerprint(),
                        cert: key.to_bytes(),
                    }),
                )
            }
            None => (store.list(&address)?, None),
        };
        let m = store.add_member(&list, &email, &name, role)?;
        if let Some(key) = &key
            && let Err(e) = store.set_member_key(&list, &m.email, Protocol::Openpgp, key, false)
        {
            // Nothing half-added: a member whose key could not be saved goes.
            let _ = store.remove_member(&list, &m.email);
            return Err(e.into());
        }
        Ok(member_row(store, &list, &m.email, now)?)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(row)
}

/// Gives a member a key, or replaces theirs when `replace` is true (logged
/// with both fingerprints).
#[tauri::command]
pub async fn set_member_key(
    shell: State<'_, Shell>,
    address: String,
    email: String,
    key: Vec<u8>,
    replace: bool,
) -> Result<MemberRow, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        let list = openpgp_list(store, &address)?;
        let now = SystemTime::now();
        let key = MemberKey::check(&key, &email, now)
            .map_err(|e| key_error(format!("The key is refused: {e}")))?;
        let stored = StoredKey {
            fingerprint: key.fingerprint(),
            cert: key.to_bytes(),
        };
        store.set_member_key(&list, &email, Protocol::Openpgp, &stored, replace)?;
        Ok(member_row(store, &list, &email, now)?)
    })
    .await
}

/// Adds a member for each of the given keys of a key file (by fingerprint,
/// as the review listed them), all or none: every key is checked again
/// first; if one can no longer be added, or a write fails, nobody is added.
#[tauri::command]
pub async fn import_members(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    bytes: Vec<u8>,
    fingerprints: Vec<String>,
    role: String,
) -> Result<Vec<MemberRow>, CommandError> {
    let rows = run(shell.data_dir.clone(), move |store| {
        let role = parse_role(&role)?;
        let list = openpgp_list(store, &address)?;
        let now = SystemTime::now();
        let added = import(store, &list, &bytes, &fingerprints, role, now)?;
        Ok(added
            .iter()
            .map(|e| member_row(store, &list, e, now))
            .collect::<Result<Vec<_>, _>>()?)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(rows)
}

/// Adds a member for each key of `bytes` named in `fingerprints`: checks
/// them all first, then writes; a failed write takes back the members
/// added before it. Returns the addresses added.
pub fn import(
    store: &Store,
    list: &List,
    bytes: &[u8],
    fingerprints: &[String],
    role: Role,
    now: SystemTime,
) -> Result<Vec<String>, CommandError> {
    let reviewed = review(store, list, None, bytes, now)?;
    let mut chosen = Vec::new();
    for fpr in fingerprints {
        let c = reviewed.iter().find(|c| c.key.fingerprint == *fpr).ok_or_else(|| {
            key_error(format!(
                "Nobody was added: the key {fpr} is not in the file any more. Import the file again."
            ))
        })?;
        if c.action != KeyAction::Add {
            return Err(key_error(format!(
                "Nobody was added: the key {fpr} for {} can no longer be added ({}). Import the file again.",
                c.email.as_deref().unwrap_or("no address"),
                c.refusal
                    .clone()
                    .unwrap_or_else(|| "that address is a member now".into())
            )));
        }
        let email = c.email.clone().expect("an addable key has an address");
        let key = MemberKey::check(&c.cert, &email, now).map_err(|e| key_error(e.to_string()))?;
        chosen.push((
            email,
            c.name.clone(),
            StoredKey {
                fingerprint: key.fingerprint(),
                cert: key.to_bytes(),
            },
        ));
    }
    let mut added: Vec<String> = Vec::new();
    for (email, name, stored) in &chosen {
        let written = store.add_member(list, email, name, role).and_then(|m| {
            added.push(m.email.clone());
            store.set_member_key(list, &m.email, Protocol::Openpgp, stored, false)
        });
        if let Err(e) = written {
            for email in &added {
                let _ = store.remove_member(list, email);
            }
            let e = CommandError::from(e);
            return Err(CommandError {
                code: e.code,
                message: format!("Nobody was added: saving {email} failed: {}", e.message),
            });
        }
    }
    Ok(added)
}

/// Removes a member and their key.
#[tauri::command]
pub async fn remove_member(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    email: String,
) -> Result<(), CommandError> {
    with_store(shell.data_dir.clone(), move |store| {
        store.remove_member(&store.list(&address)?, &email)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

/// Like [`with_store`], for calls that fail with a [`CommandError`] of
/// their own (a refused key) as well as the store's.
pub(crate) async fn run<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Store) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(move || f(&Store::open(&dir)?))
        .await
        .map_err(|e| CommandError {
            code: "internal",
            message: format!("the store call failed: {e}"),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_others_are_refused() {
        assert_eq!(parse_action("approve").unwrap(), Resolution::Approve);
        assert_eq!(parse_action("reject").unwrap(), Resolution::Reject);
        assert_eq!(parse_action("discard").unwrap(), Resolution::Discard);
        assert_eq!(parse_action("delete").unwrap_err().code, "bad-action");
    }

    #[test]
    fn held_errors_reach_the_window_with_their_own_code() {
        let e = CommandError::from(StoreError::NotApprovable { id: 3 });
        assert_eq!(e.code, "held-not-approvable");
        assert!(!e.message.contains("conclave-cli"));
        let e = CommandError::from(StoreError::HeldPostResolved {
            id: 3,
            how: "approved".into(),
        });
        assert_eq!(e.code, "held-resolved");
    }

    use conclave_engine::crypto::openpgp::{KeyAlgo, ListKey};

    fn public_key(name: &str, email: &str) -> Vec<u8> {
        ListKey::generate(name, email, KeyAlgo::Ed25519, SystemTime::now())
            .unwrap()
            .public_armored()
            .into_bytes()
    }

    fn openpgp_store() -> (tempfile::TempDir, Store, List) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("list@example.org", "L", Protocol::Openpgp)
            .unwrap();
        (dir, store, list)
    }

    #[test]
    fn a_keyring_is_reviewed_key_by_key_and_added_all_at_once() {
        let (_d, store, list) = openpgp_store();
        store
            .add_member(&list, "bob@example.org", "", Role::Member)
            .unwrap();
        let ring = [
            public_key("Ann", "ann@example.org"),
            public_key("Bob", "bob@example.org"),
            public_key("Cid", "cid@example.org"),
            public_key("The list", "list@example.org"),
            public_key("Ann again", "ann@example.org"),
        ]
        .concat();
        let now = SystemTime::now();
        let review = review(&store, &list, None, &ring, now).unwrap();
        let actions: Vec<_> = review
            .iter()
            .map(|c| (c.email.clone().unwrap(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("ann@example.org".to_string(), KeyAction::Add),
                ("bob@example.org".to_string(), KeyAction::SetKey),
                ("cid@example.org".to_string(), KeyAction::Add),
                ("list@example.org".to_string(), KeyAction::Refused),
                ("ann@example.org".to_string(), KeyAction::Refused),
            ]
        );
        assert_eq!(review[0].name, "Ann");
        assert!(review[0].matches && review[0].refusal.is_none());
        assert!(
            review[3]
                .refusal
                .as_deref()
                .unwrap()
                .contains("list's own address")
        );
        assert!(
            review[4]
                .refusal
                .as_deref()
                .unwrap()
                .contains("earlier key")
        );
        assert_eq!(
            review[0].key.fingerprint.len(),
            49,
            "grouped by four: {}",
            review[0].key.fingerprint
        );

        let add: Vec<String> = review
            .iter()
            .filter(|c| c.action == KeyAction::Add)
            .map(|c| c.key.fingerprint.clone())
            .collect();
        // A key that cannot be added in the request: nobody is added.
        let mut wrong = add.clone();
        wrong.push(review[3].key.fingerprint.clone());
        let e = import(&store, &list, &ring, &wrong, Role::Member, now).unwrap_err();
        assert!(e.message.starts_with("Nobody was added"), "{}", e.message);
        assert_eq!(store.members(&list).unwrap().len(), 1);

        let added = import(&store, &list, &ring, &add, Role::Moderator, now).unwrap();
        assert_eq!(added, ["ann@example.org", "cid@example.org"]);
        let ann = member_row(&store, &list, "ann@example.org", now).unwrap();
        assert_eq!((ann.name.as_str(), ann.role), ("Ann", Role::Moderator));
        assert_eq!(ann.key.unwrap().fingerprint, review[0].key.fingerprint);
        assert!(ann.key_usable);
        // Done twice: they are members now, nothing is added again.
        assert!(import(&store, &list, &ring, &add, Role::Member, now).is_err());
        assert_eq!(store.members(&list).unwrap().len(), 3);
    }

    #[test]
    fn a_key_for_one_member_says_whether_it_names_them_and_what_it_replaces() {
        let (_d, store, list) = openpgp_store();
        store
            .add_member(&list, "bob@example.org", "", Role::Member)
            .unwrap();
        let now = SystemTime::now();
        let eve = review(
            &store,
            &list,
            Some("bob@example.org"),
            &public_key("Eve", "eve@example.org"),
            now,
        )
        .unwrap();
        assert_eq!(eve.len(), 1);
        assert!(!eve[0].matches);
        assert_eq!(eve[0].action, KeyAction::Refused);
        assert!(
            eve[0]
                .refusal
                .as_deref()
                .unwrap()
                .contains("belongs to someone else"),
            "{:?}",
            eve[0].refusal
        );

        let first = public_key("Bob", "bob@example.org");
        let c = &review(&store, &list, Some("bob@example.org"), &first, now).unwrap()[0];
        assert_eq!(c.action, KeyAction::SetKey);
        let key = MemberKey::check(&c.cert, "bob@example.org", now).unwrap();
        let stored = StoredKey {
            fingerprint: key.fingerprint(),
            cert: key.to_bytes(),
        };
        store
            .set_member_key(&list, "bob@example.org", Protocol::Openpgp, &stored, false)
            .unwrap();
        assert_eq!(
            review(&store, &list, Some("bob@example.org"), &first, now).unwrap()[0].action,
            KeyAction::Same
        );

        let second = review(
            &store,
            &list,
            Some("bob@example.org"),
            &public_key("Bob", "bob@example.org"),
            now,
        )
        .unwrap();
        assert_eq!(second[0].action, KeyAction::Replace);
        assert_eq!(
            second[0].current.as_deref(),
            Some(c.key.fingerprint.as_str())
        );
        let e = CommandError::from(StoreError::MemberKeyExists {
            list: list.address.clone(),
            email: "bob@example.org".into(),
            fingerprint: "AA".into(),
        });
        assert!(!e.message.contains("conclave-cli"), "{}", e.message);
    }

    #[test]
    fn what_is_no_key_is_refused_in_words() {
        let (_d, store, list) = openpgp_store();
        let e = review(&store, &list, None, b"hello", SystemTime::now()).unwrap_err();
        assert_eq!(e.code, "key-refused");
        assert!(
            e.message.starts_with("This is not an OpenPGP key"),
            "{}",
            e.message
        );
        let plain = store
            .create_list("plain@example.org", "P", Protocol::Plain)
            .unwrap();
        assert_eq!(
            openpgp_list(&store, &plain.address).unwrap_err().code,
            "no-keys"
        );
    }
}
