//! An insider's forgery held for an owner, in the window: the held row
//! shows what From says and, beside it, the member whose key really signed
//! it; approving it sends it as that member's post.

use std::time::Duration;

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::gpg::{encrypted_mail, gpg_to_list};
use rig::lists::{fingerprint, gpg_member, grouped, openpgp_list};
use rig::window::{open_window, screenshot, wait_for_all};

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn text_of(client: &Client, css: &str) -> Result<String, Failure> {
    Ok(client.find(Locator::Css(css)).await?.text().await?)
}

/// Needs the mail rig (CONCLAVE_RIG_DIR) and a keychain (the list key).
#[tokio::test(flavor = "multi_thread")]
async fn the_held_row_names_who_signed_and_approve_sends_it_as_theirs() {
    let rig = Rig::get();
    let (owner, list_key) = openpgp_list("list-held-signer", "Tenants");
    let (alice, bob, carol) = (rig.unique("alice"), rig.unique("bob"), rig.unique("carol"));
    gpg_member(&owner, &alice, &list_key, true);
    let gb = gpg_member(&owner, &bob, &list_key, true);
    gpg_member(&owner, &carol, &list_key, true);
    owner.ok(&["member", "set", &owner.list, &bob, "name", "Bob"]);
    owner.ok(&["list", "set", &owner.list, "owner-notices", "no"]);

    // Bob signs, with Alice in From; it comes from another server.
    let ct = gpg_to_list(
        &gb,
        &[
            "--local-user",
            &bob,
            "--sign",
            "--encrypt",
            "--recipient",
            &owner.list,
        ],
        b"Content-Type: text/plain\r\n\r\nAlice agrees to pay for the party.\r\n",
    );
    rig.deliver(
        Some(&alice),
        &[&owner.list],
        &encrypted_mail(&alice, &owner.list, &ct),
    );
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 held"),
        "{out}\n{}",
        owner.ok(&["log", &owner.list])
    );

    let tmp = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), tmp.path()).await;
    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=held-open]"))
            .await?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=held-row]", 10, |r| r.len() == 1).await?;
        let seen = (
            text_of(&client, "[data-testid=held-sender]").await?,
            text_of(&client, "[data-testid=held-signer]").await?,
        );
        client
            .execute(
                "document.querySelector('[data-testid=held-row]').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await?;
        screenshot(&client, "held-signer").await;
        client.find(Locator::Css("[data-testid=held-approve]")).await?.click().await?;
        let member = carol.clone();
        let got = tokio::task::spawn_blocking(move || {
            Rig::get().wait_for(&member, "INBOX", 1, Duration::from_secs(60))
        })
        .await?;
        Ok::<_, Failure>((seen, got))
    }
    .await;
    let _ = client.close().await;
    let ((sender, signer), got) = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sender, alice, "what From says");
    assert!(signer.contains(&format!("signed by {bob}")), "{signer:?}");
    assert!(
        signer.contains(&grouped(&fingerprint(&gb, &bob))),
        "{signer:?}"
    );
    let from = conclave_engine::mime::header(conclave_engine::mime::split_head(&got[0]).0, "From")
        .unwrap();
    assert_eq!(
        from,
        format!("\"Bob via Tenants\" <{}>", owner.list),
        "sent as the signer's post"
    );
}
