//! Commands sent to the adapter and the answers read back from its AT commands.

use std::fmt::Write as _;

use crate::obd::protocol::Protocol;

/// How an initialisation command is treated when the adapter answers `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Without it nothing else works (echo off: the parser would read our own commands).
    Required,
    /// Nice to have; v1.x clones lack some of these and work fine without.
    Optional,
}

/// Settings applied after every reset, in order, per the datasheet's defaults they override.
pub const SETTINGS: &[(&str, Need)] = &[
    // Echo off first: every later answer would otherwise start with our command.
    ("ATE0", Need::Required),
    // CR only: simpler framing, and the default on most adapters anyway.
    ("ATL0", Need::Optional),
    // No spaces: a third fewer bytes per answer on a 38400 baud line.
    ("ATS0", Need::Optional),
    // Headers tell which ECU answered; without them multi-ECU answers cannot be split.
    ("ATH1", Need::Optional),
    // Adaptive timing shortens the wait after the last answer to what the vehicle needs.
    ("ATAT1", Need::Optional),
];

/// Formats an OBD request as the adapter expects it: hex, no spaces, and optionally the
/// response-count digit (ELM327 v1.3 and later) so the adapter returns as soon as that many
/// answers arrived instead of waiting out its timeout.
pub fn obd_command(data: &[u8], expected_responses: Option<u8>) -> String {
    let mut text = String::with_capacity(data.len() * 2 + 1);
    for byte in data {
        let _ = write!(text, "{byte:02X}");
    }
    if let Some(n) = expected_responses.filter(|n| (1..=0x0F).contains(n)) {
        let _ = write!(text, "{n:X}");
    }
    text
}

/// Command selecting a protocol: a fixed one, or automatic search.
pub fn protocol_command(protocol: Option<Protocol>) -> String {
    match protocol {
        Some(p) => format!("ATSP{:X}", p.elm_number()),
        None => "ATSP0".to_string(),
    }
}

/// The adapter's version from its reset banner or `ATI`, e.g. `ELM327 v1.5` → (1, 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterVersion {
    pub banner: String,
    pub major: u8,
    pub minor: u8,
}

impl AdapterVersion {
    pub fn parse(text: &str) -> Option<AdapterVersion> {
        let line = text
            .split(['\r', '\n'])
            .map(str::trim)
            .find(|l| l.to_ascii_uppercase().contains("ELM32"))?;
        let upper = line.to_ascii_uppercase();
        let after_v = &upper[upper
            .find(" V")
            .map(|i| i + 2)
            .or_else(|| upper.find('V').map(|i| i + 1))?..];
        let mut parts = after_v.split('.');
        let major = parts.next()?.trim().parse().ok()?;
        let minor_text: String = parts
            .next()
            .unwrap_or("0")
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let minor = minor_text.parse().unwrap_or(0);
        Some(AdapterVersion {
            banner: line.to_string(),
            major,
            minor,
        })
    }

    /// Whether the response-count digit is documented for this version (v1.3 and later).
    pub fn has_response_count(&self) -> bool {
        (self.major, self.minor) >= (1, 3)
    }
}

/// Reads the `ATDPN` answer: `A6` (found by automatic search) or `6` (set by us).
pub fn parse_protocol_number(text: &str) -> Option<Protocol> {
    let word = text
        .split_whitespace()
        .last()?
        .trim_start_matches(['A', 'a']);
    let number = u8::from_str_radix(word, 16).ok()?;
    Protocol::from_elm_number(number)
}

/// Reads the `ATRV` answer, e.g. `12.6V`.
pub fn parse_voltage(text: &str) -> Option<f32> {
    let number: String = text
        .trim()
        .trim_end_matches(['V', 'v'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let volts: f32 = number.parse().ok()?;
    (0.0..=40.0).contains(&volts).then_some(volts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_hex_with_an_optional_count() {
        assert_eq!(obd_command(&[0x01, 0x0C], None), "010C");
        assert_eq!(obd_command(&[0x01, 0x0C, 0x0D], Some(1)), "010C0D1");
        assert_eq!(obd_command(&[0x09, 0x02], Some(12)), "0902C");
        assert_eq!(obd_command(&[0x03], Some(16)), "03");
        assert_eq!(obd_command(&[0x03], Some(0)), "03");
    }

    #[test]
    fn protocol_selection() {
        assert_eq!(protocol_command(None), "ATSP0");
        assert_eq!(protocol_command(Some(Protocol::Can29_500)), "ATSP7");
        assert_eq!(protocol_command(Some(Protocol::User2Can)), "ATSPC");
    }

    #[test]
    fn versions_from_banners() {
        let v = AdapterVersion::parse("\r\rELM327 v1.5\r\r").unwrap();
        assert_eq!((v.major, v.minor), (1, 5));
        assert!(v.has_response_count());
        let v = AdapterVersion::parse("ELM327 v1.4b").unwrap();
        assert_eq!((v.major, v.minor), (1, 4));
        let v = AdapterVersion::parse("ELM327 v2.3").unwrap();
        assert_eq!((v.major, v.minor), (2, 3));
        let v = AdapterVersion::parse("ELM327 v1.0").unwrap();
        assert!(!v.has_response_count());
        assert_eq!(AdapterVersion::parse("OK"), None);
        assert_eq!(AdapterVersion::parse("ELM327"), None);
    }

    #[test]
    fn protocol_numbers() {
        assert_eq!(parse_protocol_number("A6"), Some(Protocol::Can11_500));
        assert_eq!(parse_protocol_number("3"), Some(Protocol::Iso9141));
        assert_eq!(parse_protocol_number("AC"), Some(Protocol::User2Can));
        assert_eq!(parse_protocol_number("A0"), None);
        assert_eq!(parse_protocol_number("?"), None);
    }

    #[test]
    fn voltages() {
        assert_eq!(parse_voltage("12.6V"), Some(12.6));
        assert_eq!(parse_voltage(" 14.2 V "), Some(14.2));
        assert_eq!(parse_voltage("?"), None);
        assert_eq!(parse_voltage("99V"), None);
    }
}
