//! The list's rules, as one pure function.

use std::fmt;

use super::commands::{ListCommand, command_in};
use super::{CryptoVerdict, Evidence, Post, Signature};
use crate::model::{List, Member, NonMemberPosts, Requirement};

/// What happens to a post, with the reason a list owner reads in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send to these addresses.
    Distribute { recipients: Vec<String> },
    /// Keep for an owner.
    Hold(HoldReason),
    /// Refuse; nothing is sent to the members.
    Reject(RejectReason),
    /// Drop without telling anyone.
    Discard(DiscardReason),
    /// A member's command to the list itself (help, unsubscribe): answered,
    /// never sent to the members.
    Command(ListCommand),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    NonMember {
        from: String,
    },
    TooLarge {
        size: u64,
        max: u64,
    },
    NoSinglePoster,
    /// Bounces, auto-replies, delivery reports: shown to the owners, never
    /// sent to the members.
    Automated {
        why: String,
    },
    /// What the list's encryption and signature settings say.
    Crypto(String),
    /// Another post with this Message-ID, from another sender, went out
    /// already: one of the two pretends to be the other.
    ReusedMessageId {
        post: i64,
        sender: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    NonMember { from: String },
    Crypto(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscardReason {
    /// It carries this list's own List-Id or X-Loop: it went through the
    /// list already.
    Loop,
    Crypto(String),
    /// "help" or "unsubscribe" from an address that is no member's: not
    /// answered, so the list cannot be made to mail strangers.
    CommandFromNonMember {
        what: &'static str,
        from: String,
    },
}

impl HoldReason {
    /// Whether an owner may send it to the members after all.
    pub fn approvable(&self) -> bool {
        !matches!(self, HoldReason::Automated { .. })
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::NonMember { from } => {
                write!(
                    f,
                    "{from} is not a member; approve to send it, or add them as a member"
                )
            }
            HoldReason::TooLarge { size, max } => {
                write!(
                    f,
                    "{size} bytes, larger than the list's maximum of {max} (setting max-size)"
                )
            }
            HoldReason::NoSinglePoster => f.write_str(
                "it does not name exactly one sender in From, so it is not known who posted it",
            ),
            HoldReason::Automated { why } => {
                write!(
                    f,
                    "an automated message ({why}); it is never sent to members"
                )
            }
            HoldReason::Crypto(why) => f.write_str(why),
            HoldReason::ReusedMessageId { post, sender } => write!(
                f,
                "it has the Message-ID of post {post}, which went out already from {sender}: one of them may pretend \
                 to be the other; approve to send it too"
            ),
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::NonMember { from } => {
                write!(
                    f,
                    "{from} is not a member and the list rejects posts from non-members"
                )
            }
            RejectReason::Crypto(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscardReason::Loop => f.write_str(
                "it went through this list already (its List-Id or X-Loop): a mail loop",
            ),
            DiscardReason::Crypto(why) => f.write_str(why),
            DiscardReason::CommandFromNonMember { what, from } => {
                write!(f, "{what} from {from}, who is not a member: not answered")
            }
        }
    }
}

/// Decides what happens to a post. Pure: the post, the list and its members
/// in; the decision and its reason out.
pub fn decide(post: &Post, list: &List, members: &[Member]) -> Decision {
    let list_id = list.list_id();
    let carries_our_id = post.list_ids.iter().any(|v| {
        let v = v.to_ascii_lowercase();
        v.contains(&format!("<{list_id}>"))
    });
    let carries_our_loop = post.x_loops.iter().any(|v| {
        v.trim_matches(|c| c == '<' || c == '>' || char::is_whitespace(c))
            .eq_ignore_ascii_case(&list.address)
    });
    if carries_our_id || carries_our_loop {
        return Decision::Discard(DiscardReason::Loop);
    }

    if let Some(why) = automated(post) {
        return Decision::Hold(HoldReason::Automated { why });
    }

    if post.size > list.settings.max_size {
        return Decision::Hold(HoldReason::TooLarge {
            size: post.size,
            max: list.settings.max_size,
        });
    }

    if let Some(command) = command_in(&post.subject) {
        let member = post.poster().filter(|p| {
            command.open_to_anyone() || members.iter().any(|m| m.email.eq_ignore_ascii_case(p))
        });
        return match member {
            Some(_) => Decision::Command(command),
            None => Decision::Discard(DiscardReason::CommandFromNonMember {
                what: command.describe(),
                from: post
                    .from
                    .iter()
                    .map(|m| m.address.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        };
    }

    let Some(poster) = post.poster() else {
        return Decision::Hold(HoldReason::NoSinglePoster);
    };

    if !members.iter().any(|m| m.email.eq_ignore_ascii_case(poster)) {
        let from = poster.to_string();
        return match list.settings.non_member_posts {
            NonMemberPosts::Hold => Decision::Hold(HoldReason::NonMember { from }),
            NonMemberPosts::Reject => Decision::Reject(RejectReason::NonMember { from }),
        };
    }

    Decision::Distribute {
        recipients: recipients(Some(poster), members),
    }
}

/// Decides a post of a list that reads encrypted and signed mail: the
/// list's rules first, then what the crypto layer found, judged by the four
/// settings (post-encrypt, post-sign). Under post-sign force a post whose
/// signature does not count for the one member its From names is dropped
/// whatever else the rules say of it (several From addresses or none, a
/// non-member's address): such mail is noise or a forgery, and holding it
/// would let an insider's forgery wait for an owner's click.
pub fn decide_protected(
    post: &Post,
    list: &List,
    members: &[Member],
    evidence: &Evidence,
) -> Decision {
    let verdict = || match super::judge(&list.settings, evidence) {
        CryptoVerdict::Accept => None,
        CryptoVerdict::Hold(r) => Some(Decision::Hold(HoldReason::Crypto(r))),
        CryptoVerdict::Reject(r) => Some(Decision::Reject(RejectReason::Crypto(r))),
        CryptoVerdict::Discard(r) => Some(Decision::Discard(DiscardReason::Crypto(r))),
    };
    match decide(post, list, members) {
        Decision::Distribute { recipients } => {
            verdict().unwrap_or(Decision::Distribute { recipients })
        }
        kept @ (Decision::Command(_)
        | Decision::Discard(DiscardReason::Loop)
        | Decision::Hold(HoldReason::Automated { .. })) => kept,
        other if list.settings.post_sign == Requirement::Force => verdict().unwrap_or(other),
        // Held because From names no single sender, yet a member signed it:
        // the owner is told who, and approving sends it as theirs.
        Decision::Hold(HoldReason::NoSinglePoster) => match &evidence.signature {
            Signature::NotTheSender { .. } => Decision::Hold(HoldReason::Crypto(format!(
                "{}; {}",
                HoldReason::NoSinglePoster,
                evidence.signature.describe()
            ))),
            _ => Decision::Hold(HoldReason::NoSinglePoster),
        },
        other => other,
    }
}

/// A post about to go out is held instead when another sender's post with
/// the same Message-ID went out before (`earlier`: that post and its
/// sender). Discarding it as a copy would let anyone who learns a
/// Message-ID first suppress a member's post.
pub fn hold_reused_message_id(decision: Decision, earlier: Option<(i64, String)>) -> Decision {
    match (decision, earlier) {
        (Decision::Distribute { .. }, Some((post, sender))) => {
            Decision::Hold(HoldReason::ReusedMessageId { post, sender })
        }
        (decision, _) => decision,
    }
}

/// Who receives a post: every member, except the poster when they asked not
/// to get their own posts.
pub fn recipients(poster: Option<&str>, members: &[Member]) -> Vec<String> {
    members
        .iter()
        .filter(|m| m.own_posts || poster.is_none_or(|p| !m.email.eq_ignore_ascii_case(p)))
        .map(|m| m.email.clone())
        .collect()
}

/// Why a message is automated mail, if it is (RFC 3834, RFC 6522).
fn automated(post: &Post) -> Option<String> {
    if post.null_return_path {
        return Some("empty return path: a bounce or delivery report".into());
    }
    if let Some(v) = &post.auto_submitted {
        let kind = v.split(';').next().unwrap_or("").trim();
        if !kind.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {kind}"));
        }
    }
    if post.content_type == "multipart/report" {
        return Some("a delivery or read report".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn list() -> List {
        List::example("L")
    }

    fn member(email: &str, own_posts: bool) -> Member {
        Member {
            email: email.into(),
            name: String::new(),
            role: Role::Member,
            own_posts,
        }
    }

    fn members() -> Vec<Member> {
        vec![
            member("alice@example.org", true),
            member("bob@example.org", false),
            member("carol@example.org", true),
        ]
    }

    fn post(headers: &str) -> Post {
        Post::read(format!("{headers}\r\n\r\nbody\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn a_member_post_goes_to_everyone() {
        let d = decide(
            &post("From: Alice <ALICE@example.org>"),
            &list(),
            &members(),
        );
        assert_eq!(
            d,
            Decision::Distribute {
                recipients: vec![
                    "alice@example.org".into(),
                    "bob@example.org".into(),
                    "carol@example.org".into()
                ]
            }
        );
    }

    #[test]
    fn a_member_who_wants_no_own_copy_gets_none() {
        let d = decide(&post("From: bob@example.org"), &list(), &members());
        assert_eq!(
            d,
            Decision::Distribute {
                recipients: vec!["alice@example.org".into(), "carol@example.org".into()]
            }
        );
    }

    #[test]
    fn non_members_are_held_or_rejected_per_setting() {
        let p = post("From: eve@example.net");
        let d = decide(&p, &list(), &members());
        assert_eq!(
            d,
            Decision::Hold(HoldReason::NonMember {
                from: "eve@example.net".into()
            })
        );
        let mut l = list();
        l.settings.non_member_posts = NonMemberPosts::Reject;
        assert!(matches!(decide(&p, &l, &members()), Decision::Reject(_)));
    }

    #[test]
    fn loops_are_discarded() {
        for h in [
            "From: alice@example.org\r\nList-Id: L <list.example.org>",
            "From: alice@example.org\r\nList-Id: <LIST.example.org>",
            "From: alice@example.org\r\nX-Loop: list@example.org",
        ] {
            assert_eq!(
                decide(&post(h), &list(), &members()),
                Decision::Discard(DiscardReason::Loop),
                "{h}"
            );
        }
        // Another list's id is not ours.
        let other = post("From: alice@example.org\r\nList-Id: Other <other.example.org>");
        assert!(matches!(
            decide(&other, &list(), &members()),
            Decision::Distribute { .. }
        ));
    }

    #[test]
    fn automated_mail_is_held_and_never_approvable() {
        for h in [
            "From: MAILER-DAEMON@example.org\r\nReturn-Path: <>",
            "From: alice@example.org\r\nAuto-Submitted: auto-replied",
            "From: alice@example.org\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b",
        ] {
            match decide(&post(h), &list(), &members()) {
                Decision::Hold(r @ HoldReason::Automated { .. }) => assert!(!r.approvable()),
                other => panic!("{h}: {other:?}"),
            }
        }
        let human = post("From: alice@example.org\r\nAuto-Submitted: no");
        assert!(matches!(
            decide(&human, &list(), &members()),
            Decision::Distribute { .. }
        ));
    }

    #[test]
    fn oversized_and_senderless_posts_are_held() {
        let mut l = list();
        l.settings.max_size = 10;
        assert!(matches!(
            decide(&post("From: alice@example.org"), &l, &members()),
            Decision::Hold(HoldReason::TooLarge { .. })
        ));
        for h in [
            "Subject: who?",
            "From: alice@example.org, bob@example.org",
            "From: alice@example.org\r\nFrom: bob@example.org",
        ] {
            assert_eq!(
                decide(&post(h), &list(), &members()),
                Decision::Hold(HoldReason::NoSinglePoster),
                "{h}"
            );
        }
    }

    #[test]
    fn the_crypto_verdict_applies_only_to_what_the_list_would_send() {
        use crate::policy::{Encryption, Evidence, Signature};
        let unsigned = Evidence {
            encryption: Encryption::None,
            signature: Signature::None,
        };
        let mut l = list();
        l.settings.post_sign = crate::model::Requirement::Force;
        assert!(matches!(
            decide_protected(&post("From: alice@example.org"), &l, &members(), &unsigned),
            Decision::Discard(DiscardReason::Crypto(_))
        ));
        // A loop stays a loop, whatever its signature.
        assert_eq!(
            decide_protected(
                &post("From: alice@example.org\r\nX-Loop: list@example.org"),
                &l,
                &members(),
                &unsigned
            ),
            Decision::Discard(DiscardReason::Loop)
        );
        let signed = Evidence {
            encryption: Encryption::None,
            signature: Signature::ByMember {
                email: "alice@example.org".into(),
            },
        };
        assert!(matches!(
            decide_protected(&post("From: alice@example.org"), &l, &members(), &signed),
            Decision::Distribute { .. }
        ));
    }

    fn insider(from: &str) -> Evidence {
        Evidence {
            encryption: crate::policy::Encryption::ToList,
            signature: Signature::NotTheSender {
                email: "bob@example.org".into(),
                key: "OpenPGP key B0B0".into(),
                from: from.into(),
            },
        }
    }

    #[test]
    fn under_post_sign_force_only_a_signature_for_the_one_sender_counts() {
        let mut l = list();
        l.settings.post_sign = Requirement::Force;
        let cases = [
            (
                "From: alice@example.org, bob@example.org",
                insider("alice@example.org, bob@example.org"),
            ),
            ("From: alice@example.org", insider("alice@example.org")),
            ("Subject: nobody", insider("")),
            (
                "From: eve@example.net",
                Evidence {
                    encryption: crate::policy::Encryption::None,
                    signature: Signature::None,
                },
            ),
        ];
        for (head, evidence) in cases {
            let d = decide_protected(&post(head), &l, &members(), &evidence);
            assert!(
                matches!(d, Decision::Discard(DiscardReason::Crypto(_))),
                "{head}: {d:?}"
            );
        }
        // A counted signature on an oversized post: held for its size.
        l.settings.max_size = 10;
        let signed = Evidence {
            encryption: crate::policy::Encryption::ToList,
            signature: Signature::ByMember {
                email: "alice@example.org".into(),
            },
        };
        let d = decide_protected(&post("From: alice@example.org"), &l, &members(), &signed);
        assert!(
            matches!(d, Decision::Hold(HoldReason::TooLarge { .. })),
            "{d:?}"
        );
    }

    #[test]
    fn under_post_sign_yes_an_insider_forgery_is_held_naming_the_signer() {
        let l = list();
        for head in [
            "From: alice@example.org, bob@example.org",
            "From: alice@example.org",
        ] {
            let d = decide_protected(&post(head), &l, &members(), &insider("alice@example.org"));
            let Decision::Hold(reason) = &d else {
                panic!("{head}: {d:?}")
            };
            let r = reason.to_string();
            assert!(
                r.contains("bob@example.org") && r.contains("B0B0"),
                "{head}: {r}"
            );
            assert!(reason.approvable());
        }
    }

    #[test]
    fn commands_are_answered_for_members_only() {
        assert_eq!(
            decide(
                &post("From: alice@example.org\r\nSubject: help"),
                &list(),
                &members()
            ),
            Decision::Command(ListCommand::Help)
        );
        assert_eq!(
            decide(
                &post("From: bob@example.org\r\nSubject: unsubscribe"),
                &list(),
                &members()
            ),
            Decision::Command(ListCommand::Unsubscribe)
        );
        let d = decide(
            &post("From: eve@example.net\r\nSubject: unsubscribe"),
            &list(),
            &members(),
        );
        assert!(
            matches!(
                d,
                Decision::Discard(DiscardReason::CommandFromNonMember { .. })
            ),
            "{d:?}"
        );
        // The key is for anyone about to join; with two senders, for none.
        assert_eq!(
            decide(
                &post("From: eve@example.net\r\nSubject: key"),
                &list(),
                &members()
            ),
            Decision::Command(ListCommand::Key)
        );
        assert!(matches!(
            decide(
                &post("From: eve@example.net, mallory@example.net\r\nSubject: key"),
                &list(),
                &members()
            ),
            Decision::Discard(DiscardReason::CommandFromNonMember { .. })
        ));
        // A bounce that quotes "help" is a bounce.
        let d = decide(
            &post("From: alice@example.org\r\nSubject: help\r\nAuto-Submitted: auto-replied"),
            &list(),
            &members(),
        );
        assert!(
            matches!(d, Decision::Hold(HoldReason::Automated { .. })),
            "{d:?}"
        );
        // Whatever the crypto settings: asking for help needs no signature.
        let mut l = list();
        l.settings.post_sign = Requirement::Force;
        let unsigned = Evidence {
            encryption: crate::policy::Encryption::None,
            signature: Signature::None,
        };
        let d = decide_protected(
            &post("From: alice@example.org\r\nSubject: help"),
            &l,
            &members(),
            &unsigned,
        );
        assert_eq!(d, Decision::Command(ListCommand::Help));
    }

    #[test]
    fn a_reused_message_id_holds_what_would_go_out() {
        let go = Decision::Distribute {
            recipients: vec!["a@example.org".into()],
        };
        assert_eq!(hold_reused_message_id(go.clone(), None), go);
        let held = hold_reused_message_id(go, Some((4, "eve@example.net".into())));
        let Decision::Hold(r) = &held else {
            panic!("{held:?}")
        };
        assert!(
            r.to_string().contains("post 4") && r.to_string().contains("eve@example.net"),
            "{r}"
        );
        assert_eq!(
            hold_reused_message_id(
                Decision::Discard(DiscardReason::Loop),
                Some((4, "x".into()))
            ),
            Decision::Discard(DiscardReason::Loop)
        );
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = HoldReason::NonMember {
            from: "eve@example.net".into(),
        }
        .to_string();
        assert!(r.contains("eve@example.net is not a member"), "{r}");
        assert!(DiscardReason::Loop.to_string().contains("loop"));
    }
}
