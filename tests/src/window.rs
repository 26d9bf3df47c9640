//! The app's window over WebDriver: the built app started by `tauri-driver`
//! (which starts WebKitWebDriver, which starts the app) on a data folder of
//! the test's own, and helpers to wait for what it shows. Needs a display
//! (`xvfb-run`), the built app and CLI, `tauri-driver` and
//! `WebKitWebDriver`: scripts/test.sh provides all of them.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

pub const RUN_TESTS: &str = "run the tests with scripts/test.sh, which builds and installs it";

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A binary built by this workspace, or a panic that says how to get it.
/// With CONCLAVE_BIN_DIR set, the one in that folder instead: the installed
/// package's (`/usr/bin`, scripts/test-packages.sh).
pub fn built(name: &str) -> PathBuf {
    let dir = std::env::var_os("CONCLAVE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug"));
    let p = dir.join(name);
    assert!(p.exists(), "{} is missing: {RUN_TESTS}", p.display());
    p
}

/// A program on PATH (or in cargo's bin folder), or a panic that says how to
/// get it.
pub fn program(name: &str, env_override: &str) -> PathBuf {
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
pub struct Driver {
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

/// The built app on the data folder `data`, started by tauri-driver, and a
/// WebDriver session with its window. Keep the driver until the session is
/// closed: dropping it ends tauri-driver (and prints its log on a panic).
/// `scratch` takes the driver's log and the app's XDG and temporary folders.
pub async fn open_window(data: &Path, scratch: &Path) -> (Driver, Client) {
    open_window_with_args(data, scratch, &[]).await
}

/// [`open_window`] with the app started with `args` (`--demo`).
pub async fn open_window_with_args(data: &Path, scratch: &Path, args: &[&str]) -> (Driver, Client) {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the window test needs a display: {RUN_TESTS} (it runs them under xvfb-run)"
    );
    let app = built("conclave");
    let tauri_driver = program("tauri-driver", "TAURI_DRIVER");
    let webkit_driver = program("WebKitWebDriver", "WEBKIT_WEBDRIVER");
    let (port, native_port) = free_ports();
    let log = scratch.join("driver.log");
    std::fs::create_dir_all(scratch.join("home")).unwrap();
    std::fs::create_dir_all(scratch.join("tmp")).unwrap();
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
        // A home of its own: the app writes login items there, never into
        // the home of whoever runs the tests.
        .env("HOME", scratch.join("home"))
        .env("XDG_DATA_HOME", scratch.join("xdg"))
        .env("XDG_CACHE_HOME", scratch.join("cache"))
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        // Temporary files too (the demo's data folder among them), so a
        // test sees what the app leaves there.
        .env("TMPDIR", scratch.join("tmp"))
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
        serde_json::json!({ "application": app.to_string_lossy(), "args": args }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with the app");

    (driver, client)
}

/// Runs the built `conclave-cli` on the data folder `data`, as the owner
/// would beside the window; expects success and returns what it printed.
pub fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::new(built("conclave-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("conclave-cli runs");
    assert!(
        out.status.success(),
        "conclave-cli {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits up to `secs` for `ok` to hold of the elements matching `css`.
pub async fn wait_for_all(
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
            return Err(format!(
                "{css}: {} found, not as expected after {secs} s",
                found.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With CONCLAVE_SCREENSHOTS=DIR, saves what the window shows as DIR/NAME.png.
pub async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("CONCLAVE_SCREENSHOTS") {
        // Let the last change be painted first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let png = client.screenshot().await.expect("a screenshot");
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).expect("screenshot saved");
    }
}

/// Answers the system's "Save…" dialog titled `title` (GTK, on the test's
/// X display) with the file `path`, as an owner typing it would: xdotool
/// finds the dialog, types the path into its name field and presses
/// Enter. The dialog must be opening or open.
pub fn answer_save_dialog(title: &str, path: &Path) -> Result<(), String> {
    let xdotool = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("xdotool")
            .args(args)
            .output()
            .map_err(|e| format!("xdotool: {e} (install it: scripts/install-deps.sh test)"))?;
        if !out.status.success() {
            return Err(format!(
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let started = Instant::now();
    let window = loop {
        if let Ok(found) = xdotool(&["search", "--onlyvisible", "--name", title])
            && let Some(id) = found.lines().next()
        {
            break id.trim().to_string();
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("no dialog \"{title}\" opened within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The name field has the focus and its suggestion selected; a path
    // typed there is taken whole.
    std::thread::sleep(Duration::from_millis(500));
    xdotool(&["windowfocus", "--sync", &window])?;
    xdotool(&["key", "ctrl+a"])?;
    xdotool(&["type", "--delay", "20", &path.to_string_lossy()])?;
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["key", "Return"])?;
    Ok(())
}
