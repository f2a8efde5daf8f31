//! Service-level framing: building requests, splitting responses into PIDs, negative
//! responses, and hex text as adapters and people write it.

use serde::Serialize;

use super::DecodeError;
use super::dtc::{DtcFraming, DtcList, decode_dtc_list};
use super::info::{VehicleInfo, decode_info};
use super::pid::{PidReading, decode_pid, pid_def};

pub const CURRENT_DATA: u8 = 0x01;
pub const FREEZE_FRAME: u8 = 0x02;
pub const STORED_DTCS: u8 = 0x03;
pub const CLEAR_DTCS: u8 = 0x04;
pub const PENDING_DTCS: u8 = 0x07;
pub const VEHICLE_INFO: u8 = 0x09;
pub const PERMANENT_DTCS: u8 = 0x0A;
/// A positive response's service byte is the request's plus this.
pub const RESPONSE_OFFSET: u8 = 0x40;
pub const NEGATIVE_RESPONSE: u8 = 0x7F;
/// ISO 15765-4 allows six PIDs in one service 01/02 request; legacy protocols allow one.
pub const MAX_PIDS_PER_REQUEST: usize = 6;

/// `01 PID...`. Only the first six PIDs are sent, the most ISO 15765-4 accepts.
pub fn current_data_request(pids: &[u8]) -> Vec<u8> {
    let mut request = vec![CURRENT_DATA];
    request.extend(pids.iter().take(MAX_PIDS_PER_REQUEST));
    request
}

/// `02 PID FRAME` for each PID (at most six, as for service 01).
pub fn freeze_frame_request(pids: &[u8], frame: u8) -> Vec<u8> {
    let mut request = vec![FREEZE_FRAME];
    for &pid in pids.iter().take(MAX_PIDS_PER_REQUEST) {
        request.extend([pid, frame]);
    }
    request
}

/// `09 PID`.
pub fn vehicle_info_request(pid: u8) -> Vec<u8> {
    vec![VEHICLE_INFO, pid]
}

/// Clone adapters that ignore the CAN length byte pass the frame's fill bytes on; a run of
/// one fill value after at least one decoded PID is that, not data.
fn is_padding(rest: &[u8]) -> bool {
    match rest.first() {
        Some(&fill @ (0x00 | 0x55 | 0xAA | 0xFF)) => rest.iter().all(|&b| b == fill),
        _ => false,
    }
}

/// How many bytes `pid` takes at the start of `data`.
fn pid_len(pid: u8, data: &[u8]) -> Result<usize, DecodeError> {
    let def = pid_def(pid).ok_or(DecodeError::UnknownPid(pid))?;
    Ok(if def.has_fixed_len() {
        def.len
    } else {
        data.len()
    })
}

/// Decodes the bytes after 0x41: one or more `PID data` groups back to back.
pub fn decode_current_data(payload: &[u8]) -> Result<Vec<PidReading>, DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Truncated {
            service: CURRENT_DATA + RESPONSE_OFFSET,
            got: 1,
        });
    }
    let mut readings = Vec::new();
    let mut rest = payload;
    while let Some((&pid, data)) = rest.split_first() {
        if !readings.is_empty() && is_padding(rest) {
            break;
        }
        let len = pid_len(pid, data)?;
        let (bytes, tail) = data.split_at_checked(len).ok_or(DecodeError::Length {
            pid,
            expected: len,
            got: data.len(),
        })?;
        readings.push(decode_pid(pid, bytes)?);
        rest = tail;
    }
    Ok(readings)
}

/// Decodes the bytes after 0x42: one or more `PID FRAME data` groups back to back. PID 02
/// is the DTC that stored the frame, given as text (`P0301`, or `none`).
pub fn decode_freeze_frame(payload: &[u8]) -> Result<Vec<(u8, PidReading)>, DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Truncated {
            service: FREEZE_FRAME + RESPONSE_OFFSET,
            got: 1,
        });
    }
    let mut readings = Vec::new();
    let mut rest = payload;
    while let Some((&pid, after_pid)) = rest.split_first() {
        if !readings.is_empty() && is_padding(rest) {
            break;
        }
        let Some((&frame, data)) = after_pid.split_first() else {
            return Err(DecodeError::Truncated {
                service: FREEZE_FRAME + RESPONSE_OFFSET,
                got: payload.len() + 1,
            });
        };
        let len = pid_len(pid, data)?;
        let (bytes, tail) = data.split_at_checked(len).ok_or(DecodeError::Length {
            pid,
            expected: len,
            got: data.len(),
        })?;
        readings.push((frame, decode_pid(pid, bytes)?));
        rest = tail;
    }
    Ok(readings)
}

/// Any one complete response, by its service byte.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "service", content = "data", rename_all = "snake_case")]
pub enum ServiceResponse {
    CurrentData(Vec<PidReading>),
    FreezeFrame(Vec<(u8, PidReading)>),
    StoredDtcs(DtcList),
    PendingDtcs(DtcList),
    PermanentDtcs(DtcList),
    ClearAcknowledged,
    VehicleInfo(VehicleInfo),
}

/// Decodes one complete response, `data` starting with the response service byte. A
/// negative response (`7F service NRC`) is `DecodeError::Negative`.
pub fn decode_response(data: &[u8]) -> Result<ServiceResponse, DecodeError> {
    let (&service, payload) = data.split_first().ok_or(DecodeError::Empty)?;
    let dtcs = || decode_dtc_list(payload, DtcFraming::Auto);
    Ok(match service {
        0x41 => ServiceResponse::CurrentData(decode_current_data(payload)?),
        0x42 => ServiceResponse::FreezeFrame(decode_freeze_frame(payload)?),
        0x43 => ServiceResponse::StoredDtcs(dtcs()),
        0x44 => ServiceResponse::ClearAcknowledged,
        0x47 => ServiceResponse::PendingDtcs(dtcs()),
        0x49 => ServiceResponse::VehicleInfo(decode_info(&[data])?),
        0x4A => ServiceResponse::PermanentDtcs(dtcs()),
        NEGATIVE_RESPONSE => {
            let &[rejected, nrc, ..] = payload else {
                return Err(DecodeError::Truncated {
                    service,
                    got: data.len(),
                });
            };
            return Err(DecodeError::Negative {
                service: rejected,
                nrc,
                reason: nrc_name(nrc),
            });
        }
        other => return Err(DecodeError::UnknownService(other)),
    })
}

/// The name ISO 14229-1 (UDS) or ISO 14230-3 (KWP2000) gives a negative response code.
pub fn nrc_name(nrc: u8) -> &'static str {
    match nrc {
        0x10 => "general reject",
        0x11 => "service not supported",
        0x12 => "sub-function not supported / invalid format",
        0x13 => "incorrect message length or invalid format",
        0x14 => "response too long",
        0x21 => "busy, repeat request",
        0x22 => "conditions not correct or request sequence error",
        0x23 => "routine not complete",
        0x24 => "request sequence error",
        0x25 => "no response from sub-net component",
        0x26 => "failure prevents execution of requested action",
        0x31 => "request out of range",
        0x33 => "security access denied",
        0x35 => "invalid key",
        0x36 => "exceeded number of attempts",
        0x37 => "required time delay not expired",
        0x40 => "download not accepted",
        0x41 => "improper download type",
        0x42 => "cannot download to specified address",
        0x43 => "cannot download number of bytes requested",
        0x50 => "upload not accepted",
        0x51 => "improper upload type",
        0x52 => "cannot upload from specified address",
        0x53 => "cannot upload number of bytes requested",
        0x70 => "upload/download not accepted",
        0x71 => "transfer data suspended",
        0x72 => "general programming failure",
        0x73 => "wrong block sequence counter",
        0x74 => "illegal address in block transfer",
        0x75 => "illegal byte count in block transfer",
        0x76 => "illegal block transfer type",
        0x77 => "block transfer data checksum error",
        0x78 => "request correctly received, response pending",
        0x79 => "incorrect byte count during block transfer",
        0x7E => "sub-function not supported in active session",
        0x7F => "service not supported in active session",
        0x80 => "service not supported in active diagnostic mode",
        0x81 => "rpm too high",
        0x82 => "rpm too low",
        0x83 => "engine is running",
        0x84 => "engine is not running",
        0x85 => "engine run time too low",
        0x86 => "temperature too high",
        0x87 => "temperature too low",
        0x88 => "vehicle speed too high",
        0x89 => "vehicle speed too low",
        0x8A => "throttle/pedal too high",
        0x8B => "throttle/pedal too low",
        0x8C => "transmission range not in neutral",
        0x8D => "transmission range not in gear",
        0x8F => "brake switch(es) not closed",
        0x90 => "shifter lever not in park",
        0x91 => "torque converter clutch locked",
        0x92 => "voltage too high",
        0x93 => "voltage too low",
        0x94..=0xEF => "conditions not correct (reserved specific condition)",
        0xF0..=0xFE => "manufacturer specific",
        _ => "reserved",
    }
}

/// Parses hex bytes as adapters print them and people type them: `410C1AF8` or
/// `41 0C 1A F8`, any case. A space may separate bytes, never split one.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bad = || DecodeError::NotHex(text.to_string());
    let mut bytes = Vec::new();
    for token in text.split_whitespace() {
        if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        for pair in token.as_bytes().chunks_exact(2) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(pair, 16).map_err(|_| bad())?);
        }
    }
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;

/// Whether `data` answers `request`: positive (service + 0x40 and, for services 01 and 09, a
/// PID that was asked for; service 02 asks in PID, frame pairs) or negative (7F and the
/// service). Transports use it to drop late answers to earlier requests.
pub fn answers_request(request: &[u8], data: &[u8]) -> bool {
    let Some((&service, params)) = request.split_first() else {
        return false;
    };
    match data {
        [0x7F, svc, _, ..] => *svc == service,
        [first, rest @ ..] if *first == service.wrapping_add(0x40) => {
            match (service, rest.first()) {
                (0x01 | 0x09, Some(pid)) => params.contains(pid),
                (0x02, Some(pid)) => params.iter().step_by(2).any(|p| p == pid),
                (0x01 | 0x02 | 0x09, None) => false,
                _ => true,
            }
        }
        _ => false,
    }
}
