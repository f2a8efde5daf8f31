//! Vectors for PIDs 00-5F. Every expected value was worked out by hand from the formula in
//! SAE J1979, not taken from this code's output.

use super::*;

pub(super) fn read(pid: u8, bytes: &[u8]) -> PidReading {
    match decode_pid(pid, bytes) {
        Ok(reading) => reading,
        Err(e) => panic!("PID {pid:02X} {bytes:02X?}: {e}"),
    }
}

/// The number under `key`, checked against `expected` to a tolerance far below one LSB.
pub(super) fn check(pid: u8, bytes: &[u8], key: &str, expected: f64) {
    let reading = read(pid, bytes);
    let got = reading
        .number(key)
        .unwrap_or_else(|| panic!("PID {pid:02X} has no number {key}: {reading:?}"));
    assert!(
        (got - expected).abs() < 1e-9,
        "PID {pid:02X} {bytes:02X?} {key}: got {got}, expected {expected}"
    );
}

pub(super) fn text(pid: u8, bytes: &[u8], key: &str) -> String {
    match read(pid, bytes).value(key).map(|v| &v.value) {
        Some(ValueKind::Text(t)) => t.clone(),
        other => panic!("PID {pid:02X} {key}: expected text, got {other:?}"),
    }
}

pub(super) fn flag(pid: u8, bytes: &[u8], key: &str) -> Option<bool> {
    match read(pid, bytes).value(key).map(|v| &v.value) {
        Some(ValueKind::Flag(f)) => Some(*f),
        None => None,
        other => panic!("PID {pid:02X} {key}: expected a flag, got {other:?}"),
    }
}

#[test]
fn percentages_of_255() {
    for pid in [
        0x04, 0x11, 0x2C, 0x2E, 0x2F, 0x45, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C,
    ] {
        let key = pid_def(pid).map(|d| d.key).unwrap_or_default();
        check(pid, &[0x33], key, 20.0); // 51 * 100 / 255
        check(pid, &[0xCC], key, 80.0); // 204 * 100 / 255
        check(pid, &[0xFF], key, 100.0);
    }
    check(0x52, &[0x00], "ethanol_percent", 0.0);
    check(0x5A, &[0x66], "relative_accelerator", 40.0); // 102 * 100 / 255
    check(0x5B, &[0x99], "hybrid_battery_remaining", 60.0); // 153 * 100 / 255
}

#[test]
fn temperatures_offset_by_40() {
    check(0x05, &[0x7B], "coolant_temp", 83.0);
    check(0x05, &[0x00], "coolant_temp", -40.0);
    check(0x0F, &[0x3C], "intake_temp", 20.0);
    check(0x46, &[0x41], "ambient_temp", 25.0);
    check(0x5C, &[0x82], "oil_temp", 90.0);
    check(0x5C, &[0xFF], "oil_temp", 215.0);
}

#[test]
fn fuel_trims_centre_on_128() {
    for (pid, key) in [
        (0x06, "short_fuel_trim_1"),
        (0x07, "long_fuel_trim_1"),
        (0x08, "short_fuel_trim_2"),
        (0x09, "long_fuel_trim_2"),
        (0x2D, "egr_error"),
    ] {
        check(pid, &[0x80], key, 0.0);
        check(pid, &[0xA0], key, 25.0); // 160 * 100/128 - 100
        check(pid, &[0x60], key, -25.0); // 96 * 100/128 - 100
        check(pid, &[0x00], key, -100.0);
    }
}

#[test]
fn engine_and_vehicle_basics() {
    check(0x0A, &[0x64], "fuel_pressure", 300.0); // 3 * 100
    check(0x0B, &[0x65], "intake_pressure", 101.0);
    check(0x0C, &[0x1A, 0xF8], "rpm", 1726.0); // 6904 / 4
    check(0x0C, &[0x0B, 0xB9], "rpm", 750.25); // 3001 / 4
    check(0x0D, &[0x32], "speed", 50.0);
    check(0x0E, &[0x8C], "timing_advance", 6.0); // 140/2 - 64
    check(0x0E, &[0x00], "timing_advance", -64.0);
    check(0x10, &[0x01, 0xF4], "maf", 5.0); // 500 / 100
    check(0x10, &[0x1A, 0xF8], "maf", 69.04); // 6904 / 100
    check(0x1F, &[0x01, 0x2C], "run_time", 300.0);
    check(0x21, &[0x00, 0x0A], "distance_with_mil", 10.0);
    check(0x22, &[0x03, 0xE8], "fuel_rail_pressure_vacuum", 79.0); // 0.079 * 1000
    check(0x23, &[0x01, 0x00], "fuel_rail_gauge_pressure", 2560.0); // 10 * 256
    check(0x30, &[0x0A], "warmups_since_clear", 10.0);
    check(0x31, &[0x12, 0x34], "distance_since_clear", 4660.0);
    check(0x33, &[0x65], "barometric_pressure", 101.0);
    check(0x42, &[0x35, 0x84], "control_module_voltage", 13.7); // 13700 / 1000
    check(0x43, &[0x00, 0xFF], "absolute_load", 100.0); // 255 * 100/255
    check(0x43, &[0x01, 0xFE], "absolute_load", 200.0); // 510 * 100/255
    check(0x44, &[0x80, 0x00], "commanded_lambda", 1.0); // 2/65536 * 32768
    check(0x4D, &[0x00, 0x3C], "time_with_mil", 60.0);
    check(0x4E, &[0x01, 0x00], "time_since_clear", 256.0);
    check(0x59, &[0x00, 0x64], "fuel_rail_abs_pressure", 1000.0); // 10 * 100
    check(0x5D, &[0x69, 0x00], "fuel_injection_timing", 0.0); // 26880/128 - 210
    check(0x5D, &[0x6A, 0x00], "fuel_injection_timing", 2.0); // 27136/128 - 210
    check(0x5E, &[0x00, 0x64], "fuel_rate", 5.0); // 100 / 20
    check(0x5E, &[0x01, 0x2C], "fuel_rate", 15.0); // 300 / 20
}

#[test]
fn catalyst_temperatures() {
    // (256A + B)/10 - 40: 0x1068 = 4200 -> 380 °C
    for (pid, key) in [
        (0x3C, "catalyst_temp_b1s1"),
        (0x3D, "catalyst_temp_b2s1"),
        (0x3E, "catalyst_temp_b1s2"),
        (0x3F, "catalyst_temp_b2s2"),
    ] {
        check(pid, &[0x10, 0x68], key, 380.0);
        check(pid, &[0x00, 0x00], key, -40.0);
    }
}

#[test]
fn evap_pressures_are_signed_where_the_standard_says() {
    check(0x32, &[0xFF, 0xFC], "evap_vapor_pressure", -1.0); // -4 / 4
    check(0x32, &[0x10, 0x00], "evap_vapor_pressure", 1024.0); // 4096 / 4
    check(0x32, &[0x80, 0x00], "evap_vapor_pressure", -8192.0);
    check(0x53, &[0x03, 0xE8], "evap_vapor_pressure_abs", 5.0); // 1000 / 200
    check(0x54, &[0x80, 0x00], "evap_vapor_pressure_wide", -32768.0);
    check(0x54, &[0x01, 0x00], "evap_vapor_pressure_wide", 256.0);
}

#[test]
fn narrow_band_o2_sensors() {
    for pid in 0x14..=0x1B {
        check(pid, &[0x5A, 0x80], "voltage", 0.45); // 90 / 200
        check(pid, &[0x5A, 0x80], "short_term_fuel_trim", 0.0);
        check(pid, &[0xFF, 0xA0], "short_term_fuel_trim", 25.0);
        check(pid, &[0xFF, 0xA0], "voltage", 1.275);
        assert_eq!(flag(pid, &[0x5A, 0x80], "used_in_trim"), Some(true));
        // B = FF: the sensor is not used in the trim, so there is no trim to report.
        let unused = read(pid, &[0x5A, 0xFF]);
        assert_eq!(flag(pid, &[0x5A, 0xFF], "used_in_trim"), Some(false));
        assert_eq!(unused.value("short_term_fuel_trim"), None);
    }
}

#[test]
fn wide_range_o2_sensors() {
    for pid in 0x24..=0x2B {
        check(pid, &[0x80, 0x00, 0x40, 0x00], "lambda", 1.0); // 2/65536 * 32768
        check(pid, &[0x80, 0x00, 0x40, 0x00], "voltage", 2.0); // 8/65536 * 16384
        check(
            pid,
            &[0x73, 0x33, 0xFF, 0xFF],
            "voltage",
            8.0 * 65535.0 / 65536.0,
        );
        check(
            pid,
            &[0x73, 0x33, 0xFF, 0xFF],
            "lambda",
            2.0 * 29491.0 / 65536.0,
        );
    }
    for pid in 0x34..=0x3B {
        check(pid, &[0x80, 0x00, 0x81, 0x00], "lambda", 1.0);
        check(pid, &[0x80, 0x00, 0x81, 0x00], "current", 1.0); // 33024/256 - 128
        check(pid, &[0x80, 0x00, 0x7F, 0x80], "current", -0.5); // 32640/256 - 128
        check(pid, &[0x80, 0x00, 0x00, 0x00], "current", -128.0);
    }
}

#[test]
fn maximum_values() {
    let bytes = [0x02, 0x05, 0x7F, 0x1E];
    check(0x4F, &bytes, "max_lambda", 2.0);
    check(0x4F, &bytes, "max_o2_voltage", 5.0);
    check(0x4F, &bytes, "max_o2_current", 127.0);
    check(0x4F, &bytes, "max_intake_pressure", 300.0); // 30 * 10
    check(0x50, &[0x19, 0xAA, 0xBB, 0xCC], "max_maf", 250.0); // 25 * 10, B-D reserved
    assert_eq!(read(0x50, &[0x19, 0, 0, 0]).values.len(), 1);
}

#[test]
fn secondary_o2_trims_name_their_banks() {
    check(0x55, &[0x80, 0xA0], "bank_1", 0.0);
    check(0x55, &[0x80, 0xA0], "bank_3", 25.0);
    check(0x56, &[0x60, 0x80], "bank_1", -25.0);
    check(0x57, &[0x00, 0x80], "bank_2", -100.0);
    check(0x58, &[0x80, 0x60], "bank_4", -25.0);
}

#[test]
fn enumerations_and_bit_fields() {
    assert_eq!(
        text(0x03, &[0x02, 0x00], "fuel_system_1"),
        "closed loop: using oxygen sensor feedback"
    );
    assert_eq!(text(0x03, &[0x02, 0x00], "fuel_system_2"), "not present");
    assert!(text(0x03, &[0x03, 0x10], "fuel_system_1").starts_with("invalid"));
    assert_eq!(
        text(0x12, &[0x04], "secondary_air_status"),
        "from the outside atmosphere or off"
    );
    assert_eq!(text(0x1C, &[0x06], "obd_standard"), "EOBD (Europe)");
    assert_eq!(
        text(0x1C, &[0x01], "obd_standard"),
        "OBD-II as defined by CARB"
    );
    assert_eq!(text(0x1C, &[0x0E], "obd_standard"), "reserved (14)");
    assert_eq!(text(0x51, &[0x04], "fuel_type"), "diesel");
    assert_eq!(text(0x51, &[0x17], "fuel_type"), "bifuel running diesel");
    assert_eq!(text(0x51, &[0x18], "fuel_type"), "reserved (24)");
    assert_eq!(text(0x5F, &[0x0E], "raw"), "0E");
    // 0x13 = bits 0, 1, 4: bank 1 sensors 1 and 2, bank 2 sensor 1.
    for (key, on) in [
        ("b1s1", true),
        ("b1s2", true),
        ("b1s3", false),
        ("b2s1", true),
        ("b2s4", false),
    ] {
        assert_eq!(flag(0x13, &[0x13], key), Some(on), "{key}");
    }
    // PID 1D numbers sensors across four banks of two.
    for (key, on) in [
        ("b1s1", true),
        ("b1s2", false),
        ("b2s1", true),
        ("b4s2", false),
    ] {
        assert_eq!(flag(0x1D, &[0x05], key), Some(on), "{key}");
    }
    assert_eq!(flag(0x1E, &[0x01], "pto_active"), Some(true));
    assert_eq!(flag(0x1E, &[0xFE], "pto_active"), Some(false));
}

#[test]
fn freeze_dtc_and_monitor_status_readings() {
    assert_eq!(text(0x02, &[0x03, 0x01], "freeze_dtc"), "P0301");
    assert_eq!(text(0x02, &[0xC1, 0x00], "freeze_dtc"), "U0100");
    assert_eq!(text(0x02, &[0x00, 0x00], "freeze_dtc"), "none");
    // MIL on, 2 codes; spark; misfire supported and complete; catalyst supported, incomplete.
    let bytes = [0x82, 0x01, 0x01, 0x01];
    assert_eq!(flag(0x01, &bytes, "mil"), Some(true));
    check(0x01, &bytes, "dtc_count", 2.0);
    assert_eq!(text(0x01, &bytes, "ignition"), "spark");
    assert_eq!(text(0x01, &bytes, "misfire"), "complete");
    assert_eq!(text(0x01, &bytes, "catalyst"), "incomplete");
    assert_eq!(text(0x01, &bytes, "egr_vvt"), "not supported");
    // PID 41's first byte is reserved: no MIL or count is reported from it.
    assert_eq!(flag(0x41, &bytes, "mil"), None);
    assert_eq!(text(0x41, &[0, 0x08, 0x02, 0x02], "nox_scr"), "incomplete");
}

#[test]
fn supported_bitmaps() {
    // BE 1F A8 13: 1011 1110 0001 1111 1010 1000 0001 0011
    let expected = vec![
        0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x13, 0x15, 0x1C,
        0x1F, 0x20,
    ];
    assert_eq!(
        decode_supported(0x00, &[0xBE, 0x1F, 0xA8, 0x13]),
        Ok(expected)
    );
    assert_eq!(
        decode_supported(0x20, &[0x80, 0, 0, 0x01]),
        Ok(vec![0x21, 0x40])
    );
    assert_eq!(decode_supported(0xC0, &[0, 0, 0, 0]), Ok(vec![]));
    // E0's last bit would be PID 100, which cannot exist.
    assert_eq!(decode_supported(0xE0, &[0, 0, 0, 0x03]), Ok(vec![0xFF]));
    assert_eq!(
        decode_supported(0x40, &[0xFF, 0xFF]),
        Err(DecodeError::Length {
            pid: 0x40,
            expected: 4,
            got: 2
        })
    );
    assert_eq!(
        text(0x20, &[0x80, 0x00, 0x00, 0x01], "pids_supported_21_40"),
        "21 40"
    );
}
