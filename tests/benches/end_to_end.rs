//! The end-to-end figure on the real rig: from a post's SMTP submission to
//! the last of 50 members' copies landing in their inboxes, with the agent
//! running continuously and waiting in IMAP IDLE. An OpenPGP list: the post
//! is signed and encrypted by a member with gpg, the list decrypts, checks,
//! signs and encrypts a copy per member.
//!
//! Needs the mail rig and a keychain; `bash scripts/measure-end-to-end.sh`
//! sets both up and runs it. It prints a figure; it asserts nothing about
//! time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rig::Rig;
use rig::gpg::{Gpg, encrypted_mail, gpg_to_list};
use rig::owner::{Owner, cli_path};

const MEMBERS: usize = 50;
const ROUNDS: usize = 5;

fn count(rig: &Rig, user: &str) -> usize {
    let dir = rig.maildir(user, "INBOX");
    ["new", "cur"]
        .iter()
        .filter_map(|s| std::fs::read_dir(dir.join(s)).ok())
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .sum()
}

fn main() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-e2e"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Bench",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &owner.list]);
    let list_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();

    // One gpg home holds every member's key (the members are simulated);
    // member 0 posts.
    let gpg = Gpg::new();
    assert!(gpg.run(&["--import"], Some(&list_key)).status.success());
    let members: Vec<String> = (0..MEMBERS).map(|i| rig.unique(&format!("m{i}"))).collect();
    for m in &members {
        gpg.generate(&format!("M <{m}>"), "future-default", "never", &[]);
        let file = gpg.home.path().join("k.asc");
        std::fs::write(&file, gpg.export(m)).unwrap();
        owner.ok(&[
            "member",
            "add",
            &owner.list,
            m,
            "--key",
            file.to_str().unwrap(),
        ]);
    }

    let mut agent = Command::new(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(["run", "--interval", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("conclave-cli runs");
    std::thread::sleep(Duration::from_secs(3));

    let mut times = Vec::new();
    for round in 1..=ROUNDS {
        let entity = format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\nRound {round}: the meeting is at seven.\r\n"
        );
        let ct = gpg_to_list(
            &gpg,
            &[
                "--local-user",
                &members[0],
                "--sign",
                "--encrypt",
                "--recipient",
                &owner.list,
            ],
            entity.as_bytes(),
        );
        let post = encrypted_mail(&members[0], &owner.list, &ct);
        let start = Instant::now();
        rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
        let deadline = start + Duration::from_secs(120);
        while members.iter().any(|m| count(rig, m) < round) {
            assert!(
                Instant::now() < deadline,
                "round {round}: not every member got the post in two minutes"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        times.push(start.elapsed());
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = agent.kill();
    let _ = agent.wait();
    let mut sorted = times.clone();
    sorted.sort();
    let shown: Vec<String> = times
        .iter()
        .map(|t| format!("{:.2} s", t.as_secs_f64()))
        .collect();
    println!(
        "end to end, {MEMBERS} members, OpenPGP (submission to the last inbox), {ROUNDS} rounds: {}",
        shown.join(", ")
    );
    println!("median {:.2} s", sorted[ROUNDS / 2].as_secs_f64());
}
