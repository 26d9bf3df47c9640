//! A member whose key ends soon is told, on the real rig: the reminder
//! decrypts with the member's gpg, is signed by the list, names the key and
//! the day it ends, and comes once.

use std::time::Duration;

use conclave_engine::mime;
use rig::Rig;
use rig::gpg::{Gpg, open_copy, verify_signed_by_list};
use rig::lists::{fingerprint, grouped, openpgp_list};

#[test]
fn a_member_whose_key_ends_in_three_weeks_is_told_once_encrypted_and_signed() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-remind", "Reminding");
    let carol = rig.unique("carol");
    let g = Gpg::new();
    g.generate(&format!("Carol <{carol}>"), "future-default", "20d", &[]);
    assert!(g.run(&["--import"], Some(&list_key)).status.success());
    let file = g.home.path().join("key.asc");
    std::fs::write(&file, g.export(&carol)).unwrap();
    owner.ok(&[
        "member",
        "add",
        &owner.list,
        &carol,
        "--key",
        file.to_str().unwrap(),
    ]);

    let out = owner.run_once();
    assert!(out.contains("1 member(s) told"), "{out}");
    let got = rig.wait_for(&carol, "INBOX", 1, Duration::from_secs(20));
    let (head, _) = mime::split_head(&got[0]);
    assert!(
        mime::header(head, "Subject").unwrap().contains("ends soon"),
        "{}",
        String::from_utf8_lossy(head)
    );
    assert_eq!(
        mime::header(head, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );

    let inner = open_copy(&g, &got[0]);
    let signed = verify_signed_by_list(&g, &inner, "Reminding", &owner.list);
    let text = String::from_utf8_lossy(&signed).replace("\r\n", "\n");
    let fpr = fingerprint(&g, &carol);
    assert!(text.contains(&grouped(&fpr)), "{text}");
    assert!(text.contains("(in 20 days)"), "{text}");

    // Once.
    let out = owner.run_once();
    assert!(!out.contains("told"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rig.messages(&carol, "INBOX").len(), 1);
}
