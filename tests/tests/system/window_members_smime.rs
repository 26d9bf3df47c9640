//! The members screen of an S/MIME list over WebDriver, with certificates
//! made by the real `openssl` CLI: the list's authority is trusted from the
//! window; a certificate that authority issued is imported from a file and
//! its SHA-256 shows in the table as `conclave-cli member list` reports it;
//! a self-signed certificate is refused until "Trust this certificate for
//! this member only" is chosen; a certificate for another address (pasted
//! as PEM) is refused with the reason; a PKCS#7 bundle of two members adds
//! both after one review; a member with an OpenPGP key too (a mixed list)
//! shows both. Needs no mail rig: nothing is sent.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, Locator};
use rig::gpg::Gpg;
use rig::smime::{Ca, MemberCert};
use rig::window::{cli, open_window, screenshot, wait_for_all};

const LIST: &str = "clinic@conclave.test";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A certs-only PKCS#7 bundle (DER, as `.p7b` files are) of these PEM files.
fn pkcs7_bundle(certs: &[&Path]) -> Vec<u8> {
    let mut cmd = Command::new("openssl");
    cmd.args(["crl2pkcs7", "-nocrl", "-outform", "DER"]);
    for c in certs {
        cmd.arg("-certfile").arg(c);
    }
    let out = cmd.output().expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fingerprint each member row shows first, by address.
async fn fingerprints(client: &Client) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for row in client
        .find_all(Locator::Css("[data-testid=member-row]"))
        .await?
    {
        let email = row.attr("data-email").await?.unwrap_or_default();
        let text = match row
            .find(Locator::Css("[data-testid=member-fingerprint] code"))
            .await
        {
            Ok(code) => words(&code.text().await?),
            Err(_) => String::new(),
        };
        out.push((email, text));
    }
    Ok(out)
}

async fn wait_for_text(
    client: &Client,
    css: &str,
    secs: u64,
    ok: impl Fn(&str) -> bool,
) -> Result<String, Failure> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(e) = client.find(Locator::Css(css)).await {
            let text = e.text().await.unwrap_or_default();
            if ok(&text) {
                return Ok(text);
            }
            if started.elapsed() > Duration::from_secs(secs) {
                return Err(format!("{css} says {text:?}, not as expected after {secs} s").into());
            }
        } else if started.elapsed() > Duration::from_secs(secs) {
            return Err(format!("{css}: not shown after {secs} s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s_mime_certificates_are_reviewed_trusted_or_pinned_and_shown_by_their_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    cli(
        &data,
        &[
            "list",
            "create",
            LIST,
            "--name",
            "Clinic",
            "--protocol",
            "smime",
        ],
    );
    cli(&data, &["list", "key", "generate", LIST]);

    // Certificates as members' clients and an organisation's authority make
    // them, with openssl.
    let ca = Ca::new("Clinic Staff CA");
    let ann = ca.issue("ann@conclave.test");
    let dan = MemberCert::self_signed("dan@conclave.test");
    let carol = ca.issue("carol@conclave.test");
    let eve = ca.issue("eve@conclave.test");
    let fay = ca.issue("fay@conclave.test");
    let bundle = tmp.path().join("staff.p7b");
    std::fs::write(&bundle, pkcs7_bundle(&[&eve.cert, &fay.cert, &ca.cert])).unwrap();
    let carol_pem = String::from_utf8(carol.pem()).unwrap();
    let ann_sha = rig::smime::sha256_fingerprint(&ann.cert);

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
            .for_element(Locator::Css("[data-testid=members-empty]"))
            .await
            .map_err(|e| format!("the members panel did not open: {e}"))?;

        // The authority, trusted from the window.
        client
            .find(Locator::Css("[data-testid=authority-file]"))
            .await?
            .send_keys(&ca.cert.to_string_lossy())
            .await?;
        let authority = wait_for_all(&client, "[data-testid=authority]", 10, |a| a.len() == 1)
            .await?
            .remove(0);
        let authority_text = authority.text().await?;
        client
            .execute(
                "document.querySelector('[data-testid=trusted-authorities]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "members-smime-authorities").await;

        // A certificate the authority issued, imported from a file.
        client
            .find(Locator::Css(
                "[data-testid=member-import] [data-testid=key-file]",
            ))
            .await?
            .send_keys(&ann.cert.to_string_lossy())
            .await?;
        let review = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(
                "[data-testid=import-review] [data-testid=key-candidate]",
            ))
            .await
            .map_err(|e| format!("no review of Ann's certificate: {e}"))?;
        let ann_review = (
            words(
                &review
                    .find(Locator::Css("[data-testid=review-fingerprint]"))
                    .await?
                    .text()
                    .await?,
            ),
            review
                .find(Locator::Css("[data-testid=review-issuer]"))
                .await?
                .text()
                .await?,
            review
                .find(Locator::Css("[data-testid=review-trust]"))
                .await?
                .text()
                .await?,
            review.attr("data-action").await?.unwrap_or_default(),
        );
        client
            .find(Locator::Css("[data-testid=import-add-all]"))
            .await?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 1).await?;
        let after_ann = fingerprints(&client).await?;

        // A self-signed certificate: refused until trusted for Dan only.
        let form = client
            .find(Locator::Css("[data-testid=member-add-form]"))
            .await?;
        form.find(Locator::Css("[data-testid=member-add-email]"))
            .await?
            .send_keys("dan@conclave.test")
            .await?;
        form.find(Locator::Css("[data-testid=key-file]"))
            .await?
            .send_keys(&dan.cert.to_string_lossy())
            .await?;
        let waiting = wait_for_text(
            &client,
            "[data-testid=member-add-form] [data-testid=key-waiting]",
            10,
            |t| !t.is_empty(),
        )
        .await?;
        let dan_trust = form
            .find(Locator::Css("[data-testid=review-trust]"))
            .await?
            .text()
            .await?;
        let save = form
            .find(Locator::Css("[data-testid=member-add-save]"))
            .await?;
        let refused_before_pin = !save.is_enabled().await?;
        // Clicking the disabled button adds nobody.
        let _ = save.click().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rows_before_pin = client
            .find_all(Locator::Css("[data-testid=member-row]"))
            .await?
            .len();
        form.find(Locator::Css("[data-testid=key-pin]"))
            .await?
            .click()
            .await?;
        let pinned_enabled = save.is_enabled().await?;
        client
            .execute(
                "document.querySelector('[data-testid=member-add-form]').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "members-smime-pin").await;
        save.click().await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 2).await?;

        // A certificate for another address, pasted: refused with the reason.
        let form = client
            .find(Locator::Css("[data-testid=member-add-form]"))
            .await?;
        form.find(Locator::Css("[data-testid=member-add-email]"))
            .await?
            .send_keys("bob@conclave.test")
            .await?;
        form.find(Locator::Css("[data-testid=key-paste-open]"))
            .await?
            .click()
            .await?;
        // Typed line by line: WebDriver drops a plain "\n", Enter breaks the line.
        form.find(Locator::Css("[data-testid=key-paste]"))
            .await?
            .send_keys(&carol_pem.replace('\n', "\u{E007}"))
            .await?;
        form.find(Locator::Css("[data-testid=key-paste-review]"))
            .await?
            .click()
            .await?;
        let wrong = wait_for_text(
            &client,
            "[data-testid=member-add-form] [data-testid=key-refusal]",
            10,
            |t| !t.is_empty(),
        )
        .await?;
        let wrong_blocked = !form
            .find(Locator::Css("[data-testid=member-add-save]"))
            .await?
            .is_enabled()
            .await?;

        // A PKCS#7 bundle of two members with their authority: one review.
        client
            .find(Locator::Css(
                "[data-testid=member-import] [data-testid=key-file]",
            ))
            .await?
            .send_keys(&bundle.to_string_lossy())
            .await?;
        let candidates = wait_for_all(
            &client,
            "[data-testid=import-review] [data-testid=key-candidate]",
            10,
            |c| c.len() == 2,
        )
        .await?;
        let mut bundle_actions = Vec::new();
        for c in &candidates {
            bundle_actions.push(c.attr("data-action").await?.unwrap_or_default());
        }
        let add_all = client
            .find(Locator::Css("[data-testid=import-add-all]"))
            .await?;
        let add_label = add_all.text().await?;
        add_all.click().await?;
        wait_for_all(&client, "[data-testid=member-row]", 10, |r| r.len() == 4).await?;
        let statuses = {
            let mut out = Vec::new();
            for s in client
                .find_all(Locator::Css("[data-testid=member-status]"))
                .await?
            {
                out.push(s.attr("data-status").await?.unwrap_or_default());
            }
            out
        };
        let table = fingerprints(&client).await?;
        Ok::<_, Failure>((
            authority_text,
            ann_review,
            after_ann,
            waiting,
            dan_trust,
            refused_before_pin,
            rows_before_pin,
            pinned_enabled,
            wrong,
            wrong_blocked,
            bundle_actions,
            add_label,
            statuses,
            table,
        ))
    }
    .await;

    let (
        authority_text,
        ann_review,
        after_ann,
        waiting,
        dan_trust,
        refused_before_pin,
        rows_before_pin,
        pinned_enabled,
        wrong,
        wrong_blocked,
        bundle_actions,
        add_label,
        statuses,
        table,
    ) = match result {
        Ok(r) => r,
        Err(e) => {
            screenshot(&client, "members-smime-failed").await;
            let _ = client.close().await;
            panic!("{e}");
        }
    };

    // A member with an OpenPGP key too, once the list has an OpenPGP key of
    // its own: the table shows both, each named.
    cli(
        &data,
        &["list", "key", "generate", LIST, "--protocol", "openpgp"],
    );
    let gpg = Gpg::new();
    let ann_pgp = gpg.generate("Ann <ann@conclave.test>", "future-default", "2y", &[]);
    let ann_pgp_file = tmp.path().join("ann.asc");
    std::fs::write(&ann_pgp_file, gpg.export(&ann_pgp)).unwrap();
    cli(
        &data,
        &[
            "member",
            "key",
            LIST,
            "ann@conclave.test",
            ann_pgp_file.to_str().unwrap(),
        ],
    );
    let mixed = async {
        client
            .find(Locator::Css("[data-testid=members-close]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=members-open]"))
            .await?
            .click()
            .await?;
        let more = wait_for_all(&client, "[data-testid=member-more-keys]", 10, |r| {
            r.len() == 1
        })
        .await?
        .remove(0);
        let more_text = words(&more.text().await?);
        let tags = client
            .find_all(Locator::Css(
                "[data-testid=member-fingerprint] .protocol-tag",
            ))
            .await?
            .len();
        client
            .execute(
                "document.getElementById('members-panel').scrollIntoView()",
                vec![],
            )
            .await?;
        screenshot(&client, "members-smime").await;

        // The authority is no longer trusted; the members keep their certificates.
        client
            .find(Locator::Css("[data-testid=authority-remove]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("[data-testid=authority-remove-confirm]"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=authorities-empty]"))
            .await?;
        Ok::<_, Failure>((more_text, tags))
    }
    .await;
    let _ = client.close().await;
    let (more_text, tags) = mixed.unwrap_or_else(|e| panic!("{e}"));

    assert!(
        authority_text.contains("Clinic Staff CA"),
        "{authority_text}"
    );
    let anchors = cli(&data, &["list", "trust", "list", LIST, "--json"]);
    assert_eq!(anchors.trim(), "[]", "removed from the window at the end");
    let log = cli(&data, &["log", LIST]);
    assert!(
        log.contains("trust anchor added: CN=Clinic Staff CA"),
        "{log}"
    );
    assert!(
        log.contains("trust anchor removed: CN=Clinic Staff CA"),
        "{log}"
    );
    let members = cli(&data, &["member", "list", LIST]);
    assert_eq!(members.lines().count(), 4, "{members}");

    let (shown, issuer, trust, action) = ann_review;
    assert_eq!(shown, ann_sha, "the review shows the certificate's SHA-256");
    assert!(issuer.contains("Clinic Staff CA"), "{issuer}");
    assert!(trust.contains("an authority this list trusts"), "{trust}");
    assert_eq!(action, "add");
    assert_eq!(
        after_ann,
        [("ann@conclave.test".to_string(), ann_sha.clone())],
        "the table shows the SHA-256 as openssl computes it"
    );

    assert!(dan_trust.contains("Self-signed"), "{dan_trust}");
    assert!(
        waiting.contains("Not saved unless you trust it"),
        "{waiting}"
    );
    assert!(
        refused_before_pin,
        "Add member is off until the certificate is trusted"
    );
    assert_eq!(rows_before_pin, 1, "Dan was not added before");
    assert!(pinned_enabled, "trusting it for Dan turns Add member on");

    assert!(
        wrong.contains("The certificate is for carol@conclave.test, not bob@conclave.test"),
        "{wrong}"
    );
    assert!(wrong_blocked);

    assert_eq!(
        bundle_actions,
        ["add", "add"],
        "the authority in the bundle is no member"
    );
    assert_eq!(add_label, "Add 2 members");
    assert!(statuses.iter().all(|s| s == "ok"), "{statuses:?}");

    // What the CLI sees is what the window showed.
    let listed: serde_json::Value =
        serde_json::from_str(&cli(&data, &["member", "list", LIST, "--json"])).unwrap();
    let smime_key = |who: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == who)
            .and_then(|m| {
                m["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|k| k["protocol"] == "smime")
                    .map(|k| k["fingerprint"].as_str().unwrap().to_string())
            })
    };
    assert_eq!(smime_key("ann@conclave.test"), Some(ann_sha.clone()));
    assert_eq!(
        smime_key("dan@conclave.test"),
        Some(rig::smime::sha256_fingerprint(&dan.cert))
    );
    assert_eq!(smime_key("bob@conclave.test"), None, "bob was never added");
    for who in ["eve@conclave.test", "fay@conclave.test"] {
        let shown = table.iter().find(|(e, _)| e == who).map(|(_, f)| f.clone());
        assert_eq!(shown, smime_key(who), "{who}");
    }
    assert_eq!(
        smime_key("eve@conclave.test"),
        Some(rig::smime::sha256_fingerprint(&eve.cert))
    );

    assert!(more_text.contains("OpenPGP"), "{more_text}");
    let grouped_pgp: String = ann_pgp
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(more_text.contains(&grouped_pgp), "{more_text}");
    assert_eq!(tags, 5, "each key names its protocol on a mixed list");
}
