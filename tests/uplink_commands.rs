//! Remote commands through a real Mosquitto: MQTT 5 request/response with correlation data,
//! the MQTT 3.1.1 reply topic, and error replies for commands that cannot run.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::time::Duration;

use mosquitto::Mosquitto;
use obd_agent::outbox::MemoryOutbox;
use obd_agent::uplink::{
    Command, CommandRequest, OutboxHandle, ProtocolVersion, Uplink, UplinkConfig,
};
use rumqttc::v5 as mqtt5;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

const WAIT: Duration = Duration::from_secs(20);

/// A reply as the requester sees it.
#[derive(Debug)]
struct Reply {
    topic: String,
    correlation: Option<Vec<u8>>,
    body: Value,
}

/// A hotline client (MQTT 5 or 3.1.1) that subscribes to `filter` and collects what arrives.
struct Requester {
    v5: Option<mqtt5::AsyncClient>,
    v4: Option<rumqttc::AsyncClient>,
    replies: mpsc::UnboundedReceiver<Reply>,
}

impl Requester {
    async fn connect(port: u16, protocol: ProtocolVersion, filter: &str) -> Requester {
        let (tx, replies) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed) = oneshot::channel();
        let mut subscribed_tx = Some(subscribed_tx);
        let mut requester = Requester {
            v5: None,
            v4: None,
            replies,
        };
        match protocol {
            ProtocolVersion::V5 => {
                let options = mqtt5::MqttOptions::new("hotline-5", "127.0.0.1", port);
                let (client, mut events) = mqtt5::AsyncClient::new(options, 16);
                client
                    .subscribe(filter, mqtt5::mqttbytes::QoS::AtLeastOnce)
                    .await
                    .unwrap();
                tokio::spawn(async move {
                    use mqtt5::mqttbytes::v5::Packet;
                    while let Ok(event) = events.poll().await {
                        match event {
                            mqtt5::Event::Incoming(Packet::SubAck(_)) => {
                                subscribed_tx.take().map(|s| s.send(()));
                            }
                            mqtt5::Event::Incoming(Packet::Publish(p)) => {
                                let _ = tx.send(Reply {
                                    topic: String::from_utf8_lossy(&p.topic).into_owned(),
                                    correlation: p
                                        .properties
                                        .and_then(|p| p.correlation_data)
                                        .map(|c| c.to_vec()),
                                    body: serde_json::from_slice(&p.payload).unwrap(),
                                });
                            }
                            _ => {}
                        }
                    }
                });
                requester.v5 = Some(client);
            }
            ProtocolVersion::V311 => {
                let options = rumqttc::MqttOptions::new("hotline-4", "127.0.0.1", port);
                let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
                client
                    .subscribe(filter, rumqttc::QoS::AtLeastOnce)
                    .await
                    .unwrap();
                tokio::spawn(async move {
                    use rumqttc::{Event, Packet};
                    while let Ok(event) = events.poll().await {
                        match event {
                            Event::Incoming(Packet::SubAck(_)) => {
                                subscribed_tx.take().map(|s| s.send(()));
                            }
                            Event::Incoming(Packet::Publish(p)) => {
                                let _ = tx.send(Reply {
                                    topic: p.topic,
                                    correlation: None,
                                    body: serde_json::from_slice(&p.payload).unwrap(),
                                });
                            }
                            _ => {}
                        }
                    }
                });
                requester.v4 = Some(client);
            }
        }
        tokio::time::timeout(WAIT, subscribed)
            .await
            .expect("subscribed in time")
            .unwrap();
        requester
    }

    /// Sends a command; over MQTT 5 with a response topic and correlation data if given.
    async fn send(&self, topic: &str, payload: Vec<u8>, response: Option<(&str, &[u8])>) {
        if let Some(client) = &self.v5 {
            let properties = mqtt5::mqttbytes::v5::PublishProperties {
                response_topic: response.map(|(t, _)| t.to_string()),
                correlation_data: response.map(|(_, c)| c.to_vec().into()),
                ..Default::default()
            };
            let qos = mqtt5::mqttbytes::QoS::AtLeastOnce;
            client
                .publish_with_properties(topic, qos, false, payload, properties)
                .await
                .unwrap();
        } else if let Some(client) = &self.v4 {
            let qos = rumqttc::QoS::AtLeastOnce;
            client.publish(topic, qos, false, payload).await.unwrap();
        }
    }

    async fn next(&mut self) -> Reply {
        tokio::time::timeout(WAIT, self.replies.recv())
            .await
            .expect("a reply in time")
            .expect("requester running")
    }
}

/// Starts the uplink and a fake agent that answers scan and vin, fails live, ignores freeze.
fn start(port: u16, vehicle: &str, protocol: ProtocolVersion) -> oneshot::Sender<()> {
    let mut config = UplinkConfig::new("127.0.0.1", port, vehicle);
    config.protocol = protocol;
    config.command_timeout = Duration::from_millis(300);
    config.reconnect_initial = Duration::from_millis(100);
    config.reconnect_max = Duration::from_millis(500);
    let (commands_tx, mut commands) = mpsc::channel::<CommandRequest>(4);
    tokio::spawn(async move {
        let mut ignored = Vec::new();
        while let Some(request) = commands.recv().await {
            let answer = match request.command {
                Command::Scan => Ok(json!({ "codes": ["P0301"] })),
                Command::Vin => Ok(json!({ "vin": "WVWZZZ1JZXW000001" })),
                Command::Live { .. } => Err("adapter not connected".to_string()),
                _ => {
                    ignored.push(request.reply);
                    continue;
                }
            };
            let _ = request.reply.send(answer);
        }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let outbox = OutboxHandle::new(MemoryOutbox::default());
    tokio::spawn(Uplink::run(config, outbox, commands_tx, async {
        let _ = stopped.await;
    }));
    stop
}

/// Waits until the uplink has subscribed: a retained status means it is connected, and its
/// subscription is queued before that publish.
async fn wait_online(requester: &mut Requester) {
    let reply = requester.next().await;
    assert_eq!(reply.body["state"], "online", "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_command_round_trip_with_correlation_data() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let mut hotline = Requester::connect(broker.port(), ProtocolVersion::V5, "replies/#").await;
    let mut status =
        Requester::connect(broker.port(), ProtocolVersion::V311, "fleet/+/status").await;
    let _stop = start(broker.port(), "van-c5", ProtocolVersion::V5);
    wait_online(&mut status).await;
    let command = br#"{"schema":1,"request_id":"r-5","command":"scan"}"#.to_vec();
    let response = Some(("replies/desk-1", b"corr-42".as_slice()));
    hotline.send("fleet/van-c5/cmd", command, response).await;
    let reply = hotline.next().await;
    assert_eq!(reply.topic, "replies/desk-1");
    assert_eq!(reply.correlation.as_deref(), Some(b"corr-42".as_slice()));
    assert_eq!(reply.body["ok"], true);
    assert_eq!(reply.body["request_id"], "r-5");
    assert_eq!(reply.body["command"], "scan");
    assert_eq!(reply.body["result"]["codes"][0], "P0301");
    assert_eq!(reply.body["schema"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt311_replies_go_to_the_documented_reply_topic() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let filter = "fleet/van-c3/#";
    let mut hotline = Requester::connect(broker.port(), ProtocolVersion::V311, filter).await;
    let _stop = start(broker.port(), "van-c3", ProtocolVersion::V311);
    wait_online(&mut hotline).await;
    let command = br#"{"schema":1,"request_id":"r-311","command":"vin"}"#.to_vec();
    hotline.send("fleet/van-c3/cmd", command, None).await;
    let mut reply = hotline.next().await;
    // Our own command comes back first: the filter covers the cmd topic too.
    if reply.topic == "fleet/van-c3/cmd" {
        reply = hotline.next().await;
    }
    assert_eq!(reply.topic, "fleet/van-c3/cmd/reply/r-311");
    assert_eq!(reply.body["result"]["vin"], "WVWZZZ1JZXW000001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_cannot_run_get_error_replies_and_the_uplink_carries_on() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let filter = "fleet/van-bad/cmd/reply/#";
    let mut hotline = Requester::connect(broker.port(), ProtocolVersion::V5, filter).await;
    let mut status =
        Requester::connect(broker.port(), ProtocolVersion::V311, "fleet/+/status").await;
    let _stop = start(broker.port(), "van-bad", ProtocolVersion::V5);
    wait_online(&mut status).await;
    let oversized = format!(
        r#"{{"schema":1,"request_id":"r-big","command":"scan","pad":"{}"}}"#,
        "x".repeat(5000)
    );
    let cases: [(&[u8], &str, &str); 7] = [
        (b"{not json", "_invalid", "malformed"),
        (b"[1,2,3]", "_invalid", "malformed"),
        (
            br#"{"schema":1,"request_id":"r-u","command":"reboot"}"#,
            "r-u",
            "unknown_command",
        ),
        (
            br#"{"schema":1,"request_id":"r-c","command":"clear"}"#,
            "r-c",
            "invalid_arguments",
        ),
        (oversized.as_bytes(), "_invalid", "payload_too_large"),
        (
            br#"{"schema":1,"request_id":"r-l","command":"live","pids":["0C"]}"#,
            "r-l",
            "failed",
        ),
        (
            br#"{"schema":1,"request_id":"r-f","command":"freeze"}"#,
            "r-f",
            "timeout",
        ),
    ];
    for (payload, request_id, code) in cases {
        hotline
            .send("fleet/van-bad/cmd", payload.to_vec(), None)
            .await;
        let reply = hotline.next().await;
        assert_eq!(reply.topic, format!("fleet/van-bad/cmd/reply/{request_id}"));
        assert_eq!(reply.body["ok"], false, "{reply:?}");
        assert_eq!(reply.body["error"]["code"], code, "{reply:?}");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Still serving.
    let command = br#"{"schema":1,"request_id":"r-ok","command":"scan"}"#.to_vec();
    hotline.send("fleet/van-bad/cmd", command, None).await;
    let reply = hotline.next().await;
    assert_eq!(reply.body["ok"], true, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt5_command_over_the_packet_limit_never_reaches_the_vehicle() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let filter = "fleet/van-huge/cmd/reply/#";
    let mut hotline = Requester::connect(broker.port(), ProtocolVersion::V5, filter).await;
    let mut status =
        Requester::connect(broker.port(), ProtocolVersion::V311, "fleet/+/status").await;
    let _stop = start(broker.port(), "van-huge", ProtocolVersion::V5);
    wait_online(&mut status).await;
    // Larger than the 1 MiB the uplink announced: the broker drops it instead of delivering it.
    let huge = format!(
        r#"{{"schema":1,"request_id":"r-huge","pad":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    hotline
        .send("fleet/van-huge/cmd", huge.into_bytes(), None)
        .await;
    let command = br#"{"schema":1,"request_id":"r-after","command":"vin"}"#.to_vec();
    hotline.send("fleet/van-huge/cmd", command, None).await;
    let reply = hotline.next().await;
    assert_eq!(reply.body["request_id"], "r-after", "{reply:?}");
    assert_eq!(reply.body["ok"], true, "{reply:?}");
    // The connection never broke: no second online status.
    let again = tokio::time::timeout(Duration::from_millis(300), status.replies.recv()).await;
    assert!(again.is_err(), "the uplink reconnected: {again:?}");
}
