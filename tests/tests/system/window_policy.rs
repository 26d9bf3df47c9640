//! The policy screen over WebDriver. Switching a list to the preset
//! "Encrypted discussion" saves its four settings (the CLI sees them), a bad
//! value saves nothing and is explained next to its field, and the preset
//! shows as current when the panel opens again. On the mail rig, the app's
//! own agent then refuses a member's unsigned plain post and still delivers
//! a signed, encrypted one.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::gpg::{Gpg, encrypted_mail, gpg_to_list};
use rig::owner::Owner;
use rig::window::{cli, open_window, screenshot};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const LIST: &str = "policy@conclave.test";

/// The list's settings as `list show --json` prints them.
fn settings(data: &Path, list: &str) -> serde_json::Value {
    let shown: serde_json::Value =
        serde_json::from_str(&cli(data, &["list", "show", list, "--json"])).unwrap();
    shown["settings"].clone()
}

/// Opens the policy panel of the (only) list; returns the current preset
/// as the panel names it.
async fn open_policy(client: &Client) -> Result<String, Failure> {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=policy-open]"))
        .await
        .map_err(|e| format!("no Policy button in the list row: {e}"))?
        .click()
        .await?;
    let current = match client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=policy-current]"))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let text = client.find(Locator::Css("main")).await?.text().await?;
            return Err(format!(
                "the policy panel did not show the current preset ({e}); the window says:\n{text}"
            )
            .into());
        }
    };
    Ok(current.text().await?)
}

/// Picks a preset by its id.
async fn choose(client: &Client, preset: &str) -> Result<(), Failure> {
    client
        .find(Locator::Css(&format!(
            "[data-testid=policy-preset][data-preset={preset}] input"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Which preset's radio button is checked.
async fn checked_preset(client: &Client) -> Result<Option<String>, Failure> {
    for label in client
        .find_all(Locator::Css("[data-testid=policy-preset]"))
        .await?
    {
        if label
            .find(Locator::Css("input"))
            .await?
            .is_selected()
            .await?
        {
            return Ok(label.attr("data-preset").await?);
        }
    }
    Ok(None)
}

async fn replace_text(client: &Client, testid: &str, text: &str) -> Result<(), Failure> {
    let field = client
        .find(Locator::Css(&format!("[data-testid={testid}]")))
        .await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Waits for the status line to say something, and returns it.
async fn saved(client: &Client) -> Result<String, Failure> {
    let started = Instant::now();
    loop {
        let text = client
            .find(Locator::Css("[data-testid=policy-done]"))
            .await?
            .text()
            .await?;
        if !text.is_empty() {
            return Ok(text);
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("the panel did not say the settings were saved".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_to_a_preset_saves_its_four_settings() {
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
    // "Signed posts only, no spam": the defaults with post-sign force.
    cli(&data, &["list", "set", LIST, "post-sign", "force"]);

    let (_driver, client) = open_window(&data, tmp.path()).await;
    let result = async {
        let first = open_policy(&client).await?;
        let first_checked = checked_preset(&client).await?;
        // What it shows first; also, WebKitWebDriver's first screenshot of
        // a session can be a frame behind, which this one takes.
        screenshot(&client, "policy-opened").await;

        // A bad size with the preset: nothing is saved, the reason is at the field.
        choose(&client, "encrypted-discussion").await?;
        replace_text(&client, "policy-max-size", "lots").await?;
        let pending = client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .text()
            .await?;
        client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .click()
            .await?;
        let refusal = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=policy-problem][data-key=max-size]",
            ))
            .await
            .map_err(|e| format!("no reason next to the size field: {e}"))?
            .text()
            .await?;
        client
            .execute(
                "document.querySelector('[data-testid=policy-general]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "policy-refused").await;
        let after_refusal = settings(&data, LIST);

        replace_text(&client, "policy-max-size", "2M").await?;
        client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .click()
            .await?;
        let done = saved(&client).await?;
        let current = client
            .find(Locator::Css("[data-testid=policy-current]"))
            .await?
            .text()
            .await?;
        client
            .execute(
                "document.getElementById('policy-panel').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "policy").await;
        for id in ["policy-crypto", "policy-general"] {
            client
                .execute(
                    &format!("document.querySelector('[data-testid={id}]').scrollIntoView()"),
                    vec![],
                )
                .await?;
            screenshot(&client, id).await;
        }

        // Closed and opened again: read back from the store.
        client
            .find(Locator::Css("[data-testid=policy-close]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("[data-testid=policy-open][aria-expanded=false]"))
            .await?;
        let reopened = open_policy(&client).await?;
        let reopened_checked = checked_preset(&client).await?;
        // An OpenPGP list hides encrypted copies' subjects; the owner turns
        // it off (members reading S/MIME in Outlook, say).
        let protect = client
            .find(Locator::Css("[data-testid=policy-protect-subject]"))
            .await?;
        if protect.prop("checked").await?.as_deref() != Some("true") {
            return Err("an OpenPGP list starts with protect-subject on".into());
        }
        client
            .execute(
                "document.querySelector('[data-testid=policy-protect-subject]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        screenshot(&client, "policy-protect-subject").await;
        protect.click().await?;
        client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .click()
            .await?;
        saved(&client).await?;
        Ok::<_, Failure>((
            first,
            first_checked,
            pending,
            refusal,
            after_refusal,
            done,
            current,
            reopened,
            reopened_checked,
        ))
    }
    .await;
    let _ = client.close().await;

    let (
        first,
        first_checked,
        pending,
        refusal,
        after_refusal,
        done,
        current,
        reopened,
        reopened_checked,
    ) = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, "Signed posts only, no spam");
    assert_eq!(first_checked.as_deref(), Some("signed-posts-only"));
    assert_eq!(
        pending, "Save 3 changes",
        "post-encrypt and distrib-encrypt to force (post-sign is force already), and the size"
    );
    assert!(refusal.contains("'lots' is not a size"), "{refusal}");
    assert_eq!(
        after_refusal["post-encrypt"], "yes",
        "a refused save saves nothing: {after_refusal}"
    );
    assert_eq!(
        done,
        "3 settings were saved. The list follows “Encrypted discussion”."
    );
    assert_eq!(current, "Encrypted discussion");
    assert_eq!(reopened, "Encrypted discussion");
    assert_eq!(reopened_checked.as_deref(), Some("encrypted-discussion"));

    let s = settings(&data, LIST);
    assert_eq!(s["post-encrypt"], "force", "{s}");
    assert_eq!(s["post-sign"], "force", "{s}");
    assert_eq!(s["distrib-encrypt"], "force", "{s}");
    assert_eq!(s["distrib-sign"], "yes", "{s}");
    assert_eq!(s["max-size"], (2 * 1024 * 1024).to_string(), "{s}");
    assert_eq!(s["protect-subject"], "no", "{s}");
    let log = cli(&data, &["log", LIST]);
    for line in [
        "post-encrypt set to 'force'",
        "distrib-encrypt set to 'force'",
        "max-size set to '2097152'",
        "protect-subject set to 'no'",
    ] {
        assert!(
            log.contains(line),
            "the change is in the activity: {line}\n{log}"
        );
    }
}

/// The footer the owner types in the window.
const FOOTER: &str = "Secure list: meetings on Tuesdays";

/// Needs the mail rig (CONCLAVE_RIG_DIR) and a keychain (the list key).
#[tokio::test(flavor = "multi_thread")]
async fn under_encrypted_discussion_the_app_refuses_an_unsigned_plain_post() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-policy"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Secure",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &owner.list]);
    let list_key = owner.ok(&["list", "key", "export", &owner.list]);
    let (alice, bob) = (rig.unique("alice"), rig.unique("bob"));
    let mut gpgs = Vec::new();
    for who in [&alice, &bob] {
        let g = Gpg::new();
        g.generate(&format!("Member <{who}>"), "future-default", "never", &[]);
        assert!(
            g.run(&["--import"], Some(list_key.as_bytes()))
                .status
                .success()
        );
        let file = g.home.path().join("key.asc");
        std::fs::write(&file, g.export(who)).unwrap();
        owner.ok(&[
            "member",
            "add",
            &owner.list,
            who,
            "--key",
            file.to_str().unwrap(),
        ]);
        gpgs.push(g);
    }

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;
    let result = async {
        let before = open_policy(&client).await?;
        choose(&client, "encrypted-discussion").await?;
        replace_text(&client, "policy-footer", FOOTER).await?;
        client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .click()
            .await?;
        saved(&client).await?;

        // A member's post, neither encrypted nor signed: the app's agent
        // (watching the mailbox) refuses it.
        let plain = rig::post(&alice, &owner.list, "plain words", "in the clear\r\n");
        rig.submit(&alice, Some(&alice), &[&owner.list], &plain);
        let started = Instant::now();
        let reason = loop {
            let log = owner.json(&["log", &owner.list, "--json"]);
            let found = log.as_array().unwrap().iter().find_map(|a| {
                let m = a["message"].as_str().unwrap_or("");
                (a["kind"] == "decision" && m.contains("post-encrypt force")).then(|| m.to_string())
            });
            if let Some(r) = found {
                break r;
            }
            if started.elapsed() > Duration::from_secs(90) {
                return Err(format!(
                    "the app did not decide on the plain post within 90 s:\n{}",
                    owner.ok(&["log", &owner.list])
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };

        // Signed and encrypted to the list: it goes out.
        let entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nMeeting at 7.\r\n";
        let ct = gpg_to_list(
            &gpgs[0],
            &[
                "--local-user",
                &alice,
                "--sign",
                "--encrypt",
                "--recipient",
                &owner.list,
            ],
            entity,
        );
        rig.submit(
            &alice,
            Some(&alice),
            &[&owner.list],
            &encrypted_mail(&alice, &owner.list, &ct),
        );
        let to = bob.clone();
        let got = tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&to, "INBOX", 1, Duration::from_secs(90))
        })
        .await?;
        Ok::<_, Failure>((before, reason, got))
    }
    .await;
    let _ = client.close().await;

    let (before, reason, got) = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before, "Custom", "a new list's defaults are no preset");
    assert!(reason.contains("not encrypted"), "{reason}");
    assert_eq!(got.len(), 1, "only the signed, encrypted post reached Bob");
    let copy = String::from_utf8_lossy(&got[0]);
    assert!(copy.contains("multipart/encrypted"), "{copy}");
    assert!(
        !copy.contains("in the clear") && !copy.contains("Meeting at 7"),
        "{copy}"
    );
    assert!(!copy.contains(FOOTER), "the footer travels encrypted too");
    // Bob's gpg opens it: the post, then the footer set in the window.
    let start = copy
        .find("-----BEGIN PGP MESSAGE-----")
        .expect("an armored message");
    let end = copy.find("-----END PGP MESSAGE-----").expect("its end")
        + "-----END PGP MESSAGE-----".len();
    let opened = gpgs[1].run(&["--decrypt"], Some(copy[start..end].as_bytes()));
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    let opened = String::from_utf8_lossy(&opened.stdout);
    let (post, footer) = (
        opened.find("Meeting at 7.").expect("the post"),
        opened.find(FOOTER).expect("the footer"),
    );
    assert!(post < footer, "the footer follows the post:\n{opened}");
    let s = owner.json(&["list", "show", &owner.list, "--json"]);
    assert_eq!(s["settings"]["post-encrypt"], "force");
    assert_eq!(s["settings"]["footer"], FOOTER);
}

/// Removing a list from the laptop in the window: the button waits for the
/// list's address typed again; then the row is gone, and so are the list's
/// keychain entries.
#[tokio::test(flavor = "multi_thread")]
async fn a_list_is_removed_from_the_laptop_after_its_address_is_typed() {
    use conclave_engine::secrets::{self, SecretError, SecretKind};
    let rig = Rig::get();
    let member = rig.unique("stays-nowhere");
    let owner = Owner::new("list-forget-win", &[&member]);
    owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--protocol",
        "openpgp",
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result: Result<(), Failure> = async {
        open_policy(&client).await?;
        client
            .find(Locator::Css("[data-testid=forget-list] summary"))
            .await?
            .click()
            .await?;
        let typed = client
            .find(Locator::Css("[data-testid=forget-typed]"))
            .await?;
        let confirm = client
            .find(Locator::Css("[data-testid=forget-confirm]"))
            .await?;
        typed.send_keys("someone@else.test").await?;
        if confirm.is_enabled().await? {
            return Err("the button works before the address is typed".into());
        }
        typed.clear().await?;
        typed.send_keys(&owner.list).await?;
        if !confirm.is_enabled().await? {
            return Err("the typed address does not confirm".into());
        }
        screenshot(&client, "forget-list").await;
        confirm.click().await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !client
            .find_all(Locator::Css("[data-testid=list-row]"))
            .await?
            .is_empty()
        {
            if Instant::now() > deadline {
                let text = client.find(Locator::Css("main")).await?.text().await?;
                return Err(format!("the list is still shown: {text}").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap();
    for kind in [SecretKind::ImapPassword, SecretKind::OpenPgpListKey] {
        assert!(
            matches!(
                secrets::load(&owner.list, kind).await,
                Err(SecretError::Missing(_))
            ),
            "{kind:?} is still in the keychain"
        );
    }
    let e = owner.fails(&["list", "show", &owner.list]);
    assert!(e.contains(&owner.list), "{e}");
}

/// On an S/MIME list the panel offers `cert-auto-update` (on by default),
/// and, like any list with a key, how long invitations last and how many
/// answers an address gets a day; the owner changes all three in one save.
#[tokio::test(flavor = "multi_thread")]
async fn invitations_answers_and_renewed_certificates_are_set_in_the_window() {
    const SMIME: &str = "clinic-policy@conclave.test";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    cli(
        &data,
        &[
            "list",
            "create",
            SMIME,
            "--name",
            "Clinic",
            "--protocol",
            "smime",
        ],
    );
    let (_driver, client) = open_window(&data, tmp.path()).await;
    let result = async {
        open_policy(&client).await?;
        let auto = client
            .find(Locator::Css("[data-testid=policy-cert-auto-update]"))
            .await?;
        let was_on = auto.prop("checked").await?.as_deref() == Some("true");
        client
            .execute(
                "document.querySelector('[data-testid=policy-cert-auto-update]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        auto.click().await?;
        replace_text(&client, "policy-invite-days", "14").await?;
        replace_text(&client, "policy-answers-a-day", "5").await?;
        screenshot(&client, "policy-smime-joining").await;
        client
            .find(Locator::Css("[data-testid=policy-save]"))
            .await?
            .click()
            .await?;
        let done = saved(&client).await?;
        Ok::<_, Failure>((was_on, done))
    }
    .await;
    let _ = client.close().await;
    let (was_on, done) = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(was_on, "renewed certificates are taken by default");
    assert!(done.starts_with("3 settings were saved"), "{done}");
    let s = settings(&data, SMIME);
    assert_eq!(s["cert-auto-update"], "no", "{s}");
    assert_eq!(s["invite-days"], "14", "{s}");
    assert_eq!(s["answers-a-day"], "5", "{s}");
}
