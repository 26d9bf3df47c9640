//! Waiting for mail on the real rig: a continuous `conclave-cli run` with an
//! hour between polls still sends a post within seconds, because the list's
//! mailbox is watched in IMAP IDLE (Dovecot offers it).

use std::time::Duration;

use rig::Rig;
use rig::owner::Owner;

/// Alice posts `subject` to the list, after a pause that lets the agent
/// be back in IDLE; the `n`th copy that reaches Bob is that post.
fn post_and_see(rig: &Rig, owner: &Owner, (alice, bob): (&str, &str), n: usize, subject: &str) {
    std::thread::sleep(Duration::from_secs(2));
    rig.submit(
        alice,
        Some(alice),
        &[&owner.list],
        &rig::post(alice, &owner.list, subject, "hello\r\n"),
    );
    // Polling would take an hour; IDLE takes about a second.
    let got = rig.wait_for(bob, "INBOX", n, Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&got[n - 1]).contains(subject));
}

#[test]
fn a_post_is_sent_as_soon_as_it_arrives_not_at_the_next_poll() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-idle", &[&alice, &bob]);
    let _agent = owner.run_continuously();
    // The first run finds nothing; then the agent waits in IDLE. Two posts,
    // one after the other: each is noticed while the agent waits.
    for (i, subject) in ["first", "second"].iter().enumerate() {
        post_and_see(rig, &owner, (&alice, &bob), i + 1, subject);
    }
}

/// How often the rig's IMAP server let `user` log in.
fn logins(rig: &Rig, user: &str) -> usize {
    let log = std::fs::read_to_string(rig.dir.join("dovecot/dovecot.log")).unwrap_or_default();
    let said = format!("Login: user=<{user}>");
    log.lines().filter(|l| l.contains(&said)).count()
}

#[test]
fn the_run_a_post_wakes_reads_it_on_the_watching_connection() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-lent", &[&alice, &bob]);
    let _agent = owner.run_continuously();
    // The first run logs in, then the watcher does (and making the list
    // logged in before).
    std::thread::sleep(Duration::from_secs(3));
    let before = logins(rig, &owner.list);
    assert!(before >= 2, "{before} logins");
    // The third post shows the watcher has its connection back and waits
    // again.
    for (i, subject) in ["first", "second", "third"].iter().enumerate() {
        post_and_see(rig, &owner, (&alice, &bob), i + 1, subject);
        // Each run used the connection that told of its post, and gave it
        // back to the watcher: no login of its own.
        assert_eq!(logins(rig, &owner.list), before, "after the {subject} post");
    }
}
