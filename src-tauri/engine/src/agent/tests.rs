//! The agent's guarantees, on fake mail servers (`crate::testing`): every
//! member gets each post once; a crash at any step resumes without losing
//! a post and repeats at most the copies in flight; temporary refusals wait,
//! final ones fail alone; a fan-out spreads over lanes; what cannot be read
//! is set aside; a renumbered mailbox sends nothing twice. The system tests
//! prove the same on real servers.

use super::*;
use crate::secrets::{SecretKind, Sensitive};
use crate::testing::{Crash, TestList, post};
use crate::transport::smtp::SendOutcome;
use crate::transport::{PROCESSED_FOLDER, QUARANTINE_FOLDER};

const ALICE: &str = "alice@example.org";

/// Alice and n - 1 others.
fn members(n: usize) -> Vec<String> {
    std::iter::once(ALICE.to_string())
        .chain((1..n).map(|i| format!("m{i}@example.org")))
        .collect()
}

fn list_of(members: &[String]) -> TestList {
    TestList::new(&members.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_member_gets_a_post_once_and_it_is_filed() {
    let t = TestList::new(&[ALICE, "bob@example.org", "carol@example.org"]);
    t.mail.deliver(&post(ALICE, "Meeting"));
    let report = t.run().unwrap();
    let l = &report.lists[0];
    assert_eq!(
        (l.new_posts, l.distributed, l.sent, l.filed),
        (1, 1, 3, 1),
        "{l:?}"
    );
    for m in [ALICE, "bob@example.org", "carol@example.org"] {
        assert_eq!(t.mail.received(m).len(), 1, "{m}");
    }
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 1);
    // Nothing more the next time.
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent), (0, 0));
    assert_eq!(t.mail.world().sent.len(), 3);
}

#[test]
fn a_crash_in_the_middle_of_a_fan_out_repeats_at_most_the_copy_each_connection_had_in_flight() {
    let all = members(10);
    let t = list_of(&all);
    t.mail.deliver(&post(ALICE, "Big news"));
    t.mail.world().crash = Some(Crash::AfterSends(4));
    t.run_and_die();
    assert_eq!(t.mail.world().sent.len(), 4);
    assert_eq!(
        t.mail.in_folder(PROCESSED_FOLDER),
        0,
        "not filed before every copy is final"
    );
    let l = &t.run().unwrap().lists[0];
    assert_eq!(l.new_posts, 0, "the post is known: it is not started again");
    for m in &all {
        let n = t.mail.received(m).len();
        assert!(n == 1 || n == 2, "{m} got {n}");
    }
    let extra = t.mail.world().sent.len() - all.len();
    // Each lane records a copy as sent together with the start of its next
    // one (group commit): what the lanes had sent and not yet recorded when
    // the agent died goes out again, one copy per connection at most.
    assert!(
        (1..=SMTP_LANES).contains(&extra),
        "at most one copy again per connection: {extra}"
    );
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 1);
}

#[test]
fn a_crash_while_fetching_or_filing_loses_nothing_and_sends_nothing_twice() {
    let t = TestList::new(&[ALICE, "bob@example.org"]);
    t.mail.deliver(&post(ALICE, "One"));
    t.mail.world().crash = Some(Crash::OnFetch);
    t.run_and_die();
    assert!(t.mail.world().sent.is_empty());
    t.mail.world().crash = Some(Crash::OnFiling);
    t.run_and_die();
    assert_eq!(t.mail.world().sent.len(), 2, "sent once, then died filing");
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.filed), (0, 1), "{l:?}");
    assert_eq!(t.mail.world().sent.len(), 2);
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 1);
}

#[test]
fn a_temporary_refusal_waits_for_its_retry_and_a_final_one_fails_alone() {
    let t = TestList::new(&[ALICE, "defer-bob@example.org", "refuse-carol@example.org"]);
    {
        let mut w = t.mail.world();
        w.answers
            .push(("defer-".into(), SendOutcome::Retry("450 try later".into())));
        w.answers.push((
            "refuse-".into(),
            SendOutcome::Failed("550 no such user".into()),
        ));
    }
    t.mail.deliver(&post(ALICE, "Retry"));
    let l = &t.run().unwrap().lists[0];
    assert_eq!(
        (l.sent, l.retrying, l.failed, l.pending, l.filed),
        (1, 1, 1, 1, 0),
        "{l:?}"
    );
    let store = t.store();
    let post_id = store.posts_to_file(&t.list).unwrap().first().map(|p| p.id);
    assert!(post_id.is_none(), "not filed while a delivery waits");
    let due_later = store.due_deliveries(&t.list, crate::store::now()).unwrap();
    assert!(due_later.is_empty(), "the retry waits a minute");
    let retry_at = store.next_retry_at().unwrap().unwrap();
    assert!(
        (55..=65).contains(&(retry_at - crate::store::now())),
        "one minute: {retry_at}"
    );
    // A minute later the server takes it.
    t.mail.world().answers.retain(|(p, _)| p != "defer-");
    store.make_all_due_now();
    let l = &t.run().unwrap().lists[0];
    assert_eq!(
        (l.sent, l.failed, l.pending, l.filed),
        (1, 0, 0, 1),
        "{l:?}"
    );
    assert_eq!(t.mail.received("defer-bob@example.org").len(), 1);
    assert!(t.mail.received("refuse-carol@example.org").is_empty());
    assert!(
        store
            .bouncing(&t.list)
            .unwrap()
            .contains_key("refuse-carol@example.org")
    );
}

#[test]
fn a_fan_out_spreads_over_four_connections_and_a_send_rate_keeps_to_one() {
    let all = members(12);
    let t = list_of(&all);
    t.mail.deliver(&post(ALICE, "Lanes"));
    t.run().unwrap();
    let w = t.mail.world();
    assert_eq!(w.connections, SMTP_LANES);
    for lane in 1..=SMTP_LANES {
        assert_eq!(
            w.sent.iter().filter(|s| s.connection == lane).count(),
            3,
            "lane {lane}"
        );
    }
    assert!(
        w.sent.iter().all(|s| s.from == "list@example.org"),
        "the envelope is the account's"
    );
    drop(w);
    let t = list_of(&members(3));
    t.store()
        .set_setting(&t.list.address, "send-rate", "6000")
        .unwrap();
    t.mail.deliver(&post(ALICE, "Slow"));
    t.run().unwrap();
    let w = t.mail.world();
    assert_eq!(w.connections, 1);
    // The copies wait apart, so none is offered with the one before.
    assert_eq!((w.sent.len(), w.envelopes_alone), (3, 3));
}

/// A lane offers each copy's envelope together with the message before
/// it: on a pipelining server, one round trip a copy. A refused recipient
/// among them fails alone, as a bounce, and the lane goes on.
#[test]
fn a_lane_offers_each_envelope_with_the_message_before_it() {
    let refused = "refuse-m@example.org";
    let mut all = members(12);
    all.insert(6, refused.to_string());
    let t = list_of(&all);
    t.mail.world().answers.push((
        "refuse-".into(),
        SendOutcome::Failed("550 no such user".into()),
    ));
    t.mail.deliver(&post(ALICE, "Lanes"));
    let l = &t.run().unwrap().lists[0];
    let w = t.mail.world();
    assert_eq!((l.sent as usize, l.failed), (w.sent.len(), 1), "{l:?}");
    assert_eq!(w.envelopes_alone, SMTP_LANES, "one per lane, its first");
    for m in all.iter().filter(|m| *m != ALICE && *m != refused) {
        assert_eq!(w.sent.iter().filter(|s| &s.to == m).count(), 1, "{m}");
    }
    drop(w);
    assert!(t.store().bouncing(&t.list).unwrap().contains_key(refused));
}

/// The lanes' SMTP connections are opened as soon as new mail is seen
/// waiting, while it is claimed, fetched and recorded: over a distance
/// SMTP's set-up and those IMAP round trips overlap.
#[test]
fn the_lanes_are_opened_while_new_mail_is_taken() {
    let t = list_of(&members(6));
    t.mail.world().fetch_waits_for_smtp = true;
    t.mail.deliver(&post(ALICE, "Early"));
    let l = &t.run().unwrap().lists[0];
    let w = t.mail.world();
    assert_eq!(l.sent as usize, w.sent.len());
    assert!(!w.sent.is_empty());
    assert_eq!(w.smtp_open_at_fetch, Some(SMTP_LANES), "open by the fetch");
}

#[test]
fn the_lanes_are_ended_while_the_post_is_filed() {
    let t = list_of(&members(6));
    t.mail.world().quit_waits_for_filing = true;
    t.mail.deliver(&post(ALICE, "Filed"));
    let l = &t.run().unwrap().lists[0];
    assert_eq!(l.sent, 6);
    assert_eq!(l.filed, 1);
    let w = t.mail.world();
    assert_eq!(
        w.smtp_open_at_filing,
        Some(SMTP_LANES),
        "the QUITs go beside the filing, not before it"
    );
    assert_eq!(w.ended, w.connections, "every one ended");
}

#[test]
fn the_connections_opened_while_a_post_is_decided_are_all_ended_used_or_not() {
    let t = list_of(&members(12));
    // Held (and this list has no owner to tell): nothing goes out, where
    // the lanes were opened for a fan-out.
    t.mail.deliver(&post("stranger@example.net", "Held"));
    let report = t.run().unwrap();
    assert_eq!(report.lists[0].held, 1);
    let w = t.mail.world();
    assert!(w.sent.is_empty());
    assert_eq!(w.connections, SMTP_LANES, "opened while it was decided");
    assert_eq!(w.ended, w.connections, "every one ended, used or not");
    drop(w);
    // Nothing new: no connection at all.
    t.run().unwrap();
    assert_eq!(t.mail.world().connections, SMTP_LANES);
}

#[test]
fn what_cannot_be_read_is_set_aside_and_the_posts_behind_it_go_on() {
    let t = TestList::new(&[ALICE]);
    t.mail.deliver(b"\r\n\r\n");
    t.mail.deliver(&post(ALICE, "After"));
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.quarantined, l.distributed, l.sent), (1, 1, 1), "{l:?}");
    assert_eq!(t.mail.in_folder(QUARANTINE_FOLDER), 1);
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 1);
    let log = t.store().activity(&t.list, 20).unwrap();
    assert!(
        log.iter().any(|a| a.message.contains("it is empty")),
        "{log:?}"
    );
}

#[test]
fn a_renumbered_mailbox_sends_nothing_twice() {
    let t = TestList::new(&[ALICE, "defer-bob@example.org"]);
    t.mail
        .world()
        .answers
        .push(("defer-".into(), SendOutcome::Retry("450 later".into())));
    t.mail.deliver(&post(ALICE, "Renumbered"));
    t.run().unwrap();
    assert_eq!(t.mail.world().sent.len(), 1);
    // The server is restored from a backup: new UIDVALIDITY, new UIDs.
    t.mail.renumber();
    t.mail.world().answers.clear();
    t.store().make_all_due_now();
    let l = &t.run().unwrap().lists[0];
    assert_eq!(
        l.new_posts, 0,
        "the same message under its new number is a copy: {l:?}"
    );
    assert_eq!(t.mail.received(ALICE).len(), 1, "never sent twice");
    assert_eq!(
        t.mail.received("defer-bob@example.org").len(),
        1,
        "its waiting delivery went out"
    );
    assert_eq!(
        t.mail.in_folder(PROCESSED_FOLDER),
        1,
        "filed by its new number"
    );
    let store = t.store();
    let posts = store.posts_to_file(&t.list).unwrap();
    assert!(posts.is_empty(), "{posts:?}");
}

#[test]
fn a_server_out_of_reach_is_the_list_s_error_and_loses_nothing() {
    let t = TestList::new(&[ALICE]);
    t.mail.deliver(&post(ALICE, "Offline"));
    t.mail.world().imap_down = true;
    let report = t.run().unwrap();
    let e = report.lists[0].error.as_deref().unwrap();
    assert!(e.contains("cannot reach the fake IMAP"), "{e}");
    t.mail.world().imap_down = false;
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent, l.error.as_deref()), (1, 1, None));
}

#[test]
fn one_agent_per_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let first = lock(dir.path()).unwrap();
    assert!(matches!(lock(dir.path()), Err(AgentError::Busy(_))));
    drop(first);
    assert!(lock(dir.path()).is_ok());
}

/// A non-member's post held, approved, and sent by the next run: under
/// every distrib-encrypt value, a member with a key gets it encrypted; one
/// without gets it in clear, except under force, where they get nothing
/// (as a live post would be planned).
#[test]
fn an_approved_post_goes_out_as_distrib_encrypt_says() {
    use crate::owner::held;
    use crate::store::Resolution;
    const BOB: &str = "bob@example.org";
    for (setting, bob_gets) in [("no", Some(false)), ("yes", Some(false)), ("force", None)] {
        let t = TestList::openpgp(&[ALICE], &[BOB]);
        let store = t.store();
        store
            .set_settings(
                &t.list.address,
                &[("distrib-encrypt".into(), setting.into())],
            )
            .unwrap();
        t.mail.deliver(&post("stranger@example.net", "Flyer"));
        let l = &t.run().unwrap().lists[0];
        assert_eq!((l.held, l.sent), (1, 0), "{setting}: {l:?}");
        let id = store.held_posts(&t.list).unwrap()[0].id;
        let list = store.list(&t.list.address).unwrap();
        held::resolve(
            &store,
            &list,
            id,
            Resolution::Approve,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let l = &t.run().unwrap().lists[0];
        assert_eq!(l.failed, 0, "{setting}: {l:?}");
        let encrypted = |copy: &[u8]| String::from_utf8_lossy(copy).contains("multipart/encrypted");
        let alice = t.mail.received(ALICE);
        assert_eq!(alice.len(), 1, "{setting}");
        assert!(
            setting == "no" || encrypted(&alice[0]),
            "{setting}: alice's copy is encrypted to her key"
        );
        let bob = t.mail.received(BOB);
        match bob_gets {
            Some(_) => {
                assert_eq!(bob.len(), 1, "{setting}");
                assert!(!encrypted(&bob[0]), "{setting}: bob has no key");
            }
            None => assert!(bob.is_empty(), "{setting}: force sends bob nothing"),
        }
        assert!(store.held_posts(&list).unwrap().is_empty(), "{setting}");
    }
}

/// The provider's daily quota reached in the middle of a fan-out: the
/// copies left wait (nobody fails or shows as bouncing, the post is not
/// filed), the owner can see how many, and once the provider takes mail
/// again they go out, each member getting the post once.
#[test]
fn copies_refused_by_the_provider_s_sending_limit_wait_and_go_out_later() {
    let all = members(10);
    let t = list_of(&all);
    t.mail.deliver(&post(ALICE, "Rally"));
    t.mail.world().limit = Some(4);
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.failed, l.retrying), (4, 0, 0), "{l:?}");
    assert_eq!(l.waiting_for_limit, 6, "{l:?}");
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 0);
    let store = t.store();
    assert!(store.bouncing(&t.list).unwrap().is_empty());
    let summary = &store.list_summaries().unwrap()[0];
    assert_eq!(summary.waiting_for_limit, 6);
    assert!(summary.limit_until.is_some());
    assert!(
        store
            .activity(&t.list, 20)
            .unwrap()
            .iter()
            .any(|a| a.message.contains("sending limit") && a.message.contains("6 copies wait")),
        "the owner can read why, once"
    );
    // Before the wait is over nothing is tried.
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.waiting_for_limit), (0, 0), "{l:?}");
    assert_eq!(t.mail.world().sent.len(), 4);
    // The next day.
    t.mail.world().limit = None;
    store.make_all_due_now();
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.failed, l.filed), (6, 0, 1), "{l:?}");
    for m in &all {
        assert_eq!(t.mail.received(m).len(), 1, "{m}");
    }
    assert_eq!(store.list_summaries().unwrap()[0].waiting_for_limit, 0);
}

/// An account with a daily limit: each run sends what the last 24 hours
/// leave room for, the rest waits until the first of those sends is a day
/// old; over three days every member gets the post once, nobody fails.
#[test]
fn a_daily_limit_spreads_a_fan_out_over_the_days() {
    let all = members(10);
    let t = list_of(&all);
    let store = t.store();
    let mut account = store.account(&t.list).unwrap();
    account.daily_limit = Some(4);
    store.set_account(&t.list.address, &account).unwrap();
    t.mail.deliver(&post(ALICE, "Agenda"));

    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.failed, l.waiting_for_limit), (4, 0, 6), "{l:?}");
    let summary = &store.list_summaries().unwrap()[0];
    assert_eq!(summary.waiting_for_limit, 6);
    // The same day: no room.
    store.make_all_due_now();
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.waiting_for_limit), (0, 6), "{l:?}");
    // A day later, room for four more; then for the last two.
    for (sent, waiting, filed) in [(4, 2, 0), (2, 0, 1)] {
        store.age_sent(86_400 + 1);
        store.make_all_due_now();
        let l = &t.run().unwrap().lists[0];
        assert_eq!(
            (l.sent, l.waiting_for_limit, l.filed),
            (sent, waiting, filed),
            "{l:?}"
        );
    }
    for m in &all {
        assert_eq!(t.mail.received(m).len(), 1, "{m}");
    }
    assert!(store.bouncing(&t.list).unwrap().is_empty());
}

/// Copies that cannot be made (here the post's bytes are gone) fail
/// without having reached a server: their members do not show as
/// bouncing, and the post is filed once every copy is final. A server out
/// of reach counts no attempt either.
#[test]
fn copies_that_cannot_be_made_fail_without_their_members_bouncing() {
    let all = members(6);
    let t = list_of(&all);
    t.mail.deliver(&post(ALICE, "Minutes"));
    t.mail.world().smtp_down = true;
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.distributed, l.sent), (1, 0), "{l:?}");
    let store = t.store();
    store.lose_raw_posts();
    t.mail.world().smtp_down = false;
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.sent, l.failed, l.filed), (0, 6, 1), "{l:?}");
    assert!(
        store.bouncing(&t.list).unwrap().is_empty(),
        "no server refused anyone"
    );
}

/// The backup in the mailbox (Conclave/Backup), once the list has a
/// recovery passphrase: made in the first run, not again until something
/// changes, then again; the newest few kept; each opens with the
/// passphrase and holds the list as it was, its secret key included.
#[test]
fn a_list_with_a_recovery_passphrase_is_backed_up_into_its_mailbox_after_each_change() {
    use crate::backup::{FOLDER, KEEP};
    let t = TestList::openpgp(&[ALICE], &["bob@example.org"]);
    // Without a passphrase: no backup.
    assert!(!t.run().unwrap().lists[0].backed_up);
    assert_eq!(t.mail.in_folder(FOLDER), 0);

    let passphrase = "gentle-otter-lantern-quarry";
    t.mail.world().secrets.push((
        t.list.address.clone(),
        SecretKind::RecoveryPassphrase,
        passphrase.into(),
    ));
    // The list has not changed since the keychain said it had no
    // passphrase: the keychain is not asked again...
    assert!(!t.run().unwrap().lists[0].backed_up);
    // ...until backups are turned on, as `backup::set_recovery` does it.
    t.store().set_last_backup(&t.list, None).unwrap();
    assert!(t.run().unwrap().lists[0].backed_up);
    assert!(!t.run().unwrap().lists[0].backed_up, "nothing changed");
    assert_eq!(t.mail.in_folder(FOLDER), 1);

    for i in 0..KEEP + 1 {
        t.store()
            .add_member(
                &t.list,
                &format!("new{i}@example.org"),
                "",
                crate::model::Role::Member,
            )
            .unwrap();
        assert!(t.run().unwrap().lists[0].backed_up, "after change {i}");
    }
    assert_eq!(t.mail.in_folder(FOLDER), KEEP, "only the newest are kept");

    let newest = t
        .mail
        .world()
        .mailbox
        .iter()
        .rev()
        .find(|m| m.folder == FOLDER)
        .unwrap()
        .raw
        .clone();
    let sealed = crate::backup::tests_support::sealed_part(&newest);
    let contents = crate::bundle::open(&sealed, &Sensitive::new(passphrase.to_string())).unwrap();
    assert_eq!(contents.list.members.len(), 2 + KEEP + 1);
    assert_eq!(contents.summary().list_keys, vec!["openpgp".to_string()]);
    assert!(
        !contents.summary().with_passwords,
        "no passwords in backups"
    );
    assert!(crate::bundle::open(&sealed, &Sensitive::new("wrong-otter-lantern".into())).is_err());
}

/// A member whose key ends in three weeks is told once, encrypted to that
/// key; a member whose key does not end soon is not.
#[test]
fn a_member_whose_key_ends_soon_is_told_once_encrypted() {
    use pgp::serialize::SerializeInto;
    use sequoia_openpgp as pgp;
    let t = TestList::openpgp(&["bob@example.org"], &[]);
    let (cert, _) = pgp::cert::CertBuilder::general_purpose(Some("Carol <carol@example.org>"))
        .set_creation_time(std::time::SystemTime::now() - Duration::from_secs(3600))
        .set_validity_period(Duration::from_secs(22 * 86_400))
        .generate()
        .unwrap();
    t.store()
        .add_member_with_key(
            &t.list,
            "carol@example.org",
            "",
            crate::model::Role::Member,
            Some((
                crate::model::Protocol::Openpgp,
                &crate::store::StoredKey {
                    fingerprint: cert.fingerprint().to_hex(),
                    cert: cert.to_vec().unwrap(),
                },
            )),
        )
        .unwrap();
    let l = &t.run().unwrap().lists[0];
    assert_eq!(l.reminded, 1, "{l:?}");
    let got = t.mail.received("carol@example.org");
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0]);
    assert!(text.contains("your key for the list ends soon"), "{text}");
    assert!(text.contains("multipart/encrypted"), "{text}");
    assert!(
        !text.contains(&cert.fingerprint().to_hex()[..8]),
        "the key is named only inside the encryption"
    );
    assert!(t.mail.received("bob@example.org").is_empty());
    assert_eq!(t.run().unwrap().lists[0].reminded, 0, "once");
    assert_eq!(
        t.store().list_summaries().unwrap()[0].keys_ending,
        1,
        "the owner's window counts her"
    );
}

#[test]
fn an_address_gets_as_many_answers_a_day_as_the_list_s_setting_says() {
    const BOB: &str = "bob@example.org";
    let t = TestList::new(&[ALICE, BOB]);
    t.store()
        .set_settings(
            "list@example.org",
            &[("answers-a-day".to_string(), "2".to_string())],
        )
        .unwrap();
    // A flood of a hundred commands from one address...
    for n in 1..=100 {
        t.mail.deliver(
            format!(
                "From: {ALICE}\r\nTo: list@example.org\r\nSubject: help\r\nMessage-ID: <help{n}@example.org>\r\n\r\nhelp\r\n"
            )
            .as_bytes(),
        );
    }
    // ...and an auto-reply that looks like one.
    t.mail.deliver(
        format!(
            "From: {BOB}\r\nTo: list@example.org\r\nSubject: help\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <away@example.org>\r\n\r\nI am away.\r\n"
        )
        .as_bytes(),
    );
    let l = &t.run().unwrap().lists[0];
    assert_eq!(l.answered, 100, "all hundred are commands: {l:?}");
    assert_eq!(t.mail.received(ALICE).len(), 2, "two answers, then none");
    assert!(
        t.mail.received(BOB).is_empty(),
        "an auto-reply is never answered"
    );
    let store = t.store();
    let log = store
        .activity(&store.list("list@example.org").unwrap(), 500)
        .unwrap();
    assert!(
        log.iter().any(|e| e
            .message
            .contains("not answered, the list wrote to them 2 times")),
        "{log:?}"
    );
}

/// These laptops of one list (on one mail world) share their changes: the
/// sync secret is in the keychain they share, as a bundle leaves it.
fn share_changes(laptops: &[&TestList]) {
    laptops[0].mail.world().secrets.push((
        laptops[0].list.address.clone(),
        SecretKind::SyncSecret,
        "pumpkin-lattice-sorrel-quiet-ember".into(),
    ));
    for t in laptops {
        t.store().start_sharing_changes(&t.list).unwrap();
    }
}

/// How many copies `to` got of the post with this subject.
fn copies_of(t: &TestList, to: &str, subject: &str) -> usize {
    let wanted = format!("Subject: [Tenants] {subject}\r\n");
    t.mail
        .received(to)
        .iter()
        .filter(|m| m.windows(wanted.len()).any(|w| w == wanted.as_bytes()))
        .count()
}

#[test]
fn two_laptops_running_one_list_at_once_send_every_post_once() {
    let all = members(4);
    let a = list_of(&all);
    let b = a.second_laptop();
    let subjects: Vec<String> = (0..30).map(|i| format!("Post {i}")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let agent_a = Agent::with_servers(a.dir.path().to_path_buf(), a.mail.clone());
    let agent_b = Agent::with_servers(b.dir.path().to_path_buf(), b.mail.clone());
    let (mut took_a, mut took_b) = (0, 0);
    // Posts come while one laptop runs, the other, or both at once.
    for (i, batch) in subjects.chunks(6).enumerate() {
        for s in batch {
            a.mail.deliver(&post(ALICE, s));
        }
        let (ra, rb) = rt.block_on(async {
            match i % 3 {
                0 => (Some(agent_a.run_once(None).await), None),
                1 => (None, Some(agent_b.run_once(None).await)),
                _ => {
                    let (ra, rb) = tokio::join!(agent_a.run_once(None), agent_b.run_once(None));
                    (Some(ra), Some(rb))
                }
            }
        });
        took_a += ra.map_or(0, |r| r.unwrap().lists[0].new_posts);
        took_b += rb.map_or(0, |r| r.unwrap().lists[0].new_posts);
    }
    // One more round files what the last one left.
    let _ = rt.block_on(async { tokio::join!(agent_a.run_once(None), agent_b.run_once(None)) });
    assert_eq!(took_a + took_b, 30, "each post taken by one laptop");
    assert!(took_a >= 6 && took_b >= 6, "A took {took_a}, B {took_b}");
    for m in &all {
        for s in &subjects {
            assert_eq!(copies_of(&a, m, s), 1, "{m}: {s}");
        }
    }
    assert_eq!(a.mail.in_folder(PROCESSED_FOLDER), 30);
    assert_eq!(a.mail.in_folder(crate::transport::CLAIMED_FOLDER), 0);
}

#[test]
fn a_post_whose_laptop_stopped_in_its_fan_out_is_finished_by_the_other_after_the_lease() {
    let all = members(10);
    let a = list_of(&all);
    let b = a.second_laptop();
    a.mail.deliver(&post(ALICE, "Half sent"));
    a.mail.world().crash = Some(Crash::AfterSends(3));
    a.run_and_die();
    assert_eq!(a.mail.world().sent.len(), 3);
    // B sees A's claim; A's mark has not stayed the same for a lease yet.
    let l = &b.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.taken_over, l.sent), (0, 0, 0), "{l:?}");
    b.store().age_claims(590).unwrap();
    let l = &b.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.taken_over), (0, 0), "seconds short: {l:?}");
    b.store().age_claims(10).unwrap();
    let l = &b.run().unwrap().lists[0];
    assert_eq!(
        (l.taken_over, l.new_posts, l.sent, l.filed),
        (1, 1, 10, 1),
        "{l:?}"
    );
    for m in &all {
        let n = copies_of(&a, m, "Half sent");
        assert!(n == 1 || n == 2, "{m} got {n}");
    }
    let log = b.store().activity(&b.list, 20).unwrap();
    assert!(
        log.iter()
            .any(|e| e.message.contains("another laptop took")),
        "{log:?}"
    );
    // A starts again: its claim is gone, and so are the copies it had yet
    // to send.
    let l = &a.run().unwrap().lists[0];
    assert_eq!((l.handed_over, l.sent), (1, 0), "{l:?}");
    assert_eq!(a.mail.world().sent.len(), 13, "A's three, then B's ten");
    let log = a.store().activity(&a.list, 20).unwrap();
    assert!(
        log.iter().any(|e| e.message.contains("its to send")),
        "{log:?}"
    );
    assert_eq!(a.mail.in_folder(PROCESSED_FOLDER), 1);
}

#[test]
fn a_laptop_that_stopped_before_recording_its_claim_takes_it_when_it_starts_again() {
    let t = TestList::new(&[ALICE, "bob@example.org"]);
    let other = t.second_laptop();
    t.mail.deliver(&post(ALICE, "Claimed, then a crash"));
    t.mail.world().crash = Some(Crash::OnFetch);
    t.run_and_die();
    assert_eq!(t.mail.in_folder(crate::transport::CLAIMED_FOLDER), 1);
    // The other laptop leaves it: the claim is not stale.
    assert_eq!(other.run().unwrap().lists[0].new_posts, 0);
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent, l.filed), (1, 2, 1), "{l:?}");
}

#[test]
fn without_move_and_uidplus_posts_are_taken_where_they_are() {
    let t = TestList::new(&[ALICE, "bob@example.org"]);
    t.mail.world().no_claims = true;
    t.mail.deliver(&post(ALICE, "Old server"));
    let l = &t.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent, l.filed), (1, 2, 1), "{l:?}");
    assert_eq!(t.mail.in_folder(crate::transport::CLAIMED_FOLDER), 0);
    assert_eq!(t.mail.in_folder(PROCESSED_FOLDER), 1);
}

#[test]
fn a_member_added_on_one_laptop_is_a_member_on_the_other_and_gets_its_posts() {
    let a = TestList::new(&[ALICE, "bob@example.org"]);
    let b = a.second_laptop();
    share_changes(&[&a, &b]);
    // Each laptop publishes its state once and reads the other's.
    for t in [&a, &b, &a] {
        t.run().unwrap();
    }
    let store_a = a.store();
    store_a
        .add_member(
            &a.list,
            "carol@example.org",
            "Carol",
            crate::model::Role::Member,
        )
        .unwrap();
    a.run().unwrap();
    let l = &b.run().unwrap().lists[0];
    assert_eq!(l.synced, 1, "{l:?}");
    let on_b = b.store().member(&b.list, "carol@example.org").unwrap();
    assert_eq!(on_b.map(|m| m.name), Some("Carol".to_string()));
    let log = b.store().activity(&b.list, 20).unwrap();
    assert!(
        log.iter()
            .any(|e| e.message == "from the other laptop: member added: carol@example.org"),
        "{log:?}"
    );
    // B takes the next post, and Carol gets it from there.
    b.mail.deliver(&post(ALICE, "For everyone"));
    let l = &b.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent), (1, 3), "{l:?}");
    assert_eq!(copies_of(&b, "carol@example.org", "For everyone"), 1);
    // Removed on B: gone on A too.
    b.store()
        .remove_member(&b.list, "carol@example.org")
        .unwrap();
    b.run().unwrap();
    a.run().unwrap();
    assert!(
        a.store()
            .member(&a.list, "carol@example.org")
            .unwrap()
            .is_none()
    );
    // A state sealed with another secret is not merged, and is said.
    let stranger = TestList::new(&[ALICE]);
    stranger.mail.world().secrets.push((
        a.list.address.clone(),
        SecretKind::SyncSecret,
        "another-secret-entirely-here".into(),
    ));
    let store_s = stranger.store();
    store_s.start_sharing_changes(&stranger.list).unwrap();
    store_s
        .add_member(
            &stranger.list,
            "mallory@example.org",
            "",
            crate::model::Role::Owner,
        )
        .unwrap();
    stranger.run().unwrap();
    let sent = stranger
        .mail
        .world()
        .mailbox
        .iter()
        .find(|m| m.folder == crate::sync::FOLDER)
        .map(|m| m.raw.clone())
        .unwrap();
    a.mail.world().mailbox.push(crate::fake_mail::Stored {
        uid: 9999,
        raw: sent,
        folder: crate::sync::FOLDER.into(),
        mark: String::new(),
    });
    a.run().unwrap();
    assert!(
        a.store()
            .member(&a.list, "mallory@example.org")
            .unwrap()
            .is_none()
    );
    let log = a.store().activity(&a.list, 20).unwrap();
    assert!(
        log.iter()
            .any(|e| e.message.contains("could not be opened")),
        "{log:?}"
    );
}

#[test]
fn a_post_held_on_one_laptop_is_decided_on_the_other_and_sent_once() {
    let a = TestList::new(&[ALICE, "bob@example.org"]);
    let b = a.second_laptop();
    share_changes(&[&a, &b]);
    a.mail.deliver(&post("stranger@example.net", "Let me in"));
    let l = &a.run().unwrap().lists[0];
    assert_eq!(l.held, 1, "{l:?}");
    b.run().unwrap();
    let held_b = b.store().held_posts(&b.list).unwrap();
    assert_eq!(held_b.len(), 1, "the held post waits on B too");
    assert_eq!(held_b[0].sender, "stranger@example.net");
    // The owner at B approves it; B sends it, A learns it was done there.
    crate::owner::held::resolve(
        &b.store(),
        &b.list,
        held_b[0].id,
        crate::store::Resolution::Approve,
        std::time::SystemTime::now(),
    )
    .unwrap();
    let l = &b.run().unwrap().lists[0];
    assert_eq!(l.sent, 2, "{l:?}");
    a.run().unwrap();
    assert!(a.store().held_posts(&a.list).unwrap().is_empty());
    let log = a.store().activity(&a.list, 30).unwrap();
    assert!(
        log.iter()
            .any(|e| e.message.contains("approved there, and done from there")),
        "{log:?}"
    );
    a.run().unwrap();
    b.run().unwrap();
    for m in [ALICE, "bob@example.org"] {
        assert_eq!(copies_of(&a, m, "Let me in"), 1, "{m}");
    }
}

#[test]
fn when_a_server_lets_two_laptops_claim_one_post_the_first_copy_wins() {
    let a = TestList::new(&[ALICE, "bob@example.org"]);
    let b = a.second_laptop();
    // B's move copies the post and leaves it in INBOX for a moment, where
    // A's move finds it too: B claimed first, and B stops right there.
    a.mail.world().claims_leave_a_copy = 1;
    a.mail.deliver(&post(ALICE, "Twice claimed"));
    a.mail.world().crash = Some(Crash::OnFetch);
    b.run_and_die();
    let l = &a.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent), (0, 0), "A's later copy goes: {l:?}");
    assert_eq!(a.mail.in_folder("INBOX"), 0);
    assert_eq!(a.mail.in_folder(crate::transport::CLAIMED_FOLDER), 1);
    let l = &b.run().unwrap().lists[0];
    assert_eq!((l.new_posts, l.sent), (1, 2), "{l:?}");
    for m in [ALICE, "bob@example.org"] {
        assert_eq!(copies_of(&a, m, "Twice claimed"), 1, "{m}");
    }
    assert_eq!(a.mail.in_folder(crate::transport::CLAIMED_FOLDER), 0);
}

/// A run keeps the signature checks it made for the next process (which
/// then skips them: `tests/signature_checks.rs`).
#[test]
fn a_run_keeps_its_signature_checks_for_the_next() {
    let t = TestList::openpgp(&[ALICE], &["bob@example.org"]);
    t.mail.deliver(&post(ALICE, "Meeting"));
    t.run().unwrap();
    assert!(!t.store().signature_checks().unwrap().is_empty());
}
