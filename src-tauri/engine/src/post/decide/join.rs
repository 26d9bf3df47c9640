//! An answer to an invitation: it carries the invitation's code, the
//! invitee's public key (attached, or in an `Autocrypt` header), and is
//! signed with that key. When the code is open, the key names the invited
//! address and signed the mail, the invitee becomes a member with that key
//! and is welcomed, encrypted to it. Anything else is held for an owner,
//! who may only discard it, with the reason; nobody is added.

use std::time::SystemTime;

use crate::crypto::openpgp::{self, MemberKey};
use crate::crypto::{Signed, Unwrapped};
use crate::model::{List, Protocol};
use crate::policy::Post;
use crate::post::deliver::notices::{self, Envelope};
use crate::post::deliver::signed_by_list;
use crate::post::keys::ListCrypto;
use crate::store::{MembershipChange, Outcome, Settlement, Store, StoredKey};

use super::AgentError;
use super::commands::Carried;

#[allow(clippy::too_many_arguments)]
pub(super) fn settle(
    store: &Store,
    list: &List,
    post: &Post,
    sender: &str,
    token: &str,
    crypto: Option<&ListCrypto>,
    carried: Carried<'_>,
    env: &Envelope<'_>,
    base: Settlement,
    owner: Option<&str>,
) -> Result<Settlement, AgentError> {
    let refuse = |why: String| Settlement {
        decision: Outcome::Hold,
        approvable: false,
        reason: format!("an answer to an invitation from {sender}: {why}; nobody was added"),
        ..base.clone()
    };
    let now = SystemTime::now();
    let Some(invitation) = store.invitation_for_token(list, token)? else {
        return Ok(refuse("its code opens no invitation of this list".into()));
    };
    if invitation.used_at.is_some() {
        return Ok(refuse("its invitation was used already".into()));
    }
    if invitation.expires_at < crate::store::now() {
        return Ok(refuse("its invitation has ended: invite them again".into()));
    }
    if !invitation.email.eq_ignore_ascii_case(sender) {
        return Ok(refuse(format!(
            "the invitation is for {}, not for who sent it",
            invitation.email
        )));
    }
    let Some(pgp) = crypto.and_then(|c| c.openpgp.as_ref()) else {
        return Ok(refuse(
            "the list has no OpenPGP key to take an invitation's answer with".into(),
        ));
    };
    let candidates: Vec<Vec<u8>> = super::offered::offered_keys(carried.raw, carried.content)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if candidates.is_empty() {
        return Ok(refuse(
            "it carries no public key (attached, or in an Autocrypt header)".into(),
        ));
    }
    let mut why_not = Vec::new();
    let mut joined = None;
    for bytes in &candidates {
        let key = match MemberKey::check(bytes, &invitation.email, now) {
            Ok(key) => key,
            Err(refusal) => {
                why_not.push(format!("its key is refused: {refusal}"));
                continue;
            }
        };
        let read: Unwrapped = openpgp::unwrap(
            carried.raw,
            &pgp.key,
            &[(invitation.email.clone(), key.clone())],
            post.poster(),
            list.settings.max_size as usize,
            now,
        );
        match read.signed {
            Signed::ByMember { .. } => {
                joined = Some(key);
                break;
            }
            _ => why_not.push("it is not signed by the key it carries".into()),
        }
    }
    let Some(key) = joined else {
        why_not.dedup();
        return Ok(refuse(why_not.join("; ")));
    };
    let fingerprint = key.fingerprint();
    let grouped = key.info(now).fingerprint;
    let (head, entity) = notices::welcome(list, env, &grouped, owner);
    let welcome = crypto
        .ok_or(crate::post::deliver::CopyError::NoListKey)
        .and_then(|c| signed_by_list(c, &entity))
        .and_then(|signed| {
            openpgp::encrypt_entity(&signed, &key).map_err(|e| {
                crate::post::deliver::CopyError::Encrypt {
                    member: invitation.email.clone(),
                    reason: e.to_string(),
                }
            })
        });
    let (replies, welcomed) = match welcome {
        Ok(body) => (
            vec![(invitation.email.clone(), [head, body].concat())],
            "welcomed",
        ),
        Err(_) => (
            Vec::new(),
            "not welcomed by mail (the welcome could not be made)",
        ),
    };
    Ok(Settlement {
        reason: format!(
            "an answer to an invitation: {} joined with the OpenPGP key {fingerprint}, {welcomed}",
            invitation.email
        ),
        replies,
        membership: Some(MembershipChange::Join {
            invitation: invitation.id,
            email: invitation.email.clone(),
            name: invitation.name.clone(),
            role: invitation.role,
            protocol: Protocol::Openpgp,
            key: StoredKey {
                fingerprint,
                cert: key.to_bytes(),
            },
        }),
        ..base
    })
}
