//! Every committed seed through its target's function, without a fuzzer:
//! `cargo test` in fuzz/ on any toolchain. It also checks that the seeds
//! still reach what they were made for (a fixture change that broke them
//! would leave the fuzzer starting from nothing).

use std::path::Path;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

#[test]
fn post_read_seeds() {
    for (_, data) in seeds("post_read") {
        conclave_fuzz::post_read(&data);
    }
}

#[test]
fn openpgp_unwrap_seeds() {
    for (_, data) in seeds("openpgp_unwrap") {
        conclave_fuzz::openpgp_unwrap(&data);
    }
}

#[test]
fn smime_unwrap_seeds() {
    for (_, data) in seeds("smime_unwrap") {
        conclave_fuzz::smime_unwrap(&data);
    }
}

#[test]
fn member_keys_seeds() {
    for (_, data) in seeds("member_keys") {
        conclave_fuzz::member_keys(&data);
    }
}

#[test]
fn decide_seeds() {
    for (_, data) in seeds("decide") {
        conclave_fuzz::decide(&data);
    }
}
