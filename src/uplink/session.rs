//! One face over rumqttc's MQTT 3.1.1 (`rumqttc::`) and MQTT 5 (`rumqttc::v5::`) clients.
//!
//! The two APIs are parallel but distinct types; the run loop sees only [`SessionEvent`] and
//! the few operations it needs.

use rumqttc::v5 as mqtt5;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::{self as mqtt4, QoS};

use super::UplinkError;
use super::config::{ProtocolVersion, UplinkConfig};

/// Largest packet accepted from the broker. Commands are far smaller (`max_command_bytes`);
/// this only has to be large enough that an oversized command is answered with an error instead
/// of breaking the connection. MQTT 5 brokers drop larger packets for us; an MQTT 3.1.1 broker
/// would send one anyway, rumqttc would drop the connection, and a persistent session would
/// redeliver it after every reconnect, so the broker should cap packet sizes (docs/mqtt.md).
const MAX_INCOMING_PACKET: usize = 1024 * 1024;
/// Largest packet we send: an alert with a freeze frame is a few kilobytes.
const MAX_OUTGOING_PACKET: usize = 256 * 1024;

/// What the run loop needs to know from one step of the event loop.
#[derive(Debug)]
pub(crate) enum SessionEvent {
    ConnAck {
        session_present: bool,
    },
    /// `accepted` is false for an MQTT 5 failure reason code.
    PubAck {
        pkid: u16,
        accepted: bool,
    },
    /// A QoS 1 publish was written under `pkid`.
    OutgoingPublish(u16),
    /// The client holds the next publish until `pkid` is acknowledged.
    AwaitAck(u16),
    Publish(IncomingPublish),
    /// Our DISCONNECT was written (shutdown).
    DisconnectSent,
    Other,
}

#[derive(Debug)]
pub(crate) struct IncomingPublish {
    pub topic: String,
    pub payload: Vec<u8>,
    /// MQTT 5 request/response properties.
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
}

/// A connection failure; the run loop logs it and reconnects.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error(transparent)]
    V4(#[from] mqtt4::ConnectionError),
    #[error(transparent)]
    V5(#[from] mqtt5::ConnectionError),
}

/// The request queue towards the event loop is full (it holds a window's worth and more).
#[derive(Debug, thiserror::Error)]
#[error("the MQTT client's request queue is full")]
pub(crate) struct QueueFull;

/// The sending half: queues requests for the event loop.
pub(crate) enum Client {
    V4(mqtt4::AsyncClient),
    V5(mqtt5::AsyncClient),
}

/// The event loop that owns the connection.
///
/// Its `poll()` is not cancel-safe while it connects: dropping the future mid-connect drops a
/// TCP connection that already carried CONNECT, and the broker publishes the last will. The
/// run loop therefore keeps one poll future alive until it completes.
// One per connection, created once and never moved in a hot path, so the size difference
// costs nothing; it crosses clippy's threshold only with the features the demo broker's
// dependencies switch on in shared crates.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Events {
    // Boxed: the event loops are large (about 1 KiB) and differ in size; one exists per run.
    V4(Box<mqtt4::EventLoop>),
    V5(Box<mqtt5::EventLoop>),
}

/// Builds the client; nothing connects until the first [`Events::poll`].
pub(crate) fn new_session(
    config: &UplinkConfig,
    will_topic: &str,
    will_payload: Vec<u8>,
) -> Result<(Client, Events), UplinkError> {
    let tls = config.rustls_config()?;
    let client_id = config.client_id();
    // Room for a full window plus status, replies and subscriptions.
    let capacity = config.window + 64;
    // rumqttc numbers packet ids up to its in-flight limit; ours must stay below it so it
    // never holds a publish back (see docs/mqtt.md, "Delivery").
    let inflight = u16::try_from(config.window + 32).unwrap_or(u16::MAX);
    let timeout_secs = config.connect_timeout.as_secs().max(1);
    let session = match config.protocol {
        ProtocolVersion::V311 => {
            let mut options = mqtt4::MqttOptions::new(client_id, &config.host, config.port);
            options
                .set_keep_alive(config.keep_alive)
                .set_clean_session(!config.persistent_session)
                .set_inflight(inflight)
                .set_max_packet_size(MAX_INCOMING_PACKET, MAX_OUTGOING_PACKET)
                .set_last_will(mqtt4::LastWill::new(
                    will_topic,
                    will_payload,
                    QoS::AtLeastOnce,
                    true,
                ));
            if let Some(user) = &config.username {
                options.set_credentials(user, config.password.clone().unwrap_or_default());
            }
            if let Some(tls) = tls {
                options.set_transport(mqtt4::Transport::tls_with_config(
                    mqtt4::TlsConfiguration::Rustls(tls),
                ));
            }
            let (client, mut eventloop) = mqtt4::AsyncClient::new(options, capacity);
            let mut network = eventloop.network_options();
            network.set_connection_timeout(timeout_secs);
            eventloop.set_network_options(network);
            (Client::V4(client), Events::V4(Box::new(eventloop)))
        }
        ProtocolVersion::V5 => {
            let mut options = mqtt5::MqttOptions::new(client_id, &config.host, config.port);
            let expiry = u32::try_from(config.session_expiry.as_secs()).unwrap_or(u32::MAX);
            options
                .set_keep_alive(config.keep_alive)
                .set_clean_start(!config.persistent_session)
                .set_session_expiry_interval(config.persistent_session.then_some(expiry))
                .set_outgoing_inflight_upper_limit(inflight)
                .set_max_packet_size(u32::try_from(MAX_INCOMING_PACKET).ok())
                .set_connection_timeout(timeout_secs)
                .set_last_will(mqtt5::mqttbytes::v5::LastWill::new(
                    will_topic,
                    will_payload,
                    QoS5::AtLeastOnce,
                    true,
                    None,
                ));
            if let Some(user) = &config.username {
                options.set_credentials(user, config.password.clone().unwrap_or_default());
            }
            if let Some(tls) = tls {
                options.set_transport(mqtt4::Transport::tls_with_config(
                    mqtt4::TlsConfiguration::Rustls(tls),
                ));
            }
            let (client, eventloop) = mqtt5::AsyncClient::new(options, capacity);
            (Client::V5(client), Events::V5(Box::new(eventloop)))
        }
    };
    Ok(session)
}

impl Events {
    /// One step of the event loop; connects first when there is no connection.
    pub async fn poll(&mut self) -> Result<SessionEvent, SessionError> {
        match self {
            Events::V4(eventloop) => Ok(map_v4(eventloop.poll().await?)),
            Events::V5(eventloop) => Ok(map_v5(eventloop.poll().await?)),
        }
    }

    /// After a connection error, drops rumqttc's own copies of unacknowledged publishes (and
    /// any queued requests): the run loop resends outbox messages itself after the next ConnAck,
    /// and matching packet ids needs every QoS 1 publish to come from the run loop.
    pub fn drop_unacknowledged(&mut self) {
        match self {
            Events::V4(eventloop) => {
                eventloop.clean();
                eventloop.pending.clear();
            }
            Events::V5(eventloop) => {
                eventloop.clean();
                eventloop.pending.clear();
            }
        }
    }
}

impl Client {
    /// Queues a QoS 1 publish; `correlation_data` only travels over MQTT 5.
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
        correlation_data: Option<Vec<u8>>,
    ) -> Result<(), QueueFull> {
        let result = match self {
            Client::V4(client) => client
                .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                .is_ok(),
            Client::V5(client) => {
                let properties = mqtt5::mqttbytes::v5::PublishProperties {
                    // 1: the payload is UTF-8 (JSON), so MQTT 5 tools can show it.
                    payload_format_indicator: Some(1),
                    content_type: Some("application/json".into()),
                    correlation_data: correlation_data.map(Into::into),
                    ..Default::default()
                };
                client
                    .try_publish_with_properties(
                        topic,
                        QoS5::AtLeastOnce,
                        retain,
                        payload,
                        properties,
                    )
                    .is_ok()
            }
        };
        if result { Ok(()) } else { Err(QueueFull) }
    }

    pub fn subscribe(&self, filter: &str) -> Result<(), QueueFull> {
        let ok = match self {
            Client::V4(client) => client.try_subscribe(filter, QoS::AtLeastOnce).is_ok(),
            Client::V5(client) => client.try_subscribe(filter, QoS5::AtLeastOnce).is_ok(),
        };
        if ok { Ok(()) } else { Err(QueueFull) }
    }

    /// Queues a clean DISCONNECT (the broker then drops the last will).
    pub fn disconnect(&self) -> Result<(), QueueFull> {
        let ok = match self {
            Client::V4(client) => client.try_disconnect().is_ok(),
            Client::V5(client) => client.try_disconnect().is_ok(),
        };
        if ok { Ok(()) } else { Err(QueueFull) }
    }
}

fn map_v4(event: mqtt4::Event) -> SessionEvent {
    use mqtt4::{Event, Outgoing, Packet};
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => SessionEvent::ConnAck {
            session_present: ack.session_present,
        },
        Event::Incoming(Packet::PubAck(ack)) => SessionEvent::PubAck {
            pkid: ack.pkid,
            accepted: true,
        },
        Event::Incoming(Packet::Publish(publish)) => SessionEvent::Publish(IncomingPublish {
            topic: publish.topic,
            payload: publish.payload.to_vec(),
            response_topic: None,
            correlation_data: None,
        }),
        Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::OutgoingPublish(pkid),
        Event::Outgoing(Outgoing::AwaitAck(pkid)) => SessionEvent::AwaitAck(pkid),
        Event::Outgoing(Outgoing::Disconnect) => SessionEvent::DisconnectSent,
        _ => SessionEvent::Other,
    }
}

fn map_v5(event: mqtt5::Event) -> SessionEvent {
    use mqtt4::Outgoing;
    use mqtt5::Event;
    use mqtt5::mqttbytes::v5::{Packet, PubAckReason};
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => SessionEvent::ConnAck {
            session_present: ack.session_present,
        },
        Event::Incoming(Packet::PubAck(ack)) => SessionEvent::PubAck {
            pkid: ack.pkid,
            accepted: matches!(
                ack.reason,
                PubAckReason::Success | PubAckReason::NoMatchingSubscribers
            ),
        },
        Event::Incoming(Packet::Publish(publish)) => {
            let (response_topic, correlation_data) = match publish.properties {
                Some(p) => (p.response_topic, p.correlation_data.map(|c| c.to_vec())),
                None => (None, None),
            };
            SessionEvent::Publish(IncomingPublish {
                topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                payload: publish.payload.to_vec(),
                response_topic,
                correlation_data,
            })
        }
        Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::OutgoingPublish(pkid),
        Event::Outgoing(Outgoing::AwaitAck(pkid)) => SessionEvent::AwaitAck(pkid),
        Event::Outgoing(Outgoing::Disconnect) => SessionEvent::DisconnectSent,
        _ => SessionEvent::Other,
    }
}
