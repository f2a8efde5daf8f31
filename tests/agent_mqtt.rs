//! The daemon end to end: `obd-agent run` against the simulated vehicle and a real Mosquitto,
//! with an independent subscriber (mosquitto_sub) standing in for the service centre.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/mosquitto.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use agent::{Agent, write_config};
use support::{Mosquitto, Subscriber};

fn config(dir: &Path, port: u16, scenario: &str) -> std::path::PathBuf {
    write_config(dir, "TEST-1", port, scenario, "")
}

fn alert_ids(messages: &[(String, String)]) -> BTreeSet<String> {
    messages
        .iter()
        .filter(|(topic, _)| topic.ends_with("/alerts"))
        .filter_map(|(_, payload)| serde_json::from_str::<serde_json::Value>(payload).ok())
        .filter_map(|v| v["alert_id"].as_str().map(String::from))
        .collect()
}

/// Alert ids in the order the service centre first received them; repeats left out.
fn first_deliveries(messages: &[(String, String)]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    messages
        .iter()
        .filter(|(topic, _)| topic.ends_with("/alerts"))
        .filter_map(|(_, payload)| serde_json::from_str::<serde_json::Value>(payload).ok())
        .filter_map(|v| v["alert_id"].as_str().map(String::from))
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// Alerts waiting in the agent's outbox, read straight from its SQLite file.
fn stored_alerts(db: &Path) -> usize {
    queued_alert_ids(db).len()
}

/// The ids of the alerts waiting in the outbox, in the order the agent queued them.
fn queued_alert_ids(db: &Path) -> Vec<String> {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return Vec::new();
    };
    let Ok(mut query) =
        conn.prepare("SELECT payload FROM outbox WHERE topic LIKE '%/alerts' ORDER BY seq")
    else {
        return Vec::new();
    };
    let Ok(rows) = query.query_map([], |r| r.get::<_, Vec<u8>>(0)) else {
        return Vec::new();
    };
    rows.filter_map(Result::ok)
        .filter_map(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .filter_map(|v| v["alert_id"].as_str().map(String::from))
        .collect()
}

#[test]
fn alerts_reach_the_service_centre() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut subscriber = Subscriber::start(&broker, "fleet/TEST-1/#");
    let mut agent = Agent::start(&config(dir.path(), broker.port(), "misfire"));
    let messages = subscriber.wait_until(Duration::from_secs(60), |m| alert_ids(m).len() >= 2);
    agent.kill();
    let alerts: Vec<serde_json::Value> = messages
        .iter()
        .filter(|(t, _)| t == "fleet/TEST-1/alerts")
        .map(|(_, p)| serde_json::from_str(p).expect("alert JSON"))
        .collect();
    let codes: BTreeSet<&str> = alerts.iter().filter_map(|a| a["code"].as_str()).collect();
    assert!(
        codes.contains("P0300") && codes.contains("P0301"),
        "{messages:?}"
    );
    for alert in &alerts {
        assert_eq!(alert["event"], "new");
        assert_eq!(alert["vehicle_id"], "TEST-1");
        assert!(
            alert["description"]
                .as_str()
                .is_some_and(|d| d.contains("Misfire"))
        );
        assert!(
            alert["message_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
    }
    assert!(
        messages
            .iter()
            .any(|(t, p)| t == "fleet/TEST-1/status" && p.contains("\"online\"")),
        "retained status: {messages:?}"
    );
}

#[test]
fn nothing_is_lost_across_a_broker_outage_and_a_sigkill() {
    let Some(mut broker) = Mosquitto::start_persistent() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), broker.port(), "multi-ecu");
    let db = dir.path().join("agent.db");
    let mut subscriber =
        Subscriber::start_persistent(&broker, "fleet/TEST-1/alerts", "service-centre");
    broker.stop_gracefully();

    // The broker is down: alerts can only go to the outbox.
    let mut agent = Agent::start(&config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_alerts(&db) < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let waiting = stored_alerts(&db);
    assert!(
        waiting >= 5,
        "alerts should wait in the outbox, found {waiting}"
    );
    // A power cut, as far as the agent can tell.
    agent.kill();
    let queued = queued_alert_ids(&db);

    broker.restart();
    let mut agent = Agent::start(&config);
    let messages =
        subscriber.wait_until(Duration::from_secs(60), |m| alert_ids(m).len() >= waiting);
    agent.kill();
    let delivered = alert_ids(&messages);
    assert!(
        delivered.len() >= waiting,
        "{} of {waiting} alerts delivered: {messages:?}",
        delivered.len()
    );
    // In the order they were queued: the backend sees a fault's history in sequence.
    let first: Vec<String> = first_deliveries(&messages)
        .into_iter()
        .filter(|id| queued.contains(id))
        .collect();
    assert_eq!(
        first, queued,
        "delivery order differs from the outbox order"
    );
    // At least once, but a repeat only for what was in flight when a connection dropped: here
    // the broker never saw the first run, so the restarted agent has nothing to repeat.
    let alerts = messages
        .iter()
        .filter(|(t, _)| t.ends_with("/alerts"))
        .count();
    assert_eq!(alerts, delivered.len(), "duplicated alerts: {messages:?}");
    // Delivered alerts leave the outbox (acknowledged by the broker).
    assert!(
        stored_alerts(&db) < waiting,
        "acknowledged alerts are removed from the outbox"
    );
}
