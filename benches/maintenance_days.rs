//! Day of the first predictive alert against the day of failure (or due date), for each
//! degrading simulated car over 30 days, and the healthy commuter's count of alerts (must be
//! zero). The same runs are asserted in tests/maintenance_days.rs; this prints the table.
//!
//! `cargo bench --bench maintenance_days`

use std::time::Instant;

use obd_agent::maintenance::TrackerSettings;
use obd_agent::sim::Scenario;
use obd_agent::sim::days::{Intake, run_days};
use obd_agent::sim::scenario::OIL_LAST_CHANGE_KM;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cases = [
        (Scenario::Commuter, Intake::default(), ""),
        (
            Scenario::BatteryAgeing,
            Intake {
                odometer_km: Some(87_000.0),
                ..Intake::default()
            },
            "battery_cranking_weak",
        ),
        (Scenario::LeanTrim, Intake::default(), "fuel_trim_lean"),
        (Scenario::StuckThermostat, Intake::default(), "warmup_slow"),
        (
            Scenario::OilDue,
            Intake {
                services: vec![("oil".into(), OIL_LAST_CHANGE_KM, 300.0)],
                ..Intake::default()
            },
            "item:engine_oil:due_soon",
        ),
        (
            Scenario::CatalystAgeing,
            Intake::default(),
            "catalyst_efficiency_falling",
        ),
        (
            Scenario::MisfireDeveloping,
            Intake::default(),
            "misfire_counts_rising",
        ),
    ];
    println!(
        "{:<17} {:<26} {:>9} {:>8} {:>9} {:>7} {:>8}  failure",
        "scenario", "first alert", "alert day", "urgency", "fail day", "lead d", "wall ms"
    );
    for (scenario, intake, expected) in cases {
        let started = Instant::now();
        let outcome = match run_days(scenario, 30.0, &intake, TrackerSettings::default()).await {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{scenario}: {e}");
                continue;
            }
        };
        let wall = started.elapsed().as_millis();
        if expected.is_empty() {
            println!(
                "{:<17} {:<26} {:>9} {:>8} {:>9} {:>7} {:>8}  ({} alerts in 30 days, {} polls)",
                scenario.name(),
                "none",
                "-",
                "-",
                "-",
                "-",
                wall,
                outcome.alerts.len(),
                outcome.polls
            );
            continue;
        }
        let alert = outcome.alerts.iter().find(|a| a.what == expected);
        let (fail_day, what) = scenario.failure().unwrap_or((f64::NAN, "?"));
        match alert {
            Some(a) => println!(
                "{:<17} {:<26} {:>9.2} {:>8} {:>9.2} {:>7.2} {:>8}  {what}",
                scenario.name(),
                a.what,
                a.day,
                a.urgency.as_str(),
                fail_day,
                fail_day - a.day,
                wall
            ),
            None => println!("{:<17} {expected} NOT RAISED", scenario.name()),
        }
    }
}
