//! The demo over WebDriver, without the mail rig: `conclave --demo` shows a
//! list whose members post (the activity log fills with posts sent on), a
//! post held for the owner and a member marked bouncing, within 30 seconds,
//! everything marked as a demo; closing its window ends it, and nothing of
//! it is left: no data folder, no keychain item, nothing in the XDG folders
//! that the app's ordinary run would not leave too. The "Try a demo list"
//! button of a first start starts the demo beside the app, and a demo told
//! to end (Ctrl-C, the session ending) cleans up as well.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use rig::window::{open_window, open_window_with_args, screenshot, wait_for_all};

/// The demo's list, as the engine makes it.
const DEMO_LIST: &str = "demo-list@example.org";
/// Where the demo's data folders are made: `TMPDIR` of the app.
const FOLDER_PREFIX: &str = "conclave-demo-";

/// Every file and folder under `root`, relative to it.
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// Where a run of the app left something in the folders it was given
/// (home, XDG, temporary): each folder's entries, relative to `scratch`
/// (`xdg/conclave`, `cache/mesa_shader_cache`), the driver's log aside.
/// What is inside them is left out: the graphics driver's shader cache
/// and the web view's storage are named by what was drawn, and an
/// ordinary run leaves them as well.
fn left_behind(scratch: &Path) -> BTreeSet<PathBuf> {
    ["home", "xdg", "cache", "config", "tmp"]
        .iter()
        .flat_map(|d| {
            tree(&scratch.join(d))
                .into_iter()
                .filter(|p| p.components().count() == 1)
                .map(move |p| Path::new(d).join(p))
        })
        .collect()
}

/// The demo folders in the app's temporary folder.
fn demo_folders(scratch: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(scratch.join("tmp"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(FOLDER_PREFIX))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// The running `conclave --demo` processes started from this test (found
/// by the temporary folder they were given).
fn demo_processes(scratch: &Path) -> Vec<u32> {
    let tmpdir = format!("TMPDIR={}", scratch.join("tmp").display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_demo = args.first()?.ends_with(b"conclave") && args.contains(&&b"--demo"[..]);
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            let ours = environ.split(|b| *b == 0).any(|v| v == tmpdir.as_bytes());
            // A process that ended but was not yet reaped has no command
            // line left: it is not running.
            (is_demo && ours).then_some(pid)
        })
        .collect()
}

/// Conclave's items in the test's keychain, as `secret-tool` lists them
/// (nothing when there are none). Other tests share the keychain: look for
/// the demo's own names in it.
fn keychain_items() -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "org.conclave.app"])
        .output()
        .expect("secret-tool runs (package libsecret-tools; scripts/test.sh installs it)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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

async fn click(client: &Client, testid: &str) -> Result<(), String> {
    client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await
        .map_err(|e| format!("{testid}: {e}"))?
        .click()
        .await
        .map_err(|e| format!("{testid}: {e}"))
}

async fn text(client: &Client, testid: &str) -> Result<String, String> {
    client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await
        .map_err(|e| format!("{testid}: {e}"))?
        .text()
        .await
        .map_err(|e| format!("{testid}: {e}"))
}

/// Texts of the elements matching `css`.
async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
        if let Ok(t) = e.text().await {
            out.push(t);
        }
    }
    out
}

/// Scrolls the first element with `testid` into view, for the screenshot.
async fn scroll_to(client: &Client, testid: &str) {
    let script = format!(
        "document.querySelector('[data-testid={testid}]')?.scrollIntoView({{block: 'center'}})"
    );
    let _ = client.execute(&script, vec![]).await;
}

/// What in the keychain would be the demo's: its list's secrets, or the
/// key of its database (`database/<id>`, the id read from the demo's
/// folder while it ran).
fn demo_in_keychain(database_ids: &[String]) -> Vec<String> {
    let items = keychain_items();
    std::iter::once(DEMO_LIST.to_string())
        .chain(database_ids.iter().map(|id| format!("database/{id}")))
        .filter(|name| items.contains(name.as_str()))
        .collect()
}

/// The id of the database in a data folder (not a secret; its key is).
fn database_id(data_dir: &Path) -> Result<String, String> {
    std::fs::read_to_string(data_dir.join("database-key-id"))
        .map(|id| id.trim().to_string())
        .map_err(|e| {
            format!(
                "the demo's folder {} has no database: {e}",
                data_dir.display()
            )
        })
}

/// Whether an X window titled `title` is shown (xdotool, on the test's
/// display).
fn window_titled(title: &str) -> bool {
    Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", title])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// What the demo showed, read while it ran.
struct Seen {
    data_dir: PathBuf,
    banner: String,
}

async fn watch_the_demo(client: &Client, started: Instant) -> Result<Seen, String> {
    wait_for_all(client, "[data-testid=demo-banner]", 30, |b| !b.is_empty()).await?;
    let banner = text(client, "demo-banner").await?;
    let data_dir = PathBuf::from(text(client, "data-dir").await?);
    wait_for_all(client, "[data-testid=list-row]", 30, |r| r.len() == 1).await?;
    let address = text(client, "list-address").await?;
    if address != DEMO_LIST {
        return Err(format!(
            "the demo list is {DEMO_LIST}, the window shows {address}"
        ));
    }
    if !window_titled("Conclave demo") {
        return Err("the window's title does not say it is a demo".into());
    }

    // Posts flow: the activity log fills with posts sent on to the members.
    click(client, "activity-open").await?;
    let deadline = started + Duration::from_secs(30);
    loop {
        let now = texts(client, "[data-testid=activity-kind]").await;
        let sent_on = now.iter().filter(|k| *k == "Sent on").count();
        let held = now.iter().filter(|k| *k == "Held").count();
        if sent_on >= 2 && held >= 1 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "within 30 s of the start the activity log should show two posts sent on and one held: {now:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let what = texts(client, "[data-testid=activity-what]").await;
    if !what.iter().any(|w| w.contains("mallory@example.com")) {
        return Err(format!("the held post is the stranger's: {what:?}"));
    }
    scroll_to(client, "activity-row").await;
    screenshot(client, "demo-activity").await;
    click(client, "activity-close").await?;

    // The held post is counted in the list's row.
    let held = text(client, "list-held").await?;
    if !held.contains('1') {
        return Err(format!(
            "the list's row should count one held post: {held:?}"
        ));
    }
    screenshot(client, "demo-overview").await;

    // The member whose server refuses every copy is marked bouncing.
    click(client, "members-open").await?;
    wait_for_all(client, "[data-testid=member-bouncing]", 10, |b| {
        b.len() == 1
    })
    .await
    .map_err(|e| format!("one member marked bouncing: {e}"))?;
    let rows = texts(client, "[data-testid=member-row]").await;
    if !rows
        .iter()
        .any(|r| r.contains("dave@example.net") && r.contains("Bouncing"))
    {
        return Err(format!(
            "dave@example.net should be marked bouncing: {rows:?}"
        ));
    }
    if started.elapsed() > Duration::from_secs(30) {
        return Err(format!(
            "posts, the held post and the bouncing member took {:?}, more than 30 s",
            started.elapsed()
        ));
    }
    scroll_to(client, "member-bouncing").await;
    screenshot(client, "demo-members").await;
    Ok(Seen { data_dir, banner })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shows_posts_a_held_post_and_a_bouncing_member_then_leaves_nothing() {
    // What an ordinary run of the app (no list) leaves in its folders.
    let plain = tempfile::tempdir().unwrap();
    {
        let (_driver, client) = open_window(&plain.path().join("data"), plain.path()).await;
        let shown = wait_for_all(&client, "[data-testid=wizard]", 30, |w| !w.is_empty()).await;
        let _ = client.close().await;
        shown.unwrap_or_else(|e| panic!("the app's first start shows the wizard: {e}"));
    }
    let ordinary = left_behind(plain.path());

    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let started = Instant::now();
    let (driver, client) = open_window_with_args(&data, scratch.path(), &["--demo"]).await;
    let seen = watch_the_demo(&client, started).await;
    let folder_while_running = seen.as_ref().ok().map(|s| {
        (
            s.data_dir.clone(),
            s.data_dir.is_dir(),
            database_id(&s.data_dir),
        )
    });
    // Closing the demo's window (as its close button does) ends the demo,
    // unlike the app's, which stays in the tray. The window goes with the
    // app, so the answer may never come.
    let closed = tokio::time::timeout(
        Duration::from_secs(5),
        client.execute(
            "return window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' })",
            vec![],
        ),
    )
    .await;
    let ended = wait_until("the demo to end after its window closed", 15, || {
        demo_processes(scratch.path()).is_empty()
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    drop(driver);

    let seen = seen.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        seen.banner
            .contains("nothing here is real and nothing is sent"),
        "{:?}",
        seen.banner
    );
    let (folder, was_there, id) = folder_while_running.unwrap();
    let id = id.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        was_there && folder.starts_with(scratch.path().join("tmp")),
        "the demo works in a temporary folder of its own, not {}",
        folder.display()
    );
    // The session loses its window as the app ends, so the request may
    // come back as an error; that the app ended is what counts.
    ended.unwrap_or_else(|e| panic!("{e} (closing the window answered {closed:?})"));

    assert!(!folder.exists(), "{} is left", folder.display());
    assert_eq!(demo_folders(scratch.path()), Vec::<PathBuf>::new());
    assert!(
        !data.exists(),
        "the demo never touches the owner's data folder"
    );
    assert_eq!(
        demo_in_keychain(&[id]),
        Vec::<String>::new(),
        "the demo keeps nothing in the keychain"
    );
    let demo_left = left_behind(scratch.path());
    let extra: Vec<_> = demo_left.difference(&ordinary).collect();
    assert!(
        extra.is_empty(),
        "the demo left what an ordinary run does not: {extra:?} (an ordinary run left {ordinary:?})"
    );
}

/// Ends the demo processes a failed test left, by their pid.
struct EndDemos(PathBuf);

impl Drop for EndDemos {
    fn drop(&mut self) {
        for pid in demo_processes(&self.0) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_start_offers_the_demo_which_ends_cleanly_when_told_to() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let _end = EndDemos(scratch.path().to_path_buf());
    let (_driver, client) = open_window(&data, scratch.path()).await;
    let mut ids = Vec::new();
    let result = async {
        wait_for_all(&client, "[data-testid=try-demo]", 30, |b| b.len() == 1).await?;
        screenshot(&client, "demo-first-start").await;
        click(&client, "try-demo").await?;
        wait_for_all(&client, "[data-testid=try-demo-note]", 10, |_| true).await?;
        let note = text(&client, "try-demo-note").await?;
        wait_until("the demo to start beside the app", 20, || {
            demo_processes(scratch.path()).len() == 1 && demo_folders(scratch.path()).len() == 1
        })
        .await?;
        wait_until("the demo's window", 20, || window_titled("Conclave demo")).await?;
        wait_until("the demo's database", 20, || {
            demo_folders(scratch.path())
                .iter()
                .all(|f| database_id(f).is_ok())
        })
        .await?;
        for folder in demo_folders(scratch.path()) {
            ids.push(database_id(&folder)?);
        }
        screenshot(&client, "demo-started-from-the-app").await;
        Ok::<_, String>(note)
    }
    .await;
    let demos = demo_processes(scratch.path());
    let folders = demo_folders(scratch.path());
    // Told to end, as Ctrl-C or the session's end would.
    for pid in &demos {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let ended = wait_until("the demo to end when told to", 15, || {
        demo_processes(scratch.path()).is_empty()
    })
    .await;
    // The app that started the demo goes on, and its first screen offers
    // the demo too once the wizard is left.
    let app_still_there = async {
        click(&client, "wizard-cancel").await?;
        wait_for_all(
            &client,
            "[data-testid=empty-state] [data-testid=try-demo]",
            10,
            |b| b.len() == 1,
        )
        .await?;
        screenshot(&client, "demo-empty-state").await;
        Ok::<_, String>(())
    }
    .await;
    let _ = client.close().await;

    let note = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(note.contains("window of its own"), "{note:?}");
    ended.unwrap_or_else(|e| panic!("{e}"));
    for f in &folders {
        assert!(!f.exists(), "{} is left", f.display());
    }
    app_still_there.unwrap_or_else(|e| panic!("the app that started the demo goes on: {e}"));
    assert_eq!(
        demo_in_keychain(&ids),
        Vec::<String>::new(),
        "the demo keeps nothing in the keychain"
    );
}
