//! Turns the data lines of one response into complete messages per ECU.
//!
//! With headers on (`ATH1`) and CAN auto-formatting on (the default), the ELM327 prints each
//! CAN frame on its own line: the identifier, the ISO-TP PCI byte, then the data
//! (`7E8 10 14 49 02 01 31 44 34`). Multi-frame answers are reassembled here per identifier,
//! so several ECUs answering at once do not mix. On J1850 / ISO 9141-2 / ISO 14230 each line
//! is one bus message: three header bytes (priority/format, target, source), the data, and a
//! checksum byte, which is verified and removed.
//!
//! Adapters do not always do as told, so lines without headers are accepted too: a CAN single
//! frame then prints without its PCI byte, and a multi-frame answer as a byte count line
//! followed by `0:`, `1:` ... lines. Such answers cannot be attributed to an ECU.

use std::collections::BTreeMap;

use crate::obd::protocol::Protocol;
use crate::transport::{EcuAddress, EcuResponse};

/// Something in the response that did not add up. The messages affected are left out, never
/// guessed at; the caller decides whether to ask again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A line that is neither hex data nor a known message.
    NotHex(String),
    /// A frame shorter than its own header or PCI byte says.
    ShortFrame(String),
    /// A consecutive frame arrived out of order; the ECU's message was dropped.
    Sequence(EcuAddress),
    /// A consecutive frame with no first frame before it.
    StrayFrame(EcuAddress),
    /// A multi-frame message ended before all its bytes arrived.
    Incomplete(EcuAddress),
    /// A legacy message whose checksum does not match its bytes.
    Checksum(EcuAddress),
}

/// The messages of one response, plus anything that went wrong decoding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    pub responses: Vec<EcuResponse>,
    pub anomalies: Vec<Anomaly>,
}

/// A multi-frame message being collected.
#[derive(Debug)]
struct Assembly {
    total: usize,
    data: Vec<u8>,
    /// Sequence number the next consecutive frame must carry (wraps 0-F).
    next_sequence: u8,
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn squash(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// SAE J1850 CRC-8: polynomial 0x1D, initial value 0xFF, result inverted.
fn j1850_crc(bytes: &[u8]) -> u8 {
    let mut crc: u8 = 0xFF;
    for &byte in bytes {
        crc ^= byte;
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

/// ISO 9141-2 and ISO 14230-4: the low byte of the sum of all bytes.
fn sum_checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// Decodes the data lines of one response on `protocol`.
pub fn decode_lines(lines: &[String], protocol: Protocol) -> Decoded {
    if protocol.is_can() {
        CanDecoder::new(protocol).run(lines)
    } else {
        decode_legacy(lines, protocol)
    }
}

struct CanDecoder {
    extended: bool,
    out: Decoded,
    open: BTreeMap<EcuAddress, Assembly>,
}

impl CanDecoder {
    fn new(protocol: Protocol) -> Self {
        CanDecoder {
            extended: protocol.is_extended_can(),
            out: Decoded::default(),
            open: BTreeMap::new(),
        }
    }

    fn run(mut self, lines: &[String]) -> Decoded {
        for line in lines {
            self.line(line);
        }
        for ecu in self.open.keys() {
            self.out.anomalies.push(Anomaly::Incomplete(*ecu));
        }
        self.out
    }

    fn line(&mut self, line: &str) {
        let text = squash(line);
        // Headerless multi-frame: "014" announces the byte count, "0:..." lines carry data.
        if let Some((index, rest)) = text.split_once(':') {
            return self.headerless_continuation(line, index, rest);
        }
        if text.len() == 3 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let total = usize::from_str_radix(&text, 16).unwrap_or(0);
            self.open.insert(
                EcuAddress::Unknown,
                Assembly {
                    total,
                    data: Vec::new(),
                    next_sequence: 0,
                },
            );
            return;
        }
        let header_len = if self.extended { 8 } else { 3 };
        // An 11-bit identifier is three hex digits, so only headered lines have odd length.
        let has_header = if self.extended {
            text.starts_with("18") && text.len() >= 10
        } else {
            !text.len().is_multiple_of(2)
        };
        if has_header && text.len() <= header_len {
            return self
                .out
                .anomalies
                .push(Anomaly::ShortFrame(line.to_string()));
        }
        if !has_header {
            // Headers off: a single frame without its PCI byte.
            return match hex_bytes(&text) {
                Some(data) if !data.is_empty() => self.complete(EcuAddress::Unknown, data),
                _ => self.out.anomalies.push(Anomaly::NotHex(line.to_string())),
            };
        }
        let (id_text, frame_text) = text.split_at(header_len);
        let (Ok(id), Some(frame)) = (u32::from_str_radix(id_text, 16), hex_bytes(frame_text))
        else {
            return self.out.anomalies.push(Anomaly::NotHex(line.to_string()));
        };
        let ecu = if self.extended {
            EcuAddress::Can29(id)
        } else {
            EcuAddress::Can11(id as u16)
        };
        self.frame(ecu, &frame, line);
    }

    fn frame(&mut self, ecu: EcuAddress, frame: &[u8], line: &str) {
        let short = |out: &mut Decoded| out.anomalies.push(Anomaly::ShortFrame(line.to_string()));
        let Some((&pci, rest)) = frame.split_first() else {
            return short(&mut self.out);
        };
        match pci >> 4 {
            0 => {
                let (len, data) = match (pci & 0x0F, rest.split_first()) {
                    // CAN FD escape: the length moves to the next byte.
                    (0, Some((&len, data))) => (usize::from(len), data),
                    (len, _) => (usize::from(len), rest),
                };
                match data.get(..len) {
                    Some(payload) if len > 0 => self.complete(ecu, payload.to_vec()),
                    _ => short(&mut self.out),
                }
            }
            1 => {
                let Some((&low, data)) = rest.split_first() else {
                    return short(&mut self.out);
                };
                let mut total = usize::from(pci & 0x0F) << 8 | usize::from(low);
                let mut data = data;
                if total == 0 {
                    // Escape sequence: a 32-bit length follows.
                    let Some((len, tail)) = data.split_first_chunk::<4>() else {
                        return short(&mut self.out);
                    };
                    total = u32::from_be_bytes(*len) as usize;
                    data = tail;
                }
                let assembly = Assembly {
                    total,
                    data: data.to_vec(),
                    next_sequence: 1,
                };
                self.append(ecu, assembly);
            }
            2 => {
                let Some(mut assembly) = self.open.remove(&ecu) else {
                    return self.out.anomalies.push(Anomaly::StrayFrame(ecu));
                };
                if pci & 0x0F != assembly.next_sequence {
                    return self.out.anomalies.push(Anomaly::Sequence(ecu));
                }
                assembly.next_sequence = (assembly.next_sequence + 1) & 0x0F;
                assembly.data.extend_from_slice(rest);
                self.append(ecu, assembly);
            }
            // Flow control from an ECU is not an answer; anything else is not ISO-TP.
            3 => {}
            _ => short(&mut self.out),
        }
    }

    fn headerless_continuation(&mut self, line: &str, index: &str, rest: &str) {
        let ecu = EcuAddress::Unknown;
        let (Ok(index), Some(data)) = (u8::from_str_radix(index, 16), hex_bytes(rest)) else {
            return self.out.anomalies.push(Anomaly::NotHex(line.to_string()));
        };
        let Some(mut assembly) = self.open.remove(&ecu) else {
            return self.out.anomalies.push(Anomaly::StrayFrame(ecu));
        };
        if index != assembly.next_sequence {
            return self.out.anomalies.push(Anomaly::Sequence(ecu));
        }
        assembly.next_sequence = (assembly.next_sequence + 1) & 0x0F;
        assembly.data.extend_from_slice(&data);
        self.append(ecu, assembly);
    }

    fn append(&mut self, ecu: EcuAddress, mut assembly: Assembly) {
        if assembly.data.len() >= assembly.total {
            assembly.data.truncate(assembly.total);
            self.complete(ecu, assembly.data);
        } else if self.open.insert(ecu, assembly).is_some() {
            // A new first frame replaced an unfinished message from the same ECU.
            self.out.anomalies.push(Anomaly::Incomplete(ecu));
        }
    }

    fn complete(&mut self, ecu: EcuAddress, data: Vec<u8>) {
        self.out.responses.push(EcuResponse { ecu, data });
    }
}

fn decode_legacy(lines: &[String], protocol: Protocol) -> Decoded {
    let mut out = Decoded::default();
    for line in lines {
        let Some(bytes) = hex_bytes(&squash(line)) else {
            out.anomalies.push(Anomaly::NotHex(line.clone()));
            continue;
        };
        let headered = bytes.len() >= 5 && matches!(bytes[1], 0x6B | 0xF1);
        if !headered {
            if !bytes.is_empty() {
                out.responses.push(EcuResponse {
                    ecu: EcuAddress::Unknown,
                    data: bytes,
                });
            }
            continue;
        }
        let ecu = EcuAddress::Legacy(bytes[2]);
        let (body, checksum) = bytes.split_at(bytes.len() - 1);
        // ISO 14230 puts the length in the format byte, or in a fourth header byte when the
        // format byte's length bits are zero.
        let header_len = match protocol {
            Protocol::Kwp5Baud | Protocol::KwpFast if bytes[0] & 0x3F == 0 => 4,
            _ => 3,
        };
        let expected = match protocol {
            Protocol::J1850Pwm | Protocol::J1850Vpw => j1850_crc(body),
            _ => sum_checksum(body),
        };
        if checksum[0] != expected {
            out.anomalies.push(Anomaly::Checksum(ecu));
            continue;
        }
        out.responses.push(EcuResponse {
            ecu,
            data: body.get(header_len..).unwrap_or_default().to_vec(),
        });
    }
    out
}

#[cfg(test)]
mod tests;
