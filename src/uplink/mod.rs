//! MQTT uplink: delivers the outbox to the service centre and takes remote commands.
//!
//! The topic contract is `docs/mqtt.md` (JSON Schemas in `docs/schema/`). The layer is split
//! the way rumqttc splits its own client: pure parts ([`delivery`], [`command`], [`payload`],
//! [`topics`]) that are tested without a network, and a thin loop ([`Uplink::run`]) that
//! drives rumqttc's event loop with them.

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
