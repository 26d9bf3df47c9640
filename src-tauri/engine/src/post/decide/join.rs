//! An answer to an invitation: it carries the invitation's code, the
//! invitee's public key (attached, or in an `Autocrypt` header), and is
//! signed with that key. When the code is open, the key names the invited
//! address and signed the mail, the invitee becomes a member with that key
//! and is welcomed, encrypted to it. Anything else is held for an owner,
//! who may only discard it, with the reason; nobody is added, and the keys
//! it carried for its sender wait in the key inbox with that reason.

use std::time::SystemTime;

use crate::crypto::openpgp::{self, MemberKey};
use crate::crypto::{Signed, Unwrapped};
use crate::model::{List, Protocol};
use crate::policy::Post;
use crate::post::deliver::notices::{self, Envelope};
use crate::post::deliver::signed_by_list;
use crate::post::keys::ListCrypto;
use crate::store::{MembershipChange, OfferedKey, Outcome, Settlement, Store, StoredKey};

use super::AgentError;
use super::commands::Carried;

/// Takes an answer to an invitation. One that is not taken adds nobody; the
/// keys it carried for its sender wait in the key inbox, with the reason.
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
    let (raw, content) = (carried.raw, carried.content);
    let settled = take(
        store, list, post, sender, token, crypto, carried, env, base, owner,
    )?;
    if settled.membership.is_some() {
        return Ok(settled);
    }
    let offered = refused_answer_keys(store, list, post, sender, raw, content, crypto)?
        .into_iter()
        .map(|(key, signed_by_it)| OfferedKey {
            email: sender.to_string(),
            protocol: Protocol::Openpgp,
            how: format!(
                "with an answer to an invitation that was not taken ({})",
                settled.reason
            ),
            signed_by_it,
            replaces: None,
            key,
        })
        .collect();
    Ok(Settlement {
        offered_keys: offered,
        ..settled
    })
}

/// The usable OpenPGP keys for `sender` that a refused answer carried,
/// not seen before, each with whether it signed the mail.
fn refused_answer_keys(
    store: &Store,
    list: &List,
    post: &Post,
    sender: &str,
    raw: &[u8],
    content: Option<&[u8]>,
    crypto: Option<&ListCrypto>,
) -> Result<Vec<(StoredKey, bool)>, AgentError> {
    let now = SystemTime::now();
    let mut keys: Vec<(StoredKey, bool)> = Vec::new();
    for (bytes, _) in super::offered::offered_keys(raw, content) {
        let Ok(key) = MemberKey::check(&bytes, sender, now) else {
            continue;
        };
        let fingerprint = key.fingerprint();
        if store.key_known(list, sender, &fingerprint)?
            || keys.iter().any(|(k, _)| k.fingerprint == fingerprint)
        {
            continue;
        }
        let signed_by_it = crypto.and_then(|c| c.openpgp.as_ref()).is_some_and(|pgp| {
            matches!(
                openpgp::unwrap(
                    raw,
                    &pgp.key,
                    &[(sender.to_string(), key.clone())],
                    post.poster(),
                    list.settings.max_size as usize,
                    now,
                )
                .signed,
                Signed::ByMember { .. }
            )
        });
        keys.push((
            StoredKey {
                fingerprint,
                cert: key.to_bytes(),
            },
            signed_by_it,
        ));
    }
    Ok(keys)
}

#[allow(clippy::too_many_arguments)]
fn take(
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
    let Some(crypto) = crypto else {
        return Ok(refuse(
            "the list has no key to take an invitation's answer with".into(),
        ));
    };
    let mut why_not = Vec::new();
    let joined = match openpgp_join(
        list,
        post,
        &invitation.email,
        &carried,
        crypto,
        now,
        &mut why_not,
    ) {
        Some(j) => Some(j),
        None => smime_join(
            store,
            list,
            post,
            &invitation.email,
            &carried,
            crypto,
            now,
            &mut why_not,
        )?,
    };
    let Some(joined) = joined else {
        if why_not.is_empty() {
            why_not.push(
                "it carries no public key (attached, or in an Autocrypt header) and no S/MIME signature".into(),
            );
        }
        why_not.dedup();
        return Ok(refuse(why_not.join("; ")));
    };
    let (head, entity) = notices::welcome(list, env, &joined.shown, owner);
    let (replies, welcomed) = match (joined.welcome)(&entity) {
        Some(body) => (
            vec![(invitation.email.clone(), [head, body].concat())],
            "welcomed",
        ),
        None => (
            Vec::new(),
            "not welcomed by mail (the welcome could not be made)",
        ),
    };
    let (protocol, fingerprint) = (joined.protocol, joined.key.fingerprint.clone());
    Ok(Settlement {
        reason: format!(
            "an answer to an invitation: {} joined with the {protocol} key {fingerprint}, {welcomed}",
            invitation.email
        ),
        replies,
        membership: Some(MembershipChange::Join {
            invitation: invitation.id,
            email: invitation.email.clone(),
            name: invitation.name.clone(),
            role: invitation.role,
            protocol,
            key: joined.key,
        }),
        ..base
    })
}

/// Signs a welcome as the list and encrypts it to the new member.
type Seal = Box<dyn Fn(&[u8]) -> Option<Vec<u8>>>;

/// What an answer that checked out gives: the key to store, its
/// fingerprint as the member reads it, and how to seal their welcome.
struct Joined {
    protocol: Protocol,
    key: StoredKey,
    shown: String,
    welcome: Seal,
}

/// OpenPGP: a key the mail carries (attached, or in an `Autocrypt`
/// header) that names the invited address and signed the mail.
fn openpgp_join(
    list: &List,
    post: &Post,
    email: &str,
    carried: &Carried<'_>,
    crypto: &ListCrypto,
    now: SystemTime,
    why_not: &mut Vec<String>,
) -> Option<Joined> {
    let pgp = crypto.openpgp.as_ref()?;
    for (bytes, _) in super::offered::offered_keys(carried.raw, carried.content) {
        let key = match MemberKey::check(&bytes, email, now) {
            Ok(key) => key,
            Err(refusal) => {
                why_not.push(format!("its key is refused: {refusal}"));
                continue;
            }
        };
        let read: Unwrapped = openpgp::unwrap(
            carried.raw,
            &pgp.key,
            &[(email.to_string(), key.clone())],
            post.poster(),
            list.settings.max_size as usize,
            now,
        );
        if !matches!(read.signed, Signed::ByMember { .. }) {
            why_not.push("it is not signed by the key it carries".into());
            continue;
        }
        let crypto = crypto.clone();
        let sealing = key.clone();
        return Some(Joined {
            protocol: Protocol::Openpgp,
            key: StoredKey {
                fingerprint: key.fingerprint(),
                cert: key.to_bytes(),
            },
            shown: key.info(now).fingerprint,
            welcome: Box::new(move |entity| {
                let signed = signed_by_list(&crypto, entity).ok()?;
                openpgp::encrypt_entity(&signed, &sealing).ok()
            }),
        });
    }
    None
}

/// S/MIME: the certificate in the mail's own signature, for the invited
/// address, issued by an authority the list trusts, that signed it.
#[allow(clippy::too_many_arguments)]
fn smime_join(
    store: &Store,
    list: &List,
    post: &Post,
    email: &str,
    carried: &Carried<'_>,
    crypto: &ListCrypto,
    now: SystemTime,
    why_not: &mut Vec<String>,
) -> Result<Option<Joined>, AgentError> {
    use crate::crypto::smime::{self, MemberCert};
    let Some(keys) = crypto.smime.as_ref() else {
        return Ok(None);
    };
    let anchors = crate::member_keys::anchors(store, list)?;
    for cert in smime::signature_certs(carried.raw) {
        let Ok(der) = cert.to_der() else { continue };
        let member = match MemberCert::check(&der, email, &anchors, false, now) {
            Ok(member) => member,
            Err(refusal) => {
                why_not.push(format!("its certificate is refused: {refusal}"));
                continue;
            }
        };
        let read = smime::unwrap(
            carried.raw,
            Some(&keys.key),
            &[(email.to_string(), member.clone())],
            post.poster(),
            list.settings.max_size as usize,
            now,
        );
        if !matches!(read.signed, Signed::ByMember { .. }) {
            why_not.push("it is not signed with the certificate it carries".into());
            continue;
        }
        let list_key = keys.key.clone();
        let sealing = member.clone();
        return Ok(Some(Joined {
            protocol: Protocol::Smime,
            key: StoredKey {
                fingerprint: member.fingerprint(),
                cert: member.to_bytes(),
            },
            shown: member.info().fingerprint,
            welcome: Box::new(move |entity| {
                let signed = smime::sign_entity(entity, &list_key).ok()?;
                smime::encrypt_entity(&crate::mime::crlf(&signed), &sealing, smime::Cipher::Cbc)
                    .ok()
            }),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    const CODE: &str = "abcde-fgh2j-kmnpq-rstuv-wxyz2";

    /// What an unsigned answer from `from` with `code` comes to.
    fn answer(store: &Store, list: &List, from: &str, code: &str) -> Settlement {
        let raw = format!("From: {from}\r\nSubject: join {code}\r\n\r\nHello.\r\n");
        let post = Post::read(raw.as_bytes()).unwrap();
        let env = Envelope {
            to: from,
            message_id: "<reply@example.org>",
            date: "Thu, 3 Dec 2026 09:00:00 +0000",
        };
        settle(
            store,
            list,
            &post,
            from,
            code,
            None,
            Carried {
                raw: raw.as_bytes(),
                content: None,
            },
            &env,
            Settlement::default(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn an_ended_unknown_or_foreign_code_adds_nobody_and_says_why() {
        let (_dir, store) = crate::store::test_support::store();
        let list = store
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let invitation = store
            .create_invitation(&list, "c@example.org", "", Role::Member, CODE, 7)
            .unwrap();
        let refused = |s: &Settlement, why: &str| {
            assert_eq!(s.decision, Outcome::Hold, "{}", s.reason);
            assert!(!s.approvable, "only discarded: {}", s.reason);
            assert!(s.membership.is_none(), "{}", s.reason);
            assert!(s.reason.contains(why), "{}", s.reason);
        };
        refused(
            &answer(&store, &list, "d@example.org", CODE),
            "the invitation is for c@example.org",
        );
        refused(
            &answer(
                &store,
                &list,
                "c@example.org",
                "zzzzz-zzzzz-zzzzz-zzzzz-zzzzz",
            ),
            "opens no invitation",
        );
        store.end_invitation(invitation.id).unwrap();
        refused(
            &answer(&store, &list, "c@example.org", CODE),
            "its invitation has ended: invite them again",
        );
        assert!(store.members(&list).unwrap().is_empty());
    }
}
