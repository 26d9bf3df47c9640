//! Nothing readable at rest: whoever holds the laptop's disk (the data
//! folder, without the keychain) finds no member's address, no subject and
//! no key fingerprint in it, after real posts went through; and a plain
//! database from an earlier Conclave is encrypted on the first start, even
//! when that start is killed midway.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rig::Rig;
use rig::gpg::{signed_encrypted_post, signed_entity, with_headers};
use rig::lists::{fingerprint, gpg_member as member, openpgp_list};
use rig::owner::cli_path;

const SUBJECT: &str = "Harbour meeting moved to the boathouse";

/// The needles found in any file of `dir`.
fn readable(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for needle in needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(format!("{needle} in {}", path.display()));
            }
        }
    }
    found
}

#[test]
fn the_data_folder_shows_no_address_subject_or_fingerprint() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-at-rest", "Secure");
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let ga = member(&owner, &alice, &list_key, true);
    let gb = member(&owner, &bob, &list_key, true);

    // A post that goes out, and one held because its signature is not
    // Bob's key: its bytes wait in the store for the owner.
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &signed_encrypted_post(
            &ga,
            &alice,
            &owner.list,
            b"Content-Type: text/plain\r\n\r\nSee you there.\r\n",
        ),
    );
    let mallory = rig::gpg::Gpg::new();
    mallory.generate(&format!("Bob <{bob}>"), "future-default", "never", &[]);
    let forged = String::from_utf8(with_headers(
        &bob,
        &owner.list,
        &signed_entity(&mallory, &bob, b"Content-Type: text/plain\r\n\r\nCome.\r\n"),
    ))
    .unwrap()
    .replacen("Subject: signed", &format!("Subject: {SUBJECT}"), 1);
    let forged = forged.into_bytes();
    rig.deliver(Some(&bob), &[&owner.list], &forged);
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("1 held"),
        "{out}"
    );

    // The store has all of it, for the owner...
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    assert_eq!(held[0]["subject"].as_str(), Some(SUBJECT), "{held}");
    let list_fpr = owner.json(&["list", "key", "show", &owner.list, "--json"])["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(
        members.contains(&alice) && members.contains(&bob),
        "{members}"
    );

    // ...and the disk none of it.
    let (fa, fb) = (fingerprint(&ga, &alice), fingerprint(&gb, &bob));
    let mut needles = vec![
        alice.clone(),
        bob.clone(),
        owner.list.clone(),
        SUBJECT.to_string(),
        "SQLite format 3".to_string(),
    ];
    for fpr in [&fa, &fb, &list_fpr.replace(' ', "")] {
        needles.push(fpr.to_uppercase());
        needles.push(fpr.to_lowercase());
    }
    let found = readable(owner.data.path(), &needles);
    assert!(found.is_empty(), "readable at rest: {found:?}");
}

/// A copy of the old plain database, grown so that encrypting it takes a
/// while (about 12 MB of log lines).
fn old_plain_folder() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("conclave.sqlite3");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-data/stores/schema-5-plain.sqlite3"),
        &path,
    )
    .unwrap();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    let line = format!(
        "distributed a post from ada@example.org {}",
        "x".repeat(400)
    );
    for i in 0..30_000 {
        tx.execute(
            "INSERT INTO activity (list_id, at, kind, message) VALUES (1, ?1, 'post', ?2)",
            rusqlite::params![i, line],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO activity (list_id, at, kind, message) VALUES (1, 40000, 'config', 'the newest line')",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
    drop(conn);
    data
}

fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(cli_path())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_old_plain_database_is_encrypted_on_first_start_even_when_killed_midway() {
    let data = old_plain_folder();
    let names = [
        "ada@example.org",
        "grace@example.org",
        "hedy@example.org",
        "Grace Hopper",
    ]
    .map(String::from);
    assert_eq!(
        readable(data.path(), &names).len(),
        names.len(),
        "the old database is plain"
    );

    // Starts killed after ever longer moments: each leaves a folder the
    // next start can use, whatever step the encryption had reached.
    let mut kills = 0;
    for ms in [5u64, 15, 30, 60, 100, 160, 250, 400, 600] {
        let mut child = Command::new(cli_path())
            .arg("--data-dir")
            .arg(data.path())
            .args(["member", "list", "old-list@example.org"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills > 0, "no start was killed: grow the old database");

    let out = cli(data.path(), &["member", "list", "old-list@example.org"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for who in ["ada@example.org", "grace@example.org", "hedy@example.org"] {
        assert!(listed.contains(who), "{who} was lost: {listed}");
    }
    let log = cli(
        data.path(),
        &["log", "old-list@example.org", "--limit", "1"],
    );
    assert!(
        String::from_utf8_lossy(&log.stdout).contains("the newest line"),
        "the log was cut short"
    );
    let found = readable(data.path(), &names);
    assert!(found.is_empty(), "readable at rest: {found:?}");
}
