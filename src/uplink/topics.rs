//! Topic names of the contract and the hand-over of payloads to the outbox.

use serde::Serialize;

use super::UplinkError;
use super::payload::{
    AlertPayload, AppointmentPayload, Header, MaintenancePayload, TelemetryPayload,
};
use crate::outbox::NewMessage;

/// Topics of one vehicle: `fleet/<vehicle_id>/<kind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
}

impl Topics {
    /// `vehicle_id` must already be validated ([`super::config::is_topic_level`]).
    pub fn new(vehicle_id: &str) -> Self {
        Topics {
            base: format!("fleet/{vehicle_id}"),
        }
    }

    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }
    pub fn alerts(&self) -> String {
        format!("{}/alerts", self.base)
    }
    pub fn telemetry(&self) -> String {
        format!("{}/telemetry", self.base)
    }
    pub fn maintenance(&self) -> String {
        format!("{}/maintenance", self.base)
    }
    pub fn appointments(&self) -> String {
        format!("{}/appointments", self.base)
    }
    pub fn commands(&self) -> String {
        format!("{}/cmd", self.base)
    }
    /// Reply topic for MQTT 3.1.1 (and MQTT 5 requests without a response topic).
    pub fn reply(&self, request_id: &str) -> String {
        format!("{}/cmd/reply/{request_id}", self.base)
    }
    /// Where replies go when the request id could not be read.
    pub fn reply_unknown(&self) -> String {
        self.reply("_invalid")
    }
}

/// A payload that travels through the outbox.
pub trait OutboxPayload: Serialize {
    fn header(&self) -> &Header;
    fn topic(&self, topics: &Topics) -> String;
}

macro_rules! outbox_payload {
    ($ty:ty, $topic:ident) => {
        impl OutboxPayload for $ty {
            fn header(&self) -> &Header {
                &self.header
            }
            fn topic(&self, topics: &Topics) -> String {
                topics.$topic()
            }
        }
    };
}

outbox_payload!(AlertPayload, alerts);
outbox_payload!(TelemetryPayload, telemetry);
outbox_payload!(MaintenancePayload, maintenance);
outbox_payload!(AppointmentPayload, appointments);

/// Serializes `payload` into a message for [`crate::outbox::Outbox::push`].
pub fn to_outbox_message<P: OutboxPayload>(
    topics: &Topics,
    payload: &P,
) -> Result<NewMessage, UplinkError> {
    Ok(NewMessage {
        message_id: payload.header().message_id.clone(),
        topic: payload.topic(topics),
        payload: serde_json::to_vec(payload)?,
        retain: false,
    })
}
