//! The bare Python clients the rig benches measure Conclave against.
//! Included by the benches with `#[path]`, not a bench of its own.

use std::path::Path;
use std::process::Command;

use rig::Rig;

/// Runs one of the bare Python clients (`benches/<script>`) beside a
/// bench, on the rig's `port`, logged in as `user`: the seconds it prints.
pub fn bare_client(rig: &Rig, script: &str, port: u16, user: &str, more: &[&str]) -> f64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(script);
    let out = Command::new("python3")
        .arg(script)
        .args([
            rig.host.as_str(),
            &port.to_string(),
            user,
            &rig.password,
            rig.ca_path.to_str().unwrap(),
        ])
        .args(more)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
