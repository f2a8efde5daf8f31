//! PIDs laid out as a support byte (A) followed by values: which values each holds, where,
//! and how they scale. Values whose support bit is clear are left out of the reading.

use super::decoders::{Field, fields};
use super::{PidDef, Value};

#[allow(clippy::too_many_arguments)]
const fn field(
    bit: u8,
    key: &'static str,
    unit: &'static str,
    at: usize,
    width: usize,
    mul: f64,
    div: f64,
    offset: f64,
) -> Field {
    Field {
        bit,
        key,
        unit,
        at,
        width,
        mul,
        div,
        offset,
    }
}

const fn temp(bit: u8, key: &'static str, at: usize) -> Field {
    field(bit, key, "°C", at, 1, 1.0, 1.0, -40.0)
}

const fn percent(bit: u8, key: &'static str, at: usize) -> Field {
    field(bit, key, "%", at, 1, 100.0, 255.0, 0.0)
}

/// Exhaust gas and filter temperatures: two bytes each, 0.1 °C per bit from -40 °C.
const fn egt(bit: u8, key: &'static str) -> Field {
    field(bit, key, "°C", 1 + 2 * bit as usize, 2, 1.0, 10.0, -40.0)
}

const MAF_SENSORS: [Field; 2] = [
    field(0, "maf_a", "g/s", 1, 2, 1.0, 32.0, 0.0),
    field(1, "maf_b", "g/s", 3, 2, 1.0, 32.0, 0.0),
];

const COOLANT_SENSORS: [Field; 2] = [temp(0, "sensor_1", 1), temp(1, "sensor_2", 2)];

const INTAKE_TEMP_SENSORS: [Field; 6] = [
    temp(0, "b1s1", 1),
    temp(1, "b1s2", 2),
    temp(2, "b1s3", 3),
    temp(3, "b2s1", 4),
    temp(4, "b2s2", 5),
    temp(5, "b2s3", 6),
];

const EGR: [Field; 6] = [
    percent(0, "commanded_egr_a", 1),
    percent(1, "actual_egr_a", 2),
    field(2, "egr_error_a", "%", 3, 1, 100.0, 128.0, -100.0),
    percent(3, "commanded_egr_b", 4),
    percent(4, "actual_egr_b", 5),
    field(5, "egr_error_b", "%", 6, 1, 100.0, 128.0, -100.0),
];

const INTAKE_AIR_FLOW: [Field; 4] = [
    percent(0, "commanded_a", 1),
    percent(1, "relative_position_a", 2),
    percent(2, "commanded_b", 3),
    percent(3, "relative_position_b", 4),
];

const THROTTLE_ACTUATOR: [Field; 4] = [
    percent(0, "commanded_a", 1),
    percent(1, "relative_position_a", 2),
    percent(2, "commanded_b", 3),
    percent(3, "relative_position_b", 4),
];

const COMPRESSOR_INLET: [Field; 2] = [
    field(0, "sensor_a", "kPa", 1, 1, 1.0, 1.0, 0.0),
    field(1, "sensor_b", "kPa", 2, 1, 1.0, 1.0, 0.0),
];

const EGT_BANK_1: [Field; 4] = [
    egt(0, "b1s1"),
    egt(1, "b1s2"),
    egt(2, "b1s3"),
    egt(3, "b1s4"),
];

const EGT_BANK_2: [Field; 4] = [
    egt(0, "b2s1"),
    egt(1, "b2s2"),
    egt(2, "b2s3"),
    egt(3, "b2s4"),
];

const ENGINE_RUN_TIME: [Field; 3] = [
    field(0, "total", "s", 1, 4, 1.0, 1.0, 0.0),
    field(1, "idle", "s", 5, 4, 1.0, 1.0, 0.0),
    field(2, "pto", "s", 9, 4, 1.0, 1.0, 0.0),
];

const WASTEGATE: [Field; 4] = [
    percent(0, "commanded_a", 1),
    percent(1, "position_a", 2),
    percent(2, "commanded_b", 3),
    percent(3, "position_b", 4),
];

const EXHAUST_PRESSURE: [Field; 2] = [
    field(0, "bank_1", "kPa", 1, 2, 1.0, 100.0, 0.0),
    field(1, "bank_2", "kPa", 3, 2, 1.0, 100.0, 0.0),
];

/// Turbocharger A and B share a layout: compressor temperatures in one byte, turbine
/// temperatures (hotter) in two bytes at 0.1 °C.
const TURBO_TEMPS: [Field; 4] = [
    temp(0, "compressor_inlet", 1),
    temp(1, "compressor_outlet", 2),
    field(2, "turbine_inlet", "°C", 3, 2, 1.0, 10.0, -40.0),
    field(3, "turbine_outlet", "°C", 5, 2, 1.0, 10.0, -40.0),
];

const DPF_TEMPS: [Field; 4] = [
    egt(0, "b1_inlet"),
    egt(1, "b1_outlet"),
    egt(2, "b2_inlet"),
    egt(3, "b2_outlet"),
];

pub(super) fn maf_sensors(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &MAF_SENSORS)
}

pub(super) fn coolant_sensors(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &COOLANT_SENSORS)
}

pub(super) fn intake_temp_sensors(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &INTAKE_TEMP_SENSORS)
}

pub(super) fn egr(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &EGR)
}

pub(super) fn intake_air_flow(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &INTAKE_AIR_FLOW)
}

pub(super) fn throttle_actuator(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &THROTTLE_ACTUATOR)
}

pub(super) fn compressor_inlet(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &COMPRESSOR_INLET)
}

pub(super) fn egt_bank_1(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &EGT_BANK_1)
}

pub(super) fn egt_bank_2(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &EGT_BANK_2)
}

pub(super) fn engine_run_time(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &ENGINE_RUN_TIME)
}

pub(super) fn wastegate(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &WASTEGATE)
}

pub(super) fn exhaust_pressure(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &EXHAUST_PRESSURE)
}

pub(super) fn turbo_temps(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &TURBO_TEMPS)
}

pub(super) fn dpf_temps(_: &PidDef, data: &[u8]) -> Vec<Value> {
    fields(data, &DPF_TEMPS)
}
