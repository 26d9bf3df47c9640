//! The list key screen installs an authority's certificate: a list whose
//! S/MIME key was made with a request (`list key generate --csr`) has no
//! certificate yet; the owner picks the authority's answer in the window,
//! and the list then has it, on the key that never left the keychain. A
//! certificate for another key is refused with the engine's reason. Needs a
//! keychain and a display; no mail is sent.

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use rig::Rig;
use rig::owner::Owner;
use rig::smime::Ca;
use rig::window::{open_window, screenshot};

async fn pick(client: &Client, file: &Path) -> Result<(), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=key-install-cert]"))
        .await?
        .send_keys(file.to_str().unwrap())
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authoritys_certificate_is_installed_from_the_window() {
    let rig = Rig::get();
    let ca = Ca::new("Org CA");
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-install"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Org",
        "--protocol",
        "smime",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (csr, cert, foreign) = (
        dir.path().join("list.csr"),
        dir.path().join("list.pem"),
        dir.path().join("other.pem"),
    );
    owner.ok(&[
        "list",
        "key",
        "generate",
        &owner.list,
        "--csr",
        csr.to_str().unwrap(),
    ]);
    ca.sign_request(&csr, &cert);
    // The same address, another key: it does not fit.
    std::fs::write(&foreign, ca.issue(&owner.list).pem()).unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result = async {
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=key-open]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=key-none]"))
            .await?;

        pick(&client, &foreign).await?;
        let refused = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=key-problem]"))
            .await?
            .text()
            .await?;

        pick(&client, &cert).await?;
        let shown = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=list-key][data-protocol=smime] [data-testid=key-fingerprint]",
            ))
            .await?
            .text()
            .await?;
        let said = client
            .find(Locator::Css("[data-testid=key-renewed]"))
            .await?
            .text()
            .await?;
        screenshot(&client, "list-key-installed").await;
        Ok::<_, Box<dyn std::error::Error>>((refused, shown, said))
    }
    .await;
    let _ = client.close().await;
    let (refused, shown, said) = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(refused.contains("does not belong"), "{refused}");
    assert!(said.contains("Org CA"), "{said}");
    let show = owner.json(&["list", "key", "show", &owner.list, "--json"]);
    assert!(
        show["issuer"].as_str().unwrap().contains("Org CA"),
        "{show}"
    );
    let fingerprint = show["fingerprint"].as_str().unwrap();
    assert_eq!(
        shown.split_whitespace().collect::<String>(),
        fingerprint.split_whitespace().collect::<String>()
    );
    assert!(
        owner
            .ok(&["list", "key", "export", &owner.list])
            .contains("BEGIN CERTIFICATE")
    );
}
