//! Families of codes that describe one underlying fault and so fold into one finding (P0300
//! random misfire plus P0301 cylinder 1 misfire is one misfire, not two), and that the rules
//! refer to by name.

use serde::Serialize;

use crate::obd::dtc::Dtc;

/// A named group of related codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Misfire,
    /// Engine overheating and the parts that prevent it: coolant temperature sensing,
    /// thermostat, cooling fans.
    Cooling,
    OilPressure,
    Charging,
    OxygenSensors,
    FuelTrim,
    Catalyst,
    Evap,
    WheelSpeedSensors,
    LostCommunication,
    HighVoltageIsolation,
}

/// One row per family: inclusive code ranges as written in J2012 (letter + four hex digits).
const MEMBERS: &[(Family, &[(&str, &str)])] = &[
    (Family::Misfire, &[("P0300", "P0314"), ("P0316", "P0316")]),
    (
        Family::Cooling,
        &[
            ("P0115", "P0119"),
            ("P0125", "P0128"),
            ("P0217", "P0217"),
            ("P0480", "P0486"),
            ("P0526", "P0529"),
            ("P0597", "P0599"),
            ("P2181", "P2181"),
            ("P2556", "P2560"),
            ("P2600", "P2603"),
        ],
    ),
    (Family::OilPressure, &[("P0520", "P0524")]),
    (
        Family::Charging,
        &[("P0560", "P0563"), ("P0620", "P0626"), ("P2500", "P2505")],
    ),
    (
        Family::OxygenSensors,
        &[("P0030", "P0064"), ("P0130", "P0167")],
    ),
    (Family::FuelTrim, &[("P0170", "P0175")]),
    (Family::Catalyst, &[("P0420", "P0439")]),
    (Family::Evap, &[("P0440", "P0459")]),
    (Family::WheelSpeedSensors, &[("C0035", "C0050")]),
    (Family::LostCommunication, &[("U0100", "U02FF")]),
    (Family::HighVoltageIsolation, &[("P0AA6", "P0AA6")]),
];

impl Family {
    /// The family a code belongs to, if any.
    pub fn of(code: Dtc) -> Option<Family> {
        MEMBERS.iter().find_map(|(family, ranges)| {
            ranges
                .iter()
                .any(|(from, to)| within(code, from, to))
                .then_some(*family)
        })
    }

    /// How a finding of this family is titled.
    pub fn title(self) -> &'static str {
        match self {
            Family::Misfire => "Engine misfire",
            Family::Cooling => "Engine cooling",
            Family::OilPressure => "Engine oil pressure",
            Family::Charging => "Charging system",
            Family::OxygenSensors => "Oxygen sensors",
            Family::FuelTrim => "Fuel mixture (fuel trim)",
            Family::Catalyst => "Catalytic converter",
            Family::Evap => "Fuel vapour (EVAP) system",
            Family::WheelSpeedSensors => "ABS wheel speed sensors",
            Family::LostCommunication => "Control modules not communicating",
            Family::HighVoltageIsolation => "High-voltage insulation",
        }
    }
}

/// Compares in wire order, where a malformed bound (a typo in the table) matches nothing; the
/// family tests catch such a typo.
fn within(code: Dtc, from: &str, to: &str) -> bool {
    match (from.parse::<Dtc>(), to.parse::<Dtc>()) {
        (Ok(from), Ok(to)) => from <= code && code <= to,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtc(s: &str) -> Dtc {
        s.parse().unwrap()
    }

    #[test]
    fn every_bound_in_the_table_parses_and_no_code_is_in_two_families() {
        for (_, ranges) in MEMBERS {
            for (from, to) in *ranges {
                assert!(dtc(from) <= dtc(to), "{from}-{to}");
            }
        }
        for raw in 1..=u16::MAX {
            let code = Dtc::from_raw(raw);
            let n = MEMBERS
                .iter()
                .filter(|(_, r)| r.iter().any(|(f, t)| within(code, f, t)))
                .count();
            assert!(n <= 1, "{code} is in {n} families");
        }
    }

    #[test]
    fn members() {
        assert_eq!(Family::of(dtc("P0300")), Some(Family::Misfire));
        assert_eq!(Family::of(dtc("P0301")), Some(Family::Misfire));
        assert_eq!(Family::of(dtc("P0217")), Some(Family::Cooling));
        assert_eq!(Family::of(dtc("U0121")), Some(Family::LostCommunication));
        assert_eq!(Family::of(dtc("P0700")), None);
    }
}
