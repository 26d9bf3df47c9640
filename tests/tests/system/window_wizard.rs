//! The new-list wizard over WebDriver, against the mail rig: on an empty
//! data folder the wizard opens by itself; a wrong password makes "Test
//! connection" say, for each server, that the login was refused and what
//! to do; with the SMTP login set apart, IMAP works and SMTP does not; the
//! right passwords log in to both; a new OpenPGP key is made; the list
//! shows in the overview. The CLI then finds the account, the key shown in
//! the window, and the passwords in the keychain (`list check` logs in with
//! them), and no password in the database.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::window::{built, cli, open_window, screenshot, wait_for_all};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs `conclave-cli` that may fail: whether it worked, its output and errors.
fn cli_outcome(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(built("conclave-cli"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("conclave-cli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn css(client: &Client, selector: &str) -> Result<fantoccini::elements::Element, Failure> {
    Ok(client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| format!("{selector} did not appear: {e}"))?)
}

async fn type_into(client: &Client, testid: &str, text: &str) -> Result<(), Failure> {
    let input = css(client, &format!("[data-testid={testid}]")).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

async fn click(client: &Client, selector: &str) -> Result<(), Failure> {
    css(client, selector).await?.click().await?;
    Ok(())
}

async fn text(client: &Client, selector: &str) -> Result<String, Failure> {
    Ok(css(client, selector).await?.text().await?)
}

/// Waits until the wizard shows `step`.
async fn step(client: &Client, step: &str, secs: u64) -> Result<(), Failure> {
    client
        .wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(&format!(
            "[data-testid=wizard][data-step={step}]"
        )))
        .await
        .map_err(|e| format!("the wizard did not reach the {step} step: {e}"))?;
    Ok(())
}

/// Both servers' test outcomes once they read `imap` and `smtp` ("true" or
/// "false").
async fn outcomes(client: &Client, imap: &str, smtp: &str) -> Result<(), Failure> {
    let want = [imap.to_string(), smtp.to_string()];
    let css = "[data-testid=check-imap], [data-testid=check-smtp]";
    let started = std::time::Instant::now();
    loop {
        let mut got = Vec::new();
        for e in client.find_all(Locator::Css(css)).await? {
            got.push(e.attr("data-ok").await?.unwrap_or_default());
        }
        if got == want {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("the test shows {got:?}, not {want:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Seen {
    preset_user: String,
    failed_imap: String,
    failed_smtp: String,
    failed_fix: String,
    failed_smtp_alone: String,
    half_saved: String,
    fingerprint: String,
    public_key: String,
    overview: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_is_created_by_clicking_after_a_failed_and_a_working_test() {
    let rig = Rig::get();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let list = rig.unique("wizard");
    let (imap_port, smtp_port) = (rig.imap_port.to_string(), rig.submission_port.to_string());

    let (_driver, client) = open_window(&data, tmp.path()).await;
    let result = async {
        // No list: the wizard is there without being asked for.
        step(&client, "list", 30).await?;
        type_into(&client, "wizard-name", "Wizard Test").await?;
        type_into(&client, "wizard-address", &list).await?;
        click(&client, "[data-testid=wizard-protocol-openpgp]").await?;
        screenshot(&client, "wizard-list").await;
        click(&client, "[data-testid=wizard-next]").await?;

        step(&client, "account", 10).await?;
        // The user name is the list's address, filled in.
        let preset_user = css(&client, "[data-testid=imap-user]")
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        for (kind, port) in [("imap", &imap_port), ("smtp", &smtp_port)] {
            type_into(&client, &format!("{kind}-host"), &rig.host).await?;
            click(
                &client,
                &format!("[data-testid={kind}-tls] option[value=starttls]"),
            )
            .await?;
            type_into(&client, &format!("{kind}-port"), port).await?;
        }
        type_into(&client, "imap-password", "not-the-password").await?;
        click(&client, "[data-testid=wizard-advanced]").await?;
        css(&client, "[data-testid=ca-file]")
            .await?
            .send_keys(&rig.ca_path.to_string_lossy())
            .await?;
        css(&client, "[data-testid=ca-name]").await?;

        // A wrong password: each server says so.
        click(&client, "[data-testid=wizard-test]").await?;
        outcomes(&client, "false", "false").await?;
        let failed_imap = text(&client, "[data-testid=check-imap-message]").await?;
        let failed_smtp = text(&client, "[data-testid=check-smtp-message]").await?;
        let failed_fix = text(&client, "[data-testid=check-imap-fix]").await?;
        client
            .execute(
                "document.querySelector('[data-testid=check-result]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "wizard-account-failed").await;
        // Nothing is saved while the wizard runs.
        let half_saved = cli(&data, &["list", "show", "--json"]);

        // The right IMAP password, and an SMTP login set apart with a wrong
        // one: each server has its own outcome.
        type_into(&client, "imap-password", &rig.password).await?;
        click(&client, "[data-testid=smtp-same]").await?;
        type_into(&client, "smtp-user", &list).await?;
        type_into(&client, "smtp-password", "not-the-password-either").await?;
        click(&client, "[data-testid=wizard-test]").await?;
        outcomes(&client, "true", "false").await?;
        let failed_smtp_alone = text(&client, "[data-testid=check-smtp-message]").await?;
        // The picture: the logins and what the test says of each.
        click(&client, "[data-testid=wizard-advanced]").await?;
        client
            .execute(
                "document.querySelector('[data-testid=imap-user]').scrollIntoView(); \
                 document.scrollingElement.scrollBy(0, -30)",
                vec![],
            )
            .await?;
        screenshot(&client, "wizard-account").await;

        // The same login for both again: both work.
        click(&client, "[data-testid=smtp-same]").await?;
        click(&client, "[data-testid=wizard-test]").await?;
        outcomes(&client, "true", "true").await?;
        client
            .execute(
                "document.querySelector('[data-testid=check-result]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "wizard-account-ok").await;
        click(&client, "[data-testid=wizard-next]").await?;

        step(&client, "key", 30).await?;
        let algo = css(&client, "[data-testid=key-algo]")
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        assert_eq!(algo, "ed25519", "a new Ed25519 key is the default");
        screenshot(&client, "wizard-key").await;
        click(&client, "[data-testid=wizard-create]").await?;

        step(&client, "done", 90).await?;
        let fingerprint = text(&client, "[data-testid=wizard-fingerprint]").await?;
        let public_key = css(&client, "[data-testid=wizard-public-key]")
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        screenshot(&client, "wizard-done").await;
        click(&client, "[data-testid=wizard-to-lists]").await?;

        let rows = wait_for_all(&client, "[data-testid=list-row]", 15, |r| r.len() == 1).await?;
        let mut overview = Vec::new();
        for r in rows {
            overview.push(r.attr("data-address").await?.unwrap_or_default());
        }
        screenshot(&client, "wizard-lists").await;
        Ok::<_, Failure>(Seen {
            preset_user,
            failed_imap,
            failed_smtp,
            failed_fix,
            failed_smtp_alone,
            half_saved,
            fingerprint,
            public_key,
            overview,
        })
    }
    .await;
    let _ = client.close().await;
    let seen = result.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        seen.preset_user, list,
        "the IMAP user name defaults to the list's address"
    );
    for message in [&seen.failed_imap, &seen.failed_smtp] {
        assert!(
            message.contains("refused the user name or password"),
            "{message}"
        );
    }
    assert!(
        seen.failed_fix.contains("app password"),
        "{}",
        seen.failed_fix
    );
    assert!(
        seen.failed_smtp_alone
            .contains("refused the user name or password"),
        "{}",
        seen.failed_smtp_alone
    );
    assert_eq!(
        seen.half_saved.trim(),
        "[]",
        "no list exists before the last step"
    );
    assert_eq!(seen.overview, std::slice::from_ref(&list));
    assert!(
        seen.public_key
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{}",
        seen.public_key
    );

    let shown: serde_json::Value =
        serde_json::from_str(&cli(&data, &["list", "show", &list, "--json"])).unwrap();
    assert_eq!(shown["summary"]["protocol"], "openpgp");
    assert_eq!(shown["summary"]["name"], "Wizard Test");
    let account = &shown["account"];
    for (kind, port) in [("imap", rig.imap_port), ("smtp", rig.submission_port)] {
        assert_eq!(account[kind]["host"], rig.host.as_str(), "{account}");
        assert_eq!(account[kind]["port"], port, "{account}");
        assert_eq!(account[kind]["tls"], "starttls", "{account}");
        assert_eq!(
            account[kind]["user"],
            list.as_str(),
            "the SMTP login is the IMAP one: {account}"
        );
    }
    assert!(
        account["ca_pem"]
            .as_str()
            .unwrap_or("")
            .contains("BEGIN CERTIFICATE"),
        "{account}"
    );

    let key: serde_json::Value =
        serde_json::from_str(&cli(&data, &["list", "key", "show", &list, "--json"])).unwrap();
    assert_eq!(
        key["fingerprint"].as_str().unwrap(),
        seen.fingerprint,
        "the window showed the stored key"
    );
    assert_eq!(key["user_ids"][0], format!("Wizard Test <{list}>"));

    // The passwords are in the keychain: `list check` logs in with them.
    let (ok, out, err) = cli_outcome(&data, &["list", "check", &list]);
    assert!(ok, "list check failed: {err}");
    assert!(out.contains("IMAP and SMTP logins work"), "{out}");
    // ...and nowhere in the database.
    for file in ["conclave.sqlite3", "conclave.sqlite3-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(file)) {
            assert!(
                !bytes
                    .windows(rig.password.len())
                    .any(|w| w == rig.password.as_bytes()),
                "the password is in {file}"
            );
        }
    }
}

/// Waits until the key step shows `testid` (a preview or its refusal) and
/// returns its text.
async fn key_answer(client: &Client, testid: &str, containing: &str) -> Result<String, Failure> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(e) = client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
        {
            let t = e.text().await?;
            if t.contains(containing) {
                return Ok(t);
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("[data-testid={testid}] never said “{containing}”").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smime_list_takes_its_identity_from_a_pkcs12_file_with_its_password() {
    let rig = Rig::get();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let list = rig.unique("wizard-smime");
    // The list's identity as an organisation hands it over: PKCS#12 with a
    // password.
    let identity = rig::smime::MemberCert::self_signed(&list);
    let p12 = tmp.path().join("list.p12");
    std::fs::write(&p12, identity.pkcs12("pkcs12-password")).unwrap();

    let (_driver, client) = open_window(&data, tmp.path()).await;
    let result = async {
        step(&client, "list", 30).await?;
        type_into(&client, "wizard-name", "Certified").await?;
        type_into(&client, "wizard-address", &list).await?;
        click(&client, "[data-testid=wizard-protocol-smime]").await?;
        click(&client, "[data-testid=wizard-next]").await?;

        step(&client, "account", 10).await?;
        // Implicit TLS on both: the defaults of "Other"; only the ports of
        // the rig differ from the standard ones, if they do.
        for (kind, port) in [("imap", rig.imaps_port), ("smtp", rig.smtps_port)] {
            type_into(&client, &format!("{kind}-host"), &rig.host).await?;
            type_into(&client, &format!("{kind}-port"), &port.to_string()).await?;
        }
        type_into(&client, "imap-password", &rig.password).await?;
        click(&client, "[data-testid=wizard-advanced]").await?;
        css(&client, "[data-testid=ca-file]")
            .await?
            .send_keys(&rig.ca_path.to_string_lossy())
            .await?;
        css(&client, "[data-testid=ca-name]").await?;
        // "Next" without a test first: it tests, and goes on when both work.
        click(&client, "[data-testid=wizard-next]").await?;
        step(&client, "key", 60).await?;

        click(&client, "[data-testid=key-mode-import]").await?;
        css(&client, "[data-testid=list-key-file]")
            .await?
            .send_keys(&p12.to_string_lossy())
            .await?;
        let asked = key_answer(&client, "key-preview-problem", "password").await?;
        type_into(&client, "key-passphrase", "not-it").await?;
        click(&client, "[data-testid=key-check]").await?;
        let wrong = key_answer(&client, "key-preview-problem", "does not open").await?;
        type_into(&client, "key-passphrase", "pkcs12-password").await?;
        click(&client, "[data-testid=key-check]").await?;
        let previewed = key_answer(&client, "key-preview-fingerprint", " ").await?;
        screenshot(&client, "wizard-key-import").await;
        click(&client, "[data-testid=wizard-create]").await?;

        step(&client, "done", 60).await?;
        let fingerprint = text(&client, "[data-testid=wizard-fingerprint]").await?;
        let public = css(&client, "[data-testid=wizard-public-key]")
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        Ok::<_, Failure>((asked, wrong, previewed, fingerprint, public))
    }
    .await;
    let _ = client.close().await;
    let (asked, wrong, previewed, fingerprint, public) = result.unwrap_or_else(|e| panic!("{e}"));

    assert!(asked.contains("type the passphrase"), "{asked}");
    assert!(wrong.contains("does not open this PKCS#12 file"), "{wrong}");
    assert_eq!(
        previewed, fingerprint,
        "the preview showed the key that was saved"
    );
    assert!(
        public.starts_with("-----BEGIN CERTIFICATE-----"),
        "{public}"
    );

    let key: serde_json::Value =
        serde_json::from_str(&cli(&data, &["list", "key", "show", &list, "--json"])).unwrap();
    assert_eq!(key["fingerprint"].as_str().unwrap(), fingerprint);
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&data, &["list", "show", &list, "--json"])).unwrap();
    assert_eq!(shown["summary"]["protocol"], "smime");
    assert_eq!(shown["account"]["imap"]["tls"], "implicit");
    assert_eq!(shown["account"]["smtp"]["port"], rig.smtps_port);
    let (ok, out, err) = cli_outcome(&data, &["list", "check", &list]);
    assert!(
        ok && out.contains("IMAP and SMTP logins work"),
        "{out}{err}"
    );
}
