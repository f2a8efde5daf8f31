//! The SocketCAN layer's errors, and how they reach callers as [`TransportError`]s.

use std::io;
use std::time::Duration;

use crate::isotp::IsoTpError;
use crate::obd::protocol::Protocol;
use crate::transport::TransportError;

use super::socket::{IfaceState, iface_state};

/// What went wrong on the CAN side; turned into a [`TransportError`] for callers.
#[derive(Debug, thiserror::Error)]
pub enum SocketCanError {
    #[error(
        "no CAN interface {iface}: check `ip link show`; for a test bus: modprobe vcan && ip link add {iface} type vcan && ip link set {iface} up"
    )]
    NoInterface { iface: String },
    #[error("{iface} is not a CAN interface")]
    NotCan { iface: String },
    #[error(
        "CAN interface {iface} is down: ip link set {iface} up type can bitrate 500000 (see docs/socketcan.md)"
    )]
    Down { iface: String },
    #[error("this kernel has no CAN raw sockets: modprobe can-raw")]
    NoKernelSupport,
    #[error("CAN interface {iface} disappeared (adapter unplugged?)")]
    Gone { iface: String },
    #[error("{protocol} is not an ISO 15765-4 CAN protocol")]
    NotCanProtocol { protocol: Protocol },
    #[error("i/o error on CAN interface {iface}")]
    Io {
        iface: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{iface} reports CAN errors: {what}; check its bitrate (500000 or 250000, see docs/socketcan.md)"
    )]
    BusErrors { iface: String, what: String },
    #[error("ECUs kept the request open longer than {after:?}")]
    TooLong { after: Duration },
    #[error(transparent)]
    IsoTp(#[from] IsoTpError),
}

impl SocketCanError {
    /// Classifies a socket error, asking /sys what became of the interface.
    pub(super) fn from_io(iface: &str, source: io::Error) -> SocketCanError {
        let iface = iface.to_string();
        match (source.raw_os_error(), iface_state(&iface)) {
            (Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT), _) => {
                SocketCanError::NoKernelSupport
            }
            (_, IfaceState::Missing) => SocketCanError::Gone { iface },
            (_, IfaceState::NotCan) => SocketCanError::NotCan { iface },
            (Some(libc::ENETDOWN), _) | (_, IfaceState::Down) => SocketCanError::Down { iface },
            (Some(libc::ENODEV | libc::ENXIO), _) => SocketCanError::Gone { iface },
            _ => SocketCanError::Io { iface, source },
        }
    }

    /// Errors while opening say what to fix; errors later say "try again once it is back".
    pub(super) fn into_transport(self, opening: bool) -> TransportError {
        let iface = match &self {
            SocketCanError::NoInterface { iface }
            | SocketCanError::NotCan { iface }
            | SocketCanError::Down { iface }
            | SocketCanError::Gone { iface }
            | SocketCanError::Io { iface, .. } => iface.clone(),
            SocketCanError::NoKernelSupport => "CAN".into(),
            SocketCanError::NotCanProtocol { .. } => {
                return TransportError::Rejected {
                    command: "--protocol".into(),
                    reason: self.to_string(),
                };
            }
            SocketCanError::IsoTp(e) => return iso_tp_error(e.clone()),
            SocketCanError::BusErrors { .. } => {
                return TransportError::NoVehicle {
                    detail: self.to_string(),
                };
            }
            SocketCanError::TooLong { after } => {
                return TransportError::Timeout {
                    what: "an OBD request (ECUs kept answering 'response pending')".into(),
                    after: *after,
                };
            }
        };
        let kind = match &self {
            SocketCanError::NoInterface { .. } | SocketCanError::Gone { .. } => {
                io::ErrorKind::NotFound
            }
            SocketCanError::Down { .. } => io::ErrorKind::NetworkDown,
            SocketCanError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::Unsupported,
        };
        let error = io::Error::new(kind, self);
        if opening {
            TransportError::Open {
                port: iface,
                source: error,
            }
        } else {
            TransportError::Io(error)
        }
    }
}

fn iso_tp_error(e: IsoTpError) -> TransportError {
    match e {
        IsoTpError::PayloadSize { .. } | IsoTpError::FunctionalTooLong { .. } => {
            TransportError::Rejected {
                command: "OBD request".into(),
                reason: e.to_string(),
            }
        }
        other => TransportError::Bus(other.to_string()),
    }
}

/// Names the error classes of a CAN error frame, for people.
pub(super) fn describe_bus_errors(classes: u32) -> String {
    use super::socket::error_class as c;
    let names = [
        (c::BUS_OFF, "bus-off"),
        (c::NO_ACK, "no node acknowledged our frames"),
        (c::PROTOCOL | c::BUS_ERROR, "protocol errors"),
        (c::CONTROLLER, "controller error counters high"),
        (c::TX_TIMEOUT, "transmit timeout"),
    ];
    let found: Vec<&str> = names
        .iter()
        .filter(|(bits, _)| classes & bits != 0)
        .map(|(_, name)| *name)
        .collect();
    if found.is_empty() {
        format!("error class {classes:#x}")
    } else {
        found.join(", ")
    }
}
