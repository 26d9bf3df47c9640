//! The keys a run of a list with keys works with: the list's own (from the
//! keychain) and its members', loaded once per run; OpenPGP, S/MIME, or
//! both (a mixed list).

use std::time::SystemTime;

use crate::agent::AgentError;
use crate::crypto::openpgp::{self, ListKey, MemberKey};
use crate::crypto::smime::{self, MemberCert};
use crate::crypto::{Encrypted, Signed, Unwrapped};
use crate::model::{List, Protocol};
use crate::secrets::{self, SecretKind};
use crate::transport::servers::Servers;

use super::SharedStore;

/// An OpenPGP list's key and its members' keys.
#[derive(Clone)]
pub(crate) struct OpenPgpKeys {
    pub(crate) key: ListKey,
    pub(crate) members: Vec<(String, MemberKey)>,
}

/// An S/MIME list's key (with its certificate) and its members' certificates.
#[derive(Clone)]
pub(crate) struct SmimeKeys {
    pub(crate) key: smime::ListKey,
    pub(crate) members: Vec<(String, MemberCert)>,
    /// Members whose clients read AES-GCM.
    pub(crate) gcm: Vec<String>,
}

/// The list's keys and the members' keys, loaded once per run of a list:
/// OpenPGP, S/MIME, or both (a mixed list).
#[derive(Clone)]
pub(crate) struct ListCrypto {
    /// The list's own protocol, preferred for a member who has both kinds
    /// of key.
    pub(crate) prefers: Protocol,
    pub(crate) openpgp: Option<OpenPgpKeys>,
    pub(crate) smime: Option<SmimeKeys>,
}

fn secret_missing(list: &List) -> impl Fn(secrets::SecretError) -> AgentError + '_ {
    move |e| match e {
        secrets::SecretError::Missing(_) => AgentError::NoListKey(list.address.clone()),
        other => other.into(),
    }
}

impl ListCrypto {
    /// Loads what a protected list needs: the keys of its protocol (which
    /// must be there) and those of the other protocol if the list has
    /// them too. `None` for a plain list. The keychain is read first; the
    /// store's keys are read and parsed on the blocking pool (a few hundred
    /// members take tens of milliseconds), so that a mailbox logging in
    /// meanwhile is not held up.
    pub(crate) async fn load(
        store: &SharedStore,
        list: &List,
        servers: &impl Servers,
    ) -> Result<Option<ListCrypto>, AgentError> {
        let (has_openpgp, smime_cert) = {
            let db = super::db(store);
            (
                db.list_key(list, Protocol::Openpgp)?.is_some(),
                db.list_key(list, Protocol::Smime)?,
            )
        };
        if list.protocol == Protocol::Smime && smime_cert.is_none() {
            return Err(AgentError::NoListKey(list.address.clone()));
        }
        let secret = async |kind| {
            servers
                .list_secret(list, kind)
                .await
                .map_err(secret_missing(list))
        };
        let openpgp_secret = if list.protocol == Protocol::Openpgp || has_openpgp {
            Some(secret(SecretKind::OpenPgpListKey).await?)
        } else {
            None
        };
        let smime = match smime_cert {
            Some(cert) => Some((secret(SecretKind::SmimeListKey).await?, cert)),
            None => None,
        };
        let (store, list) = (store.clone(), list.clone());
        super::blocking(move || {
            let db = super::db(&store);
            let openpgp = match openpgp_secret {
                Some(armored) => {
                    let key = ListKey::from_keychain(&armored)
                        .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                    let members = db
                        .member_keys(&list, Protocol::Openpgp)?
                        .into_iter()
                        .filter_map(|(email, k)| {
                            MemberKey::from_stored(&k.cert).ok().map(|m| (email, m))
                        })
                        .collect();
                    Some(OpenPgpKeys { key, members })
                }
                None => None,
            };
            let smime = match smime {
                Some((pem, cert)) => {
                    let key = smime::ListKey::key_from_keychain(&pem)
                        .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                    let certs = smime::read_certs(&cert.cert)
                        .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                    let key =
                        smime::ListKey::with_key(key, certs, &list.address, SystemTime::now())
                            .map_err(|e| AgentError::BadListKey(e.to_string()))?;
                    let members = db
                        .member_keys(&list, Protocol::Smime)?
                        .into_iter()
                        .filter_map(|(email, k)| {
                            MemberCert::from_stored(&k.cert).ok().map(|m| (email, m))
                        })
                        .collect();
                    Some(SmimeKeys {
                        key,
                        members,
                        gcm: db.gcm_members(&list)?,
                    })
                }
                None => None,
            };
            if openpgp.is_none() && smime.is_none() {
                return Ok(None);
            }
            Ok(Some(ListCrypto {
                prefers: list.protocol,
                openpgp,
                smime,
            }))
        })
        .await
    }

    pub(crate) fn openpgp_key(&self, email: &str, now: SystemTime) -> Option<&MemberKey> {
        let keys = &self.openpgp.as_ref()?.members;
        keys.iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(email))
            .map(|(_, k)| k)
            .filter(|k| k.can_encrypt(now))
    }

    pub(crate) fn smime_cert(&self, email: &str, now: SystemTime) -> Option<&MemberCert> {
        let certs = &self.smime.as_ref()?.members;
        certs
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(email))
            .map(|(_, c)| c)
            .filter(|c| c.can_encrypt(now))
    }

    /// Whether `email`, holding a usable certificate, gets S/MIME rather
    /// than OpenPGP: the list's own protocol first (as [`copy_for`]).
    pub(crate) fn routes_to_smime(&self, email: &str, now: SystemTime) -> bool {
        self.prefers == Protocol::Smime || self.openpgp_key(email, now).is_none()
    }

    /// The signed entity enveloped once for everyone who gets an S/MIME
    /// copy, CBC and GCM readers apart. Should it fail (two members with
    /// one certificate, say), copies are enveloped one by one instead.
    pub(crate) fn smime_envelopes(
        &self,
        entity: &[u8],
        keys: &SmimeKeys,
    ) -> Vec<smime::SharedPayload> {
        let now = SystemTime::now();
        let mut out = Vec::new();
        for cipher in [smime::Cipher::Cbc, smime::Cipher::Gcm] {
            let group: Vec<(&str, &MemberCert)> = keys
                .members
                .iter()
                .filter(|(e, c)| c.can_encrypt(now) && self.routes_to_smime(e, now))
                .filter(|(e, _)| {
                    keys.gcm.iter().any(|g| g.eq_ignore_ascii_case(e))
                        == (cipher == smime::Cipher::Gcm)
                })
                .map(|(e, c)| (e.as_str(), c))
                .collect();
            match smime::shared_payloads(entity, &group, cipher) {
                Ok(shared) => out.extend(shared),
                Err(_) => return Vec::new(),
            }
        }
        out
    }

    /// The list's OpenPGP key as an `Autocrypt` header publishes it.
    pub(crate) fn autocrypt_keydata(&self) -> Option<String> {
        self.openpgp.as_ref().map(|p| p.key.autocrypt_keydata())
    }

    /// Whether a member can receive an encrypted copy now.
    pub(crate) fn can_encrypt_to(&self, email: &str) -> bool {
        let now = SystemTime::now();
        self.openpgp_key(email, now).is_some() || self.smime_cert(email, now).is_some()
    }

    /// Reads a post with the protocol it is written in.
    pub(crate) fn read(
        &self,
        raw: &[u8],
        from: Option<&str>,
        max: usize,
        now: SystemTime,
    ) -> Unwrapped {
        if smime::is_smime(raw) {
            return match &self.smime {
                Some(s) => smime::unwrap(raw, Some(&s.key), &s.members, from, max, now),
                // Nothing to decrypt with and no member certificates: an
                // encrypted post is for another key, a signature is no
                // member's.
                None => smime::unwrap(raw, None, &[], from, max, now),
            };
        }
        match &self.openpgp {
            Some(p) => openpgp::unwrap(raw, &p.key, &p.members, from, max, now),
            None => {
                let encrypted = if openpgp::looks_encrypted(raw) {
                    Encrypted::NotForList
                } else {
                    Encrypted::No
                };
                Unwrapped {
                    encrypted,
                    signed: Signed::No,
                    content: None,
                    signature_digest: None,
                    signature_time: None,
                }
            }
        }
    }
}
