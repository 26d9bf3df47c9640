//! Building what each member receives: a plain list's copy, the same for
//! all, or a protected list's, signed once by the list and encrypted to each
//! member (MIME in [`render`]); and the mail the list writes itself
//! ([`notices`]).

pub mod notices;
pub mod render;

use std::sync::Arc;
use std::time::SystemTime;

use crate::crypto::openpgp::{self, MemberKey};
use crate::crypto::smime::{self, MemberCert};
use crate::crypto::{Encrypted, Signed, Unwrapped};
use crate::model::{List, Member, Protocol, Requirement};
use crate::policy::Post;

use super::keys::ListCrypto;
use super::read::readable_key;
use render::{Author, ListHeaders, Protection};

/// What every copy of one run names: the list's own header fields, and the
/// members whose names the copies carry.
pub(crate) struct Masthead {
    pub(crate) headers: ListHeaders,
    pub(crate) members: Vec<Member>,
}

/// A post made ready for its copies: the clear headers of encrypted and of
/// clear copies, and per protocol the list has, what goes under them. What
/// is encrypted and what is only signed differ (RFC 9788: the encrypted
/// payload says what its clear header hides), and each is built only when
/// some member gets it.
pub(crate) struct Prepared {
    encrypted_head: Vec<u8>,
    clear_head: Vec<u8>,
    /// It reached the list encrypted: no clear copy exists.
    arrived_encrypted: bool,
    openpgp: Option<PreparedOpenPgp>,
    smime: Option<PreparedSmime>,
}

struct PreparedOpenPgp {
    /// The payload (signed by the list when it should be) for clear copies.
    clear: Option<Vec<u8>>,
    /// The payload encrypted once for the whole fan-out.
    shared: Option<openpgp::SharedPayload>,
}

struct PreparedSmime {
    clear: Option<Vec<u8>>,
    /// The signed (or unsigned) payload of encrypted copies.
    encrypted: Option<Vec<u8>>,
    /// That payload encrypted once for the members who get S/MIME copies;
    /// empty when it could not be (each copy is then enveloped alone).
    shared: Vec<smime::SharedPayload>,
}

/// Why a copy could not be made. The delivery fails with this reason (the
/// owner reads it in the activity log); the post's other copies go on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CopyError {
    #[error("the post's content is no longer stored")]
    Gone,
    #[error("the post cannot be read: {0}")]
    Unreadable(String),
    #[error("the post can no longer be decrypted with the list key")]
    NoLongerDecrypts,
    #[error("signing with the list key failed: {0}")]
    Sign(String),
    #[error("encrypting to {member}'s key failed: {reason}")]
    Encrypt { member: String, reason: String },
    #[error("{0} has no valid key, and the list sends only encrypted (distrib-encrypt force)")]
    NoKeyUnderForce(String),
    #[error("the post was not prepared for this kind of copy")]
    NotPrepared,
    #[error("the list has no key to sign with")]
    NoListKey,
    #[error("the answer was not written")]
    AnswerMissing,
}

fn sign_failed(e: impl std::fmt::Display) -> CopyError {
    CopyError::Sign(e.to_string())
}

/// One member's copy, or the word that they get a notice instead.
pub(crate) enum Copy {
    Post(Vec<u8>),
    /// The post arrived encrypted and the list has no usable key of theirs.
    KeylessNotice,
}

/// Makes a post ready for its copies from what reading it found (`post`,
/// `unwrapped`); `raw` is the post as it arrived, whose header the copies
/// keep.
pub(crate) fn prepare(
    raw: &[u8],
    post: &Post,
    unwrapped: &Unwrapped,
    list: &List,
    crypto: &ListCrypto,
    masthead: &Masthead,
    fallback_id: &str,
) -> Result<Arc<Prepared>, CopyError> {
    let arrived_encrypted = unwrapped.encrypted == Encrypted::ForList;
    if matches!(
        unwrapped.encrypted,
        Encrypted::NotForList | Encrypted::Broken(_)
    ) {
        return Err(CopyError::NoLongerDecrypts);
    }
    // Copies name who signed, when a member's key did (an owner approved
    // the post if From said otherwise), else the single sender.
    let author = match &unwrapped.signed {
        Signed::ByMember { email, .. } | Signed::NotTheSender { email, .. } => {
            Author::named(email, &masthead.members)
        }
        _ => post
            .poster()
            .map(|p| Author::named(p, &masthead.members))
            .unwrap_or_else(|| Author::the_list(list)),
    };
    let note = match &unwrapped.signed {
        Signed::ByMember { email, fingerprint } => {
            let made = unwrapped.signature_time.map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            });
            Some(render::signature_note(
                email,
                &readable_key(raw, fingerprint),
                made.as_deref(),
                arrived_encrypted,
            ))
        }
        _ => None,
    };
    let content = match &unwrapped.content {
        Some(content) => crate::mime::crlf(content),
        None => crate::mime::crlf(&render::entity_of(raw)),
    };
    let (payload, inner_subject) =
        render::payload(&content, note.as_deref(), &list.settings.footer);
    let heads = render::copy_headers(
        raw,
        inner_subject.as_deref(),
        list,
        &masthead.headers,
        &author,
        fallback_id,
    );

    let sign = list.settings.distrib_sign;
    let encrypt_any = list.settings.distrib_encrypt != Requirement::No || arrived_encrypted;
    let clear_any = !arrived_encrypted && list.settings.distrib_encrypt != Requirement::Force;
    let encrypted_payload = encrypt_any.then(|| {
        render::protect_headers(
            &payload,
            &heads.inner,
            Protection::Encrypted,
            &heads.encrypted,
        )
    });
    // A clear copy the list does not sign is an ordinary message: nothing
    // in it is protected, so it carries no inner header.
    let clear_payload = clear_any.then(|| match sign {
        true => render::protect_headers(&payload, &heads.inner, Protection::Signed, &heads.clear),
        false => payload.clone(),
    });

    let openpgp = match &crypto.openpgp {
        None => None,
        Some(p) => {
            let signed = |entity: &[u8]| -> Result<Vec<u8>, CopyError> {
                if sign {
                    openpgp::sign_entity(entity, &p.key).map_err(sign_failed)
                } else {
                    Ok(entity.to_vec())
                }
            };
            let clear = clear_payload.as_deref().map(signed).transpose()?;
            let shared = match &encrypted_payload {
                None => None,
                Some(e) => Some(openpgp::SharedPayload::new(&signed(e)?).map_err(sign_failed)?),
            };
            Some(PreparedOpenPgp { clear, shared })
        }
    };
    let smime = match &crypto.smime {
        None => None,
        Some(s) => {
            let signed = |entity: &[u8]| -> Result<Vec<u8>, CopyError> {
                if sign {
                    smime::sign_entity(entity, &s.key).map_err(sign_failed)
                } else {
                    Ok(crate::mime::crlf(entity))
                }
            };
            let clear = clear_payload.as_deref().map(signed).transpose()?;
            let encrypted = encrypted_payload.as_deref().map(signed).transpose()?;
            let shared = match &encrypted {
                Some(entity) => crypto.smime_envelopes(entity, s),
                None => Vec::new(),
            };
            Some(PreparedSmime {
                clear,
                encrypted,
                shared,
            })
        }
    };
    Ok(Arc::new(Prepared {
        encrypted_head: render::head_bytes(&heads.encrypted),
        clear_head: render::head_bytes(&heads.clear),
        arrived_encrypted,
        openpgp,
        smime,
    }))
}

/// One member's copy, in the protocol of the key the member has (the
/// list's own protocol first when they have both): encrypted to that key
/// when the list says so or the post arrived encrypted, else the clear
/// payload. A member without a usable key gets nothing under
/// distrib-encrypt force (the error says why), and a notice instead of a
/// post that arrived encrypted.
pub(crate) fn copy_for(
    prepared: &Prepared,
    list: &List,
    crypto: &ListCrypto,
    member: &str,
) -> Result<Copy, CopyError> {
    enum Route<'a> {
        OpenPgp(&'a MemberKey, &'a PreparedOpenPgp),
        Smime(&'a MemberCert, &'a PreparedSmime),
    }
    let now = SystemTime::now();
    let pgp = crypto
        .openpgp_key(member, now)
        .zip(prepared.openpgp.as_ref())
        .map(|(k, p)| Route::OpenPgp(k, p));
    let cms = crypto
        .smime_cert(member, now)
        .zip(prepared.smime.as_ref())
        .map(|(c, s)| Route::Smime(c, s));
    let route = if crypto.prefers == Protocol::Smime {
        cms.or(pgp)
    } else {
        pgp.or(cms)
    };
    let encrypt = list.settings.distrib_encrypt != Requirement::No || prepared.arrived_encrypted;
    let not_prepared = || CopyError::NotPrepared;
    let encrypt_failed = |e: &dyn std::fmt::Display| CopyError::Encrypt {
        member: member.to_string(),
        reason: e.to_string(),
    };
    let (head, body) = match route {
        Some(Route::OpenPgp(key, p)) if encrypt => {
            let shared = p.shared.as_ref().ok_or_else(not_prepared)?;
            (
                &prepared.encrypted_head,
                shared.copy_for(key).map_err(|e| encrypt_failed(&e))?,
            )
        }
        Some(Route::Smime(cert, s)) if encrypt => {
            let body = match s.shared.iter().find_map(|shared| shared.copy_for(member)) {
                Some(copy) => copy.map_err(|e| encrypt_failed(&e))?,
                None => {
                    let entity = s.encrypted.as_ref().ok_or_else(not_prepared)?;
                    let gcm = crypto
                        .smime
                        .as_ref()
                        .is_some_and(|k| k.gcm.iter().any(|m| m.eq_ignore_ascii_case(member)));
                    smime::encrypt_entity(
                        entity,
                        cert,
                        if gcm {
                            smime::Cipher::Gcm
                        } else {
                            smime::Cipher::Cbc
                        },
                    )
                    .map_err(|e| encrypt_failed(&e))?
                }
            };
            (&prepared.encrypted_head, body)
        }
        None if list.settings.distrib_encrypt == Requirement::Force => {
            return Err(CopyError::NoKeyUnderForce(member.to_string()));
        }
        None if prepared.arrived_encrypted => return Ok(Copy::KeylessNotice),
        // A clear copy, signed in the protocol the member can check.
        Some(Route::OpenPgp(_, p)) => (
            &prepared.clear_head,
            p.clear.clone().ok_or_else(not_prepared)?,
        ),
        Some(Route::Smime(_, s)) => (
            &prepared.clear_head,
            s.clear.clone().ok_or_else(not_prepared)?,
        ),
        None => {
            let pgp_clear = prepared.openpgp.as_ref().and_then(|p| p.clear.clone());
            let cms_clear = prepared.smime.as_ref().and_then(|s| s.clear.clone());
            let body = if crypto.prefers == Protocol::Smime {
                cms_clear.or(pgp_clear)
            } else {
                pgp_clear.or(cms_clear)
            };
            (&prepared.clear_head, body.ok_or(CopyError::NoListKey)?)
        }
    };
    Ok(Copy::Post([head.as_slice(), &body].concat()))
}

/// The notice a member without a usable key gets instead of a post that
/// arrived encrypted: signed by the list (in its own protocol first), with
/// no word of the post.
pub(crate) fn keyless_notice(
    list: &List,
    crypto: &ListCrypto,
    masthead: &Masthead,
    env: &notices::Envelope<'_>,
) -> Result<Vec<u8>, CopyError> {
    let key = crypto.openpgp.as_ref().map(|p| p.key.public_armored());
    let (head, entity) = notices::keyless_notice(
        list,
        env,
        masthead.headers.owner.as_deref(),
        key.as_deref().map(str::as_bytes),
    );
    Ok([head.as_slice(), &signed_by_list(crypto, &entity)?].concat())
}

/// A MIME entity the list writes itself, signed with its key (its own
/// protocol's first).
pub(crate) fn signed_by_list(crypto: &ListCrypto, entity: &[u8]) -> Result<Vec<u8>, CopyError> {
    match (crypto.prefers, &crypto.openpgp, &crypto.smime) {
        (Protocol::Smime, _, Some(s)) | (_, None, Some(s)) => {
            smime::sign_entity(entity, &s.key).map_err(sign_failed)
        }
        (_, Some(p), _) => openpgp::sign_entity(entity, &p.key).map_err(sign_failed),
        (_, None, None) => Err(CopyError::NoListKey),
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::SmimeKeys;
    use super::*;

    #[test]
    fn smime_copies_share_one_encryption_of_the_post() {
        let key = smime::ListKey::generate("list@example.org", smime::KeyAlgo::P256).unwrap();
        let member = |email: &str| {
            let id = smime::ListKey::generate(email, smime::KeyAlgo::P256).unwrap();
            (
                email.to_string(),
                MemberCert::from_stored(&id.cert().to_der().unwrap()).unwrap(),
            )
        };
        let members = vec![
            member("ann@example.org"),
            member("bob@example.org"),
            member("cy@example.org"),
        ];
        let crypto = ListCrypto {
            prefers: Protocol::Smime,
            openpgp: None,
            smime: Some(SmimeKeys {
                key,
                members,
                gcm: vec!["cy@example.org".into()],
            }),
        };
        let list = List {
            id: 1,
            address: "list@example.org".into(),
            name: "L".into(),
            protocol: Protocol::Smime,
            paused: false,
            settings: crate::model::ListSettings::defaults_for("L", crate::model::Protocol::Plain),
        };
        let raw = b"From: ann@example.org\r\nTo: list@example.org\r\nSubject: s\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n";
        let masthead = Masthead {
            headers: ListHeaders::default(),
            members: vec![],
        };
        let read = super::super::read::ReadPost::again(raw, Some(&crypto), 1 << 20).unwrap();
        let unwrapped = read.unwrapped.as_ref().unwrap();
        let prepare = |list: &List| {
            prepare(
                raw,
                &read.post,
                unwrapped,
                list,
                &crypto,
                &masthead,
                "<f@example.org>",
            )
        };
        let prepared = prepare(&list).unwrap();
        // One envelope for the CBC readers, one for the GCM reader.
        let shared = &prepared.smime.as_ref().unwrap().shared;
        assert_eq!(shared.len(), 2);
        for email in ["ann@example.org", "bob@example.org", "cy@example.org"] {
            assert!(
                shared.iter().filter(|s| s.has(email)).count() == 1,
                "{email}"
            );
            let Copy::Post(copy) = copy_for(&prepared, &list, &crypto, email).unwrap() else {
                panic!("{email} has a key")
            };
            let text = String::from_utf8_lossy(&copy);
            let kind = if email == "cy@example.org" {
                "authEnveloped-data"
            } else {
                "smime-type=enveloped-data"
            };
            assert!(text.contains(kind), "{email}: {text}");
        }
        // Nothing to share when the list sends clear copies.
        let mut clear = list.clone();
        clear.settings.distrib_encrypt = Requirement::No;
        let prepared = prepare(&clear).unwrap();
        assert!(prepared.smime.as_ref().unwrap().shared.is_empty());
    }
}
