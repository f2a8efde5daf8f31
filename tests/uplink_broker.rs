//! The uplink against a real Mosquitto: delivery seen by an independent subscriber, broker
//! restarts, retained status and last will, TLS with a client certificate.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::time::Duration;

use mosquitto::{Mosquitto, Subscriber};
use obd_agent::outbox::{MemoryOutbox, NewMessage, Outbox};
use obd_agent::uplink::{
    CommandRequest, OutboxHandle, ProtocolVersion, TlsConfig, Uplink, UplinkConfig, UplinkError,
    UplinkReport,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

fn config(port: u16, vehicle: &str, protocol: ProtocolVersion) -> UplinkConfig {
    // Logs show with --nocapture; RUST_LOG=obd_agent=debug for more.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "obd_agent=info".into()),
        )
        .with_test_writer()
        .try_init();
    let mut config = UplinkConfig::new("127.0.0.1", port, vehicle);
    config.protocol = protocol;
    config.reconnect_initial = Duration::from_millis(100);
    config.reconnect_max = Duration::from_millis(500);
    config.connect_timeout = Duration::from_secs(2);
    config.outbox_poll = Duration::from_millis(200);
    config.shutdown_timeout = Duration::from_secs(2);
    config.status.adapter = Some("simulator".into());
    config.status.vin = Some("WVWZZZ1JZXW000001".into());
    config
}

struct Running {
    task: JoinHandle<Result<UplinkReport, UplinkError>>,
    stop: Option<oneshot::Sender<()>>,
    outbox: OutboxHandle<MemoryOutbox>,
    _commands: mpsc::Receiver<CommandRequest>,
}

impl Running {
    fn start(config: UplinkConfig) -> Running {
        let outbox = OutboxHandle::new(MemoryOutbox::default());
        let (commands_tx, commands) = mpsc::channel(8);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(Uplink::run(config, outbox.clone(), commands_tx, async {
            let _ = stopped.await;
        }));
        Running {
            task,
            stop: Some(stop),
            outbox,
            _commands: commands,
        }
    }

    async fn stop(mut self) -> UplinkReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("uplink stops in time")
            .expect("uplink task")
            .expect("uplink result")
    }

    fn push(&self, vehicle: &str, n: usize) -> String {
        let id = format!("{vehicle}-{n:05}");
        self.outbox
            .push(NewMessage {
                message_id: id.clone(),
                topic: format!("fleet/{vehicle}/alerts"),
                payload: format!(r#"{{"message_id":"{id}"}}"#).into_bytes(),
                retain: false,
            })
            .expect("push");
        id
    }

    async fn wait_drained(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.outbox.len().expect("len") > 0 {
            assert!(tokio::time::Instant::now() < deadline, "outbox not drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn ids_on(messages: &[(String, String)], topic: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|(t, _)| t == topic)
        .filter_map(|(_, p)| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|v| v["message_id"].as_str().map(str::to_string))
        .collect()
}

fn states(messages: &[(String, String)], topic: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|(t, _)| t == topic)
        .filter_map(|(_, p)| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|v| v["state"].as_str().map(str::to_string))
        .collect()
}

async fn end_to_end(protocol: ProtocolVersion, vehicle: &str) {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let mut sub = Subscriber::start(&broker, "fleet/#");
    let uplink = Running::start(config(broker.port(), vehicle, protocol));
    let ids: Vec<String> = (0..5).map(|n| uplink.push(vehicle, n)).collect();
    uplink.wait_drained().await;
    let alerts = format!("fleet/{vehicle}/alerts");
    let status = format!("fleet/{vehicle}/status");
    let seen = sub.wait_until(WAIT, |m| ids_on(m, &alerts).len() >= 5);
    assert_eq!(ids_on(&seen, &alerts), ids, "{}", broker.log());
    assert_eq!(
        states(&seen, &status).first().map(String::as_str),
        Some("online"),
        "{seen:?}"
    );
    let report = uplink.stop().await;
    assert_eq!(report.delivery.acknowledged, 5);
    // A clean shutdown publishes the offline status itself (the will is not sent then).
    let seen = sub.wait_until(WAIT, |m| states(m, &status).contains(&"offline".into()));
    assert_eq!(states(&seen, &status), ["online", "offline"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_an_independent_subscriber_over_mqtt5() {
    end_to_end(ProtocolVersion::V5, "van-5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_an_independent_subscriber_over_mqtt311() {
    end_to_end(ProtocolVersion::V311, "van-311").await;
}

async fn survives_broker_restart(protocol: ProtocolVersion, vehicle: &str) {
    let Some(mut broker) = Mosquitto::start_persistent() else {
        return;
    };
    let alerts = format!("fleet/{vehicle}/alerts");
    let mut sub = Subscriber::start_persistent(&broker, &alerts, &format!("sub-{vehicle}"));
    let uplink = Running::start(config(broker.port(), vehicle, protocol));
    let mut ids: Vec<String> = (0..300).map(|n| uplink.push(vehicle, n)).collect();
    // Stop the broker while the first batch is still being delivered.
    sub.wait_until(WAIT, |m| !ids_on(m, &alerts).is_empty());
    broker.stop_gracefully();
    ids.extend((300..400).map(|n| uplink.push(vehicle, n)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.restart();
    uplink.wait_drained().await;
    let seen = sub.wait_until(WAIT, |m| {
        let got = ids_on(m, &alerts);
        ids.iter().all(|id| got.contains(id))
    });
    let got = ids_on(&seen, &alerts);
    let mut first: Vec<&String> = Vec::new();
    for id in &got {
        if !first.contains(&id) {
            first.push(id);
        }
    }
    assert_eq!(
        first.len(),
        ids.len(),
        "missing messages:\n{}",
        broker.log()
    );
    assert!(first.iter().zip(&ids).all(|(a, b)| *a == b), "out of order");
    let report = uplink.stop().await;
    assert!(report.connections >= 2, "{report:?}");
    assert!(report.connection_errors >= 1, "{report:?}");
    // Our duplicates: only what was in flight (one window) when the connection broke. The
    // subscriber may see a few more: the broker redelivers what it had in flight to it.
    assert!(report.delivery.resends <= 32, "{report:?}");
    assert_eq!(report.delivery.acknowledged, ids.len() as u64, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_nothing_and_keeps_order_mqtt5() {
    survives_broker_restart(ProtocolVersion::V5, "van-r5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_nothing_and_keeps_order_mqtt311() {
    survives_broker_restart(ProtocolVersion::V311, "van-r311").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_while_the_broker_is_down_are_sent_after_it_starts() {
    let Some(mut broker) = Mosquitto::start() else {
        return;
    };
    broker.stop();
    let uplink = Running::start(config(broker.port(), "van-late", ProtocolVersion::V5));
    for n in 0..20 {
        uplink.push("van-late", n);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(uplink.outbox.len().unwrap(), 20);
    broker.restart();
    uplink.wait_drained().await;
    let report = uplink.stop().await;
    assert_eq!(report.delivery.acknowledged, 20);
    assert!(report.connection_errors >= 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_leaves_the_retained_offline_will() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let status = "fleet/van-will/status";
    let uplink = Running::start(config(broker.port(), "van-will", ProtocolVersion::V311));
    let mut sub = Subscriber::start(&broker, status);
    sub.wait_until(WAIT, |m| states(m, status).contains(&"online".into()));
    // Aborting the task drops the socket without a DISCONNECT: the broker sends the will.
    uplink.task.abort();
    let seen = sub.wait_until(WAIT, |m| states(m, status).contains(&"offline".into()));
    assert_eq!(states(&seen, status), ["online", "offline"]);
    // It is retained: a newcomer sees it at once.
    let mut late = Subscriber::start(&broker, status);
    let seen = late.wait_until(WAIT, |m| !states(m, status).is_empty());
    assert_eq!(states(&seen, status), ["offline"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_delivers() {
    let Some(broker) = Mosquitto::start_tls() else {
        return;
    };
    let tls = broker.tls_files().expect("TLS files");
    let mut config = config(
        broker.tls_port().expect("TLS port"),
        "van-tls",
        ProtocolVersion::V5,
    );
    config.host = "localhost".into();
    config.tls = Some(TlsConfig {
        ca_file: tls.ca.clone(),
        client_cert: Some((tls.client_cert.clone(), tls.client_key.clone())),
    });
    let mut sub = Subscriber::start(&broker, "fleet/van-tls/alerts");
    let uplink = Running::start(config);
    let id = uplink.push("van-tls", 1);
    uplink.wait_drained().await;
    let seen = sub.wait_until(WAIT, |m| !m.is_empty());
    assert_eq!(
        ids_on(&seen, "fleet/van-tls/alerts"),
        [id],
        "{}",
        broker.log()
    );
    uplink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_broker_refuses_stays_in_the_outbox_and_blocks_nothing() {
    let acl = "topic readwrite fleet/van-acl/alerts\n\
               topic readwrite fleet/van-acl/status\n\
               topic read fleet/van-acl/cmd\n";
    let Some(broker) = Mosquitto::start_with_acl(acl) else {
        return;
    };
    let uplink = Running::start(config(broker.port(), "van-acl", ProtocolVersion::V5));
    uplink.push("van-acl", 1);
    uplink
        .outbox
        .push(NewMessage {
            message_id: "denied".into(),
            topic: "fleet/van-acl/forbidden".into(),
            payload: b"{}".to_vec(),
            retain: false,
        })
        .expect("push");
    uplink.push("van-acl", 2);
    let deadline = tokio::time::Instant::now() + WAIT;
    while uplink.outbox.len().unwrap() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "{}", broker.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = uplink.outbox.lock().pending(None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id, "denied");
    let report = uplink.stop().await;
    assert_eq!(report.delivery.acknowledged, 2, "{report:?}");
    assert_eq!(report.delivery.refused, 1, "{report:?}");
}
