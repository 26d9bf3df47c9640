//! Peak memory of one `conclave-cli run --once` that takes a 1 MB post and
//! sends it to 1000 members of an OpenPGP list, each copy encrypted to that
//! member: the deliveries are built one at a time per SMTP connection, so
//! memory should not grow with the number of members. Reported with
//! `/usr/bin/time -v` (maximum resident set size).
//!
//! Needs the mail rig and a keychain; `bash scripts/measure-memory.sh` sets
//! both up and runs it. It prints figures; it asserts nothing about them.

use std::process::Command;
use std::time::Instant;

use rig::Rig;
use rig::gpg::{Gpg, encrypted_mail};
use rig::owner::{Owner, cli_path};

#[path = "shared/keys.rs"]
mod keys;
use keys::member_key;

fn members() -> usize {
    std::env::var("CONCLAVE_MEMBERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

fn main() {
    let n = members();
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-mem"),
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
    owner.ok(&["list", "set", &owner.list, "max-size", "5M"]);
    let list_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();

    let gpg = Gpg::new();
    assert!(gpg.run(&["--import"], Some(&list_key)).status.success());
    let t = Instant::now();
    let members: Vec<String> = (0..n).map(|i| rig.unique(&format!("m{i}"))).collect();
    // Only the poster needs a secret key in gpg. The others' public keys are
    // made in-process: gpg takes seconds a key once its keyring holds
    // hundreds, which made the 1000-member setup outlast the measurement.
    gpg.generate(
        &format!("M <{}>", members[0]),
        "future-default",
        "never",
        &[],
    );
    let file = gpg.home.path().join("k.asc");
    for (i, m) in members.iter().enumerate() {
        let key = if i == 0 { gpg.export(m) } else { member_key(m) };
        std::fs::write(&file, key).unwrap();
        owner.ok(&[
            "member",
            "add",
            &owner.list,
            m,
            "--key",
            file.to_str().unwrap(),
        ]);
    }
    eprintln!(
        "{n} members with keys set up in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    // A text part and a 1 MiB attachment, signed and encrypted by a member.
    // Incompressible bytes (xorshift), so the post stays a megabyte.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let attachment: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    let b64: Vec<u8> = encoded
        .as_bytes()
        .chunks(76)
        .flat_map(|l| [l, b"\r\n".as_slice()].concat())
        .collect();
    let entity = [
        b"Content-Type: multipart/mixed; boundary=\"m1\"\r\n\r\n--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report.\r\n--m1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"report.bin\"\r\n\r\n".as_slice(),
        &b64,
        b"\r\n--m1--\r\n",
    ]
    .concat();
    // From a file: a megabyte through gpg's stdin and stdout pipes at once
    // would block both.
    let input = gpg.home.path().join("post.eml");
    std::fs::write(&input, &entity).unwrap();
    let ct = gpg.ok(&[
        "--armor",
        "--trust-model",
        "always",
        "--local-user",
        &members[0],
        "--sign",
        "--encrypt",
        "--recipient",
        &owner.list,
        "--output",
        "-",
        input.to_str().unwrap(),
    ]);
    let post = encrypted_mail(&members[0], &owner.list, &ct);
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, std::time::Duration::from_secs(60));

    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(cli_path())
        .arg("--data-dir")
        .arg(owner.data.path())
        .args(["run", "--once", "--list", &owner.list])
        .output()
        .expect("/usr/bin/time runs (package time)");
    let wall = t.elapsed();
    let report = String::from_utf8_lossy(&out.stdout);
    let stats = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}\n{stats}");
    let peak_kb: u64 = stats
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("time -v reports the peak");
    println!("{}", report.trim());
    println!(
        "run --once, {} byte post, {n} members: {:.1} s, peak memory {:.1} MB",
        post.len(),
        wall.as_secs_f64(),
        peak_kb as f64 / 1024.0
    );
}
