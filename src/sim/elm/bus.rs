//! What the ELM327 sees on the vehicle side: ECU messages cut into bus frames, with the time
//! each arrives after the request went out.

use std::time::Duration;

use crate::obd::protocol::Protocol;
use crate::transport::EcuAddress;

use super::SimLatency;

/// How one frame relates to the message it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// CAN single frame with this many payload bytes after the PCI byte.
    Single(usize),
    /// CAN first frame of a message of this total length.
    First(usize),
    /// CAN consecutive frame: sequence nibble, payload bytes that belong to the message.
    Consecutive(u8, usize),
    /// A whole legacy message: header, data, checksum.
    Legacy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub at: Duration,
    pub ecu: EcuAddress,
    /// CAN: the eight data bytes as on the wire (PCI, payload, padding). Legacy: header
    /// bytes, data bytes, checksum.
    pub bytes: Vec<u8>,
    pub kind: FrameKind,
    /// Index of the message this frame belongs to, in `messages` order.
    pub message: usize,
    /// Whether the message is complete once this frame has arrived.
    pub completes: bool,
}

/// ISO-TP payloads beyond this cannot be described by a first frame's 12-bit length.
const ISOTP_MAX: usize = 4095;

/// Cuts `messages` into frames and orders them by arrival. Each ECU starts answering after
/// its own response time (later ECUs a little later), so frames of different ECUs may
/// interleave; ties keep ECU order, which keeps the result deterministic.
pub fn frames(
    protocol: Protocol,
    messages: &[(EcuAddress, Vec<u8>)],
    latency: &SimLatency,
    flow_control: bool,
) -> Vec<Frame> {
    let mut ranks: Vec<EcuAddress> = Vec::new();
    let mut per_ecu_count: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for (index, (ecu, data)) in messages.iter().enumerate() {
        let rank = match ranks.iter().position(|e| e == ecu) {
            Some(r) => r,
            None => {
                ranks.push(*ecu);
                per_ecu_count.push(0);
                ranks.len() - 1
            }
        };
        let nth = per_ecu_count[rank];
        per_ecu_count[rank] += 1;
        let rank32 = rank as u32;
        if protocol.is_can() {
            let start = latency.ecu_can + latency.ecu_spacing * rank32 + latency.message_gap * nth;
            can_frames(
                *ecu,
                data,
                index,
                (start, latency.frame_gap),
                flow_control,
                &mut out,
            );
        } else {
            let at = latency.ecu_legacy + latency.ecu_spacing * rank32 + latency.message_gap * nth;
            let bytes = legacy_frame(protocol, *ecu, data);
            out.push(Frame {
                at,
                ecu: *ecu,
                bytes,
                kind: FrameKind::Legacy,
                message: index,
                completes: true,
            });
        }
    }
    out.sort_by_key(|f| f.at);
    out
}

fn can_frames(
    ecu: EcuAddress,
    data: &[u8],
    message: usize,
    (start, gap): (Duration, Duration),
    flow_control: bool,
    out: &mut Vec<Frame>,
) {
    let data = &data[..data.len().min(ISOTP_MAX)];
    let padded = |mut v: Vec<u8>| {
        v.resize(8, 0x00);
        v
    };
    if data.len() <= 7 {
        let mut bytes = vec![data.len() as u8];
        bytes.extend_from_slice(data);
        out.push(Frame {
            at: start,
            ecu,
            bytes: padded(bytes),
            kind: FrameKind::Single(data.len()),
            message,
            completes: true,
        });
        return;
    }
    let len = data.len();
    let mut first = vec![0x10 | (len >> 8) as u8, (len & 0xFF) as u8];
    first.extend_from_slice(&data[..6]);
    out.push(Frame {
        at: start,
        ecu,
        bytes: first,
        kind: FrameKind::First(len),
        message,
        // Without flow control the ECU never sends the rest.
        completes: false,
    });
    if !flow_control {
        return;
    }
    let chunks: Vec<&[u8]> = data[6..].chunks(7).collect();
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let seq = ((i + 1) & 0x0F) as u8;
        let mut bytes = vec![0x20 | seq];
        bytes.extend_from_slice(chunk);
        out.push(Frame {
            at: start + gap * (i as u32 + 1),
            ecu,
            bytes: padded(bytes),
            kind: FrameKind::Consecutive(seq, chunk.len()),
            message,
            completes: i + 1 == count,
        });
    }
}

/// Header bytes and checksum as each legacy bus carries them: J1850 and ISO 9141-2 use
/// priority/type, target (6B = tester functional response) and source; KWP2000 a format
/// byte with the length, the tester address F1 and the source.
pub fn legacy_frame(protocol: Protocol, ecu: EcuAddress, data: &[u8]) -> Vec<u8> {
    let source = match ecu {
        EcuAddress::Legacy(s) => s,
        _ => 0x10,
    };
    let header = match protocol {
        Protocol::J1850Pwm => [0x41, 0x6B, source],
        Protocol::Kwp5Baud | Protocol::KwpFast => {
            [0x80 | (data.len().min(0x3F) as u8), 0xF1, source]
        }
        _ => [0x48, 0x6B, source],
    };
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(data);
    let check = match protocol {
        Protocol::J1850Pwm | Protocol::J1850Vpw => crc_j1850(&bytes),
        _ => checksum(&bytes),
    };
    bytes.push(check);
    bytes
}

/// ISO 9141-2 / ISO 14230: the low byte of the sum of all bytes.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// SAE J1850 CRC-8: polynomial x^8+x^4+x^3+x^2+1, initial FF, result inverted.
pub fn crc_j1850(bytes: &[u8]) -> u8 {
    let mut crc = 0xFFu8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x1D
            } else {
                crc << 1
            };
        }
    }
    !crc
}

/// What the adapter gets when it tries protocol `tried` on a car speaking `car` (or on no
/// car at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Ok,
    /// Nothing answered, but the bus looked healthy (same CAN bit rate, or J1850).
    NoData,
    /// Frames not acknowledged or at the wrong bit rate.
    CanError,
    /// The 5-baud or fast initialisation got no valid key bytes.
    BusInitError,
}

pub fn link_outcome(tried: Protocol, car: Option<Protocol>) -> LinkOutcome {
    use Protocol::*;
    if car == Some(tried) {
        return LinkOutcome::Ok;
    }
    let bit_rate = |p: Protocol| match p {
        Can11_500 | Can29_500 => Some(500),
        Can11_250 | Can29_250 | J1939 => Some(250),
        User1Can => Some(125),
        User2Can => Some(50),
        _ => None,
    };
    match tried {
        J1850Pwm | J1850Vpw => LinkOutcome::NoData,
        Iso9141 | Kwp5Baud | KwpFast => LinkOutcome::BusInitError,
        _ => match car.and_then(bit_rate) {
            Some(rate) if Some(rate) == bit_rate(tried) => LinkOutcome::NoData,
            _ => LinkOutcome::CanError,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j1850_crc_matches_a_captured_pwm_answer() {
        // "41 6B 10 41 00 BF DF B9 91 78": a J1850 PWM answer to 01 00 with headers on.
        let bytes = [0x41, 0x6B, 0x10, 0x41, 0x00, 0xBF, 0xDF, 0xB9, 0x91];
        assert_eq!(crc_j1850(&bytes), 0x78);
    }

    #[test]
    fn kwp_frames_carry_the_length_in_the_format_byte() {
        let f = legacy_frame(
            Protocol::KwpFast,
            EcuAddress::Legacy(0x10),
            &[0x41, 0x0D, 0x53],
        );
        assert_eq!(f, vec![0x83, 0xF1, 0x10, 0x41, 0x0D, 0x53, 0x25]);
    }

    #[test]
    fn long_messages_become_first_and_consecutive_frames() {
        let data: Vec<u8> = (0..20).collect();
        let fr = frames(
            Protocol::Can11_500,
            &[(EcuAddress::Can11(0x7E8), data)],
            &SimLatency::zero(),
            true,
        );
        assert_eq!(fr.len(), 3);
        assert_eq!(fr[0].bytes, vec![0x10, 0x14, 0, 1, 2, 3, 4, 5]);
        assert_eq!(fr[2].bytes, vec![0x22, 13, 14, 15, 16, 17, 18, 19]);
        assert!(fr[2].completes && !fr[0].completes);
    }
}
