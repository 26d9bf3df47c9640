//! A plain list end to end, against the real mail rig (Dovecot + Postfix on
//! loopback) and the real keychain, driven through `conclave-cli` as a list
//! owner's scripts would.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rig::Rig;
use rig::owner::{Owner, cli_path};

fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

fn wait_secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_post_reaches_every_member_once_with_the_list_headers() {
    let rig = Rig::get();
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    let owner = Owner::new("list-plain", &[&alice, &bob, &carol]);
    let post = rig::post(
        &alice,
        &owner.list,
        "Meeting on Tuesday",
        "See you at 7.\r\n",
    );
    rig.submit(&alice, Some(&alice), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));

    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("3 sent"),
        "{out}"
    );

    for member in [&alice, &bob, &carol] {
        let got = rig.wait_for(member, "INBOX", 1, wait_secs(20));
        assert_eq!(got.len(), 1, "{member} got {} copies", got.len());
        let m = &got[0];
        let list_id = owner.list.replacen('@', ".", 1);
        assert_eq!(
            header(m, "List-Id").unwrap(),
            format!("Test List <{list_id}>")
        );
        assert_eq!(
            header(m, "List-Post").unwrap(),
            format!("<mailto:{}>", owner.list)
        );
        assert_eq!(header(m, "X-Loop").unwrap(), owner.list);
        assert_eq!(
            header(m, "Subject").unwrap(),
            "[Test List] Meeting on Tuesday"
        );
        // Sent as the list, with the poster's name (no name given: the
        // address's local part); replies go to the poster on a plain list.
        let local = alice.split('@').next().unwrap();
        assert_eq!(
            header(m, "From").unwrap(),
            format!("\"{local} via Test List\" <{}>", owner.list)
        );
        assert_eq!(header(m, "Reply-To").unwrap(), alice);
        assert_eq!(
            header(m, "List-Help").unwrap(),
            format!("<mailto:{}?subject=help>", owner.list)
        );
        // Dovecot stores lines with LF; the body is otherwise as posted.
        let body = String::from_utf8_lossy(m).replace("\r\n", "\n");
        assert!(body.ends_with("\n\nSee you at 7.\n"), "{body}");
        // The poster's network path stays with the list.
        // The hops into the list's mailbox (which name the poster's network
        // address) are not passed on; only the list's own hops remain.
        let parsed = mail_parser::MessageParser::default()
            .parse(m.as_slice())
            .unwrap();
        let hops: Vec<_> = parsed
            .headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
            .map(|(_, v)| v.to_string())
            .collect();
        assert!(!hops.is_empty());
        assert!(
            hops.iter()
                .all(|h| !h.contains(&format!("for <{}>", owner.list))),
            "{hops:?}"
        );
    }

    // Filed on the server only now that every delivery is final.
    assert!(rig.messages(&owner.list, "INBOX").is_empty());
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 1);

    // A second run sends nothing.
    let again = owner.run_once();
    assert!(
        again.contains("0 new post(s)") && again.contains("0 sent"),
        "{again}"
    );

    let log = owner.json(&["log", &owner.list, "--json"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("distribute to 3"))
    );
    let show = owner.json(&["list", "show", &owner.list, "--json"]);
    assert_eq!(show["summary"]["members"], 3);
    assert_eq!(show["summary"]["deliveries_today"], 3);
    assert!(show["summary"]["last_error"].is_null());
}

/// Lines that start with a dot (one alone among them, which ends a
/// message in SMTP) reach every member as posted, over lanes that hand
/// each message over together with the next copy's envelope.
#[test]
fn lines_that_start_with_a_dot_reach_every_member_as_posted() {
    let rig = Rig::get();
    let members: Vec<String> = (0..9).map(|i| rig.unique(&format!("dot{i}"))).collect();
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("list-dots", &names);
    let text = "Agenda:\r\n.\r\n.. two dots\r\n.hidden\r\nEnd.\r\n";
    let post = rig::post(&members[0], &owner.list, "Dots", text);
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(out.contains("9 sent"), "{out}");
    for member in &members {
        let got = rig.wait_for(member, "INBOX", 1, wait_secs(20));
        assert_eq!(got.len(), 1, "{member}");
        let body = String::from_utf8_lossy(&got[0]).replace("\r\n", "\n");
        assert!(
            body.ends_with("\n\nAgenda:\n.\n.. two dots\n.hidden\nEnd.\n"),
            "{member}: {body}"
        );
    }
}

#[test]
fn a_run_with_progress_tells_each_tenth_of_the_copies_and_the_last() {
    let rig = Rig::get();
    let members: Vec<String> = (0..25).map(|i| rig.unique(&format!("prog{i}"))).collect();
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("list-progress", &names);
    let post = rig::post(&members[0], &owner.list, "Progress", "To all 25.\r\n");
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.ok(&["run", "--once", "--list", &owner.list, "--progress"]);
    let told: Vec<&str> = out.lines().filter(|l| l.contains("copies tried")).collect();
    // A tenth of 25 is 2 (rounded down): every second copy, then the last.
    let list = &owner.list;
    let expected: Vec<String> = (2..=24)
        .step_by(2)
        .map(|done| format!("{list}: {done} of 25 copies tried"))
        .chain([format!("{list}: 25 of 25 copies tried (done)")])
        .collect();
    assert_eq!(told, expected, "{out}");
    // Told before the run's report.
    let last = out.find("(done)").unwrap();
    assert!(out[last..].contains("25 sent"), "{out}");
    // Without it, the report alone.
    let quiet = owner.run_once();
    assert!(!quiet.contains("copies tried"), "{quiet}");
}

#[test]
fn own_copy_follows_the_member_setting_and_reply_to_the_list_setting() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-own", &[&alice, &bob]);
    owner.ok(&["member", "set", &owner.list, &alice, "own-posts", "no"]);
    owner.ok(&["list", "set", &owner.list, "reply-to", "list"]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "hello", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 sent"), "{out}");
    let got = rig.wait_for(&bob, "INBOX", 1, wait_secs(20));
    assert_eq!(header(&got[0], "Reply-To").unwrap(), owner.list);
    assert!(
        rig.messages(&alice, "INBOX").is_empty(),
        "alice asked for no copy of her own posts"
    );
}

#[test]
fn a_non_members_post_is_held_until_approved() {
    let rig = Rig::get();
    let (alice, eve) = (rig.unique("alice"), rig.unique("eve"));
    let owner = Owner::new("list-held", &[&alice]);
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "let me in", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held") && out.contains("0 sent"), "{out}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let held = held.as_array().unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        held[0]["reason"].as_str().unwrap().contains("not a member"),
        "{held:?}"
    );
    // A held post is safe in the store, so it is filed on the server.
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 1);
    assert!(rig.messages(&alice, "INBOX").is_empty());

    let id = held[0]["id"].to_string();
    let out = owner.ok(&["held", "approve", &owner.list, &id]);
    assert!(out.contains("approved for 1 member"), "{out}");
    let got = rig.wait_for(&alice, "INBOX", 1, wait_secs(20));
    assert_eq!(header(&got[0], "Subject").unwrap(), "[Test List] let me in");
    assert!(
        owner
            .json(&["held", "list", &owner.list, "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let err = owner.fails(&["held", "approve", &owner.list, &id]);
    assert!(err.contains("approved already"), "{err}");
}

#[test]
fn a_non_members_post_is_rejected_when_the_list_says_so() {
    let rig = Rig::get();
    let (alice, eve) = (rig.unique("alice"), rig.unique("eve"));
    let owner = Owner::new("list-reject", &[&alice]);
    owner.ok(&["list", "set", &owner.list, "non-member-posts", "reject"]);
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "spam", "buy\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 rejected") && out.contains("0 sent"),
        "{out}"
    );
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("not a member and the list rejects posts from non-members"),
        "{log}"
    );
    assert!(
        owner
            .json(&["held", "list", &owner.list, "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bounces_and_loops_never_reach_the_members() {
    let rig = Rig::get();
    let alice = rig.unique("alice");
    let owner = Owner::new("list-bounce", &[&alice]);
    // A bounce from a server: empty envelope sender, so Return-Path: <>.
    let bounce = rig::post(
        &format!("MAILER-DAEMON@{}", rig.domain),
        &owner.list,
        "Undelivered Mail",
        "gone\r\n",
    );
    rig.deliver(None, &[&owner.list], &bounce);
    // A post that went through this list already.
    let looped = String::from_utf8(rig::post(&alice, &owner.list, "again", "x\r\n")).unwrap();
    let looped = format!("X-Loop: {}\r\n{looped}", owner.list);
    rig.submit(&alice, Some(&alice), &[&owner.list], looped.as_bytes());
    rig.wait_for(&owner.list, "INBOX", 2, wait_secs(20));

    let out = owner.run_once();
    assert!(
        out.contains("1 held") && out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let h = &held.as_array().unwrap()[0];
    assert_eq!(h["approvable"], false);
    let err = owner.fails(&["held", "approve", &owner.list, &h["id"].to_string()]);
    assert!(
        err.contains("automated message") && err.lines().count() == 1,
        "{err}"
    );
    owner.ok(&["held", "discard", &owner.list, &h["id"].to_string()]);
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 2);
    assert!(rig.messages(&alice, "INBOX").is_empty());
}

#[test]
fn an_unreadable_message_is_set_aside_and_the_posts_behind_it_go_on() {
    let rig = Rig::get();
    let alice = rig.unique("alice");
    let owner = Owner::new("list-junk", &[&alice]);
    // Put an empty message straight into the mailbox, as a broken client
    // or server could; SMTP would have added headers.
    rig.drop_into(&owner.list, "INBOX", b"\r\n\r\n");
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "after junk", "fine\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 2, wait_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 quarantined") && out.contains("1 distributed") && out.contains("1 sent"),
        "{out}"
    );
    assert_eq!(rig.messages(&owner.list, "Conclave/Quarantine").len(), 1);
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 1);
    rig.wait_for(&alice, "INBOX", 1, wait_secs(20));
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains("cannot be read as e-mail"), "{log}");
}

#[test]
fn a_post_seen_again_is_not_sent_again() {
    let rig = Rig::get();
    let alice = rig.unique("alice");
    let owner = Owner::new("list-again", &[&alice]);
    let post = rig::post(&alice, &owner.list, "once only", "x\r\n");
    rig.submit(&alice, Some(&alice), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    assert!(owner.run_once().contains("1 sent"));
    rig.wait_for(&alice, "INBOX", 1, wait_secs(20));
    // The same message turns up in INBOX again (a restore, a server that
    // renumbered its mailbox, a second delivery): same Message-ID.
    rig.drop_into(&owner.list, "INBOX", &post);
    let out = owner.run_once();
    assert!(
        out.contains("1 discarded") && out.contains("0 sent"),
        "{out}"
    );
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 2);
    assert!(rig.messages(&owner.list, "INBOX").is_empty());
}

/// `list account` for `list` on the rig over STARTTLS, with `imap_port`
/// and, when given, the CA file to trust.
fn account_args(rig: &Rig, list: &str, imap_port: &str, ca: Option<&Path>) -> Vec<String> {
    let smtp_port = rig.submission_port.to_string();
    let mut args: Vec<String> = [
        "list",
        "account",
        list,
        "--imap-host",
        &rig.host,
        "--imap-port",
        imap_port,
        "--imap-tls",
        "starttls",
        "--imap-user",
        list,
        "--smtp-host",
        &rig.host,
        "--smtp-port",
        &smtp_port,
        "--smtp-tls",
        "starttls",
        "--smtp-user",
        list,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(ca) = ca {
        args.extend(["--ca-file".to_string(), ca.to_str().unwrap().to_string()]);
    }
    args
}

#[test]
fn each_account_failure_has_its_own_clear_error() {
    let rig = Rig::get();
    let data = tempfile::tempdir().unwrap();
    let list = rig.unique("list-errors");
    let run = |args: &[&str], password: &str| {
        let out = Command::new(cli_path())
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("CONCLAVE_IMAP_PASSWORD", password)
            .env("CONCLAVE_SMTP_PASSWORD", password)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stderr).unwrap())
    };
    assert!(run(&["list", "create", &list, "--name", "Errors"], "").0);
    let imap_port = rig.imap_port.to_string();
    let account = |imap_port: &str, ca: &Path| account_args(rig, &list, imap_port, Some(ca));
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    let a = account(&imap_port, &rig.ca_path);
    let (ok, err) = run(&args(&a), "not-the-password");
    assert!(!ok);
    assert!(
        err.contains("refused the login") && err.contains("check the user name and password"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let a = account(&imap_port, &rig.other_ca_path);
    let (ok, err) = run(&args(&a), &rig.password);
    assert!(!ok);
    assert!(
        err.contains("certificate that is not trusted") && err.contains("--ca-file"),
        "{err}"
    );

    // Nothing listens on port 1 of this machine.
    let a = account("1", &rig.ca_path);
    let (ok, err) = run(&args(&a), &rig.password);
    assert!(!ok);
    assert!(err.contains("cannot reach the IMAP server"), "{err}");

    // None of the failures saved anything.
    let (_, _) = run(&["list", "show", &list], "");
    let out = Command::new(cli_path())
        .arg("--data-dir")
        .arg(data.path())
        .args(["list", "show", &list, "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["account"].is_null(), "{v}");

    // With the right settings it works.
    let a = account(&imap_port, &rig.ca_path);
    let (ok, err) = run(&args(&a), &rig.password);
    assert!(ok, "{err}");
}

/// A provider's certificate is checked against the system's authorities,
/// which Conclave looks up by name in the system's hashed directory (on
/// Linux, `/etc/ssl/certs`) instead of reading the whole bundle: here the
/// rig's authority is one of the system's, through `SSL_CERT_DIR`, and the
/// account needs no CA file. Without it there, the same account is refused.
#[test]
fn the_systems_authorities_are_looked_up_by_their_hash() {
    let rig = Rig::get();
    let data = tempfile::tempdir().unwrap();
    let list = rig.unique("list-system-ca");
    let authorities = tempfile::tempdir().unwrap();
    let run = |args: &[&str], cert_dir: &Path| {
        let out = Command::new(cli_path())
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("CONCLAVE_IMAP_PASSWORD", &rig.password)
            .env("CONCLAVE_SMTP_PASSWORD", &rig.password)
            .env("SSL_CERT_DIR", cert_dir)
            // No bundle: one named here that is not there is not taken.
            .env("SSL_CERT_FILE", authorities.path().join("none.pem"))
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stderr).unwrap())
    };
    assert!(
        run(
            &["list", "create", &list, "--name", "System CA"],
            authorities.path()
        )
        .0
    );
    let account = account_args(rig, &list, &rig.imap_port.to_string(), None);
    let account: Vec<&str> = account.iter().map(String::as_str).collect();

    let (ok, err) = run(&account, authorities.path());
    assert!(!ok, "trusted without the rig's authority");
    assert!(err.contains("certificate that is not trusted"), "{err}");

    let hash = Command::new("openssl")
        .args(["x509", "-noout", "-subject_hash", "-in"])
        .arg(&rig.ca_path)
        .output()
        .unwrap();
    assert!(hash.status.success());
    let hash = String::from_utf8(hash.stdout).unwrap();
    std::fs::copy(
        &rig.ca_path,
        authorities.path().join(format!("{}.0", hash.trim())),
    )
    .unwrap();
    let (ok, err) = run(&account, authorities.path());
    assert!(ok, "{err}");
}

#[test]
fn implicit_tls_and_loopback_plaintext_work_too() {
    let rig = Rig::get();
    let alice = rig.unique("alice");
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-tls"),
    };
    owner.ok(&["list", "create", &owner.list, "--name", "TLS"]);
    owner.ok(&["member", "add", &owner.list, &alice]);
    let ca = rig.ca_path.to_str().unwrap().to_string();
    let (imaps, smtps, imap, plain) = (
        rig.imaps_port.to_string(),
        rig.smtps_port.to_string(),
        rig.imap_port.to_string(),
        rig.smtp_plain_port.to_string(),
    );
    owner.ok(&[
        "list",
        "account",
        &owner.list,
        "--imap-host",
        &rig.host,
        "--imap-port",
        &imaps,
        "--imap-tls",
        "implicit",
        "--imap-user",
        &owner.list,
        "--smtp-host",
        &rig.host,
        "--smtp-port",
        &smtps,
        "--smtp-tls",
        "implicit",
        "--smtp-user",
        &owner.list,
        "--ca-file",
        &ca,
    ]);
    owner.ok(&[
        "list",
        "account",
        &owner.list,
        "--imap-host",
        &rig.host,
        "--imap-port",
        &imap,
        "--imap-tls",
        "none",
        "--imap-user",
        &owner.list,
        "--smtp-host",
        &rig.host,
        "--smtp-port",
        &plain,
        "--smtp-tls",
        "none",
        "--smtp-user",
        &owner.list,
    ]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "plain", "x\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    assert!(owner.run_once().contains("1 sent"));
    rig.wait_for(&alice, "INBOX", 1, wait_secs(20));
}

#[test]
fn without_a_keychain_nothing_is_saved_and_the_error_says_what_to_do() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-nokeychain"),
    };
    owner.ok(&["list", "create", &owner.list, "--name", "No keychain"]);
    let mut args = owner.account_args(&rig.ca_path);
    args.push("--no-check".into());
    let out = Command::new(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(&args)
        .env("CONCLAVE_IMAP_PASSWORD", &rig.password)
        .env("CONCLAVE_SMTP_PASSWORD", &rig.password)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/conclave-test-bus",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no keychain is reachable") && err.contains("Secret Service"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let v = owner.json(&["list", "show", &owner.list, "--json"]);
    assert!(
        v["account"].is_null(),
        "nothing saved without a keychain: {v}"
    );
}

/// How many of these members have at least one message in INBOX.
fn reached(rig: &Rig, members: &[String]) -> usize {
    members
        .iter()
        .filter(|m| !rig.messages(m, "INBOX").is_empty())
        .count()
}

#[test]
fn a_fan_out_killed_midway_reaches_everyone_after_a_restart() {
    let rig = Rig::get();
    let members: Vec<String> = (0..16).map(|i| rig.unique(&format!("m{i}-"))).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("list-crash", &refs);
    // One message every 0.25 s, so the fan-out takes long enough to be
    // interrupted (the same setting keeps real providers from blocking).
    owner.ok(&["list", "set", &owner.list, "send-rate", "240"]);
    let poster = &members[0];
    rig.submit(
        poster,
        Some(poster),
        &[&owner.list],
        &rig::post(poster, &owner.list, "crash test", "x\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));

    let mut kills = 0;
    for kill_after in [3, 9] {
        let mut agent = Command::new(cli_path())
            .arg("--data-dir")
            .arg(owner.data.path())
            .args(["run", "--once", "--list", &owner.list])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + wait_secs(60);
        while reached(rig, &members) < kill_after {
            assert!(
                std::time::Instant::now() < deadline,
                "the fan-out did not progress"
            );
            assert!(
                agent.try_wait().unwrap().is_none(),
                "the agent finished before it could be killed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        agent.kill().unwrap(); // SIGKILL: no chance to tidy up
        agent.wait().unwrap();
        kills += 1;
        assert!(
            reached(rig, &members) < members.len(),
            "the kill came after the whole fan-out"
        );
        // Not filed away while deliveries are pending: it stays claimed.
        assert_eq!(rig.messages(&owner.list, "Conclave/Claimed").len(), 1);
        assert!(rig.messages(&owner.list, "Conclave/Processed").is_empty());
    }

    let out = owner.run_once();
    assert!(
        out.contains("0 new post(s)"),
        "the post is not started again: {out}"
    );
    for m in &members {
        rig.wait_for(m, "INBOX", 1, wait_secs(20));
    }
    // Let any late copy land before counting.
    let mut total = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        total = members
            .iter()
            .map(|m| rig.messages(m, "INBOX").len())
            .sum::<usize>();
    }
    assert!(
        total <= members.len() + kills,
        "{total} copies for {} members: more than one duplicate per kill",
        members.len()
    );
    assert!(rig.messages(&owner.list, "INBOX").is_empty());
    assert_eq!(rig.messages(&owner.list, "Conclave/Processed").len(), 1);
    let again = owner.run_once();
    assert!(again.contains("0 sent"), "{again}");
}

#[test]
fn rejecting_a_held_post_tells_the_poster_and_discarding_tells_no_one() {
    let rig = Rig::get();
    let (alice, eve, mallory) = (
        rig.unique("alice"),
        rig.unique("eve"),
        rig.unique("mallory"),
    );
    let owner = Owner::new("list-rejectheld", &[&alice]);
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "please", "hi\r\n"),
    );
    rig.submit(
        &mallory,
        Some(&mallory),
        &[&owner.list],
        &rig::post(&mallory, &owner.list, "junk", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 2, wait_secs(20));
    owner.run_once();
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    let id_of = |who: &str| {
        held.as_array()
            .unwrap()
            .iter()
            .find(|h| h["sender"] == who)
            .unwrap()["id"]
            .to_string()
    };
    owner.ok(&["held", "reject", &owner.list, &id_of(&eve)]);
    owner.ok(&["held", "discard", &owner.list, &id_of(&mallory)]);
    let notice = rig.wait_for(&eve, "INBOX", 1, wait_secs(20));
    assert_eq!(
        header(&notice[0], "Auto-Submitted").unwrap(),
        "auto-replied"
    );
    assert!(
        header(&notice[0], "Subject")
            .unwrap()
            .contains("was not accepted: please")
    );
    assert!(String::from_utf8_lossy(&notice[0]).contains("is not a member"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(rig.messages(&mallory, "INBOX").is_empty());
    assert!(rig.messages(&alice, "INBOX").is_empty());
}

#[test]
fn a_refusing_member_fails_alone_and_a_deferring_one_waits_for_a_retry() {
    let rig = Rig::get();
    // The rig answers 550 for refuse-* and 450 for defer-* recipients.
    let (alice, refuse, defer) = (
        rig.unique("alice"),
        rig.unique("refuse-bob"),
        rig.unique("defer-carol"),
    );
    let owner = Owner::new("list-smtp-answers", &[&alice, &refuse, &defer]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "answers", "x\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 sent")
            && out.contains("1 to retry")
            && out.contains("1 failed")
            && out.contains("1 waiting"),
        "{out}"
    );
    rig.wait_for(&alice, "INBOX", 1, wait_secs(20));
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains(&format!("to {refuse}: not delivered")) && log.contains("550"),
        "{log}"
    );
    assert!(
        log.contains(&format!("to {defer}: will try again")) && log.contains("450"),
        "{log}"
    );
    // Not filed while a delivery still waits (it waits claimed by this
    // laptop), and the retry is not due yet.
    assert!(rig.messages(&owner.list, "INBOX").is_empty());
    assert_eq!(rig.messages(&owner.list, "Conclave/Claimed").len(), 1);
    assert!(rig.messages(&owner.list, "Conclave/Processed").is_empty());
    let again = owner.run_once();
    assert!(
        again.contains("0 sent") && again.contains("1 waiting"),
        "{again}"
    );
}

/// Servers without MOVE get COPY, \Deleted and UID EXPUNGE; servers without
/// UIDPLUS either keep the message in INBOX with a keyword Conclave passes
/// over (a plain EXPUNGE could remove what another client meant to keep).
#[test]
fn posts_are_filed_on_servers_without_move() {
    let rig = Rig::get();
    for (host, leaves_inbox) in [(&rig.host_nomove, true), (&rig.host_nouidplus, false)] {
        let alice = rig.unique("alice");
        let owner = Owner {
            data: tempfile::tempdir().unwrap(),
            list: rig.unique("list-nomove"),
        };
        owner.ok(&["list", "create", &owner.list, "--name", "No move"]);
        owner.ok(&["member", "add", &owner.list, &alice]);
        let (imap, plain) = (rig.imap_port.to_string(), rig.smtp_plain_port.to_string());
        owner.ok(&[
            "list",
            "account",
            &owner.list,
            "--imap-host",
            host,
            "--imap-port",
            &imap,
            "--imap-tls",
            "none",
            "--imap-user",
            &owner.list,
            "--smtp-host",
            &rig.host,
            "--smtp-port",
            &plain,
            "--smtp-tls",
            "none",
            "--smtp-user",
            &owner.list,
        ]);
        for n in 0..2 {
            let subject = format!("post {n}");
            rig.submit(
                &alice,
                Some(&alice),
                &[&owner.list],
                &rig::post(&alice, &owner.list, &subject, "x\r\n"),
            );
            rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
            let out = owner.run_once();
            assert!(
                out.contains("1 new post(s)") && out.contains("1 sent") && out.contains("1 filed"),
                "{host}: {out}"
            );
        }
        rig.wait_for(&alice, "INBOX", 2, wait_secs(20));
        assert_eq!(
            rig.messages(&owner.list, "Conclave/Processed").len(),
            2,
            "{host}"
        );
        let inbox = rig.messages(&owner.list, "INBOX").len();
        assert_eq!(inbox, if leaves_inbox { 0 } else { 2 }, "{host}");
        let again = owner.run_once();
        assert!(
            again.contains("0 new post(s)") && again.contains("0 filed"),
            "{host}: {again}"
        );
    }
}

/// Copies go out through a server that offers PIPELINING (Conclave sends
/// MAIL, RCPT and DATA in one go) and through one that does not (one
/// command at a time), a refused recipient failing alone on both.
#[test]
fn copies_go_out_with_pipelining_and_without() {
    let rig = Rig::get();
    for host in [&rig.host, &rig.host_nopipelining] {
        let (alice, bob, gone) = (
            rig.unique("alice"),
            rig.unique("bob"),
            rig.unique("refuse-x"),
        );
        let owner = Owner {
            data: tempfile::tempdir().unwrap(),
            list: rig.unique("list-pipe"),
        };
        owner.ok(&["list", "create", &owner.list, "--name", "Pipes"]);
        for m in [&alice, &bob, &gone] {
            owner.ok(&["member", "add", &owner.list, m]);
        }
        let (imap, plain) = (rig.imap_port.to_string(), rig.smtp_plain_port.to_string());
        owner.ok(&[
            "list",
            "account",
            &owner.list,
            "--imap-host",
            &rig.host,
            "--imap-port",
            &imap,
            "--imap-tls",
            "none",
            "--imap-user",
            &owner.list,
            "--smtp-host",
            host,
            "--smtp-port",
            &plain,
            "--smtp-tls",
            "none",
            "--smtp-user",
            &owner.list,
        ]);
        for n in 0..2 {
            rig.submit(
                &alice,
                Some(&alice),
                &[&owner.list],
                &rig::post(&alice, &owner.list, &format!("post {n}"), "x\r\n"),
            );
        }
        rig.wait_for(&owner.list, "INBOX", 2, wait_secs(20));
        let out = owner.run_once();
        // Two posts to three members; the one the server refuses fails
        // alone, and the copies behind it go out.
        assert!(
            out.contains("4 sent") && out.contains("2 failed"),
            "{host}: {out}"
        );
        rig.wait_for(&alice, "INBOX", 2, wait_secs(20));
        rig.wait_for(&bob, "INBOX", 2, wait_secs(20));
    }
}

#[test]
fn owners_are_told_of_posts_the_list_did_not_send() {
    let rig = Rig::get();
    let (alice, boss, eve) = (rig.unique("alice"), rig.unique("boss"), rig.unique("eve"));
    let owner = Owner::new("list-notices", &[&alice]);
    owner.ok(&["member", "add", &owner.list, &boss, "--role", "owner"]);
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "let me in", "private words\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held") && out.contains("1 sent"), "{out}");
    let notice = &rig.wait_for(&boss, "INBOX", 1, wait_secs(20))[0];
    let text = String::from_utf8_lossy(notice);
    assert!(
        header(notice, "Subject")
            .unwrap()
            .contains("post held for an owner: let me in"),
        "{text}"
    );
    assert!(
        text.contains("is not a member") && text.contains("held approve|reject|discard"),
        "{text}"
    );
    assert!(
        !text.contains("private words"),
        "the content stays out of the notice: {text}"
    );
    assert!(rig.messages(&alice, "INBOX").is_empty());

    // Turned off, owners get no mail; the activity log still has it all.
    owner.ok(&["list", "set", &owner.list, "owner-notices", "no"]);
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "again", "x\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, wait_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held") && out.contains("0 sent"), "{out}");
}
