//! The members screen: the members with their keys of either protocol,
//! reviewing key files before anything is saved, adding members and keys,
//! and the authorities an S/MIME list trusts. The rules are the engine's
//! (`conclave_engine::member_keys`), the same as `conclave-cli member` and
//! `list trust` follow.

use std::time::SystemTime;

use conclave_engine::crypto::smime::CertInfo;
use conclave_engine::member_keys::{KeyCandidate, MemberKeyError};
use conclave_engine::model::{List, Role};
use conclave_engine::owner::{self, OwnerError};
use conclave_engine::store::Store;
use tauri::{AppHandle, Emitter, State};

use crate::Shell;
use crate::commands::{CommandError, run};
use crate::watch::LISTS_CHANGED;

pub use conclave_engine::owner::members::{MemberRow, MembersView};

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn owner_error(e: OwnerError) -> CommandError {
    match e {
        OwnerError::Key(e) => key_error(e),
        other => other.into(),
    }
}

fn key_error(e: MemberKeyError) -> CommandError {
    match e {
        MemberKeyError::Store(e) => e.into(),
        MemberKeyError::OpenPgp(e) => CommandError {
            code: "key-refused",
            message: format!("The key is refused: {e}"),
        },
        other => CommandError {
            code: "key-refused",
            message: capitalized(&other.to_string()),
        },
    }
}

pub fn member_row(
    store: &Store,
    list: &List,
    email: &str,
    now: SystemTime,
) -> Result<MemberRow, CommandError> {
    owner::members::row(store, list, email, now).map_err(owner_error)
}

pub(crate) fn parse_role(role: &str) -> Result<Role, CommandError> {
    role.parse()
        .map_err(|e: conclave_engine::model::BadValue| CommandError {
            code: "bad-role",
            message: e.0,
        })
}

/// The members of a list, with their keys, ordered by address.
#[tauri::command]
pub async fn members(
    shell: State<'_, Shell>,
    address: String,
) -> Result<MembersView, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        let list = store.list(&address)?;
        owner::members::view(store, &list, SystemTime::now()).map_err(owner_error)
    })
    .await
}

/// What the keys and certificates in files (or pasted text) are and what
/// saving them would do. Nothing is saved.
#[tauri::command]
pub async fn review_keys(
    shell: State<'_, Shell>,
    address: String,
    email: Option<String>,
    files: Vec<Vec<u8>>,
) -> Result<Vec<KeyCandidate>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        owner::members::review(store, &address, email.as_deref(), &files, SystemTime::now())
            .map_err(owner_error)
    })
    .await
}

/// Adds one member, with a key when one is given (`pin`: an S/MIME
/// certificate the owner trusts for this member only). The key is checked
/// before anything is saved; a refused key adds nobody.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn add_member(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    email: String,
    name: String,
    role: String,
    key: Option<Vec<u8>>,
    pin: bool,
) -> Result<MemberRow, CommandError> {
    let row = run(shell.data_dir.clone(), move |store| {
        let role = parse_role(&role)?;
        let now = SystemTime::now();
        let list = match key {
            Some(_) => owner::members::keyed_list(store, &address).map_err(owner_error)?,
            None => store.list(&address)?,
        };
        let key = key
            .as_deref()
            .map(|bytes| owner::members::KeyFile { bytes, pin });
        let added = owner::members::add(store, &list, &email, &name, role, key, now)
            .map_err(owner_error)?;
        member_row(store, &list, &added.member.email, now)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(row)
}

/// Gives a member a key, or replaces theirs of the same protocol when
/// `replace` is true (logged with both fingerprints).
#[tauri::command]
pub async fn set_member_key(
    shell: State<'_, Shell>,
    address: String,
    email: String,
    key: Vec<u8>,
    replace: bool,
    pin: bool,
) -> Result<MemberRow, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        let list = owner::members::keyed_list(store, &address).map_err(owner_error)?;
        let now = SystemTime::now();
        let key = owner::members::KeyFile { bytes: &key, pin };
        owner::members::set_key(store, &list, &email, key, replace, now).map_err(owner_error)?;
        member_row(store, &list, &email, now)
    })
    .await
}

/// Adds a member for each of the given keys of the files (by fingerprint,
/// as the review listed them), all or none; the certificates in `pinned`
/// are trusted for their member only.
#[tauri::command]
pub async fn import_members(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    files: Vec<Vec<u8>>,
    fingerprints: Vec<String>,
    pinned: Vec<String>,
    role: String,
) -> Result<Vec<MemberRow>, CommandError> {
    let rows = run(shell.data_dir.clone(), move |store| {
        let role = parse_role(&role)?;
        owner::members::import(
            store,
            &address,
            &files,
            &fingerprints,
            &pinned,
            role,
            SystemTime::now(),
        )
        .map_err(owner_error)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(rows)
}

/// Removes a member and their keys.
#[tauri::command]
pub async fn remove_member(
    app: AppHandle,
    shell: State<'_, Shell>,
    address: String,
    email: String,
) -> Result<(), CommandError> {
    run(shell.data_dir.clone(), move |store| {
        owner::members::remove(store, &store.list(&address)?, &email).map_err(owner_error)
    })
    .await?;
    let _ = app.emit(LISTS_CHANGED, shell.status());
    Ok(())
}

// ---- Trusted authorities (S/MIME) ------------------------------------------

/// The authorities the list trusts to vouch for members' certificates.
#[tauri::command]
pub async fn trusted_authorities(
    shell: State<'_, Shell>,
    address: String,
) -> Result<Vec<CertInfo>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        owner::trust::list(store, &address).map_err(owner_error)
    })
    .await
}

/// Trusts the authorities of a certificate file; the list's authorities
/// afterwards.
#[tauri::command]
pub async fn trust_authority(
    shell: State<'_, Shell>,
    address: String,
    bytes: Vec<u8>,
) -> Result<Vec<CertInfo>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        owner::trust::add(store, &address, &bytes, SystemTime::now()).map_err(owner_error)?;
        owner::trust::list(store, &address).map_err(owner_error)
    })
    .await
}

/// Stops trusting an authority (members already added keep their
/// certificates); the list's authorities afterwards.
#[tauri::command]
pub async fn remove_trusted_authority(
    shell: State<'_, Shell>,
    address: String,
    fingerprint: String,
) -> Result<Vec<CertInfo>, CommandError> {
    run(shell.data_dir.clone(), move |store| {
        owner::trust::remove(store, &address, &fingerprint).map_err(owner_error)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_engine::crypto::openpgp::{KeyAlgo, ListKey};
    use conclave_engine::member_keys::{self, KeyAction};
    use conclave_engine::model::Protocol;
    use conclave_engine::store::StoreError;

    fn public_key(name: &str, email: &str) -> Vec<u8> {
        // Made a minute ago: see the review's `now` below.
        ListKey::generate(
            name,
            email,
            KeyAlgo::Ed25519,
            SystemTime::now() - std::time::Duration::from_secs(60),
        )
        .unwrap()
        .public_armored()
        .into_bytes()
    }

    fn openpgp_store() -> (tempfile::TempDir, Store, List) {
        let dir = tempfile::tempdir().unwrap();
        conclave_engine::secrets::keep_database_keys_in_memory();
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
        let ring = vec![
            [
                public_key("Ann", "ann@example.org"),
                public_key("Bob", "bob@example.org"),
                public_key("Cid", "cid@example.org"),
                public_key("The list", "list@example.org"),
                public_key("Ann again", "ann@example.org"),
            ]
            .concat(),
        ];
        let now = SystemTime::now();
        let review = member_keys::review(&store, &list, None, &ring, now).unwrap();
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
        let e = member_keys::import(&store, &list, &ring, &wrong, &[], Role::Member, now)
            .map_err(key_error)
            .unwrap_err();
        assert!(e.message.starts_with("Nobody was added"), "{}", e.message);
        assert_eq!(store.members(&list).unwrap().len(), 1);

        let added =
            member_keys::import(&store, &list, &ring, &add, &[], Role::Moderator, now).unwrap();
        assert_eq!(added, ["ann@example.org", "cid@example.org"]);
        let ann = member_row(&store, &list, "ann@example.org", now).unwrap();
        assert_eq!((ann.name.as_str(), ann.role), ("Ann", Role::Moderator));
        assert_eq!(ann.keys[0].key.fingerprint, review[0].key.fingerprint);
        assert!(ann.keys[0].usable);
        // Done twice: they are members now, nothing is added again.
        assert!(member_keys::import(&store, &list, &ring, &add, &[], Role::Member, now).is_err());
        assert_eq!(store.members(&list).unwrap().len(), 3);
    }

    #[test]
    fn a_key_for_one_member_says_whether_it_names_them_and_what_it_replaces() {
        let (_d, store, list) = openpgp_store();
        store
            .add_member(&list, "bob@example.org", "", Role::Member)
            .unwrap();
        // The keys below are made after this; OpenPGP counts creation in
        // whole seconds, so a key made as the second turns would not be
        // valid yet at a `now` taken just before it.
        let now = SystemTime::now() + std::time::Duration::from_secs(5);
        let review = |bytes: Vec<u8>| {
            member_keys::review(&store, &list, Some("bob@example.org"), &[bytes], now).unwrap()
        };
        let eve = review(public_key("Eve", "eve@example.org"));
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
        let c = review(first.clone()).remove(0);
        assert_eq!(c.action, KeyAction::SetKey);
        let (protocol, stored) =
            member_keys::check(&store, &list, &c.cert, "bob@example.org", false, now).unwrap();
        store
            .set_member_key(&list, "bob@example.org", protocol, &stored, false)
            .unwrap();
        assert_eq!(review(first)[0].action, KeyAction::Same);

        let second = review(public_key("Bob", "bob@example.org"));
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
        let e = member_keys::review(&store, &list, None, &[b"hello".to_vec()], SystemTime::now())
            .map_err(key_error)
            .unwrap_err();
        assert_eq!(e.code, "key-refused");
        assert!(
            e.message
                .starts_with("No key or certificate was found in it"),
            "{}",
            e.message
        );
        let plain = store
            .create_list("plain@example.org", "P", Protocol::Plain)
            .unwrap();
        assert_eq!(
            owner_error(owner::members::keyed_list(&store, &plain.address).unwrap_err()).code,
            "no-keys"
        );
    }
}
