//! A renewed list key goes to every member once (signed by the list, the
//! OpenPGP key attached), so that their mail programs take its new expiry
//! before the old one runs out and they can go on writing to the list.
//! Members told are recorded one by one: a run stopped midway goes on
//! where it stopped.

use super::reminders::{Direct, log};
use super::{AgentError, ListReport};
use crate::model::Protocol;
use crate::post::deliver::{notices, signed_by_list};
use crate::post::send::Sending;
use crate::post::with_store;
use crate::transport::Servers;
use crate::transport::smtp::SendOutcome;

pub(crate) async fn send_due<S: Servers>(
    sending: &Sending<'_, S>,
    report: &mut ListReport,
) -> Result<(), AgentError> {
    let Some(crypto) = sending.crypto.clone() else {
        return Ok(());
    };
    if report.waiting_for_limit > 0 {
        return Ok(());
    }
    let list = sending.list.clone();
    let due = with_store(&sending.store, move |s| s.announcements_due(&list)).await?;
    if due.is_empty() {
        return Ok(());
    }
    let mut direct = Direct::new(sending);
    'all: for a in due {
        let openpgp = match a.protocol {
            Protocol::Smime => None,
            _ => crypto
                .openpgp
                .as_ref()
                .map(|p| p.key.public_armored().into_bytes()),
        };
        let key_line = match a.protocol {
            Protocol::Smime => format!("S/MIME certificate SHA-256 {}", a.fingerprint),
            _ => format!("OpenPGP key {}", crate::crypto::grouped_hex(&a.fingerprint)),
        };
        let domain = sending
            .list
            .address
            .rsplit('@')
            .next()
            .unwrap_or("localhost");
        for member in &a.to {
            let message_id = format!(
                "<conclave.renewed.{}.{}@{domain}>",
                a.id,
                crate::store::now()
            );
            let date = chrono::Utc::now().to_rfc2822();
            let env = notices::Envelope {
                to: member,
                message_id: &message_id,
                date: &date,
            };
            let (head, entity) = notices::key_renewed(
                &sending.list,
                &env,
                &key_line,
                &a.expires,
                openpgp.as_deref(),
            );
            // Signed by the renewed key itself: an S/MIME certificate
            // travels in its signature.
            let signed = match (a.protocol, &crypto.smime, &crypto.openpgp) {
                (Protocol::Smime, Some(s), _) => {
                    crate::crypto::smime::sign_entity(&entity, &s.key).map_err(|e| e.to_string())
                }
                (Protocol::Openpgp, _, Some(p)) => {
                    crate::crypto::openpgp::sign_entity(&entity, &p.key).map_err(|e| e.to_string())
                }
                _ => signed_by_list(&crypto, &entity).map_err(|e| e.to_string()),
            };
            let message = match signed {
                Ok(signed) => [head, signed].concat(),
                Err(e) => {
                    log(
                        sending,
                        &format!("cannot write the renewed key's mail: {e}"),
                    )
                    .await?;
                    break 'all;
                }
            };
            match direct.send(member, &message).await? {
                SendOutcome::Sent => {
                    let (id, m) = (a.id, member.clone());
                    with_store(&sending.store, move |s| s.record_announced(id, &m)).await?;
                    report.announced += 1;
                }
                SendOutcome::Limited(_) => break 'all,
                SendOutcome::Retry(why) | SendOutcome::Failed(why) => {
                    log(
                        sending,
                        &format!("the renewed key's mail to {member} did not go out ({why}): tried again next run"),
                    )
                    .await?;
                }
            }
        }
    }
    direct.quit().await;
    if report.announced > 0 {
        let (list, n) = (sending.list.clone(), report.announced);
        with_store(&sending.store, move |s| {
            s.log(
                list.id,
                None,
                crate::store::ActivityKind::Delivery,
                &format!("the renewed list key mailed to {n} member(s)"),
            )
        })
        .await?;
    }
    Ok(())
}
