//! The one seam between the vehicle and everything above it.
//!
//! A transport sends an OBD request (service byte and parameters, e.g. `01 0C`) and returns
//! every ECU's answer to it. Whatever sits below (an ELM327 over serial or TCP, SocketCAN with
//! ISO-TP, the simulated vehicle) the contract is the same:
//!
//! - One [`EcuResponse`] per complete message. On CAN a message is one reassembled ISO-TP
//!   PDU; on the legacy protocols (J1850, ISO 9141-2, ISO 14230) each bus message is its own
//!   response, so an ECU that needs several messages (a VIN, more than three codes) appears
//!   several times. Callers merge per ECU.
//! - `data` starts with the response service byte (`0x41` for service 01, `0x7F` for a
//!   negative response). Transports strip headers, ISO-TP PCI bytes and checksums, and drop
//!   "response pending" (`7F xx 78`) answers once the final one arrives.
//! - No ECU answering is `Ok(vec![])`, not an error: it is how an unsupported PID looks.
//! - Errors are for the link itself (adapter gone, bus down, timeout) and say what to do.

pub mod elm327;
pub mod sim;
pub mod socketcan;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::obd::protocol::Protocol;

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum EcuAddress {
    /// 11-bit CAN response identifier (0x7E8-0x7EF for OBD).
    Can11(u16),
    /// 29-bit CAN response identifier (0x18DAF1xx, the low byte is the ECU).
    Can29(u32),
    /// Source address of a J1850 / ISO 9141-2 / ISO 14230 message (0x10 is the engine).
    Legacy(u8),
    /// The adapter did not show headers, so answers cannot be told apart.
    Unknown,
}

impl fmt::Display for EcuAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcuAddress::Can11(id) => write!(f, "{id:03X}"),
            EcuAddress::Can29(id) => write!(f, "{id:08X}"),
            EcuAddress::Legacy(src) => write!(f, "{src:02X}"),
            EcuAddress::Unknown => f.write_str("?"),
        }
    }
}

impl From<EcuAddress> for String {
    fn from(addr: EcuAddress) -> String {
        addr.to_string()
    }
}

/// One complete message from one ECU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcuResponse {
    pub ecu: EcuAddress,
    /// Service response bytes, starting with the response service id.
    pub data: Vec<u8>,
}

/// An OBD request as the transport should put it on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObdRequest {
    /// Service id and parameters, e.g. `[0x01, 0x0C]`.
    pub data: Vec<u8>,
    /// How many complete messages (reassembled ISO-TP PDUs; on the legacy buses, bus
    /// messages) to wait for when the caller knows; a transport may return as soon as that
    /// many arrived instead of waiting out its timeout.
    pub expected_responses: Option<u8>,
    /// How many CAN frames those messages take, for adapters that count lines rather than
    /// messages (the ELM327's response-count digit: "how many lines of data"). Equal to
    /// `expected_responses` when every answer fits one frame.
    pub expected_frames: Option<u8>,
}

impl ObdRequest {
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        ObdRequest {
            data: data.into(),
            expected_responses: None,
            expected_frames: None,
        }
    }

    /// Expects `responses` answers of one frame each.
    pub fn expecting(mut self, responses: u8) -> Self {
        self.expected_responses = Some(responses).filter(|&n| n > 0);
        self.expected_frames = self.expected_responses;
        self
    }

    /// Says how many frames the expected answers take in all (`None`: not known).
    pub fn in_frames(mut self, frames: Option<u8>) -> Self {
        self.expected_frames = frames.filter(|&n| n > 0);
        self
    }
}

/// What the transport found out about the link while connecting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkInfo {
    /// Kind of link, e.g. "ELM327 v1.5", "SocketCAN", "simulator".
    pub adapter: String,
    /// Where it is: a serial path, host:port, a CAN interface.
    pub port: String,
    /// The bus protocol the vehicle answered on, once known.
    pub protocol: Option<Protocol>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open {port}: {source}")]
    Open {
        port: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "permission denied opening {port}: add your user to the 'dialout' group (sudo usermod -aG dialout $USER, then log in again)"
    )]
    PermissionDenied { port: String },
    #[error(
        "no such port {port}: check the adapter is plugged in (ls /dev/ttyUSB* /dev/rfcomm*) or give host:port for a WiFi adapter"
    )]
    NoSuchPort { port: String },
    #[error(
        "{port} is in use by another program (another obd-agent, a scan app, or ModemManager): stop it and try again"
    )]
    PortBusy { port: String },
    #[error(
        "the adapter on {port} does not answer at any common baud rate (tried {tried}): check power and the port, or give --baud"
    )]
    AdapterSilent { port: String, tried: String },
    #[error("this does not look like an ELM327 adapter: it answered {answer:?} to ATZ")]
    NotAnElm327 { answer: String },
    #[error(
        "no vehicle answered ({detail}): is the ignition on and the adapter firmly in the OBD port?"
    )]
    NoVehicle { detail: String },
    #[error("the adapter rejected {command:?}: {reason}")]
    Rejected { command: String, reason: String },
    #[error("bus error: {0}")]
    Bus(String),
    #[error("no answer within {after:?} to {what}")]
    Timeout { what: String, after: Duration },
    #[error("the adapter disconnected (unplugged or powered off)")]
    Disconnected,
    #[error("i/o error on the adapter link")]
    Io(#[from] std::io::Error),
}

impl TransportError {
    /// Whether reconnecting (re-opening and re-initialising the adapter) may help.
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            TransportError::Disconnected | TransportError::Io(_) | TransportError::Timeout { .. }
        )
    }
}

#[async_trait]
pub trait Transport: Send {
    /// Sends one request and collects every ECU's answer (see the module docs for the rules).
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError>;

    /// What is known about the link.
    fn link(&self) -> LinkInfo;

    /// Whether several PIDs may be asked in one service 01/02 request (ISO 15765-4 allows up to
    /// six; the legacy protocols allow one).
    fn supports_multi_pid(&self) -> bool;

    /// Battery voltage at the OBD connector (pin 16), where the link can measure it.
    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_on_the_bus() {
        assert_eq!(EcuAddress::Can11(0x7E8).to_string(), "7E8");
        assert_eq!(EcuAddress::Can29(0x18DAF110).to_string(), "18DAF110");
        assert_eq!(EcuAddress::Legacy(0x10).to_string(), "10");
        assert_eq!(
            ObdRequest::new([1, 0]).expecting(0).expected_responses,
            None
        );
    }
}
