//! Two laptops running one list at once (issue 15): each post is claimed on
//! the server (moved into Conclave/Claimed, UID MOVE with UIDPLUS) by one of
//! them before it is read, so every member gets every post exactly once;
//! and a laptop that stops in the middle of a fan-out loses its claim to
//! the other after the list's claim-lease, so the post still reaches
//! every member (duplicates only for that post).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rig::Rig;
use rig::owner::{Owner, cli_path};

/// A continuous agent on one laptop's data folder, killed when dropped.
struct Laptop(Child);

impl Drop for Laptop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(owner: &Owner) -> Laptop {
    let rig = Rig::get();
    let child = Command::new(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(["run", "--interval", "3600"])
        .env("CONCLAVE_IMAP_PASSWORD", &rig.password)
        .env("CONCLAVE_SMTP_PASSWORD", &rig.password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("conclave-cli runs");
    Laptop(child)
}

/// The same list set up in a second data folder: the second laptop. It
/// shares this machine's keychain, where the list's passwords are kept
/// under its address (each data folder has its own database key).
fn second_laptop(first: &Owner, members: &[&str]) -> Owner {
    let rig = Rig::get();
    let other = Owner {
        data: tempfile::tempdir().unwrap(),
        list: first.list.clone(),
    };
    other.ok(&["list", "create", &other.list, "--name", "Test List"]);
    other.account(&rig.ca_path, &rig.password);
    for m in members {
        other.ok(&["member", "add", &other.list, m]);
    }
    other
}

/// How many of `messages` have this subject (after the list's prefix);
/// delivered to a maildir, lines end in LF.
fn subject_count(messages: &[Vec<u8>], subject: &str) -> usize {
    let wanted = format!("] {subject}\n");
    messages
        .iter()
        .filter(|m| {
            let text = String::from_utf8_lossy(m).replace("\r\n", "\n");
            text.contains(&wanted)
        })
        .count()
}

#[test]
fn two_laptops_running_one_list_together_send_every_post_exactly_once() {
    let rig = Rig::get();
    let members: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|m| rig.unique(m))
        .collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let a = Owner::new("list-two", &members);
    let b = second_laptop(&a, &members);
    let _la = start(&a);
    let _lb = start(&b);
    std::thread::sleep(Duration::from_secs(2));
    let subjects: Vec<String> = (0..30).map(|i| format!("Post {i:02}")).collect();
    for s in &subjects {
        rig.submit(
            members[0],
            Some(members[0]),
            &[&a.list],
            &rig::post(members[0], &a.list, s, "hello\r\n"),
        );
    }
    for m in &members {
        rig.wait_for(m, "INBOX", 30, Duration::from_secs(120));
    }
    // Time for a second copy to come, if either laptop were to send one.
    std::thread::sleep(Duration::from_secs(5));
    for m in &members {
        let got = rig.messages(m, "INBOX");
        for s in &subjects {
            assert_eq!(subject_count(&got, s), 1, "{m}: {s}");
        }
        assert_eq!(got.len(), 30, "{m}");
    }
    rig.wait_for(&a.list, "Conclave/Processed", 30, Duration::from_secs(30));
    assert!(
        rig.messages(&a.list, "INBOX").is_empty()
            && rig.messages(&a.list, "Conclave/Claimed").is_empty()
    );
}

#[test]
fn a_laptop_stopped_in_the_middle_of_a_fan_out_loses_the_post_to_the_other_after_the_lease() {
    let rig = Rig::get();
    let members: Vec<String> = (0..30).map(|i| rig.unique(&format!("m{i}"))).collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let a = Owner::new("list-lease", &members);
    let b = second_laptop(&a, &members);
    for o in [&a, &b] {
        o.ok(&["list", "set", &o.list, "claim-lease", "20s"]);
    }
    // Laptop A sends one copy a second: its fan-out outlasts the lease,
    // which it must keep renewing.
    a.ok(&["list", "set", &a.list, "send-rate", "60"]);
    let mut la = start(&a);
    std::thread::sleep(Duration::from_secs(2));
    rig.submit(
        members[0],
        Some(members[0]),
        &[&a.list],
        &rig::post(members[0], &a.list, "Slow news", "hello\r\n"),
    );
    let got = |m: &str| subject_count(&rig.messages(m, "INBOX"), "Slow news");
    let total = || members.iter().map(|m| got(m)).sum::<usize>();
    // B starts once A has taken the post, and sees A's claim; A is killed
    // once it has been sending for longer than the lease.
    let began = Instant::now();
    let mut lb = None;
    while total() < 25 {
        if lb.is_none() && total() > 0 {
            lb = Some(start(&b));
        }
        assert!(
            began.elapsed() < Duration::from_secs(90),
            "laptop A sent {} copies in 90 s",
            total()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        members.iter().all(|m| got(m) <= 1),
        "laptop B took the post while A was still at it"
    );
    let _ = la.0.kill();
    let _ = la.0.wait();
    let killed = Instant::now();
    // B takes it over within the lease plus a minute; every member has it.
    while members.iter().any(|m| got(m) == 0) {
        assert!(
            killed.elapsed() < Duration::from_secs(20 + 60),
            "laptop B did not finish the post: {} members without it",
            members.iter().filter(|m| got(m) == 0).count()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(lb);
    let log = b.ok(&["log", &b.list]);
    assert!(log.contains("another laptop took"), "{log}");
    // A starts again: another laptop finished its post, so it sends
    // nothing more of it.
    let before = total();
    let ran = a.run_once();
    assert!(ran.contains("finished by another laptop"), "{ran}");
    assert!(ran.contains("0 sent"), "{ran}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(total(), before);
    assert!(members.iter().all(|m| (1..=2).contains(&got(m))));
}

#[test]
fn a_member_added_on_one_laptop_is_a_member_on_the_other_within_a_minute_and_gets_its_posts() {
    let rig = Rig::get();
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    let a = Owner::new("list-sync", &[&alice, &bob]);
    // The second laptop is set up the way an owner does it: a bundle.
    let bundle = a.data.path().join("handed.conclave");
    let pass = [("CONCLAVE_BUNDLE_PASSPHRASE", "otter lantern quarry seven")];
    let cli = |data: &std::path::Path, args: &[&str]| {
        let out = Command::new(cli_path())
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .envs(pass)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", rig::owner::said(&out));
    };
    cli(
        a.data.path(),
        &[
            "list",
            "export",
            &a.list,
            "--to",
            bundle.to_str().unwrap(),
            "--with-passwords",
        ],
    );
    let b = Owner {
        data: tempfile::tempdir().unwrap(),
        list: a.list.clone(),
    };
    cli(b.data.path(), &["list", "import", bundle.to_str().unwrap()]);
    let la = start(&a);
    let _lb = start(&b);
    std::thread::sleep(Duration::from_secs(3));

    a.ok(&["member", "add", &a.list, &carol, "--name", "Carol"]);
    let added = Instant::now();
    while !b.ok(&["member", "list", &b.list]).contains(&carol) {
        assert!(
            added.elapsed() < Duration::from_secs(60),
            "the member added on laptop A is not on laptop B after a minute"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!("on laptop B after {:?}", added.elapsed());
    let log = b.ok(&["log", &b.list]);
    assert!(
        log.contains(&format!("from the other laptop: member added: {carol}")),
        "{log}"
    );

    // Laptop A stops; B takes the next post, and Carol gets it.
    drop(la);
    rig.submit(
        &alice,
        Some(&alice),
        &[&a.list],
        &rig::post(&alice, &a.list, "After the change", "hello\r\n"),
    );
    let got = rig.wait_for(&carol, "INBOX", 1, Duration::from_secs(60));
    assert_eq!(subject_count(&got, "After the change"), 1);
}
