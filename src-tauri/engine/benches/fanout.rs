//! The OpenPGP fan-out: one post (10 KB of text) to N members, Conclave's
//! way (sign once, encrypt once, one key packet per member, spread over the
//! cores) against the old list servers' way (sign once, then one
//! `gpg --encrypt` process per member), on the same keys and post.
//!
//! `cargo bench -p conclave-engine --bench fanout` runs N = 10 and 100 with
//! Cv25519 and RSA-3072 member keys; CONCLAVE_BENCH_FULL=1 adds N = 1000
//! (the gpg baseline alone then takes minutes). Member keys are made once
//! and cached under the target folder. After criterion's figures, a table
//! with time per member and the ratio baseline/Conclave is printed.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use conclave_engine::crypto::openpgp::{KeyAlgo, ListKey, MemberKey, SharedPayload, sign_entity};
use criterion::{BenchmarkId, Criterion};
use sequoia_openpgp as pgp;
use pgp::serialize::SerializeInto;

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("bench-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// N member certificates of one kind, made once and kept.
fn members(kind: &str, n: usize) -> Vec<(String, MemberKey, Vec<u8>)> {
    let dir = cache_dir();
    (0..n)
        .map(|i| {
            let email = format!("m{i}@bench.example");
            let path = dir.join(format!("{kind}-{i}.pgp"));
            let public = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(_) => {
                    let suite = if kind == "rsa3072" { pgp::cert::CipherSuite::RSA3k } else { pgp::cert::CipherSuite::Cv25519 };
                    let (cert, _) = pgp::cert::CertBuilder::general_purpose(Some(format!("M <{email}>")))
                        .set_cipher_suite(suite)
                        .generate()
                        .unwrap();
                    let bytes = cert.armored().to_vec().unwrap();
                    std::fs::write(&path, &bytes).unwrap();
                    bytes
                }
            };
            let key = MemberKey::check(&public, &email, SystemTime::now()).unwrap();
            (email, key, public)
        })
        .collect()
}

fn post() -> Vec<u8> {
    let mut text = b"Content-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    while text.len() < 10 * 1024 {
        text.extend_from_slice(b"The tenants' meeting moves to the back room of the library at seven.\r\n");
    }
    text
}

/// Conclave's fan-out: sign once, encrypt once, a key packet per member,
/// the members split over the cores.
fn conclave(list: &ListKey, entity: &[u8], members: &[(String, MemberKey, Vec<u8>)]) -> usize {
    let signed = sign_entity(entity, list).unwrap();
    let shared = SharedPayload::new(&signed).unwrap();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = members.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = members
            .chunks(chunk)
            .map(|part| {
                let shared = &shared;
                s.spawn(move || part.iter().map(|(_, k, _)| shared.copy_for(k).unwrap().len()).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// A gpg home with the list's secret key and every member's key.
struct GpgHome(tempfile::TempDir);

impl GpgHome {
    fn new(list: &ListKey, members: &[(String, MemberKey, Vec<u8>)]) -> GpgHome {
        let home = GpgHome(tempfile::Builder::new().prefix("gb").tempdir_in("/tmp").unwrap());
        home.run(&["--import"], list.to_keychain().expose().as_bytes());
        let all: Vec<u8> = members.iter().flat_map(|(_, _, p)| p.clone()).collect();
        home.run(&["--import"], &all);
        home
    }

    fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.0.path())
            .args(["--batch", "--yes", "--quiet", "--trust-model", "always", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gpg");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gpg {args:?}");
        out.stdout
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").arg("--homedir").arg(self.0.path()).args(["--kill", "gpg-agent"]).status();
    }
}

/// The old way: gpg signs once, then one gpg process encrypts per member.
fn gpg_per_member(home: &GpgHome, list: &str, entity: &[u8], members: &[(String, MemberKey, Vec<u8>)]) -> usize {
    let signed = home.run(&["--armor", "--local-user", list, "--detach-sign"], entity);
    let mut total = signed.len();
    for (email, _, _) in members {
        total += home.run(&["--armor", "--encrypt", "--recipient", email], entity).len();
    }
    total
}

fn timed(mut f: impl FnMut()) -> Duration {
    // The median of three runs.
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[1]
}

fn main() {
    let full = std::env::var_os("CONCLAVE_BENCH_FULL").is_some();
    let list = ListKey::generate("Bench", "list@bench.example", KeyAlgo::Ed25519, SystemTime::now()).unwrap();
    let entity = post();
    let mut cases = vec![("cv25519", 10), ("cv25519", 100), ("rsa3072", 10), ("rsa3072", 100)];
    if full {
        cases.push(("cv25519", 1000));
    }
    let mut criterion = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5)).configure_from_args();
    let mut table = Vec::new();
    for (kind, n) in cases {
        let m = members(kind, n);
        let home = GpgHome::new(&list, &m);
        let mut group = criterion.benchmark_group(format!("fanout-{kind}"));
        group.bench_with_input(BenchmarkId::new("conclave", n), &n, |b, _| b.iter(|| conclave(&list, &entity, &m)));
        if n <= 100 || full {
            group.bench_with_input(BenchmarkId::new("gpg-per-member", n), &n, |b, _| {
                b.iter(|| gpg_per_member(&home, "list@bench.example", &entity, &m))
            });
        }
        group.finish();
        let ours = timed(|| {
            conclave(&list, &entity, &m);
        });
        let theirs = timed(|| {
            gpg_per_member(&home, "list@bench.example", &entity, &m);
        });
        table.push((kind, n, ours, theirs));
    }
    criterion.final_summary();
    println!("\n| member keys | N | Conclave total | per member | gpg per member: total | per member | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (kind, n, ours, theirs) in table {
        println!(
            "| {kind} | {n} | {:.1} ms | {:.3} ms | {:.1} ms | {:.2} ms | {:.0}x |",
            ours.as_secs_f64() * 1e3,
            ours.as_secs_f64() * 1e3 / n as f64,
            theirs.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3 / n as f64,
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
}
