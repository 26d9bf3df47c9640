//! What an owner types or points at that must not get through: files that
//! never end, line breaks and control characters where they would become
//! header fields, an authority whose certificate has ended. Each gets a
//! one-line reason and changes nothing.

use std::process::Command;
use std::time::{Duration, Instant};

use conclave_engine::secrets::{self, SecretKind};
use rig::Rig;
use rig::owner::{Owner, cli_path};
use rig::smime::Ca;

fn header_block(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    text.split("\n\n").next().unwrap_or_default().to_string()
}

#[test]
fn a_key_file_that_never_ends_is_refused_at_once_in_little_memory() {
    let rig = Rig::get();
    let alice = rig.unique("alice");
    let owner = Owner::new("list-zero", &[&alice]);
    // GNU time reports the peak memory of the whole command.
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak-kb %M"])
        .arg(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(["member", "key", &owner.list, &alice, "/dev/zero"])
        .output()
        .expect("GNU time runs (scripts/install-deps.sh installs it)");
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("/dev/zero holds more than 1024 KiB") && err.contains("right file"),
        "{err}"
    );
    let peak_kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("peak-kb "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        peak_kb < 50 * 1024,
        "conclave-cli grew to {peak_kb} KiB reading /dev/zero"
    );
    eprintln!("refused /dev/zero in {took:?}, peak {peak_kb} KiB");
    // A path that is no file at all says so too.
    let e = owner.fails(&["member", "key", &owner.list, &alice, "/nonexistent/key.asc"]);
    assert!(e.contains("cannot read /nonexistent/key.asc"), "{e}");
    let e = owner.fails(&["list", "trust", "add", &owner.list, "/dev/zero"]);
    assert!(e.contains("more than 1024 KiB"), "{e}");
}

#[test]
fn names_and_settings_take_no_line_break_and_the_footer_none_into_a_header() {
    let rig = Rig::get();
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let owner = Owner::new("list-input", &[&alice, &bob]);
    let injected = "Alice\r\nBcc: eve@example.net";
    let e = owner.fails(&[
        "member",
        "add",
        &owner.list,
        &rig.unique("carol"),
        "--name",
        injected,
    ]);
    assert!(e.contains("one line of plain text"), "{e}");
    let e = owner.fails(&[
        "member",
        "set",
        &owner.list,
        &alice,
        "name",
        "Alice\nBcc: eve@example.net",
    ]);
    assert!(e.contains("one line of plain text"), "{e}");
    let e = owner.fails(&[
        "member",
        "set",
        &owner.list,
        &alice,
        "name",
        "\u{1b}[31mAlice",
    ]);
    assert!(e.contains("one line of plain text"), "{e}");
    let e = owner.fails(&["list", "set", &owner.list, "subject-prefix", "[T]\u{7}"]);
    assert!(e.contains("no control characters"), "{e}");
    let e = owner.fails(&[
        "list",
        "set",
        &owner.list,
        "subject-prefix",
        "[T]\r\nBcc: eve@example.net",
    ]);
    assert!(e.contains("one line"), "{e}");
    let listed = owner.ok(&["member", "list", &owner.list]);
    assert!(
        !listed.contains("Bcc") && !listed.contains('\u{1b}'),
        "{listed}"
    );

    // A footer takes lines, as body text: they never reach a header.
    owner.ok(&[
        "list",
        "set",
        &owner.list,
        "footer",
        "Tenants' union\r\nBcc: eve@example.net",
    ]);
    rig.submit(
        &alice,
        Some(&alice),
        &[&owner.list],
        &rig::post(&alice, &owner.list, "Footer", "hi\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    owner.run_once();
    let copy = &rig.wait_for(&bob, "INBOX", 1, Duration::from_secs(20))[0];
    let head = header_block(copy);
    assert!(!head.to_ascii_lowercase().contains("bcc"), "{head}");
    assert!(
        String::from_utf8_lossy(copy).contains("Bcc: eve@example.net"),
        "the footer is in the body"
    );
}

#[test]
fn an_authority_whose_certificate_ended_is_not_trusted() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-ca"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Org",
        "--protocol",
        "smime",
    ]);
    let ended = Ca::expired("Old Org CA");
    let file = ended.dir.path().join("anchor.pem");
    std::fs::write(&file, ended.pem()).unwrap();
    let e = owner.fails(&["list", "trust", "add", &owner.list, file.to_str().unwrap()]);
    assert!(
        e.contains("cannot be trusted now") && e.contains("expired on 2021-01-01"),
        "{e}"
    );
    assert!(
        owner
            .ok(&["list", "trust", "list", &owner.list])
            .contains("no trust anchors"),
        "nothing stored"
    );
    let current = Ca::new("Org CA");
    let file = current.dir.path().join("anchor.pem");
    std::fs::write(&file, current.pem()).unwrap();
    owner.ok(&["list", "trust", "add", &owner.list, file.to_str().unwrap()]);
}

/// A list removed from this laptop: nothing is removed until its address
/// is typed again; then its keychain entries (passwords, list key) are
/// gone and the data folder keeps no trace of its members.
#[test]
fn a_list_forgotten_leaves_nothing_on_the_laptop() {
    let rig = Rig::get();
    let member = rig.unique("forgotten-member");
    let owner = Owner::new("list-forget", &[&member]);
    owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--protocol",
        "openpgp",
    ]);
    let e = owner.fails(&[
        "list",
        "forget",
        &owner.list,
        "--confirm",
        "someone@else.test",
    ]);
    assert!(e.contains("type its address exactly"), "{e}");
    assert!(
        owner
            .ok(&["list", "show", &owner.list])
            .contains(&owner.list)
    );

    let out = owner.ok(&["list", "forget", &owner.list, "--confirm", &owner.list]);
    assert!(out.contains("removed from this laptop"), "{out}");
    let e = owner.fails(&["list", "show", &owner.list]);
    assert!(e.contains(&owner.list), "{e}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for kind in [
        SecretKind::ImapPassword,
        SecretKind::SmtpPassword,
        SecretKind::OpenPgpListKey,
    ] {
        let left = rt.block_on(secrets::load(&owner.list, kind));
        assert!(
            matches!(left, Err(secrets::SecretError::Missing(_))),
            "{kind:?} is still in the keychain"
        );
    }
    let mut bytes = Vec::new();
    for f in std::fs::read_dir(owner.data.path()).unwrap().flatten() {
        bytes.extend(std::fs::read(f.path()).unwrap_or_default());
    }
    let local = member.split('@').next().unwrap();
    assert!(
        !bytes.windows(local.len()).any(|w| w == local.as_bytes()),
        "the member's address is left in the data folder"
    );
}
