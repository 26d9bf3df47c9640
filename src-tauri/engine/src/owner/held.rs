//! Held posts: who gets one when an owner approves or rejects it, and the
//! resolution itself, planned as a live post is and recorded once.

use std::time::SystemTime;

use crate::member_keys;
use crate::model::List;
use crate::policy;
use crate::store::{ActivityKind, HeldPost, Resolution, Store, StoreError};

use super::OwnerError;

/// Who gets a held post once an owner resolves it: the members when
/// approved (the poster only if they want their own posts), planned by the
/// list's delivery settings as a live post is (under distrib-encrypt force a
/// member without a usable key gets nothing); the poster's notice when
/// rejected, unless it is automated mail, which is never answered; nobody
/// when discarded.
pub fn recipients(
    store: &Store,
    list: &List,
    held: &HeldPost,
    how: Resolution,
    now: SystemTime,
) -> Result<Vec<String>, StoreError> {
    Ok(planned(store, list, held, how, now)?.0)
}

/// The recipients, and the members left out for want of a key.
fn planned(
    store: &Store,
    list: &List,
    held: &HeldPost,
    how: Resolution,
    now: SystemTime,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    Ok(match how {
        Resolution::Approve => {
            // Who really wrote it: the member who signed, else the single
            // sender From names.
            let single = (!held.sender.is_empty() && !held.sender.contains(','))
                .then_some(held.sender.as_str());
            let poster = held.signed_by.as_deref().or(single);
            let members = policy::recipients(poster, &store.members(list)?);
            let protocols = member_keys::key_protocols(store, list)?;
            if protocols.is_empty() {
                return Ok((members, vec![]));
            }
            let mut keyed = Vec::new();
            for m in &members {
                let keys = member_keys::member_keys(store, list, m, now)?;
                if keys
                    .iter()
                    .any(|k| k.usable && protocols.contains(&k.protocol))
                {
                    keyed.push(m.clone());
                }
            }
            // Whether it came encrypted is known only by decrypting it; at
            // sending, a member without a key gets a notice instead of a
            // post that did.
            let plan = policy::plan_delivery(&list.settings, &members, false, |m| {
                keyed.iter().any(|k| k == m)
            });
            (plan.to.into_iter().map(|(m, _)| m).collect(), plan.left_out)
        }
        Resolution::Reject
            if held.approvable && crate::model::check_address(&held.sender).is_ok() =>
        {
            (vec![held.sender.clone()], vec![])
        }
        _ => (vec![], vec![]),
    })
}

/// The list's held posts still waiting, oldest first.
pub fn list(store: &Store, address: &str) -> Result<Vec<HeldPost>, OwnerError> {
    let list = store.list(address)?;
    Ok(store.held_posts(&list)?)
}

/// What resolving a held post did.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub held: HeldPost,
    pub how: Resolution,
    /// Who is sent something: the members (approved) or the poster
    /// (rejected).
    pub recipients: Vec<String>,
}

/// Approves, rejects or discards held post `id`: the deliveries it makes
/// are queued with the resolution in one transaction, and a post resolved
/// meanwhile (by the window and the CLI at once) is refused, not resolved
/// twice.
pub fn resolve(
    store: &Store,
    list: &List,
    id: i64,
    how: Resolution,
    now: SystemTime,
) -> Result<Resolved, OwnerError> {
    let Some(held) = store.held_posts(list)?.into_iter().find(|h| h.id == id) else {
        // Resolved already, or never held: the store says which, changing
        // nothing.
        store.resolve_held(list, id, how, &[])?;
        return Err(StoreError::NoSuchHeldPost {
            list: list.address.clone(),
            id,
        }
        .into());
    };
    let (recipients, left_out) = planned(store, list, &held, how, now)?;
    let held = store.resolve_held(list, id, how, &recipients)?;
    for member in &left_out {
        store.log(
            list.id,
            Some(held.post_id),
            ActivityKind::Delivery,
            &format!("not sent to {member}: no valid key, and the list sends only encrypted (distrib-encrypt force)"),
        )?;
    }
    Ok(Resolved {
        held,
        how,
        recipients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, Requirement, Role};
    use crate::store::{NewPost, Settlement, Sighting};

    fn hold(store: &Store, list: &List, uid: u32, sender: &str, approvable: bool) -> i64 {
        let raw = format!("From: {sender}\r\n\r\npost {uid}");
        let new = NewPost {
            uidvalidity: 1,
            uid,
            message_id: "",
            sender: "",
            raw: raw.as_bytes(),
            arrived_at: None,
            claimed: false,
        };
        let Sighting::New(id) = store.record_post(list, &new).unwrap() else {
            panic!()
        };
        let settle = Settlement {
            decision: crate::store::Outcome::Hold,
            reason: "r".into(),
            sender: sender.into(),
            subject: "s".into(),
            approvable,
            ..Settlement::default()
        };
        store.settle_post(id, &settle).unwrap();
        store.held_id_of(id).unwrap().unwrap()
    }

    fn held(store: &Store, list: &List, id: i64) -> HeldPost {
        store
            .held_posts(list)
            .unwrap()
            .into_iter()
            .find(|h| h.id == id)
            .unwrap()
    }

    #[test]
    fn rejecting_automated_mail_answers_no_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", Protocol::Plain)
            .unwrap();
        store
            .add_member(&list, "a@example.org", "", Role::Member)
            .unwrap();
        let eve = hold(&store, &list, 1, "eve@example.net", true);
        let daemon = hold(&store, &list, 2, "mailer-daemon@example.net", false);
        let now = SystemTime::now();
        let (eve, daemon) = (held(&store, &list, eve), held(&store, &list, daemon));
        assert_eq!(
            recipients(&store, &list, &eve, Resolution::Reject, now).unwrap(),
            ["eve@example.net"]
        );
        assert!(
            recipients(&store, &list, &daemon, Resolution::Reject, now)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            recipients(&store, &list, &eve, Resolution::Approve, now).unwrap(),
            ["a@example.org"]
        );
        assert!(
            recipients(&store, &list, &eve, Resolution::Discard, now)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_approved_post_reaches_no_member_without_a_key_on_a_list_that_sends_only_encrypted() {
        use crate::crypto::openpgp::{KeyAlgo, ListKey};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let list = store
            .create_list("l@example.org", "L", Protocol::Openpgp)
            .unwrap();
        let now = SystemTime::now() - std::time::Duration::from_secs(60);
        let list_key = ListKey::generate("L", "l@example.org", KeyAlgo::Ed25519, now).unwrap();
        let stored = crate::store::StoredKey {
            fingerprint: list_key.fingerprint(),
            cert: list_key.public_armored().into_bytes(),
        };
        store
            .set_list_key(&list, Protocol::Openpgp, &stored, false)
            .unwrap();
        let ann_key = ListKey::generate("Ann", "ann@example.org", KeyAlgo::Ed25519, now).unwrap();
        let (_, ann) = member_keys::check(
            &store,
            &list,
            ann_key.public_armored().as_bytes(),
            "ann@example.org",
            false,
            SystemTime::now(),
        )
        .unwrap();
        store
            .add_member_with_key(
                &list,
                "ann@example.org",
                "",
                Role::Member,
                Some((Protocol::Openpgp, &ann)),
            )
            .unwrap();
        store
            .add_member(&list, "bob@example.org", "", Role::Member)
            .unwrap();
        let now = SystemTime::now();
        for (uid, distrib, expected) in [
            (1, Requirement::Force, vec!["ann@example.org"]),
            (
                2,
                Requirement::Yes,
                vec!["ann@example.org", "bob@example.org"],
            ),
            (
                3,
                Requirement::No,
                vec!["ann@example.org", "bob@example.org"],
            ),
        ] {
            let list = store
                .set_setting(&list.address, "distrib-encrypt", distrib.as_str())
                .unwrap();
            let id = hold(&store, &list, uid, "eve@example.net", true);
            let r = resolve(&store, &list, id, Resolution::Approve, now).unwrap();
            assert_eq!(r.recipients, expected, "distrib-encrypt {distrib}");
            let queued: Vec<_> = store
                .deliveries(r.held.post_id)
                .unwrap()
                .into_iter()
                .map(|d| d.recipient)
                .collect();
            assert_eq!(queued, expected, "distrib-encrypt {distrib}");
        }
        let log: Vec<_> = store
            .activity(&list, 50)
            .unwrap()
            .into_iter()
            .map(|a| a.message)
            .collect();
        assert!(
            log.iter()
                .any(|l| l.contains("not sent to bob@example.org")),
            "{log:?}"
        );
    }

    #[test]
    fn one_held_post_resolved_from_two_places_at_once_is_resolved_once() {
        let dir = tempfile::tempdir().unwrap();
        let (list, id, post_id) = {
            let store = Store::open(dir.path()).unwrap();
            let list = store
                .create_list("l@example.org", "L", Protocol::Plain)
                .unwrap();
            for m in ["a@example.org", "b@example.org", "c@example.org"] {
                store.add_member(&list, m, "", Role::Member).unwrap();
            }
            let id = hold(&store, &list, 1, "eve@example.net", true);
            (list.clone(), id, held(&store, &list, id).post_id)
        };
        for round in 0..5 {
            // The window and the CLI: two connections, started together.
            let start = std::sync::Arc::new(std::sync::Barrier::new(2));
            let outcomes: Vec<Result<Resolved, OwnerError>> =
                [Resolution::Approve, Resolution::Reject]
                    .into_iter()
                    .map(|how| {
                        let (dir, list, start) =
                            (dir.path().to_path_buf(), list.clone(), start.clone());
                        std::thread::spawn(move || {
                            let store = Store::open(&dir).unwrap();
                            start.wait();
                            resolve(&store, &list, id, how, SystemTime::now())
                        })
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|t| t.join().expect("no panic"))
                    .collect();
            let ok = outcomes.iter().filter(|o| o.is_ok()).count();
            if round == 0 {
                assert_eq!(ok, 1, "{outcomes:?}");
            } else {
                assert_eq!(ok, 0, "resolved already: {outcomes:?}");
            }
            // The other one is told it was resolved already.
            for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
                assert_eq!(
                    refused.code(),
                    super::super::ErrorCode::HeldResolved,
                    "{refused}"
                );
                assert!(refused.to_string().contains("already"), "{refused}");
            }
        }
        let store = Store::open(dir.path()).unwrap();
        assert!(store.held_posts(&list).unwrap().is_empty());
        // Approved (three members) or rejected (Eve told), never both.
        let deliveries = store.deliveries(post_id).unwrap();
        assert!(
            deliveries.len() == 3 || deliveries.len() == 1,
            "one resolution's deliveries: {deliveries:?}"
        );
    }
}
