//! Deciding a recorded post: the list's rules (pure, in `policy`) over what
//! reading it found, a Message-ID reused by another sender held, who gets
//! which copy planned, a member's command taken, and all of it settled in
//! one transaction. A post that cannot be read, or that failed too often,
//! is quarantined instead.

mod commands;
mod join;
mod offered;

use std::panic::AssertUnwindSafe;

use crate::agent::{AgentError, ListReport};
use crate::crypto::{Encrypted, Signed};
use crate::model::{List, Member};
use crate::policy::{self, Decision, DeliveryPlan, Post};
use crate::store::{Outcome, Settlement, Store};

use super::deliver::render;
use super::keys::ListCrypto;
use super::read::{ReadPost, read_evidence, readable_key};

/// How often a post may fail to be decided (a crash, a panic) before it is
/// set aside instead of tried again.
pub const MAX_DECIDE_ATTEMPTS: u32 = 3;

/// What deciding a protected post found.
pub(crate) struct Judged {
    /// The decision by the rules and the crypto settings, before it is
    /// known who of the recipients gets which copy.
    pub decision: Decision,
    pub signature_digest: Option<String>,
    /// The member whose key made a good signature, and that key as people
    /// read it, even when From names someone else.
    pub signer: Option<(String, String)>,
    /// It reached the list encrypted to the list's key: it never leaves
    /// unencrypted.
    pub arrived_encrypted: bool,
    /// What reading found, for building the copies.
    pub unwrapped: crate::crypto::Unwrapped,
}

/// Decides a post of a protected (OpenPGP, S/MIME or mixed) list.
pub(crate) fn judge(
    raw: &[u8],
    post: &Post,
    list: &List,
    members: &[Member],
    crypto: &ListCrypto,
    store: &Store,
    arrived_at: i64,
) -> Result<Judged, AgentError> {
    let max = list.settings.max_size as usize;
    let (evidence, unwrapped) = read_evidence(raw, post, list, crypto, store, arrived_at, max)?;
    // A command sent encrypted (a client that knows the list's key
    // encrypts "unsubscribe" too) says so in its protected Subject; read
    // there, in memory, and never stored.
    let inner_subject = unwrapped
        .content
        .as_deref()
        .and_then(render::protected_subject);
    // An invitation's answer may carry its code in the first line of its
    // text instead (a client that keeps "Re: Your invitation" as the
    // subject, say): read as if the subject said it.
    let subject_command = inner_subject
        .as_deref()
        .and_then(policy::commands::command_in)
        .or_else(|| policy::commands::command_in(&post.subject));
    let inner_subject = match subject_command {
        None => first_line_code(unwrapped.content.as_deref().unwrap_or(raw))
            .map(|code| format!("{} {code}", policy::commands::JOIN_WORD))
            .or(inner_subject),
        Some(_) => inner_subject,
    };
    let decision = match inner_subject {
        Some(subject) => {
            let seen = Post {
                subject,
                ..post.clone()
            };
            policy::decide_protected(&seen, list, members, &evidence)
        }
        None => policy::decide_protected(post, list, members, &evidence),
    };
    let signer = match &unwrapped.signed {
        Signed::ByMember { email, fingerprint } | Signed::NotTheSender { email, fingerprint } => {
            Some((email.clone(), readable_key(raw, fingerprint)))
        }
        _ => None,
    };
    Ok(Judged {
        decision,
        signature_digest: unwrapped.signature_digest.clone(),
        signer,
        arrived_encrypted: unwrapped.encrypted == Encrypted::ForList,
        unwrapped,
    })
}

/// An invitation's code in the first line of a message's text (after a
/// clear-signed message's armor header), if it is there.
fn first_line_code(message: &[u8]) -> Option<String> {
    // Most posts carry no code: a scan for the word costs far less than
    // parsing the message again.
    let word = policy::commands::JOIN_WORD.as_bytes();
    if !message
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
    {
        return None;
    }
    let parsed = mail_parser::MessageParser::default().parse(message)?;
    let text = parsed.body_text(0)?;
    let mut lines = text.lines().map(str::trim);
    let mut line = lines.by_ref().find(|l| !l.is_empty())?;
    if line.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        // "Hash:" lines, then an empty line, then the text.
        lines.by_ref().find(|l| l.is_empty())?;
        line = lines.find(|l| !l.is_empty())?;
    }
    policy::commands::invitation_code_in(line)
}

/// Which recipients get the post, which a notice instead, and who nothing.
pub(crate) fn plan(
    list: &List,
    crypto: &ListCrypto,
    recipients: &[String],
    arrived_encrypted: bool,
) -> DeliveryPlan {
    policy::plan_delivery(&list.settings, recipients, arrived_encrypted, |m| {
        crypto.can_encrypt_to(m)
    })
}

/// Decides one recorded post and records the decision with all that follows
/// from it. A post that cannot be read, or that failed too often (a crash
/// or a panic while deciding), is quarantined instead. A post to distribute
/// comes back as it was read, for its copies to be built from.
pub(crate) fn decide_recorded(
    store: &Store,
    list: &List,
    post_id: i64,
    report: &mut ListReport,
    crypto: Option<&ListCrypto>,
) -> Result<Option<ReadPost>, AgentError> {
    let attempts = store.begin_attempt(post_id)?;
    let raw = store.post_raw(post_id)?.unwrap_or_default();
    let quarantine = |reason: String| Settlement {
        decision: Outcome::Quarantine,
        reason,
        ..Settlement::default()
    };
    let (settlement, read) = if attempts > MAX_DECIDE_ATTEMPTS {
        let why = format!(
            "processing it failed {MAX_DECIDE_ATTEMPTS} times; set aside so the posts behind it go on"
        );
        (quarantine(why), None)
    } else {
        let members = store.members(list)?;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<_, AgentError> {
            let post = match Post::read(&raw) {
                Ok(post) => post,
                Err(unreadable) => return Ok(Err(unreadable)),
            };
            let reused = store.message_id_taken(post_id)?;
            Ok(Ok(match crypto {
                None => {
                    let decision = policy::hold_reused_message_id(
                        policy::decide(&post, list, &members),
                        reused,
                    );
                    let plan = match &decision {
                        Decision::Distribute { recipients } => {
                            policy::plan_delivery(&list.settings, recipients, false, |_| false)
                        }
                        _ => policy::plan_delivery(&list.settings, &[], false, |_| false),
                    };
                    (
                        decision,
                        None,
                        None,
                        plan,
                        ReadPost {
                            post,
                            unwrapped: None,
                        },
                        offered::Found::default(),
                    )
                }
                Some(crypto) => {
                    let arrived = store.post_arrived_at(post_id)?;
                    let judged = judge(&raw, &post, list, &members, crypto, store, arrived)?;
                    let decision = policy::hold_reused_message_id(judged.decision, reused);
                    let recipients = match &decision {
                        Decision::Distribute { recipients } => recipients.as_slice(),
                        _ => &[],
                    };
                    let plan = plan(list, crypto, recipients, judged.arrived_encrypted);
                    // Keys that came with it, also with a command ("key"
                    // or "subscribe" with the sender's key attached); not
                    // with an invitation's answer, which has its own rules,
                    // nor with automated mail.
                    let found = match (&decision, post.poster()) {
                        (
                            Decision::Command(policy::ListCommand::Join { .. })
                            | Decision::Hold(policy::HoldReason::Automated { .. })
                            | Decision::Discard(policy::DiscardReason::Loop),
                            _,
                        )
                        | (_, None) => offered::Found::default(),
                        (_, Some(sender)) => offered::judge_offered(
                            store,
                            list,
                            sender,
                            &members,
                            &raw,
                            &judged.unwrapped,
                            crypto,
                        )?,
                    };
                    let read = ReadPost {
                        post,
                        unwrapped: Some(judged.unwrapped),
                    };
                    (
                        decision,
                        judged.signature_digest,
                        judged.signer,
                        plan,
                        read,
                        found,
                    )
                }
            }))
        }));
        match outcome {
            Err(_) => (
                quarantine(
                    "Conclave failed on this message (an internal error); please report it".into(),
                ),
                None,
            ),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Err(unreadable))) => (quarantine(unreadable.to_string()), None),
            Ok(Ok(Ok((decision, digest, signer, plan, read, found)))) => {
                let post = &read.post;
                for member in &plan.left_out {
                    store.log(
                        list.id,
                        Some(post_id),
                        crate::store::ActivityKind::Delivery,
                        &format!("not sent to {member}: no valid key, and the list sends only encrypted (distrib-encrypt force)"),
                    )?;
                }
                // Bounces and loops are not told to owners by mail: an
                // owner's auto-reply to such a notice would come back as
                // another bounce, and so on. Commands are answered, not
                // reported.
                let quiet = matches!(
                    decision,
                    Decision::Hold(policy::HoldReason::Automated { .. })
                        | Decision::Discard(policy::DiscardReason::Loop)
                        | Decision::Command(_)
                );
                let notify_owners = if list.settings.owner_notices && !quiet {
                    members
                        .iter()
                        .filter(|m| m.role == crate::model::Role::Owner)
                        .map(|m| m.email.clone())
                        .collect()
                } else {
                    vec![]
                };
                let base = match decision {
                    Decision::Command(command) => {
                        let carried = commands::Carried {
                            raw: &raw,
                            content: read.unwrapped.as_ref().and_then(|u| u.content.as_deref()),
                        };
                        commands::settle(store, list, post_id, post, &command, crypto, carried)?
                    }
                    Decision::Distribute { .. } => Settlement {
                        recipients: plan.post_to(),
                        keyless_notices: plan.notice_to(),
                        ..settlement_for(post, Decision::Distribute { recipients: vec![] })
                    },
                    other => settlement_for(post, other),
                };
                let mut replies = base.replies.clone();
                replies.extend(found.told);
                let mut offered_keys = base.offered_keys.clone();
                offered_keys.extend(found.offered);
                let settlement = Settlement {
                    signature_digest: digest,
                    signer,
                    notify_owners,
                    replies,
                    offered_keys,
                    key_change: found.rotation,
                    ..base
                };
                (settlement, Some(read))
            }
        }
    };
    match settlement.decision {
        Outcome::Distribute => report.distributed += 1,
        Outcome::Hold => report.held += 1,
        Outcome::Reject => report.rejected += 1,
        Outcome::Discard => report.discarded += 1,
        Outcome::Command => report.answered += 1,
        _ => report.quarantined += 1,
    }
    store.settle_post(post_id, &settlement)?;
    Ok(read.filter(|_| settlement.decision == Outcome::Distribute))
}

fn settlement_for(post: &Post, decision: Decision) -> Settlement {
    let base = |decision: Outcome, reason: String| Settlement {
        decision,
        reason,
        sender: post.sender_text(),
        subject: post.subject.clone(),
        approvable: true,
        ..Settlement::default()
    };
    match decision {
        Decision::Distribute { recipients } => Settlement {
            recipients,
            ..base(Outcome::Distribute, "from a member".into())
        },
        Decision::Hold(r) => Settlement {
            approvable: r.approvable(),
            ..base(Outcome::Hold, r.to_string())
        },
        Decision::Reject(r) => base(Outcome::Reject, r.to_string()),
        Decision::Discard(r) => base(Outcome::Discard, r.to_string()),
        Decision::Command(c) => base(Outcome::Command, c.describe().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewPost, Sighting};

    #[test]
    fn an_invitation_code_is_read_from_the_first_line_of_the_text() {
        let code = "abcde-fgh2j-kmnpq-rstuv-wxyz2";
        let mail = |body: &str| {
            format!("From: a@example.org\r\nSubject: Re: Your invitation\r\n\r\n{body}")
                .into_bytes()
        };
        assert_eq!(
            first_line_code(&mail(&format!("\r\n  join {code}\r\nThanks!\r\n"))).as_deref(),
            Some(code)
        );
        let clearsigned = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\n\r\nJOIN {}\r\n-----BEGIN PGP SIGNATURE-----\r\n",
            code.to_uppercase()
        );
        assert_eq!(first_line_code(&mail(&clearsigned)).as_deref(), Some(code));
        let multipart = format!(
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\njoin {code}\r\n--b--\r\n"
        );
        assert_eq!(first_line_code(multipart.as_bytes()).as_deref(), Some(code));
        // Only the first line: a code further down is a post quoting it.
        assert_eq!(
            first_line_code(&mail(&format!("Hello,\r\njoin {code}\r\n"))),
            None
        );
        assert_eq!(first_line_code(&mail("join us on Friday\r\n")), None);
    }

    #[test]
    fn a_post_that_keeps_failing_is_quarantined_not_retried_forever() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", crate::model::Protocol::Plain)
            .unwrap();
        store
            .add_member(&list, "a@example.org", "", crate::model::Role::Member)
            .unwrap();
        let raw = b"From: a@example.org\r\nSubject: boom\r\n\r\nbody\r\n";
        let Sighting::New(id) = store
            .record_post(
                &list,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw,
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        // Three earlier runs died while deciding this post.
        for _ in 0..MAX_DECIDE_ATTEMPTS {
            store.begin_attempt(id).unwrap();
        }
        let mut report = ListReport::default();
        decide_recorded(&store, &list, id, &mut report, None).unwrap();
        assert_eq!(report.quarantined, 1);
        let post = store.post(id).unwrap();
        assert_eq!(post.state, crate::store::PostState::Quarantined);
        assert!(store.deliveries(id).unwrap().is_empty());
        assert_eq!(
            store.posts_to_file(&list).unwrap().len(),
            1,
            "set aside on the server too"
        );
    }

    #[test]
    fn a_post_decided_after_an_earlier_crash_goes_out_normally() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", crate::model::Protocol::Plain)
            .unwrap();
        store
            .add_member(&list, "a@example.org", "", crate::model::Role::Member)
            .unwrap();
        let raw = b"From: a@example.org\r\nSubject: ok\r\n\r\nbody\r\n";
        let Sighting::New(id) = store
            .record_post(
                &list,
                &NewPost {
                    uidvalidity: 1,
                    uid: 1,
                    message_id: "",
                    sender: "",
                    raw,
                    arrived_at: None,
                    claimed: false,
                },
            )
            .unwrap()
        else {
            panic!()
        };
        store.begin_attempt(id).unwrap();
        assert_eq!(store.undecided_posts(&list).unwrap().len(), 1);
        let mut report = ListReport::default();
        decide_recorded(&store, &list, id, &mut report, None).unwrap();
        assert_eq!(report.distributed, 1);
        assert_eq!(store.deliveries(id).unwrap().len(), 1);
        assert!(store.undecided_posts(&list).unwrap().is_empty());
    }
}
