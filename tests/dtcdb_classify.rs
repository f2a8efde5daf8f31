//! Scenario tests: code combinations plus context give the expected urgency and reasons.

use obd_agent::diagnosis::{
    CodeObservation, Context, Family, Finding, Mil, Snapshot, classify, rules::RULES, scan,
};
use obd_agent::dtcdb::{Subsystem, Urgency};
use obd_agent::obd::dtc::{Dtc, DtcSystem};

fn dtc(s: &str) -> Dtc {
    s.parse().unwrap()
}

fn stored(s: &str) -> CodeObservation {
    CodeObservation::stored(dtc(s))
}

fn only(findings: Vec<Finding<'static>>) -> Finding<'static> {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.into_iter().next().unwrap()
}

fn fired(finding: &Finding<'_>, rule: &str) -> bool {
    finding
        .reasons
        .iter()
        .any(|r| r.starts_with(&format!("{rule}:")))
}

fn live(snapshot: Snapshot) -> Context {
    Context {
        live: Some(snapshot),
        ..Context::default()
    }
}

#[test]
fn misfire_with_flashing_mil_is_critical() {
    let obs = CodeObservation {
        mil: Mil::Flashing,
        ..stored("P0301")
    };
    let f = only(classify(&[obs], &Context::default()));
    assert_eq!(f.urgency, Urgency::Critical);
    assert!(fired(&f, "misfire-mil-flashing"), "{:?}", f.reasons);
    assert_eq!(f.default_urgency, Urgency::High);
}

#[test]
fn misfire_under_high_load_is_critical_and_says_the_load() {
    let ctx = Context {
        freeze_frame: Some(Snapshot {
            engine_load_pct: Some(85.0),
            rpm: Some(3200.0),
            ..Snapshot::default()
        }),
        ..Context::default()
    };
    let f = only(classify(&[stored("P0302")], &ctx));
    assert_eq!(f.urgency, Urgency::Critical);
    assert!(
        f.reasons.iter().any(|r| r.contains("engine load 85 %")),
        "{:?}",
        f.reasons
    );
}

#[test]
fn random_and_cylinder_misfire_fold_into_one_finding() {
    let f = only(classify(
        &[stored("P0301"), stored("P0300")],
        &Context::default(),
    ));
    assert_eq!(f.codes, vec![dtc("P0300"), dtc("P0301")]);
    assert_eq!(f.family, Some(Family::Misfire));
    assert_eq!(f.title, "Engine misfire");
    assert_eq!(f.knowledge.len(), 2);
    assert_eq!(f.subsystem, Subsystem::IgnitionMisfire);
    assert_eq!(f.urgency, Urgency::High);
}

#[test]
fn pending_only_is_lower_than_stored() {
    let pending = only(classify(
        &[CodeObservation::pending(dtc("P0420"))],
        &Context::default(),
    ));
    let confirmed = only(classify(&[stored("P0420")], &Context::default()));
    assert!(pending.urgency < confirmed.urgency);
    assert_eq!(confirmed.urgency, Urgency::Medium);
    assert!(fired(&pending, "pending-only"));
}

#[test]
fn a_code_back_after_a_clear_is_higher() {
    let back = CodeObservation {
        returned_after_clear: true,
        ..stored("P0420")
    };
    let f = only(classify(&[back], &Context::default()));
    assert_eq!(f.urgency, Urgency::High);
    assert!(fired(&f, "returned-after-clear"));
}

#[test]
fn overheating_code_with_hot_coolant_is_critical() {
    let ctx = live(Snapshot {
        coolant_c: Some(120.0),
        ..Snapshot::default()
    });
    let f = only(classify(&[stored("P0217")], &ctx));
    assert_eq!(f.urgency, Urgency::Critical);
    assert!(fired(&f, "overheating"));
    assert!(
        f.reasons.iter().any(|r| r.contains("coolant 120 °C")),
        "{:?}",
        f.reasons
    );
}

#[test]
fn cooling_fan_fault_becomes_critical_only_when_coolant_is_hot() {
    let fan = stored("P0480");
    let cool = only(classify(
        &[fan],
        &live(Snapshot {
            coolant_c: Some(92.0),
            ..Snapshot::default()
        }),
    ));
    let hot = only(classify(
        &[fan],
        &live(Snapshot {
            coolant_c: Some(118.0),
            ..Snapshot::default()
        }),
    ));
    assert!(cool.urgency < Urgency::Critical);
    assert_eq!(hot.urgency, Urgency::Critical);
}

#[test]
fn wheel_speed_sensor_is_critical_even_when_pending() {
    let f = only(classify(&[stored("C0035")], &Context::default()));
    assert_eq!(f.urgency, Urgency::Critical);
    assert_eq!(f.system, DtcSystem::Chassis);
    assert!(fired(&f, "safety-brakes"));
    let pending = only(classify(
        &[CodeObservation::pending(dtc("C0035"))],
        &Context::default(),
    ));
    assert_eq!(pending.urgency, Urgency::Critical);
}

#[test]
fn airbag_steering_oil_and_hv_faults_are_critical() {
    for code in ["B0001", "C0455", "P0524", "P0520", "P0AA6", "U0151"] {
        let f = only(classify(
            &[CodeObservation::pending(dtc(code))],
            &Context::default(),
        ));
        assert_eq!(f.urgency, Urgency::Critical, "{code}: {:?}", f.reasons);
    }
}

#[test]
fn manufacturer_body_code_is_known_as_such() {
    let f = only(classify(&[stored("B1234")], &Context::default()));
    assert_eq!(f.system, DtcSystem::Body);
    assert_eq!(f.subsystem, Subsystem::ManufacturerSpecific);
    assert_eq!(f.title, "manufacturer-specific");
}

#[test]
fn charging_fault_with_low_battery_is_raised() {
    let ctx = live(Snapshot {
        battery_v: Some(11.2),
        ..Snapshot::default()
    });
    let f = only(classify(&[stored("P0562")], &ctx));
    assert_eq!(f.urgency, Urgency::Critical);
    assert!(fired(&f, "charging-low-battery"));
}

#[test]
fn duplicate_reports_merge_and_findings_sort_worst_first() {
    let obs = [
        stored("P0442"),
        CodeObservation::pending(dtc("P0420")),
        stored("C0040"),
        stored("P0420"),
        stored("P0700"),
    ];
    let report = scan(&obs, &Context::default());
    assert_eq!(report.worst, Some(Urgency::Critical));
    let urgencies: Vec<_> = report.findings.iter().map(|f| f.urgency).collect();
    let mut sorted = urgencies.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(urgencies, sorted);
    let catalyst = report
        .findings
        .iter()
        .find(|f| f.codes == vec![dtc("P0420")])
        .unwrap();
    // Stored from service 03 wins over pending from service 07: not lowered.
    assert!(!fired(catalyst, "pending-only"));
    assert_eq!(catalyst.urgency, Urgency::Medium);
}

#[test]
fn every_finding_explains_its_default_and_serialises() {
    let f = only(classify(&[stored("P0700")], &Context::default()));
    assert!(
        f.reasons[0].starts_with("default: P0700 is high"),
        "{:?}",
        f.reasons
    );
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["urgency"], "high");
    assert_eq!(json["codes"][0], "P0700");
    assert_eq!(json["knowledge"][0]["skill"], "transmission");
    assert!(scan(&[], &Context::default()).worst.is_none());
}

#[test]
fn lost_communication_codes_fold_and_take_the_worst() {
    let f = only(classify(
        &[stored("U0164"), stored("U0121")],
        &Context::default(),
    ));
    assert_eq!(f.codes, vec![dtc("U0121"), dtc("U0164")]);
    assert_eq!(f.family, Some(Family::LostCommunication));
    assert_eq!(f.urgency, Urgency::Critical);
    assert!(
        f.reasons[0].starts_with("default: U0121 is critical"),
        "{:?}",
        f.reasons
    );
}

#[test]
fn unrelated_codes_stay_separate() {
    let findings = classify(&[stored("P0700"), stored("P0442")], &Context::default());
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].codes, vec![dtc("P0700")]);
}

#[test]
fn the_rule_table_is_readable() {
    for rule in RULES {
        assert!(
            !rule.why.is_empty() && !rule.id.contains(' '),
            "{}",
            rule.id
        );
    }
}
