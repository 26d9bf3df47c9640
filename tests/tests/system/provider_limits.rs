//! A provider's sending limit on the rig: the account `quota3-w600-…`
//! takes three messages in ten minutes and refuses every further one as
//! Gmail does ("550 5.4.5 Daily user sending quota exceeded."). The copies
//! it refuses wait: no member fails or shows as bouncing, the post stays in
//! the list's mailbox, and the owner reads how many wait and why.

use std::time::Duration;

use rig::Rig;
use rig::owner::Owner;

#[test]
fn copies_over_the_provider_s_quota_wait_instead_of_failing() {
    let rig = Rig::get();
    let members: Vec<String> = (0..6).map(|i| rig.unique(&format!("q{i}"))).collect();
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("quota3-w600-list", &names);
    let post = rig::post(&members[0], &owner.list, "Rally", "Saturday at noon.\r\n");
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));

    let out = owner.run_once();
    assert!(out.contains("3 sent") && out.contains("0 failed"), "{out}");
    assert!(out.contains("3 copies wait for the sending limit"), "{out}");

    let got: usize = members.iter().map(|m| rig.messages(m, "INBOX").len()).sum();
    assert_eq!(got, 3, "the provider took three copies");
    let listed = owner.json(&["member", "list", &owner.list, "--json"]);
    for m in listed.as_array().unwrap() {
        assert_eq!(m["bouncing"], serde_json::Value::Null, "{m}");
    }
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("Daily user sending quota exceeded") && log.contains("3 copies wait"),
        "{log}"
    );
    assert!(!log.contains("failed"), "{log}");
    // Not filed: the post stays (claimed) until every copy is out.
    assert_eq!(rig.messages(&owner.list, "Conclave/Claimed").len(), 1);

    // A run before the wait is over tries nothing.
    let out = owner.run_once();
    assert!(out.contains("0 sent") && out.contains("0 failed"), "{out}");
    let got: usize = members.iter().map(|m| rig.messages(m, "INBOX").len()).sum();
    assert_eq!(got, 3);
}

/// The owner knows the account's daily limit (`--daily-limit`, filled in
/// from the provider's preset in the window): the list keeps to it and the
/// copies beyond it wait, without the provider ever refusing one.
#[test]
fn a_daily_limit_spreads_a_fan_out_over_the_days() {
    let rig = Rig::get();
    let members: Vec<String> = (0..5).map(|i| rig.unique(&format!("d{i}"))).collect();
    let owner = Owner {
        data: tempfile::tempdir().unwrap(),
        list: rig.unique("list-daily"),
    };
    owner.ok(&["list", "create", &owner.list, "--name", "Daily"]);
    let mut account = owner.account_args(&rig.ca_path);
    account.extend(["--daily-limit".to_string(), "2".to_string()]);
    owner.ok(&account.iter().map(String::as_str).collect::<Vec<_>>());
    for m in &members {
        owner.ok(&["member", "add", &owner.list, m]);
    }
    let post = rig::post(&members[0], &owner.list, "Notes", "From the meeting.\r\n");
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));

    let out = owner.run_once();
    assert!(out.contains("2 sent") && out.contains("0 failed"), "{out}");
    assert!(out.contains("3 copies wait for the sending limit"), "{out}");
    let log = owner.ok(&["log", &owner.list]);
    assert!(
        log.contains("daily limit of 2 messages is reached") && log.contains("3 copies wait"),
        "{log}"
    );
    let out = owner.run_once();
    assert!(out.contains("0 sent"), "nothing more today: {out}");
}
