//! The SocketCAN transport: OBD over ISO 15765-4 on a Linux CAN interface (can0, vcan0).
//!
//! A raw CAN socket drives the sans-io [`crate::isotp::Exchange`], rather than the kernel's
//! ISO-TP sockets, because:
//!
//! - OBD requests are functional: one frame to 0x7DF (0x18DB33F1) and up to eight ECUs answer
//!   at once, each from its own id and each needing its own flow control. A kernel ISO-TP
//!   socket is bound to one rx/tx pair, so it takes one socket per possible ECU, set up before
//!   we know which exist, and the kernel would have to send the FC for ids nobody asked about.
//! - "Response pending" (`7F xx 78`) stretches the wait from P2 (50 ms) to P2* (5 s) per ECU,
//!   and an exchange may end as soon as the expected number of answers is in: timing the
//!   kernel socket does not know about.
//! - ISO 15765-4 wants every frame DLC 8 and padded; we decide that byte by byte and are
//!   lenient with unpadded answers from the other side.
//! - It works on kernels without `can-isotp` (before 5.10, or built without it).
//!
//! Socket: a nonblocking raw socket on tokio's `AsyncFd` via libc (see [`socket`]), filtered
//! in the kernel to the response ids (0x7E8-0x7EF, 0x18DAF1xx). Before each request, frames
//! left over from earlier exchanges are drained, and answers that do not answer this request
//! are dropped (a late answer to an earlier request must not pass for this one).
//!
//! How many answers to wait for: the request's `expected_responses` when the caller gives it,
//! else, for service 01, the number of ECUs whose supported-PID bitmaps (seen on earlier
//! 01 00 / 01 20 ... answers) list one of the PIDs asked (see `learn.rs`); the exchange ends
//! when they are in, instead of waiting out P2 every time. Answers that do not answer the
//! request neither count nor keep the exchange open.
//!
//! Bus discovery: the first request goes out on 11-bit ids, then, if nobody answered, on
//! 29-bit ids; the format that answered is kept and reported in [`LinkInfo::protocol`] as
//! ISO 15765-4 CAN 11/500 or 29/500. The bitrate itself is the interface's, set by the OS
//! (`ip link set can0 up type can bitrate 500000`, see docs/socketcan.md); give the 250 kbit/s
//! protocol explicitly when the interface runs at 250k.
//!
//! The socket also takes the interface's error frames; when nothing answers a request and the
//! controller reported bus-off, missing ACKs or protocol errors meanwhile (what a wrong bitrate
//! looks like), the request fails with [`TransportError::NoVehicle`] saying so.
//!
//! When the interface goes down or disappears, the request fails with an error whose
//! [`TransportError::needs_reconnect`] is true; the socket is dropped, and the next request
//! opens it again, so a caller only needs to ask again once the interface is back.

mod error;
mod learn;
pub mod socket;
#[cfg(test)]
mod tests;

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::isotp::{Addressing, CanId, Config, Exchange, IsoTpError, Step};
use crate::obd::protocol::Protocol;
use crate::obd::service::answers_request;
use crate::transport::{EcuAddress, EcuResponse, LinkInfo, ObdRequest, Transport, TransportError};

pub use error::SocketCanError;
use learn::SupportedPids;
use socket::{CanFilter, CanSocket, IfaceState, iface_state};

#[derive(Debug, Clone)]
pub struct SocketCanOptions {
    /// The CAN interface, e.g. `can0` or `vcan0`.
    pub iface: String,
    /// ISO 15765-4 CAN protocol to use; `None` tries 11-bit then 29-bit ids.
    pub protocol: Option<Protocol>,
    /// ISO-TP parameters: padding, our flow control, P2 / P2*.
    pub isotp: Config,
    /// Upper bound for one request, whatever the ECUs do (an ECU may send "response pending"
    /// forever); past it the request fails with a timeout.
    pub max_exchange: Duration,
}

impl SocketCanOptions {
    pub fn new(iface: impl Into<String>) -> Self {
        SocketCanOptions {
            iface: iface.into(),
            protocol: None,
            isotp: Config::default(),
            max_exchange: Duration::from_secs(30),
        }
    }
}

/// The ids a format's OBD answers come from, as kernel filters.
fn response_filters() -> [CanFilter; 2] {
    [
        CanFilter::masked(CanId::Standard(0x7E8), 0x7F8),
        CanFilter::masked(CanId::Extended(0x18DA_F100), 0x1FFF_FF00),
    ]
}

pub struct SocketCanTransport {
    options: SocketCanOptions,
    /// `None` after the interface failed; the next request opens it again.
    socket: Option<CanSocket>,
    /// The protocol that answered (or was given); `None` until then.
    protocol: Option<Protocol>,
    /// Origin of the `Duration` clock the ISO-TP state machines run on.
    epoch: Instant,
    /// Supported-PID bitmaps seen, to know how many answers a service 01 request gets.
    supported: SupportedPids,
}

impl SocketCanTransport {
    /// Opens the interface; the vehicle is not contacted until the first request.
    pub async fn open(options: SocketCanOptions) -> Result<Self, TransportError> {
        if let Some(p) = options
            .protocol
            .filter(|p| !p.is_can() || *p == Protocol::J1939)
        {
            return Err(SocketCanError::NotCanProtocol { protocol: p }.into_transport(true));
        }
        let socket = open_socket(&options.iface).map_err(|e| e.into_transport(true))?;
        Ok(SocketCanTransport {
            protocol: options.protocol,
            options,
            socket: Some(socket),
            epoch: Instant::now(),
            supported: SupportedPids::default(),
        })
    }

    /// Finds the bus format with a supported-PIDs request (01 00), which every OBD ECU answers.
    pub async fn detect(&mut self) -> Result<Protocol, TransportError> {
        self.request(&ObdRequest::new([0x01, 0x00])).await?;
        self.protocol.ok_or_else(|| TransportError::NoVehicle {
            detail: format!("nothing answered 01 00 on {}", self.options.iface),
        })
    }

    /// One request on one id format, with the answers that answer it.
    async fn exchange(
        &mut self,
        extended: bool,
        request: &ObdRequest,
    ) -> Result<Vec<EcuResponse>, SocketCanError> {
        let iface = self.options.iface.clone();
        let socket = match self.socket.take() {
            Some(s) => s,
            None => {
                let socket = open_socket(&iface)?;
                // The interface was gone: the adapter may now be on another vehicle.
                self.supported.clear();
                socket
            }
        };
        let expected = request
            .expected_responses
            .map(usize::from)
            .or_else(|| self.supported.answers_expected(&request.data));
        let result = run(
            &socket,
            self.epoch,
            extended,
            request,
            expected,
            &self.options.isotp,
            self.options.max_exchange,
        )
        .await;
        match result {
            Err(ExchangeError::Socket(e)) => {
                // Dropping the socket makes the next request start from a fresh bind.
                Err(SocketCanError::from_io(&iface, e))
            }
            Err(ExchangeError::IsoTp(e)) => {
                self.socket = Some(socket);
                Err(e.into())
            }
            Err(ExchangeError::BusErrors(classes)) => {
                self.socket = Some(socket);
                Err(SocketCanError::BusErrors {
                    iface,
                    what: error::describe_bus_errors(classes),
                })
            }
            Err(ExchangeError::TooLong) => {
                self.socket = Some(socket);
                Err(SocketCanError::TooLong {
                    after: self.options.max_exchange,
                })
            }
            Ok(answers) => {
                self.socket = Some(socket);
                for answer in &answers {
                    self.supported
                        .learn(&request.data, answer.ecu, &answer.data);
                }
                Ok(answers)
            }
        }
    }
}

/// Error frames worth telling the user about when nothing answers: a wrong bitrate shows as
/// missing ACKs, protocol errors and finally bus-off.
const BUS_ERRORS: u32 = socket::error_class::BUS_OFF
    | socket::error_class::NO_ACK
    | socket::error_class::PROTOCOL
    | socket::error_class::BUS_ERROR
    | socket::error_class::CONTROLLER
    | socket::error_class::TX_TIMEOUT;

fn open_socket(iface: &str) -> Result<CanSocket, SocketCanError> {
    let socket = open_filtered(iface, &response_filters())?;
    socket
        .set_error_mask(BUS_ERRORS)
        .map_err(|e| SocketCanError::from_io(iface, e))?;
    Ok(socket)
}

/// Opens a raw socket on `iface` that receives only frames passing `filters`, explaining
/// what is wrong with the interface when it cannot.
pub fn open_filtered(iface: &str, filters: &[CanFilter]) -> Result<CanSocket, SocketCanError> {
    let name = iface.to_string();
    match iface_state(iface) {
        IfaceState::Missing => return Err(SocketCanError::NoInterface { iface: name }),
        IfaceState::NotCan => return Err(SocketCanError::NotCan { iface: name }),
        IfaceState::Down => return Err(SocketCanError::Down { iface: name }),
        IfaceState::Up | IfaceState::Unknown => {}
    }
    let socket = CanSocket::open(iface).map_err(|e| match e.raw_os_error() {
        Some(libc::ENODEV | libc::ENXIO) => SocketCanError::NoInterface {
            iface: name.clone(),
        },
        _ => SocketCanError::from_io(iface, e),
    })?;
    socket
        .set_filters(filters)
        .map_err(|e| SocketCanError::from_io(iface, e))?;
    Ok(socket)
}

enum ExchangeError {
    Socket(io::Error),
    /// Nothing answered, and the interface reported these error classes meanwhile.
    BusErrors(u32),
    IsoTp(IsoTpError),
    TooLong,
}

/// The shell loop of [`Exchange`] on a socket.
async fn run(
    socket: &CanSocket,
    epoch: Instant,
    extended: bool,
    request: &ObdRequest,
    expected: Option<usize>,
    config: &Config,
    max: Duration,
) -> Result<Vec<EcuResponse>, ExchangeError> {
    let mut stale = 0usize;
    while socket.try_recv().map_err(ExchangeError::Socket)?.is_some() {
        stale += 1;
    }
    if stale > 0 {
        debug!(stale, "dropped frames left over from earlier requests");
    }
    // Errors from before this request say nothing about it.
    socket.take_bus_errors();
    let (id, addressing) = if extended {
        (CanId::OBD_FUNCTIONAL_29, Addressing::Obd29)
    } else {
        (CanId::OBD_FUNCTIONAL_11, Addressing::Obd11)
    };
    let mut exchange = Exchange::new(id, addressing, &request.data, config, expected)
        .map_err(ExchangeError::IsoTp)?
        .with_answer_filter(answers_request);
    let give_up = Instant::now() + max;
    loop {
        match exchange.poll(epoch.elapsed()) {
            Step::Send(frame) => socket.send(&frame).await.map_err(ExchangeError::Socket)?,
            Step::WaitUntil(deadline) => {
                let until = (epoch + deadline).min(give_up);
                match tokio::time::timeout_at(until, socket.recv()).await {
                    Ok(Ok(frame)) => exchange.on_frame(epoch.elapsed(), frame.id, frame.data()),
                    Ok(Err(e)) => return Err(ExchangeError::Socket(e)),
                    Err(_) if Instant::now() >= give_up => return Err(ExchangeError::TooLong),
                    Err(_) => {}
                }
            }
            Step::Finished => break,
        }
    }
    let outcome = exchange.finish().map_err(ExchangeError::IsoTp)?;
    let bus_errors = socket.take_bus_errors();
    if bus_errors != 0 {
        warn!(classes = bus_errors, "CAN error frames during the request");
        if outcome.responses.is_empty() {
            return Err(ExchangeError::BusErrors(bus_errors));
        }
    }
    for problem in &outcome.problems {
        warn!(%problem, "an ECU's answer was lost");
    }
    for (from, data) in &outcome.foreign {
        debug!(%from, ?data, "dropped an answer to another request");
    }
    let mut answers = Vec::with_capacity(outcome.responses.len());
    for (from, data) in outcome.responses {
        let ecu = match from {
            CanId::Standard(id) => EcuAddress::Can11(id),
            CanId::Extended(id) => EcuAddress::Can29(id),
        };
        answers.push(EcuResponse { ecu, data });
    }
    Ok(answers)
}

#[async_trait]
impl Transport for SocketCanTransport {
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        if request.data.is_empty() || request.data.len() > 7 {
            return Err(TransportError::Rejected {
                command: request.data.iter().map(|b| format!("{b:02X}")).collect(),
                reason: "an OBD request is 1 to 7 bytes (one CAN single frame)".into(),
            });
        }
        if let Some(p) = self.protocol {
            return self
                .exchange(p.is_extended_can(), request)
                .await
                .map_err(|e| e.into_transport(false));
        }
        for (extended, protocol) in [(false, Protocol::Can11_500), (true, Protocol::Can29_500)] {
            let answers = self
                .exchange(extended, request)
                .await
                .map_err(|e| e.into_transport(false))?;
            if !answers.is_empty() {
                debug!(%protocol, "vehicle answered");
                self.protocol = Some(protocol);
                return Ok(answers);
            }
        }
        if request.data == [0x01, 0x00] {
            return Err(TransportError::NoVehicle {
                detail: format!(
                    "no answer to 01 00 on 11-bit or 29-bit ids on {}",
                    self.options.iface
                ),
            });
        }
        // Silence to anything else may just mean nobody supports it; keep searching later.
        Ok(Vec::new())
    }

    fn link(&self) -> LinkInfo {
        LinkInfo {
            adapter: "SocketCAN".into(),
            port: self.options.iface.clone(),
            protocol: self.protocol,
        }
    }

    fn supports_multi_pid(&self) -> bool {
        true
    }

    /// A CAN interface has no way to measure pin 16; the reader may ask ECUs for PID 42.
    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError> {
        Ok(None)
    }
}
