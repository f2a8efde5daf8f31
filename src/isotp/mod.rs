//! ISO 15765-2 transport protocol (ISO-TP) with the ISO 15765-4 rules for OBD, as pure state.
//!
//! Nothing here touches a socket, a runtime or a clock. Every call that depends on time takes
//! `now: Duration`, measured by the caller from any fixed origin (typically an `Instant` taken
//! when the shell starts); deadlines come back in the same scale. A thin async shell owns the
//! CAN socket, feeds received frames in, writes the frames handed out, and sleeps until the
//! deadline handed out.
//!
//! - [`Sender`] segments one message into a single frame or a first frame plus consecutive
//!   frames and obeys the peer's flow control (block size, STmin, wait, overflow).
//! - [`Receiver`] reassembles answers from several ECUs at once, keyed by CAN id, and hands out
//!   the flow control frames to send back to each of them.
//! - [`Exchange`] is one OBD request and the collection of every answer to it, with the
//!   ISO 15765-4 response timing (P2CAN, and P2* after a "response pending" NRC).
//!
//! The shell loop for one OBD request (the SocketCAN transport does this with a socket):
//!
//! ```
//! use std::time::Duration;
//! use obd_agent::isotp::{Addressing, CanId, Config, Exchange, Step};
//!
//! let request = [0x01, 0x0D];
//! let config = Config::default();
//! let mut ex = Exchange::new(CanId::OBD_FUNCTIONAL_11, Addressing::Obd11, &request, &config, Some(1))?;
//! let mut now = Duration::ZERO;
//! loop {
//!     match ex.poll(now) {
//!         // Write the frame to the socket.
//!         Step::Send(frame) => assert_eq!(frame.to_string(), "7DF 02 01 0D CC CC CC CC CC"),
//!         // Read with a timeout of `deadline - now`; feed what arrives. Here an ECU answers.
//!         Step::WaitUntil(_deadline) => {
//!             now += Duration::from_millis(5);
//!             ex.on_frame(now, CanId::Standard(0x7E8), &[0x03, 0x41, 0x0D, 0x32]);
//!         }
//!         Step::Finished => break,
//!     }
//! }
//! let outcome = ex.finish()?;
//! assert_eq!(outcome.responses, vec![(CanId::Standard(0x7E8), vec![0x41, 0x0D, 0x32])]);
//! # Ok::<(), obd_agent::isotp::IsoTpError>(())
//! ```
//!
//! Invariants: we send only 8-byte frames (ISO 15765-4 requires DLC 8), padded with
//! [`Config::padding`]; we accept shorter frames, garbage after the payload, frames from ids we
//! do not listen to and flow control we did not ask for, and no frame makes us panic.

mod exchange;
mod frame;
mod rx;
mod tx;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use exchange::{Exchange, ExchangeOutcome, Step};
pub use frame::{FlowStatus, Pci, StMin};
pub use rx::{Addressing, Receiver, RxEvent};
pub use tx::{Sender, TxStep};

/// A CAN identifier; the two formats are distinct address spaces on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CanId {
    /// 11-bit identifier (OBD: requests 0x7DF / 0x7E0-0x7E7, answers 0x7E8-0x7EF).
    Standard(u16),
    /// 29-bit identifier (OBD: requests 0x18DB33F1 / 0x18DAxxF1, answers 0x18DAF1xx).
    Extended(u32),
}

impl CanId {
    /// The 11-bit OBD functional (broadcast) request id.
    pub const OBD_FUNCTIONAL_11: CanId = CanId::Standard(0x7DF);
    /// The 29-bit OBD functional (broadcast) request id.
    pub const OBD_FUNCTIONAL_29: CanId = CanId::Extended(0x18DB_33F1);

    /// The identifier as a number, without the format (the shell adds its EFF flag).
    pub fn raw(self) -> u32 {
        match self {
            CanId::Standard(id) => u32::from(id),
            CanId::Extended(id) => id,
        }
    }
}

impl fmt::Display for CanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CanId::Standard(id) => write!(f, "{id:03X}"),
            CanId::Extended(id) => write!(f, "{id:08X}"),
        }
    }
}

/// A classic CAN frame to put on the bus: always 8 data bytes, as ISO 15765-4 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanFrame {
    pub id: CanId,
    pub data: [u8; 8],
}

impl fmt::Display for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        for b in self.data {
            write!(f, " {b:02X}")?;
        }
        Ok(())
    }
}

/// Protocol parameters. The defaults are the ISO 15765-2 / 15765-4 values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Fills unused bytes of every frame we send. The kernel's ISO-TP uses 0xCC, which
    /// ISO 15765-2 recommends because it keeps bit stuffing low; some tools use 0x00 or 0xAA.
    pub padding: u8,
    /// Block size we announce when receiving: 0 lets the ECU send everything without pausing.
    pub block_size: u8,
    /// Separation time we ask ECUs to keep between consecutive frames.
    pub st_min: StMin,
    /// N_Bs: how long a sender waits for flow control.
    pub n_bs: Duration,
    /// N_Cr: how long a receiver waits for the next consecutive frame.
    pub n_cr: Duration,
    /// How many FC.Wait in a row we put up with before giving up (N_WFTmax).
    pub max_wait_frames: u8,
    /// Longest message we reassemble; longer first frames get FC.Overflow.
    pub max_message_len: usize,
    /// P2CAN: how long ECUs have to start answering a request.
    pub p2: Duration,
    /// P2*CAN: how long an ECU that answered "response pending" (7F xx 78) has to finish.
    pub p2_star: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            padding: 0xCC,
            block_size: 0,
            st_min: StMin::ZERO,
            n_bs: Duration::from_millis(1000),
            n_cr: Duration::from_millis(1000),
            max_wait_frames: 10,
            max_message_len: 4095,
            p2: Duration::from_millis(50),
            p2_star: Duration::from_millis(5000),
        }
    }
}

/// Why a message could not be sent or received. Every variant is about one message: the
/// state machines stay usable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsoTpError {
    #[error("cannot send {len} bytes: an ISO-TP message carries 1 to {max} bytes")]
    PayloadSize { len: usize, max: usize },
    #[error("a functional (broadcast) request must fit one single frame; this one has {len} bytes")]
    FunctionalTooLong { len: usize },
    #[error("no flow control from {from} within {after:?} (N_Bs)")]
    FlowControlTimeout { from: CanId, after: Duration },
    #[error("{from} asked us to wait more than {max} times in a row")]
    TooManyWaits { from: CanId, max: u8 },
    #[error("{from} reported overflow: the {len}-byte message does not fit its buffer")]
    Overflow { from: CanId, len: usize },
    #[error("{from} sent flow control with reserved flow status {status:#04x}")]
    InvalidFlowStatus { from: CanId, status: u8 },
    #[error("{from} sent consecutive frame {got:X} where {expected:X} was due; message dropped")]
    WrongSequence { from: CanId, expected: u8, got: u8 },
    #[error(
        "{from} stopped after {received} of {len} bytes: no consecutive frame within {after:?} (N_Cr)"
    )]
    ConsecutiveFrameTimeout {
        from: CanId,
        received: usize,
        len: usize,
        after: Duration,
    },
    #[error("{from} announced a {len}-byte message, more than the {max} we accept")]
    TooLong { from: CanId, len: usize, max: usize },
    #[error("{from} started a new message after {received} of {len} bytes of the previous one")]
    Interrupted {
        from: CanId,
        received: usize,
        len: usize,
    },
    #[error("{from} said 'response pending' but sent no final answer within {after:?} (P2*)")]
    ResponsePendingTimeout { from: CanId, after: Duration },
}
