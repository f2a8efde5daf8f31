//! MQTT uplink: delivers the outbox to the service centre and takes remote commands.
//!
//! The topic contract is `docs/mqtt.md` (JSON Schemas in `docs/schema/`). The layer is split
//! the way rumqttc splits its own client: pure parts ([`delivery`], [`command`], [`payload`],
//! [`topics`]) that are tested without a network, and a thin loop ([`Uplink::run`]) that
//! drives rumqttc's event loop with them.
//!
//! ```no_run
//! use obd_agent::outbox::MemoryOutbox;
//! use obd_agent::uplink::payload::AlertPayload;
//! use obd_agent::uplink::topics::{Topics, to_outbox_message};
//! use obd_agent::uplink::{CommandRequest, OutboxHandle, Uplink, UplinkConfig};
//! use tokio::sync::mpsc;
//!
//! # async fn example(alert: AlertPayload) -> Result<(), Box<dyn std::error::Error>> {
//! let config = UplinkConfig::new("broker.example.com", 1883, "VAN-042");
//! let outbox = OutboxHandle::new(MemoryOutbox::default()); // the SQLite store in the daemon
//! let (commands_tx, mut commands) = mpsc::channel::<CommandRequest>(8);
//! let uplink = tokio::spawn(Uplink::run(config, outbox.clone(), commands_tx, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! }));
//! // Producers accept messages into the outbox; the uplink delivers them.
//! outbox.push(to_outbox_message(&Topics::new("VAN-042"), &alert)?)?;
//! // The agent answers commands through the request's oneshot.
//! if let Some(request) = commands.recv().await {
//!     let _ = request.reply.send(Ok(serde_json::json!({ "vin": "WVWZZZ1JZXW000001" })));
//! }
//! let report = uplink.await??;
//! println!("{report:?}");
//! # Ok(())
//! # }
//! ```

pub mod command;
pub mod config;
pub mod delivery;
mod error;
pub mod ids;
mod inbox;
pub mod limit;
mod outbox_handle;
pub mod payload;
mod run;
mod session;
pub mod topics;

pub use command::{Command, CommandRequest, CommandResult};
pub use config::{ProtocolVersion, StatusInfo, TlsConfig, UplinkConfig};
pub use error::UplinkError;
pub use outbox_handle::{AcknowledgeBatch, OutboxHandle};
pub use run::{Uplink, UplinkReport};
