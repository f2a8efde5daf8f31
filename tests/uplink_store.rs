//! The uplink over the real SQLite store: an agent killed mid-drain loses nothing; the next
//! run delivers the rest, in order.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use mosquitto::{Mosquitto, Subscriber};
use obd_agent::outbox::NewMessage;
use obd_agent::store::{Store, StoreOptions};
use obd_agent::uplink::{OutboxHandle, Uplink, UplinkConfig};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).expect("open the store")
}

fn ids_seen(messages: &[(String, String)]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|(_, p)| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|v| v["message_id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_loses_nothing_from_the_sqlite_outbox() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let ids: Vec<String> = (0..2000).map(|n| format!("van-db-{n:04}")).collect();
    let messages: Vec<NewMessage> = ids
        .iter()
        .map(|id| NewMessage {
            message_id: id.clone(),
            topic: "fleet/van-db/alerts".into(),
            payload: format!(r#"{{"message_id":"{id}"}}"#).into_bytes(),
            retain: false,
        })
        .collect();
    open(&path).push_batch(&messages).unwrap();
    let mut sub = Subscriber::start(&broker, "fleet/van-db/alerts");
    let config = UplinkConfig::new("127.0.0.1", broker.port(), "van-db");

    // First run: killed (no shutdown, no flush) as soon as delivery is under way.
    let outbox = OutboxHandle::new(open(&path));
    let (commands, _keep) = mpsc::channel(1);
    let task = tokio::spawn(Uplink::run(
        config.clone(),
        outbox.clone(),
        commands.clone(),
        std::future::pending(),
    ));
    sub.wait_until(WAIT, |m| !m.is_empty());
    task.abort();
    let _ = task.await;
    drop(outbox);

    // Second run on the reopened database delivers whatever the first did not remove.
    let outbox = OutboxHandle::new(open(&path));
    let left = outbox.len().unwrap();
    assert!(left > 0, "the first run finished before it was killed");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(Uplink::run(config, outbox.clone(), commands, async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + WAIT;
    while outbox.len().unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "not drained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = sub.wait_until(WAIT, |m| {
        let got: HashSet<String> = ids_seen(m).into_iter().collect();
        got.len() == ids.len()
    });
    let mut known = HashSet::new();
    let first: Vec<String> = ids_seen(&seen)
        .into_iter()
        .filter(|id| known.insert(id.clone()))
        .collect();
    assert_eq!(first, ids, "every message, first deliveries in order");
    let _ = stop.send(());
    let report = tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.delivery.acknowledged, left as u64, "{report:?}");
}
