//! Inviting someone to join by mail: a one-time code the owner passes on
//! over a channel they trust (in person, a messenger), with the list's key
//! fingerprint to compare; or, for groups that take mail as the channel,
//! mailed from the list, signed, with its key attached. The invitee answers
//! with a mail to the list that carries the code and their key, signed by
//! it (see `post::decide::join`).

use std::path::Path;

use serde::Serialize;

use super::OwnerError;
use crate::model::{List, Protocol, Role};
use crate::policy::commands::JOIN_WORD;
use crate::secrets::{self, SecretKind};
use crate::store::Store;
use crate::transport::Sender;
use crate::transport::smtp::SendOutcome;

/// An invitation made, for the owner to pass on.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct InvitationView {
    pub list: String,
    pub email: String,
    /// The code the invitee's answer carries.
    pub token: String,
    /// The list's key to compare: OpenPGP in groups of four, S/MIME the
    /// certificate's SHA-256.
    pub fingerprint: String,
    /// When it ends (RFC 3339, UTC).
    pub expires: String,
    /// What to pass on: all of the above, and what to do.
    pub text: String,
}

/// Invites `email` to the list `address` for `days` days (`None`: the
/// list's `invite-days`). The list needs a key: the invitee checks its
/// fingerprint and answers with theirs.
pub fn invite(
    store: &Store,
    address: &str,
    email: &str,
    name: &str,
    role: Role,
    days: Option<u32>,
) -> Result<InvitationView, OwnerError> {
    let list = store.list(address)?;
    // The invitee answers in the list's own protocol first.
    let (protocol, key) = match (
        store.list_key(&list, list.protocol)?,
        store.list_key(&list, Protocol::Openpgp)?,
        store.list_key(&list, Protocol::Smime)?,
    ) {
        (Some(own), _, _) => (list.protocol, own),
        (None, Some(pgp), _) => (Protocol::Openpgp, pgp),
        (None, None, Some(cms)) => (Protocol::Smime, cms),
        (None, None, None) => {
            return Err(OwnerError::Refused(format!(
                "{} has no key, and an invitation is answered with one: give the list a key first (`conclave-cli list key generate {}`)",
                list.address, list.address
            )));
        }
    };
    let days = days.unwrap_or(list.settings.invite_days);
    if !(1..=crate::model::MAX_INVITE_DAYS).contains(&days) {
        return Err(OwnerError::Refused(format!(
            "an invitation is good for 1 to {} days",
            crate::model::MAX_INVITE_DAYS
        )));
    }
    let token = secrets::new_code();
    let invitation = store.create_invitation(&list, email, name, role, token.expose(), days)?;
    let expires = rfc3339(invitation.expires_at);
    let day = expires.get(..10).unwrap_or_default().to_string();
    let fingerprint = match protocol {
        Protocol::Smime => key.fingerprint.clone(),
        _ => crate::crypto::grouped_hex(&key.fingerprint),
    };
    let text = invitation_text(
        &list,
        protocol,
        &invitation.email,
        token.expose(),
        &fingerprint,
        &day,
    );
    Ok(InvitationView {
        list: list.address.clone(),
        email: invitation.email,
        token: token.expose().clone(),
        fingerprint,
        expires,
        text,
    })
}

fn invitation_text(
    list: &List,
    protocol: Protocol,
    email: &str,
    token: &str,
    fingerprint: &str,
    day: &str,
) -> String {
    if protocol == Protocol::Smime {
        return format!(
            "You are invited to the encrypted mailing list {name} ({address}).\n\
             This invitation is for {email} and is good until {day}.\n\
             \n\
             1. The list's S/MIME certificate comes with its mails (a mail to\n   \
                {address} with the subject \"key\" brings it); check that its\n   \
                SHA-256 fingerprint is exactly:\n\
             \n      {fingerprint}\n\
             \n\
             2. From {email}, send a mail to {address} with this subject\n   \
                (or with it as the first line of the text):\n\
             \n      {JOIN_WORD} {token}\n\
             \n   \
                signed with your S/MIME certificate (Outlook: Options → Sign; Apple Mail:\n   \
                the signing button), not encrypted. Your certificate must come from an\n   \
                authority the list trusts; ask the owner which.\n\
             \n\
             The list adds you when the code, your certificate and your signature check\n\
             out, and writes back to you, encrypted to your certificate.\n",
            name = list.name,
            address = list.address,
        );
    }
    format!(
        "You are invited to the encrypted mailing list {name} ({address}).\n\
         This invitation is for {email} and is good until {day}.\n\
         \n\
         1. Get the list's key (a mail to {address} with the subject \"key\"\n   \
            brings it, or take it from the mail this text came in) and check that\n   \
            its fingerprint is exactly:\n\
         \n      {fingerprint}\n\
         \n\
         2. From {email}, send a mail to {address} with this subject\n   \
                (or with it as the first line of the text):\n\
         \n      {JOIN_WORD} {token}\n\
         \n   \
            signed with your own OpenPGP key and with your public key attached\n   \
            (Thunderbird: OpenPGP → Digitally Sign and Attach My Public Key;\n   \
            other clients: attach the file of `gpg --export --armor {email}`).\n\
         \n\
         The list adds you when the code, your key and your signature check out,\n\
         and writes back to you, encrypted to your key.\n",
        name = list.name,
        address = list.address,
    )
}

/// Mails the invitation from the list to the invitee, signed by the list:
/// with its OpenPGP key attached and in an `Autocrypt` header, or (a list
/// with only an S/MIME key) with its certificate in the signature. For
/// groups that accept mail as the channel; the code then travels as the
/// mail does.
pub async fn send(data_dir: &Path, view: &InvitationView) -> Result<(), OwnerError> {
    use crate::crypto::{openpgp, smime};
    use crate::post::deliver::notices;
    let (dir, wanted) = (data_dir.to_path_buf(), view.list.clone());
    let (list, account, public, certificate) = crate::post::blocking(move || {
        let store = Store::open(&dir)?;
        let list = store.list(&wanted)?;
        let account = store.account(&list)?;
        let public = store.list_key(&list, Protocol::Openpgp)?.map(|k| k.cert);
        let certificate = store.list_key(&list, Protocol::Smime)?.map(|k| k.cert);
        Ok::<_, crate::store::StoreError>((list, account, public, certificate))
    })
    .await?;
    let domain = list.address.rsplit('@').next().unwrap_or("localhost");
    let message_id = format!(
        "<conclave.invitation.{}@{domain}>",
        &crate::store::sha256_hex(view.token.as_bytes())[..24]
    );
    let date = chrono::Utc::now().to_rfc2822();
    let env = notices::Envelope {
        to: &view.email,
        message_id: &message_id,
        date: &date,
    };
    let message = match (public, certificate) {
        (Some(public), _) => {
            let secret = secrets::load(&list.address, SecretKind::OpenPgpListKey).await?;
            let key = openpgp::ListKey::from_keychain(&secret)?;
            let keydata = key.autocrypt_keydata();
            let (head, entity) = notices::invitation(
                &list,
                &env,
                &view.text,
                Some(notices::InvitingKey {
                    public: &public,
                    autocrypt_keydata: &keydata,
                }),
            );
            [head, openpgp::sign_entity(&entity, &key)?].concat()
        }
        (None, Some(certificate)) => {
            let secret = secrets::load(&list.address, SecretKind::SmimeListKey).await?;
            let key = smime::ListKey::with_key(
                smime::ListKey::key_from_keychain(&secret)?,
                smime::read_certs(&certificate)?,
                &list.address,
                std::time::SystemTime::now(),
            )?;
            let (head, entity) = notices::invitation(&list, &env, &view.text, None);
            [head, smime::sign_entity(&entity, &key)?].concat()
        }
        (None, None) => {
            return Err(OwnerError::Refused(format!(
                "{} has no key to sign a mailed invitation with: pass the invitation's text on yourself",
                list.address
            )));
        }
    };
    let password = secrets::load(&list.address, SecretKind::SmtpPassword).await?;
    let mut smtp = crate::transport::smtp::Outgoing::connect(
        &account.smtp,
        account.ca_pem.as_deref(),
        password.expose(),
    )
    .await?;
    let outcome = smtp.send(&list.address, &view.email, &message).await;
    smtp.quit().await;
    match outcome {
        SendOutcome::Sent => Ok(()),
        SendOutcome::Retry(why) | SendOutcome::Failed(why) | SendOutcome::Limited(why) => {
            Err(OwnerError::Refused(format!(
                "the invitation was made but not mailed ({why}): pass its text on yourself, or try `--send` again later"
            )))
        }
    }
}

/// An invitation not yet answered, as `member invitations` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenInvitation {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub made: String,
    pub expires: String,
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Invitations not yet answered nor ended, newest first.
pub fn open(store: &Store, address: &str) -> Result<Vec<OpenInvitation>, OwnerError> {
    let list = store.list(address)?;
    Ok(store
        .open_invitations(&list)?
        .into_iter()
        .map(|i| OpenInvitation {
            email: i.email,
            name: i.name,
            role: i.role,
            made: rfc3339(i.created_at),
            expires: rfc3339(i.expires_at),
        })
        .collect())
}

/// Requests to join ("subscribe" by mail) from people not yet members.
pub fn requests(
    store: &Store,
    address: &str,
) -> Result<Vec<crate::store::JoinRequest>, OwnerError> {
    let list = store.list(address)?;
    Ok(store.join_requests(&list)?)
}

/// Dismisses `email`'s request to join.
pub fn dismiss(store: &Store, address: &str, email: &str) -> Result<(), OwnerError> {
    let list = store.list(address)?;
    Ok(store.dismiss_join_request(&list, email)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredKey;

    #[test]
    fn an_invitation_is_good_for_the_list_s_invite_days_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        store
            .set_list_key(
                &list,
                Protocol::Openpgp,
                &StoredKey {
                    fingerprint: "AB".repeat(20),
                    cert: vec![],
                },
                false,
            )
            .unwrap();
        store
            .set_settings("l@example.org", &[("invite-days".into(), "30".into())])
            .unwrap();
        let days_left = |made: &InvitationView| {
            let ends = chrono::DateTime::parse_from_rfc3339(&made.expires).unwrap();
            (ends.timestamp() - crate::store::now() + 3600) / 86_400
        };
        let made = invite(
            &store,
            "l@example.org",
            "a@example.org",
            "",
            Role::Member,
            None,
        )
        .unwrap();
        assert_eq!(days_left(&made), 30);
        let made = invite(
            &store,
            "l@example.org",
            "b@example.org",
            "",
            Role::Member,
            Some(2),
        )
        .unwrap();
        assert_eq!(days_left(&made), 2);
        assert!(
            invite(
                &store,
                "l@example.org",
                "c@example.org",
                "",
                Role::Member,
                Some(91)
            )
            .is_err()
        );
    }
}
