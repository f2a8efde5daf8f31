//! Reads a vehicle through any [`Transport`]: which ECUs answer and what each supports, live
//! data, trouble codes, freeze frames, vehicle information, clearing codes.
//!
//! This is where requests are planned (which PIDs to batch, how many answers to expect) and
//! where ECU answers are merged; decoding itself is `obd`'s, and bytes on the wire are the
//! transport's.

mod codes;
mod info;
mod scan;
mod test_results;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tracing::{debug, warn};

use crate::obd::DecodeError;
use crate::obd::pid::{self, PidReading};
use crate::obd::service;
use crate::transport::{EcuAddress, EcuResponse, ObdRequest, Transport, TransportError};

pub use codes::{ClearOutcome, CodeReadout, DtcKind, EcuFreezeFrame, ReportedDtc};
pub use info::EcuInfo;
pub use scan::{ScanReport, scan, snapshot};
pub use test_results::EcuTestResults;

/// Most PIDs one service 01 request may carry (ISO 15765-4: seven data bytes).
pub const MAX_PIDS_PER_REQUEST: usize = 6;
/// Largest answer that fits one CAN frame: seven bytes after the PCI byte.
const SINGLE_FRAME_PAYLOAD: usize = 7;
/// The count digit is one hex digit.
const MAX_COUNT_HINT: u8 = 0x0F;

/// ISO-TP frames for a message of `len` bytes: a single frame up to seven, else a first frame
/// with six and consecutive frames with seven each. A legacy answer to one PID is one message.
fn can_frames(len: usize) -> usize {
    if len <= SINGLE_FRAME_PAYLOAD {
        1
    } else {
        1 + (len - 6).div_ceil(7)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("no ECU answered the supported-PID request (01 00): is the ignition on?")]
    NoEcu,
    #[error("no ECU supports {0}")]
    Unsupported(String),
    #[error("unknown PID name '{0}': run `obd-agent live --list` for the names")]
    UnknownPid(String),
}

/// One decoded value and the ECU it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcuReading {
    pub ecu: EcuAddress,
    #[serde(flatten)]
    pub reading: PidReading,
}

pub struct VehicleReader<'t> {
    transport: &'t mut dyn Transport,
    /// Service 01 PIDs each ECU said it supports (from 01 00, 01 20, ...).
    supported: BTreeMap<EcuAddress, BTreeSet<u8>>,
    /// Cleared when an ECU or adapter refuses several PIDs in one request. Whether the bus
    /// allows it at all is the transport's to say, and only known once the protocol is.
    multi_pid: bool,
    /// Service 09 info types each ECU supports (09 00), once asked.
    info_supported: Option<BTreeMap<EcuAddress, BTreeSet<u8>>>,
    /// Service 06 MIDs each ECU supports, once asked (empty: no ECU has service 06).
    mids_supported: Option<BTreeMap<EcuAddress, BTreeSet<u8>>>,
    /// Things that went wrong but did not stop the read, for the report.
    pub warnings: Vec<String>,
}

impl<'t> VehicleReader<'t> {
    pub fn new(transport: &'t mut dyn Transport) -> Self {
        VehicleReader {
            transport,
            supported: BTreeMap::new(),
            multi_pid: true,
            info_supported: None,
            mids_supported: None,
            warnings: Vec::new(),
        }
    }

    pub fn transport(&mut self) -> &mut dyn Transport {
        &mut *self.transport
    }

    /// Which ECUs answer and which PIDs each supports. Asked once, then remembered.
    pub async fn discover(&mut self) -> Result<&BTreeMap<EcuAddress, BTreeSet<u8>>, ReadError> {
        if !self.supported.is_empty() {
            return Ok(&self.supported);
        }
        let mut supported: BTreeMap<EcuAddress, BTreeSet<u8>> = BTreeMap::new();
        let mut askers: Option<usize> = None;
        for base in (0x00..=0xE0u8).step_by(0x20) {
            let request = ObdRequest::new([0x01, base]).expecting(askers.unwrap_or(0) as u8);
            let answers = self.transport.request(&request).await?;
            for answer in &answers {
                let bitmap = match answer.data.as_slice() {
                    [0x41, pid, rest @ ..] if *pid == base => pid::decode_supported(base, rest),
                    _ => continue,
                };
                match bitmap {
                    Ok(pids) => supported.entry(answer.ecu).or_default().extend(pids),
                    Err(e) => self.warn(format!(
                        "ECU {} sent a bad bitmap for {base:02X}: {e}",
                        answer.ecu
                    )),
                }
            }
            if supported.is_empty() {
                return Err(ReadError::NoEcu);
            }
            let next = base.wrapping_add(0x20);
            let continuing = supported.values().filter(|p| p.contains(&next)).count();
            if continuing == 0 || base == 0xE0 {
                break;
            }
            askers = Some(continuing);
        }
        debug!(?supported, "supported PIDs");
        self.supported = supported;
        Ok(&self.supported)
    }

    /// ECUs that answered discovery, in address order (the engine, 7E8 or 10, first).
    pub fn ecus(&self) -> Vec<EcuAddress> {
        self.supported.keys().copied().collect()
    }

    pub fn supports(&self, pid: u8) -> bool {
        self.supported.values().any(|p| p.contains(&pid))
    }

    /// Reads PIDs (service 01) from every ECU that supports them, several per request where
    /// the bus allows. PIDs no ECU supports are skipped; PID bitmaps are not values.
    pub async fn read_pids(&mut self, pids: &[u8]) -> Result<Vec<EcuReading>, ReadError> {
        self.discover().await?;
        let wanted: Vec<u8> = pids
            .iter()
            .copied()
            .filter(|p| p % 0x20 != 0 && self.supports(*p))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut readings = Vec::new();
        let batch = if self.batching() {
            MAX_PIDS_PER_REQUEST
        } else {
            1
        };
        for chunk in wanted.chunks(batch) {
            let got = self.read_batch(chunk).await?;
            readings.extend(got);
        }
        Ok(readings)
    }

    /// Whether several PIDs go in one request. Asked each time: an adapter searching for the
    /// protocol cannot tell before its first answer whether the bus is CAN.
    fn batching(&self) -> bool {
        self.multi_pid && self.transport.supports_multi_pid()
    }

    /// Reads one batch; anything an ECU should have answered but did not is asked alone.
    async fn read_batch(&mut self, pids: &[u8]) -> Result<Vec<EcuReading>, ReadError> {
        let request = self.batch_request(pids);
        let answers = self.transport.request(&request).await?;
        let mut readings = self.decode_current(&answers);
        if pids.len() == 1 {
            return Ok(readings);
        }
        let refused = answers.iter().any(|a| a.data.first() == Some(&0x7F));
        let mut missing: BTreeSet<u8> = BTreeSet::new();
        for (ecu, supported) in &self.supported {
            for pid in pids.iter().filter(|p| supported.contains(p)) {
                if !readings
                    .iter()
                    .any(|r| r.ecu == *ecu && r.reading.pid == *pid)
                {
                    missing.insert(*pid);
                }
            }
        }
        if refused || (!missing.is_empty() && readings.is_empty()) {
            warn!("several PIDs per request refused; asking one at a time from now on");
            self.multi_pid = false;
        }
        for pid in missing {
            let answers = self.transport.request(&self.batch_request(&[pid])).await?;
            readings.extend(self.decode_current(&answers));
        }
        Ok(readings)
    }

    /// The request for `pids`, with the number of frames to expect (the ELM327's count digit
    /// counts lines of data, so a multi-frame answer counts each frame) when every answer's
    /// length is known.
    fn batch_request(&self, pids: &[u8]) -> ObdRequest {
        let mut ecus = 0u8;
        let mut frames = 0usize;
        let mut known = true;
        for supported in self.supported.values() {
            let mut size = 0;
            for p in pids.iter().filter(|p| supported.contains(p)) {
                match pid::pid_def(*p).filter(|d| d.has_fixed_len()) {
                    Some(def) => size += 1 + def.len,
                    // Unknown or variable lengths: the frame count cannot be known.
                    None => known = false,
                }
            }
            if size > 0 {
                ecus = ecus.saturating_add(1);
                frames += can_frames(1 + size); // the service byte, then PID and data bytes
            }
        }
        let frames = u8::try_from(frames)
            .ok()
            .filter(|n| known && *n <= MAX_COUNT_HINT);
        ObdRequest::new(service::current_data_request(pids))
            .expecting(ecus)
            .in_frames(frames)
    }

    /// Whether each ECU answers a request with exactly one message (ISO-TP reassembles long
    /// answers); on the legacy buses an ECU may split an answer into several.
    fn one_message_per_ecu(&self) -> bool {
        matches!(self.transport.link().protocol, Some(p) if p.is_can())
    }

    /// Sends `data` telling the transport that the ECUs in `from` will answer, one message
    /// each in `frames` frames in all (when known), so it can stop waiting once they have.
    /// Another ECU answering in place of an expected one could make it stop too soon: then
    /// the request is repeated without the hint rather than lose that ECU's answer.
    async fn request_from(
        &mut self,
        data: Vec<u8>,
        from: &BTreeSet<EcuAddress>,
        frames: Option<u8>,
    ) -> Result<Vec<EcuResponse>, ReadError> {
        let plain = ObdRequest::new(data);
        let count = u8::try_from(from.len())
            .ok()
            .filter(|&n| n > 0 && self.one_message_per_ecu());
        let Some(count) = count else {
            return Ok(self.transport.request(&plain).await?);
        };
        let hinted = plain.clone().expecting(count).in_frames(frames);
        let answers = self.transport.request(&hinted).await?;
        let answered: BTreeSet<EcuAddress> = answers.iter().map(|a| a.ecu).collect();
        if answers.len() >= usize::from(count) && !from.is_subset(&answered) {
            debug!(expected = ?from, ?answered, "an unexpected ECU answered; asking again");
            return Ok(self.transport.request(&plain).await?);
        }
        Ok(answers)
    }

    fn decode_current(&mut self, answers: &[EcuResponse]) -> Vec<EcuReading> {
        let mut out = Vec::new();
        for answer in answers {
            if answer.data.first() != Some(&0x41) {
                continue;
            }
            match service::decode_current_data(&answer.data[1..]) {
                Ok(readings) => out.extend(readings.into_iter().filter(|r| r.pid % 0x20 != 0).map(
                    |reading| EcuReading {
                        ecu: answer.ecu,
                        reading,
                    },
                )),
                Err(e) => self.warn(format!(
                    "ECU {} sent data that does not decode: {e}",
                    answer.ecu
                )),
            }
        }
        out
    }

    /// Resolves PID names (`rpm`) or hex numbers (`0C`) to PID numbers.
    pub fn resolve_pids(names: &[String]) -> Result<Vec<u8>, ReadError> {
        names
            .iter()
            .map(|name| {
                pid::pid_by_key(name.trim())
                    .map(|d| d.pid)
                    .ok_or_else(|| ReadError::UnknownPid(name.clone()))
            })
            .collect()
    }

    fn warn(&mut self, message: String) {
        warn!("{message}");
        self.warnings.push(message);
    }
}

/// The ECUs whose supported list (PIDs, info types or test MIDs) includes `item`.
fn ecus_listing(supported: &BTreeMap<EcuAddress, BTreeSet<u8>>, item: u8) -> BTreeSet<EcuAddress> {
    supported
        .iter()
        .filter(|(_, items)| items.contains(&item))
        .map(|(ecu, _)| *ecu)
        .collect()
}

/// Groups answers by ECU, keeping bus order within each.
fn by_ecu(answers: Vec<EcuResponse>) -> BTreeMap<EcuAddress, Vec<Vec<u8>>> {
    let mut grouped: BTreeMap<EcuAddress, Vec<Vec<u8>>> = BTreeMap::new();
    for answer in answers {
        grouped.entry(answer.ecu).or_default().push(answer.data);
    }
    grouped
}

fn negative(data: &[u8]) -> Option<DecodeError> {
    match data {
        [0x7F, service, nrc, ..] => Some(DecodeError::Negative {
            service: *service,
            nrc: *nrc,
            reason: service::nrc_name(*nrc),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
