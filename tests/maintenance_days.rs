//! Thirty simulated days and more of each long-running scenario, through the real reader and
//! the maintenance tracker (`sim::days`): a healthy commuter raises nothing; every degrading
//! car raises the right alert, with the right item and urgency, before it fails or falls due.
//!
//! Run with `--nocapture` to see the day of each alert against the day of failure.

use obd_agent::maintenance::{TrackerSettings, Urgency};
use obd_agent::sim::Scenario;
use obd_agent::sim::days::{DaysOutcome, FirstAlert, Intake, run_days};
use obd_agent::sim::scenario::{OIL_LAST_CHANGE_KM, THERMOSTAT_STUCK_DAY};

async fn run(scenario: Scenario, days: f64, intake: Intake) -> DaysOutcome {
    let outcome = run_days(scenario, days, &intake, TrackerSettings::default())
        .await
        .unwrap_or_else(|e| panic!("{scenario}: {e}"));
    for a in &outcome.alerts {
        println!(
            "{scenario:>17}: day {:5.2} {} ({:?}) visit {:?} {:?}",
            a.day, a.what, a.urgency, a.visit_urgency, a.summary
        );
    }
    outcome
}

fn first<'a>(outcome: &'a DaysOutcome, what: &str) -> &'a FirstAlert {
    outcome
        .alerts
        .iter()
        .find(|a| a.what == what)
        .unwrap_or_else(|| {
            panic!(
                "{}: no {what} alert in {:?}",
                outcome.scenario, outcome.alerts
            )
        })
}

fn figure(scenario: Scenario, alert: &FirstAlert) -> f64 {
    let (fail_day, what) = scenario.failure().expect("a degrading scenario");
    println!(
        "FIGURE {scenario:>17}: alert {:<28} day {:5.2}   {what}: day {fail_day:5.2}   lead {:5.2} days",
        alert.what,
        alert.day,
        fail_day - alert.day
    );
    fail_day
}

#[tokio::test]
async fn a_healthy_commuter_raises_nothing_in_30_days() {
    let outcome = run(Scenario::Commuter, 30.0, Intake::default()).await;
    assert!(outcome.alerts.is_empty(), "{:?}", outcome.alerts);
    // The odometer follows the car's own (PID A6), and usage is its 2 x 26.7 km a day.
    let (est, real) = (
        outcome.odometer_km.unwrap(),
        outcome.true_odometer_km.unwrap(),
    );
    assert!((est - real).abs() < 0.2, "{est} vs {real}");
    let rate = outcome.km_per_day.unwrap();
    assert!((rate - 53.3).abs() < 0.5, "{rate}");
    assert!(outcome.polls > 10_000, "really sampled: {}", outcome.polls);
}

#[tokio::test]
async fn an_ageing_battery_is_flagged_weeks_before_it_fails_to_start() {
    let intake = Intake {
        odometer_km: Some(87_000.0),
        ..Intake::default()
    };
    let outcome = run(Scenario::BatteryAgeing, 30.0, intake).await;
    let alert = first(&outcome, "battery_cranking_weak");
    let fail_day = figure(Scenario::BatteryAgeing, alert);
    assert_eq!(alert.urgency, Urgency::High);
    assert_eq!(alert.item.as_deref(), Some("battery"));
    assert_eq!(alert.visit_urgency, Some(Urgency::High));
    assert!(alert.visit_items.contains(&"battery".to_string()));
    assert!(alert.day + 7.0 < fail_day, "{} vs {fail_day}", alert.day);
    // Not raised while the battery was still fine (crank dip above 10.0 V until day 10.9).
    assert!(alert.day > 10.9, "{}", alert.day);
    // Without PID A6 the odometer is integrated from the intake value: 30 days x 53.3 km.
    let km = outcome.odometer_km.unwrap() - 87_000.0;
    assert!((km - 1600.0).abs() < 20.0, "{km}");
}

#[tokio::test]
async fn a_leaning_fuel_trim_is_flagged_before_p0171() {
    let outcome = run(Scenario::LeanTrim, 30.0, Intake::default()).await;
    let alert = first(&outcome, "fuel_trim_lean");
    let fail_day = figure(Scenario::LeanTrim, alert);
    assert_eq!(
        (alert.urgency, alert.item.as_deref()),
        (Urgency::Medium, None)
    );
    assert_eq!(alert.visit_urgency, Some(Urgency::Medium));
    assert!(alert.day + 7.0 < fail_day, "{} vs {fail_day}", alert.day);
    // The trim passes +10 % on day 10: not before.
    assert!(alert.day > 10.0, "{}", alert.day);
    // The pending P0171 (day 25) is an early warning too, still before the confirmation.
    let pending = first(&outcome, "pending_code_repeats:P0171");
    assert!(pending.day < fail_day, "{}", pending.day);
    assert!(
        outcome
            .alerts
            .iter()
            .all(|a| a.what != "battery_cranking_weak")
    );
}

#[tokio::test]
async fn a_stuck_open_thermostat_is_flagged_before_p0128() {
    let outcome = run(Scenario::StuckThermostat, 30.0, Intake::default()).await;
    let alert = first(&outcome, "warmup_slow");
    let fail_day = figure(Scenario::StuckThermostat, alert);
    assert_eq!(
        (alert.urgency, alert.item.as_deref()),
        (Urgency::Medium, None)
    );
    assert!(alert.day < fail_day, "{} vs {fail_day}", alert.day);
    assert!(alert.day > THERMOSTAT_STUCK_DAY, "{}", alert.day);
    let summary = alert.summary.as_deref().unwrap_or_default();
    assert!(summary.contains("thermostat"), "{summary}");
}

#[tokio::test]
async fn the_oil_change_reminder_comes_three_to_seven_days_before_it_is_due() {
    let intake = Intake {
        services: vec![("oil".into(), OIL_LAST_CHANGE_KM, 300.0)],
        ..Intake::default()
    };
    let outcome = run(Scenario::OilDue, 30.0, intake).await;
    let alert = first(&outcome, "item:engine_oil:due_soon");
    let due_day = figure(Scenario::OilDue, alert);
    assert_eq!(alert.urgency, Urgency::Low);
    assert_eq!(
        alert.visit_items.first().map(String::as_str),
        Some("engine_oil")
    );
    let lead = due_day - alert.day;
    assert!((3.0..=7.0).contains(&lead), "reminder {lead:.2} days ahead");
    // Then it falls due, on the day the odometer passes 50,000 km (within a day).
    let due = first(&outcome, "item:engine_oil:due");
    assert!((due.day - due_day).abs() < 1.0, "{} vs {due_day}", due.day);
    // Nothing else is predicted for this healthy car.
    assert!(
        outcome
            .alerts
            .iter()
            .all(|a| a.what.starts_with("item:engine_oil")),
        "{:?}",
        outcome.alerts
    );
}

#[tokio::test]
async fn an_ageing_catalyst_is_flagged_from_service_06_before_p0420() {
    let outcome = run(Scenario::CatalystAgeing, 30.0, Intake::default()).await;
    let alert = first(&outcome, "catalyst_efficiency_falling");
    let fail_day = figure(Scenario::CatalystAgeing, alert);
    assert_eq!(
        (alert.urgency, alert.item.as_deref()),
        (Urgency::Medium, None)
    );
    assert_eq!(alert.visit_urgency, Some(Urgency::Medium));
    // The test value (0.30 + 0.02/day against a limit of 0.75) uses 80 % of its range from
    // day 15: not before, and days ahead of the pending code (day 22) and P0420 (day 23).
    assert!(alert.day > CATALYST_80_PCT_DAY, "{}", alert.day);
    assert!(alert.day + 5.0 < fail_day, "{} vs {fail_day}", alert.day);
    let summary = alert.summary.as_deref().unwrap_or_default();
    assert!(summary.contains("catalytic converter"), "{summary}");
    // Only the catalyst: the O2 sensor and misfire tests stay healthy.
    assert!(
        outcome
            .alerts
            .iter()
            .all(|a| a.what.contains("catalyst") || a.what.contains("P0420")),
        "{:?}",
        outcome.alerts
    );
}

#[tokio::test]
async fn a_developing_misfire_is_flagged_from_service_06_before_p0301() {
    let outcome = run(Scenario::MisfireDeveloping, 30.0, Intake::default()).await;
    let alert = first(&outcome, "misfire_counts_rising");
    let fail_day = figure(Scenario::MisfireDeveloping, alert);
    assert_eq!(
        (alert.urgency, alert.item.as_deref()),
        (Urgency::Medium, None)
    );
    // Cylinder 1's EWMA count (2 a day) passes 20 on day 10: not before, and well ahead of
    // the pending code (day 20) and P0301 (day 25).
    assert!(alert.day > 10.0, "{}", alert.day);
    assert!(alert.day + 10.0 < fail_day, "{} vs {fail_day}", alert.day);
    let summary = alert.summary.as_deref().unwrap_or_default();
    assert!(
        summary.starts_with("A cylinder has started to misfire"),
        "{summary}"
    );
    assert!(
        outcome
            .alerts
            .iter()
            .all(|a| a.what.contains("misfire") || a.what.contains("P0301")),
        "{:?}",
        outcome.alerts
    );
}

/// 0.30 + 0.02 x day = 0.60, 80 % of the 0.75 limit.
const CATALYST_80_PCT_DAY: f64 = 15.0;
