//! OpenPGP with sequoia-openpgp under its StandardPolicy: the list's own key
//! ([`ListKey`]) and the members' certificates ([`MemberKey`]).

mod armor_crc;
pub mod checked;
mod list_key;
mod member_key;
pub mod passphrase;
mod unwrap;
mod wrap;

pub use list_key::{KeyAlgo, ListKey};
pub use member_key::{KeyRefusal, MemberKey};
pub use unwrap::{Encrypted, Signed, Unwrapped, looks_encrypted, unwrap};
pub use wrap::{SharedPayload, encrypt_entity, sign_entity};

use std::time::SystemTime;

use sequoia_openpgp as pgp;

/// What is known of a key, for `list key show` and the members table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct KeyInfo {
    /// Upper-case hex in groups of four, as users compare them.
    pub fingerprint: String,
    /// The primary key's algorithm and size, then each valid subkey's.
    pub algorithms: Vec<String>,
    /// RFC 3339, UTC.
    pub created: String,
    /// RFC 3339, UTC; `None` when the key does not expire.
    pub expires: Option<String>,
    pub user_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenPgpError {
    #[error("this is not an OpenPGP key ({0}): give an armored (.asc) or binary (.gpg) key file")]
    NotAKey(String),
    #[error("the file holds {0} keys; give one key at a time")]
    SeveralKeys(usize),
    #[error(
        "this is a public key only: the list needs its secret key (export it with `gpg --export-secret-keys --armor`)"
    )]
    NoSecret,
    #[error("the secret key is protected by a passphrase: give the passphrase")]
    NeedsPassphrase,
    #[error("the passphrase does not unlock this key: check it and try again")]
    WrongPassphrase,
    #[error("the list key is not usable: {0}")]
    Unusable(String),
    #[error("making the key failed ({0}); try again")]
    Generate(String),
    #[error("the list key cannot be renewed: {0}")]
    Renew(String),
}

pub(crate) fn policy() -> pgp::policy::StandardPolicy<'static> {
    pgp::policy::StandardPolicy::new()
}

/// "ABCD 1234 …": the fingerprint as people read it aloud.
pub fn grouped(fpr: &pgp::Fingerprint) -> String {
    super::grouped_hex(&fpr.to_hex())
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Describes a certificate as valid at `now` (falling back to its raw
/// contents when the policy rejects it, so a refusal can still show it).
pub(crate) fn describe(cert: &pgp::Cert, now: SystemTime) -> KeyInfo {
    use pgp::types::PublicKeyAlgorithm;
    let p = policy();
    let algo =
        |k: &pgp::packet::Key<pgp::packet::key::PublicParts, pgp::packet::key::UnspecifiedRole>| {
            let bits = k.mpis().bits().map(|b| format!("{b}")).unwrap_or_default();
            match k.pk_algo() {
                PublicKeyAlgorithm::RSAEncryptSign => {
                    format!("RSA {bits}")
                }
                PublicKeyAlgorithm::EdDSA | PublicKeyAlgorithm::Ed25519 => "Ed25519".into(),
                PublicKeyAlgorithm::ECDH | PublicKeyAlgorithm::X25519 => match k.mpis() {
                    pgp::crypto::mpi::PublicKey::ECDH {
                        curve: pgp::types::Curve::Cv25519,
                        ..
                    } => "Cv25519".into(),
                    pgp::crypto::mpi::PublicKey::ECDH { curve, .. } => format!("ECDH {curve}"),
                    _ => "X25519".into(),
                },
                other => other.to_string(),
            }
        };
    let mut algorithms = vec![algo(cert.primary_key().key().role_as_unspecified())];
    let (expires, user_ids) = match cert.with_policy(&p, now) {
        Ok(vc) => {
            for ka in vc.keys().subkeys() {
                algorithms.push(algo(ka.key().role_as_unspecified()));
            }
            (
                vc.primary_key().key_expiration_time().map(rfc3339),
                vc.userids()
                    .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
                    .collect(),
            )
        }
        Err(_) => (
            None,
            cert.userids()
                .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
                .collect(),
        ),
    };
    KeyInfo {
        fingerprint: grouped(&cert.fingerprint()),
        algorithms,
        created: rfc3339(cert.primary_key().key().creation_time()),
        expires,
        user_ids,
    }
}

/// Reads exactly one certificate (armored or binary) from bytes.
pub(crate) fn one_cert(bytes: &[u8]) -> Result<pgp::Cert, OpenPgpError> {
    use pgp::parse::Parse;
    let certs: Vec<_> = pgp::cert::CertParser::from_bytes(bytes)
        .map_err(|e| OpenPgpError::NotAKey(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| OpenPgpError::NotAKey(e.to_string()))?;
    match certs.len() {
        0 => Err(OpenPgpError::NotAKey("no key found in it".into())),
        1 => Ok(certs.into_iter().next().expect("one")),
        n => Err(OpenPgpError::SeveralKeys(n)),
    }
}
