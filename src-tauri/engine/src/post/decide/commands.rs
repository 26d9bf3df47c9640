//! Commands to the list (help, key, unsubscribe), taken as a post is
//! decided: the answer is written now and sent like any delivery, and what
//! a command changes is done in the same transaction as its settlement.
//! An address gets at most the list's `answers-a-day` answers in 24 hours:
//! a forged sender cannot turn the list into a source of mail to someone
//! else.

use crate::model::{List, Protocol};
use crate::policy::{ListCommand, Post};
use crate::post::deliver::notices::{self, Envelope, UNSUBSCRIBE_DAYS};
use crate::post::deliver::signed_by_list;
use crate::post::keys::ListCrypto;
use crate::store::{MembershipChange, Outcome, Settlement, Store};

use super::AgentError;

/// What taking `command` (from the one sender `post` names: a member, or
/// anyone for the key) records.
/// The post as it arrived and, when it reached the list encrypted, its
/// decrypted content: where an invitation's answer carries its key.
pub(super) struct Carried<'a> {
    pub raw: &'a [u8],
    pub content: Option<&'a [u8]>,
}

pub(super) fn settle(
    store: &Store,
    list: &List,
    post_id: i64,
    post: &Post,
    command: &ListCommand,
    crypto: Option<&ListCrypto>,
    carried: Carried<'_>,
) -> Result<Settlement, AgentError> {
    // decide() makes a command only of a post with one sender.
    let member = post.poster().unwrap_or_default().to_string();
    let domain = list.address.rsplit('@').next().unwrap_or("localhost");
    let message_id = format!("<conclave.reply.{}.{post_id}@{domain}>", list.id);
    let date = chrono::Utc::now().to_rfc2822();
    let env = Envelope {
        to: &member,
        message_id: &message_id,
        date: &date,
    };
    let owner = store
        .members(list)?
        .into_iter()
        .find(|m| m.role == crate::model::Role::Owner)
        .map(|m| m.email);
    let base = Settlement {
        decision: Outcome::Command,
        sender: post.sender_text(),
        subject: post.subject.clone(),
        ..Settlement::default()
    };
    let answered = store.answers_since(list, &member, crate::store::now() - 86_400)?;
    if answered >= list.settings.answers_a_day {
        return Ok(Settlement {
            reason: format!(
                "{} from {member}: not answered, the list wrote to them {answered} times in the last 24 hours",
                command.describe()
            ),
            ..base
        });
    }
    let keys = || -> Result<Vec<String>, AgentError> {
        let mut keys = Vec::new();
        for protocol in [Protocol::Openpgp, Protocol::Smime] {
            if let Some(key) = store.list_key(list, protocol)? {
                keys.push(key_line(protocol, &key.fingerprint));
            }
        }
        Ok(keys)
    };
    Ok(match command {
        ListCommand::Subscribe => {
            let is_member = store
                .members(list)?
                .iter()
                .any(|m| m.email.eq_ignore_ascii_case(&member));
            if is_member {
                Settlement {
                    reason: format!("{}: {member} is a member already", command.describe()),
                    replies: vec![(
                        member.clone(),
                        notices::render_join_request(list, &env, owner.as_deref(), true),
                    )],
                    ..base
                }
            } else {
                let name = post
                    .from
                    .first()
                    .map(|m| m.name.trim().to_string())
                    .unwrap_or_default();
                Settlement {
                    reason: format!(
                        "{}: {member} asked to join; it waits for an owner (`conclave-cli member requests {}`)",
                        command.describe(),
                        list.address
                    ),
                    replies: vec![(
                        member.clone(),
                        notices::render_join_request(list, &env, owner.as_deref(), false),
                    )],
                    membership: Some(MembershipChange::RequestJoin {
                        email: member.clone(),
                        name,
                    }),
                    ..base
                }
            }
        }
        ListCommand::Join { token } => super::join::settle(
            store,
            list,
            post,
            &member,
            token,
            crypto,
            carried,
            &env,
            base,
            owner.as_deref(),
        )?,
        ListCommand::Help => Settlement {
            reason: format!("{}: answered", command.describe()),
            replies: vec![(
                member.clone(),
                notices::render_help(list, &env, &keys()?, owner.as_deref()),
            )],
            ..base
        },
        ListCommand::Key => {
            let Some(crypto) = crypto else {
                return Ok(Settlement {
                    reason: format!(
                        "{} from {member}: not answered, the list has no key",
                        command.describe()
                    ),
                    ..base
                });
            };
            let openpgp = store.list_key(list, Protocol::Openpgp)?.map(|k| k.cert);
            let (head, entity) =
                notices::key_answer(list, &env, &keys()?, openpgp.as_deref(), owner.as_deref());
            match signed_by_list(crypto, &entity) {
                Ok(signed) => Settlement {
                    reason: format!("{}: answered, signed by the list", command.describe()),
                    replies: vec![(member.clone(), [head.as_slice(), &signed].concat())],
                    ..base
                },
                Err(e) => Settlement {
                    reason: format!("{} from {member}: not answered ({e})", command.describe()),
                    ..base
                },
            }
        }
        ListCommand::Unsubscribe => {
            let token = new_token();
            Settlement {
                reason: format!(
                    "{}: {member} was asked by mail to confirm",
                    command.describe()
                ),
                replies: vec![(
                    member.clone(),
                    notices::render_unsubscribe_confirm(list, &env, &token),
                )],
                membership: Some(MembershipChange::RequestLeave {
                    email: member.clone(),
                    token,
                }),
                ..base
            }
        }
        ListCommand::ConfirmUnsubscribe { token } => {
            match store.unsubscribe_request(list, token, UNSUBSCRIBE_DAYS * 86_400)? {
                Some(email) if email.eq_ignore_ascii_case(&member) => Settlement {
                    reason: format!("{}: {member} confirmed and was removed", command.describe()),
                    replies: vec![(member.clone(), notices::render_goodbye(list, &env))],
                    membership: Some(MembershipChange::Leave { email }),
                    ..base
                },
                Some(email) => Settlement {
                    reason: format!(
                        "{} from {member} with the code sent to {email}: nobody was removed",
                        command.describe()
                    ),
                    ..base
                },
                None => Settlement {
                    reason: format!(
                        "{} with an unknown or expired code: nobody was removed",
                        command.describe()
                    ),
                    ..base
                },
            }
        }
    })
}

/// A confirmation code: 128 random bits, as hex.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The list's key as the help text names it.
fn key_line(protocol: Protocol, fingerprint: &str) -> String {
    match protocol {
        Protocol::Smime => format!("S/MIME certificate SHA-256 {fingerprint}"),
        _ => {
            let hex: String = fingerprint
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            let grouped: Vec<&str> = hex
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect();
            format!("OpenPGP key {}", grouped.join(" "))
        }
    }
}
