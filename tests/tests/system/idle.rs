//! Waiting for mail on the real rig: a continuous `conclave-cli run` with an
//! hour between polls still sends a post within seconds, because the list's
//! mailbox is watched in IMAP IDLE (Dovecot offers it).

use std::time::Duration;

use rig::Rig;
use rig::owner::Owner;

#[test]
fn a_post_is_sent_as_soon_as_it_arrives_not_at_the_next_poll() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-idle", &[&alice, &bob]);
    let _agent = owner.run_continuously();
    // The first run finds nothing; then the agent waits in IDLE. Two posts,
    // one after the other: each is noticed while the agent waits.
    for (i, subject) in ["first", "second"].iter().enumerate() {
        std::thread::sleep(Duration::from_secs(2));
        rig.submit(
            &alice,
            Some(&alice),
            &[&owner.list],
            &rig::post(&alice, &owner.list, subject, "hello\r\n"),
        );
        // Polling would take an hour; IDLE takes about a second.
        let got = rig.wait_for(&bob, "INBOX", i + 1, Duration::from_secs(30));
        assert!(String::from_utf8_lossy(&got[i]).contains(subject));
    }
}
