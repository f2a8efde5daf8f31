//! OBD requests: validation, protocol search and bus initialisation, the exchange, and the
//! timing of the answer.
//!
//! Timing model, kept plain on purpose:
//! - Frames arrive at the ECU response times of [`SimLatency`]; each printed line waits for
//!   its frame, plus serial transmission time at the configured baud.
//! - After the last frame the adapter keeps listening for its response timeout: AT ST (4 ms
//!   units, default 32 = 200 ms) with adaptive timing off (AT AT0). Adaptive timing shortens
//!   it from the first answer's response time: AT AT1 to twice that (at least 30 ms), AT AT2
//!   to one and a half times (at least 15 ms), never beyond AT ST. With no answer at all the
//!   full AT ST passes before `NO DATA`.
//! - A response-count hint (`01 0C 1`) ends the exchange as soon as that many complete
//!   messages arrived (a multi-frame CAN message counts once), with no trailing wait.
//! - An automatic search says `SEARCHING...` at once, then takes `search_can` or
//!   `search_legacy`; it succeeds whenever a car is there (the simulated ECUs all answer
//!   01 00), after which the host's request is answered or gets `NO DATA`.

use std::time::Duration;

use crate::obd::protocol::Protocol;
use crate::transport::EcuAddress;

use super::bus::{self, LinkOutcome};
use super::format::{self, Style};
use super::{Elm327Emulator, Header, Out};

/// Data bytes in one request: a single CAN frame holds seven after its PCI byte; with
/// auto formatting off the host supplies the PCI byte itself.
const MAX_REQUEST: usize = 7;

fn parse_request(text: &str, raw_can: bool) -> Option<(Vec<u8>, Option<u8>)> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digits: Vec<u8> = text
        .bytes()
        .filter_map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    let (pairs, hint) = if digits.len() % 2 == 1 {
        let (last, rest) = digits.split_last()?;
        (rest, Some(*last).filter(|h| *h > 0))
    } else {
        (&digits[..], None)
    };
    let bytes: Vec<u8> = pairs.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
    let max = if raw_can {
        MAX_REQUEST + 1
    } else {
        MAX_REQUEST
    };
    (!bytes.is_empty() && bytes.len() <= max).then_some((bytes, hint))
}

/// The ELM327's automatic search order once its preferred protocol has failed.
const SEARCH_ORDER: [u8; 9] = [6, 8, 1, 7, 9, 2, 3, 4, 5];

impl Elm327Emulator {
    pub(super) fn obd_request(&mut self, text: &str, now: Duration, out: &mut Out) {
        let raw_can = !self.settings.auto_format && self.active.is_none_or(Protocol::is_can);
        let Some((bytes, hint)) = parse_request(text, raw_can) else {
            out.line(Duration::ZERO, "?");
            out.prompt(Duration::ZERO);
            return;
        };
        self.requests = self.requests.saturating_add(1);
        let nth =
            |every: Option<u32>| every.is_some_and(|n| n > 0 && self.requests.is_multiple_of(n));
        if nth(self.faults.drop_every) {
            return;
        }
        if self.faults.reset_at_request == Some(self.requests) {
            self.reset_settings();
            out.emit(self.latency.reset, "\r\r");
            out.le = "\r";
            out.line(Duration::ZERO, self.profile.banner());
            out.prompt(Duration::ZERO);
            return;
        }
        if nth(self.faults.garbage_every) {
            out.emit(Duration::ZERO, self.faults.garbage.clone());
        }
        let Some(protocol) = self.connect(out) else {
            return;
        };
        let timeout = Duration::from_millis(4 * u64::from(self.settings.timeout));
        let answers = self.exchange(protocol, &bytes, now);
        if !self.settings.responses {
            out.prompt(Duration::ZERO);
            return;
        }
        let mut frames = bus::frames(
            protocol,
            &answers,
            &self.latency,
            self.settings.flow_control,
        );
        if let Some(n) = hint {
            let mut complete = 0;
            if let Some(cut) = frames.iter().position(|f| {
                complete += usize::from(f.completes);
                complete == usize::from(n)
            }) {
                frames.truncate(cut + 1);
            }
        }
        let style = Style {
            spaces: self.settings.spaces,
            headers: self.settings.headers,
            auto_format: self.settings.auto_format,
            show_dlc: self.settings.show_dlc,
        };
        let mut elapsed = Duration::ZERO;
        for frame in &frames {
            let wait = frame.at.saturating_sub(elapsed);
            elapsed = elapsed.max(frame.at);
            for (i, line) in format::frame_lines(frame, style).iter().enumerate() {
                out.line(if i == 0 { wait } else { Duration::ZERO }, line);
            }
        }
        let satisfied =
            hint.is_some_and(|n| frames.iter().filter(|f| f.completes).count() >= usize::from(n));
        let trailing = match (self.latency.timeouts, frames.first()) {
            (false, _) => Duration::ZERO,
            (true, _) if satisfied => Duration::ZERO,
            (true, None) => timeout,
            (true, Some(first)) => match self.settings.adaptive {
                0 => timeout,
                1 => (first.at * 2).max(Duration::from_millis(30)).min(timeout),
                _ => (first.at * 3 / 2)
                    .max(Duration::from_millis(15))
                    .min(timeout),
            },
        };
        if frames.is_empty() {
            out.line(trailing, "NO DATA");
            out.prompt(Duration::ZERO);
        } else {
            out.prompt(trailing);
        }
    }

    /// Finds or initialises the bus, printing what the chip prints on the way. `None` when
    /// the answer is already complete (an error was printed).
    fn connect(&mut self, out: &mut Out) -> Option<Protocol> {
        let car = self.vehicle_connected.then_some(self.vehicle.protocol);
        if let Some(p) = self.active {
            if self.bus_ready || self.auto || !needs_init(p) {
                return Some(p);
            }
            return self.initialise(p, car, out);
        }
        if !self.auto {
            let p = Protocol::from_elm_number(self.protocol_setting)?;
            return self.initialise(p, car, out);
        }
        out.line(Duration::ZERO, "SEARCHING...");
        let preferred = Protocol::from_elm_number(self.protocol_setting);
        let found = preferred
            .into_iter()
            .chain(
                SEARCH_ORDER
                    .iter()
                    .filter_map(|n| Protocol::from_elm_number(*n)),
            )
            .find(|p| bus::link_outcome(*p, car) == LinkOutcome::Ok);
        let Some(p) = found else {
            let wait = self.latency.search_can + self.latency.search_legacy;
            out.line(wait, "UNABLE TO CONNECT");
            out.prompt(Duration::ZERO);
            return None;
        };
        let wait = if p.is_can() {
            self.latency.search_can
        } else {
            self.latency.search_legacy
        };
        out.emit(wait, "");
        self.active = Some(p);
        self.bus_ready = true;
        Some(p)
    }

    fn initialise(
        &mut self,
        p: Protocol,
        car: Option<Protocol>,
        out: &mut Out,
    ) -> Option<Protocol> {
        let timeout = Duration::from_millis(4 * u64::from(self.settings.timeout));
        let slow = matches!(p, Protocol::Iso9141 | Protocol::Kwp5Baud);
        let outcome = bus::link_outcome(p, car);
        if needs_init(p) {
            let (wait, dots) = if slow {
                (self.latency.slow_init, "...")
            } else {
                (self.latency.fast_init, "")
            };
            out.emit(Duration::ZERO, "BUS INIT: ");
            let result = if outcome == LinkOutcome::Ok {
                "OK"
            } else {
                "ERROR"
            };
            out.line(wait, &format!("{dots}{result}"));
            if outcome != LinkOutcome::Ok {
                out.prompt(Duration::ZERO);
                return None;
            }
        }
        match outcome {
            LinkOutcome::Ok => {
                self.active = Some(p);
                self.bus_ready = true;
                Some(p)
            }
            LinkOutcome::NoData | LinkOutcome::BusInitError => {
                out.line(timeout, "NO DATA");
                out.prompt(Duration::ZERO);
                None
            }
            LinkOutcome::CanError => {
                out.line(timeout, "CAN ERROR");
                out.prompt(Duration::ZERO);
                None
            }
        }
    }

    /// Puts the request on the bus and collects the vehicle's answers, honouring AT SH and,
    /// with CAN auto formatting off, the host's own PCI byte.
    fn exchange(
        &mut self,
        protocol: Protocol,
        bytes: &[u8],
        now: Duration,
    ) -> Vec<(EcuAddress, Vec<u8>)> {
        let payload: &[u8] = if protocol.is_can() && !self.settings.auto_format {
            match bytes.split_first() {
                Some((&pci, rest))
                    if pci >> 4 == 0 && usize::from(pci) == rest.len() && pci > 0 =>
                {
                    rest
                }
                _ => return Vec::new(),
            }
        } else {
            bytes
        };
        let mut answers = match target(protocol, self.settings.header) {
            Target::All => self.vehicle.respond(payload, now),
            Target::One(addr) => self.vehicle.respond_from(addr, payload, now),
            Target::Nobody => Vec::new(),
        };
        if let Some(pattern) = &self.settings.receive_filter {
            answers.retain(|(ecu, _)| passes(pattern, *ecu));
        }
        answers
    }
}

/// Whether an answer from `ecu` passes an AT CRA pattern such as `7E8` or `18DAF1XX`.
fn passes(pattern: &str, ecu: EcuAddress) -> bool {
    let id = match ecu {
        EcuAddress::Can11(id) if pattern.len() == 3 => format!("{id:03X}"),
        EcuAddress::Can29(id) if pattern.len() == 8 => format!("{id:08X}"),
        _ => return false,
    };
    pattern
        .chars()
        .zip(id.chars())
        .all(|(p, c)| p == 'X' || p == c)
}

fn needs_init(p: Protocol) -> bool {
    matches!(
        p,
        Protocol::Iso9141 | Protocol::Kwp5Baud | Protocol::KwpFast
    )
}

enum Target {
    All,
    One(EcuAddress),
    Nobody,
}

/// Who a request with header `header` reaches: the functional ids (7DF, 18DB33F1, legacy
/// target 6A/33) reach every ECU, a physical id only its ECU.
fn target(protocol: Protocol, header: Option<Header>) -> Target {
    let Some(header) = header else {
        return Target::All;
    };
    if !protocol.is_can() {
        return match header {
            Header::Three([_, 0x6A | 0x33, _]) => Target::All,
            Header::Three([_, target, _]) => Target::One(EcuAddress::Legacy(target)),
            _ => Target::Nobody,
        };
    }
    let id29 = |id: u32| match id {
        0x18DB_33F1 => Target::All,
        id if id & 0xFFFF_00FF == 0x18DA_00F1 => {
            Target::One(EcuAddress::Can29(0x18DA_F100 | ((id >> 8) & 0xFF)))
        }
        _ => Target::Nobody,
    };
    // Three header bytes on 11-bit CAN: only the rightmost 11 bits make the id.
    let header = match (protocol.is_extended_can(), header) {
        (false, Header::Three([_, b, c])) => Header::Can11(u16::from_be_bytes([b, c]) & 0x7FF),
        (_, h) => h,
    };
    match (protocol.is_extended_can(), header) {
        (false, Header::Can11(0x7DF)) => Target::All,
        (false, Header::Can11(id @ 0x7E0..=0x7E7)) => Target::One(EcuAddress::Can11(id + 8)),
        (true, Header::Three([a, b, c])) => id29(0x1800_0000 | u32::from_be_bytes([0, a, b, c])),
        (true, Header::Can29(id)) => id29(id),
        _ => Target::Nobody,
    }
}
