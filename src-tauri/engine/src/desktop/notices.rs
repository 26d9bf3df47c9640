//! Desktop notifications: a post held for the owner and a list that starts
//! failing are told once, when they happen, so an owner who keeps the window
//! closed still hears of them. What to tell is worked out here from two
//! snapshots; the app's notification plugin or the light tray only shows
//! it.

use std::collections::BTreeMap;

use super::AgentStatus;
use crate::store::ListSummary;

/// What the last look at the lists found, by list address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    held: BTreeMap<String, (String, u32)>,
    errors: BTreeMap<String, (String, String)>,
    /// Copies waiting for the provider's sending limit, by list.
    limited: BTreeMap<String, (String, u32)>,
    /// Keys that came by mail and wait in the key inbox, by list.
    keys: BTreeMap<String, (String, u32)>,
    /// People who asked to join, by list.
    requests: BTreeMap<String, (String, u32)>,
    /// Members told that their key ends soon, by list.
    ending: BTreeMap<String, (String, u32)>,
    /// People who joined by invitation, by list.
    joined: BTreeMap<String, (String, u32)>,
    /// Lists whose own key ends soon, with when.
    key_ends: BTreeMap<String, (String, String)>,
    agent_error: Option<String>,
}

impl Snapshot {
    pub fn of(status: &AgentStatus, lists: &[ListSummary]) -> Snapshot {
        let name = |l: &ListSummary| {
            if l.name.is_empty() {
                l.address.clone()
            } else {
                l.name.clone()
            }
        };
        Snapshot {
            held: lists
                .iter()
                .map(|l| (l.address.clone(), (name(l), l.held)))
                .collect(),
            errors: lists
                .iter()
                .filter(|l| !l.paused)
                .filter_map(|l| Some((l.address.clone(), (name(l), l.last_error.clone()?))))
                .collect(),
            limited: lists
                .iter()
                .filter(|l| l.waiting_for_limit > 0)
                .map(|l| (l.address.clone(), (name(l), l.waiting_for_limit)))
                .collect(),
            keys: lists
                .iter()
                .map(|l| (l.address.clone(), (name(l), l.keys_waiting)))
                .collect(),
            ending: lists
                .iter()
                .map(|l| (l.address.clone(), (name(l), l.keys_ending)))
                .collect(),
            requests: lists
                .iter()
                .map(|l| (l.address.clone(), (name(l), l.join_requests)))
                .collect(),
            joined: lists
                .iter()
                .map(|l| (l.address.clone(), (name(l), l.joined)))
                .collect(),
            key_ends: lists
                .iter()
                .filter_map(|l| Some((l.address.clone(), (name(l), l.list_key_ends.clone()?))))
                .collect(),
            agent_error: status.error.clone(),
        }
    }
}

/// One desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// What changed from `before` to `after` that the owner must hear of: more
/// held posts on a list, a list's new or changed error, a list's copies
/// starting to wait for the provider's sending limit, the agent stopping.
/// Fewer held posts, an error that went away, the same error again, or
/// copies still waiting are not news.
pub fn news(before: &Snapshot, after: &Snapshot) -> Vec<Notice> {
    let mut out = Vec::new();
    if let Some(e) = &after.agent_error
        && before.agent_error.as_ref() != Some(e)
    {
        out.push(Notice {
            title: "Conclave stopped taking posts".into(),
            body: e.clone(),
        });
    }
    for (address, (name, held)) in &after.held {
        let was = before.held.get(address).map_or(0, |(_, n)| *n);
        if *held > was {
            let new = held - was;
            let title = match new {
                1 => format!("{name}: a post is held for you"),
                n => format!("{name}: {n} posts are held for you"),
            };
            out.push(Notice {
                title,
                body: "Open Conclave to approve, reject or discard it.".into(),
            });
        }
    }
    for (address, (name, waiting)) in &after.limited {
        if !before.limited.contains_key(address) {
            out.push(Notice {
                title: format!("{name}: the mail provider's sending limit"),
                body: format!(
                    "The provider takes no more mail from this account for now. {waiting} {} wait and go out by themselves when it takes mail again; nothing is lost.",
                    if *waiting == 1 { "copy" } else { "copies" }
                ),
            });
        }
    }
    for (address, (name, keys)) in &after.keys {
        let was = before.keys.get(address).map_or(0, |(_, n)| *n);
        if *keys > was {
            out.push(Notice {
                title: match keys - was {
                    1 => format!("{name}: a key came by mail"),
                    n => format!("{name}: {n} keys came by mail"),
                },
                body: "It waits for you: open Conclave, Members, to accept or reject it.".into(),
            });
        }
    }
    for (address, (name, ending)) in &after.ending {
        let was = before.ending.get(address).map_or(0, |(_, n)| *n);
        if *ending > was {
            out.push(Notice {
                title: match ending - was {
                    1 => format!("{name}: a member's key ends soon"),
                    n => format!("{name}: {n} members' keys end soon"),
                },
                body: "They were told by mail how to renew it; Members shows whose, and when."
                    .into(),
            });
        }
    }
    for (address, (name, asked)) in &after.requests {
        let was = before.requests.get(address).map_or(0, |(_, n)| *n);
        if *asked > was {
            out.push(Notice {
                title: match asked - was {
                    1 => format!("{name}: someone asked to join"),
                    n => format!("{name}: {n} people asked to join"),
                },
                body: "Open Conclave, Members, to invite or dismiss them.".into(),
            });
        }
    }
    for (address, (name, joined)) in &after.joined {
        // A list seen for the first time has no news of who joined before.
        let Some((_, was)) = before.joined.get(address) else {
            continue;
        };
        if joined > was {
            out.push(Notice {
                title: match joined - was {
                    1 => format!("{name}: someone joined"),
                    n => format!("{name}: {n} people joined"),
                },
                body: "They answered your invitation with their key and were welcomed. Members shows who."
                    .into(),
            });
        }
    }
    for (address, (name, ends)) in &after.key_ends {
        if !before.key_ends.contains_key(address) {
            out.push(Notice {
                title: format!("{name}: the list's key ends soon"),
                body: format!(
                    "It ends on {}. Renew it in the window (Key → Renew) so members' mail programs get it in time.",
                    ends.get(..10).unwrap_or(ends)
                ),
            });
        }
    }
    for (address, (name, error)) in &after.errors {
        if before.errors.get(address).map(|(_, e)| e) != Some(error) {
            out.push(Notice {
                title: format!("{name}: a problem"),
                body: error.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(error: Option<&str>) -> AgentStatus {
        AgentStatus {
            paused_all: false,
            error: error.map(str::to_string),
            data_dir: "/data".into(),
            offline: false,
            watching: Vec::new(),
            demo: false,
        }
    }

    fn list(held: u32, error: Option<&str>) -> ListSummary {
        ListSummary {
            address: "team@x".into(),
            name: "Team".into(),
            protocol: "openpgp".into(),
            members: 3,
            held,
            has_account: true,
            last_error: error.map(str::to_string),
            ..ListSummary::default()
        }
    }

    fn between(a: (Option<&str>, ListSummary), b: (Option<&str>, ListSummary)) -> Vec<Notice> {
        news(
            &Snapshot::of(&status(a.0), &[a.1]),
            &Snapshot::of(&status(b.0), &[b.1]),
        )
    }

    #[test]
    fn a_list_key_ending_soon_is_told_once() {
        let ending = |ends: Option<&str>| ListSummary {
            list_key_ends: ends.map(str::to_string),
            ..list(0, None)
        };
        let n = between(
            (None, ending(None)),
            (None, ending(Some("2027-01-31T10:00:00Z"))),
        );
        assert_eq!(n.len(), 1);
        assert!(n[0].body.contains("2027-01-31"), "{}", n[0].body);
        let same = Some("2027-01-31T10:00:00Z");
        assert!(between((None, ending(same)), (None, ending(same))).is_empty());
    }

    #[test]
    fn members_keys_ending_are_told_when_more_end() {
        let ending = |n: u32| ListSummary {
            keys_ending: n,
            ..list(0, None)
        };
        let n = between((None, ending(0)), (None, ending(2)));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "Team: 2 members' keys end soon");
        assert!(between((None, ending(2)), (None, ending(1))).is_empty());
    }

    #[test]
    fn someone_joining_by_invitation_is_told_once() {
        let joined = |n: u32| ListSummary {
            joined: n,
            ..list(0, None)
        };
        let n = between((None, joined(2)), (None, joined(3)));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "Team: someone joined");
        assert!(between((None, joined(3)), (None, joined(3))).is_empty());
        // Who joined before the window first looked is no news.
        let first_look = news(
            &Snapshot::of(&status(None), &[]),
            &Snapshot::of(&status(None), &[joined(3)]),
        );
        assert!(first_look.is_empty(), "{first_look:?}");
    }

    #[test]
    fn a_key_that_came_by_mail_is_told_once() {
        let keys = |n: u32| ListSummary {
            keys_waiting: n,
            ..list(0, None)
        };
        let n = between((None, keys(0)), (None, keys(1)));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "Team: a key came by mail");
        assert!(between((None, keys(1)), (None, keys(1))).is_empty());
        assert!(between((None, keys(2)), (None, keys(1))).is_empty());
    }

    #[test]
    fn copies_starting_to_wait_for_the_provider_s_limit_are_told_once() {
        let waiting = |n: u32| ListSummary {
            waiting_for_limit: n,
            ..list(0, None)
        };
        let n = between((None, waiting(0)), (None, waiting(312)));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "Team: the mail provider's sending limit");
        assert!(n[0].body.contains("312 copies wait"), "{}", n[0].body);
        assert!(between((None, waiting(312)), (None, waiting(200))).is_empty());
        assert!(between((None, waiting(5)), (None, waiting(0))).is_empty());
    }

    #[test]
    fn a_newly_held_post_is_told_once() {
        let n = between((None, list(0, None)), (None, list(1, None)));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "Team: a post is held for you");
        assert!(between((None, list(1, None)), (None, list(1, None))).is_empty());
    }

    #[test]
    fn several_new_held_posts_are_counted_and_resolved_ones_are_not_news() {
        let n = between((None, list(1, None)), (None, list(4, None)));
        assert_eq!(n[0].title, "Team: 3 posts are held for you");
        assert!(between((None, list(4, None)), (None, list(2, None))).is_empty());
    }

    #[test]
    fn a_list_error_is_told_when_it_starts_or_changes() {
        let why = "the server refused the password: correct it in the account settings";
        let refused = Some(why);
        let n = between((None, list(0, None)), (None, list(0, refused)));
        assert_eq!(
            n,
            vec![Notice {
                title: "Team: a problem".into(),
                body: why.into()
            }]
        );
        assert!(between((None, list(0, refused)), (None, list(0, refused))).is_empty());
        assert_eq!(
            between((None, list(0, refused)), (None, list(0, Some("offline")))).len(),
            1
        );
        assert!(between((None, list(0, refused)), (None, list(0, None))).is_empty());
    }

    #[test]
    fn a_paused_list_is_not_reported_as_failing() {
        let mut paused = list(0, Some("old error"));
        paused.paused = true;
        assert!(between((None, list(0, None)), (None, paused)).is_empty());
    }

    #[test]
    fn the_agent_stopping_is_told() {
        let n = between(
            (None, list(0, None)),
            (Some("another Conclave agent runs"), list(0, None)),
        );
        assert_eq!(n[0].title, "Conclave stopped taking posts");
        assert!(between((Some("x"), list(0, None)), (Some("x"), list(0, None))).is_empty());
    }
}
