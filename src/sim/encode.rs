//! Physical values to J1979 bytes, written from the standard's formulas.
//!
//! These deliberately do not use `crate::obd::pid`: the decoders there are written
//! independently, so a value that survives encode here and decode there is a real
//! cross-check rather than one formula compared with itself.

use crate::obd::dtc::{Dtc, DtcFraming, encode_dtc_list};

/// Rounds and clamps to what `bytes` big-endian bytes can carry.
fn scaled(value: f64, bytes: u32) -> u32 {
    let max = if bytes >= 4 {
        f64::from(u32::MAX)
    } else {
        f64::from((1u32 << (8 * bytes)) - 1)
    };
    value.round().clamp(0.0, max) as u32
}

fn one(value: f64) -> Vec<u8> {
    vec![scaled(value, 1) as u8]
}

fn two(value: f64) -> Vec<u8> {
    (scaled(value, 2) as u16).to_be_bytes().to_vec()
}

/// PID 0C: A*256+B = rpm * 4.
pub fn rpm(rpm: f64) -> Vec<u8> {
    two(rpm * 4.0)
}

/// Temperatures (05, 0F, 46, 5C): A = degC + 40.
pub fn temperature(celsius: f64) -> Vec<u8> {
    one(celsius + 40.0)
}

/// Percentages on 0..255 (04, 11, 2F, 5B): A = pct * 255 / 100.
pub fn percent(pct: f64) -> Vec<u8> {
    one(pct * 255.0 / 100.0)
}

/// Fuel trims (06-09): A = pct * 128 / 100 + 128.
pub fn fuel_trim(pct: f64) -> Vec<u8> {
    one(pct * 128.0 / 100.0 + 128.0)
}

/// Single-byte raw quantities: speed km/h (0D), kPa (0B, 33), counts (30).
pub fn byte(value: f64) -> Vec<u8> {
    one(value)
}

/// Two-byte raw quantities: seconds (1F), km (21, 31), minutes (4D, 4E).
pub fn word(value: f64) -> Vec<u8> {
    two(value)
}

/// PID 0E: A = (degrees + 64) * 2.
pub fn timing_advance(degrees: f64) -> Vec<u8> {
    one((degrees + 64.0) * 2.0)
}

/// PID 10: (A*256+B) = g/s * 100.
pub fn maf(grams_per_second: f64) -> Vec<u8> {
    two(grams_per_second * 100.0)
}

/// PID 42: (A*256+B) = volts * 1000.
pub fn module_voltage(volts: f64) -> Vec<u8> {
    two(volts * 1000.0)
}

/// Supported-PID bitmap for the 32 PIDs after `base` (00, 20, 40, ...): bit 7 of the first
/// byte is PID base+1, bit 0 of the last is base+0x20, which announces the next bitmap.
/// PID A6: 4 bytes, 0.1 km per bit.
pub fn odometer(km: f64) -> Vec<u8> {
    ((km.max(0.0) * 10.0).round().min(f64::from(u32::MAX)) as u32)
        .to_be_bytes()
        .to_vec()
}

pub fn supported_bitmap(base: u8, supported: impl IntoIterator<Item = u8>) -> [u8; 4] {
    let mut bits = 0u32;
    for pid in supported {
        let offset = u32::from(pid).wrapping_sub(u32::from(base));
        if (1..=32).contains(&offset) {
            bits |= 1 << (32 - offset);
        }
    }
    bits.to_be_bytes()
}

/// Service 03/07/0A payloads (after the service byte) as one ECU sends them: one counted
/// message on CAN; on the legacy buses messages of exactly three pairs padded with `00 00`,
/// and one all-padding message when there is nothing to report.
pub fn dtc_messages(codes: &[Dtc], can: bool) -> Vec<Vec<u8>> {
    if can {
        return vec![encode_dtc_list(codes, DtcFraming::Counted)];
    }
    if codes.is_empty() {
        return vec![vec![0; 6]];
    }
    codes
        .chunks(3)
        .map(|chunk| {
            let mut message = encode_dtc_list(chunk, DtcFraming::Uncounted);
            message.resize(6, 0);
            message
        })
        .collect()
}

/// Pads or cuts ASCII text to a fixed-size field, NUL-filled as J1979 fills CALID and
/// ECU names.
pub fn ascii_field(text: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.bytes().filter(u8::is_ascii).take(len).collect();
    out.resize(len, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_match_the_j1979_examples() {
        assert_eq!(rpm(1726.0), vec![0x1A, 0xF8]);
        assert_eq!(temperature(90.0), vec![130]);
        assert_eq!(temperature(-60.0), vec![0], "clamped, not wrapped");
        assert_eq!(percent(100.0), vec![255]);
        assert_eq!(fuel_trim(0.0), vec![128]);
        assert_eq!(fuel_trim(-100.0), vec![0]);
        assert_eq!(timing_advance(10.0), vec![148]);
        assert_eq!(maf(3.5), vec![0x01, 0x5E]);
        assert_eq!(module_voltage(14.2), vec![0x37, 0x78]);
        assert_eq!(word(70000.0), vec![0xFF, 0xFF]);
    }

    #[test]
    fn bitmaps_set_one_bit_per_pid_from_the_left() {
        assert_eq!(supported_bitmap(0x00, [0x01]), [0x80, 0, 0, 0]);
        assert_eq!(supported_bitmap(0x00, [0x20]), [0, 0, 0, 0x01]);
        assert_eq!(
            supported_bitmap(0x20, [0x21, 0x40, 0x0C]),
            [0x80, 0, 0, 0x01]
        );
        assert_eq!(
            supported_bitmap(0x00, [0x00]),
            [0, 0, 0, 0],
            "the bitmap PID itself"
        );
    }

    #[test]
    fn legacy_dtc_messages_hold_three_codes_each() {
        let codes: Vec<Dtc> = ["P0300", "P0301", "P0302", "P0420"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let messages = dtc_messages(&codes, false);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0], vec![0x03, 0x00, 0x03, 0x01, 0x03, 0x02]);
        assert_eq!(messages[1], vec![0x04, 0x20, 0, 0, 0, 0]);
        assert_eq!(dtc_messages(&[], false), vec![vec![0; 6]]);
        assert_eq!(dtc_messages(&codes[..1], true), vec![vec![1, 0x03, 0x00]]);
        assert_eq!(ascii_field("ECM", 5), b"ECM\0\0".to_vec());
    }
}
