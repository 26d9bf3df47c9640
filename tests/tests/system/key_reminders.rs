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

/// A renewed list key reaches every member once, signed by the list with
/// the key attached: imported, the member's gpg sees its new expiry.
#[test]
fn a_renewed_list_key_is_mailed_to_every_member_once() {
    let rig = Rig::get();
    // A list key made by gpg, valid for 20 days, as an owner might bring.
    let owner = rig::owner::Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-renewed"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Reminding",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    let keys = Gpg::new();
    let made = keys.generate(
        &format!("Reminding <{}>", owner.list),
        "future-default",
        "20d",
        &[],
    );
    let file = owner.data.path().join("list-key.asc");
    std::fs::write(
        &file,
        keys.ok(&["--passphrase", "", "--armor", "--export-secret-keys", &made]),
    )
    .unwrap();
    owner.ok(&["list", "key", "import", &owner.list, file.to_str().unwrap()]);
    let list_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();
    let (ann, ben) = (rig.unique("ann"), rig.unique("ben"));
    let ga = rig::lists::gpg_member(&owner, &ann, &list_key, true);
    let _gb = rig::lists::gpg_member(&owner, &ben, &list_key, false);
    // Nothing to tell before a renewal.
    assert!(!owner.run_once().contains("renewed list key"));

    owner.ok(&["list", "key", "renew", &owner.list, "--days", "400"]);
    let out = owner.run_once();
    assert!(
        out.contains("renewed list key mailed to 2 member(s)"),
        "{out}"
    );
    let got = rig.wait_for(&ann, "INBOX", 1, Duration::from_secs(20));
    let (head, _) = mime::split_head(&got[0]);
    assert!(
        mime::header(head, "Subject")
            .unwrap()
            .contains("was renewed")
    );
    let signed = verify_signed_by_list(&ga, &got[0], "Reminding", &owner.list);
    let text = String::from_utf8_lossy(&signed).into_owned();
    let fpr = fingerprint(&ga, &owner.list);
    assert!(text.contains(&grouped(&fpr)), "{text}");
    // The attached key, imported, carries the new expiry (400 days on).
    let ct = mime::header(mime::split_head(&signed).0, "Content-Type").unwrap();
    let parts = mime::parts(
        mime::split_head(&signed).1,
        &mime::param(&ct, "boundary").unwrap(),
    )
    .unwrap();
    let key = mime::split_head(parts[1]).1;
    assert!(ga.run(&["--import"], Some(key)).status.success());
    let listing = String::from_utf8(ga.ok(&["--with-colons", "--list-keys", &owner.list])).unwrap();
    let expiry: u64 = listing
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(6))
        .and_then(|e| e.parse().ok())
        .expect("an expiry");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expiry > now + 390 * 86_400, "the new expiry: {listing}");
    rig.wait_for(&ben, "INBOX", 1, Duration::from_secs(20));

    // Once.
    assert!(!owner.run_once().contains("renewed list key"));
}
