//! Keys that come with mail: in an `Autocrypt` header, or attached
//! (application/pgp-keys, also inside what was decrypted), and S/MIME
//! certificates in a member's signature. A member's new key replaces their
//! current one by itself (rotation) when the post is signed by the current
//! key, or the current key certified the new one, or (S/MIME, under
//! `cert-auto-update yes`) it is a renewed certificate from an authority
//! the list trusts that signed the post; the member is told, encrypted to
//! the new key. Any other new key waits in the key inbox for an owner's
//! decision; nothing else is taken silently.

use std::time::SystemTime;

use crate::crypto::openpgp::{self, MemberKey};
use crate::crypto::{Signed, Unwrapped};
use crate::model::{List, Member, Protocol};
use crate::post::deliver::notices::{self, Envelope, KeyCame};
use crate::post::deliver::signed_by_list;
use crate::post::keys::ListCrypto;
use crate::store::{KeyChange, OfferedKey, Store, StoredKey};

use super::AgentError;

/// What the keys a post carried come to.
#[derive(Default)]
pub(super) struct Found {
    pub offered: Vec<OfferedKey>,
    pub rotation: Option<KeyChange>,
    /// The member told of their rotated key: (address, message).
    pub told: Option<(String, Vec<u8>)>,
}

/// The public keys a mail carries, attached then in an `Autocrypt` header,
/// each with how it came.
pub(super) fn offered_keys(raw: &[u8], content: Option<&[u8]>) -> Vec<(Vec<u8>, &'static str)> {
    use mail_parser::MimeHeaders;
    let mut keys: Vec<(Vec<u8>, &'static str)> = Vec::new();
    for bytes in content.into_iter().chain(std::iter::once(raw)) {
        let Some(message) = mail_parser::MessageParser::default().parse(bytes) else {
            continue;
        };
        for part in message.parts.iter() {
            if part.is_content_type("application", "pgp-keys") {
                let body = part.contents().to_vec();
                if !keys.iter().any(|(k, _)| *k == body) {
                    keys.push((body, "attached"));
                }
            }
        }
    }
    if let Some(keydata) = autocrypt_keydata(raw) {
        keys.push((keydata, "in an Autocrypt header"));
    }
    keys
}

/// The key in an `Autocrypt` header (autocrypt.org, level 1).
fn autocrypt_keydata(raw: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let head = crate::mime::split_head(raw).0;
    let value = crate::mime::header(head, "Autocrypt")?;
    let data = value
        .split(';')
        .map(str::trim)
        .find_map(|attr| attr.strip_prefix("keydata="))?;
    let clean: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// What the keys in a post from `sender` come to: OpenPGP keys on a list
/// with an OpenPGP key, a member's S/MIME certificate on a list with an
/// S/MIME key.
pub(super) fn judge_offered(
    store: &Store,
    list: &List,
    sender: &str,
    members: &[Member],
    raw: &[u8],
    unwrapped: &Unwrapped,
    crypto: &ListCrypto,
) -> Result<Found, AgentError> {
    let mut found = Found::default();
    let post = Offer {
        store,
        list,
        sender,
        members,
        raw,
        unwrapped,
        crypto,
        now: SystemTime::now(),
    };
    if let Some(pgp) = crypto.openpgp.as_ref() {
        openpgp_offered(&post, pgp, &mut found)?;
    }
    smime_offered(&post, &mut found)?;
    Ok(found)
}

/// A post and what reading it found, as the keys it carries are judged.
struct Offer<'a> {
    store: &'a Store,
    list: &'a List,
    sender: &'a str,
    members: &'a [Member],
    raw: &'a [u8],
    unwrapped: &'a Unwrapped,
    crypto: &'a ListCrypto,
    now: SystemTime,
}

/// The OpenPGP keys in a post. Keys that do not name the sender, or cannot
/// be used, are passed over: they are no key of the sender's to take.
fn openpgp_offered(
    post: &Offer<'_>,
    pgp: &crate::post::keys::OpenPgpKeys,
    found: &mut Found,
) -> Result<(), AgentError> {
    let Offer {
        list,
        sender,
        members,
        raw,
        unwrapped,
        crypto,
        now,
        ..
    } = *post;
    let member = members
        .iter()
        .find(|m| m.email.eq_ignore_ascii_case(sender));
    let current_key = pgp
        .members
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(sender))
        .map(|(_, k)| k);
    let current = current_key.map(MemberKey::fingerprint);
    let signed_by_current = matches!(
        &unwrapped.signed,
        Signed::ByMember { email, .. } if email.eq_ignore_ascii_case(sender)
    );
    for (bytes, came) in offered_keys(raw, unwrapped.content.as_deref()) {
        let Ok(key) = MemberKey::check(&bytes, sender, now) else {
            continue;
        };
        let fingerprint = key.fingerprint();
        if seen_before(post, current.as_deref(), &fingerprint, found)? {
            continue;
        }
        let stored = StoredKey {
            fingerprint: fingerprint.clone(),
            cert: key.to_bytes(),
        };
        // The member's own word for it: a post signed by their current
        // key, or a certification of the new key by it.
        let because = if signed_by_current {
            Some((
                "it came in their post signed by the old one",
                KeyCame::SignedByOld,
            ))
        } else if current_key.is_some_and(|k| k.certifies(&bytes, sender, now)) {
            Some(("their old key certified it", KeyCame::CertifiedByOld))
        } else {
            None
        };
        if let (Some(old), Some((because, came)), None) = (&current, because, &found.rotation) {
            found.told = tell_rotated(list, crypto, sender, &key, old, came, now);
            found.rotation = Some(KeyChange {
                email: sender.to_string(),
                protocol: Protocol::Openpgp,
                old: old.clone(),
                key: stored,
                because: because.into(),
            });
            continue;
        }
        // Whether this key signed the mail: read once more with it alone.
        let signed_by_it = matches!(
            openpgp::unwrap(
                raw,
                &pgp.key,
                &[(sender.to_string(), key.clone())],
                Some(sender),
                list.settings.max_size as usize,
                now,
            )
            .signed,
            Signed::ByMember { .. }
        );
        let whose = match (member, &current) {
            (Some(_), Some(_)) => "a member's post not signed by their current key",
            (Some(_), None) => "a post of a member without a key",
            (None, _) => "mail from someone who is not a member",
        };
        found.offered.push(OfferedKey {
            email: sender.to_string(),
            protocol: Protocol::Openpgp,
            key: stored,
            how: format!("{came}, on {whose}"),
            signed_by_it,
            replaces: current.clone(),
        });
    }
    Ok(())
}

/// Whether a key that came with the post is nothing new: the sender's
/// current key, one the key inbox has seen (waiting or decided), or one
/// this post already offered.
fn seen_before(
    post: &Offer<'_>,
    current: Option<&str>,
    fingerprint: &str,
    found: &Found,
) -> Result<bool, AgentError> {
    Ok(current == Some(fingerprint)
        || post.store.key_known(post.list, post.sender, fingerprint)?
        || found
            .offered
            .iter()
            .any(|k| k.key.fingerprint == fingerprint))
}

/// A member's new S/MIME certificate: one for their address, from an
/// authority the list trusts, that signed their post. A renewal replaces
/// their current certificate under `cert-auto-update yes`, else it waits in
/// the key inbox, as does a keyless member's first certificate. Certificates
/// of people who are not members are theirs to bring with an invitation.
fn smime_offered(post: &Offer<'_>, found: &mut Found) -> Result<(), AgentError> {
    use crate::crypto::smime::{self, MemberCert};
    let Offer {
        store,
        list,
        sender,
        members,
        raw,
        unwrapped,
        crypto,
        now,
    } = *post;
    let Some(keys) = crypto.smime.as_ref() else {
        return Ok(());
    };
    if !members.iter().any(|m| m.email.eq_ignore_ascii_case(sender)) {
        return Ok(());
    }
    let current = keys
        .members
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(sender))
        .map(|(_, c)| c.fingerprint());
    // A post the current certificate signed brings nothing new.
    if current.is_some() && matches!(&unwrapped.signed, Signed::ByMember { .. }) {
        return Ok(());
    }
    let mut candidates = smime::signature_certs(raw);
    if let Some(content) = unwrapped.content.as_deref() {
        candidates.extend(smime::signature_certs(content));
    }
    if candidates.is_empty() {
        return Ok(());
    }
    let anchors = crate::member_keys::anchors(store, list)?;
    for cert in candidates {
        let Ok(der) = cert.to_der() else { continue };
        let Ok(member) = MemberCert::check(&der, sender, &anchors, false, now) else {
            continue;
        };
        let fingerprint = member.fingerprint();
        if seen_before(post, current.as_deref(), &fingerprint, found)? {
            continue;
        }
        let read = smime::unwrap(
            raw,
            Some(&keys.key),
            &[(sender.to_string(), member.clone())],
            Some(sender),
            list.settings.max_size as usize,
            now,
        );
        if !matches!(read.signed, Signed::ByMember { .. }) {
            continue;
        }
        let stored = StoredKey {
            fingerprint: fingerprint.clone(),
            cert: member.to_bytes(),
        };
        if let (Some(old), true, None) = (&current, list.settings.cert_auto_update, &found.rotation)
        {
            found.told = tell_renewed(list, keys, sender, &member, old);
            found.rotation = Some(KeyChange {
                email: sender.to_string(),
                protocol: Protocol::Smime,
                old: old.clone(),
                key: stored,
                because: "a renewed certificate for their address, from an authority the list trusts, signed their post (cert-auto-update yes)".into(),
            });
            continue;
        }
        let whose = if current.is_some() {
            "a member's renewed certificate (cert-auto-update no)"
        } else {
            "a member without a certificate"
        };
        found.offered.push(OfferedKey {
            email: sender.to_string(),
            protocol: Protocol::Smime,
            key: stored,
            how: format!("in the S/MIME signature of a post, from {whose}"),
            signed_by_it: true,
            replaces: current.clone(),
        });
    }
    Ok(())
}

/// The mail that tells a member their renewed certificate replaced the old
/// one: signed by the list, encrypted to the new certificate.
fn tell_renewed(
    list: &List,
    keys: &crate::post::keys::SmimeKeys,
    member: &str,
    new: &crate::crypto::smime::MemberCert,
    old: &str,
) -> Option<(String, Vec<u8>)> {
    use crate::crypto::smime;
    let (head, entity) = notice_of_new_key(
        list,
        member,
        &new.fingerprint(),
        KeyCame::RenewedCertificate,
        &new.info().fingerprint,
        old,
    );
    let signed = smime::sign_entity(&entity, &keys.key).ok()?;
    let body = smime::encrypt_entity(&crate::mime::crlf(&signed), new, smime::Cipher::Cbc).ok()?;
    Some((member.to_string(), [head, body].concat()))
}

/// The head and text of the mail telling `member` of their new key.
fn notice_of_new_key(
    list: &List,
    member: &str,
    fingerprint: &str,
    came: KeyCame,
    shown_new: &str,
    old: &str,
) -> (Vec<u8>, Vec<u8>) {
    let domain = list.address.rsplit('@').next().unwrap_or("localhost");
    let token = crate::store::sha256_hex(fingerprint.as_bytes());
    let message_id = format!("<conclave.new-key.{}@{domain}>", &token[..24]);
    let date = chrono::Utc::now().to_rfc2822();
    let env = Envelope {
        to: member,
        message_id: &message_id,
        date: &date,
    };
    notices::key_replaced(
        list,
        &env,
        came,
        shown_new,
        &crate::crypto::grouped_hex(old),
    )
}

/// The mail that tells a member their new key replaced the old one:
/// signed by the list, encrypted to the new key.
fn tell_rotated(
    list: &List,
    crypto: &ListCrypto,
    member: &str,
    new: &MemberKey,
    old: &str,
    came: KeyCame,
    now: SystemTime,
) -> Option<(String, Vec<u8>)> {
    let (head, entity) = notice_of_new_key(
        list,
        member,
        &new.fingerprint(),
        came,
        &new.info(now).fingerprint,
        old,
    );
    let signed = signed_by_list(crypto, &entity).ok()?;
    let body = openpgp::encrypt_entity(&signed, new).ok()?;
    Some((member.to_string(), [head, body].concat()))
}
