//! Keys that come with mail: in an `Autocrypt` header, or attached
//! (application/pgp-keys, also inside what was decrypted). A member's new
//! key in a post signed by their current key replaces it (rotation), and
//! the member is told, encrypted to the new key. Any other new key waits
//! in the key inbox for an owner's decision; nothing else is taken
//! silently.

use std::time::SystemTime;

use crate::crypto::openpgp::{self, MemberKey};
use crate::crypto::{Signed, Unwrapped};
use crate::model::{List, Member, Protocol};
use crate::post::deliver::notices::{self, Envelope};
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

/// What the OpenPGP keys in a post from `sender` come to on a list with an
/// OpenPGP key. Keys that do not name the sender, or cannot be used, are
/// passed over: they are no key of the sender's to take.
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
    let Some(pgp) = crypto.openpgp.as_ref() else {
        return Ok(found);
    };
    let now = SystemTime::now();
    let member = members
        .iter()
        .find(|m| m.email.eq_ignore_ascii_case(sender));
    let current = pgp
        .members
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(sender))
        .map(|(_, k)| k.fingerprint());
    let signed_by_current = matches!(
        &unwrapped.signed,
        Signed::ByMember { email, .. } if email.eq_ignore_ascii_case(sender)
    );
    for (bytes, came) in offered_keys(raw, unwrapped.content.as_deref()) {
        let Ok(key) = MemberKey::check(&bytes, sender, now) else {
            continue;
        };
        let fingerprint = key.fingerprint();
        if current.as_deref() == Some(fingerprint.as_str())
            || store.key_known(list, sender, &fingerprint)?
            || found
                .offered
                .iter()
                .any(|k| k.key.fingerprint == fingerprint)
        {
            continue;
        }
        let stored = StoredKey {
            fingerprint: fingerprint.clone(),
            cert: key.to_bytes(),
        };
        if let (Some(old), true, None) = (&current, signed_by_current, &found.rotation) {
            found.told = tell_rotated(list, crypto, sender, &key, old, now);
            found.rotation = Some(KeyChange {
                email: sender.to_string(),
                protocol: Protocol::Openpgp,
                old: old.clone(),
                key: stored,
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
    Ok(found)
}

/// The mail that tells a member their new key replaced the old one:
/// signed by the list, encrypted to the new key.
fn tell_rotated(
    list: &List,
    crypto: &ListCrypto,
    member: &str,
    new: &MemberKey,
    old: &str,
    now: SystemTime,
) -> Option<(String, Vec<u8>)> {
    let domain = list.address.rsplit('@').next().unwrap_or("localhost");
    let token = crate::store::sha256_hex(new.fingerprint().as_bytes());
    let message_id = format!("<conclave.new-key.{}@{domain}>", &token[..24]);
    let date = chrono::Utc::now().to_rfc2822();
    let env = Envelope {
        to: member,
        message_id: &message_id,
        date: &date,
    };
    let (head, entity) = notices::key_replaced(
        list,
        &env,
        &new.info(now).fingerprint,
        &crate::crypto::grouped_hex(old),
    );
    let signed = signed_by_list(crypto, &entity).ok()?;
    let body = openpgp::encrypt_entity(&signed, new).ok()?;
    Some((member.to_string(), [head, body].concat()))
}
