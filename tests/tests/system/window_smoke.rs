//! The window over WebDriver: a list created with `conclave-cli` appears in
//! the app's window. Runs the built app through `tauri-driver`, which starts
//! WebKitWebDriver, which starts the app. Needs a display (`xvfb-run`), the
//! built app and CLI, `tauri-driver` and `WebKitWebDriver`: scripts/test.sh
//! provides all of them.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use rig::Rig;
use rig::owner::Owner;
use rig::window::{built, open_window, screenshot, wait_for_all};

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

/// Needs the mail rig (CONCLAVE_RIG_DIR, scripts/test.sh) besides the window.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_post_approved_in_the_window_reaches_the_members() {
    let rig = Rig::get();
    let (alice, eve) = (rig.unique("alice"), rig.unique("eve"));
    let owner = Owner::new("list-window", &[&alice]);
    // A non-member's post, and a bounce, which can only be discarded.
    let post = rig::post(&eve, &owner.list, "let me in", "hi\r\n");
    rig.submit(&eve, Some(&eve), &[&owner.list], &post);
    let bounce = rig::post(
        &format!("MAILER-DAEMON@{}", rig.domain),
        &owner.list,
        "Undelivered Mail",
        "gone\r\n",
    );
    rig.deliver(None, &[&owner.list], &bounce);
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
            let subject = row
                .find(Locator::Css("[data-testid=held-subject]"))
                .await?
                .text()
                .await?;
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

        bounce
            .find(Locator::Css("[data-testid=held-discard]"))
            .await?
            .click()
            .await?;
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

/// The text of the element with this data-testid, once it says `want`.
async fn wait_text(client: &Client, testid: &str, want: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let shown = match client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
        {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if shown.trim() == want {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err(format!("{testid} says {shown:?}, not {want:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The window starts in the system's language (English on the test
/// machine), speaks German once German is chosen in its top bar, counts in
/// German, keeps the choice when the page is loaded again and when the app
/// starts again, and goes back. Needs the mail rig (CONCLAVE_RIG_DIR,
/// scripts/test.sh) besides the window.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_speaks_the_language_chosen_in_it() {
    let rig = Rig::get();
    let (alice, bob, eve) = (rig.unique("alice"), rig.unique("bob"), rig.unique("eve"));
    let owner = Owner::new("list-german", &[&alice, &bob]);
    let post = rig::post(&eve, &owner.list, "Treffen am Montag", "hallo\r\n");
    rig.submit(&eve, Some(&eve), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(out.contains("1 held"), "{out}");

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;

    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-row]"))
            .await?;
        wait_text(&client, "new-list", "New list").await?;

        client
            .find(Locator::Css("[data-testid=language]"))
            .await?
            .select_by_value("de")
            .await?;
        wait_text(&client, "new-list", "Neue Liste").await?;
        wait_text(&client, "check-now", "Jetzt prüfen").await?;
        let members = client
            .find(Locator::Css("[data-testid=members-open]"))
            .await?
            .attr("aria-label")
            .await?
            .unwrap_or_default();
        assert!(
            members.starts_with("2 Mitglieder von Test List"),
            "the members button in German: {members:?}"
        );
        let held = client
            .find(Locator::Css("[data-testid=held-open]"))
            .await?
            .text()
            .await?;
        assert_eq!(held.trim(), "1 zurückgehalten");
        let lang = client
            .execute("return document.documentElement.lang", vec![])
            .await?;
        assert_eq!(lang, serde_json::json!("de"));

        // The choice outlives the page.
        client.refresh().await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-row]"))
            .await?;
        wait_text(&client, "new-list", "Neue Liste").await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    // Quit the app: its next start reads the choice from the webview's
    // storage in the same (test) home.
    let _ = client.close().await;
    drop(_driver);
    result.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;

    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-row]"))
            .await?;
        wait_text(&client, "new-list", "Neue Liste").await?;

        client
            .find(Locator::Css("[data-testid=members-open]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=member-row]"))
            .await?;
        let heading = client
            .find(Locator::Css("#members-title"))
            .await?
            .text()
            .await?;
        assert_eq!(heading, "Mitglieder von Test List");
        screenshot(&client, "window-german").await;

        client
            .find(Locator::Css("[data-testid=language]"))
            .await?
            .select_by_value("en")
            .await?;
        wait_text(&client, "new-list", "New list").await?;
        let heading = client
            .find(Locator::Css("#members-title"))
            .await?
            .text()
            .await?;
        assert_eq!(heading, "Members of Test List");
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap_or_else(|e| panic!("{e}"));
}
