//! The one error of the owner API, with a code each face maps to its own
//! words or reactions (the window reloads a list removed elsewhere; the CLI
//! prints the engine's sentence).

use serde::Serialize;

use crate::agent::AgentError;
use crate::crypto::openpgp::OpenPgpError;
use crate::crypto::smime::SmimeError;
use crate::list_key::ListKeyError;
use crate::member_keys::MemberKeyError;
use crate::secrets::SecretError;
use crate::store::StoreError;
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] MemberKeyError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    OpenPgp(#[from] OpenPgpError),
    #[error(transparent)]
    Smime(#[from] SmimeError),
    #[error(transparent)]
    ListKey(#[from] ListKeyError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// An operation this list or value does not allow, with what to do.
    #[error("{0}")]
    Refused(String),
    /// A key operation on a plain list without a key of either kind.
    #[error("{0} is a plain list: it keeps no keys for its members (give it a list key first)")]
    PlainList(String),
}

/// What kind of refusal an [`OwnerError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    ListNotFound,
    MemberNotFound,
    MemberExists,
    MemberKeyExists,
    HeldNotFound,
    HeldResolved,
    HeldNotApprovable,
    /// A key or certificate the list does not take, with the reason.
    KeyRefused,
    /// A plain list keeps no member keys.
    NoKeys,
    DiskFull,
    /// A value the operation does not take (an address, a name, a setting).
    Invalid,
    /// The keychain, a server, or the list's key: what to do is in the
    /// message.
    Unavailable,
    /// The local database failed.
    Store,
}

impl ErrorCode {
    /// The code as the window receives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ListNotFound => "list-not-found",
            ErrorCode::MemberNotFound => "member-not-found",
            ErrorCode::MemberExists => "member-exists",
            ErrorCode::MemberKeyExists => "member-key-exists",
            ErrorCode::HeldNotFound => "held-not-found",
            ErrorCode::HeldResolved => "held-resolved",
            ErrorCode::HeldNotApprovable => "held-not-approvable",
            ErrorCode::KeyRefused => "key-refused",
            ErrorCode::NoKeys => "no-keys",
            ErrorCode::DiskFull => "disk-full",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Store => "store",
        }
    }
}

fn bundle_code(e: &crate::bundle::BundleError) -> ErrorCode {
    use crate::bundle::BundleError;
    match e {
        BundleError::Store(e) => store_code(e),
        BundleError::Secret(_) => ErrorCode::Unavailable,
        _ => ErrorCode::Invalid,
    }
}

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::NoSuchList(_) => ErrorCode::ListNotFound,
        StoreError::NoSuchMember { .. } => ErrorCode::MemberNotFound,
        StoreError::MemberExists { .. } => ErrorCode::MemberExists,
        StoreError::MemberKeyExists { .. } => ErrorCode::MemberKeyExists,
        StoreError::NoSuchHeldPost { .. } => ErrorCode::HeldNotFound,
        StoreError::HeldPostResolved { .. } => ErrorCode::HeldResolved,
        StoreError::NotApprovable { .. } => ErrorCode::HeldNotApprovable,
        StoreError::DiskFull => ErrorCode::DiskFull,
        StoreError::Keychain(_) => ErrorCode::Unavailable,
        StoreError::Invalid(_) | StoreError::BadSettings(_) | StoreError::ListExists(_) => {
            ErrorCode::Invalid
        }
        _ => ErrorCode::Store,
    }
}

impl OwnerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            OwnerError::Store(e) | OwnerError::Key(MemberKeyError::Store(e)) => store_code(e),
            OwnerError::Agent(AgentError::Store(e)) => store_code(e),
            OwnerError::Key(_) => ErrorCode::KeyRefused,
            OwnerError::ListKey(ListKeyError::Store(e)) => store_code(e),
            OwnerError::Agent(_) | OwnerError::Transport(_) | OwnerError::Secret(_) => {
                ErrorCode::Unavailable
            }
            OwnerError::OpenPgp(_) | OwnerError::Smime(_) | OwnerError::ListKey(_) => {
                ErrorCode::KeyRefused
            }
            OwnerError::Bundle(e) | OwnerError::Backup(crate::backup::BackupError::Bundle(e)) => {
                bundle_code(e)
            }
            OwnerError::Backup(crate::backup::BackupError::Store(e)) => store_code(e),
            OwnerError::Backup(_) => ErrorCode::Unavailable,
            OwnerError::Refused(_) => ErrorCode::Invalid,
            OwnerError::PlainList(_) => ErrorCode::NoKeys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_cause() {
        let e = OwnerError::from(StoreError::HeldPostResolved {
            id: 1,
            how: "approved".into(),
        });
        assert_eq!(e.code().as_str(), "held-resolved");
        let e = OwnerError::from(MemberKeyError::NoKey);
        assert_eq!(e.code(), ErrorCode::KeyRefused);
        let e = OwnerError::from(MemberKeyError::Store(StoreError::DiskFull));
        assert_eq!(e.code(), ErrorCode::DiskFull);
        assert!(e.to_string().contains("full"), "the store's words: {e}");
    }
}
