//! The app as a tray agent, over WebDriver against the mail rig: closing the
//! window turns the app into the light tray process (`conclave-tray`) and
//! the list keeps running (a post sent afterwards still reaches the
//! members); starting the app again on the same data folder brings the
//! window back in that process, with one agent throughout; starting at
//! login can be turned on and off from the window. The desktop
//! notifications the app raises are read off the session bus.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conclave_engine::desktop::resident::{self, Holder};
use fantoccini::{Client, Locator};
use rig::Rig;
use rig::owner::Owner;
use rig::window::{built, open_window, screenshot};

/// The login entries in the `autostart` folder of the config folder
/// `config`, with their contents.
fn login_items(config: &Path) -> Vec<String> {
    let dir = config.join("autostart");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The app process whose data folder is `data` (from its environment).
fn app_process(data: &Path) -> Option<u32> {
    process_named("conclave", data)
}

/// The light tray process whose data folder is `data`.
fn tray_process(data: &Path) -> Option<u32> {
    process_named("conclave-tray", data)
}

/// The CPU time `pid` has taken, user and system, in clock ticks
/// (/proc/PID/stat: utime and stime, of all its threads).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in parentheses may hold spaces: count fields after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let at = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(at(11)? + at(12)?)
}

/// The process running `name` whose data folder is `data`.
fn process_named(name: &str, data: &Path) -> Option<u32> {
    let wanted = format!("CONCLAVE_DATA_DIR={}", data.display());
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let env = std::fs::read(entry.path().join("environ")).ok()?;
            (comm.trim() == name && env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
                .then_some(pid)
        })
}

/// `pid` and the processes under it: each one's name and resident memory
/// (kB).
fn process_tree(pid: u32) -> Vec<(String, u64)> {
    let read = |p: u32, file: &str| std::fs::read_to_string(format!("/proc/{p}/{file}")).ok();
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Some(status) = read(p, "status") else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let kb = field("VmRSS:")
            .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0);
        out.push((field("Name:").unwrap_or_default(), kb));
        for task in std::fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Some(children) = read(
                p,
                &format!("task/{}/children", task.file_name().to_string_lossy()),
            ) {
                todo.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    out
}

async fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let started = Instant::now();
    while !ok() {
        if started.elapsed() > Duration::from_secs(secs) {
            return Err(format!("waited {secs} s for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Watches the session bus for the notifications the app asks for. No
/// notification server runs in the tests' private session, so each call is
/// refused by the bus, but the monitor sees it go by.
struct Notifications {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Notifications {
    async fn watch(scratch: &Path) -> Notifications {
        let log = scratch.join("notifications.log");
        let child = Command::new("dbus-monitor")
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor runs (package dbus-bin)");
        // Let it subscribe before anything is sent.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Notifications { child, log }
    }

    fn seen(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_for(&self, text: &str) -> Result<(), String> {
        wait_until(&format!("a notification saying {text:?}"), 30, || {
            self.seen().contains(text)
        })
        .await
        .map_err(|e| format!("{e}; the bus saw:\n{}", self.seen()))
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn click(client: &Client, testid: &str) -> Result<(), Box<dyn std::error::Error>> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(
            "[data-testid={testid}]:not([disabled])"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_window_leaves_the_list_running() {
    let rig = Rig::get();
    let (alice, bob, eve) = (rig.unique("alice"), rig.unique("bob"), rig.unique("eve"));
    // The rig answers 550 for this one: the members screen says bouncing.
    let gone = rig.unique("refuse-gone");
    let owner = Owner::new("list-tray", &[&alice, &bob, &gone]);
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    // open_window points XDG_CONFIG_HOME here: the login entry goes there,
    // not into ~/.config.
    let config = scratch.path().join("config");
    let notifications = Notifications::watch(scratch.path()).await;
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;

    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-row]"))
            .await?;

        // Start at login: on writes a login entry that starts the app in
        // the tray; off removes it.
        click(&client, "start-at-login").await?;
        wait_until("the login entry", 10, || {
            login_items(&config).iter().any(|d| d.contains("--in-tray"))
        })
        .await?;
        let entry = login_items(&config).join("\n");
        assert!(
            login_items(&home.join(".config")).is_empty(),
            "nothing in ~/.config/autostart while XDG_CONFIG_HOME is set"
        );
        let validated = Command::new("desktop-file-validate")
            .arg(config.join("autostart/Conclave.desktop"))
            .output()
            .expect("desktop-file-validate runs (package desktop-file-utils)");
        assert!(
            validated.status.success(),
            "the login entry is not a valid desktop entry: {}{entry}",
            String::from_utf8_lossy(&validated.stdout)
        );
        assert!(
            entry.contains(std::fs::canonicalize(built("conclave"))?.to_str().unwrap()),
            "the login entry starts this app: {entry}"
        );
        screenshot(&client, "lists").await;
        click(&client, "start-at-login").await?;
        wait_until("the login entry to go", 10, || login_items(&config).is_empty()).await?;

        // A post goes out; the member whose server refused the copy shows
        // as bouncing.
        let post = rig::post(&alice, &owner.list, "while the window is open", "hello\r\n");
        rig.submit(&alice, Some(&alice), &[&owner.list], &post);
        let to = bob.clone();
        tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&to, "INBOX", 1, Duration::from_secs(60))
        })
        .await?;
        click(&client, "members-open").await?;
        let badge = client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&format!("[data-testid=member-row][data-email='{gone}'] [data-testid=member-bouncing]")))
            .await?;
        assert_eq!(badge.text().await?, "Bouncing");
        let why = badge.attr("title").await?.unwrap_or_default();
        assert!(why.contains("550"), "the server's answer is given: {why}");
        let fine = client
            .find_all(Locator::Css(&format!("[data-testid=member-row][data-email='{bob}'] [data-testid=member-bouncing]")))
            .await?;
        assert!(fine.is_empty(), "a member who got the copy is not bouncing");
        screenshot(&client, "members-bouncing").await;

        // What the window manager's close button does: ask the window to
        // close (WebDriver's own Close Window would end the app with the
        // session). The app stops its agent and becomes the light tray
        // (`conclave-tray`, no WebKit, no Tauri) in the same process; its
        // web view's processes end with the old program.
        let app = app_process(owner.data.path()).ok_or("the app's process")?;
        let open = process_tree(app);
        // The page goes before the script can answer: no answer is taken.
        let _ = client
            .execute(
                "return window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' })",
                vec![],
            )
            .await;
        wait_until("the app to become the light tray, alone", 30, || {
            let tree = process_tree(app);
            tree.len() == 1 && tree[0].0 == "conclave-tray"
        })
        .await
        .map_err(|e| format!("{e}: {:?}", process_tree(app)))?;
        wait_until("the light tray to hold the data folder", 20, || {
            resident::holder(owner.data.path()) == Some((Holder::Tray, app))
        })
        .await?;
        notifications.wait_for("Conclave is still running").await?;

        let post = rig::post(&alice, &owner.list, "after the window closed", "still here?\r\n");
        rig.submit(&alice, Some(&alice), &[&owner.list], &post);
        let to = bob.clone();
        let got = tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&to, "INBOX", 2, Duration::from_secs(60))
        })
        .await?;
        assert!(
            got.iter()
                .any(|m| String::from_utf8_lossy(m).contains("after the window closed")),
            "the light tray's agent sends on with the window closed"
        );

        // A post held for the owner is told on the desktop, by the tray.
        let held = rig::post(&eve, &owner.list, "from outside", "hello\r\n");
        rig.submit(&eve, Some(&eve), &[&owner.list], &held);
        notifications.wait_for("Test List: a post is held for you").await?;

        // The tray's weight: resident memory of the whole process tree
        // (one process), and the CPU it takes in a minute with nothing to
        // do (its agent waits in IMAP IDLE).
        let tray = process_tree(app);
        let ticks_before = cpu_ticks(app).ok_or("the tray's CPU time")?;
        tokio::time::sleep(Duration::from_secs(60)).await;
        let ticks = cpu_ticks(app).ok_or("the tray's CPU time")? - ticks_before;
        let mb = |tree: &[(String, u64)]| tree.iter().map(|(_, kb)| kb).sum::<u64>() / 1024;
        eprintln!(
            "memory of Conclave's processes ({}): {} MB with the window open ({open:?}), {} MB in the light tray ({tray:?}); CPU ticks of the tray in a minute idle: {ticks}",
            built("conclave-tray").display(),
            mb(&open),
            mb(&tray)
        );
        // Far above what the light tray takes (about 50 MB, debug), far
        // below what the app kept in the tray before it (259 MB).
        assert!(
            mb(&tray) < 150,
            "the light tray holds {} MB: {tray:?}",
            mb(&tray)
        );

        // A start of the app while the light tray runs asks the tray to
        // open the window and ends; the tray stops its agent and becomes
        // the app again, in the same process.
        let mut second = Command::new(built("conclave"))
            .env("CONCLAVE_DATA_DIR", owner.data.path())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", scratch.path().join("xdg2"))
            .env("XDG_CACHE_HOME", scratch.path().join("cache2"))
            .env("XDG_CONFIG_HOME", scratch.path().join("config2"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = second.try_wait()? {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = second.kill();
                return Err("a start while the light tray runs kept running".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(status.success(), "the second start should end quietly: {status}");
        wait_until("the window again, in the tray's process", 30, || {
            let tree = process_tree(app);
            tree.first().is_some_and(|(name, _)| name == "conclave")
                && tree.iter().any(|(name, _)| name.starts_with("WebKitWebProces"))
        })
        .await
        .map_err(|e| format!("{e}: {:?}", process_tree(app)))?;
        let shown = Command::new("xdotool")
            .args(["search", "--sync", "--onlyvisible", "--pid"])
            .arg(app.to_string())
            .output()?;
        if String::from_utf8_lossy(&shown.stdout).trim().is_empty() {
            return Err("the app shows no window after the second start".into());
        }
        // One agent, the window's: it holds the data folder, and a post
        // now reaches bob once (a second agent would race for it).
        wait_until("the window's agent to hold the data folder", 20, || {
            resident::holder(owner.data.path()) == Some((Holder::Window, app))
        })
        .await?;
        let post = rig::post(&alice, &owner.list, "back in the window", "once\r\n");
        rig.submit(&alice, Some(&alice), &[&owner.list], &post);
        let to = bob.clone();
        tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&to, "INBOX", 3, Duration::from_secs(60))
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let copies = rig
            .messages(&bob, "INBOX")
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains("back in the window"))
            .count();
        assert_eq!(copies, 1, "one copy of the post, from one agent");
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = client.close().await;
    // The process left the driver's hands when it became the tray: end it
    // here, whatever it is now.
    if let Some(pid) = app_process(owner.data.path()).or_else(|| tray_process(owner.data.path())) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    result.unwrap_or_else(|e| panic!("{e}"));
}

/// A list whose server cannot be reached shows as offline, with the reason,
/// while the agent keeps trying (here: a port on this machine where nothing
/// listens).
#[tokio::test(flavor = "multi_thread")]
async fn a_list_whose_server_is_out_of_reach_shows_offline() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-away"),
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    owner.ok(&["list", "create", &owner.list, "--name", "Away"]);
    owner.ok(&[
        "list",
        "account",
        &owner.list,
        "--imap-host",
        "127.0.0.1",
        "--imap-port",
        &closed,
        "--imap-tls",
        "none",
        "--imap-user",
        "away",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &closed,
        "--smtp-tls",
        "none",
        "--smtp-user",
        "away",
        "--no-check",
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result = async {
        let state = client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-state][data-state=offline]"))
            .await?
            .text()
            .await?;
        let why = client
            .find(Locator::Css("[data-testid=list-error]"))
            .await?
            .text()
            .await?;
        screenshot(&client, "lists-offline").await;
        Ok::<_, Box<dyn std::error::Error>>((state, why))
    }
    .await;
    let _ = client.close().await;
    let (state, why) = result.unwrap_or_else(|e| panic!("the list never showed as offline: {e}"));
    assert_eq!(state, "Offline, retrying");
    assert!(
        why.contains("cannot be reached") && why.contains(&closed),
        "{why}"
    );
}
