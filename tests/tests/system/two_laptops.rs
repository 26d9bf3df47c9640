//! Two laptops running one list at once (issue 15): each post is claimed on
//! the server (moved into Conclave/Claimed, UID MOVE with UIDPLUS) by one of
//! them before it is read, so every member gets every post exactly once;
//! and a laptop that stops in the middle of a fan-out loses its claim to
//! the other after the list's claim-lease, so the post still reaches
//! every member (duplicates only for that post); and a member added on one
//! laptop is a member on the other within a minute. Laptop B is set up as
//! an owner does it: from A's bundle, in a data folder and a keychain of
//! its own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rig::Rig;
use rig::owner::{Owner, cli_path};

/// The list sealed into a bundle on laptop A, with its passwords, the way
/// an owner hands it to a second laptop.
fn hand_over(a: &Owner) -> std::path::PathBuf {
    let bundle = a.data.path().join("handed.conclave");
    let out = Command::new(cli_path())
        .arg("--data-dir")
        .arg(a.data.path())
        .args(["list", "export", &a.list, "--to"])
        .arg(&bundle)
        .arg("--with-passwords")
        .env(PASS.0, PASS.1)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", rig::owner::said(&out));
    bundle
}

const PASS: (&str, &str) = ("CONCLAVE_BUNDLE_PASSPHRASE", "otter lantern quarry seven");

/// Laptop B: a data folder and a keychain of its own, the list imported
/// from A's bundle, its agent running; what `member list` and `log` say
/// there is written down every second (its store opens only with its
/// keychain).
struct OtherLaptop {
    child: Child,
    out: tempfile::TempDir,
}

const OTHER_LAPTOP: &str = r#"set -eu
echo $$ >"$OUT/pid"
"$CLI" --data-dir "$OUT/data" list import "$BUNDLE" >"$OUT/import" 2>&1
"$CLI" --data-dir "$OUT/data" run --interval 3600 >"$OUT/run" 2>&1 &
agent=$!
trap 'kill $agent 2>/dev/null; exit 0' TERM
while true; do
  "$CLI" --data-dir "$OUT/data" member list "$LIST" >"$OUT/members.part" 2>&1 && mv "$OUT/members.part" "$OUT/members"
  "$CLI" --data-dir "$OUT/data" log "$LIST" >"$OUT/log.part" 2>&1 && mv "$OUT/log.part" "$OUT/log"
  sleep 1
done
"#;

impl OtherLaptop {
    fn start(bundle: &std::path::Path, list: &str) -> OtherLaptop {
        use std::os::unix::process::CommandExt;
        let out = tempfile::tempdir().unwrap();
        let child = Command::new("bash")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("with-keychain.sh"))
            .args(["bash", "-c", OTHER_LAPTOP])
            .env("CLI", cli_path())
            .env("OUT", out.path())
            .env("BUNDLE", bundle)
            .env("LIST", list)
            .env(PASS.0, PASS.1)
            .env_remove("CONCLAVE_IMAP_PASSWORD")
            .env_remove("CONCLAVE_SMTP_PASSWORD")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("the other laptop starts");
        let laptop = OtherLaptop { child, out };
        let began = Instant::now();
        while laptop.members().is_empty() {
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "laptop B did not start: {}",
                laptop.said("import")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        laptop
    }

    fn said(&self, what: &str) -> String {
        std::fs::read_to_string(self.out.path().join(what)).unwrap_or_default()
    }

    fn members(&self) -> String {
        self.said("members")
    }

    fn log(&self) -> String {
        self.said("log")
    }
}

impl Drop for OtherLaptop {
    /// Ends the agent and the loop, so that the keychain script tidies up
    /// after them; the whole group goes if that does not happen in time.
    fn drop(&mut self) {
        let inner = self.said("pid");
        let _ = Command::new("kill").args(["-TERM", inner.trim()]).status();
        let began = Instant::now();
        while began.elapsed() < Duration::from_secs(10) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
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
    let bundle = hand_over(&a);
    let _la = a.run_continuously();
    let lb = OtherLaptop::start(&bundle, &a.list);
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
    let same_moment = |log: &str| log.matches("at the same moment").count();
    eprintln!(
        "posts claimed by both laptops at once, left to the first: {} on A, {} on B",
        same_moment(&a.ok(&["log", &a.list])),
        same_moment(&lb.log())
    );
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
    a.ok(&["list", "set", &a.list, "claim-lease", "20s"]);
    // Laptop A sends one copy a second: its fan-out outlasts the lease,
    // which it must keep renewing. (B has the same settings.)
    a.ok(&["list", "set", &a.list, "send-rate", "60"]);
    let bundle = hand_over(&a);
    let mut la = a.run_continuously();
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
            lb = Some(OtherLaptop::start(&bundle, &a.list));
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
    let lb = lb.expect("laptop B started");
    // B takes it over within the lease plus a minute; every member has it.
    while members.iter().any(|m| got(m) == 0) {
        assert!(
            killed.elapsed() < Duration::from_secs(20 + 60),
            "laptop B did not finish the post: {} members without it",
            members.iter().filter(|m| got(m) == 0).count()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_secs(2));
    let log = lb.log();
    assert!(log.contains("another laptop took"), "{log}");
    drop(lb);
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
    let bundle = hand_over(&a);
    let la = a.run_continuously();
    let b = OtherLaptop::start(&bundle, &a.list);
    // Both have published their state once.
    std::thread::sleep(Duration::from_secs(3));

    a.ok(&["member", "add", &a.list, &carol, "--name", "Carol"]);
    let added = Instant::now();
    while !b.members().contains(&carol) {
        assert!(
            added.elapsed() < Duration::from_secs(60),
            "the member added on laptop A is not on laptop B after a minute"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!("on laptop B after {:?}", added.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    let log = b.log();
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
