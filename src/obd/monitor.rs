//! Readiness monitors: service 01 PID 01 (since DTCs were cleared) and PID 41 (this drive
//! cycle).
//!
//! Four bytes A B C D. A carries the MIL and the number of stored codes (PID 01 only; PID 41
//! reserves it). B holds the continuous monitors: support in bits 0-2, "not complete" in bits
//! 4-6, and in bit 3 the ignition type, which decides how C (support) and D (not complete)
//! read: spark and compression engines have different non-continuous monitors.

use serde::Serialize;

use super::DecodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ignition {
    Spark,
    Compression,
}

impl Ignition {
    pub fn as_str(self) -> &'static str {
        match self {
            Ignition::Spark => "spark",
            Ignition::Compression => "compression",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Monitor {
    pub name: &'static str,
    pub key: &'static str,
    pub supported: bool,
    /// The standard's "not complete" bit inverted. ECUs must clear that bit for monitors
    /// they do not support, so an unsupported monitor reads as complete: check `supported`.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorStatus {
    pub mil: bool,
    pub dtc_count: u8,
    pub ignition: Ignition,
    pub monitors: Vec<Monitor>,
}

/// (bit, key, name) of the continuous monitors in B (support bit; not-complete bit is +4).
const CONTINUOUS: [(u8, &str, &str); 3] = [
    (0, "misfire", "Misfire"),
    (1, "fuel_system", "Fuel system"),
    (2, "components", "Comprehensive components"),
];

/// Non-continuous monitors of spark ignition engines, bits of C and D.
const SPARK: [(u8, &str, &str); 8] = [
    (0, "catalyst", "Catalyst"),
    (1, "heated_catalyst", "Heated catalyst"),
    (2, "evap_system", "Evaporative system"),
    (3, "secondary_air", "Secondary air system"),
    (4, "ac_refrigerant", "A/C refrigerant"),
    (5, "o2_sensor", "Oxygen sensor"),
    (6, "o2_sensor_heater", "Oxygen sensor heater"),
    (7, "egr_vvt", "EGR and/or VVT system"),
];

/// Non-continuous monitors of compression ignition engines; bits 2 and 4 are reserved.
const COMPRESSION: [(u8, &str, &str); 6] = [
    (0, "nmhc_catalyst", "NMHC catalyst"),
    (1, "nox_scr", "NOx/SCR aftertreatment"),
    (3, "boost_pressure", "Boost pressure"),
    (5, "exhaust_gas_sensor", "Exhaust gas sensor"),
    (6, "pm_filter", "PM filter"),
    (7, "egr_vvt", "EGR and/or VVT system"),
];

impl MonitorStatus {
    /// Decodes PID 01's four data bytes (bytes after the PID; extra bytes are ignored).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_bytes(data, 0x01)
    }

    /// Decodes PID 41's four data bytes. Its A byte is reserved, so `mil` is false and
    /// `dtc_count` 0 whatever the ECU put there.
    pub fn decode_drive_cycle(data: &[u8]) -> Result<Self, DecodeError> {
        let mut status = Self::decode_bytes(data, 0x41)?;
        status.mil = false;
        status.dtc_count = 0;
        Ok(status)
    }

    fn decode_bytes(data: &[u8], pid: u8) -> Result<Self, DecodeError> {
        let &[a, b, c, d, ..] = data else {
            return Err(DecodeError::Length {
                pid,
                expected: 4,
                got: data.len(),
            });
        };
        let ignition = if b & 0x08 != 0 {
            Ignition::Compression
        } else {
            Ignition::Spark
        };
        let monitor =
            |(bit, key, name): (u8, &'static str, &'static str), support: u8, incomplete: u8| {
                Monitor {
                    name,
                    key,
                    supported: support & (1 << bit) != 0,
                    complete: incomplete & (1 << bit) == 0,
                }
            };
        let mut monitors: Vec<Monitor> =
            CONTINUOUS.iter().map(|&m| monitor(m, b, b >> 4)).collect();
        let non_continuous: &[(u8, &str, &str)] = match ignition {
            Ignition::Spark => &SPARK,
            Ignition::Compression => &COMPRESSION,
        };
        monitors.extend(non_continuous.iter().map(|&m| monitor(m, c, d)));
        Ok(MonitorStatus {
            mil: a & 0x80 != 0,
            dtc_count: a & 0x7F,
            ignition,
            monitors,
        })
    }

    pub fn monitor(&self, key: &str) -> Option<&Monitor> {
        self.monitors.iter().find(|m| m.key == key)
    }

    /// Supported monitors that have not completed: what keeps a vehicle from passing an
    /// inspection.
    pub fn incomplete(&self) -> impl Iterator<Item = &Monitor> {
        self.monitors.iter().filter(|m| m.supported && !m.complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &MonitorStatus, key: &str) -> (bool, bool) {
        let m = status
            .monitor(key)
            .unwrap_or_else(|| panic!("no monitor {key}"));
        (m.supported, m.complete)
    }

    #[test]
    fn spark_ignition() {
        // A: MIL on, 3 codes. B: three continuous monitors supported, all complete.
        // C 0x65: catalyst, evap, O2 sensor, O2 heater supported. D 0x21: catalyst and O2
        // sensor not complete.
        let status = MonitorStatus::decode(&[0x83, 0x07, 0x65, 0x21]).unwrap();
        assert!(status.mil);
        assert_eq!(status.dtc_count, 3);
        assert_eq!(status.ignition, Ignition::Spark);
        assert_eq!(status.monitors.len(), 3 + 8);
        assert_eq!(state(&status, "misfire"), (true, true));
        assert_eq!(state(&status, "components"), (true, true));
        assert_eq!(state(&status, "catalyst"), (true, false));
        assert_eq!(state(&status, "evap_system"), (true, true));
        assert_eq!(state(&status, "o2_sensor"), (true, false));
        assert_eq!(state(&status, "o2_sensor_heater"), (true, true));
        assert_eq!(state(&status, "egr_vvt"), (false, true));
        let incomplete: Vec<&str> = status.incomplete().map(|m| m.key).collect();
        assert_eq!(incomplete, ["catalyst", "o2_sensor"]);
    }

    #[test]
    fn compression_ignition() {
        // B 0x1F: compression (bit 3), misfire/fuel/components supported, misfire not
        // complete (bit 4). C 0xE3: NMHC, NOx/SCR, exhaust sensor, PM filter, EGR. D 0x40: PM
        // filter not complete.
        let status = MonitorStatus::decode(&[0x00, 0x1F, 0xE3, 0x40]).unwrap();
        assert!(!status.mil);
        assert_eq!(status.dtc_count, 0);
        assert_eq!(status.ignition, Ignition::Compression);
        assert_eq!(state(&status, "misfire"), (true, false));
        assert_eq!(state(&status, "fuel_system"), (true, true));
        assert_eq!(state(&status, "nmhc_catalyst"), (true, true));
        assert_eq!(state(&status, "nox_scr"), (true, true));
        assert_eq!(state(&status, "boost_pressure"), (false, true));
        assert_eq!(state(&status, "pm_filter"), (true, false));
        assert_eq!(state(&status, "egr_vvt"), (true, true));
        assert!(status.monitor("catalyst").is_none());
        assert_eq!(status.monitors.len(), 3 + 6);
    }

    #[test]
    fn drive_cycle_ignores_the_reserved_byte() {
        let status = MonitorStatus::decode_drive_cycle(&[0xFF, 0x07, 0x01, 0x01]).unwrap();
        assert!(!status.mil);
        assert_eq!(status.dtc_count, 0);
        assert_eq!(state(&status, "catalyst"), (true, false));
    }

    #[test]
    fn short_data_is_a_length_error() {
        assert_eq!(
            MonitorStatus::decode(&[0x00, 0x07, 0x65]),
            Err(DecodeError::Length {
                pid: 0x01,
                expected: 4,
                got: 3
            })
        );
        assert_eq!(
            MonitorStatus::decode_drive_cycle(&[]),
            Err(DecodeError::Length {
                pid: 0x41,
                expected: 4,
                got: 0
            })
        );
        // Padding after the four bytes is ignored.
        assert_eq!(
            MonitorStatus::decode(&[0x81, 0x07, 0x65, 0x21, 0xAA]),
            MonitorStatus::decode(&[0x81, 0x07, 0x65, 0x21])
        );
    }
}
