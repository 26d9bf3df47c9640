//! The activity and list key screens over WebDriver.
//!
//! Activity: on a list bound to the mail rig, a member's post and a
//! non-member's post are processed by `conclave-cli run --once`; the
//! window's activity shows the delivery and the hold with their reasons,
//! newest first, and the filter and the search narrow it.
//!
//! Key: an OpenPGP list key made by real gpg (expiring in 20 days) is
//! imported with the CLI; the window shows the fingerprint the CLI shows,
//! the text it offers for export imports into gpg with that fingerprint, and
//! Renew moves the expiry later (as the CLI then sees it). A list without a
//! key says how to make one.
//!
//! Needs the rig (CONCLAVE_RIG_DIR), a keychain and a display: run under
//! tests/with-keychain.sh and xvfb-run, as scripts/test.sh does.

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use rig::Rig;
use rig::gpg::Gpg;
use rig::owner::Owner;
use rig::window::{open_window, screenshot, wait_for_all};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One activity row as the window shows it.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    group: String,
    what: String,
    reason: String,
}

async fn activity_rows(client: &Client) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for row in client
        .find_all(Locator::Css("[data-testid=activity-row]"))
        .await?
    {
        let cell = async |id: &str| -> Result<String, Error> {
            Ok(row
                .find(Locator::Css(&format!("[data-testid={id}]")))
                .await?
                .text()
                .await?)
        };
        rows.push(Row {
            id: row.attr("data-id").await?.unwrap_or_default().parse()?,
            group: row.attr("data-group").await?.unwrap_or_default(),
            what: cell("activity-what").await?,
            reason: cell("activity-reason").await?,
        });
    }
    Ok(rows)
}

/// Waits until the activity rows satisfy `ok`.
async fn wait_rows(
    client: &Client,
    what: &str,
    ok: impl Fn(&[Row]) -> bool,
) -> Result<Vec<Row>, Error> {
    let started = std::time::Instant::now();
    loop {
        // Rows are replaced while the panel reloads; a vanished row is
        // read again next time.
        if let Ok(rows) = activity_rows(client).await
            && ok(&rows)
        {
            return Ok(rows);
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err(format!(
                "the activity did not show {what}: {:#?}",
                activity_rows(client).await.ok()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Brings an element to the top of the window, for a screenshot.
async fn scroll_to(client: &Client, css: &str) -> Result<(), Error> {
    client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})",
            vec![serde_json::json!(css)],
        )
        .await?;
    Ok(())
}

async fn button_for(client: &Client, testid: &str, address: &str) -> Result<Element, Error> {
    let css = format!("[data-testid={testid}][data-address=\"{address}\"]");
    Ok(client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&css))
        .await
        .map_err(|e| format!("no {testid} button for {address}: {e}"))?)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_activity_shows_the_delivery_and_the_hold_with_their_reasons() {
    let rig = Rig::get();
    let (alice, eve) = (rig.unique("alice"), rig.unique("eve"));
    let owner = Owner::new("list-activity", &[&alice]);
    let member_post = rig::post(&alice, &owner.list, "minutes of Monday", "see you\r\n");
    rig.submit(&alice, Some(&alice), &[&owner.list], &member_post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let outsider = rig::post(&eve, &owner.list, "let me in", "hi\r\n");
    rig.submit(&eve, Some(&eve), &[&owner.list], &outsider);
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 distributed") && out.contains("1 held") && out.contains("1 sent"),
        "{out}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;
    let list = owner.list.clone();
    let (alice2, eve2) = (alice.clone(), eve.clone());

    let result = async {
        button_for(&client, "activity-open", &list)
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=activity-panel]"))
            .await
            .map_err(|e| format!("the activity panel did not open: {e}"))?;
        let all = wait_rows(&client, "the delivery", |r| {
            r.iter().any(|r| r.group == "delivery")
        })
        .await?;
        let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "newest first: {all:#?}"
        );
        let at = |group: &str| all.iter().position(|r| r.group == group);
        let (delivered, held, accepted) = (
            at("delivery").ok_or("no delivery")?,
            at("held").ok_or("no hold")?,
            at("accepted").ok_or("no accepted post")?,
        );
        let d = &all[delivered];
        assert!(
            d.what.contains("minutes of Monday") && d.what.contains("delivered"),
            "{d:?}"
        );
        assert_eq!(d.reason, "reached 1 member", "{d:?}");
        let h = &all[held];
        assert!(
            h.what.contains(&eve2) && h.what.contains("let me in") && h.what.ends_with("held"),
            "{h:?}"
        );
        assert!(
            h.reason.contains("is not a member; approve to send it"),
            "the hold's reason: {h:?}"
        );
        assert!(all[accepted].what.contains(&alice2), "{:?}", all[accepted]);
        // Sent after both decisions: the delivery is the newest of the three.
        assert!(delivered < held && held < accepted, "{all:#?}");
        // The view starts with posts, deliveries and errors; filing on the
        // server is under "Everything".
        assert!(
            all.iter()
                .all(|r| r.group != "server" && r.group != "change"),
            "{all:#?}"
        );
        scroll_to(&client, "[data-testid=activity-panel]").await?;
        screenshot(&client, "activity").await;

        // The filter narrows it to the hold.
        client
            .find(Locator::Css("[data-testid=activity-filter]"))
            .await?
            .select_by_value("held")
            .await?;
        let holds = wait_rows(&client, "only the hold", |r| {
            r.len() == 1 && r[0].group == "held"
        })
        .await?;
        assert!(holds[0].what.contains("let me in"), "{holds:?}");
        // And the search, over everything, to what names the member.
        client
            .find(Locator::Css("[data-testid=activity-filter]"))
            .await?
            .select_by_value("all")
            .await?;
        client
            .find(Locator::Css("[data-testid=activity-search]"))
            .await?
            .send_keys(&alice2)
            .await?;
        let found = wait_rows(&client, "only entries naming the member", |r| {
            r.iter().any(|r| r.group == "change")
                && r.iter()
                    .all(|r| format!("{} {}", r.what, r.reason).contains(&alice2))
        })
        .await?;
        // Everything: the owner's adding of the member too; not the hold.
        assert!(found.iter().any(|r| r.group == "accepted"), "{found:#?}");
        assert!(found.iter().all(|r| r.group != "held"), "{found:#?}");

        // All lists: each entry names its list.
        client
            .find(Locator::Css("[data-testid=activity-all]"))
            .await?
            .click()
            .await?;
        let names = wait_for_all(&client, "[data-testid=activity-list]", 10, |c| {
            !c.is_empty()
        })
        .await?;
        assert_eq!(names[0].text().await?, "Test List");
        Ok::<_, Error>(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap_or_else(|e| panic!("{e}"));
}

fn json_field(v: &serde_json::Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_key_is_shown_exported_and_renewed() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-key"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Key Test",
        "--protocol",
        "openpgp",
    ]);
    // The list key made by gpg, valid for 20 days, as an owner might bring.
    let gpg = Gpg::new();
    let uid = format!("Key Test <{}>", owner.list);
    let fpr = gpg.generate(&uid, "future-default", "20d", &[]);
    let secret = gpg.ok(&["--passphrase", "", "--armor", "--export-secret-keys", &fpr]);
    let file = owner.data.path().join("list-key.asc");
    std::fs::write(&file, &secret).unwrap();
    owner.ok(&["list", "key", "import", &owner.list, file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    let before = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    let plain = rig.unique("no-key");
    owner.ok(&["list", "create", &plain, "--name", "No Key"]);

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;
    let list = owner.list.clone();

    let result = async {
        // A key valid for 20 days: the row asks for a renewal.
        let ends = client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("[data-testid=list-key-ends]"))
            .await
            .map_err(|e| format!("the row did not say the list key ends soon: {e}"))?
            .text()
            .await?;
        if !ends.contains("renew it") {
            return Err(format!("the row says: {ends}").into());
        }
        button_for(&client, "key-open", &list)
            .await?
            .click()
            .await?;
        let panel = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=list-key][data-protocol=openpgp]",
            ))
            .await
            .map_err(|e| format!("the key panel did not show the OpenPGP key: {e}"))?;
        let text = async |id: &str| -> Result<String, Error> {
            Ok(panel
                .find(Locator::Css(&format!("[data-testid={id}]")))
                .await?
                .text()
                .await?)
        };
        let shown_fpr = text("key-fingerprint")
            .await?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let state = text("key-expiry-state").await?;
        let uids = text("key-uid").await?;
        let public = panel
            .find(Locator::Css("[data-testid=key-public]"))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();

        scroll_to(&client, "[data-testid=key-panel]").await?;
        screenshot(&client, "list-key").await;

        panel
            .find(Locator::Css("[data-testid=key-copy]"))
            .await?
            .click()
            .await?;
        let copied = wait_for_all(&client, "[data-testid=key-done]", 10, |_| true).await?;
        let mut said = copied[0].text().await?;
        for _ in 0..50 {
            if !said.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            said = copied[0].text().await?;
        }

        panel
            .find(Locator::Css("[data-testid=key-renew]"))
            .await?
            .click()
            .await?;
        let renewed = client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=key-renewed]"))
            .await
            .map_err(|e| format!("the window did not say the key was renewed: {e}"))?
            .text()
            .await?;
        // The panel shows the key as read again after the renewal.
        let panel = client
            .find(Locator::Css(
                "[data-testid=list-key][data-protocol=openpgp]",
            ))
            .await?;
        let expires_after = panel
            .find(Locator::Css("[data-testid=key-expires]"))
            .await?
            .attr("data-expires")
            .await?
            .unwrap_or_default();
        let state_after = panel
            .find(Locator::Css("[data-testid=key-expiry-state]"))
            .await?
            .text()
            .await?;

        // A list without a key says how to make one.
        client
            .find(Locator::Css("[data-testid=key-close]"))
            .await?
            .click()
            .await?;
        button_for(&client, "key-open", &plain)
            .await?
            .click()
            .await?;
        let none = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=key-none]"))
            .await
            .map_err(|e| format!("a list without a key did not say so: {e}"))?
            .text()
            .await?;
        Ok::<_, Error>((
            shown_fpr,
            state,
            uids,
            public,
            said,
            renewed,
            expires_after,
            state_after,
            none,
        ))
    }
    .await;
    let _ = client.close().await;
    let (shown_fpr, state, uids, public, said, renewed, expires_after, state_after, none) =
        result.unwrap_or_else(|e| panic!("{e}"));

    // What the window shows is what the CLI shows.
    assert_eq!(shown_fpr, json_field(&before, "fingerprint"));
    assert_eq!(shown_fpr.replace(' ', ""), fpr);
    assert_eq!(state, "Expires soon");
    assert_eq!(uids, uid);
    assert!(
        said.contains("copied"),
        "after Copy the window said {said:?}"
    );

    // The exported text is the public key, and gpg takes it as that key.
    assert!(
        public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{public}"
    );
    assert!(!public.contains("PRIVATE"));
    let member = Gpg::new();
    let imported = member.run(&["--import"], Some(public.as_bytes()));
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let listing = String::from_utf8(member.ok(&["--with-colons", "--list-keys"])).unwrap();
    let fprs: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .map(|l| l.split(':').nth(9).unwrap())
        .collect();
    assert_eq!(fprs.first().copied(), Some(fpr.as_str()), "{listing}");
    assert!(
        member.ok(&["--list-secret-keys"]).is_empty(),
        "no secret key in the export"
    );

    // Renewed: same key, later expiry, as the CLI sees it; members are told.
    assert!(
        renewed.contains("Conclave mails it to every member"),
        "{renewed}"
    );
    let after = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    assert_eq!(
        json_field(&after, "fingerprint"),
        json_field(&before, "fingerprint")
    );
    let (old, new) = (
        json_field(&before, "expires"),
        json_field(&after, "expires"),
    );
    assert!(new > old, "the expiry should move later: {old} → {new}");
    assert_eq!(expires_after, new, "the window shows the renewed expiry");
    assert_eq!(state_after, "Valid");
    let log = owner.ok(&["log", &owner.list]);
    assert!(log.contains("openpgp list key renewed"), "{log}");

    assert!(none.contains("conclave-cli list key generate"), "{none}");
}
