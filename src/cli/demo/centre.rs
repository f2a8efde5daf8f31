//! The service centre's side: an ordinary MQTT client subscribed to the vehicle's topics,
//! the same for the embedded broker and an external one.

use std::time::{Duration, SystemTime};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::error::CliError;

/// How long the broker gets to answer the first connection (the embedded one is still
/// binding its port when the demo first knocks).
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// A message as the centre received it.
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
}

pub struct Centre {
    client: AsyncClient,
    task: tokio::task::JoinHandle<()>,
}

impl Centre {
    /// Connects and subscribes to `filter`; returns once the broker has confirmed the
    /// subscription, so nothing the agent publishes afterwards is missed.
    pub async fn subscribe(
        host: &str,
        port: u16,
        filter: &str,
        out: mpsc::Sender<Received>,
    ) -> Result<Centre, CliError> {
        let id = format!("obd-agent-demo-centre-{}", std::process::id());
        let mut options = MqttOptions::new(id, host, port);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_clean_session(true);
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        let (client, mut events) = AsyncClient::new(options, 64);
        let deadline = Instant::now() + CONNECT_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, events.poll()).await {
                Err(_) => {
                    return Err(CliError::Failed(format!(
                        "no MQTT broker answers at {host}:{port}; is it running?"
                    )));
                }
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                    client
                        .subscribe(filter, QoS::AtLeastOnce)
                        .await
                        .map_err(|e| CliError::Failed(format!("cannot subscribe: {e}")))?;
                }
                Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
                Ok(Ok(_)) => {}
                // Not listening yet, or refused: try again until the deadline.
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let task = tokio::spawn(forward(events, out, SystemTime::now()));
        Ok(Centre { client, task })
    }

    pub async fn disconnect(self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.task).await;
    }
}

async fn forward(mut events: EventLoop, out: mpsc::Sender<Received>, since: SystemTime) {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // A retained message from before this run (an external broker keeps the last
                // status) is not something this demo's car did. Judged by its timestamp, as
                // brokers differ in whether they flag live copies of retained messages.
                if p.retain && produced(&p.payload).is_none_or(|t| t < since) {
                    continue;
                }
                let received = Received {
                    topic: p.topic,
                    payload: p.payload.to_vec(),
                };
                if out.send(received).await.is_err() {
                    return;
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "service centre lost the broker; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The `timestamp` every payload of the contract carries.
fn produced(payload: &[u8]) -> Option<SystemTime> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    humantime::parse_rfc3339(value.get("timestamp")?.as_str()?).ok()
}
