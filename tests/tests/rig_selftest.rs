//! The mail rig itself works: submission delivers into a mailbox on disk,
//! and a wrong password is refused.

use std::time::Duration;

use rig::Rig;

#[test]
fn the_rig_delivers_and_refuses_wrong_passwords() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));

    let post = rig::post(&alice, &bob, "rig self-test", "Hello from the rig.\r\n");
    rig.submit(&alice, Some(&alice), &[&bob], &post);
    let got = rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0]);
    assert!(text.contains("Subject: rig self-test") && text.contains("Hello from the rig."), "{text}");

    // An empty envelope sender (a fake bounce) is accepted too.
    rig.submit(&alice, None, &[&bob], &rig::post(&format!("MAILER-DAEMON@{}", rig.domain), &bob, "bounce", "x\r\n"));
    rig.wait_for(&bob, "INBOX", 2, Duration::from_secs(20));

    let refused = rig.try_submit(&alice, "wrong-password", Some(&alice), &[&bob], &post);
    let err = refused.expect_err("a wrong password must be refused");
    assert!(err.is_permanent() || err.to_string().contains("535"), "{err:?}");
}
