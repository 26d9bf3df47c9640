//! A held post opened in the window, against the mail rig: a non-member's
//! post encrypted with gpg to an OpenPGP list's key is held; the window
//! decrypts it in memory and shows its subject, text and attachment, and
//! what Reject would tell the poster; after Approve it reaches a member.

use std::time::Duration;

use base64::Engine;
use conclave_engine::mime;
use fantoccini::{Client, Locator};
use rig::Rig;
use rig::gpg::{Gpg, gpg_to_list};
use rig::owner::Owner;
use rig::window::{open_window, screenshot, wait_for_all};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const WORDS: &str = "The hall is booked from 7; bring the keys.";
const FILE: &str = "minutes-march.pdf";

/// What the poster's client encrypts: a text and a PDF.
fn entity() -> Vec<u8> {
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n% minutes\n");
    format!(
        "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n\
         --in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{WORDS}\r\n\
         --in\r\nContent-Type: application/pdf; name=\"{FILE}\"\r\n\
         Content-Disposition: attachment; filename=\"{FILE}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
         --in--\r\n"
    )
    .into_bytes()
}

/// A PGP/MIME message from `from` to the list around armored ciphertext.
fn encrypted_post(from: &str, to: &str, subject: &str, ciphertext: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <held-detail.{}@conclave.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n\
         Content-Type: application/octet-stream\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    m.extend_from_slice(&mime::crlf(ciphertext));
    m.extend_from_slice(b"\r\n--b1--\r\n");
    m
}

async fn text_of(client: &Client, css: &str) -> Result<String, Failure> {
    Ok(client.find(Locator::Css(css)).await?.text().await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encrypted_held_post_is_read_in_the_window_and_approved() {
    let rig = Rig::get();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-held-detail"),
    };
    owner.ok(&[
        "list",
        "create",
        &owner.list,
        "--name",
        "Tenants",
        "--protocol",
        "openpgp",
    ]);
    owner.account(&rig.ca_path, &rig.password);
    owner.ok(&["list", "key", "generate", &owner.list]);
    let list_key = owner
        .ok(&["list", "key", "export", &owner.list])
        .into_bytes();

    // Alice is a member with a key; Eve is not a member.
    let alice = rig.unique("alice");
    let ga = Gpg::new();
    ga.generate(&format!("Alice <{alice}>"), "future-default", "never", &[]);
    let key_file = ga.home.path().join("alice.asc");
    std::fs::write(&key_file, ga.export(&alice)).unwrap();
    owner.ok(&[
        "member",
        "add",
        &owner.list,
        &alice,
        "--key",
        key_file.to_str().unwrap(),
    ]);
    let eve = rig.unique("eve");
    let ge = Gpg::new();
    assert!(ge.run(&["--import"], Some(&list_key)).status.success());
    let ct = gpg_to_list(&ge, &["--encrypt", "--recipient", &owner.list], &entity());
    let subject = "Minutes for Tuesday";
    rig.submit(
        &eve,
        Some(&eve),
        &[&owner.list],
        &encrypted_post(&eve, &owner.list, subject, &ct),
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
            .await
            .map_err(|e| format!("no held-posts button in the list row: {e}"))?
            .click()
            .await?;
        wait_for_all(&client, "[data-testid=held-row]", 10, |r| r.len() == 1).await?;
        client.find(Locator::Css("[data-testid=held-view-open]")).await?.click().await?;
        // Its text, or what stands instead of it.
        let shown = wait_for_all(
            &client,
            "[data-testid=held-post-text], [data-testid=held-post-unreadable], [data-testid=held-post-problem]",
            30,
            |found| !found.is_empty(),
        )
        .await?;
        if shown[0].attr("data-testid").await?.as_deref() != Some("held-post-text") {
            let said = text_of(&client, "[data-testid=held-post]").await?;
            return Err(format!("the post's text did not show; the view said:\n{said}").into());
        }
        let seen = (
            text_of(&client, "[data-testid=held-post-subject]").await?,
            text_of(&client, "[data-testid=held-post-text]").await?,
            text_of(&client, "[data-testid=held-post-attachments]").await?,
            text_of(&client, "[data-testid=held-post-encryption]").await?,
            text_of(&client, "[data-testid=held-post-headers]").await?,
            text_of(&client, "[data-testid=held-post-notice]").await?,
        );
        client
            .execute("document.getElementById('held-post').scrollIntoView({block: 'start'})", vec![])
            .await?;
        screenshot(&client, "held").await;

        client.find(Locator::Css("[data-testid=held-post-approve]")).await?.click().await?;
        let member = alice.clone();
        let got = tokio::task::spawn_blocking(move || Rig::get().wait_for(&member, "INBOX", 1, Duration::from_secs(60)))
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[data-testid=held-empty]"))
            .await
            .map_err(|e| format!("the panel did not say that nothing is held: {e}"))?;
        Ok::<_, Failure>((seen, got))
    }
    .await;
    let _ = client.close().await;

    let ((title, text, attachments, encryption, headers, notice), got) =
        result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(title, subject);
    assert!(text.contains(WORDS), "the decrypted text: {text:?}");
    assert!(
        attachments.contains(FILE) && attachments.contains("application/pdf"),
        "{attachments:?}"
    );
    assert!(
        encryption.contains("Encrypted to the list's key") && encryption.contains("not saved"),
        "{encryption:?}"
    );
    assert!(
        headers.contains(&eve) && headers.contains(&owner.list),
        "{headers:?}"
    );
    assert!(
        notice.contains(&format!("Your post to Tenants was not accepted: {subject}")),
        "{notice:?}"
    );
    assert!(
        notice.contains("is not a member"),
        "the poster is told the hold reason: {notice:?}"
    );

    // Read and sent, the clear text was never written to the data folder.
    let mut files = vec![owner.data.path().to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(WORDS.len()).any(|w| w == WORDS.as_bytes()),
                "{} holds the clear text",
                path.display()
            );
        }
    }

    // Alice's copy is encrypted to her, and holds what Eve wrote.
    let copy = &got[0];
    let (head, body) = mime::split_head(copy);
    let ct = mime::header(head, "Content-Type").unwrap();
    assert_eq!(mime::media_type(&ct), "multipart/encrypted");
    let parts = mime::parts(body, &mime::param(&ct, "boundary").unwrap()).unwrap();
    let out = ga.run(&["--decrypt"], Some(mime::split_head(parts[1]).1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(WORDS));
}
