//! SAE J1979 services: request encoding and response decoding. Pure code over bytes; nothing
//! here talks to a vehicle.

pub mod dtc;
pub mod info;
pub mod monitor;
pub mod pid;
pub mod protocol;
pub mod service;
pub mod test_results;

/// Why a service response could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the response is empty")]
    Empty,
    #[error("'{0}' is not hex: give bytes like '41 0C 1A F8' (spaces optional)")]
    NotHex(String),
    #[error("the ECU refused service {service:02X}: {reason} (NRC {nrc:02X})")]
    Negative {
        service: u8,
        nrc: u8,
        reason: &'static str,
    },
    #[error("{0:02X} is not a known OBD response service")]
    UnknownService(u8),
    #[error("PID {0:02X} is not defined by SAE J1979")]
    UnknownPid(u8),
    #[error("PID {pid:02X} needs {expected} data bytes, the response has {got}")]
    Length {
        pid: u8,
        expected: usize,
        got: usize,
    },
    #[error("response too short for service {service:02X}: {got} bytes")]
    Truncated { service: u8, got: usize },
    #[error("expected an answer to service {service:02X} PID {expected:02X}, got PID {got:02X}")]
    WrongPid { service: u8, expected: u8, got: u8 },
    #[error("the VIN '{vin}' is not valid: {reason}")]
    InvalidVin { vin: String, reason: &'static str },
    #[error("the multi-message answer to service 09 PID {pid:02X} is incomplete: {detail}")]
    Sequence { pid: u8, detail: String },
}
