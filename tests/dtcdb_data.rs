//! The embedded trouble-code data: loads cleanly, is complete and consistent, and puts every
//! code in the subsystem its J2012 range says.

use obd_agent::dtcdb::{DtcDb, MANUFACTURER_SPECIFIC, NOT_IN_DATABASE, Source, Subsystem, Urgency};
use obd_agent::obd::dtc::{Dtc, DtcSystem};

fn dtc(s: &str) -> Dtc {
    s.parse().unwrap()
}

fn all_codes() -> impl Iterator<Item = Dtc> {
    (1..=u16::MAX).map(Dtc::from_raw)
}

#[test]
fn embedded_data_loads_cleanly() {
    let db = DtcDb::load_embedded().expect("dtc-db/ must load");
    assert!(db.generic_codes().count() >= 2000);
}

#[test]
fn generic_codes_are_unique_sorted_sae_and_complete() {
    let db = DtcDb::embedded();
    let codes: Vec<_> = db.generic_codes().collect();
    for pair in codes.windows(2) {
        assert!(pair[0].0 < pair[1].0, "{} then {}", pair[0].0, pair[1].0);
    }
    for (code, title) in codes {
        assert_eq!(code.to_string().parse::<Dtc>(), Ok(code));
        let info = db.lookup(code);
        assert_eq!(info.source, Source::Generic, "{code}");
        assert_eq!(info.description, title);
        assert!(
            !matches!(
                info.subsystem,
                Subsystem::ManufacturerSpecific | Subsystem::SaeReserved
            ),
            "{code} is listed as generic but lies in a {} range",
            info.subsystem
        );
        for (name, field) in [
            ("title", title),
            ("meaning", info.meaning),
            ("action", info.action),
        ] {
            assert!(!field.trim().is_empty(), "{code}: empty {name}");
        }
        assert!(
            !title.to_lowercase().contains("reserved"),
            "{code}: {title}"
        );
        assert_eq!(title.trim(), title, "{code}: stray whitespace");
    }
}

#[test]
fn every_possible_code_gets_knowledge() {
    let db = DtcDb::embedded();
    for code in all_codes() {
        let info = db.lookup(code);
        assert_eq!(info.system, code.system());
        assert!(
            !info.meaning.is_empty() && !info.action.is_empty(),
            "{code}"
        );
        if info.source == Source::RangeOnly {
            let expected = if info.subsystem == Subsystem::ManufacturerSpecific {
                MANUFACTURER_SPECIFIC
            } else {
                NOT_IN_DATABASE
            };
            assert_eq!(info.description, expected, "{code}");
        }
    }
}

/// J2012's range structure. Each row: first and last code, subsystem, and the codes inside
/// that the data deliberately files elsewhere (single-code overrides).
const STRUCTURE: &[(&str, &str, Subsystem, &[&str])] = &[
    ("P0001", "P02FF", Subsystem::FuelAndAirMetering, &["P0218"]),
    ("P0300", "P03FF", Subsystem::IgnitionMisfire, &[]),
    ("P0400", "P04FF", Subsystem::AuxiliaryEmissions, &[]),
    ("P0500", "P05FF", Subsystem::SpeedAndIdleControl, &[]),
    ("P0600", "P06FF", Subsystem::ComputerAndOutputCircuits, &[]),
    ("P0700", "P09FF", Subsystem::Transmission, &[]),
    ("P0A00", "P0FFF", Subsystem::HybridEvPropulsion, &[]),
    ("P1000", "P1FFF", Subsystem::ManufacturerSpecific, &[]),
    ("P2000", "P22FF", Subsystem::FuelAndAirMetering, &[]),
    ("P2300", "P23FF", Subsystem::IgnitionMisfire, &[]),
    ("P2400", "P24FF", Subsystem::AuxiliaryEmissions, &[]),
    ("P2500", "P25FF", Subsystem::SpeedAndIdleControl, &[]),
    ("P2600", "P26FF", Subsystem::ComputerAndOutputCircuits, &[]),
    ("P2700", "P29FF", Subsystem::Transmission, &[]),
    ("P2A00", "P2AFF", Subsystem::FuelAndAirMetering, &[]),
    ("P3000", "P33FF", Subsystem::ManufacturerSpecific, &[]),
    ("P3400", "P34FF", Subsystem::CylinderDeactivation, &[]),
    ("C0000", "C03FF", Subsystem::BrakesAbs, &[]),
    ("C0400", "C04FF", Subsystem::Steering, &[]),
    ("C1000", "C2FFF", Subsystem::ManufacturerSpecific, &[]),
    ("B0000", "B00FF", Subsystem::AirbagsSrs, &[]),
    ("B0100", "B01FF", Subsystem::Hvac, &[]),
    ("B1000", "B2FFF", Subsystem::ManufacturerSpecific, &[]),
    ("U0000", "U0FFF", Subsystem::NetworkCommunication, &[]),
    ("U1000", "U2FFF", Subsystem::ManufacturerSpecific, &[]),
    ("U3000", "U3FFF", Subsystem::NetworkCommunication, &[]),
];

#[test]
fn subsystem_follows_from_the_range() {
    let db = DtcDb::embedded();
    for (from, to, subsystem, exceptions) in STRUCTURE {
        let (from, to) = (dtc(from), dtc(to));
        for code in all_codes().filter(|c| from <= *c && *c <= to) {
            if exceptions.iter().any(|e| dtc(e) == code) {
                continue;
            }
            assert_eq!(db.lookup(code).subsystem, *subsystem, "{code}");
        }
    }
}

#[test]
fn letters_give_the_system() {
    let db = DtcDb::embedded();
    for (text, system) in [
        ("P0100", DtcSystem::Powertrain),
        ("C0035", DtcSystem::Chassis),
        ("B0001", DtcSystem::Body),
        ("U0100", DtcSystem::Network),
    ] {
        assert_eq!(db.lookup(dtc(text)).system, system);
    }
}

#[test]
fn well_known_titles() {
    let db = DtcDb::embedded();
    for (code, title) in [
        ("P0300", "Random/Multiple Cylinder Misfire Detected"),
        ("P0301", "Cylinder 1 Misfire Detected"),
        (
            "P0420",
            "Catalyst System Efficiency Below Threshold (Bank 1)",
        ),
        (
            "P0430",
            "Catalyst System Efficiency Below Threshold (Bank 2)",
        ),
        ("P0171", "System Too Lean (Bank 1)"),
        ("P0133", "O2 Sensor Circuit Slow Response (Bank 1 Sensor 1)"),
        ("P0217", "Engine Coolant Over Temperature Condition"),
        (
            "P0128",
            "Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)",
        ),
        ("U0100", "Lost Communication With ECM/PCM A"),
        ("C0035", "Left Front Wheel Speed Sensor Circuit"),
        ("B0001", "Driver Frontal Stage 1 Deployment Control"),
        ("P0AA6", "Hybrid Battery Voltage System Isolation Fault"),
    ] {
        assert_eq!(db.title(dtc(code)), Some(title), "{code}");
    }
}

#[test]
fn safety_systems_default_to_critical() {
    let db = DtcDb::embedded();
    for code in [
        "C0035", "C0450", "B0001", "P0217", "P0524", "P0AA6", "U0121", "U0151",
    ] {
        assert_eq!(db.lookup(dtc(code)).urgency, Urgency::Critical, "{code}");
    }
    for code in ["B0150", "U0164", "U0184", "U0208"] {
        assert_eq!(db.lookup(dtc(code)).urgency, Urgency::Low, "{code}");
    }
}
