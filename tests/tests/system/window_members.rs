//! The members screen over WebDriver: a member's key made by real gpg is
//! imported from a file, reviewed and saved, and its fingerprint shows in
//! the table; a keyring of several members is added after one review; a
//! member is removed after a confirmation. The CLI sees what the window did.
//! Needs no mail rig: nothing is sent.

use std::time::Duration;

use fantoccini::{Client, Locator};
use rig::gpg::Gpg;
use rig::window::{cli, open_window, screenshot, wait_for_all};

const LIST: &str = "members@conclave.test";

/// "ABCD1234…" as the window shows it: "ABCD 1234 …".
fn grouped(fpr: &str) -> String {
    fpr.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of each member row's cell `testid`, by address.
async fn column(
    client: &Client,
    testid: &str,
) -> Result<Vec<(String, String)>, fantoccini::error::CmdError> {
    let mut out = Vec::new();
    for row in client
        .find_all(Locator::Css("[data-testid=member-row]"))
        .await?
    {
        let email = row.attr("data-email").await?.unwrap_or_default();
        let text = row
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await?
            .text()
            .await?;
        out.push((email, text));
    }
    Ok(out)
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::test(flavor = "multi_thread")]
async fn a_member_key_imported_from_a_file_shows_its_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    cli(
        &data,
        &[
            "list",
            "create",
            LIST,
            "--name",
            "Tenants",
            "--protocol",
            "openpgp",
        ],
    );
    cli(
        &data,
        &[
            "member",
            "add",
            LIST,
            "alice@conclave.test",
            "--name",
            "Alice",
            "--role",
            "owner",
        ],
    );

    // Keys as members make them: one file for Bob; a keyring with Alice's
    // (a member without a key), Ann's and Cid's (new members; Cid's
    // expires in three weeks).
    let gpg = Gpg::new();
    let bob = gpg.generate("Bob <bob@conclave.test>", "future-default", "1y", &[]);
    let alice = gpg.generate("Alice <alice@conclave.test>", "future-default", "2y", &[]);
    let ann = gpg.generate("Ann <ann@conclave.test>", "rsa3072", "2y", &[]);
    let cid = gpg.generate("Cid <cid@conclave.test>", "future-default", "21d", &[]);
    let bob_file = tmp.path().join("bob.asc");
    std::fs::write(&bob_file, gpg.export(&bob)).unwrap();
    let ring_file = tmp.path().join("tenants.asc");
    std::fs::write(
        &ring_file,
        gpg.ok(&["--armor", "--export", &alice, &ann, &cid]),
    )
    .unwrap();

    let (_driver, client) = open_window(&data, tmp.path()).await;
    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=members-open]"))
            .await
            .map_err(|e| format!("no members button in the list row: {e}"))?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=members-table]"))
            .await
            .map_err(|e| format!("the members table did not open: {e}"))?;

        // One member with a key from a file: reviewed before it is saved.
        let form = client
            .find(Locator::Css("[data-testid=member-add-form]"))
            .await?;
        form.find(Locator::Css("[data-testid=member-add-email]"))
            .await?
            .send_keys("bob@conclave.test")
            .await?;
        form.find(Locator::Css("[data-testid=key-file]"))
            .await?
            .send_keys(&bob_file.to_string_lossy())
            .await?;
        let review = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=member-add-form] [data-testid=key-candidate]",
            ))
            .await
            .map_err(|e| format!("no review of Bob's key appeared: {e}"))?;
        let shown = review
            .find(Locator::Css("[data-testid=review-fingerprint]"))
            .await?
            .text()
            .await?;
        let matched = review
            .find(Locator::Css("[data-testid=key-match]"))
            .await?
            .text()
            .await?;
        let name = form
            .find(Locator::Css("[data-testid=member-add-name]"))
            .await?
            .prop("value")
            .await?;
        form.find(Locator::Css("[data-testid=member-add-save]"))
            .await?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 2).await?;
        let fingerprints = column(&client, "member-fingerprint").await?;

        // A keyring: one review, then all new members at once.
        client
            .find(Locator::Css(
                "[data-testid=member-import] [data-testid=key-file]",
            ))
            .await?
            .send_keys(&ring_file.to_string_lossy())
            .await?;
        let candidates = wait_for_all(
            &client,
            "[data-testid=import-review] [data-testid=key-candidate]",
            10,
            |c| c.len() == 3,
        )
        .await?;
        let mut actions = Vec::new();
        for c in &candidates {
            actions.push(c.attr("data-action").await?.unwrap_or_default());
        }
        client
            .execute(
                "document.querySelector('[data-testid=import-review]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "members-import-review").await;
        let add_all = client
            .find(Locator::Css("[data-testid=import-add-all]"))
            .await?;
        let add_label = add_all.text().await?;
        add_all.click().await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 4).await?;
        // Alice's key is saved from the same review, explicitly.
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=import-review] [data-testid=key-save]",
            ))
            .await?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=import-review]", 10, |r| r.is_empty()).await?;
        let mut statuses = column(&client, "member-status").await?;
        for _ in 0..20 {
            if statuses.iter().all(|(_, s)| !s.contains("No key")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            statuses = column(&client, "member-status").await?;
        }
        client
            .execute(
                "document.getElementById('members-panel').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "members").await;

        // Removing asks first.
        client
            .find(Locator::Css(
                "[data-testid=member-remove][data-email='cid@conclave.test']",
            ))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("[data-testid=member-remove-confirm]"))
            .await?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 3).await?;
        Ok::<_, Failure>((
            shown,
            matched,
            name,
            fingerprints,
            actions,
            add_label,
            statuses,
        ))
    }
    .await;
    let _ = client.close().await;

    let (shown, matched, name, fingerprints, actions, add_label, statuses) =
        result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        shown,
        grouped(&bob),
        "the review shows the key's fingerprint in groups of four"
    );
    assert!(matched.contains("names this address"), "{matched}");
    assert_eq!(
        name.as_deref(),
        Some("Bob"),
        "the name comes from the key's user ID"
    );
    let bob_row = fingerprints
        .iter()
        .find(|(e, _)| e == "bob@conclave.test")
        .map(|(_, f)| f.as_str());
    assert_eq!(
        bob_row.map(|f| f.split_whitespace().collect::<String>()),
        Some(bob.clone())
    );
    assert_eq!(
        actions,
        ["set-key", "add", "add"],
        "alice is a member already; ann and cid are new"
    );
    assert_eq!(add_label, "Add 2 members");
    let status = |who: &str| {
        statuses
            .iter()
            .find(|(e, _)| e == who)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    assert!(
        status("bob@conclave.test").starts_with("OK"),
        "{statuses:?}"
    );
    assert!(
        status("alice@conclave.test").starts_with("OK"),
        "{statuses:?}"
    );
    assert!(
        status("cid@conclave.test").starts_with("Expires soon"),
        "{statuses:?}"
    );

    let listed = cli(&data, &["member", "list", LIST, "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let key_of = |who: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == who)
            .map(|m| {
                m["keys"][0]["fingerprint"]
                    .as_str()
                    .unwrap_or("")
                    .replace(' ', "")
            })
    };
    assert_eq!(key_of("bob@conclave.test"), Some(bob));
    assert_eq!(key_of("alice@conclave.test"), Some(alice));
    assert_eq!(key_of("ann@conclave.test"), Some(ann));
    assert_eq!(key_of("cid@conclave.test"), None, "cid was removed");
}
