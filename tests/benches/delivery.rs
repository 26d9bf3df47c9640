//! A fan-out as a list waits for it, next to the floor and the old way, in
//! one run on the rig (issue 13's measure). An OpenPGP list of N members,
//! each with a gpg key; a post signed and encrypted by a member with gpg
//! waits in the list's mailbox. Four figures, each the median of a few
//! rounds (CONCLAVE_BENCH_ROUNDS, 5 by default), each from start to the
//! last copy accepted by the submission server:
//!
//! - Conclave: `conclave-cli run --once`, start to exit (reading the post,
//!   deciding, signing once, encrypting per member, sending over its lanes,
//!   filing the post).
//! - The floor: the same N copies (Conclave's own bytes) handed to the same
//!   server by a bare Python smtplib client over 4 connections, each with
//!   STARTTLS and AUTH.
//! - Conclave as the tray runs it: an agent already running (`conclave-cli
//!   run`, watching the mailbox over IMAP IDLE), from a post landing in the
//!   mailbox to the end of the run that woke for it (a post of its own; the
//!   process, its TLS set-up and its checked signatures already there),
//!   with the part of it that is the IMAP server's: how soon a bare client
//!   waiting in IDLE hears of a new message (`bare_idle.py`).
//! - The old way: gpg signs the post once, then encrypts it once per member
//!   as a process of its own (as the list servers Conclave descends from
//!   do), and the same bare client sends the copies over one connection.
//!
//! Conclave's two paths are also timed to their last copy tried (`run
//! --progress` tells it), where the floor's clock stops: what the members
//! wait for, without the filing of the post after it.
//!
//! Needs the mail rig and a keychain; `bash scripts/measure-delivery.sh`
//! sets both up and runs it (CONCLAVE_BENCH_MEMBERS=50,200,1000 picks the
//! list sizes, 200 by default). It prints figures; it asserts nothing about
//! time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rig::Rig;
use rig::gpg::{Gpg, gpg_to_list, signed_encrypted_post};
use rig::owner::{Owner, cli_path};

#[path = "shared/bare.rs"]
mod bare;
use bare::bare_client;
#[path = "shared/keys.rs"]
mod keys;
use keys::member_key;

const LANES: usize = 4;

/// Rounds per list size (CONCLAVE_BENCH_ROUNDS, 5 by default): the medians
/// of three moved by a tenth from one run to the next on the 2-core VM.
fn rounds() -> usize {
    std::env::var("CONCLAVE_BENCH_ROUNDS")
        .map(|r| r.parse().expect("CONCLAVE_BENCH_ROUNDS: a number"))
        .unwrap_or(5)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Waits until every member holds `count` messages (the server's queue is
/// drained before the next measure starts).
fn drained(rig: &Rig, members: &[String], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while members
        .iter()
        .any(|m| rig.messages(m, "INBOX").len() < count)
    {
        assert!(Instant::now() < deadline, "the copies did not all arrive");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends the copies in `dir` with the bare client; its own seconds.
fn bare_smtp(rig: &Rig, list: &str, lanes: usize, dir: &Path) -> f64 {
    let lanes = lanes.to_string();
    let more = [lanes.as_str(), dir.to_str().unwrap()];
    bare_client(rig, "bare_smtp.py", rig.submission_port, list, &more)
}

/// `args` of `conclave-cli run`, with `--progress` when the CLI measured
/// has it (an older build measured beside it may not). Asked once, and
/// before any clock starts.
fn with_progress<'a>(args: &[&'a str]) -> Vec<&'a str> {
    static TELLS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let tells = *TELLS.get_or_init(|| {
        let help = Command::new(cli_path())
            .args(["run", "--help"])
            .output()
            .expect("conclave-cli runs");
        String::from_utf8_lossy(&help.stdout).contains("--progress")
    });
    let mut args = args.to_vec();
    if tells {
        args.push("--progress");
    }
    args
}

/// `conclave-cli run` on `owner`'s data folder with `args`, its standard
/// output heard line by line as it comes, each with when it came.
fn spawn_cli(
    owner: &Owner,
    args: &[&str],
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<(Instant, String)>,
) {
    use std::io::BufRead;
    let mut child = Command::new(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("conclave-cli runs");
    let (said, heard) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = said.send((Instant::now(), line));
        }
    });
    (child, heard)
}

/// When the sending told its last copy tried ("… copies tried (done)"),
/// among lines heard.
fn last_copy(lines: &[(Instant, String)], list: &str) -> Option<Instant> {
    lines
        .iter()
        .find(|(_, l)| l.starts_with(list) && l.ends_with("copies tried (done)"))
        .map(|(at, _)| *at)
}

/// Seconds from `start` to `end`, when there is an end.
fn since(start: Instant, end: Option<Instant>) -> Option<f64> {
    end.map(|e| (e - start).as_secs_f64())
}

/// Conclave's `run --once`: its seconds from start to exit, and to its
/// last copy tried (when the CLI tells it).
fn run_once(owner: &Owner) -> (f64, Option<f64>) {
    let args = with_progress(&["run", "--once", "--list", &owner.list]);
    let start = Instant::now();
    let (mut child, heard) = spawn_cli(owner, &args);
    let status = child.wait().expect("conclave-cli runs");
    let took = start.elapsed().as_secs_f64();
    assert!(status.success(), "run --once failed");
    let lines: Vec<(Instant, String)> = heard.iter().collect();
    (took, since(start, last_copy(&lines, &owner.list)))
}

/// The tray's path: an agent already running (`conclave-cli run`, watching
/// the mailbox over IMAP IDLE) takes `post`. Its seconds from the post
/// landing in the mailbox to the end of the run that woke for it, and to
/// that run's last copy tried (when the CLI tells it).
fn watching(rig: &Rig, owner: &Owner, post: &[u8]) -> (f64, Option<f64>) {
    let (mut agent, heard) = spawn_cli(owner, &with_progress(&["run", "--interval", "3600"]));
    let mut lines = Vec::new();
    let mut report = |what: &str| loop {
        let (at, line) = heard
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the running agent did not report {what}"));
        let found = line.starts_with(&owner.list) && line.contains(what);
        lines.push((at, line));
        if found {
            return at;
        }
    };
    // Its first run finds nothing; then it waits in IDLE.
    report(": 0 new post(s)");
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    rig.drop_into(&owner.list, "INBOX", post);
    let end = report(": 1 new post(s)");
    let _ = agent.kill();
    let _ = agent.wait();
    (
        (end - start).as_secs_f64(),
        since(start, last_copy(&lines, &owner.list)),
    )
}

/// How soon the IMAP server tells a bare client waiting in IDLE of a new
/// message in `user`'s INBOX: its seconds.
fn bare_idle(rig: &Rig, user: &str) -> f64 {
    let maildir = rig.maildir(user, "INBOX");
    let more = [maildir.to_str().unwrap()];
    bare_client(rig, "bare_idle.py", rig.imap_port, user, &more)
}

fn write_copies(dir: &Path, copies: &[(String, Vec<u8>)]) {
    for (i, (to, body)) in copies.iter().enumerate() {
        let mut file = format!("{to}\n").into_bytes();
        file.extend_from_slice(body);
        std::fs::write(dir.join(format!("{i:05}")), file).unwrap();
    }
}

fn measure(rig: &Rig, n: usize) {
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-fanout"),
    };
    let list = owner.list.clone();
    owner.ok(&[
        "list",
        "create",
        &list,
        "--name",
        "Bench",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &list]);
    let list_key = owner.ok(&["list", "key", "export", &list]).into_bytes();

    // The members (simulated: one gpg home holds their keys); member 0
    // posts.
    let gpg = Gpg::new();
    assert!(gpg.run(&["--import"], Some(&list_key)).status.success());
    let members: Vec<String> = (0..n).map(|i| rig.unique(&format!("f{i}"))).collect();
    // Only the poster needs a secret key in gpg; the others' public keys
    // are made in-process (gpg takes seconds a key once its keyring holds
    // hundreds).
    gpg.generate(
        &format!("M <{}>", members[0]),
        "future-default",
        "never",
        &[],
    );
    let mut ring = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let key = if i == 0 { gpg.export(m) } else { member_key(m) };
        let file = gpg.home.path().join("k.asc");
        std::fs::write(&file, &key).unwrap();
        owner.ok(&["member", "add", &list, m, "--key", file.to_str().unwrap()]);
        ring.extend_from_slice(&key);
    }
    // The old list server: its own signing key, the members' public keys.
    let old = Gpg::new();
    old.generate(&format!("Bench <{list}>"), "future-default", "never", &[]);
    // From a file: through a pipe, gpg's report on a thousand keys fills
    // its stderr while the keys are still being written to its stdin.
    let file = old.home.path().join("members.asc");
    std::fs::write(&file, &ring).unwrap();
    old.ok(&["--import", file.to_str().unwrap()]);

    let (mut conclave, mut floor, mut old_way) = (vec![], vec![], vec![]);
    let (mut running, mut told) = (vec![], vec![]);
    // To the last copy tried: the moment the floor's clock stops at.
    let (mut conclave_last, mut running_last) = (vec![], vec![]);
    let mut delivered = 0;
    let rounds = rounds();
    for round in 1..=rounds {
        // Each round says something new: the same signature twice is a
        // replay the list refuses.
        let entity = format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\nRound {round}: the meeting is at seven; bring the flyers.\r\n"
        );
        // Conclave.
        let post = signed_encrypted_post(&gpg, &members[0], &list, entity.as_bytes());
        rig.drop_into(&list, "INBOX", &post);
        let (took, last) = run_once(&owner);
        conclave.push(took);
        conclave_last.extend(last);
        delivered += 1;
        drained(rig, &members, delivered);

        // The floor: Conclave's copies, the bare client, four connections.
        let copies: Vec<(String, Vec<u8>)> = members
            .iter()
            .map(|m| (m.clone(), rig.messages(m, "INBOX").pop().unwrap()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        write_copies(dir.path(), &copies);
        floor.push(bare_smtp(rig, &list, LANES, dir.path()));
        delivered += 1;
        drained(rig, &members, delivered);

        // The old way: gpg once to sign, once per member to encrypt, then
        // one connection.
        let start = Instant::now();
        let signed = gpg_to_list(&old, &["--local-user", &list, "--sign"], entity.as_bytes());
        let copies: Vec<(String, Vec<u8>)> = members
            .iter()
            .map(|m| {
                let ct = gpg_to_list(&old, &["--encrypt", "--recipient", m], &signed);
                let mut mail = format!(
                    "From: {list}\r\nTo: {m}\r\nSubject: Meeting\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
                )
                .into_bytes();
                mail.extend_from_slice(&ct);
                (m.clone(), mail)
            })
            .collect();
        let crypto = start.elapsed().as_secs_f64();
        let dir = tempfile::tempdir().unwrap();
        write_copies(dir.path(), &copies);
        old_way.push(crypto + bare_smtp(rig, &list, 1, dir.path()));
        delivered += 1;
        drained(rig, &members, delivered);

        // The tray's path, with a post of its own.
        let entity = format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\nRound {round}, again: the flyers are at the print shop.\r\n"
        );
        let post = signed_encrypted_post(&gpg, &members[0], &list, entity.as_bytes());
        let (took, last) = watching(rig, &owner, &post);
        running.push(took);
        running_last.extend(last);
        delivered += 1;
        drained(rig, &members, delivered);
        // The server's part of that path, heard by a bare client in a
        // mailbox of its own.
        told.push(bare_idle(rig, &rig.unique("idle")));
    }
    let (c, f, o, r) = (
        median(conclave.clone()),
        median(floor.clone()),
        median(old_way.clone()),
        median(running.clone()),
    );
    let t = median(told.clone());
    let shown = |v: &[f64]| {
        v.iter()
            .map(|t| format!("{t:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{n} members: Conclave {c:.2} s ({:.1} ms a member; rounds {}), floor {f:.2} s (rounds {}), old way {o:.2} s (rounds {}); Conclave is {:.2}x the floor, the old way {:.2}x Conclave",
        c * 1000.0 / n as f64,
        shown(&conclave),
        shown(&floor),
        shown(&old_way),
        c / f,
        o / c,
    );
    println!(
        "{n} members, the agent already running (the tray's path): {r:.2} s from the post's arrival to the end of its run (rounds {}), of which the IMAP server took {t:.2} s to tell IDLE (a bare client, rounds {}); without that, {:.2} s: {:.2}x the floor, the old way {:.2}x it",
        shown(&running),
        shown(&told),
        r - t,
        (r - t) / f,
        o / (r - t),
    );
    if conclave_last.len() == rounds && running_last.len() == rounds {
        let (cl, rl) = (median(conclave_last.clone()), median(running_last.clone()));
        println!(
            "{n} members, to the last copy tried (where the floor's clock stops; the filing after it left out): run --once {cl:.2} s (rounds {}), {:.2}x the floor; the tray's path {rl:.2} s (rounds {}), without IDLE's {t:.2} s {:.2} s, {:.2}x the floor",
            shown(&conclave_last),
            cl / f,
            shown(&running_last),
            rl - t,
            (rl - t) / f,
        );
    }
}

fn main() {
    let rig = Rig::get();
    let sizes: Vec<usize> = std::env::var("CONCLAVE_BENCH_MEMBERS")
        .unwrap_or_else(|_| "200".into())
        .split(',')
        .map(|s| s.trim().parse().expect("CONCLAVE_BENCH_MEMBERS: numbers"))
        .collect();
    for n in sizes {
        measure(rig, n);
    }
}
