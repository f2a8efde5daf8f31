//! Service 09: vehicle information (VIN, calibration IDs and verification numbers, ECU name).
//!
//! The same answer comes framed two ways. On CAN (ISO 15765-4) one reassembled message holds
//! `49 PID count` and then every data item. The legacy protocols carry four data bytes per
//! message, `49 PID seq b1 b2 b3 b4`, numbered from 1 and not always delivered in order; the
//! number of messages to expect is what PIDs 01/03/05/07/09 report. Every decoder here takes
//! all of one ECU's messages for one PID and accepts either framing.

use serde::Serialize;

use super::DecodeError;
use super::pid::decode_supported;
use super::service::nrc_name;

pub const SUPPORTED: u8 = 0x00;
pub const VIN_MESSAGE_COUNT: u8 = 0x01;
pub const VIN: u8 = 0x02;
pub const CALIBRATION_ID_MESSAGE_COUNT: u8 = 0x03;
pub const CALIBRATION_ID: u8 = 0x04;
pub const CVN_MESSAGE_COUNT: u8 = 0x05;
pub const CVN: u8 = 0x06;
pub const IN_USE_PERFORMANCE_MESSAGE_COUNT: u8 = 0x07;
pub const IN_USE_PERFORMANCE: u8 = 0x08;
pub const ECU_NAME_MESSAGE_COUNT: u8 = 0x09;
pub const ECU_NAME: u8 = 0x0A;
pub const IN_USE_PERFORMANCE_DIESEL: u8 = 0x0B;

const RESPONSE: u8 = 0x49;
/// Data bytes per message on the legacy protocols.
const LEGACY_CHUNK: usize = 4;

/// One decoded service 09 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "info", content = "value", rename_all = "snake_case")]
pub enum VehicleInfo {
    SupportedPids(Vec<u8>),
    MessageCount {
        pid: u8,
        count: u8,
    },
    Vin(String),
    CalibrationIds(Vec<String>),
    Cvns(Vec<String>),
    EcuName(String),
    /// PIDs this crate does not take apart (in-use performance tracking, manufacturer PIDs).
    Raw {
        pid: u8,
        data: String,
    },
}

/// The bytes after `49 PID` of one message, checked to answer `pid`.
fn payload(pid: u8, message: &[u8]) -> Result<&[u8], DecodeError> {
    match message {
        [] => Err(DecodeError::Empty),
        [RESPONSE, got, rest @ ..] if *got == pid => Ok(rest),
        [RESPONSE, got, ..] => Err(DecodeError::WrongPid {
            service: 0x09,
            expected: pid,
            got: *got,
        }),
        [0x7F, service, nrc, ..] => Err(DecodeError::Negative {
            service: *service,
            nrc: *nrc,
            reason: nrc_name(*nrc),
        }),
        [RESPONSE] | [0x7F, ..] => Err(DecodeError::Truncated {
            service: message.first().copied().unwrap_or(RESPONSE),
            got: message.len(),
        }),
        [other, ..] => Err(DecodeError::UnknownService(*other)),
    }
}

/// The PID all messages answer, taken from the first.
fn pid_of(messages: &[&[u8]]) -> Result<u8, DecodeError> {
    match messages.first() {
        None | Some([]) => Err(DecodeError::Empty),
        Some([RESPONSE, pid, ..]) => Ok(*pid),
        Some(first) => payload(0xFF, first).map(|_| 0xFF),
    }
}

/// The data items of a multi-item PID, concatenated, whichever the framing.
fn items(pid: u8, messages: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
    let payloads = messages
        .iter()
        .map(|m| payload(pid, m))
        .collect::<Result<Vec<_>, _>>()?;
    match payloads.as_slice() {
        [] => Err(DecodeError::Empty),
        // A lone message is CAN framing (count, then the items) or a legacy answer that fits
        // in one message (sequence number 1, then the data): the first byte goes either way.
        [single] => match single.split_first() {
            Some((_count, data)) => Ok(data.to_vec()),
            None => Err(DecodeError::Truncated {
                service: RESPONSE,
                got: 2,
            }),
        },
        _ => legacy_items(pid, &payloads),
    }
}

fn legacy_items(pid: u8, payloads: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
    let mut chunks: Vec<(u8, &[u8])> = Vec::with_capacity(payloads.len());
    for p in payloads {
        match p.split_first() {
            Some((&seq, data)) if data.len() >= LEGACY_CHUNK => {
                chunks.push((seq, data.get(..LEGACY_CHUNK).unwrap_or(data)));
            }
            _ => {
                return Err(DecodeError::Sequence {
                    pid,
                    detail: format!("a message carries {} bytes, expected 5", p.len()),
                });
            }
        }
    }
    // Legacy buses deliver the messages in whatever order the ECU got them out.
    chunks.sort_by_key(|&(seq, _)| seq);
    let mut data = Vec::with_capacity(chunks.len() * LEGACY_CHUNK);
    for (expected, (seq, chunk)) in (1u8..).zip(&chunks) {
        if *seq != expected {
            let detail = if *seq < expected {
                format!("message {seq} arrived twice")
            } else {
                format!(
                    "message {expected} of at least {} is missing",
                    chunks.len() + 1
                )
            };
            return Err(DecodeError::Sequence { pid, detail });
        }
        data.extend_from_slice(chunk);
    }
    Ok(data)
}

/// Printable ASCII as is, anything else as `\xNN`, so odd bytes are shown, never hidden.
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02X}")
            }
        })
        .collect()
}

fn trim_nul(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| b != 0).map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Decodes the VIN (09 02) from one ECU's messages. A VIN that breaks ISO 3779 (length,
/// characters) is an error that carries the text, so a caller can still show it.
pub fn decode_vin(messages: &[&[u8]]) -> Result<String, DecodeError> {
    let data = items(VIN, messages)?;
    let bytes = trim_nul(&data);
    let vin = ascii(bytes);
    let invalid = |reason| {
        Err(DecodeError::InvalidVin {
            vin: vin.clone(),
            reason,
        })
    };
    if bytes.iter().any(|b| !b.is_ascii_alphanumeric()) {
        return invalid("it contains characters other than letters and digits");
    }
    if bytes.iter().any(|b| b.is_ascii_lowercase()) {
        return invalid("it contains lowercase letters");
    }
    if bytes.iter().any(|b| matches!(b, b'I' | b'O' | b'Q')) {
        return invalid("it contains I, O or Q, which VINs never use");
    }
    if bytes.len() != 17 {
        return invalid("a VIN has 17 characters");
    }
    Ok(vin)
}

/// Decodes the calibration IDs (09 04): 16 bytes each, NUL-padded ASCII.
pub fn decode_calibration_ids(messages: &[&[u8]]) -> Result<Vec<String>, DecodeError> {
    let data = items(CALIBRATION_ID, messages)?;
    split_items(CALIBRATION_ID, &data, 16, |item| ascii(trim_nul(item)))
}

/// Decodes the calibration verification numbers (09 06): 4 bytes each, shown as 8 hex digits.
pub fn decode_cvns(messages: &[&[u8]]) -> Result<Vec<String>, DecodeError> {
    let data = items(CVN, messages)?;
    split_items(CVN, &data, 4, |item| {
        item.iter().map(|b| format!("{b:02X}")).collect()
    })
}

/// Decodes the ECU name (09 0A): 20 bytes, an acronym and a name NUL-padded around a dash,
/// e.g. `ECM\0-EngineControl\0\0` reads `ECM-EngineControl`.
pub fn decode_ecu_name(messages: &[&[u8]]) -> Result<String, DecodeError> {
    let data = items(ECU_NAME, messages)?;
    let text: Vec<u8> = data.iter().copied().filter(|&b| b != 0).collect();
    Ok(ascii(&text).trim().to_string())
}

/// Decodes the answer to a message-count PID (09 01, 03, 05, 07, 09).
pub fn decode_message_count(message: &[u8]) -> Result<u8, DecodeError> {
    let pid = pid_of(&[message])?;
    payload(pid, message)?
        .last()
        .copied()
        .ok_or(DecodeError::Truncated {
            service: RESPONSE,
            got: message.len(),
        })
}

/// Decodes a supported-PID bitmap (09 00, 20, ...); legacy ECUs put a message count first.
pub fn decode_info_supported(message: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let pid = pid_of(&[message])?;
    let data = payload(pid, message)?;
    let bitmap = if data.len() == 5 {
        data.get(1..).unwrap_or(data)
    } else {
        data
    };
    decode_supported(pid, bitmap)
}

fn split_items(
    pid: u8,
    data: &[u8],
    size: usize,
    show: impl Fn(&[u8]) -> String,
) -> Result<Vec<String>, DecodeError> {
    let chunks = data.chunks_exact(size);
    if !chunks.remainder().is_empty() {
        return Err(DecodeError::Sequence {
            pid,
            detail: format!(
                "{} data bytes are not a whole number of {size}-byte items",
                data.len()
            ),
        });
    }
    Ok(chunks.map(show).collect())
}

/// Decodes one ECU's messages for any service 09 PID.
pub fn decode_info(messages: &[&[u8]]) -> Result<VehicleInfo, DecodeError> {
    let pid = pid_of(messages)?;
    let single = || messages.first().copied().unwrap_or_default();
    Ok(match pid {
        p if p % 0x20 == 0 => VehicleInfo::SupportedPids(decode_info_supported(single())?),
        VIN_MESSAGE_COUNT
        | CALIBRATION_ID_MESSAGE_COUNT
        | CVN_MESSAGE_COUNT
        | IN_USE_PERFORMANCE_MESSAGE_COUNT
        | ECU_NAME_MESSAGE_COUNT => VehicleInfo::MessageCount {
            pid,
            count: decode_message_count(single())?,
        },
        VIN => VehicleInfo::Vin(decode_vin(messages)?),
        CALIBRATION_ID => VehicleInfo::CalibrationIds(decode_calibration_ids(messages)?),
        CVN => VehicleInfo::Cvns(decode_cvns(messages)?),
        ECU_NAME => VehicleInfo::EcuName(decode_ecu_name(messages)?),
        _ => VehicleInfo::Raw {
            pid,
            data: super::pid::hex_bytes(&items(pid, messages)?),
        },
    })
}

#[cfg(test)]
mod tests;
