//! The list's own keys as an owner looks after them: what each is, the text
//! members import, and renewal before expiry. The CLI (`list key show`,
//! `list key renew`) and the window use the same calls, so they agree.
//!
//! Renewing keeps the key: an OpenPGP key gets new binding signatures with a
//! later expiry (the fingerprint stays); a self-signed S/MIME certificate is
//! issued again on the same private key (the certificate's fingerprint is
//! new). The secret parts come from the keychain and go back there before
//! the store records the new public part, as when a key is made.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::crypto::openpgp::{ListKey, MemberKey, OpenPgpError};
use crate::crypto::smime::{self, SmimeError};
use crate::model::{List, Protocol};
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::{Store, StoreError, StoredKey};

/// How long a renewed key is valid when the owner does not say.
pub const RENEW_DAYS: u32 = 730;

#[derive(Debug, thiserror::Error)]
pub enum ListKeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    OpenPgp(#[from] OpenPgpError),
    #[error(transparent)]
    Smime(#[from] SmimeError),
    #[error(
        "{list} is a plain list: it has no keys (give --protocol openpgp|smime to add one with `conclave-cli list key generate`)"
    )]
    Plain { list: String },
    #[error(
        "{list} has no {protocol} key yet: make one with `conclave-cli list key generate {list} --protocol {protocol}`"
    )]
    NoKey { list: String, protocol: Protocol },
    #[error(
        "the keychain has no {protocol} secret key for {list}: import the list key again with `conclave-cli list key import {list} FILE --replace`"
    )]
    NoSecret { list: String, protocol: Protocol },
    #[error(
        "the {protocol} key in the keychain ({found}) is not the one on record for {list} ({recorded}): import the list key again with `conclave-cli list key import {list} FILE --replace`"
    )]
    Mismatch {
        list: String,
        protocol: Protocol,
        found: String,
        recorded: String,
    },
    #[error("renewing needs at least one day: give --days N")]
    NoDays,
    #[error(
        "{list} has no S/MIME key waiting for a certificate: make a request first (`conclave-cli list key generate {list} --protocol smime --csr FILE`, or \"Save renewal request…\" in the list key screen)"
    )]
    NoRequest { list: String },
}

/// How a list key is renewed, which decides what the owner is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum Renewal {
    /// OpenPGP with an expiry: new signatures, same key and fingerprint.
    Extend,
    /// OpenPGP without an expiry: nothing to renew.
    NeverExpires,
    /// A self-signed S/MIME certificate: issued again on the same key.
    Reissue,
    /// An authority's S/MIME certificate: the authority issues a new one
    /// for a request made on the same key.
    Request,
}

/// One of the list's keys as the owner sees it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ListKeyView {
    pub protocol: Protocol,
    /// OpenPGP: the key's fingerprint; S/MIME: SHA-256 of the certificate.
    /// Upper-case hex in groups of four.
    pub fingerprint: String,
    /// OpenPGP: the primary key's then each subkey's; S/MIME: one.
    pub algorithms: Vec<String>,
    /// RFC 3339, UTC: when the key was made (OpenPGP) or the certificate
    /// became valid (S/MIME).
    pub created: String,
    /// RFC 3339, UTC; `None` when the key does not expire.
    pub expires: Option<String>,
    /// OpenPGP user IDs, or the certificate's addresses.
    pub user_ids: Vec<String>,
    /// S/MIME: the certificate's subject and issuer.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub renewal: Renewal,
    /// What members import: the armored public key, or the certificate
    /// with its chain (PEM).
    pub public: String,
}

fn protocol_of(list: &List, asked: Option<Protocol>) -> Result<Protocol, ListKeyError> {
    match asked.unwrap_or(list.protocol) {
        Protocol::Plain => Err(ListKeyError::Plain {
            list: list.address.clone(),
        }),
        p => Ok(p),
    }
}

/// Describes a stored public key of the list.
pub fn describe(
    protocol: Protocol,
    stored: &StoredKey,
    now: SystemTime,
) -> Result<ListKeyView, ListKeyError> {
    let public = String::from_utf8_lossy(&stored.cert).into_owned();
    if protocol == Protocol::Smime {
        let cert = smime::read_certs(&stored.cert)?
            .into_iter()
            .next()
            .ok_or_else(|| SmimeError::NotACertificate("nothing stored".into()))?;
        let info = smime::info(&cert);
        let mut user_ids = info.emails.clone();
        user_ids.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        return Ok(ListKeyView {
            protocol,
            fingerprint: info.fingerprint,
            algorithms: vec![info.algorithm],
            created: info.valid_from,
            expires: Some(info.expires),
            user_ids,
            subject: Some(info.subject),
            issuer: Some(info.issuer),
            renewal: if info.self_signed {
                Renewal::Reissue
            } else {
                Renewal::Request
            },
            public,
        });
    }
    let info = MemberKey::from_stored(&stored.cert)?.info(now);
    Ok(ListKeyView {
        protocol,
        renewal: if info.expires.is_some() {
            Renewal::Extend
        } else {
            Renewal::NeverExpires
        },
        fingerprint: info.fingerprint,
        algorithms: info.algorithms,
        created: info.created,
        expires: info.expires,
        user_ids: info.user_ids,
        subject: None,
        issuer: None,
        public,
    })
}

/// The list's key of one protocol (the list's own when `None`), or `None`
/// when it has none yet.
pub fn show(
    store: &Store,
    list: &List,
    protocol: Option<Protocol>,
    now: SystemTime,
) -> Result<Option<ListKeyView>, ListKeyError> {
    let protocol = protocol_of(list, protocol)?;
    store
        .list_key(list, protocol)?
        .map(|k| describe(protocol, &k, now))
        .transpose()
}

/// Every key the list has, its own protocol's first (a mixed list has two).
pub fn show_all(
    store: &Store,
    list: &List,
    now: SystemTime,
) -> Result<Vec<ListKeyView>, ListKeyError> {
    let mut order = vec![Protocol::Openpgp, Protocol::Smime];
    order.sort_by_key(|p| *p != list.protocol);
    let mut out = Vec::new();
    for p in order {
        if let Some(k) = store.list_key(list, p)? {
            out.push(describe(p, &k, now)?);
        }
    }
    Ok(out)
}

/// What a renewal makes: the new secret for the keychain (OpenPGP: the key
/// with its new signatures; S/MIME: unchanged, `None`), the new public part
/// for the store, and until when it is valid.
pub struct Renewed {
    pub secret: Option<Sensitive<String>>,
    pub stored: StoredKey,
    pub expires: String,
}

/// Renews the key whose secret part is `secret` (as the keychain keeps it)
/// and whose public part is `recorded`, for `days` from `now`.
pub fn renewed(
    list: &List,
    protocol: Protocol,
    recorded: &StoredKey,
    secret: &Sensitive<String>,
    days: u32,
    now: SystemTime,
) -> Result<Renewed, ListKeyError> {
    if days == 0 {
        return Err(ListKeyError::NoDays);
    }
    let mismatch = |found: String| ListKeyError::Mismatch {
        list: list.address.clone(),
        protocol,
        found,
        recorded: recorded.fingerprint.clone(),
    };
    match protocol {
        Protocol::Smime => {
            let key = smime::ListKey::key_from_keychain(secret)?;
            let certs = smime::read_certs(&recorded.cert)?;
            let identity =
                smime::ListKey::with_key(key, certs, &list.address, now).map_err(|e| match e {
                    SmimeError::KeyMismatch => mismatch("another private key".into()),
                    other => other.into(),
                })?;
            let new = identity.renew(&list.address, days, now)?;
            Ok(Renewed {
                secret: None,
                expires: new.info().expires,
                stored: StoredKey {
                    fingerprint: new.fingerprint(),
                    cert: new.public_pem(),
                },
            })
        }
        _ => {
            let key = ListKey::from_keychain(secret)?;
            if key.fingerprint() != recorded.fingerprint {
                return Err(mismatch(key.fingerprint()));
            }
            let until = now + Duration::from_secs(u64::from(days) * 86_400);
            let new = key.renew(until, now)?;
            Ok(Renewed {
                expires: new.info(now).expires.unwrap_or_default(),
                secret: Some(new.to_keychain()),
                stored: StoredKey {
                    fingerprint: new.fingerprint(),
                    cert: new.public_armored().into_bytes(),
                },
            })
        }
    }
}

fn secret_kind(protocol: Protocol) -> SecretKind {
    if protocol == Protocol::Smime {
        SecretKind::SmimeListKey
    } else {
        SecretKind::OpenPgpListKey
    }
}

/// Renews the list's key of `protocol` (the list's own when `None`) for
/// `days` from now: keychain first, then the store, which logs it. The
/// store is opened only between keychain calls, so the future can move
/// between threads.
pub async fn renew(
    data_dir: &Path,
    address: &str,
    protocol: Option<Protocol>,
    days: u32,
) -> Result<ListKeyView, ListKeyError> {
    let now = SystemTime::now();
    let (list, protocol, recorded) = {
        let store = Store::open(data_dir)?;
        let list = store.list(address)?;
        let protocol = protocol_of(&list, protocol)?;
        let recorded = store
            .list_key(&list, protocol)?
            .ok_or_else(|| ListKeyError::NoKey {
                list: list.address.clone(),
                protocol,
            })?;
        (list, protocol, recorded)
    };
    let secret = secrets::load(&list.address, secret_kind(protocol))
        .await
        .map_err(|e| match e {
            SecretError::Missing(_) => ListKeyError::NoSecret {
                list: list.address.clone(),
                protocol,
            },
            other => other.into(),
        })?;
    let new = renewed(&list, protocol, &recorded, &secret, days, now)?;
    if let Some(secret) = new.secret {
        secrets::store(&list.address, secret_kind(protocol), secret).await?;
    }
    let store = Store::open(data_dir)?;
    store.renew_list_key(&list, protocol, &new.stored, &new.expires)?;
    describe(protocol, &new.stored, now)
}

/// Installs the certificate an authority issued for the list's S/MIME key
/// (PEM, DER or PKCS#7, with its chain): the answer to a request made with
/// `generate --csr` or to a renewal request. The key stays in the keychain;
/// the certificate must be for that very key and the list's address, and
/// replaces the one on record knowingly (logged).
pub async fn install_certificate(
    data_dir: &Path,
    address: &str,
    bytes: &[u8],
) -> Result<ListKeyView, ListKeyError> {
    let now = SystemTime::now();
    let list = Store::open(data_dir)?.list(address)?;
    let secret = secrets::load(&list.address, SecretKind::SmimeListKey)
        .await
        .map_err(|e| match e {
            SecretError::Missing(_) => ListKeyError::NoRequest {
                list: list.address.clone(),
            },
            other => other.into(),
        })?;
    let key = smime::ListKey::key_from_keychain(&secret)?;
    let identity = smime::ListKey::with_key(key, smime::read_certs(bytes)?, &list.address, now)?;
    let stored = StoredKey {
        fingerprint: identity.fingerprint(),
        cert: identity.public_pem(),
    };
    Store::open(data_dir)?.set_list_key(&list, Protocol::Smime, &stored, true)?;
    describe(Protocol::Smime, &stored, now)
}

/// A certificate signing request (PEM) on the list's present S/MIME key,
/// for the authority that issued its certificate.
pub async fn renewal_request(data_dir: &Path, address: &str) -> Result<Vec<u8>, ListKeyError> {
    let now = SystemTime::now();
    let (list, recorded) = {
        let store = Store::open(data_dir)?;
        let list = store.list(address)?;
        let recorded =
            store
                .list_key(&list, Protocol::Smime)?
                .ok_or_else(|| ListKeyError::NoKey {
                    list: list.address.clone(),
                    protocol: Protocol::Smime,
                })?;
        (list, recorded)
    };
    let secret = secrets::load(&list.address, SecretKind::SmimeListKey)
        .await
        .map_err(|e| match e {
            SecretError::Missing(_) => ListKeyError::NoSecret {
                list: list.address.clone(),
                protocol: Protocol::Smime,
            },
            other => other.into(),
        })?;
    let key = smime::ListKey::key_from_keychain(&secret)?;
    let identity =
        smime::ListKey::with_key(key, smime::read_certs(&recorded.cert)?, &list.address, now)?;
    Ok(identity.renewal_request(&list.address)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::openpgp::KeyAlgo;
    use crate::crypto::smime;

    const DAY: Duration = Duration::from_secs(86_400);

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_plain_list_has_no_keys_and_says_how_to_make_one() {
        let (_d, s) = store();
        let plain = s
            .create_list("p@example.org", "P", Protocol::Plain)
            .unwrap();
        assert!(matches!(
            show(&s, &plain, None, SystemTime::now()),
            Err(ListKeyError::Plain { .. })
        ));
        assert!(
            show(&s, &plain, Some(Protocol::Openpgp), SystemTime::now())
                .unwrap()
                .is_none()
        );
        assert!(show_all(&s, &plain, SystemTime::now()).unwrap().is_empty());
        let e = ListKeyError::NoKey {
            list: "l@example.org".into(),
            protocol: Protocol::Openpgp,
        };
        assert!(
            e.to_string()
                .contains("list key generate l@example.org --protocol openpgp"),
            "{e}"
        );
    }

    #[test]
    fn an_openpgp_key_is_renewed_with_its_fingerprint_and_logged() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let now = SystemTime::now();
        let key = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now - DAY).unwrap();
        // A key made without expiry: nothing to renew.
        let stored = StoredKey {
            fingerprint: key.fingerprint(),
            cert: key.public_armored().into_bytes(),
        };
        s.set_list_key(&list, Protocol::Openpgp, &stored, false)
            .unwrap();
        let view = show(&s, &list, None, now).unwrap().unwrap();
        assert_eq!(view.renewal, Renewal::NeverExpires);
        assert!(
            view.public
                .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        );
        assert!(matches!(
            renewed(
                &list,
                Protocol::Openpgp,
                &stored,
                &key.to_keychain(),
                30,
                now
            ),
            Err(ListKeyError::OpenPgp(OpenPgpError::Renew(_)))
        ));
        // Another key in the keychain than on record.
        let other = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        assert!(matches!(
            renewed(
                &list,
                Protocol::Openpgp,
                &stored,
                &other.to_keychain(),
                30,
                now
            ),
            Err(ListKeyError::Mismatch { .. })
        ));
        assert!(matches!(
            renewed(
                &list,
                Protocol::Openpgp,
                &stored,
                &key.to_keychain(),
                0,
                now
            ),
            Err(ListKeyError::NoDays)
        ));
    }

    #[test]
    fn an_expiring_openpgp_key_gets_a_later_expiry() {
        use sequoia_openpgp::cert::{CertBuilder, CipherSuite};
        use sequoia_openpgp::serialize::SerializeInto;
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let now = SystemTime::now();
        let (cert, _) = CertBuilder::general_purpose(Some("L <l@example.org>"))
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(now - 10 * DAY)
            .set_validity_period(20 * DAY)
            .generate()
            .unwrap();
        let armored = String::from_utf8(cert.as_tsk().armored().to_vec().unwrap()).unwrap();
        let key = ListKey::import(armored.as_bytes(), None, "l@example.org", now).unwrap();
        let stored = StoredKey {
            fingerprint: key.fingerprint(),
            cert: key.public_armored().into_bytes(),
        };
        s.set_list_key(&list, Protocol::Openpgp, &stored, false)
            .unwrap();
        let before = show(&s, &list, None, now).unwrap().unwrap();
        assert_eq!(before.renewal, Renewal::Extend);

        let new = renewed(
            &list,
            Protocol::Openpgp,
            &stored,
            &key.to_keychain(),
            365,
            now,
        )
        .unwrap();
        assert_eq!(new.stored.fingerprint, stored.fingerprint);
        let secret = new.secret.expect("the keychain gets the new signatures");
        assert_eq!(
            ListKey::from_keychain(&secret)
                .unwrap()
                .info(now)
                .expires
                .as_deref(),
            Some(new.expires.as_str())
        );
        s.renew_list_key(&list, Protocol::Openpgp, &new.stored, &new.expires)
            .unwrap();
        // The new signatures are made at the clock's time, which may have
        // turned a second past `now`: look at the key after they were made.
        let later = SystemTime::now() + std::time::Duration::from_secs(1);
        let after = show(&s, &list, None, later).unwrap().unwrap();
        assert!(
            after.expires > before.expires,
            "{:?} → {:?}",
            before.expires,
            after.expires
        );
        assert_eq!(after.fingerprint, before.fingerprint);
        let log = s.activity(&list, 1).unwrap();
        assert!(
            log[0]
                .message
                .contains("openpgp list key renewed, valid until"),
            "{:?}",
            log[0]
        );
    }

    #[test]
    fn a_self_signed_certificate_is_reissued_on_the_key_in_the_keychain() {
        let (_d, s) = store();
        let list = s
            .create_list("l@example.org", "L", Protocol::Smime)
            .unwrap();
        let now = SystemTime::now();
        let id = smime::ListKey::generate("l@example.org", smime::KeyAlgo::P256).unwrap();
        let stored = StoredKey {
            fingerprint: id.fingerprint(),
            cert: id.public_pem(),
        };
        s.set_list_key(&list, Protocol::Smime, &stored, false)
            .unwrap();
        let before = show(&s, &list, None, now).unwrap().unwrap();
        assert_eq!(before.renewal, Renewal::Reissue);
        assert_eq!(before.user_ids, ["l@example.org"]);
        assert!(before.public.starts_with("-----BEGIN CERTIFICATE-----"));

        let secret = smime::ListKey::key_to_keychain(id.key()).unwrap();
        let new = renewed(&list, Protocol::Smime, &stored, &secret, 1000, now).unwrap();
        assert!(new.secret.is_none(), "the private key stays as it is");
        s.renew_list_key(&list, Protocol::Smime, &new.stored, &new.expires)
            .unwrap();
        let after = show(&s, &list, None, now).unwrap().unwrap();
        assert!(after.expires > before.expires);
        assert_ne!(after.fingerprint, before.fingerprint);
        let log = s.activity(&list, 1).unwrap();
        assert!(
            log[0]
                .message
                .contains(&format!("{} → {}", before.fingerprint, after.fingerprint)),
            "{:?}",
            log[0]
        );

        let other = smime::ListKey::generate("l@example.org", smime::KeyAlgo::P256).unwrap();
        let wrong = smime::ListKey::key_to_keychain(other.key()).unwrap();
        assert!(matches!(
            renewed(&list, Protocol::Smime, &new.stored, &wrong, 1000, now),
            Err(ListKeyError::Mismatch { .. })
        ));
    }
}
