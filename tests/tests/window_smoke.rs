//! The window over WebDriver: a list created with `conclave-cli` appears in
//! the app's window. Runs the built app through `tauri-driver`, which starts
//! WebKitWebDriver, which starts the app. Needs a display (`xvfb-run`), the
//! built app and CLI, `tauri-driver` and `WebKitWebDriver`: scripts/test.sh
//! provides all of them.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use rig::Rig;
use rig::owner::Owner;

const RUN_TESTS: &str = "run the tests with scripts/test.sh, which builds and installs it";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A binary built by this workspace, or a panic that says how to get it.
fn built(name: &str) -> PathBuf {
    let p = target_dir().join("debug").join(name);
    assert!(p.exists(), "{} is missing: {RUN_TESTS}", p.display());
    p
}

/// A program on PATH (or in cargo's bin folder), or a panic that says how to
/// get it.
fn program(name: &str, env_override: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_override).map(PathBuf::from) {
        assert!(
            p.is_file(),
            "{env_override}={} is not a file: {RUN_TESTS}",
            p.display()
        );
        return p;
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin"));
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: {RUN_TESTS}"))
}

/// Two distinct ports nobody listens on (both held until chosen).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// tauri-driver, ended when the test ends, pass or fail.
struct Driver {
    child: Child,
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let mut log = String::new();
            let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut log));
            eprintln!("--- tauri-driver, WebKitWebDriver and app output:\n{log}");
        }
    }
}

/// Whether the driver answers GET /status with 200.
fn status_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let n = stream.read(&mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200")
}

/// One row of the lists table, as the window shows it.
#[derive(Debug)]
struct Row {
    name: String,
    address: String,
    state: String,
}

async fn rows(client: &Client) -> Result<Vec<Row>, CmdError> {
    let mut rows = Vec::new();
    for row in client
        .find_all(Locator::Css("[data-testid=list-row]"))
        .await?
    {
        let cell = async |id: &str| {
            row.find(Locator::Css(&format!("[data-testid={id}]")))
                .await?
                .text()
                .await
        };
        rows.push(Row {
            name: cell("list-name").await?,
            address: cell("list-address").await?,
            state: cell("list-state").await?,
        });
    }
    Ok(rows)
}

/// The built app on the data folder `data`, started by tauri-driver, and a
/// WebDriver session with its window. Keep the driver until the session is
/// closed: dropping it ends tauri-driver (and prints its log on a panic).
/// `scratch` takes the driver's log and the app's XDG folders.
async fn open_window(data: &Path, scratch: &Path) -> (Driver, Client) {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the window test needs a display: {RUN_TESTS} (it runs them under xvfb-run)"
    );
    let app = built("conclave");
    let tauri_driver = program("tauri-driver", "TAURI_DRIVER");
    let webkit_driver = program("WebKitWebDriver", "WEBKIT_WEBDRIVER");
    let (port, native_port) = free_ports();
    let log = scratch.join("driver.log");
    let log_file = File::create(&log).unwrap();
    // tauri-driver passes its environment on to WebKitWebDriver and so to
    // the app: the app sees this data folder and nothing of the user's.
    let child = Command::new(&tauri_driver)
        .arg("--port")
        .arg(port.to_string())
        .arg("--native-port")
        .arg(native_port.to_string())
        .arg("--native-driver")
        .arg(&webkit_driver)
        .env("CONCLAVE_DATA_DIR", data)
        .env("XDG_DATA_HOME", scratch.join("xdg"))
        .env("XDG_CACHE_HOME", scratch.join("cache"))
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", tauri_driver.display()));
    let driver = Driver { child, log };

    let started = Instant::now();
    while !status_ok(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "tauri-driver did not answer /status within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.to_string_lossy() }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with the app");

    (driver, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_created_with_the_cli_appears_in_the_window() {
    let cli = built("conclave-cli");

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let xdg = tmp.path().join("xdg");

    let out = Command::new(&cli)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "list",
            "create",
            "smoke@conclave.test",
            "--name",
            "Smoke Test",
        ])
        .env("XDG_DATA_HOME", &xdg)
        .output()
        .expect("conclave-cli runs");
    assert!(
        out.status.success(),
        "conclave-cli list create failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_driver, client) = open_window(&data, tmp.path()).await;

    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-row]"))
            .await
            .map_err(|e| format!("no list row appeared in the window: {e}"))?;
        let title = client.find(Locator::Css("[data-testid=app-title]")).await?;
        let title = title.text().await?;
        let before = rows(&client).await?;
        // Pausing from the window reaches the store.
        client
            .find(Locator::Css("[data-testid=list-toggle]"))
            .await?
            .click()
            .await?;
        let started = Instant::now();
        let mut after = rows(&client).await?;
        while after.first().is_none_or(|r| !r.state.contains("Paused"))
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = rows(&client).await?;
        }
        Ok::<_, Box<dyn std::error::Error>>((title, before, after))
    }
    .await;
    // End the session (and with it the app) before judging.
    let _ = client.close().await;

    let (title, before, after) = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(title, "Conclave");
    assert_eq!(
        before.len(),
        1,
        "one list in the store, one row in the window: {before:?}"
    );
    assert_eq!(before[0].name, "Smoke Test");
    assert_eq!(before[0].address, "smoke@conclave.test");
    assert!(
        before[0].state.contains("No account yet"),
        "a new list has no mail account yet, the window said {:?}",
        before[0].state
    );
    assert!(
        after.first().is_some_and(|r| r.state.contains("Paused")),
        "after a click on Pause the row should say Paused: {after:?}"
    );
    let shown = Command::new(&cli)
        .arg("--data-dir")
        .arg(&data)
        .args(["list", "show", "smoke@conclave.test"])
        .output()
        .expect("conclave-cli runs");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("state: paused"),
        "the CLI should see the list paused from the window:\n{shown}"
    );
}

/// Waits up to `secs` for `ok` to hold of the elements matching `css`.
async fn wait_for_all(
    client: &Client,
    css: &str,
    secs: u64,
    ok: impl Fn(&[Element]) -> bool,
) -> Result<Vec<Element>, String> {
    let started = Instant::now();
    loop {
        let found = client
            .find_all(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        if ok(&found) {
            return Ok(found);
        }
        if started.elapsed() > Duration::from_secs(secs) {
            return Err(format!("{css}: {} found, not as expected after {secs} s", found.len()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With CONCLAVE_SCREENSHOTS=DIR, saves what the window shows as DIR/NAME.png.
async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("CONCLAVE_SCREENSHOTS") {
        // Let the last change be painted first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let png = client.screenshot().await.expect("a screenshot");
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).expect("screenshot saved");
    }
}

/// Needs the mail rig (CONCLAVE_RIG_DIR, scripts/test.sh) besides the window.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_post_approved_in_the_window_reaches_the_members() {
    let rig = Rig::get();
    let (alice, eve) = (rig.unique("alice"), rig.unique("eve"));
    let owner = Owner::new("list-window", &[&alice]);
    // A non-member's post, and a bounce, which can only be discarded.
    let post = rig::post(&eve, &owner.list, "let me in", "hi\r\n");
    rig.submit(&eve, Some(&eve), &[&owner.list], &post);
    let bounce = rig::post(&format!("MAILER-DAEMON@{}", rig.domain), &owner.list, "Undelivered Mail", "gone\r\n");
    rig.submit(&alice, None, &[&owner.list], &bounce);
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("2 held") && out.contains("0 sent"), "{out}");

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;

    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=held-open]"))
            .await
            .map_err(|e| format!("no held-posts button in the list row: {e}"))?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=held-panel]"))
            .await
            .map_err(|e| format!("the held panel did not open: {e}"))?;
        let rows = wait_for_all(&client, "[data-testid=held-row]", 10, |r| r.len() == 2).await?;
        screenshot(&client, "held-panel").await;
        let (mut approvable, mut bounce) = (None, None);
        for row in rows {
            let subject = row.find(Locator::Css("[data-testid=held-subject]")).await?.text().await?;
            let approve = row.find(Locator::Css("[data-testid=held-approve]")).await?;
            let enabled = approve.is_enabled().await?;
            match subject.as_str() {
                "let me in" => approvable = Some((enabled, approve)),
                "Undelivered Mail" => bounce = Some((enabled, row)),
                other => return Err(format!("an unexpected held post {other:?}").into()),
            }
        }
        let (enabled, approve) = approvable.ok_or("the non-member's post is not listed")?;
        assert!(enabled, "the non-member's post should be approvable");
        let (enabled, bounce) = bounce.ok_or("the bounce is not listed")?;
        assert!(!enabled, "a bounce's Approve should be disabled");

        approve.click().await?;
        let members = alice.clone();
        let got = tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&members, "INBOX", 1, Duration::from_secs(60))
        })
        .await?;
        wait_for_all(&client, "[data-testid=held-row]", 10, |r| r.len() == 1).await?;

        bounce.find(Locator::Css("[data-testid=held-discard]")).await?.click().await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=held-empty]"))
            .await
            .map_err(|e| format!("the panel did not say that nothing is held: {e}"))?;
        wait_for_all(&client, "[data-testid=held-open]", 10, |b| b.is_empty()).await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(got)
    }
    .await;
    let _ = client.close().await;

    let got = result.unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&got[0]);
    assert!(text.contains("Subject: [Test List] let me in"), "{text}");
    let held = owner.json(&["held", "list", &owner.list, "--json"]);
    assert!(held.as_array().unwrap().is_empty(), "{held}");
}
