//! The fan-out of one post to N members, Conclave's way against the old list
//! servers' way, on the same keys, certificates and post, in the same run.
//!
//! - OpenPGP, Cv25519 and RSA-3072 member keys. Conclave: sign once, encrypt
//!   once, one key packet per member, the members spread over the cores.
//!   Old way: gpg signs once, then one `gpg --encrypt` process per member.
//! - S/MIME, RSA-2048 and P-256 member certificates, an RSA-3072 list
//!   identity. Conclave: sign once, then one CMS envelope (AES-256-CBC) per
//!   member, the members spread over the cores. Old way: `openssl cms -sign`
//!   once, then one `openssl cms -encrypt -aes256` process per member.
//!
//! Two posts: 10 KB of text, and a multipart/mixed post with a 1 MiB
//! attachment (base64).
//!
//! `cargo bench -p conclave-engine --bench fanout` runs N = 10 and 100 for
//! every key kind and both posts; CONCLAVE_BENCH_FULL=1 adds N = 1000 for
//! Cv25519 (10 KB and 1 MB) and P-256 (10 KB). At N = 1000 criterion
//! samples Conclave only: the baseline, which takes seconds to a minute a
//! run there, is timed for the table alone. Member keys and certificates
//! are made once and cached under the target folder. After criterion's
//! figures, a table with time per member and the ratio baseline/Conclave is
//! printed (each time the median of three runs), then where Conclave's time
//! goes: the work done once per post, and per member copy.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use conclave_engine::crypto::openpgp::{KeyAlgo, ListKey, MemberKey, SharedPayload, sign_entity};
use conclave_engine::crypto::smime::{self, MemberCert};
use criterion::{BenchmarkId, Criterion};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use pgp::serialize::SerializeInto;
use sequoia_openpgp as pgp;

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("bench-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// N OpenPGP member certificates of one kind, made once and kept.
fn members(kind: &str, n: usize) -> Vec<(String, MemberKey, Vec<u8>)> {
    let dir = cache_dir();
    (0..n)
        .map(|i| {
            let email = format!("m{i}@bench.example");
            let path = dir.join(format!("{kind}-{i}.pgp"));
            let public = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(_) => {
                    let suite = if kind == "rsa3072" {
                        pgp::cert::CipherSuite::RSA3k
                    } else {
                        pgp::cert::CipherSuite::Cv25519
                    };
                    let (cert, _) =
                        pgp::cert::CertBuilder::general_purpose(Some(format!("M <{email}>")))
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

/// A member's S/MIME certificate as a mail client would make it for itself:
/// self-signed, for the address, for signing and encrypting mail.
fn smime_cert(email: &str, key: &PKey<Private>) -> X509 {
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    let mut name = openssl::x509::X509Name::builder().unwrap();
    name.append_entry_by_text("CN", email).unwrap();
    name.append_entry_by_nid(openssl::nid::Nid::PKCS9_EMAILADDRESS, email)
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = openssl::bn::BigNum::new().unwrap();
    serial
        .rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    // Cached across runs: valid long enough never to expire in the cache.
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().build().unwrap())
        .unwrap();
    let mut usage = KeyUsage::new();
    usage.critical().digital_signature();
    if key.rsa().is_ok() {
        usage.key_encipherment();
    } else {
        usage.key_agreement();
    }
    b.append_extension(usage.build().unwrap()).unwrap();
    b.append_extension(ExtendedKeyUsage::new().email_protection().build().unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .email(email)
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(key, openssl::hash::MessageDigest::sha256()).unwrap();
    b.build()
}

/// An S/MIME member: address, checked certificate, certificate file (PEM).
struct SmimeMember {
    email: String,
    cert: MemberCert,
    pem: PathBuf,
}

/// N S/MIME member certificates of one kind ("rsa2048" or "p256"), made
/// once and kept (certificate and key, each a PEM file).
fn smime_members(kind: &str, n: usize) -> Vec<SmimeMember> {
    let dir = cache_dir();
    (0..n)
        .map(|i| {
            let email = format!("m{i}@bench.example");
            let pem = dir.join(format!("smime-{kind}-{i}.pem"));
            let bytes = match std::fs::read(&pem) {
                Ok(bytes) => bytes,
                Err(_) => {
                    let key = if kind == "rsa2048" {
                        PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()
                    } else {
                        let group = openssl::ec::EcGroup::from_curve_name(
                            openssl::nid::Nid::X9_62_PRIME256V1,
                        )
                        .unwrap();
                        PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap()
                    };
                    let cert = smime_cert(&email, &key).to_pem().unwrap();
                    std::fs::write(
                        dir.join(format!("smime-{kind}-{i}.key")),
                        key.private_key_to_pem_pkcs8().unwrap(),
                    )
                    .unwrap();
                    std::fs::write(&pem, &cert).unwrap();
                    cert
                }
            };
            let cert = MemberCert::check(&bytes, &email, &[], true, SystemTime::now()).unwrap();
            SmimeMember { email, cert, pem }
        })
        .collect()
}

/// Deterministic bytes that do not compress (xorshift64*).
fn random_ish(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Size {
    Text10K,
    Attach1M,
}

impl Size {
    fn label(self) -> &'static str {
        match self {
            Size::Text10K => "10 KB",
            Size::Attach1M => "1 MB",
        }
    }
    fn id(self) -> &'static str {
        match self {
            Size::Text10K => "10k",
            Size::Attach1M => "1m",
        }
    }
}

fn post(size: Size) -> Vec<u8> {
    let mut text = Vec::new();
    while text.len() < 10 * 1024 {
        text.extend_from_slice(
            b"The tenants' meeting moves to the back room of the library at seven.\r\n",
        );
    }
    match size {
        Size::Text10K => [
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n".as_slice(),
            &text,
        ]
        .concat(),
        Size::Attach1M => {
            let b = "=_bench_mixed_7f3a";
            let mut out = format!(
                "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(&text[..2048]);
            out.extend_from_slice(
                format!(
                    "\r\n--{b}\r\nContent-Type: application/octet-stream; name=\"minutes.bin\"\r\n\
                     Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"minutes.bin\"\r\n\r\n"
                )
                .as_bytes(),
            );
            let encoded = openssl::base64::encode_block(&random_ish(1 << 20));
            for line in encoded.as_bytes().chunks(76) {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
            out
        }
    }
}

/// `per` applied to every item, the items split over the cores: the sum.
fn spread<T: Sync>(items: &[T], per: impl Fn(&T) -> usize + Sync) -> usize {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let per = &per;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(per).sum::<usize>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// Conclave's OpenPGP fan-out: sign once, encrypt once, a key packet per
/// member, the members split over the cores. Bytes made, in all.
fn conclave(list: &ListKey, entity: &[u8], members: &[(String, MemberKey, Vec<u8>)]) -> usize {
    let signed = sign_entity(entity, list).unwrap();
    let shared = SharedPayload::new(&signed).unwrap();
    spread(members, |(_, k, _)| shared.copy_for(k).unwrap().len())
}

/// Conclave's S/MIME fan-out: sign once, encrypt the content once per core
/// with a RecipientInfo for each member, then put each member's copy
/// together from the shared parts and their own RecipientInfo, the
/// members split over the cores.
fn conclave_smime(list: &smime::ListKey, entity: &[u8], members: &[SmimeMember]) -> usize {
    let shared = smime_once(list, entity, members);
    smime_copies(&shared, members)
}

fn smime_once(
    list: &smime::ListKey,
    entity: &[u8],
    members: &[SmimeMember],
) -> Vec<smime::SharedPayload> {
    let signed = smime::sign_entity(entity, list).unwrap();
    let refs: Vec<(&str, &MemberCert)> = members
        .iter()
        .map(|m| (m.email.as_str(), &m.cert))
        .collect();
    smime::shared_payloads(&signed, &refs, smime::Cipher::Cbc).unwrap()
}

fn smime_copy(shared: &[smime::SharedPayload], member: &SmimeMember) -> Vec<u8> {
    shared
        .iter()
        .find_map(|s| s.copy_for(&member.email))
        .expect("every member has a share")
        .unwrap()
}

fn smime_copies(shared: &[smime::SharedPayload], members: &[SmimeMember]) -> usize {
    spread(members, |m| smime_copy(shared, m).len())
}

/// Runs a program with `input` on its standard input; its standard output.
fn run(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().unwrap();
    // Written from a thread: a large input would otherwise block against a
    // full output pipe.
    let out = std::thread::scope(|s| {
        s.spawn(move || stdin.write_all(input).unwrap());
        child.wait_with_output().unwrap()
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A gpg home with the list's secret key and every member's key.
struct GpgHome(tempfile::TempDir);

impl GpgHome {
    fn new(list: &ListKey, members: &[(String, MemberKey, Vec<u8>)]) -> GpgHome {
        let home = GpgHome(
            tempfile::Builder::new()
                .prefix("gb")
                .tempdir_in("/tmp")
                .unwrap(),
        );
        home.run(&["--import"], list.to_keychain().expose().as_bytes());
        let all: Vec<u8> = members.iter().flat_map(|(_, _, p)| p.clone()).collect();
        home.run(&["--import"], &all);
        home
    }

    fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        run(
            Command::new("gpg")
                .arg("--homedir")
                .arg(self.0.path())
                .args([
                    "--batch",
                    "--yes",
                    "--quiet",
                    "--trust-model",
                    "always",
                    "--pinentry-mode",
                    "loopback",
                ])
                .args(args),
            input,
        )
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.0.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// The old way: gpg signs once, then one gpg process per member encrypts
/// the signed entity (RFC 3156 multipart/signed).
fn gpg_per_member(
    home: &GpgHome,
    list: &str,
    entity: &[u8],
    members: &[(String, MemberKey, Vec<u8>)],
) -> usize {
    let sig = home.run(
        &[
            "--armor",
            "--local-user",
            list,
            "--detach-sign",
            "--digest-algo",
            "SHA256",
        ],
        entity,
    );
    let b = "=_bench_signed_5c1e";
    let signed = [
        format!(
            "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\";\r\n boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        )
        .as_bytes(),
        entity,
        format!("\r\n--{b}\r\nContent-Type: application/pgp-signature\r\n\r\n").as_bytes(),
        &sig,
        format!("\r\n--{b}--\r\n").as_bytes(),
    ]
    .concat();
    let mut total = 0;
    for (email, _, _) in members {
        total += home
            .run(&["--armor", "--encrypt", "--recipient", email], &signed)
            .len();
    }
    total
}

/// The list's S/MIME certificate and key as files, for openssl.
struct OpensslDir {
    dir: tempfile::TempDir,
}

impl OpensslDir {
    fn new(list: &smime::ListKey) -> OpensslDir {
        let dir = tempfile::Builder::new()
            .prefix("ob")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(dir.path().join("list.pem"), list.public_pem()).unwrap();
        std::fs::write(
            dir.path().join("list.key"),
            list.key().private_key_to_pem_pkcs8().unwrap(),
        )
        .unwrap();
        OpensslDir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn openssl_cms() -> Command {
    let mut cmd = Command::new("openssl");
    cmd.arg("cms");
    cmd
}

/// The old way: `openssl cms -sign` once, then one `openssl cms -encrypt`
/// process per member.
fn openssl_per_member(dir: &OpensslDir, entity: &[u8], members: &[SmimeMember]) -> usize {
    let signed = run(
        openssl_cms()
            .args(["-sign", "-md", "sha256", "-signer"])
            .arg(dir.path("list.pem"))
            .arg("-inkey")
            .arg(dir.path("list.key")),
        entity,
    );
    let mut total = 0;
    for m in members {
        total += run(
            openssl_cms()
                .args(["-encrypt", "-aes256", "-binary"])
                .arg(&m.pem),
            &signed,
        )
        .len();
    }
    total
}

/// Conclave's copy for the first member opens with openssl and carries a
/// list signature openssl accepts: the benchmark times real copies.
fn check_smime_copy(
    list: &smime::ListKey,
    dir: &OpensslDir,
    entity: &[u8],
    kind: &str,
    member: &SmimeMember,
) {
    let signed = smime::sign_entity(entity, list).unwrap();
    let copy = smime_copy(
        &smime_once(list, entity, std::slice::from_ref(member)),
        member,
    );
    let key = member.pem.with_extension("key");
    let opened = run(
        openssl_cms()
            .args(["-decrypt", "-inkey"])
            .arg(&key)
            .arg("-recip")
            .arg(&member.pem),
        &copy,
    );
    assert_eq!(
        opened, signed,
        "{kind}: the copy opens to the signed entity"
    );
    run(
        openssl_cms()
            .args(["-verify", "-CAfile"])
            .arg(dir.path("list.pem")),
        &opened,
    );
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

struct Row {
    protocol: &'static str,
    kind: &'static str,
    size: Size,
    n: usize,
    ours: Duration,
    theirs: Duration,
    /// Conclave: the work done once per post (sign, and for OpenPGP the
    /// shared encryption), the per-member copies, bytes per copy.
    once: Duration,
    copies: Duration,
    copy_bytes: usize,
    /// Copying `copy_bytes` once per member, as the copies are spread.
    memcpy: Duration,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn key_label(kind: &str) -> &'static str {
    match kind {
        "cv25519" => "Cv25519",
        "rsa3072" => "RSA-3072",
        "rsa2048" => "RSA-2048",
        "p256" => "P-256",
        _ => "?",
    }
}

fn cases(
    kinds: [&'static str; 2],
    full_kind: &'static str,
    full: bool,
) -> Vec<(&'static str, Size, usize)> {
    let mut out = Vec::new();
    for size in [Size::Text10K, Size::Attach1M] {
        for kind in kinds {
            for n in [10, 100] {
                out.push((kind, size, n));
            }
        }
    }
    if full {
        out.push((full_kind, Size::Text10K, 1000));
        if full_kind == "cv25519" {
            out.push((full_kind, Size::Attach1M, 1000));
        }
    }
    // CONCLAVE_BENCH_N=1000 keeps the cases of those sizes alone (with
    // CONCLAVE_BENCH_FULL=1 for 1000).
    if let Ok(only) = std::env::var("CONCLAVE_BENCH_N") {
        let only: Vec<usize> = only
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        out.retain(|(_, _, n)| only.contains(n));
    }
    out
}

/// What copying each member's copy once costs, spread over the cores as the
/// copies are: the floor under a copy made of shared bytes.
fn memcpy_of(n: usize, bytes: usize) -> Duration {
    let source = vec![7u8; bytes];
    let members: Vec<usize> = (0..n).collect();
    timed(|| {
        spread(&members, |_| std::hint::black_box(source.clone()).len());
    })
}

fn main() {
    let full = std::env::var_os("CONCLAVE_BENCH_FULL").is_some();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let posts = [
        (Size::Text10K, post(Size::Text10K)),
        (Size::Attach1M, post(Size::Attach1M)),
    ];
    let entity = |size: Size| {
        posts
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, p)| p.as_slice())
            .unwrap()
    };
    let mut table = Vec::new();

    let list = ListKey::generate(
        "Bench",
        "list@bench.example",
        KeyAlgo::Ed25519,
        SystemTime::now(),
    )
    .unwrap();
    for (kind, size, n) in cases(["cv25519", "rsa3072"], "cv25519", full) {
        let m = members(kind, n);
        let home = GpgHome::new(&list, &m);
        let entity = entity(size);
        let mut group = criterion.benchmark_group(format!("openpgp-{kind}-{}", size.id()));
        group.bench_with_input(BenchmarkId::new("conclave", n), &n, |b, _| {
            b.iter(|| conclave(&list, entity, &m))
        });
        if n <= 100 {
            group.bench_with_input(BenchmarkId::new("gpg-per-member", n), &n, |b, _| {
                b.iter(|| gpg_per_member(&home, "list@bench.example", entity, &m))
            });
        }
        group.finish();
        let ours = timed(|| {
            conclave(&list, entity, &m);
        });
        let theirs = timed(|| {
            gpg_per_member(&home, "list@bench.example", entity, &m);
        });
        let signed = sign_entity(entity, &list).unwrap();
        let shared = SharedPayload::new(&signed).unwrap();
        let once = timed(|| {
            SharedPayload::new(&sign_entity(entity, &list).unwrap()).unwrap();
        });
        let mut bytes = 0;
        let copies = timed(|| bytes = spread(&m, |(_, k, _)| shared.copy_for(k).unwrap().len()));
        table.push(Row {
            protocol: "OpenPGP",
            kind,
            size,
            n,
            ours,
            theirs,
            once,
            copies,
            copy_bytes: bytes / n,
            memcpy: memcpy_of(n, bytes / n),
        });
    }

    let list = smime::ListKey::generate("list@bench.example", smime::KeyAlgo::Rsa3072).unwrap();
    let dir = OpensslDir::new(&list);
    let mut checked = Vec::new();
    for (kind, size, n) in cases(["rsa2048", "p256"], "p256", full) {
        let m = smime_members(kind, n);
        let entity = entity(size);
        if !checked.contains(&kind) {
            check_smime_copy(&list, &dir, entity, kind, &m[0]);
            checked.push(kind);
        }
        let mut group = criterion.benchmark_group(format!("smime-{kind}-{}", size.id()));
        group.bench_with_input(BenchmarkId::new("conclave", n), &n, |b, _| {
            b.iter(|| conclave_smime(&list, entity, &m))
        });
        if n <= 100 {
            group.bench_with_input(BenchmarkId::new("openssl-per-member", n), &n, |b, _| {
                b.iter(|| openssl_per_member(&dir, entity, &m))
            });
        }
        group.finish();
        let ours = timed(|| {
            conclave_smime(&list, entity, &m);
        });
        let theirs = timed(|| {
            openssl_per_member(&dir, entity, &m);
        });
        let shared = smime_once(&list, entity, &m);
        let once = timed(|| {
            smime_once(&list, entity, &m);
        });
        let mut bytes = 0;
        let copies = timed(|| bytes = smime_copies(&shared, &m));
        table.push(Row {
            protocol: "S/MIME",
            kind,
            size,
            n,
            ours,
            theirs,
            once,
            copies,
            copy_bytes: bytes / n,
            memcpy: memcpy_of(n, bytes / n),
        });
    }
    drop(dir);

    criterion.final_summary();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "\nFan-out, Conclave against one process per member ({cores} cores, median of three runs):\n"
    );
    println!(
        "| protocol | member keys | post | N | Conclave total | per member | baseline total | per member | ratio |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &table {
        println!(
            "| {} | {} | {} | {} | {:.1} ms | {:.3} ms | {:.1} ms | {:.2} ms | {:.0}x |",
            r.protocol,
            key_label(r.kind),
            r.size.label(),
            r.n,
            ms(r.ours),
            ms(r.ours) / r.n as f64,
            ms(r.theirs),
            ms(r.theirs) / r.n as f64,
            r.theirs.as_secs_f64() / r.ours.as_secs_f64()
        );
    }
    println!(
        "\n(baseline: gpg --encrypt per member for OpenPGP, openssl cms -encrypt per member for S/MIME)"
    );
    println!(
        "\nWhere Conclave's time goes (once per post: sign, and encrypt (OpenPGP also compresses; S/MIME makes the RecipientInfos); then the copies, over {cores} cores):\n"
    );
    println!(
        "| protocol | member keys | post | N | once per post | copies | per copy | copy size | a memcpy of the copy |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &table {
        println!(
            "| {} | {} | {} | {} | {:.2} ms | {:.1} ms | {:.3} ms | {} KB | {:.3} ms |",
            r.protocol,
            key_label(r.kind),
            r.size.label(),
            r.n,
            ms(r.once),
            ms(r.copies),
            ms(r.copies) / r.n as f64,
            r.copy_bytes / 1024,
            ms(r.memcpy) / r.n as f64
        );
    }
}
