//! Members who come by mail, in the window over WebDriver: a key that came
//! with a keyless member's signed post shows as "1 key waits" in the list
//! row and in the members panel's key inbox, with its fingerprint; Accept
//! makes it the member's key. "Invite someone by mail…" makes the text to
//! pass on, with the list key's fingerprint and the code.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::gpg::{signed_entity, with_autocrypt, with_headers};
use rig::lists::{fingerprint, gpg_member as member, grouped, openpgp_list};
use rig::window::{open_window, screenshot};

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn click(client: &Client, css: &str) -> Result<(), Failure> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("no {css}: {e}"))?
        .click()
        .await?;
    Ok(())
}

/// The text of `css` once it contains `wanted`.
async fn text_with(client: &Client, css: &str, wanted: &str) -> Result<String, Failure> {
    let started = Instant::now();
    loop {
        if let Ok(e) = client.find(Locator::Css(css)).await {
            let text = e.text().await.unwrap_or_default();
            if text.contains(wanted) {
                return Ok(text);
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            let body = client.find(Locator::Css("body")).await?.text().await?;
            return Err(format!("{css} never said \"{wanted}\"; the window says:\n{body}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_came_by_mail_is_accepted_and_an_invitation_made_in_the_window() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-inbox-win", "Window Inbox");
    let carol = rig.unique("carol");
    let gc = member(&owner, &carol, &list_key, false);
    let post = with_autocrypt(
        with_headers(
            &carol,
            &owner.list,
            &signed_entity(&gc, &carol, b"Content-Type: text/plain\r\n\r\nHi.\r\n"),
        ),
        &gc,
        &carol,
    );
    rig.submit(&carol, Some(&carol), &[&owner.list], &post);
    // And someone asks to join.
    let eve = rig.unique("eve");
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &rig::post(&eve, &owner.list, "subscribe", "Hi.\r\n"),
    );
    rig.wait_for(&owner.list, "INBOX", 2, Duration::from_secs(20));
    owner.run_once();
    let waiting = owner.json(&["keys", "pending", &owner.list, "--json"]);
    assert_eq!(
        waiting.as_array().map(Vec::len),
        Some(1),
        "{waiting}\n{}",
        owner.ok(&["log", &owner.list])
    );
    let fpr = grouped(&fingerprint(&gc, &carol));
    let list_fpr = grouped(&fingerprint(&gc, &owner.list));

    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result: Result<(), Failure> = async {
        text_with(&client, "[data-testid=keys-waiting]", "1 key waits").await?;
        click(&client, "[data-testid=keys-waiting]").await?;
        let entry = text_with(&client, "[data-testid=inbox-key]", &carol).await?;
        if !entry.replace('\n', " ").contains(&fpr) {
            return Err(format!("the waiting key does not show its fingerprint {fpr}: {entry}").into());
        }
        if !entry.contains("signed by it") {
            return Err(format!("it does not say the mail was signed by it: {entry}").into());
        }
        screenshot(&client, "key-inbox").await;
        click(&client, "[data-testid=inbox-accept]").await?;
        let row = text_with(
            &client,
            &format!("[data-testid=member-row][data-email=\"{carol}\"]"),
            &fpr[..4],
        )
        .await?;
        if !row.replace('\n', " ").contains(&fpr) {
            return Err(format!("Carol's row does not show her key: {row}").into());
        }
        if client
            .find(Locator::Css("[data-testid=key-inbox]"))
            .await
            .is_ok()
        {
            return Err("the key inbox is still shown".into());
        }

        // Eve's request: invited by mail from the window.
        text_with(&client, "[data-testid=join-request]", &eve).await?;
        click(&client, "[data-testid=request-invite]").await?;
        text_with(&client, "[data-testid=requests-done]", "invited by mail").await?;

        // An invitation, made in the window.
        let dave = rig.unique("dave");
        click(&client, "[data-testid=invite-open]").await?;
        client
            .find(Locator::Css("[data-testid=invite-email]"))
            .await?
            .send_keys(&dave)
            .await?;
        click(&client, "[data-testid=invite-button]").await?;
        let text = text_with(&client, "[data-testid=invite-text]", "join ").await?;
        if !text.contains(&list_fpr) || !text.contains(&dave) {
            return Err(format!("the invitation lacks the fingerprint or the address: {text}").into());
        }
        client
            .execute(
                "document.querySelector('[data-testid=invite-text]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        screenshot(&client, "invite").await;
        // The QR code beside it holds the very text, as a phone reads it
        // (zbarimg stands for the camera).
        let qr = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=invite-qr]"))
            .await?;
        client
            .execute(
                "document.querySelector('[data-testid=invite-qr]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        screenshot(&client, "invite-qr").await;
        let picture = tempfile::NamedTempFile::with_suffix(".png")?;
        std::fs::write(picture.path(), qr.screenshot().await?)?;
        let read = std::process::Command::new("zbarimg")
            .args(["--quiet", "--raw", "-Sbinary"])
            .arg(picture.path())
            .output()?;
        let scanned = String::from_utf8_lossy(&read.stdout);
        if scanned.trim_end() != text.trim_end() {
            return Err(format!(
                "the QR code reads otherwise ({}):\n{scanned}\n---\n{text}",
                String::from_utf8_lossy(&read.stderr)
            )
            .into());
        }
        Ok(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap();
    let open = owner.json(&["member", "invitations", &owner.list, "--json"]);
    assert_eq!(open.as_array().unwrap().len(), 2, "{open}");
    let mailed = rig.wait_for(&eve, "INBOX", 2, Duration::from_secs(20));
    assert!(
        mailed
            .iter()
            .any(|m| String::from_utf8_lossy(m).contains("an invitation to the list")),
        "Eve got the invitation by mail"
    );
}
