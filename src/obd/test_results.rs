//! On-board monitoring test results (service 06), ISO 15765-4 (CAN) format of SAE J1979.
//!
//! The request is `06 MID`. MIDs 00, 20, 40, ... E0 answer with a four-byte bitmap of the
//! MIDs an ECU supports, as the service 01 PID bitmaps do. Any other MID answers `46 MID`
//! followed by one record of eight bytes per test: `TID UASID value(2) min(2) max(2)`, the
//! three values big-endian and scaled by the unit and scaling id (UASID, J1979 appendix E).
//! A test passes when `min <= value <= max`.
//!
//! The legacy buses (J1850, ISO 9141-2, KWP2000) carry a different service 06 layout
//! (test id and a single limit); it is not decoded here, and the reader does not ask for it
//! on those buses.

use serde::Serialize;

use super::DecodeError;
use super::pid::decode_supported;

pub const TEST_RESULTS: u8 = 0x06;
const RESPONSE: u8 = 0x46;
const RECORD_LEN: usize = 8;

/// Standard OBD monitor ids used here.
pub const MID_O2_B1S1: u8 = 0x01;
pub const MID_CATALYST_B1: u8 = 0x21;
pub const MID_CATALYST_B2: u8 = 0x22;
pub const MID_MISFIRE_GENERAL: u8 = 0xA1;
/// Cylinder n (1-12) is `MID_MISFIRE_CYL1 + n - 1`.
pub const MID_MISFIRE_CYL1: u8 = 0xA2;
/// Misfire MIDs' standard test ids: EWMA misfire count over the last ten drive cycles, and
/// the count of the last or current drive cycle.
pub const TID_MISFIRE_EWMA: u8 = 0x0B;
pub const TID_MISFIRE_LAST_CYCLE: u8 = 0x0C;

/// `06 MID`.
pub fn test_results_request(mid: u8) -> Vec<u8> {
    vec![TEST_RESULTS, mid]
}

pub fn is_bitmap_mid(mid: u8) -> bool {
    mid.is_multiple_of(0x20)
}

/// The name J1979 gives a monitor id, for the MIDs this agent knows.
pub fn mid_name(mid: u8) -> Option<String> {
    Some(match mid {
        0x01..=0x08 => {
            let n = mid - 1;
            format!("O2 sensor monitor bank {} sensor {}", n / 4 + 1, n % 4 + 1)
        }
        0x21 => "Catalyst monitor bank 1".into(),
        0x22 => "Catalyst monitor bank 2".into(),
        0xA1 => "Misfire monitor general data".into(),
        0xA2..=0xAD => format!("Misfire cylinder {} data", mid - 0xA1),
        _ => return None,
    })
}

/// What a unit and scaling id means: the unit and the value of one bit, with an offset for
/// the few that have one, and whether the raw value is signed (ids 0x80 and up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    pub unit: &'static str,
    pub per_bit: f64,
    pub offset: f64,
    pub signed: bool,
}

/// J1979 appendix E, the unit and scaling ids this agent decodes. Others are reported raw.
pub fn scaling(uas: u8) -> Option<Scaling> {
    let s = |unit, per_bit, offset, signed| Scaling {
        unit,
        per_bit,
        offset,
        signed,
    };
    Some(match uas {
        0x01 => s("", 1.0, 0.0, false),
        0x02 => s("", 0.1, 0.0, false),
        0x03 => s("", 0.01, 0.0, false),
        0x04 => s("", 0.001, 0.0, false),
        0x0A => s("mV", 0.122, 0.0, false),
        0x0B => s("V", 0.001, 0.0, false),
        0x0C => s("V", 0.01, 0.0, false),
        0x10 => s("ms", 1.0, 0.0, false),
        0x12 => s("s", 1.0, 0.0, false),
        0x24 => s("counts", 1.0, 0.0, false),
        0x81 => s("", 1.0, 0.0, true),
        0x8A => s("mV", 0.122, 0.0, true),
        _ => return None,
    })
}

/// One test of one monitor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub mid: u8,
    pub tid: u8,
    pub uas: u8,
    /// Scaled value and limits; the raw ones when the UASID is unknown (`scaled` false).
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
    /// Whether `value`, `min` and `max` are in `unit`; false: raw, the UASID is unknown.
    pub scaled: bool,
    pub passed: bool,
    /// Which limits are real: ECUs report a one-sided test with the other limit at the end
    /// of the raw range (0, or FFFF / 7FFF), e.g. a catalyst ratio has only a maximum.
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limits {
    Both,
    MaxOnly,
    MinOnly,
    /// Neither limit means anything (counts reported for information, e.g. misfires).
    None,
}

impl TestResult {
    /// How far the value is from the nearer limit, as a share of the min..max range: 0.5 in
    /// the middle, 0 at a limit, negative outside. `None` for an empty range.
    pub fn margin(&self) -> Option<f64> {
        let span = self.max - self.min;
        (span > 0.0).then(|| (self.value - self.min).min(self.max - self.value) / span)
    }

    /// How much of the allowed range the value has used, %: 100 at the limit, above when
    /// failed. One-sided tests count from zero to the limit (max) or from the limit down
    /// (`min / value`); two-sided ones from the middle to the nearer limit. `None` when
    /// there is no real limit, or a zero makes the share meaningless (`passed` still says).
    pub fn limit_used_pct(&self) -> Option<f64> {
        let pct = match self.limits {
            Limits::None => return None,
            Limits::MaxOnly if self.max > 0.0 => self.value / self.max * 100.0,
            Limits::MinOnly if self.value > 0.0 => self.min / self.value * 100.0,
            Limits::Both => 100.0 * (1.0 - self.margin()? / 0.5),
            Limits::MaxOnly | Limits::MinOnly => return None,
        };
        pct.is_finite().then_some(pct)
    }
}

fn raw(bytes: [u8; 2], signed: bool) -> f64 {
    if signed {
        f64::from(i16::from_be_bytes(bytes))
    } else {
        f64::from(u16::from_be_bytes(bytes))
    }
}

/// Decodes the bytes after `46`: the MID and its test records. Bitmap MIDs are not tests
/// (use [`decode_supported_mids`]).
pub fn decode_test_results(payload: &[u8]) -> Result<Vec<TestResult>, DecodeError> {
    let (&mid, records) = payload.split_first().ok_or(DecodeError::Truncated {
        service: RESPONSE,
        got: 1,
    })?;
    if records.is_empty() || records.len() % RECORD_LEN != 0 {
        return Err(DecodeError::Length {
            pid: mid,
            expected: records.len().div_ceil(RECORD_LEN).max(1) * RECORD_LEN,
            got: records.len(),
        });
    }
    Ok(records
        .chunks_exact(RECORD_LEN)
        .map(|r| {
            let uas = r[1];
            let known = scaling(uas);
            // Appendix E numbers the signed scalings from 0x81: an unknown one is still
            // compared as signed, so pass/fail stays right even when the unit is unknown.
            let signed = known.map_or(uas >= 0x80, |s| s.signed);
            let scale = |b: [u8; 2]| match known {
                Some(s) => raw(b, signed) * s.per_bit + s.offset,
                None => raw(b, signed),
            };
            let (value, min, max) = (
                scale([r[2], r[3]]),
                scale([r[4], r[5]]),
                scale([r[6], r[7]]),
            );
            // Pass/fail is decided on the raw numbers, which scaling cannot reorder.
            let (rv, rmin, rmax) = (
                raw([r[2], r[3]], signed),
                raw([r[4], r[5]], signed),
                raw([r[6], r[7]], signed),
            );
            let (floor, ceiling) = if signed {
                (f64::from(i16::MIN), f64::from(i16::MAX))
            } else {
                (0.0, f64::from(u16::MAX))
            };
            let limits = match (rmin <= floor, rmax >= ceiling) {
                (false, false) => Limits::Both,
                (true, false) => Limits::MaxOnly,
                (false, true) => Limits::MinOnly,
                (true, true) => Limits::None,
            };
            TestResult {
                mid,
                tid: r[0],
                uas,
                value,
                min,
                max,
                unit: known.map_or("", |s| s.unit),
                scaled: known.is_some(),
                passed: rmin <= rv && rv <= rmax,
                limits,
            }
        })
        .collect())
}

/// The MIDs listed in the answer to a bitmap MID (`46 base b0 b1 b2 b3`, `payload` from base).
pub fn decode_supported_mids(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let (&base, bitmap) = payload.split_first().ok_or(DecodeError::Truncated {
        service: RESPONSE,
        got: 1,
    })?;
    decode_supported(base, bitmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_mids_read_like_pid_bitmaps() {
        // 01 (O2 B1S1), 21 (catalyst B1) and 20 (the next bitmap).
        let mids = decode_supported_mids(&[0x00, 0x80, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(mids, vec![0x01, 0x20]);
        let mids = decode_supported_mids(&[0x20, 0x80, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!(mids, vec![0x21]);
        assert!(decode_supported_mids(&[0x00, 0x80]).is_err());
    }

    #[test]
    fn misfire_cylinder_counts_decode_with_uas_24() {
        // A2: TID 0B EWMA 3 counts (limits 0..65535), TID 0C last cycle 12 counts.
        let payload = [
            0xA2, 0x0B, 0x24, 0x00, 0x03, 0x00, 0x00, 0xFF, 0xFF, 0x0C, 0x24, 0x00, 0x0C, 0x00,
            0x00, 0xFF, 0xFF,
        ];
        let tests = decode_test_results(&payload).unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!((tests[0].mid, tests[0].tid), (0xA2, TID_MISFIRE_EWMA));
        assert_eq!(tests[0].value, 3.0);
        assert_eq!(tests[0].unit, "counts");
        assert!(tests[0].passed && tests[0].scaled);
        assert_eq!(tests[1].value, 12.0);
    }

    #[test]
    fn o2_sensor_voltage_scales_at_0_122_mv_per_bit() {
        // 01 TID 01 UAS 0A: 0x0E10 = 3600 bits = 439.2 mV, limits 0x0CCD..0x1000.
        let tests =
            decode_test_results(&[0x01, 0x01, 0x0A, 0x0E, 0x10, 0x0C, 0xCD, 0x10, 0x00]).unwrap();
        let t = &tests[0];
        assert!((t.value - 439.2).abs() < 1e-9, "{}", t.value);
        assert!((t.min - 3277.0 * 0.122).abs() < 1e-9);
        assert!((t.max - 4096.0 * 0.122).abs() < 1e-9);
        assert_eq!(t.unit, "mV");
        assert!(t.passed);
    }

    #[test]
    fn a_value_above_its_maximum_fails() {
        // Catalyst B1, raw ratio 0x00A0 = 160 against a maximum of 0x0090 = 144.
        let tests =
            decode_test_results(&[0x21, 0x80, 0x01, 0x00, 0xA0, 0x00, 0x00, 0x00, 0x90]).unwrap();
        assert!(!tests[0].passed);
        assert!(tests[0].margin().unwrap() < 0.0);
    }

    #[test]
    fn signed_scalings_read_twos_complement() {
        // UAS 81: -2 within -10..10.
        let tests =
            decode_test_results(&[0x01, 0x85, 0x81, 0xFF, 0xFE, 0xFF, 0xF6, 0x00, 0x0A]).unwrap();
        assert_eq!(
            (tests[0].value, tests[0].min, tests[0].max),
            (-2.0, -10.0, 10.0)
        );
        assert!(tests[0].passed);
    }

    #[test]
    fn unknown_uas_ids_keep_the_raw_value_and_say_so() {
        let tests =
            decode_test_results(&[0x21, 0x80, 0x7E, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00]).unwrap();
        let t = &tests[0];
        assert!(!t.scaled);
        assert_eq!((t.value, t.min, t.max, t.unit), (256.0, 0.0, 512.0, ""));
        assert!(t.passed);
        // An unknown signed id (0x80 and up): -1 lies within -10..10, raw and unscaled.
        let tests =
            decode_test_results(&[0x21, 0x80, 0xF0, 0xFF, 0xFF, 0xFF, 0xF6, 0x00, 0x0A]).unwrap();
        let t = &tests[0];
        assert!(!t.scaled && t.passed);
        assert_eq!((t.value, t.min, t.max), (-1.0, -10.0, 10.0));
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        assert!(decode_test_results(&[]).is_err());
        assert!(decode_test_results(&[0x21]).is_err());
        assert!(decode_test_results(&[0x21, 0x80, 0x01, 0x00]).is_err());
        assert!(decode_test_results(&[0x21, 0x80, 0x01, 0, 1, 0, 0, 0, 2, 0x81]).is_err());
    }

    #[test]
    fn margin_is_the_share_of_the_range_left() {
        let t = TestResult {
            mid: 0x21,
            tid: 0x80,
            uas: 0x01,
            value: 90.0,
            min: 0.0,
            max: 100.0,
            unit: "",
            scaled: true,
            passed: true,
            limits: Limits::Both,
        };
        assert!((t.margin().unwrap() - 0.1).abs() < 1e-12);
        assert!((t.limit_used_pct().unwrap() - 80.0).abs() < 1e-9);
    }

    #[test]
    fn one_sided_limits_are_recognised_and_measured_from_zero() {
        // Catalyst: ratio 0.60 (UAS 03), limits 0..0.75: only a maximum, 80 % used.
        let cat = &decode_test_results(&[0x21, 0x80, 0x03, 0x00, 0x3C, 0x00, 0x00, 0x00, 0x4B])
            .unwrap()[0];
        assert_eq!(cat.limits, Limits::MaxOnly);
        assert!((cat.limit_used_pct().unwrap() - 80.0).abs() < 1e-9);
        // A minimum of 200 with the value at 250: 80 % used; at 0 it is failed, not a number.
        let low = &decode_test_results(&[0x01, 0x86, 0x01, 0x00, 0xFA, 0x00, 0xC8, 0xFF, 0xFF])
            .unwrap()[0];
        assert_eq!(low.limits, Limits::MinOnly);
        assert!((low.limit_used_pct().unwrap() - 80.0).abs() < 1e-9);
        let zero = &decode_test_results(&[0x01, 0x86, 0x01, 0x00, 0x00, 0x00, 0xC8, 0xFF, 0xFF])
            .unwrap()[0];
        assert!(!zero.passed && zero.limit_used_pct().is_none());
        // Misfire counts with 0..FFFF limits are information, not a test.
        let mis = &decode_test_results(&[0xA2, 0x0B, 0x24, 0x00, 0x05, 0x00, 0x00, 0xFF, 0xFF])
            .unwrap()[0];
        assert_eq!(mis.limits, Limits::None);
        assert!(mis.limit_used_pct().is_none());
    }

    #[test]
    fn mid_names_follow_j1979() {
        assert_eq!(mid_name(0x01).unwrap(), "O2 sensor monitor bank 1 sensor 1");
        assert_eq!(mid_name(0x06).unwrap(), "O2 sensor monitor bank 2 sensor 2");
        assert_eq!(mid_name(0xA2).unwrap(), "Misfire cylinder 1 data");
        assert_eq!(mid_name(0xAD).unwrap(), "Misfire cylinder 12 data");
        assert!(mid_name(0x50).is_none());
    }
}
