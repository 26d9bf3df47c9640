//! Setting a list up in one go, as the window's first-run wizard does: the
//! list, its mail account (both logins tried first), its passwords and key
//! in the keychain, and its key. Nothing is saved until everything is ready,
//! and a failure on the way takes back what was stored: no half list is
//! ever left behind. The CLI does the same in three steps (`list create`,
//! `list account`, `list key generate|import`) with the same calls.

use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use crate::crypto::openpgp::{KeyAlgo, ListKey, OpenPgpError};
use crate::crypto::smime::{self, SmimeError};
use crate::model::{Account, Endpoint, Protocol, check_address};
use crate::secrets::{self, SecretError, SecretKind, Sensitive};
use crate::store::{Store, StoreError, StoredKey};
use crate::transport::presets::preset_for_address;
use crate::transport::{
    Problem, TransportError, check_account, check_tls_allowed, explain, parse_ca_pem,
};

/// Where the list key comes from.
pub enum KeyChoice {
    /// A plain list has none.
    None,
    /// A new key: for OpenPGP "ed25519" (default) or "rsa4096", for S/MIME
    /// "rsa3072" (default) or "p256".
    Generate { algo: Option<String> },
    /// An exported secret key: OpenPGP (armored or binary), or S/MIME
    /// (PKCS#12, or PEM with the key and the certificate).
    Import {
        bytes: Vec<u8>,
        passphrase: Option<Sensitive<String>>,
    },
}

/// Everything the wizard asked for.
pub struct NewList {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    pub account: Account,
    pub imap_password: Sensitive<String>,
    pub smtp_password: Sensitive<String>,
    pub key: KeyChoice,
}

/// The list key as the owner is shown it, with the public part to hand to
/// the members.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ListKeySummary {
    pub protocol: Protocol,
    /// Groups of four: OpenPGP's fingerprint, or S/MIME's SHA-256 of the
    /// certificate.
    pub fingerprint: String,
    pub algorithms: Vec<String>,
    /// RFC 3339, UTC; `None` when it does not expire.
    pub expires: Option<String>,
    /// The user IDs (OpenPGP) or the certificate's subject (S/MIME).
    pub names: Vec<String>,
    /// The armored public key, or the certificate (PEM).
    pub public: String,
    /// A name to save `public` under.
    pub file_name: String,
}

/// A list made by [`create_list`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CreatedList {
    pub address: String,
    pub name: String,
    pub protocol: Protocol,
    pub key: Option<ListKeySummary>,
}

/// What step 1 learns: the address as it will be stored and the provider
/// that serves it, if it is a known one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ListCheck {
    pub address: String,
    /// The id of the provider that serves the address, if it is a known one.
    pub preset: Option<&'static str>,
    /// The user name the provider expects, or the address.
    pub user: String,
}

/// Why a list could not be set up; nothing was saved.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Invalid(String),
    #[error("a list {0} exists already: choose another address, or find that list in the overview")]
    ListExists(String),
    #[error("the {server} server: {problem}")]
    Login {
        server: &'static str,
        problem: Problem,
    },
    #[error("{0}: type the passphrase that protects it")]
    NeedsPassphrase(String),
    #[error("the list key: {0}")]
    Key(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(StoreError),
    #[error("setting the list up stopped unexpectedly ({0}); nothing was saved, try again")]
    Internal(String),
}

impl From<crate::model::BadValue> for SetupError {
    fn from(e: crate::model::BadValue) -> Self {
        SetupError::Invalid(e.0)
    }
}

impl From<StoreError> for SetupError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ListExists(a) => SetupError::ListExists(a),
            StoreError::Invalid(m) => SetupError::Invalid(m),
            other => SetupError::Store(other),
        }
    }
}

impl From<OpenPgpError> for SetupError {
    fn from(e: OpenPgpError) -> Self {
        match e {
            OpenPgpError::NeedsPassphrase | OpenPgpError::WrongPassphrase => {
                SetupError::NeedsPassphrase(capitalized(&e))
            }
            other => SetupError::Key(other.to_string()),
        }
    }
}

impl From<SmimeError> for SetupError {
    fn from(e: SmimeError) -> Self {
        match e {
            SmimeError::NeedsPassword | SmimeError::WrongPassword => {
                SetupError::NeedsPassphrase(capitalized(&e))
            }
            other => SetupError::Key(other.to_string()),
        }
    }
}

fn capitalized(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// Step 1: the name and address can make a new list.
pub fn check_list(store: &Store, address: &str, name: &str) -> Result<ListCheck, SetupError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SetupError::Invalid(
            "give the list a name, like “Tenants of Elm Street”".into(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(SetupError::Invalid(
            "the list's name must be one line of text".into(),
        ));
    }
    let address = check_address(address).map_err(SetupError::from)?;
    if store.list_exists(&address)? {
        return Err(SetupError::ListExists(address));
    }
    let preset = preset_for_address(&address);
    Ok(ListCheck {
        user: preset.map_or_else(|| address.clone(), |p| p.user_for(&address)),
        preset: preset.map(|p| p.id),
        address,
    })
}

/// The account's fields are complete and allowed (before any connection).
pub fn check_account_fields(account: &Account) -> Result<(), SetupError> {
    let server = |kind: &str, ep: &Endpoint| -> Result<(), SetupError> {
        let host = ep.host.trim();
        if host.is_empty() {
            return Err(SetupError::Invalid(format!(
                "give the {kind} server's host name, like {}.example.org",
                kind.to_ascii_lowercase()
            )));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
        {
            return Err(SetupError::Invalid(format!(
                "“{host}” is not a host name: give only the server's name, like {}.example.org",
                kind.to_ascii_lowercase()
            )));
        }
        if ep.port == 0 {
            return Err(SetupError::Invalid(format!(
                "give the {kind} server's port (a number from 1 to 65535)"
            )));
        }
        if ep.user.trim().is_empty() {
            return Err(SetupError::Invalid(format!(
                "give the {kind} user name (often the whole e-mail address)"
            )));
        }
        check_tls_allowed(ep).map_err(|e| SetupError::Login {
            server: if kind == "IMAP" { "IMAP" } else { "SMTP" },
            problem: explain(&e, &ep.host, ep.port),
        })
    };
    server("IMAP", &account.imap)?;
    server("SMTP", &account.smtp)?;
    if let Some(pem) = &account.ca_pem {
        parse_ca_pem(pem).map_err(|e| SetupError::Invalid(explain(&e, "", 0).to_string()))?;
    }
    Ok(())
}

/// The list key, made or read, before anything is stored.
pub enum PreparedKey {
    // Boxed: a ListKey is several times the size of a smime::ListKey.
    Openpgp(Box<ListKey>),
    Smime(smime::ListKey),
}

impl std::fmt::Debug for PreparedKey {
    // Never the secret parts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PreparedKey({}, {})",
            self.protocol(),
            self.stored().fingerprint
        )
    }
}

impl PreparedKey {
    pub fn protocol(&self) -> Protocol {
        match self {
            PreparedKey::Openpgp(_) => Protocol::Openpgp,
            PreparedKey::Smime(_) => Protocol::Smime,
        }
    }

    /// What the keychain keeps: the secret key (OpenPGP armored, S/MIME
    /// PKCS#8 PEM), as `list key generate|import` stores it.
    fn secret(&self) -> Result<(SecretKind, Sensitive<String>), SetupError> {
        Ok(match self {
            PreparedKey::Openpgp(k) => (SecretKind::OpenPgpListKey, k.to_keychain()),
            PreparedKey::Smime(i) => (
                SecretKind::SmimeListKey,
                smime::ListKey::key_to_keychain(i.key())?,
            ),
        })
    }

    /// What the store keeps: the public part only.
    fn stored(&self) -> StoredKey {
        match self {
            PreparedKey::Openpgp(k) => StoredKey {
                fingerprint: k.fingerprint(),
                cert: k.public_armored().into_bytes(),
            },
            PreparedKey::Smime(i) => StoredKey {
                fingerprint: i.fingerprint(),
                cert: i.public_pem(),
            },
        }
    }

    pub fn summary(&self, address: &str, now: SystemTime) -> ListKeySummary {
        let base = address.trim().to_ascii_lowercase();
        match self {
            PreparedKey::Openpgp(k) => {
                let info = k.info(now);
                ListKeySummary {
                    protocol: Protocol::Openpgp,
                    fingerprint: info.fingerprint,
                    algorithms: info.algorithms,
                    expires: info.expires,
                    names: info.user_ids,
                    public: k.public_armored(),
                    file_name: format!("{base}.asc"),
                }
            }
            PreparedKey::Smime(i) => {
                let info = i.info();
                ListKeySummary {
                    protocol: Protocol::Smime,
                    fingerprint: info.fingerprint,
                    algorithms: vec![info.algorithm],
                    expires: Some(info.expires),
                    names: vec![info.subject],
                    public: String::from_utf8_lossy(&i.public_pem()).into_owned(),
                    file_name: format!("{base}.pem"),
                }
            }
        }
    }
}

/// Whether the kind of key fits the protocol, before any key is made.
fn key_fits(protocol: Protocol, choice: &KeyChoice) -> Result<(), SetupError> {
    match (protocol, choice) {
        (Protocol::Plain, KeyChoice::None) => Ok(()),
        (Protocol::Plain, _) => Err(SetupError::Invalid(
            "a plain list has no key: choose OpenPGP or S/MIME for one".into(),
        )),
        (_, KeyChoice::None) => Err(SetupError::Invalid(format!(
            "an {} list needs a key: generate one, or import the one you have",
            if protocol == Protocol::Smime {
                "S/MIME"
            } else {
                "OpenPGP"
            }
        ))),
        _ => Ok(()),
    }
}

/// Makes or reads the list key for a list of `protocol`. CPU work (an RSA
/// key takes seconds): call it off the async threads.
pub fn prepare_key(
    address: &str,
    name: &str,
    protocol: Protocol,
    choice: &KeyChoice,
    now: SystemTime,
) -> Result<Option<PreparedKey>, SetupError> {
    key_fits(protocol, choice)?;
    let (address, name) = (address.trim(), name.trim());
    Ok(match (protocol, choice) {
        (_, KeyChoice::None) => None,
        (Protocol::Smime, KeyChoice::Generate { algo }) => {
            let algo: smime::KeyAlgo = algo
                .as_deref()
                .unwrap_or("rsa3072")
                .parse()
                .map_err(SetupError::from)?;
            Some(PreparedKey::Smime(smime::ListKey::generate(address, algo)?))
        }
        (Protocol::Smime, KeyChoice::Import { bytes, passphrase }) => Some(PreparedKey::Smime(
            smime::ListKey::import(bytes, passphrase.as_ref(), address, now)?,
        )),
        (_, KeyChoice::Generate { algo }) => {
            let algo: KeyAlgo = algo
                .as_deref()
                .unwrap_or("ed25519")
                .parse()
                .map_err(SetupError::from)?;
            Some(PreparedKey::Openpgp(Box::new(ListKey::generate(
                name, address, algo, now,
            )?)))
        }
        (_, KeyChoice::Import { bytes, passphrase }) => Some(PreparedKey::Openpgp(Box::new(
            ListKey::import(bytes, passphrase.as_ref(), address, now)?,
        ))),
    })
}

/// The passwords are there (the window sends the IMAP one twice when the
/// owner keeps "same for SMTP").
fn check_passwords(imap: &Sensitive<String>, smtp: &Sensitive<String>) -> Result<(), SetupError> {
    if imap.expose().is_empty() {
        return Err(SetupError::Invalid("type the IMAP password".into()));
    }
    if smtp.expose().is_empty() {
        return Err(SetupError::Invalid("type the SMTP password".into()));
    }
    Ok(())
}

/// The account as it is saved: host names and user names without the
/// spaces a paste brings along.
fn tidy(account: &Account) -> Account {
    let mut account = account.clone();
    for ep in [&mut account.imap, &mut account.smtp] {
        ep.host = ep.host.trim().to_string();
        ep.user = ep.user.trim().to_string();
    }
    account
}

/// Tries both logins; the first failure is the error.
async fn check_logins(
    account: &Account,
    imap: &Sensitive<String>,
    smtp: &Sensitive<String>,
) -> Result<(), SetupError> {
    let check = check_account(account, imap.expose(), smtp.expose()).await;
    let failed = |server: &'static str, e: &TransportError, ep: &Endpoint| SetupError::Login {
        server,
        problem: explain(e, &ep.host, ep.port),
    };
    if let Err(e) = &check.imap {
        return Err(failed("IMAP", e, &account.imap));
    }
    if let Err(e) = &check.smtp {
        return Err(failed("SMTP", e, &account.smtp));
    }
    Ok(())
}

/// Creates the list with its account and key, or nothing: the logins are
/// tried, the key made or read, the secrets put in the keychain (read back),
/// and then the list, account and public key are written in one
/// transaction. If the keychain or the store fails, the secrets stored for
/// it are removed again.
pub async fn create_list(data_dir: &Path, new: NewList) -> Result<CreatedList, SetupError> {
    let now = SystemTime::now();
    let NewList {
        address,
        name,
        protocol,
        account,
        imap_password,
        smtp_password,
        key: choice,
    } = new;
    let address = {
        let store = Store::open(data_dir)?;
        check_list(&store, &address, &name)?.address
    };
    let name = name.trim().to_string();
    let account = tidy(&account);
    check_account_fields(&account)?;
    check_passwords(&imap_password, &smtp_password)?;
    // A mismatch is refused before the logins, which take seconds.
    key_fits(protocol, &choice)?;
    check_logins(&account, &imap_password, &smtp_password).await?;

    let (a, n) = (address.clone(), name.clone());
    let key = tokio::task::spawn_blocking(move || prepare_key(&a, &n, protocol, &choice, now))
        .await
        .map_err(|e| SetupError::Internal(e.to_string()))??;

    let mut stored_secrets: Vec<SecretKind> = Vec::new();
    let kept = async {
        secrets::store(&address, SecretKind::ImapPassword, imap_password).await?;
        stored_secrets.push(SecretKind::ImapPassword);
        secrets::store(&address, SecretKind::SmtpPassword, smtp_password).await?;
        stored_secrets.push(SecretKind::SmtpPassword);
        if let Some(k) = &key {
            let (kind, secret) = k.secret()?;
            secrets::store(&address, kind, secret).await?;
            stored_secrets.push(kind);
        }
        Ok::<_, SetupError>(())
    }
    .await;
    if let Err(e) = kept {
        forget(&address, &stored_secrets).await;
        return Err(e);
    }

    let public = key.as_ref().map(|k| (k.protocol(), k.stored()));
    let (dir, a, n) = (data_dir.to_path_buf(), address.clone(), name.clone());
    let written = tokio::task::spawn_blocking(move || -> Result<_, SetupError> {
        let store = Store::open(&dir)?;
        Ok(store.create_configured_list(
            &a,
            &n,
            protocol,
            &account,
            public.as_ref().map(|(p, k)| (*p, k)),
        )?)
    })
    .await
    .map_err(|e| SetupError::Internal(e.to_string()))
    .and_then(|r| r);
    let list = match written {
        Ok(list) => list,
        Err(e) => {
            forget(&address, &stored_secrets).await;
            return Err(e);
        }
    };
    Ok(CreatedList {
        key: key.map(|k| k.summary(&list.address, now)),
        address: list.address,
        name: list.name,
        protocol: list.protocol,
    })
}

/// Takes back the secrets of a list that was not created.
async fn forget(address: &str, kinds: &[SecretKind]) {
    for kind in kinds {
        if let Err(e) = secrets::forget(address, *kind).await {
            eprintln!(
                "conclave: a secret of the list that was not created stays in the keychain ({e})"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TlsMode;
    use crate::transport::ProblemKind;

    fn endpoint(host: &str, port: u16, tls: TlsMode) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            tls,
            user: "list@example.org".into(),
        }
    }

    fn account() -> Account {
        Account {
            imap: endpoint("imap.example.org", 993, TlsMode::Implicit),
            smtp: endpoint("smtp.example.org", 587, TlsMode::Starttls),
            ca_pem: None,
            daily_limit: None,
        }
    }

    fn invalid(r: Result<impl std::fmt::Debug, SetupError>) -> String {
        match r {
            Err(SetupError::Invalid(m)) => m,
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[test]
    fn step_one_wants_a_name_a_free_address_and_suggests_the_provider() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(invalid(check_list(&store, "l@example.org", "  ")).contains("name"));
        assert!(invalid(check_list(&store, "l@example.org", "Two\nlines")).contains("one line"));
        assert!(
            invalid(check_list(&store, "not an address", "L")).contains("not an e-mail address")
        );
        let c = check_list(&store, " l@example.org ", "L").unwrap();
        assert_eq!(
            (c.address.as_str(), c.preset, c.user.as_str()),
            ("l@example.org", None, "l@example.org")
        );
        let c = check_list(&store, "tenants@riseup.net", "L").unwrap();
        assert_eq!((c.preset, c.user.as_str()), (Some("riseup"), "tenants"));
        assert_eq!(
            check_list(&store, "t@gmail.com", "L").unwrap().preset,
            Some("gmail")
        );
        store
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        let e = check_list(&store, "L@Example.org", "Again").unwrap_err();
        assert!(matches!(e, SetupError::ListExists(_)), "{e:?}");
        assert!(e.to_string().contains("exists already"));
    }

    #[test]
    fn account_fields_are_refused_with_what_to_type() {
        assert!(check_account_fields(&account()).is_ok());
        let mut a = account();
        a.imap.host = " ".into();
        assert!(invalid(check_account_fields(&a)).contains("IMAP server's host name"));
        let mut a = account();
        a.smtp.host = "https://smtp.example.org".into();
        assert!(invalid(check_account_fields(&a)).contains("is not a host name"));
        let mut a = account();
        a.smtp.port = 0;
        assert!(invalid(check_account_fields(&a)).contains("SMTP server's port"));
        let mut a = account();
        a.imap.user = String::new();
        assert!(invalid(check_account_fields(&a)).contains("IMAP user name"));
        let mut a = account();
        a.smtp.tls = TlsMode::None;
        match check_account_fields(&a) {
            Err(SetupError::Login {
                server: "SMTP",
                problem,
            }) => assert_eq!(problem.kind, ProblemKind::Plaintext),
            other => panic!("{other:?}"),
        }
        let mut a = account();
        a.imap = endpoint("127.0.0.1", 143, TlsMode::None);
        assert!(
            check_account_fields(&a).is_ok(),
            "no security to this computer is allowed"
        );
        let mut a = account();
        a.ca_pem = Some("not a certificate".into());
        assert!(invalid(check_account_fields(&a)).contains("not a PEM certificate"));
        assert!(
            invalid(check_passwords(
                &Sensitive::new(String::new()),
                &Sensitive::new("x".into())
            ))
            .contains("IMAP")
        );
    }

    #[test]
    fn the_key_must_fit_the_protocol() {
        let now = SystemTime::now();
        let generate = KeyChoice::Generate { algo: None };
        assert!(
            invalid(prepare_key(
                "l@example.org",
                "L",
                Protocol::Plain,
                &generate,
                now
            ))
            .contains("plain list has no key")
        );
        assert!(
            prepare_key("l@example.org", "L", Protocol::Plain, &KeyChoice::None, now)
                .unwrap()
                .is_none()
        );
        assert!(
            invalid(prepare_key(
                "l@example.org",
                "L",
                Protocol::Openpgp,
                &KeyChoice::None,
                now
            ))
            .contains("needs a key")
        );
        assert!(
            invalid(prepare_key(
                "l@example.org",
                "L",
                Protocol::Smime,
                &KeyChoice::None,
                now
            ))
            .contains("S/MIME")
        );
        let bad = KeyChoice::Generate {
            algo: Some("dsa".into()),
        };
        assert!(
            invalid(prepare_key(
                "l@example.org",
                "L",
                Protocol::Openpgp,
                &bad,
                now
            ))
            .contains("ed25519")
        );
    }

    #[test]
    fn a_generated_openpgp_key_is_shown_with_what_members_need() {
        let now = SystemTime::now();
        let key = prepare_key(
            " l@example.org",
            " Tenants ",
            Protocol::Openpgp,
            &KeyChoice::Generate { algo: None },
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(key.protocol(), Protocol::Openpgp);
        let s = key.summary("L@example.org", now);
        assert_eq!(s.names, ["Tenants <l@example.org>"]);
        assert_eq!(s.algorithms, ["Ed25519", "Cv25519"]);
        assert_eq!(s.fingerprint.split(' ').count(), 10);
        assert!(s.public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert_eq!(s.file_name, "l@example.org.asc");
        let (kind, secret) = key.secret().unwrap();
        assert_eq!(kind, SecretKind::OpenPgpListKey);
        assert!(secret.expose().contains("PRIVATE KEY BLOCK"));
        let stored = key.stored();
        assert_eq!(stored.fingerprint, s.fingerprint.replace(' ', ""));
        assert!(
            !String::from_utf8_lossy(&stored.cert).contains("PRIVATE"),
            "the store gets the public part only"
        );
    }

    #[test]
    fn an_smime_identity_is_generated_or_imported_with_its_password() {
        let now = SystemTime::now();
        let made = prepare_key(
            "l@example.org",
            "L",
            Protocol::Smime,
            &KeyChoice::Generate {
                algo: Some("p256".into()),
            },
            now,
        )
        .unwrap()
        .unwrap();
        let s = made.summary("l@example.org", now);
        assert_eq!(
            (s.protocol, s.algorithms.as_slice()),
            (Protocol::Smime, ["ECDSA P-256".to_string()].as_slice())
        );
        assert!(s.public.starts_with("-----BEGIN CERTIFICATE-----") && s.expires.is_some());
        assert_eq!(made.secret().unwrap().0, SecretKind::SmimeListKey);

        let PreparedKey::Smime(identity) = &made else {
            panic!("S/MIME")
        };
        let p12 = openssl::pkcs12::Pkcs12::builder()
            .name("list")
            .pkey(identity.key())
            .cert(identity.cert())
            .build2("open sesame")
            .unwrap()
            .to_der()
            .unwrap();
        let import = |pass: Option<&str>| KeyChoice::Import {
            bytes: p12.clone(),
            passphrase: pass.map(|p| Sensitive::new(p.into())),
        };
        for pass in [None, Some("wrong")] {
            let e = prepare_key("l@example.org", "L", Protocol::Smime, &import(pass), now)
                .err()
                .unwrap();
            assert!(matches!(e, SetupError::NeedsPassphrase(_)), "{e:?}");
            assert!(e.to_string().contains("type the passphrase"), "{e}");
        }
        let imported = prepare_key(
            "l@example.org",
            "L",
            Protocol::Smime,
            &import(Some("open sesame")),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            imported.summary("l@example.org", now).fingerprint,
            s.fingerprint
        );
        let e = prepare_key(
            "other@example.org",
            "L",
            Protocol::Smime,
            &import(Some("open sesame")),
            now,
        )
        .err()
        .unwrap();
        assert!(
            matches!(e, SetupError::Key(ref m) if m.contains("other@example.org")),
            "{e:?}"
        );
    }

    #[test]
    fn an_openpgp_key_file_must_hold_the_list_s_secret_key() {
        let now = SystemTime::now();
        let key = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        let import = |bytes: &[u8]| KeyChoice::Import {
            bytes: bytes.to_vec(),
            passphrase: None,
        };
        let e = prepare_key(
            "l@example.org",
            "L",
            Protocol::Openpgp,
            &import(key.public_armored().as_bytes()),
            now,
        )
        .err()
        .unwrap();
        assert!(
            matches!(e, SetupError::Key(ref m) if m.contains("public key only")),
            "{e:?}"
        );
        let e = prepare_key(
            "l@example.org",
            "L",
            Protocol::Openpgp,
            &import(b"hello"),
            now,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("not an OpenPGP key"), "{e}");
        let secret = key.to_keychain();
        let ok = prepare_key(
            "l@example.org",
            "L",
            Protocol::Openpgp,
            &import(secret.expose().as_bytes()),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.stored().fingerprint, key.fingerprint());
    }
}
