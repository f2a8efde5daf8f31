//! Diagnostic trouble codes as SAE J2012 / J1979 encode them.
//!
//! On the wire a code is two bytes. The top two bits of the first byte pick the letter
//! (P, C, B, U), the next two the first digit (0-3), the low nibble the second digit; the
//! second byte holds the last two digits. All digits after the letter are hexadecimal
//! (`P0A7F` is a valid hybrid code), so every 16-bit value except `0000` is a code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One trouble code, stored in its two-byte wire form so that ordering and hashing follow
/// the standard's numbering.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dtc(u16);

/// The system a code belongs to, from its letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtcSystem {
    Powertrain,
    Chassis,
    Body,
    Network,
}

impl DtcSystem {
    pub fn letter(self) -> char {
        match self {
            DtcSystem::Powertrain => 'P',
            DtcSystem::Chassis => 'C',
            DtcSystem::Body => 'B',
            DtcSystem::Network => 'U',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtcParseError {
    #[error(
        "'{0}' is not a trouble code: expected a letter P, C, B or U, a digit 0-3 and three hex digits, e.g. P0301 or U0100"
    )]
    Malformed(String),
    #[error("0000 is padding, not a trouble code")]
    Padding,
}

/// How a list of codes is framed inside a service 03/07/0A answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtcFraming {
    /// ISO 15765-4 (CAN): one byte with the number of codes, then the pairs.
    Counted,
    /// SAE J1850 / ISO 9141-2 / ISO 14230: pairs only, three per message, padded with 00 00.
    Uncounted,
    /// Decide from the length: a count byte makes the payload odd-sized.
    Auto,
}

/// What came out of a DTC list, with anything odd about it said rather than hidden.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DtcList {
    pub codes: Vec<Dtc>,
    /// Set when the ECU's count byte disagrees with the pairs it sent; the pairs win, because a
    /// code that was transmitted must never be dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_count: Option<u8>,
    /// A lone byte at the end that cannot form a code (a truncated answer).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Dtc {
    pub const fn from_raw(raw: u16) -> Self {
        Dtc(raw)
    }

    pub fn from_bytes(a: u8, b: u8) -> Option<Self> {
        let raw = u16::from_be_bytes([a, b]);
        (raw != 0).then_some(Dtc(raw))
    }

    pub const fn raw(self) -> u16 {
        self.0
    }

    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    pub fn system(self) -> DtcSystem {
        match self.0 >> 14 {
            0 => DtcSystem::Powertrain,
            1 => DtcSystem::Chassis,
            2 => DtcSystem::Body,
            _ => DtcSystem::Network,
        }
    }

    /// The four characters after the letter, e.g. `0301` for P0301.
    pub fn number(self) -> u16 {
        self.0 & 0x3FFF
    }

    /// First digit after the letter: 0 and 2 (and some of 3) are SAE-defined, 1 and the rest
    /// of 3 belong to the manufacturer.
    pub fn first_digit(self) -> u8 {
        ((self.0 >> 12) & 0x3) as u8
    }
}

impl fmt::Display for Dtc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:04X}", self.system().letter(), self.number())
    }
}

impl fmt::Debug for Dtc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dtc({self})")
    }
}

impl FromStr for Dtc {
    type Err = DtcParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || DtcParseError::Malformed(s.to_string());
        let mut chars = text.chars();
        let letter = chars.next().ok_or_else(bad)?;
        let system: u16 = match letter.to_ascii_uppercase() {
            'P' => 0,
            'C' => 1,
            'B' => 2,
            'U' => 3,
            _ => return Err(bad()),
        };
        let digits = chars.as_str();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let number = u16::from_str_radix(digits, 16).map_err(|_| bad())?;
        if number > 0x3FFF {
            return Err(bad());
        }
        let raw = (system << 14) | number;
        if raw == 0 {
            return Err(DtcParseError::Padding);
        }
        Ok(Dtc(raw))
    }
}

impl Serialize for Dtc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dtc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Decodes the bytes after the service byte (0x43, 0x47 or 0x4A) of one ECU's answer.
pub fn decode_dtc_list(payload: &[u8], framing: DtcFraming) -> DtcList {
    let counted = match framing {
        DtcFraming::Counted => true,
        DtcFraming::Uncounted => false,
        DtcFraming::Auto => payload.len() % 2 == 1,
    };
    let (declared_count, pairs) = match (counted, payload.split_first()) {
        (true, Some((count, rest))) => (Some(*count), rest),
        _ => (None, payload),
    };
    let chunks = pairs.chunks_exact(2);
    let truncated = !chunks.remainder().is_empty();
    let codes: Vec<Dtc> = chunks.filter_map(|p| Dtc::from_bytes(p[0], p[1])).collect();
    let declared_count = declared_count.filter(|&n| usize::from(n) != codes.len());
    DtcList {
        codes,
        declared_count,
        truncated,
    }
}

/// Encodes codes as an ECU would answer service 03/07/0A (without the service byte).
pub fn encode_dtc_list(codes: &[Dtc], framing: DtcFraming) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + codes.len() * 2);
    if framing != DtcFraming::Uncounted {
        out.push(codes.len().min(255) as u8);
    }
    for code in codes {
        out.extend_from_slice(&code.to_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtc(s: &str) -> Dtc {
        s.parse().unwrap()
    }

    #[test]
    fn letters_follow_the_top_two_bits() {
        assert_eq!(Dtc::from_bytes(0x01, 0x43).unwrap().to_string(), "P0143");
        assert_eq!(Dtc::from_bytes(0x41, 0x23).unwrap().to_string(), "C0123");
        assert_eq!(Dtc::from_bytes(0x81, 0x23).unwrap().to_string(), "B0123");
        assert_eq!(Dtc::from_bytes(0xC1, 0x00).unwrap().to_string(), "U0100");
        assert_eq!(Dtc::from_bytes(0x3A, 0x7F).unwrap().to_string(), "P3A7F");
        assert_eq!(Dtc::from_bytes(0x0A, 0x7F).unwrap().to_string(), "P0A7F");
        assert_eq!(Dtc::from_bytes(0xFF, 0xFF).unwrap().to_string(), "U3FFF");
        assert_eq!(Dtc::from_bytes(0x00, 0x00), None);
    }

    #[test]
    fn every_code_round_trips_through_text() {
        for raw in 1..=u16::MAX {
            let code = Dtc::from_raw(raw);
            assert_eq!(code.to_string().parse::<Dtc>().unwrap(), code);
        }
    }

    #[test]
    fn parsing_rejects_what_is_not_a_code() {
        for bad in ["", "P", "P030", "P03011", "X0301", "P4301", "P03G1", "0301", "P 301"] {
            assert!(
                matches!(bad.parse::<Dtc>(), Err(DtcParseError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!("P0000".parse::<Dtc>(), Err(DtcParseError::Padding));
        assert_eq!(dtc("p0a7f"), dtc("P0A7F"));
    }

    #[test]
    fn counted_list_from_can() {
        let list = decode_dtc_list(&[0x02, 0x01, 0x43, 0x01, 0x96], DtcFraming::Counted);
        assert_eq!(list.codes, vec![dtc("P0143"), dtc("P0196")]);
        assert_eq!(list.declared_count, None);
        assert!(!list.truncated);
    }

    #[test]
    fn uncounted_list_skips_padding() {
        let list = decode_dtc_list(&[0x01, 0x43, 0x01, 0x96, 0x00, 0x00], DtcFraming::Uncounted);
        assert_eq!(list.codes, vec![dtc("P0143"), dtc("P0196")]);
    }

    #[test]
    fn auto_framing_uses_parity() {
        let can = decode_dtc_list(&[0x01, 0x03, 0x00], DtcFraming::Auto);
        assert_eq!(can.codes, vec![dtc("P0300")]);
        let legacy = decode_dtc_list(&[0x03, 0x00, 0x00, 0x00, 0x00, 0x00], DtcFraming::Auto);
        assert_eq!(legacy.codes, vec![dtc("P0300")]);
        assert_eq!(decode_dtc_list(&[0x00], DtcFraming::Auto), DtcList::default());
    }

    #[test]
    fn a_wrong_count_keeps_every_transmitted_code() {
        let list = decode_dtc_list(&[0x01, 0x03, 0x00, 0x03, 0x01], DtcFraming::Counted);
        assert_eq!(list.codes, vec![dtc("P0300"), dtc("P0301")]);
        assert_eq!(list.declared_count, Some(1));
    }

    #[test]
    fn a_lone_trailing_byte_is_reported() {
        let list = decode_dtc_list(&[0x03, 0x00, 0x03], DtcFraming::Uncounted);
        assert_eq!(list.codes, vec![dtc("P0300")]);
        assert!(list.truncated);
    }

    #[test]
    fn encoding_is_the_inverse_of_decoding() {
        let codes = vec![dtc("P0301"), dtc("C0035"), dtc("B0001"), dtc("U0100")];
        for framing in [DtcFraming::Counted, DtcFraming::Uncounted] {
            let bytes = encode_dtc_list(&codes, framing);
            assert_eq!(decode_dtc_list(&bytes, framing).codes, codes);
        }
    }
}
