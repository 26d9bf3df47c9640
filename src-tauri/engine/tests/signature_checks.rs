//! The signature checks one run keeps spare the next process the
//! verification of every member's key (`crypto::openpgp::checked`).
//! Sequoia's cache belongs to the process, so the next process is this test
//! binary started again, told by an environment variable what to do.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use conclave_engine::crypto::openpgp::{MemberKey, checked};
use sequoia_openpgp::packet::signature::cache::SignatureVerificationCache;

/// Set in the child: the folder holding the checks to restore.
const CHILD: &str = "CONCLAVE_TEST_KEPT_CHECKS";
const NAME: &str = "kept_checks_spare_the_next_process_the_verification";

fn alice() -> MemberKey {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data/keys/alice-openpgp.asc");
    MemberKey::from_stored(&std::fs::read(file).unwrap()).unwrap()
}

/// A time the test keys are valid at.
fn when() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_893_456_000)
}

/// Runs this test again in a process of its own, restoring the checks in
/// `dir`; the verifications its check of Alice's key missed the cache.
fn misses_in_a_new_process(dir: &Path) -> usize {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said.lines()
        .find_map(|l| l.split("misses=").nth(1))
        .unwrap_or_else(|| panic!("the child said: {said}"))
        .parse()
        .unwrap()
}

#[test]
fn kept_checks_spare_the_next_process_the_verification() {
    if let Some(dir) = std::env::var_os(CHILD) {
        let entries: Vec<Vec<u8>> = std::fs::read(Path::new(&dir).join("checks"))
            .unwrap()
            .chunks(32)
            .map(<[u8]>::to_vec)
            .collect();
        checked::restore(entries);
        let before = SignatureVerificationCache::cache_misses();
        assert!(alice().can_encrypt(when()));
        println!(
            "misses={}",
            SignatureVerificationCache::cache_misses() - before
        );
        return;
    }
    // This process checks Alice's key and hands out what to keep.
    assert!(alice().can_encrypt(when()));
    let kept = checked::made_or_used();
    assert!(!kept.is_empty());
    assert!(
        kept.iter().all(|e| e.len() == 32),
        "sequoia's entries are 32 bytes"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("checks"), kept.concat()).unwrap();
    assert_eq!(
        misses_in_a_new_process(dir.path()),
        0,
        "every signature of the key was found in the kept checks"
    );
    // Without them, a new process verifies the key again.
    std::fs::write(dir.path().join("checks"), b"").unwrap();
    assert!(misses_in_a_new_process(dir.path()) >= 2);
}
