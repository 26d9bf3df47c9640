//! The agent's progress reports during a real fan-out on the rig: what the
//! window's "Sending N of M" is made from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conclave_engine::agent::{Agent, SendProgress};
use rig::Rig;
use rig::owner::Owner;

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_reports_each_delivery_up_to_the_total() {
    let rig = Rig::get();
    let members: Vec<String> = (0..12).map(|_| rig.unique("fan")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let owner = Owner::new("list-progress", &refs);
    let post = rig::post(&members[0], &owner.list, "progress", "Twelve copies.\r\n");
    rig.submit(&members[0], Some(&members[0]), &[&owner.list], &post);
    rig.wait_for(&owner.list, "INBOX", 1, Duration::from_secs(20));

    let heard: Arc<Mutex<Vec<SendProgress>>> = Arc::default();
    let sink = heard.clone();
    let agent = Agent::new(owner.data.path().to_path_buf())
        .with_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let report = agent
        .run_once(Some(&owner.list))
        .await
        .expect("the agent runs");
    assert_eq!(report.lists[0].sent, 12, "{report:?}");

    let heard = heard.lock().unwrap();
    assert!(
        heard.iter().all(|p| p.list == owner.list && p.total == 12),
        "{heard:?}"
    );
    let done: Vec<u32> = heard.iter().map(|p| p.done).collect();
    assert_eq!(
        done,
        (0..=12).collect::<Vec<_>>(),
        "each delivery once, in order"
    );
    let last = heard.last().unwrap();
    assert!(last.finished && last.done == last.total, "{last:?}");
    for m in &members {
        rig.wait_for(m, "INBOX", 1, Duration::from_secs(20));
    }
}
