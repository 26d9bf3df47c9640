//! neomutt as a member runs it, driven headless through tmux: a private
//! tmux server (its own socket, killed when the driver is dropped), a
//! private muttrc, gpgme with the member's GNUPGHOME, and a `sendmail` that
//! only captures what neomutt would send (the message and its argv, i.e.
//! the envelope recipients) instead of sending it.
//!
//! Every wait is bounded: [`Terminal::wait_for`] polls the screen and
//! panics with what is on it after the timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `neomutt -v`'s first line, e.g. `NeoMutt 20220429`.
pub fn version() -> String {
    let out = Command::new("neomutt")
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .expect("neomutt runs (scripts/install-deps.sh test installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A program running in a detached tmux session on a tmux server of its
/// own. Dropping it kills that server (and with it the program): nothing
/// outlives a test, whether it passed or panicked.
pub struct Terminal {
    socket: PathBuf,
    session: String,
}

impl Terminal {
    /// Starts `argv` (run directly, not through a shell) in a `width` x
    /// `height` terminal, in `cwd`, with `env` added to the environment.
    /// The tmux server reads `config` only (never the user's).
    pub fn start(
        dir: &Path,
        cwd: &Path,
        env: &[(&str, &str)],
        argv: &[&str],
        (width, height): (u16, u16),
    ) -> Terminal {
        let config = dir.join("tmux.conf");
        // The pane stays after the program exits, so a failure can say how
        // it ended; no status line, so the screen is the program's alone.
        std::fs::write(&config, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let term = Terminal {
            socket: dir.join("tmux.sock"),
            session: "member".into(),
        };
        let mut args: Vec<String> = vec!["-f".into(), config.to_str().unwrap().into()];
        args.extend(
            [
                "new-session",
                "-d",
                "-s",
                &term.session,
                "-c",
                cwd.to_str().unwrap(),
            ]
            .map(String::from),
        );
        args.extend([
            "-x".into(),
            width.to_string(),
            "-y".into(),
            height.to_string(),
        ]);
        for (k, v) in env {
            args.extend(["-e".into(), format!("{k}={v}")]);
        }
        args.extend(argv.iter().map(|a| a.to_string()));
        let out = term.tmux(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "tmux new-session {argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        term
    }

    /// Runs tmux on this server. The environment is PATH alone (the server
    /// and its program inherit it, plus the `-e` variables): nothing of the
    /// caller's (TMUX, EDITOR, MAIL, EMAIL, REPLYTO, …) reaches the program.
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("tmux runs (scripts/install-deps.sh test installs it)")
    }

    /// Sends keys as tmux names them (`Enter`, `Escape`, `g`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(
            out.status.success(),
            "tmux send-keys {keys:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The visible screen as text, one line per row.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// "running", or how the program ended (the pane stays after it exits).
    pub fn status(&self) -> String {
        let out = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &self.session,
            "#{?pane_dead,exited with status #{pane_dead_status},running} (pid #{pane_pid})",
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen every 50 ms until `ready` holds for it, and returns
    /// it; panics after `timeout` with the screen and `what` was awaited.
    pub fn wait_for(&self, what: &str, timeout: Duration, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() >= timeout {
                panic!(
                    "waited {timeout:?} for {what}; the program is {}; its screen:\n{}",
                    self.status(),
                    boxed(&screen)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Only this server, by its own socket: the program gets SIGHUP.
        let _ = self.tmux(&["kill-server"]);
    }
}

/// A screen between rules, trailing blank lines dropped, for messages.
pub fn boxed(screen: &str) -> String {
    let lines: Vec<&str> = screen.trim_end().lines().map(str::trim_end).collect();
    format!("----8<----\n{}\n----8<----", lines.join("\n"))
}

/// What neomutt handed to `sendmail`.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The arguments after the program name, as given.
    pub argv: Vec<String>,
    /// The message as written to sendmail's standard input.
    pub message: Vec<u8>,
}

impl Sent {
    /// The envelope recipients: the arguments after `--` (neomutt puts its
    /// options before it), or every argument not starting with `-`.
    pub fn recipients(&self) -> Vec<String> {
        match self.argv.iter().position(|a| a == "--") {
            Some(i) => self.argv[i + 1..].to_vec(),
            None => self
                .argv
                .iter()
                .filter(|a| !a.starts_with('-'))
                .cloned()
                .collect(),
        }
    }
}

/// neomutt on one mailbox, as a member with their own gpg home, in a
/// private folder (muttrc, editor, capturing sendmail, temporary files).
pub struct Neomutt {
    // Dropped first: the terminal (and neomutt) go before their folder.
    pub term: Terminal,
    pub dir: tempfile::TempDir,
}

impl Neomutt {
    /// The muttrc [`Neomutt::open`] writes: everything a prompt could ask
    /// is settled (no encrypting or signing of replies, so no "undefined
    /// validity" question; Reply-To honoured without asking; no quoting;
    /// no To/Subject prompts; no copies, no postponing, no caches), the
    /// editor appends `reply_line` to the draft, and `sendmail` captures.
    /// `extra` is appended (later lines win).
    pub fn muttrc(dir: &Path, mailbox: &Path, from: &str, extra: &str) -> String {
        let domain = from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>'))
            .unwrap_or("invalid");
        format!(
            r#"# Generated by tests/src/neomutt.rs
set folder="{folder}"
set spoolfile="{mailbox}"
set mbox_type=Maildir
set from="{from}"
set use_from=yes
set hostname="{domain}"
set tmpdir="{dir}"
set header_cache=""
set message_cachedir=""
set record=""
set copy=no
set postpone=no
set move=no
set mark_old=no
set confirmappend=no
set wait_key=no
set sleep_time=0
set beep=no
set help=yes
set charset="utf-8"
set send_charset="utf-8"
set editor="{dir}/edit.sh"
set edit_headers=no
set autoedit=no
set fast_reply=yes
set include=no
set reply_to=yes
set metoo=no
set reply_self=no
set abort_unmodified=no
set abort_noattach=no
set sendmail="{dir}/capture.sh"
set sendmail_wait=0
set crypt_use_gpgme=yes
set crypt_protected_headers_read=yes
set crypt_protected_headers_write=no
set crypt_replyencrypt=no
set crypt_replysign=no
set crypt_replysignencrypted=no
set crypt_autoencrypt=no
set crypt_autosign=no
set crypt_opportunistic_encrypt=no
set crypt_verify_sig=yes
set autocrypt=no
ignore *
unignore from: to: cc: date: subject: reply-to: list-post:
{extra}
"#,
            folder = mailbox.parent().unwrap().display(),
            mailbox = mailbox.display(),
            dir = dir.display(),
        )
    }

    /// Starts neomutt on the Maildir `mailbox` with `gnupghome`, sending as
    /// `from` (`Name <address>`); `reply_line` is what the editor adds to
    /// every draft. Waits (bounded) until the index shows.
    pub fn open(
        mailbox: &Path,
        gnupghome: &Path,
        from: &str,
        reply_line: &str,
        extra: &str,
    ) -> Neomutt {
        let dir = tempfile::Builder::new()
            .prefix("mutt")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        let script = |name: &str, text: String| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        // The editor leaves the draft as neomutt wrote it and adds a line.
        script(
            "edit.sh",
            format!(
                "#!/bin/sh\nprintf '%s\\n' '{}' >>\"$1\"\n",
                reply_line.replace('\'', "")
            ),
        );
        // sendmail: argv one per line, then the message; each file appears
        // whole (written aside, then renamed).
        script(
            "capture.sh",
            format!(
                "#!/bin/sh\nd='{}'\nprintf '%s\\n' \"$@\" >\"$d/argv.tmp\" && mv \"$d/argv.tmp\" \"$d/argv\"\n\
                 cat >\"$d/sent.tmp\" && mv \"$d/sent.tmp\" \"$d/sent.eml\"\n",
                d.display()
            ),
        );
        std::fs::write(d.join("muttrc"), Neomutt::muttrc(d, mailbox, from, extra)).unwrap();
        let home = d.join("home");
        std::fs::create_dir(&home).unwrap();
        let term = Terminal::start(
            d,
            d,
            &[
                ("GNUPGHOME", gnupghome.to_str().unwrap()),
                ("HOME", home.to_str().unwrap()),
                ("LC_ALL", "C.UTF-8"),
                ("TERM", "tmux-256color"),
            ],
            &[
                "neomutt",
                "-n",
                "-F",
                d.join("muttrc").to_str().unwrap(),
                "-f",
                mailbox.to_str().unwrap(),
            ],
            (160, 50),
        );
        Neomutt { term, dir }
    }

    pub fn keys(&self, keys: &[&str]) {
        self.term.keys(keys);
    }

    /// Waits until the screen contains every one of `texts`.
    pub fn wait_for(&self, texts: &[&str], timeout: Duration) -> String {
        self.term
            .wait_for(&format!("{texts:?} on neomutt's screen"), timeout, |s| {
                texts.iter().all(|t| s.contains(t))
            })
    }

    /// Waits until neomutt has handed a message to `sendmail`; returns it.
    pub fn wait_sent(&self, timeout: Duration) -> Sent {
        let (argv, sent) = (
            self.dir.path().join("argv"),
            self.dir.path().join("sent.eml"),
        );
        self.term
            .wait_for("neomutt to hand the message to sendmail", timeout, |_| {
                sent.exists()
            });
        let argv = std::fs::read_to_string(&argv)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        Sent {
            argv,
            message: std::fs::read(&sent).unwrap(),
        }
    }
}
