//! Members are told, a month and a week ahead, that the list will soon no
//! longer be able to encrypt to their key, so they renew it before they
//! start missing posts. Each reminder is signed by the list and encrypted
//! to the key it is about. One that cannot go out now is tried next run;
//! one sent but not recorded (a crash in between) goes out once more at
//! most.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::{AgentError, ListReport};
use crate::crypto::{openpgp, smime};
use crate::model::Protocol;
use crate::post::deliver::{self, notices};
use crate::post::send::Sending;
use crate::post::with_store;
use crate::transport::smtp::SendOutcome;
use crate::transport::{Sender, Servers};

/// How many days ahead a member is told: the first, then the last.
pub const DAYS_AHEAD: [u32; 2] = [30, 7];

/// When one of a member's keys stops taking encrypted mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEnd {
    pub email: String,
    pub protocol: Protocol,
    pub fingerprint: String,
    pub ends: SystemTime,
}

/// The reminders due now, with how many days ahead each is: the nearest
/// of [`DAYS_AHEAD`] a key is within, unless that one was sent (a key
/// first seen a week before its end gets only the last one). Keys already
/// ended get none: posts then follow the list's rule for members without a
/// key.
pub fn due(
    ends: &[KeyEnd],
    sent: &HashSet<(String, String, u32)>,
    now: SystemTime,
) -> Vec<(KeyEnd, u32)> {
    let mut out = Vec::new();
    for k in ends {
        let Ok(left) = k.ends.duration_since(now) else {
            continue;
        };
        let Some(days) = DAYS_AHEAD
            .iter()
            .rev()
            .copied()
            .find(|d| left <= Duration::from_secs(u64::from(*d) * 86_400))
        else {
            continue;
        };
        if !sent.contains(&(k.email.to_ascii_lowercase(), k.fingerprint.clone(), days)) {
            out.push((k.clone(), days));
        }
    }
    out
}

/// Sends the reminders due on the list of `sending`, over one connection.
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
    let now = SystemTime::now();
    let mut ends = Vec::new();
    if let Some(keys) = &crypto.openpgp {
        for (email, key) in &keys.members {
            if let Some(end) = key.encrypts_until(now) {
                ends.push(KeyEnd {
                    email: email.clone(),
                    protocol: Protocol::Openpgp,
                    fingerprint: key.fingerprint(),
                    ends: end,
                });
            }
        }
    }
    if let Some(keys) = &crypto.smime {
        for (email, cert) in &keys.members {
            if cert.can_encrypt(now) {
                ends.push(KeyEnd {
                    email: email.clone(),
                    protocol: Protocol::Smime,
                    fingerprint: cert.info().fingerprint.replace(' ', ""),
                    ends: cert.not_after(),
                });
            }
        }
    }
    let list = sending.list.clone();
    let sent = with_store(&sending.store, move |s| s.reminders_sent(&list)).await?;
    let due = due(&ends, &sent, now);
    if due.is_empty() {
        return Ok(());
    }
    let mut direct = Direct::new(sending);
    for (key, days) in due {
        let (list, crypto, masthead) = (
            sending.list.clone(),
            crypto.clone(),
            sending.masthead.clone(),
        );
        let k = key.clone();
        let message = crate::post::blocking(move || {
            reminder(&list, &crypto, masthead.headers.owner.as_deref(), &k, now)
        })
        .await;
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                log(
                    sending,
                    &format!("cannot write {}'s key reminder: {e}", key.email),
                )
                .await?;
                continue;
            }
        };
        match direct.send(&key.email, &message).await? {
            SendOutcome::Sent => {
                let (list, k) = (sending.list.clone(), key.clone());
                let expires_at = unix(key.ends);
                with_store(&sending.store, move |s| {
                    s.record_reminder(&list, &k.email, &k.fingerprint, days, expires_at)?;
                    s.log(
                        list.id,
                        None,
                        crate::store::ActivityKind::Delivery,
                        &format!(
                            "told {} that their {} key ends on {} ({} days ahead)",
                            k.email,
                            k.protocol.as_str(),
                            day(k.ends),
                            days
                        ),
                    )
                })
                .await?;
                report.reminded += 1;
            }
            SendOutcome::Limited(_) => break,
            SendOutcome::Retry(why) | SendOutcome::Failed(why) => {
                log(
                    sending,
                    &format!(
                        "{}'s key reminder did not go out ({why}): tried again next run",
                        key.email
                    ),
                )
                .await?;
            }
        }
    }
    direct.quit().await;
    Ok(())
}

/// The list's own messages to members (reminders, a renewed key), over
/// one SMTP connection opened when the first goes out.
pub(super) struct Direct<'s, 'a, S: Servers> {
    sending: &'s Sending<'a, S>,
    smtp: Option<S::Sender>,
}

impl<'s, 'a, S: Servers> Direct<'s, 'a, S> {
    pub(super) fn new(sending: &'s Sending<'a, S>) -> Self {
        Direct {
            sending,
            smtp: None,
        }
    }

    pub(super) async fn send(
        &mut self,
        to: &str,
        message: &[u8],
    ) -> Result<SendOutcome, AgentError> {
        if self.smtp.as_ref().is_none_or(|s| s.is_broken()) {
            self.smtp = Some(self.sending.connection().await?);
        }
        let Some(conn) = self.smtp.as_mut() else {
            return Ok(SendOutcome::Retry("no connection".into()));
        };
        Ok(conn.send(&self.sending.list.address, to, message).await)
    }

    pub(super) async fn quit(self) {
        if let Some(conn) = self.smtp {
            conn.quit().await;
        }
    }
}

pub(super) async fn log<S: Servers>(
    sending: &Sending<'_, S>,
    said: &str,
) -> Result<(), AgentError> {
    let (list, said) = (sending.list.clone(), said.to_string());
    with_store(&sending.store, move |s| {
        s.log(list.id, None, crate::store::ActivityKind::Error, &said)
    })
    .await?;
    Ok(())
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn day(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d")
        .to_string()
}

/// The whole reminder: signed by the list, encrypted to the key it is
/// about.
fn reminder(
    list: &crate::model::List,
    crypto: &crate::post::keys::ListCrypto,
    owner: Option<&str>,
    key: &KeyEnd,
    now: SystemTime,
) -> Result<Vec<u8>, deliver::CopyError> {
    let domain = list.address.rsplit('@').next().unwrap_or("localhost");
    // Not the fingerprint itself: the head travels in the clear.
    let token = crate::store::sha256_hex(format!("{}{}", key.fingerprint, unix(now)).as_bytes());
    let message_id = format!("<conclave.key-ending.{}@{domain}>", &token[..24]);
    let date = chrono::Utc::now().to_rfc2822();
    let env = notices::Envelope {
        to: &key.email,
        message_id: &message_id,
        date: &date,
    };
    let grouped = crate::crypto::grouped_hex(&key.fingerprint);
    let days_left = key
        .ends
        .duration_since(now)
        .map(|d| d.as_secs().div_ceil(86_400) as i64)
        .unwrap_or(0);
    let ends = day(key.ends);
    let (head, entity) = notices::key_ending(
        list,
        &env,
        &notices::EndingKey {
            kind: if key.protocol == Protocol::Smime {
                "S/MIME certificate"
            } else {
                "OpenPGP key"
            },
            fingerprint: &grouped,
            ends: &ends,
            days_left,
        },
        owner,
    );
    let signed = deliver::signed_by_list(crypto, &entity)?;
    let failed = |e: &dyn std::fmt::Display| deliver::CopyError::Encrypt {
        member: key.email.clone(),
        reason: e.to_string(),
    };
    let body = match key.protocol {
        Protocol::Smime => {
            let cert = crypto
                .smime_cert(&key.email, now)
                .ok_or_else(|| failed(&"the certificate is no longer usable"))?;
            smime::encrypt_entity(&crate::mime::crlf(&signed), cert, smime::Cipher::Cbc)
                .map_err(|e| failed(&e))?
        }
        _ => {
            let member = crypto
                .openpgp_key(&key.email, now)
                .ok_or_else(|| failed(&"the key is no longer usable"))?;
            openpgp::encrypt_entity(&signed, member).map_err(|e| failed(&e))?
        }
    };
    Ok([head, body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn key(email: &str, fpr: &str, days: u64, now: SystemTime) -> KeyEnd {
        KeyEnd {
            email: email.into(),
            protocol: Protocol::Openpgp,
            fingerprint: fpr.into(),
            ends: now + Duration::from_secs(days * DAY) - Duration::from_secs(60),
        }
    }

    #[test]
    fn a_member_is_told_a_month_and_a_week_ahead_once_each() {
        let now = SystemTime::now();
        let keys = [
            key("far@example.org", "AA", 90, now),
            key("month@example.org", "BB", 25, now),
            key("week@example.org", "CC", 5, now),
        ];
        let mut sent = HashSet::new();
        let first = due(&keys, &sent, now);
        assert_eq!(
            first
                .iter()
                .map(|(k, d)| (k.email.as_str(), *d))
                .collect::<Vec<_>>(),
            vec![("month@example.org", 30), ("week@example.org", 7)],
            "the far one not yet; the week one only its last reminder"
        );
        for (k, d) in &first {
            sent.insert((k.email.clone(), k.fingerprint.clone(), *d));
        }
        assert!(due(&keys, &sent, now).is_empty(), "each once");
        // Three weeks on, the month one is within a week.
        let later = now + Duration::from_secs(21 * DAY);
        let next = due(&keys, &sent, later);
        assert_eq!(next.len(), 1);
        assert_eq!(
            (next[0].0.email.as_str(), next[0].1),
            ("month@example.org", 7)
        );
        // A new key restarts the count; an ended key is not reminded.
        let renewed = [key("week@example.org", "DD", 20, now)];
        assert_eq!(due(&renewed, &sent, now).len(), 1);
        let ended = [key("gone@example.org", "EE", 0, now)];
        assert!(due(&ended, &sent, now + Duration::from_secs(DAY)).is_empty());
    }
}
