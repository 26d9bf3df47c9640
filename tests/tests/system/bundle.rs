//! Hand-over bundles: a list sealed on one laptop is made whole on another
//! (its own data folder and its own keychain) and runs there; a wrong
//! passphrase or a changed byte is refused with nothing written.

use std::process::Command;
use std::time::Duration;

use rig::Rig;
use rig::gpg::{open_copy, signed_encrypted_post};
use rig::lists::{gpg_member as member, openpgp_list};
use rig::owner::{cli_path, other_laptop, said};

const PASSPHRASE: &str = "otter lantern quarry seven";
const PASS: &str = "CONCLAVE_BUNDLE_PASSPHRASE";

#[test]
fn a_list_sealed_here_runs_on_another_laptop_and_a_wrong_passphrase_or_changed_byte_writes_nothing()
{
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-bundle", "Handed");
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);
    owner.ok(&["list", "set", &owner.list, "subject-prefix", "[handed]"]);

    let bundle = owner.data.path().join("handed.conclave");
    let exported = Command::new(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(["list", "export", &owner.list, "--to"])
        .arg(&bundle)
        .arg("--with-passwords")
        .env("CONCLAVE_BUNDLE_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", said(&exported));
    assert!(
        said(&exported).contains("2 members")
            && said(&exported).contains("with the account's passwords"),
        "{}",
        said(&exported)
    );
    let sealed = std::fs::read(&bundle).unwrap();
    for needle in [
        alice.as_str(),
        owner.list.as_str(),
        &rig.password,
        "PRIVATE KEY",
    ] {
        assert!(
            !sealed.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is readable in the bundle"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "others may read the bundle: {mode:o}");
    }

    // The next post waits in the mailbox for the other laptop.
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &signed_encrypted_post(
            &ga,
            &alice,
            &owner.list,
            b"Content-Type: text/plain\r\n\r\nFrom the other laptop.\r\n",
        ),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));

    // There: a wrong passphrase and a changed byte are refused and leave
    // no list behind; the right one makes the list whole in that folder
    // and keychain, and the post goes out from there, signed with the
    // same list key, with the passwords the bundle carried.
    let mut changed = sealed.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x20;
    let changed_file = owner.data.path().join("changed.conclave");
    std::fs::write(&changed_file, &changed).unwrap();
    let other = tempfile::tempdir().unwrap();
    let wrong = "otter lantern quarry eight";
    let runs = other_laptop(
        other.path(),
        &[
            (
                &[(PASS, wrong)],
                &["list", "import", bundle.to_str().unwrap()],
            ),
            (
                &[(PASS, PASSPHRASE)],
                &["list", "import", changed_file.to_str().unwrap()],
            ),
            (&[(PASS, PASSPHRASE)], &["list", "show", "--json"]),
            (
                &[(PASS, PASSPHRASE)],
                &["list", "import", bundle.to_str().unwrap()],
            ),
            (
                &[(PASS, PASSPHRASE)],
                &["list", "import", bundle.to_str().unwrap()],
            ),
            (&[(PASS, PASSPHRASE)], &["member", "list", &owner.list]),
            (
                &[(PASS, PASSPHRASE)],
                &["list", "show", &owner.list, "--json"],
            ),
            (
                &[(PASS, PASSPHRASE)],
                &["run", "--once", "--list", &owner.list],
            ),
        ],
    );
    assert!(!runs[0].status.success());
    assert!(
        said(&runs[0]).contains("passphrase does not open this bundle"),
        "{}",
        said(&runs[0])
    );
    assert!(!runs[1].status.success());
    assert!(
        said(&runs[1]).contains("damaged or changed"),
        "{}",
        said(&runs[1])
    );
    assert_eq!(String::from_utf8_lossy(&runs[2].stdout).trim(), "[]");
    assert!(runs[3].status.success(), "{}", said(&runs[3]));
    assert!(said(&runs[3]).contains("2 members"), "{}", said(&runs[3]));
    assert!(!runs[4].status.success(), "imported twice");
    assert!(said(&runs[4]).contains("already"), "{}", said(&runs[4]));
    let members = said(&runs[5]);
    assert!(
        members.contains(&alice) && members.contains(&bob),
        "{members}"
    );
    assert!(
        said(&runs[6]).contains("[handed]"),
        "settings came along: {}",
        said(&runs[6])
    );
    let ran = said(&runs[7]);
    assert!(
        runs[7].status.success() && ran.contains("1 distributed") && ran.contains("2 sent"),
        "{ran}"
    );
    let copy = &rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20))[0];
    let inner = open_copy(&gb, copy);
    assert!(
        String::from_utf8_lossy(&inner).contains("From the other laptop."),
        "{}",
        String::from_utf8_lossy(&inner)
    );
}
