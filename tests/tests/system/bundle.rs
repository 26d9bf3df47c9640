//! Hand-over bundles: a list sealed on one laptop is made whole on another
//! (its own data folder and its own keychain) and runs there; a wrong
//! passphrase or a changed byte is refused with nothing written.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rig::Rig;
use rig::gpg::{encrypted_mail, gpg_to_list, open_copy};
use rig::lists::{gpg_member as member, openpgp_list};
use rig::owner::cli_path;

const PASSPHRASE: &str = "otter lantern quarry seven";

/// Runs `conclave-cli` on "another laptop": the data folder `data` and a
/// keychain of its own, which lives while the commands run, in order,
/// each with the bundle passphrase given beside it. Returns each
/// command's output.
fn other_laptop(data: &Path, commands: &[(&str, &[&str])]) -> Vec<Output> {
    let dir = tempfile::tempdir().unwrap();
    let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
    let mut script = String::from("set -u\n");
    for (i, (passphrase, args)) in commands.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
        script.push_str(&format!(
            "CONCLAVE_BUNDLE_PASSPHRASE={} \"$CLI\" --data-dir \"$DATA\" {} >\"$OUT/{i}.out\" 2>\"$OUT/{i}.err\"; echo $? >\"$OUT/{i}.rc\"\n",
            quote(passphrase),
            args.join(" ")
        ));
    }
    let status = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("with-keychain.sh"))
        .args(["bash", "-c", &script])
        .env("CLI", cli_path())
        .env("DATA", data)
        .env("OUT", dir.path())
        // The passwords must come from the bundle, not from here.
        .env_remove("CONCLAVE_IMAP_PASSWORD")
        .env_remove("CONCLAVE_SMTP_PASSWORD")
        .status()
        .unwrap();
    assert!(status.success(), "the second keychain did not start");
    (0..commands.len())
        .map(|i| {
            let read = |ext: &str| std::fs::read(dir.path().join(format!("{i}.{ext}"))).unwrap();
            let code: i32 = String::from_utf8(read("rc"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            Output {
                status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
                stdout: read("out"),
                stderr: read("err"),
            }
        })
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

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
    assert!(exported.status.success(), "{}", text(&exported));
    assert!(
        text(&exported).contains("2 members")
            && text(&exported).contains("with the account's passwords"),
        "{}",
        text(&exported)
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
    let ct = gpg_to_list(
        &ga,
        &[
            "--local-user",
            &alice,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        b"Content-Type: text/plain\r\n\r\nFrom the other laptop.\r\n",
    );
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &encrypted_mail(&alice, &owner.list, &ct),
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
            (wrong, &["list", "import", bundle.to_str().unwrap()]),
            (
                PASSPHRASE,
                &["list", "import", changed_file.to_str().unwrap()],
            ),
            (PASSPHRASE, &["list", "show", "--json"]),
            (PASSPHRASE, &["list", "import", bundle.to_str().unwrap()]),
            (PASSPHRASE, &["list", "import", bundle.to_str().unwrap()]),
            (PASSPHRASE, &["member", "list", &owner.list]),
            (PASSPHRASE, &["list", "show", &owner.list, "--json"]),
            (PASSPHRASE, &["run", "--once", "--list", &owner.list]),
        ],
    );
    assert!(!runs[0].status.success());
    assert!(
        text(&runs[0]).contains("passphrase does not open this bundle"),
        "{}",
        text(&runs[0])
    );
    assert!(!runs[1].status.success());
    assert!(
        text(&runs[1]).contains("damaged or changed"),
        "{}",
        text(&runs[1])
    );
    assert_eq!(String::from_utf8_lossy(&runs[2].stdout).trim(), "[]");
    assert!(runs[3].status.success(), "{}", text(&runs[3]));
    assert!(text(&runs[3]).contains("2 members"), "{}", text(&runs[3]));
    assert!(!runs[4].status.success(), "imported twice");
    assert!(text(&runs[4]).contains("already"), "{}", text(&runs[4]));
    let members = text(&runs[5]);
    assert!(
        members.contains(&alice) && members.contains(&bob),
        "{members}"
    );
    assert!(
        text(&runs[6]).contains("[handed]"),
        "settings came along: {}",
        text(&runs[6])
    );
    let ran = text(&runs[7]);
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
