//! JSON payloads of the MQTT contract (`docs/mqtt.md`, schemas in `docs/schema/`).
//!
//! Every payload carries `schema` (the contract version, [`SCHEMA_VERSION`]), a unique
//! `message_id` (the backend drops duplicates by it: QoS 1 may deliver twice) and UTC RFC 3339
//! timestamps. Optional fields are omitted rather than `null`, so the schemas stay simple.

use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::new_message_id;

/// Version of the payload contract; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A UTC instant, written as RFC 3339 with millisecond precision (`2026-11-23T10:58:37.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(SystemTime::now())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text)
            .map(Timestamp)
            .map_err(serde::de::Error::custom)
    }
}

/// Common head of every payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub schema: u32,
    pub message_id: String,
    pub vehicle_id: String,
    /// When the message was produced (not when it was delivered).
    pub timestamp: Timestamp,
}

impl Header {
    pub fn new(vehicle_id: &str) -> Self {
        Header {
            schema: SCHEMA_VERSION,
            message_id: new_message_id(),
            vehicle_id: vehicle_id.to_string(),
            timestamp: Timestamp::now(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Offline,
}

/// `fleet/<vehicle_id>/status`, retained; the offline variant is also the last will.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusPayload {
    #[serde(flatten)]
    pub header: Header,
    pub state: Presence,
    pub agent_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    /// Start of the connection this status belongs to.
    pub since: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// First seen.
    New,
    /// Still present, with a changed urgency or status (pending, stored, permanent).
    Persisting,
    /// No longer reported by any ECU, or cleared.
    Cleared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

/// Which list a trouble code came from (services 07, 03, 0A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    Pending,
    Stored,
    Permanent,
}

/// One decoded value, in a freeze frame or a telemetry snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PidValue {
    /// Service 01 PID, two upper-case hex digits ("0C").
    pub pid: String,
    pub name: String,
    pub value: f64,
    /// SI or SAE J1979 unit ("rpm", "km/h", "°C", "%", "kPa", "V").
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreezeFrame {
    /// Freeze frame number (0 is the one stored with the MIL).
    pub frame: u8,
    /// The code that stored the frame.
    pub code: String,
    pub values: Vec<PidValue>,
}

/// `fleet/<vehicle_id>/alerts`: one step in a fault's lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPayload {
    #[serde(flatten)]
    pub header: Header,
    /// Same for every message about one occurrence of a fault (new to cleared).
    pub alert_id: String,
    pub event: AlertEvent,
    /// Trouble code as printed ("P0301"), with the manufacturer sub-type if any ("C1234-1A").
    pub code: String,
    pub description: String,
    /// powertrain, chassis, body, network, or a finer system from the code database.
    pub system: String,
    pub urgency: Urgency,
    /// Why this urgency: human-readable facts ("MIL on", "coolant 118 °C").
    pub reasons: Vec<String>,
    /// Where the code was read.
    pub status: CodeStatus,
    /// Hex address of the reporting ECU ("7E8").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_frame: Option<FreezeFrame>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<Timestamp>,
}

/// `fleet/<vehicle_id>/telemetry`: a snapshot of live values, rate-limited by the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryPayload {
    #[serde(flatten)]
    pub header: Header,
    pub values: Vec<PidValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    Ok,
    DueSoon,
    Due,
    Overdue,
}

/// One maintenance item (sketch: the prediction work fills in the details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceItem {
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub state: DueState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_km: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_km: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_due: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_done: Option<Timestamp>,
}

/// A trend rule that holds (maintenance-db/trends.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendAlert {
    pub rule: String,
    pub urgency: Urgency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub value: f64,
    pub threshold: f64,
    pub since: Timestamp,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenancePayload {
    #[serde(flatten)]
    pub header: Header,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odometer_km: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub km_per_day: Option<f64>,
    pub items: Vec<MaintenanceItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trends: Vec<TrendAlert>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentPayload {
    #[serde(flatten)]
    pub header: Header,
    pub appointment_id: String,
    pub urgency: Urgency,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    /// engine, transmission, brakes, electrical, body, hv.
    pub skills: Vec<String>,
    /// Maintenance items folded into the visit.
    pub items: Vec<String>,
    /// Trouble codes to look at.
    pub codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trends: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ride_along: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labour_hours: Option<f64>,
    pub parts: Vec<String>,
    /// Plain-language sentence for the owner.
    pub summary: String,
}

/// Why a command failed, machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyErrorCode {
    PayloadTooLarge,
    Malformed,
    UnsupportedSchema,
    UnknownCommand,
    InvalidArguments,
    Busy,
    Unavailable,
    Timeout,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    pub code: ReplyErrorCode,
    pub message: String,
}

/// A reply to a command, on the MQTT 5 response topic or `fleet/<vehicle_id>/cmd/reply/<request_id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandReplyPayload {
    #[serde(flatten)]
    pub header: Header,
    /// The request's `request_id`, absent only if it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The command's name, if it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    pub ok: bool,
    /// The command's answer when `ok`; its shape depends on the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}
