//! gpg as a member's mail client would run it: a home of its own per member.

use std::process::{Command, Output, Stdio};

/// A member's gpg with a home of its own; its agent is stopped at the end.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Gpg {
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").unwrap();
        Gpg { home }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("gpg runs (scripts/test.sh installs gnupg)");
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args, None);
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Makes a key without a passphrase; returns its fingerprint. Except
    /// for "future-default" (Ed25519 with a Cv25519 subkey), `algo` makes
    /// the primary key and, unless it is a signing algorithm, an encryption
    /// subkey of the same algorithm.
    pub fn generate(&self, uid: &str, algo: &str, expire: &str, extra: &[&str]) -> String {
        let mut args = vec!["--passphrase", ""];
        args.extend_from_slice(extra);
        let usage = if algo == "future-default" { "default" } else { "sign,cert" };
        args.extend_from_slice(&["--quick-gen-key", uid, algo, usage, expire]);
        self.ok(&args);
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid])).unwrap();
        let fpr = listing.lines().find(|l| l.starts_with("fpr:")).unwrap().split(':').nth(9).unwrap().to_string();
        if algo.starts_with("rsa") {
            let mut args = vec!["--passphrase", ""];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--quick-add-key", &fpr, algo, "encr", expire]);
            self.ok(&args);
        }
        fpr
    }

    pub fn export(&self, who: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", who])
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

