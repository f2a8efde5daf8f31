//! Vectors for PIDs 60-C4 and properties of the whole table. Expected values are worked out
//! by hand from SAE J1979-DA's definitions.

use super::tests::{check, flag, read, text};
use super::*;

#[test]
fn torque() {
    check(0x61, &[0x7D], "demand_torque", 0.0);
    check(0x62, &[0xFA], "actual_torque", 125.0);
    check(0x62, &[0x00], "actual_torque", -125.0);
    check(0x8E, &[0x87], "friction_torque", 10.0);
    check(0x63, &[0x01, 0x90], "reference_torque", 400.0);
    let points = [0x7D, 0x80, 0x96, 0xAF, 0xC8];
    for (key, pct) in [
        ("idle", 0.0),
        ("point_1", 3.0),
        ("point_2", 25.0),
        ("point_3", 50.0),
        ("point_4", 75.0),
    ] {
        check(0x64, &points, key, pct);
    }
}

#[test]
fn aux_io_reports_only_supported_signals() {
    // A: PTO and manual gear signals exist; B: PTO off, in gear.
    assert_eq!(flag(0x65, &[0x05, 0x04], "pto_active"), Some(false));
    assert_eq!(
        flag(0x65, &[0x05, 0x04], "manual_transmission_in_gear"),
        Some(true)
    );
    assert_eq!(
        flag(0x65, &[0x05, 0x04], "auto_transmission_in_drive"),
        None
    );
}

#[test]
fn support_byte_layouts() {
    // MAF A: 0x0200 / 32 = 16 g/s; sensor B not supported, so absent.
    check(0x66, &[0x01, 0x02, 0x00, 0xFF, 0xFF], "maf_a", 16.0);
    assert_eq!(read(0x66, &[0x01, 0x02, 0x00, 0xFF, 0xFF]).values.len(), 1);
    check(0x66, &[0x03, 0, 0, 0x00, 0x50], "maf_b", 2.5); // 80 / 32
    check(0x67, &[0x03, 0x5A, 0x32], "sensor_1", 50.0);
    check(0x67, &[0x03, 0x5A, 0x32], "sensor_2", 10.0);
    let iat = [0x09, 0x46, 0, 0, 0x3C, 0, 0];
    check(0x68, &iat, "b1s1", 30.0);
    check(0x68, &iat, "b2s1", 20.0);
    assert_eq!(read(0x68, &iat).values.len(), 2);
    let egr = [0x07, 0x33, 0x66, 0xA0, 0, 0, 0];
    check(0x69, &egr, "commanded_egr_a", 20.0);
    check(0x69, &egr, "actual_egr_a", 40.0);
    check(0x69, &egr, "egr_error_a", 25.0);
    check(0x6A, &[0x03, 0xFF, 0x00, 0, 0], "commanded_a", 100.0);
    check(0x6A, &[0x03, 0xFF, 0x00, 0, 0], "relative_position_a", 0.0);
    check(0x6C, &[0x0C, 0, 0, 0x33, 0xCC], "commanded_b", 20.0);
    check(0x6C, &[0x0C, 0, 0, 0x33, 0xCC], "relative_position_b", 80.0);
    check(0x6F, &[0x01, 0x64, 0x00], "sensor_a", 100.0);
}

#[test]
fn exhaust_gas_temperatures() {
    // 0x1F40 = 8000 -> 760 °C, 0x0FA0 = 4000 -> 360 °C
    let bytes = [0x03, 0x1F, 0x40, 0x0F, 0xA0, 0, 0, 0, 0];
    check(0x78, &bytes, "b1s1", 760.0);
    check(0x78, &bytes, "b1s2", 360.0);
    assert_eq!(read(0x78, &bytes).values.len(), 2);
    check(0x79, &[0x08, 0, 0, 0, 0, 0, 0, 0x01, 0x90], "b2s4", 0.0); // 400/10 - 40
}

#[test]
fn turbo_wastegate_and_filter_layouts() {
    check(0x72, &[0x03, 0x33, 0x66, 0, 0], "commanded_a", 20.0);
    check(0x72, &[0x03, 0x33, 0x66, 0, 0], "position_a", 40.0);
    // 0x2710 = 10000 * 0.01 = 100 kPa
    check(0x73, &[0x02, 0, 0, 0x27, 0x10], "bank_2", 100.0);
    assert_eq!(read(0x73, &[0x02, 0, 0, 0x27, 0x10]).values.len(), 1);
    // compressor inlet 0x50 = 80 - 40 = 40 °C; turbine inlet 0x1B58 = 7000 -> 660 °C
    let turbo = [0x05, 0x50, 0x00, 0x1B, 0x58, 0x00, 0x00];
    for pid in [0x75, 0x76] {
        check(pid, &turbo, "compressor_inlet", 40.0);
        check(pid, &turbo, "turbine_inlet", 660.0);
        assert_eq!(read(pid, &turbo).values.len(), 2);
    }
    // bank 2 outlet 0x0FA0 = 4000 -> 360 °C
    check(
        0x7C,
        &[0x08, 0, 0, 0, 0, 0, 0, 0x0F, 0xA0],
        "b2_outlet",
        360.0,
    );
}

#[test]
fn engine_run_time() {
    let bytes = [0x07, 0, 0, 0x0E, 0x10, 0, 0, 0, 0x3C, 0, 0, 0, 0];
    check(0x7F, &bytes, "total", 3600.0);
    check(0x7F, &bytes, "idle", 60.0);
    check(0x7F, &bytes, "pto", 0.0);
}

#[test]
fn newer_single_values() {
    check(0x84, &[0x8C], "manifold_surface_temp", 100.0);
    check(0x8D, &[0x33], "throttle_g", 20.0);
    check(0xA2, &[0x00, 0x40], "cylinder_fuel_rate", 2.0); // 64 / 32
    check(0xA6, &[0x00, 0x01, 0xE2, 0x40], "odometer", 12345.6); // 123456 / 10
    check(0xA6, &[0xFF, 0xFF, 0xFF, 0xFF], "odometer", 429_496_729.5);
    check(0xA4, &[0x02, 0x40, 0x03, 0xE8], "gear_ratio", 1.0); // 1000 / 1000
    check(0xA4, &[0x02, 0x40, 0x0D, 0x48], "gear_ratio", 3.4); // 3400 / 1000
    assert_eq!(text(0xA4, &[0x00, 0x40, 0x03, 0xE8], "raw"), "00 40 03 E8");
    assert_eq!(read(0xA4, &[0x00, 0x40, 0x03, 0xE8]).values.len(), 1);
    check(0xA5, &[0x01, 0x64, 0, 0], "def_dosing", 50.0); // 100 / 2
    assert!(read(0xA5, &[0x00, 0x64, 0, 0]).values.is_empty());
    assert_eq!(flag(0xA9, &[0x01, 0x01, 0, 0], "abs_disabled"), Some(true));
    assert_eq!(flag(0xA9, &[0x00, 0x01, 0, 0], "abs_disabled"), None);
}

#[test]
fn undecoded_layouts_pass_bytes_through() {
    let bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xEE];
    assert_eq!(
        text(0x6D, &bytes, "raw"),
        "01 02 03 04 05 06 07 08 09 0A 0B"
    );
    // C3 and C4 have no published length: they take everything that came.
    assert_eq!(text(0xC3, &[0xAB, 0xCD, 0xEF], "raw"), "AB CD EF");
    assert!(matches!(
        decode_pid(0xC4, &[]),
        Err(DecodeError::Length { .. })
    ));
}

#[test]
fn reserved_pids_are_unknown() {
    for pid in [0x95, 0x96, 0x97, 0xAA, 0xBF, 0xC1, 0xC2, 0xC5, 0xFF] {
        assert_eq!(decode_pid(pid, &[0; 8]), Err(DecodeError::UnknownPid(pid)));
    }
}

#[test]
fn the_table_is_ordered_and_its_keys_unique() {
    let pids = all_pids();
    // 00-94, 98-A9, C0, C3, C4 and the E0 bitmap.
    assert_eq!(pids.len(), 171);
    assert!(pids.windows(2).all(|w| w[0].pid < w[1].pid));
    let mut keys: Vec<&str> = pids.iter().map(|d| d.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), pids.len());
    for def in pids {
        assert!(
            def.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
    let required = [
        "rpm",
        "speed",
        "coolant_temp",
        "engine_load",
        "intake_temp",
        "maf",
        "throttle",
        "fuel_level",
        "control_module_voltage",
        "odometer",
        "distance_since_clear",
        "time_since_clear",
        "short_fuel_trim_1",
        "long_fuel_trim_1",
        "timing_advance",
        "barometric_pressure",
        "ambient_temp",
        "oil_temp",
        "run_time",
        "distance_with_mil",
        "fuel_rate",
        "hybrid_battery_remaining",
    ];
    for key in required {
        assert!(pid_by_key(key).is_some(), "{key}");
    }
}

#[test]
fn single_valued_pids_use_their_own_key() {
    let reading = read(0x0C, &[0x1A, 0xF8]);
    assert_eq!(reading.values.len(), 1);
    assert_eq!(
        reading.values.first().map(|v| (v.key, v.unit)),
        Some(("rpm", "rpm"))
    );
}

#[test]
fn lookup_by_key_or_hex() {
    let pid = |k| pid_by_key(k).map(|d| d.pid);
    assert_eq!(pid("rpm"), Some(0x0C));
    assert_eq!(pid("RPM"), Some(0x0C));
    assert_eq!(pid(" Coolant_Temp "), Some(0x05));
    assert_eq!(pid("0C"), Some(0x0C));
    assert_eq!(pid("0x0c"), Some(0x0C));
    assert_eq!(pid("c"), Some(0x0C));
    assert_eq!(pid("A6"), Some(0xA6));
    for bad in ["", "0x", "zz", "100", "0x95", "rpmm"] {
        assert_eq!(pid(bad), None, "{bad}");
    }
}

#[test]
fn every_pid_checks_length_and_ignores_padding() {
    for def in all_pids() {
        let len = def.len.max(1);
        for fill in [0x00, 0x7F, 0xFF] {
            let exact = decode_pid(def.pid, &vec![fill; len]);
            assert!(exact.is_ok(), "{def:?}: {exact:?}");
            if def.has_fixed_len() {
                let padded = decode_pid(def.pid, &vec![fill; len + 3]);
                assert_eq!(padded, exact, "{def:?}");
            }
        }
        assert_eq!(
            decode_pid(def.pid, &vec![0; len - 1]),
            Err(DecodeError::Length {
                pid: def.pid,
                expected: len,
                got: len - 1
            })
        );
    }
}

#[test]
fn readings_serialize_as_plain_json() {
    let json = serde_json::to_value(read(0x14, &[0x5A, 0x80])).unwrap_or_default();
    let expected = serde_json::json!({
        "pid": 20, "key": "o2_s1", "name": "O2 sensor 1: voltage, short term fuel trim",
        "values": [
            {"key": "voltage", "value": 0.45, "unit": "V"},
            {"key": "used_in_trim", "value": true, "unit": ""},
            {"key": "short_term_fuel_trim", "value": 0.0, "unit": "%"},
        ]
    });
    assert_eq!(json, expected);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(pid in 0u8..=255, data in proptest::collection::vec(0u8..=255, 0..48)) {
        let _ = decode_pid(pid, &data);
        let _ = decode_supported(pid, &data);
    }
}

#[test]
fn definitions_serialize_without_their_formula() {
    let json = serde_json::to_value(pid_def(0x0C)).unwrap_or_default();
    let expected = serde_json::json!({"pid": 12, "key": "rpm", "name": "Engine speed", "len": 2, "unit": "rpm"});
    assert_eq!(json, expected);
}
