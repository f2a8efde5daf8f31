//! The formulas that a linear scale cannot express. Every function here receives at least
//! `PidDef::len` bytes (decode_pid checks), yet reads through `byte()` so that no input can
//! make it panic.

use super::{PidDef, Value};
use crate::obd::dtc::Dtc;
use crate::obd::monitor::MonitorStatus;

pub(super) fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn word(data: &[u8], i: usize) -> f64 {
    f64::from(u16::from_be_bytes([byte(data, i), byte(data, i + 1)]))
}

fn dword(data: &[u8], i: usize) -> f64 {
    let b = |k| byte(data, i + k);
    f64::from(u32::from_be_bytes([b(0), b(1), b(2), b(3)]))
}

/// The big-endian number in `data` (1, 2 or 4 bytes), two's complement if `signed`.
pub(super) fn be_number(data: &[u8], signed: bool) -> f64 {
    match (data.len(), signed) {
        (1, false) => f64::from(byte(data, 0)),
        (1, true) => f64::from(byte(data, 0) as i8),
        (2, false) => word(data, 0),
        (2, true) => f64::from(i16::from_be_bytes([byte(data, 0), byte(data, 1)])),
        (_, true) => f64::from(u32::from_be_bytes([0, 1, 2, 3].map(|k| byte(data, k))) as i32),
        _ => dword(data, 0),
    }
}

pub(crate) fn hex(data: &[u8]) -> String {
    let parts: Vec<String> = data.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(" ")
}

/// Bytes whose layout this crate does not decode, passed on untouched rather than guessed at.
pub(super) fn raw(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![Value::text("raw", hex(data))]
}

pub(super) fn supported(def: &PidDef, data: &[u8]) -> Vec<Value> {
    let pids = super::decode_supported(def.pid, data).unwrap_or_default();
    let list: Vec<String> = pids.iter().map(|p| format!("{p:02X}")).collect();
    vec![Value::text(def.key, list.join(" "))]
}

pub(super) fn monitor_status(def: &PidDef, data: &[u8]) -> Vec<Value> {
    let since_clear = def.pid == 0x01;
    let status = if since_clear {
        MonitorStatus::decode(data)
    } else {
        MonitorStatus::decode_drive_cycle(data)
    };
    let Ok(status) = status else {
        return raw(def, data);
    };
    let mut values = Vec::new();
    if since_clear {
        values.push(Value::flag("mil", status.mil));
        values.push(Value::number("dtc_count", f64::from(status.dtc_count), ""));
    }
    values.push(Value::text("ignition", status.ignition.as_str()));
    for m in &status.monitors {
        let state = match (m.supported, m.complete) {
            (false, _) => "not supported",
            (true, true) => "complete",
            (true, false) => "incomplete",
        };
        values.push(Value::text(m.key, state));
    }
    values
}

pub(super) fn freeze_dtc(def: &PidDef, data: &[u8]) -> Vec<Value> {
    // 0000 means no frame is stored, which is a fact worth showing rather than an error.
    let code = Dtc::from_bytes(byte(data, 0), byte(data, 1));
    let text = code.map_or_else(|| "none".to_string(), |c| c.to_string());
    vec![Value::text(def.key, text)]
}

fn fuel_system_state(a: u8) -> String {
    let state = match a {
        0x00 => "not present",
        0x01 => "open loop: engine not warm yet",
        0x02 => "closed loop: using oxygen sensor feedback",
        0x04 => "open loop: engine load or fuel cut on deceleration",
        0x08 => "open loop: system failure",
        0x10 => "closed loop: fault in at least one oxygen sensor",
        other => return format!("invalid ({other:02X}): more than one state bit set"),
    };
    state.to_string()
}

pub(super) fn fuel_system_status(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![
        Value::text("fuel_system_1", fuel_system_state(byte(data, 0))),
        Value::text("fuel_system_2", fuel_system_state(byte(data, 1))),
    ]
}

pub(super) fn secondary_air(def: &PidDef, data: &[u8]) -> Vec<Value> {
    let state = match byte(data, 0) {
        0x01 => "upstream of the catalytic converter".to_string(),
        0x02 => "downstream of the catalytic converter".to_string(),
        0x04 => "from the outside atmosphere or off".to_string(),
        0x08 => "pump commanded on for diagnostics".to_string(),
        other => format!("invalid ({other:02X})"),
    };
    vec![Value::text(def.key, state)]
}

fn presence(keys: &[&'static str; 8], a: u8) -> Vec<Value> {
    (0..8)
        .zip(keys)
        .map(|(bit, key)| Value::flag(key, a & (1 << bit) != 0))
        .collect()
}

pub(super) fn o2_present_2_banks(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    let keys = [
        "b1s1", "b1s2", "b1s3", "b1s4", "b2s1", "b2s2", "b2s3", "b2s4",
    ];
    presence(&keys, byte(data, 0))
}

pub(super) fn o2_present_4_banks(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    let keys = [
        "b1s1", "b1s2", "b2s1", "b2s2", "b3s1", "b3s2", "b4s1", "b4s2",
    ];
    presence(&keys, byte(data, 0))
}

fn trim(b: u8) -> f64 {
    f64::from(b) * 100.0 / 128.0 - 100.0
}

pub(super) fn o2_narrow(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    let mut values = vec![Value::number(
        "voltage",
        f64::from(byte(data, 0)) / 200.0,
        "V",
    )];
    // FF is the standard's marker for a sensor that does not feed the trim: no trim exists.
    let used = byte(data, 1) != 0xFF;
    values.push(Value::flag("used_in_trim", used));
    if used {
        values.push(Value::number(
            "short_term_fuel_trim",
            trim(byte(data, 1)),
            "%",
        ));
    }
    values
}

fn lambda(data: &[u8]) -> Value {
    Value::number("lambda", word(data, 0) * 2.0 / 65536.0, "ratio")
}

pub(super) fn o2_wide_voltage(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![
        lambda(data),
        Value::number("voltage", word(data, 2) * 8.0 / 65536.0, "V"),
    ]
}

pub(super) fn o2_wide_current(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![
        lambda(data),
        Value::number("current", word(data, 2) / 256.0 - 128.0, "mA"),
    ]
}

pub(super) fn obd_standard(def: &PidDef, data: &[u8]) -> Vec<Value> {
    let a = byte(data, 0);
    let name = match a {
        1 => "OBD-II as defined by CARB",
        2 => "OBD as defined by the EPA",
        3 => "OBD and OBD-II",
        4 => "OBD-I",
        5 => "not OBD compliant",
        6 => "EOBD (Europe)",
        7 => "EOBD and OBD-II",
        8 => "EOBD and OBD",
        9 => "EOBD, OBD and OBD-II",
        10 => "JOBD (Japan)",
        11 => "JOBD and OBD-II",
        12 => "JOBD and EOBD",
        13 => "JOBD, EOBD and OBD-II",
        17 => "Engine Manufacturer Diagnostics (EMD)",
        18 => "Engine Manufacturer Diagnostics Enhanced (EMD+)",
        19 => "Heavy Duty OBD, child/partial (HD OBD-C)",
        20 => "Heavy Duty OBD (HD OBD)",
        21 => "World Wide Harmonized OBD (WWH OBD)",
        23 => "Heavy Duty Euro OBD stage I without NOx control (HD EOBD-I)",
        24 => "Heavy Duty Euro OBD stage I with NOx control (HD EOBD-I N)",
        25 => "Heavy Duty Euro OBD stage II without NOx control (HD EOBD-II)",
        26 => "Heavy Duty Euro OBD stage II with NOx control (HD EOBD-II N)",
        28 => "Brazil OBD phase 1 (OBDBr-1)",
        29 => "Brazil OBD phase 2 (OBDBr-2)",
        30 => "Korean OBD (KOBD)",
        31 => "India OBD I (IOBD I)",
        32 => "India OBD II (IOBD II)",
        33 => "Heavy Duty Euro OBD stage VI (HD EOBD-IV)",
        251..=255 => return vec![Value::text(def.key, format!("not available ({a})"))],
        _ => return vec![Value::text(def.key, format!("reserved ({a})"))],
    };
    vec![Value::text(def.key, name)]
}

pub(super) fn aux_input(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![Value::flag("pto_active", byte(data, 0) & 0x01 != 0)]
}

pub(super) fn max_values(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    vec![
        Value::number("max_lambda", f64::from(byte(data, 0)), "ratio"),
        Value::number("max_o2_voltage", f64::from(byte(data, 1)), "V"),
        Value::number("max_o2_current", f64::from(byte(data, 2)), "mA"),
        Value::number(
            "max_intake_pressure",
            f64::from(byte(data, 3)) * 10.0,
            "kPa",
        ),
    ]
}

pub(super) fn max_maf(def: &PidDef, data: &[u8]) -> Vec<Value> {
    // B, C and D are reserved by the standard, so they are not reported.
    vec![Value::number(
        def.key,
        f64::from(byte(data, 0)) * 10.0,
        "g/s",
    )]
}

pub(super) fn fuel_type(def: &PidDef, data: &[u8]) -> Vec<Value> {
    const TYPES: [&str; 24] = [
        "not available",
        "gasoline",
        "methanol",
        "ethanol",
        "diesel",
        "LPG",
        "CNG",
        "propane",
        "electric",
        "bifuel running gasoline",
        "bifuel running methanol",
        "bifuel running ethanol",
        "bifuel running LPG",
        "bifuel running CNG",
        "bifuel running propane",
        "bifuel running electricity",
        "bifuel running electric and combustion engine",
        "hybrid gasoline",
        "hybrid ethanol",
        "hybrid diesel",
        "hybrid electric",
        "hybrid running electric and combustion engine",
        "hybrid regenerative",
        "bifuel running diesel",
    ];
    let a = byte(data, 0);
    let text = TYPES
        .get(usize::from(a))
        .map_or_else(|| format!("reserved ({a})"), |t| (*t).to_string());
    vec![Value::text(def.key, text)]
}

pub(super) fn secondary_trim(def: &PidDef, data: &[u8]) -> Vec<Value> {
    // 55/56 report banks 1 and 3, 57/58 banks 2 and 4.
    let (first, second) = if def.pid <= 0x56 {
        ("bank_1", "bank_3")
    } else {
        ("bank_2", "bank_4")
    };
    vec![
        Value::number(first, trim(byte(data, 0)), "%"),
        Value::number(second, trim(byte(data, 1)), "%"),
    ]
}

pub(super) fn torque_data(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    let keys = ["idle", "point_1", "point_2", "point_3", "point_4"];
    keys.iter()
        .enumerate()
        .map(|(i, key)| Value::number(key, f64::from(byte(data, i)) - 125.0, "%"))
        .collect()
}

pub(super) fn aux_io(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    // A says which signals exist, B carries them; an unsupported signal is left out.
    let signals = [
        "pto_active",
        "auto_transmission_in_drive",
        "manual_transmission_in_gear",
        "glow_plug_lamp_on",
    ];
    let (a, b) = (byte(data, 0), byte(data, 1));
    (0..4)
        .zip(signals)
        .filter(|(bit, _)| a & (1 << bit) != 0)
        .map(|(bit, key)| Value::flag(key, b & (1 << bit) != 0))
        .collect()
}

/// A value inside a PID whose first byte (A) flags which values are supported.
pub(super) struct Field {
    pub bit: u8,
    pub key: &'static str,
    pub unit: &'static str,
    /// Index of the value's first byte in the data (A is 0).
    pub at: usize,
    /// 1, 2 or 4 bytes.
    pub width: usize,
    pub mul: f64,
    pub div: f64,
    pub offset: f64,
}

/// Decodes the supported fields of a PID laid out as a support byte followed by values.
pub(super) fn fields(data: &[u8], fields: &[Field]) -> Vec<Value> {
    let support = byte(data, 0);
    fields
        .iter()
        .filter(|f| support & (1 << f.bit) != 0)
        .map(|f| {
            let raw = match f.width {
                1 => f64::from(byte(data, f.at)),
                2 => word(data, f.at),
                _ => dword(data, f.at),
            };
            Value::number(f.key, raw * f.mul / f.div + f.offset, f.unit)
        })
        .collect()
}

/// Only the gear ratio's place is published clearly (support bit A1, ratio in C-D); the
/// gear number's encoding is not, so the bytes go along raw instead of a guessed gear.
pub(super) fn transmission_gear(def: &PidDef, data: &[u8]) -> Vec<Value> {
    let mut values = Vec::new();
    if byte(data, 0) & 0x02 != 0 {
        values.push(Value::number("gear_ratio", word(data, 2) / 1000.0, "ratio"));
    }
    values.extend(raw(def, data));
    values
}

pub(super) fn def_dosing(def: &PidDef, data: &[u8]) -> Vec<Value> {
    if byte(data, 0) & 0x01 == 0 {
        return Vec::new();
    }
    vec![Value::number(def.key, f64::from(byte(data, 1)) / 2.0, "%")]
}

pub(super) fn abs_switch(_def: &PidDef, data: &[u8]) -> Vec<Value> {
    if byte(data, 0) & 0x01 == 0 {
        return Vec::new();
    }
    vec![Value::flag("abs_disabled", byte(data, 1) & 0x01 != 0)]
}
