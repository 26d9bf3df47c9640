//! The list's rules, as one pure function.

use std::fmt;

use super::Post;
use crate::model::{List, Member, NonMemberPosts};

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    NonMember { from: String },
    TooLarge { size: u64, max: u64 },
    NoSinglePoster,
    /// Bounces, auto-replies, delivery reports: shown to the owners, never
    /// sent to the members.
    Automated { why: String },
    /// What the list's encryption and signature settings say.
    Crypto(String),
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
                write!(f, "{from} is not a member; approve to send it, or add them as a member")
            }
            HoldReason::TooLarge { size, max } => {
                write!(f, "{size} bytes, larger than the list's maximum of {max} (setting max-size)")
            }
            HoldReason::NoSinglePoster => {
                f.write_str("it does not name exactly one sender in From, so it is not known who posted it")
            }
            HoldReason::Automated { why } => {
                write!(f, "an automated message ({why}); it is never sent to members")
            }
            HoldReason::Crypto(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::NonMember { from } => {
                write!(f, "{from} is not a member and the list rejects posts from non-members")
            }
            RejectReason::Crypto(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscardReason::Loop => f.write_str("it went through this list already (its List-Id or X-Loop): a mail loop"),
            DiscardReason::Crypto(why) => f.write_str(why),
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
    let carries_our_loop = post
        .x_loops
        .iter()
        .any(|v| v.trim_matches(|c| c == '<' || c == '>' || char::is_whitespace(c)).eq_ignore_ascii_case(&list.address));
    if carries_our_id || carries_our_loop {
        return Decision::Discard(DiscardReason::Loop);
    }

    if let Some(why) = automated(post) {
        return Decision::Hold(HoldReason::Automated { why });
    }

    if post.size > list.settings.max_size {
        return Decision::Hold(HoldReason::TooLarge { size: post.size, max: list.settings.max_size });
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

    Decision::Distribute { recipients: recipients(Some(poster), members) }
}

/// Decides a post of a list that reads encrypted and signed mail: the
/// list's rules first, then what the crypto layer found, judged by the four
/// settings (post-encrypt, post-sign).
pub fn decide_protected(post: &Post, list: &List, members: &[Member], evidence: &super::Evidence) -> Decision {
    match decide(post, list, members) {
        Decision::Distribute { recipients } => match super::judge(&list.settings, evidence) {
            super::CryptoVerdict::Accept => Decision::Distribute { recipients },
            super::CryptoVerdict::Hold(r) => Decision::Hold(HoldReason::Crypto(r)),
            super::CryptoVerdict::Reject(r) => Decision::Reject(RejectReason::Crypto(r)),
            super::CryptoVerdict::Discard(r) => Decision::Discard(DiscardReason::Crypto(r)),
        },
        other => other,
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
    use crate::model::{ListSettings, Protocol, Role};

    fn list() -> List {
        List {
            id: 1,
            address: "list@example.org".into(),
            name: "L".into(),
            protocol: Protocol::Plain,
            paused: false,
            settings: ListSettings::defaults_for("L"),
        }
    }

    fn member(email: &str, own_posts: bool) -> Member {
        Member { email: email.into(), name: String::new(), role: Role::Member, own_posts }
    }

    fn members() -> Vec<Member> {
        vec![member("alice@example.org", true), member("bob@example.org", false), member("carol@example.org", true)]
    }

    fn post(headers: &str) -> Post {
        Post::read(format!("{headers}\r\n\r\nbody\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn a_member_post_goes_to_everyone() {
        let d = decide(&post("From: Alice <ALICE@example.org>"), &list(), &members());
        assert_eq!(
            d,
            Decision::Distribute {
                recipients: vec!["alice@example.org".into(), "bob@example.org".into(), "carol@example.org".into()]
            }
        );
    }

    #[test]
    fn a_member_who_wants_no_own_copy_gets_none() {
        let d = decide(&post("From: bob@example.org"), &list(), &members());
        assert_eq!(
            d,
            Decision::Distribute { recipients: vec!["alice@example.org".into(), "carol@example.org".into()] }
        );
    }

    #[test]
    fn non_members_are_held_or_rejected_per_setting() {
        let p = post("From: eve@example.net");
        let d = decide(&p, &list(), &members());
        assert_eq!(d, Decision::Hold(HoldReason::NonMember { from: "eve@example.net".into() }));
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
            assert_eq!(decide(&post(h), &list(), &members()), Decision::Discard(DiscardReason::Loop), "{h}");
        }
        // Another list's id is not ours.
        let other = post("From: alice@example.org\r\nList-Id: Other <other.example.org>");
        assert!(matches!(decide(&other, &list(), &members()), Decision::Distribute { .. }));
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
        assert!(matches!(decide(&human, &list(), &members()), Decision::Distribute { .. }));
    }

    #[test]
    fn oversized_and_senderless_posts_are_held() {
        let mut l = list();
        l.settings.max_size = 10;
        assert!(matches!(
            decide(&post("From: alice@example.org"), &l, &members()),
            Decision::Hold(HoldReason::TooLarge { .. })
        ));
        for h in ["Subject: who?", "From: alice@example.org, bob@example.org", "From: alice@example.org\r\nFrom: bob@example.org"] {
            assert_eq!(decide(&post(h), &list(), &members()), Decision::Hold(HoldReason::NoSinglePoster), "{h}");
        }
    }

    #[test]
    fn the_crypto_verdict_applies_only_to_what_the_list_would_send() {
        use crate::policy::{Encryption, Evidence, Signature};
        let unsigned = Evidence { encryption: Encryption::None, signature: Signature::None };
        let mut l = list();
        l.settings.post_sign = crate::model::Requirement::Force;
        assert!(matches!(
            decide_protected(&post("From: alice@example.org"), &l, &members(), &unsigned),
            Decision::Discard(DiscardReason::Crypto(_))
        ));
        // A loop stays a loop, whatever its signature.
        assert_eq!(
            decide_protected(&post("From: alice@example.org\r\nX-Loop: list@example.org"), &l, &members(), &unsigned),
            Decision::Discard(DiscardReason::Loop)
        );
        let signed = Evidence {
            encryption: Encryption::None,
            signature: Signature::ByMember { email: "alice@example.org".into() },
        };
        assert!(matches!(
            decide_protected(&post("From: alice@example.org"), &l, &members(), &signed),
            Decision::Distribute { .. }
        ));
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = HoldReason::NonMember { from: "eve@example.net".into() }.to_string();
        assert!(r.contains("eve@example.net is not a member"), "{r}");
        assert!(DiscardReason::Loop.to_string().contains("loop"));
    }
}
