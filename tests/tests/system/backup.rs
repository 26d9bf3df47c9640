//! The list's backup in its own mailbox, on the real rig: with a recovery
//! passphrase, each run after a change puts a sealed backup into the
//! mailbox's folder Conclave/Backup; with the laptop gone (its data folder
//! and keychain), the account's login and the passphrase bring the list
//! back on another, and the next post reaches every member from there.

use std::time::Duration;

use rig::Rig;
use rig::gpg::{open_copy, signed_encrypted_post};
use rig::lists::{gpg_member as member, openpgp_list};
use rig::owner::{other_laptop, said};

const FOLDER: &str = "Conclave/Backup";

#[test]
fn a_list_backed_up_into_its_mailbox_comes_back_on_a_new_laptop_and_runs() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-backup", "Kept");
    let (alice, bob, dave) = (rig.unique("alice"), rig.unique("bob"), rig.unique("dave"));
    let ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);

    // Before a recovery passphrase, no backup.
    assert!(!owner.run_once().contains("backed up"));
    assert!(rig.messages(&owner.list, FOLDER).is_empty());

    let shown = owner.ok(&["list", "recovery", &owner.list]);
    let passphrase = shown
        .lines()
        .find(|l| l.starts_with("    "))
        .expect("the passphrase is shown")
        .trim()
        .to_string();
    assert!(shown.contains("Write it down"), "{shown}");
    assert!(owner.run_once().contains("backed up"));
    assert!(!owner.run_once().contains("backed up"), "nothing changed");
    let gd = member(&owner, &dave, &list_key, true);
    assert!(owner.run_once().contains("backed up"), "a member was added");
    let backups = rig.messages(&owner.list, FOLDER);
    assert_eq!(backups.len(), 2);
    for needle in [alice.as_str(), bob.as_str(), dave.as_str(), "PRIVATE KEY"] {
        assert!(
            !backups[1]
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "{needle} is readable in the backup"
        );
    }

    // The laptop is gone. A post waits for the list meanwhile.
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &signed_encrypted_post(
            &ga,
            &alice,
            &owner.list,
            b"Content-Type: text/plain\r\n\r\nStill here.\r\n",
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));

    let port = rig.imap_port.to_string();
    let ca = rig.ca_path.to_str().unwrap();
    let restore = [
        "list",
        "restore",
        &owner.list,
        "--imap-host",
        &rig.host,
        "--imap-port",
        &port,
        "--imap-tls",
        "starttls",
        "--imap-user",
        &owner.list,
        "--ca-file",
        ca,
    ];
    let pw = rig.password.as_str();
    let wrong = [
        ("CONCLAVE_IMAP_PASSWORD", pw),
        ("CONCLAVE_SMTP_PASSWORD", pw),
        ("CONCLAVE_RECOVERY_PASSPHRASE", "not-the-passphrase-at-all"),
    ];
    let right = [
        ("CONCLAVE_IMAP_PASSWORD", pw),
        ("CONCLAVE_SMTP_PASSWORD", pw),
        ("CONCLAVE_RECOVERY_PASSPHRASE", passphrase.as_str()),
    ];
    let laptop = tempfile::tempdir().unwrap();
    let runs = other_laptop(
        laptop.path(),
        &[
            (&wrong, &restore),
            (&[], &["list", "show", "--json"]),
            (&right, &restore),
            (&[], &["member", "list", &owner.list]),
            (&[], &["run", "--once", "--list", &owner.list]),
        ],
    );
    assert!(!runs[0].status.success());
    assert!(
        said(&runs[0]).contains("passphrase does not open"),
        "{}",
        said(&runs[0])
    );
    assert_eq!(String::from_utf8_lossy(&runs[1].stdout).trim(), "[]");
    assert!(runs[2].status.success(), "{}", said(&runs[2]));
    assert!(said(&runs[2]).contains("3 members"), "{}", said(&runs[2]));
    let members = said(&runs[3]);
    for m in [&alice, &bob, &dave] {
        assert!(members.contains(m.as_str()), "{m} missing: {members}");
    }
    let ran = said(&runs[4]);
    assert!(
        runs[4].status.success() && ran.contains("1 distributed") && ran.contains("3 sent"),
        "{ran}"
    );
    assert!(
        !ran.contains("backed up"),
        "what was restored is the newest backup already: {ran}"
    );
    for (who, g) in [(&bob, &gb), (&dave, &gd)] {
        let copy = &rig.wait_for(who, "INBOX", 1, Duration::from_secs(20))[0];
        assert!(
            String::from_utf8_lossy(&open_copy(g, copy)).contains("Still here."),
            "{who}"
        );
    }
}
