//! The lists overview when the mail provider's sending limit holds copies
//! back: the list's row says how many wait and until when. The account
//! `quota1-w600-…` takes one message in ten minutes (tests/rig/README.md).

use std::time::Duration;

use fantoccini::Locator;
use rig::Rig;
use rig::owner::Owner;
use rig::window::{open_window, screenshot};

#[tokio::test(flavor = "multi_thread")]
async fn the_list_row_says_how_many_copies_wait_for_the_provider_s_limit() {
    let rig = Rig::get();
    let members: Vec<String> = (0..3).map(|i| rig.unique(&format!("w{i}"))).collect();
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("quota1-w600-win", &names);
    let post = rig::post(&members[0], &owner.list, "Picnic", "Sunday, noon.\r\n");
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));
    let out = owner.run_once();
    assert!(
        out.contains("1 sent") && out.contains("2 copies wait"),
        "{out}"
    );

    let scratch = tempfile::tempdir().unwrap();
    let (_driver, client) = open_window(owner.data.path(), scratch.path()).await;
    let result = async {
        let note = client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=list-limit]"))
            .await
            .map_err(|e| format!("the row says nothing of the limit: {e}"))?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        if !note.starts_with("2 copies wait for the provider's sending limit, until ") {
            return Err(format!("the row says: {note}"));
        }
        screenshot(&client, "list-limit").await;
        Ok::<(), String>(())
    }
    .await;
    let _ = client.close().await;
    result.unwrap();
}
