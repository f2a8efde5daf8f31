//! The `developing` car over its timeline: what a scan tool would see at each stage.

use std::time::Duration;

use crate::obd::dtc::{DtcFraming, decode_dtc_list};

use super::Scenario;
use super::scenario::DEVELOPING_TIMELINE;
use super::vehicle::SimVehicle;

fn at(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn codes(v: &mut SimVehicle, service: u8, now: Duration) -> Vec<String> {
    v.respond(&[service], now)
        .iter()
        .flat_map(|(_, m)| decode_dtc_list(&m[1..], DtcFraming::Counted).codes)
        .map(|c| c.to_string())
        .collect()
}

fn mil(v: &mut SimVehicle, now: Duration) -> bool {
    let answers = v.respond(&[0x01, 0x01], now);
    answers[0].1[2] & 0x80 != 0
}

fn coolant(v: &mut SimVehicle, now: Duration) -> i32 {
    i32::from(v.respond(&[0x01, 0x05], now)[0].1[2]) - 40
}

/// What one read at `s` seconds shows: stored, pending, MIL, coolant.
fn stage(s: f64) -> (Vec<String>, Vec<String>, bool, i32) {
    // A fresh car each time: the answers depend on the instant only, not on earlier reads.
    let mut v = Scenario::Developing.build();
    let now = at(s);
    (
        codes(&mut v, 0x03, now),
        codes(&mut v, 0x07, now),
        mil(&mut v, now),
        coolant(&mut v, now),
    )
}

#[test]
fn faults_develop_in_order() {
    let none: Vec<String> = Vec::new();
    let misfire = vec!["P0301".to_string()];
    assert_eq!(
        stage(10.0),
        (none.clone(), none.clone(), false, stage(10.0).3)
    );
    assert_eq!(stage(20.0).0, none);
    assert_eq!(stage(20.0).1, misfire, "pending first");
    assert!(!stage(20.0).2, "no MIL for a pending code");
    let confirmed = stage(40.0);
    assert_eq!(
        (confirmed.0, confirmed.1, confirmed.2),
        (misfire.clone(), misfire.clone(), true)
    );
    let hot = stage(70.0);
    assert_eq!(hot.0, ["P0301", "P0217"]);
    assert!(hot.2 && hot.3 >= 112, "overheating: {hot:?}");
    let healed = stage(105.0);
    assert_eq!(
        (healed.0.clone(), healed.2),
        (misfire, true),
        "P0217 gone, misfire keeps the MIL"
    );
    assert!(healed.3 < 100, "cooled down: {healed:?}");
}

#[test]
fn coolant_is_normal_before_and_after_the_cooling_fault() {
    let mut v = Scenario::Developing.build();
    assert!((80..=92).contains(&coolant(&mut v, at(45.0))));
    let peak = (50..=100)
        .map(|s| coolant(&mut v, at(f64::from(s))))
        .max()
        .unwrap_or(0);
    assert!((115..=124).contains(&peak), "peak {peak}");
    assert!((85..=95).contains(&coolant(&mut v, at(160.0))));
}

#[test]
fn the_timeline_is_deterministic_and_applied_once() {
    let mut a = Scenario::Developing.build();
    let mut b = Scenario::Developing.build();
    // One car read often, one read only at the end: the same state at the end.
    for s in 0..=120 {
        a.respond(&[0x03], at(f64::from(s)));
    }
    b.respond(&[0x03], at(120.0));
    assert_eq!(a.ecus, b.ecus);
    assert_eq!(codes(&mut a, 0x03, at(120.0)), ["P0301"]);
    // The table the demo prints matches the steps the car runs.
    assert_eq!(DEVELOPING_TIMELINE.len(), 7);
    let last = a.timeline.steps().last().map(|s| s.at);
    assert_eq!(last, Some(at(DEVELOPING_TIMELINE[6].0 as f64)));
}

#[test]
fn only_developing_and_wearing_scenarios_have_a_timeline() {
    for sc in Scenario::ALL {
        let v = sc.build();
        assert_eq!(
            v.timeline.steps().is_empty(),
            !matches!(
                sc,
                Scenario::Developing
                    | Scenario::LeanTrim
                    | Scenario::StuckThermostat
                    | Scenario::CatalystAgeing
                    | Scenario::MisfireDeveloping
            ),
            "{sc}"
        );
    }
}
