//! A list owner driving `conclave-cli`, as their scripts would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `conclave-cli`.
pub fn cli_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CONCLAVE_CLI") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug/conclave-cli");
    assert!(
        p.exists(),
        "{} is missing: build it first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A list owner's setup: a data folder, a list bound to the rig, members.
pub struct Owner {
    pub data: tempfile::TempDir,
    pub list: String,
}

impl Owner {
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(cli_path())
            .arg("--data-dir")
            .arg(self.data.path())
            .args(args)
            .env("CONCLAVE_IMAP_PASSWORD", &crate::Rig::get().password)
            .env("CONCLAVE_SMTP_PASSWORD", &crate::Rig::get().password)
            .output()
            .expect("conclave-cli runs")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "conclave-cli {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and expects failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(!out.status.success(), "conclave-cli {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("valid JSON")
    }

    /// A new list on the rig, its account checked and saved, with members.
    pub fn new(prefix: &str, members: &[&str]) -> Owner {
        let rig = crate::Rig::get();
        let owner = Owner {
            data: tempfile::tempdir().unwrap(),
            list: rig.unique(prefix),
        };
        owner.ok(&["list", "create", &owner.list, "--name", "Test List"]);
        owner.account(&rig.ca_path, &rig.password);
        for m in members {
            owner.ok(&["member", "add", &owner.list, m]);
        }
        owner
    }

    pub fn account_args(&self, ca: &Path) -> Vec<String> {
        let rig = crate::Rig::get();
        let local = self.list.clone();
        [
            "list",
            "account",
            &self.list,
            "--imap-host",
            &rig.host,
            "--imap-port",
            &rig.imap_port.to_string(),
            "--imap-tls",
            "starttls",
            "--imap-user",
            &local,
            "--smtp-host",
            &rig.host,
            "--smtp-port",
            &rig.submission_port.to_string(),
            "--smtp-tls",
            "starttls",
            "--smtp-user",
            &local,
            "--ca-file",
            ca.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn account(&self, ca: &Path, _password: &str) {
        let args = self.account_args(ca);
        self.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    pub fn run_once(&self) -> String {
        self.ok(&["run", "--once", "--list", &self.list])
    }
}

/// A continuous `conclave-cli run` on an owner's data folder (polling once
/// an hour: anything sooner is IDLE's or a claim's doing), killed when
/// dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Owner {
    pub fn run_continuously(&self) -> Running {
        let rig = crate::Rig::get();
        let child = Command::new(cli_path())
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["run", "--interval", "3600"])
            .env("CONCLAVE_IMAP_PASSWORD", &rig.password)
            .env("CONCLAVE_SMTP_PASSWORD", &rig.password)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("conclave-cli runs");
        Running(child)
    }
}

/// One command for [`other_laptop`]: its environment (name, value) and
/// its arguments.
pub type Step<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Runs `conclave-cli` on "another laptop": the data folder `data` and a
/// keychain of its own, which lives while the commands run, in order, each
/// with the environment given beside it (and no passwords from this one's).
/// Returns each command's output.
pub fn other_laptop(data: &Path, commands: &[Step<'_>]) -> Vec<Output> {
    let dir = tempfile::tempdir().unwrap();
    let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
    let mut script = String::from("set -u\n");
    for (i, (env, args)) in commands.iter().enumerate() {
        let env: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
        script.push_str(&format!(
            "env {} \"$CLI\" --data-dir \"$DATA\" {} >\"$OUT/{i}.out\" 2>\"$OUT/{i}.err\"; echo $? >\"$OUT/{i}.rc\"\n",
            env.join(" "),
            args.join(" ")
        ));
    }
    let status = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("with-keychain.sh"))
        .args(["bash", "-c", &script])
        .env("CLI", cli_path())
        .env("DATA", data)
        .env("OUT", dir.path())
        .env_remove("CONCLAVE_IMAP_PASSWORD")
        .env_remove("CONCLAVE_SMTP_PASSWORD")
        .env_remove("CONCLAVE_BUNDLE_PASSPHRASE")
        .env_remove("CONCLAVE_RECOVERY_PASSPHRASE")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the other laptop's keychain did not start"
    );
    (0..commands.len())
        .map(|i| {
            let read = |ext: &str| std::fs::read(dir.path().join(format!("{i}.{ext}"))).unwrap();
            let code: i32 = String::from_utf8(read("rc"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            Output {
                status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
                stdout: read("out"),
                stderr: read("err"),
            }
        })
        .collect()
}

/// An output's stdout and stderr, for messages and checks.
pub fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
