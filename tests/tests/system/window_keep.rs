//! Keeping a list safe from the window, over WebDriver: Policy → "Keeping
//! this list safe" turns on the backup in the mailbox (the recovery
//! passphrase shown once; the app's agent makes the backup) and exports the
//! list to a file through the system's save dialog; then, with the list
//! removed from the laptop, "Import or restore…" brings it back from the
//! file, and once more from the mailbox with the recovery passphrase.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::owner::Owner;
use rig::window::{answer_save_dialog, open_window, screenshot, wait_for_all};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const PASSPHRASE: &str = "harbour lantern otter nine";

async fn click(client: &Client, testid: &str) -> Result<(), Failure> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("[data-testid={testid}]")))
        .await
        .map_err(|e| format!("no {testid}: {e}"))?
        .click()
        .await?;
    Ok(())
}

async fn type_into(client: &Client, testid: &str, text: &str) -> Result<(), Failure> {
    let field = client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await
        .map_err(|e| format!("no {testid}: {e}"))?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// The text of `testid` once it contains `wanted`.
async fn text_with(
    client: &Client,
    testid: &str,
    wanted: &str,
    secs: u64,
) -> Result<String, Failure> {
    let started = Instant::now();
    loop {
        if let Ok(e) = client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
        {
            let text = e.text().await.unwrap_or_default();
            if text.contains(wanted) {
                return Ok(text);
            }
        }
        if started.elapsed() > Duration::from_secs(secs) {
            let main = client.find(Locator::Css("body")).await?.text().await?;
            return Err(
                format!("{testid} never said \"{wanted}\"; the window says:\n{main}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn rows(client: &Client, n: usize) -> Result<(), Failure> {
    wait_for_all(client, "[data-testid=list-row]", 20, |r| r.len() == n).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_is_backed_up_exported_and_brought_back_from_the_window() {
    let rig = Rig::get();
    let (ann, ben) = (rig.unique("ann"), rig.unique("ben"));
    let owner = Owner::new("list-keep-win", &[&ann, &ben]);
    owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--protocol",
        "openpgp",
    ]);
    let file = owner.data.path().join("handed-over.conclave");
    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result: Result<String, Failure> = async {
        click(&client, "policy-open").await?;
        text_with(&client, "backup-state", "Off", 20).await?;

        // Backups on: the passphrase is shown once, then the agent backs up.
        click(&client, "backup-on").await?;
        let recovery = text_with(&client, "recovery-passphrase", "-", 20).await?;
        client
            .execute(
                "document.querySelector('[data-testid=recovery-shown]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        screenshot(&client, "keep-recovery").await;
        click(&client, "recovery-done").await?;
        if client
            .find(Locator::Css("[data-testid=recovery-passphrase]"))
            .await
            .is_ok()
        {
            return Err("the passphrase is still shown".into());
        }
        text_with(&client, "backup-state", "Newest backup", 60).await?;

        // Export: a short passphrase is told; the right one goes through the
        // save dialog into the file.
        type_into(&client, "export-pass", "short").await?;
        text_with(&client, "export-check", "12", 10).await?;
        type_into(&client, "export-pass", PASSPHRASE).await?;
        type_into(&client, "export-again", PASSPHRASE).await?;
        screenshot(&client, "keep-safe").await;
        click(&client, "export-button").await?;
        answer_save_dialog("Export the list", &file)?;
        text_with(&client, "export-done", "2 members", 30).await?;
        Ok(recovery.trim().to_string())
    }
    .await;
    let recovery = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = client.close().await;
            panic!("{e}");
        }
    };
    assert!(std::fs::metadata(&file).is_ok(), "no file was written");
    assert_eq!(
        rig.messages(&owner.list, "Conclave/Backup").len(),
        1,
        "one backup in the mailbox"
    );

    // The list leaves this laptop, and comes back from the file.
    owner.ok(&["list", "forget", &owner.list, "--confirm", &owner.list]);
    let result: Result<(), Failure> = async {
        // The window hears of it at the agent's next run.
        click(&client, "check-now").await?;
        rows(&client, 0).await?;
        screenshot(&client, "empty-state").await;
        click(&client, "empty-restore").await?;
        client
            .find(Locator::Css("[data-testid=restore-file]"))
            .await?
            .send_keys(&file.to_string_lossy())
            .await?;
        text_with(&client, "restore-file-name", "handed-over.conclave", 10).await?;
        type_into(&client, "restore-file-pass", "a wrong passphrase here").await?;
        click(&client, "restore-file-import").await?;
        text_with(&client, "restore-problem", "passphrase does not open", 30).await?;
        type_into(&client, "restore-file-pass", PASSPHRASE).await?;
        click(&client, "restore-file-import").await?;
        text_with(&client, "restored", "2 members", 30).await?;
        rows(&client, 1).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = client.close().await;
        panic!("{e}");
    }
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(
        members.contains(&ann) && members.contains(&ben),
        "{members}"
    );

    // Once more, from the mailbox.
    owner.ok(&["list", "forget", &owner.list, "--confirm", &owner.list]);
    let result: Result<(), Failure> = async {
        click(&client, "check-now").await?;
        rows(&client, 0).await?;
        click(&client, "restore-open").await?;
        type_into(&client, "restore-address", &owner.list).await?;
        type_into(&client, "restore-host", &rig.host).await?;
        type_into(&client, "restore-port", &rig.imap_port.to_string()).await?;
        client
            .find(Locator::Css(
                "[data-testid=restore-tls] option[value=starttls]",
            ))
            .await?
            .click()
            .await?;
        click(&client, "restore-advanced").await?;
        client
            .find(Locator::Css("[data-testid=restore-ca-file]"))
            .await?
            .send_keys(&rig.ca_path.to_string_lossy())
            .await?;
        type_into(&client, "restore-imap-password", &rig.password).await?;
        type_into(&client, "restore-recovery", &recovery).await?;
        screenshot(&client, "restore-mailbox").await;
        click(&client, "restore-mailbox").await?;
        text_with(&client, "restored", "2 members", 30).await?;
        rows(&client, 1).await?;
        Ok(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap();
    let members = owner.ok(&["member", "list", &owner.list]);
    assert!(
        members.contains(&ann) && members.contains(&ben),
        "{members}"
    );
    let check = owner.ok(&["list", "check", &owner.list]);
    assert!(
        check.contains("logins work"),
        "the passwords came back: {check}"
    );
}
