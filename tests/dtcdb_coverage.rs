//! What the generic code table covers, pinned: the count per J2012 group, the subsystem and
//! default urgency of the ranges that later additions brought in, and the titles of a sample
//! of those additions. A change to dtc-db/ that adds or drops codes must update the counts
//! here, so coverage never moves without a reviewer seeing it.

use std::collections::BTreeMap;

use obd_agent::dtcdb::{DtcDb, NOT_IN_DATABASE, Source, Subsystem, Urgency};
use obd_agent::obd::dtc::Dtc;

fn dtc(s: &str) -> Dtc {
    s.parse().unwrap()
}

/// Codes in codes.csv per group (letter, first digit, second character). Groups with none
/// are absent: C0 beyond the four wheel-speed codes, P0D-P0F, P29, P2C-P2F, P35-P3F, B01-B0F,
/// C3, B3, U06-U0F, U31-U3F (see dtc-db/README.md, "Sources", for why).
const COUNTS: &[(&str, usize)] = &[
    ("P00", 150),
    ("P01", 126),
    ("P02", 203),
    ("P03", 95),
    ("P04", 131),
    ("P05", 109),
    ("P06", 140),
    ("P07", 156),
    ("P08", 106),
    ("P09", 106),
    ("P0A", 92),
    ("P0B", 116),
    ("P0C", 23),
    ("P20", 181),
    ("P21", 113),
    ("P22", 101),
    ("P23", 48),
    ("P24", 97),
    ("P25", 85),
    ("P26", 76),
    ("P27", 100),
    ("P28", 40),
    ("P2A", 6),
    ("P2B", 8),
    ("P34", 98),
    ("C00", 4),
    ("B00", 125),
    ("U00", 74),
    ("U01", 92),
    ("U02", 48),
    ("U03", 33),
    ("U04", 48),
    ("U05", 20),
    ("U30", 5),
];

#[test]
fn counts_per_group_are_the_reviewed_ones() {
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for (code, _) in DtcDb::embedded().generic_codes() {
        *found.entry(code.to_string()[..3].to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        COUNTS.iter().map(|(g, n)| (g.to_string(), *n)).collect();
    assert_eq!(found, expected);
    let total: usize = COUNTS.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2955);
}

/// Subsystem and default urgency for the ranges added with the B0, U3 and hybrid codes, and
/// for the neighbours they must not leak into.
const RANGES: &[(&str, Subsystem, Urgency)] = &[
    // Restraint deployment loops, sensors and occupant classification: airbags may not fire.
    ("B0001", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B0012", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B0029", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B0070", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B0099", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B00C0", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B00DF", Subsystem::AirbagsSrs, Urgency::Critical),
    ("B00E8", Subsystem::AirbagsSrs, Urgency::Critical),
    // Warning lamps and chimes of the restraint system: high, not critical.
    ("B00D0", Subsystem::AirbagsSrs, Urgency::High),
    ("B00D2", Subsystem::AirbagsSrs, Urgency::High),
    ("B00D5", Subsystem::AirbagsSrs, Urgency::High),
    ("B0100", Subsystem::Hvac, Urgency::Low),
    // U30xx: module self-test, power and ignition inputs; battery voltage is high.
    ("U3000", Subsystem::NetworkCommunication, Urgency::Medium),
    ("U3001", Subsystem::NetworkCommunication, Urgency::Medium),
    ("U3003", Subsystem::NetworkCommunication, Urgency::High),
    ("U3006", Subsystem::NetworkCommunication, Urgency::Medium),
    ("U30FF", Subsystem::NetworkCommunication, Urgency::Medium),
    ("U3100", Subsystem::NetworkCommunication, Urgency::Medium),
    // High voltage: interlock open and contactor welded are critical like isolation loss.
    ("P0A0A", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0A0C", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0A0E", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0A0F", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0AA0", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0AA3", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0AA1", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0AA2", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0AA4", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0AA5", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0AA6", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0A7F", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0B24", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0B3B", Subsystem::HybridEvPropulsion, Urgency::High),
    ("P0BA3", Subsystem::HybridEvPropulsion, Urgency::High),
    // NOx exceedence (empty AdBlue/DEF): restart may be blocked, so high.
    ("P2BA7", Subsystem::AuxiliaryEmissions, Urgency::High),
    ("P2BAD", Subsystem::AuxiliaryEmissions, Urgency::High),
    ("P2BAE", Subsystem::AuxiliaryEmissions, Urgency::High),
    ("P2BA6", Subsystem::SaeReserved, Urgency::Medium),
    ("P2BAF", Subsystem::SaeReserved, Urgency::Medium),
    // Safety first: engine oil level too low, an overheating high-voltage battery and the
    // airbag modules' data are critical; AdBlue/DEF and particulate filter faults that end
    // in reduced power or a blocked restart are high; their neighbours keep the range's.
    ("P250F", Subsystem::SpeedAndIdleControl, Urgency::Critical),
    ("P250D", Subsystem::SpeedAndIdleControl, Urgency::Medium),
    ("P0A7E", Subsystem::HybridEvPropulsion, Urgency::Critical),
    ("P0A7D", Subsystem::HybridEvPropulsion, Urgency::High),
    ("U0250", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0336", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0452", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0551", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0455", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0471", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0476", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0479", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0480", Subsystem::NetworkCommunication, Urgency::Medium),
    ("U0137", Subsystem::NetworkCommunication, Urgency::Critical),
    ("U0435", Subsystem::NetworkCommunication, Urgency::High),
    ("U0513", Subsystem::NetworkCommunication, Urgency::High),
    ("U0436", Subsystem::NetworkCommunication, Urgency::Medium),
    ("P00BA", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P00B7", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P200E", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P261C", Subsystem::ComputerAndOutputCircuits, Urgency::High),
    ("P06DA", Subsystem::ComputerAndOutputCircuits, Urgency::High),
    ("P203F", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P207F", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P20EE", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P20F3", Subsystem::FuelAndAirMetering, Urgency::High),
    ("P20F0", Subsystem::FuelAndAirMetering, Urgency::Medium),
    ("P2463", Subsystem::AuxiliaryEmissions, Urgency::High),
    ("P24A4", Subsystem::AuxiliaryEmissions, Urgency::High),
    ("P2452", Subsystem::AuxiliaryEmissions, Urgency::Medium),
];

#[test]
fn new_ranges_give_their_subsystem_and_urgency() {
    let db = DtcDb::embedded();
    for (code, subsystem, urgency) in RANGES {
        let info = db.lookup(dtc(code));
        assert_eq!(
            (info.subsystem, info.urgency),
            (*subsystem, *urgency),
            "{code}"
        );
    }
}

#[test]
fn high_voltage_and_airbag_rows_name_the_hazard() {
    let db = DtcDb::embedded();
    for code in ["P0A0C", "P0AA1", "P0AA4", "P0A7E"] {
        let info = db.lookup(dtc(code));
        assert!(
            info.action.contains("high-voltage"),
            "{code}: {}",
            info.action
        );
    }
    for code in [
        "B0011", "U0250", "U0336", "U0452", "U0454", "U0551", "U0473",
    ] {
        assert!(db.lookup(dtc(code)).meaning.contains("Airbags"), "{code}");
    }
}

#[test]
fn known_titles_of_added_codes() {
    let db = DtcDb::embedded();
    for (code, title) in [
        ("B0002", "Driver Frontal Stage 2 Deployment Control"),
        ("B0011", "Passenger Frontal Stage 2 Deployment Control"),
        ("B0021", "Left Curtain Deployment Control 1"),
        (
            "B0070",
            "Driver Seatbelt Pretensioner 'A' Deployment Control",
        ),
        ("B0099", "Roll Over Sensor"),
        ("B00A0", "Occupant Classification System"),
        ("B00D2", "Restraint System Malfunction Indicator 1"),
        ("U3000", "Control Module"),
        ("U3003", "Battery Voltage"),
        ("P0A0C", "High Voltage System Interlock Circuit Low"),
        ("P0A7F", "Hybrid Battery Pack Deterioration"),
        (
            "P0AA1",
            "Hybrid Battery Positive Contactor Circuit Stuck Closed",
        ),
        ("P0B24", "Hybrid Battery 'A' Voltage Unstable"),
        (
            "P0B3C",
            "Hybrid Battery Voltage Sense 'A' Circuit Range/Performance",
        ),
        (
            "P0B50",
            "Hybrid Battery Voltage Sense 'E' Circuit Range/Performance",
        ),
        (
            "P0BA3",
            "Hybrid Battery Voltage Sense 'U' Circuit Intermittent/Erratic",
        ),
        ("P2BA7", "NOx Exceedence - Empty Reagent Tank"),
        ("P0325", "Knock Sensor 1 Circuit (Bank 1 or Single Sensor)"),
        ("P0332", "Knock Sensor 2 Circuit Low (Bank 2)"),
        ("P2224", "NOx Sensor Heater Sense Circuit High (Bank 2)"),
        // Second review (hex-suffixed and later J2012 codes): two sources each.
        (
            "P013A",
            "O2 Sensor Slow Response - Rich to Lean (Bank 1 Sensor 2)",
        ),
        ("P06DA", "Engine Oil Pressure Control Circuit/Open"),
        ("P07A3", "Transmission Friction Element 'A' Stuck On"),
        (
            "P0C73",
            "Motor Electronics Coolant Pump 'A' Control Performance",
        ),
        (
            "P20EE",
            "SCR NOx Catalyst Efficiency Below Threshold (Bank 1)",
        ),
        (
            "P2463",
            "Diesel Particulate Filter Restriction - Soot Accumulation",
        ),
        ("P2BA9", "NOx Exceedence - Insufficient Reagent Quality"),
        (
            "P2800",
            "Transmission Range Sensor 'B' Circuit (PRNDL Input)",
        ),
        (
            "U0452",
            "Invalid Data Received From Restraints Control Module",
        ),
        (
            "P02DD",
            "Cylinder 9 Fuel Injector Offset Learning At Max Limit",
        ),
        (
            "U0471",
            "Invalid Data Received From 'Restraints System Sensor A'",
        ),
    ] {
        assert_eq!(db.title(dtc(code)), Some(title), "{code}");
    }
}

/// Codes deliberately left out (sources disagree or only one was found) fall back to their
/// range's knowledge instead of a guessed title.
#[test]
fn unconfirmed_codes_fall_back_to_the_range() {
    let db = DtcDb::embedded();
    for code in [
        "P0A54", "P0B26", "P0C33", "P0D20", "P219C", "P2461", "U0075", "U3004", "C0031", "B0100",
        // Dropped when racetunefiles.com was found to repeat fabiovila/OBDIICodes.
        "P002B", "P020D",
    ] {
        let info = db.lookup(dtc(code));
        assert_eq!(info.source, Source::RangeOnly, "{code}");
        assert_eq!(info.description, NOT_IN_DATABASE, "{code}");
    }
}

#[test]
fn voltage_sense_block_is_complete_and_regular() {
    let db = DtcDb::embedded();
    let suffixes = [
        "Circuit",
        "Circuit Range/Performance",
        "Circuit Low",
        "Circuit High",
        "Circuit Intermittent/Erratic",
    ];
    for (i, letter) in ('A'..='U').enumerate() {
        for (j, suffix) in suffixes.iter().enumerate() {
            let raw = dtc("P0B3B").raw() + (5 * i + j) as u16;
            let code = Dtc::from_raw(raw);
            let want = format!("Hybrid Battery Voltage Sense '{letter}' {suffix}");
            assert_eq!(db.title(code), Some(want.as_str()), "{code}");
        }
    }
}
