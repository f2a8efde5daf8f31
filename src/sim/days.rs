//! Weeks of a simulated vehicle's life in a fraction of a second: the `commuter` scenarios
//! sampled through the real reader on a [`SimClock`] the caller moves, feeding the
//! maintenance [`Tracker`] exactly as the daemon does, and recording the day each predictive
//! alert first appears.
//!
//! Sampling, as a dongle that watches its supply voltage would do it: while parked, the
//! adapter voltage every 2 s (a voltage drop of the ignition wakes it), fed to the tracker
//! every 30 min; while the ECUs answer, the maintenance PIDs every 1 s for the first 15 s
//! (so the starter's dip is seen), then every 5 s; pending codes every 10 minutes; service 06
//! test results once per trip, after the engine has run [`TESTS_AFTER`] (the ECU runs its
//! catalyst and O2 monitors once warm and cruising).

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::maintenance::{
    DueState, MAINTENANCE_PIDS, MONITOR_TEST_MIDS, Sample, Tracker, TrackerSettings, TrackerState,
    Urgency,
};
use crate::reader::{DtcKind, ReadError, VehicleReader};
use crate::transport::sim::{SimClock, SimTransport};

use super::{Scenario, SimLatency};

/// The simulated time zero as a calendar time: 2026-01-05 00:00 UTC, so days are days.
pub const EPOCH_UNIX_S: u64 = 1_767_571_200;

/// What the vehicle's owner or the workshop told the agent at intake.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intake {
    /// The dashboard odometer at time zero (for cars without PID A6).
    pub odometer_km: Option<f64>,
    /// Services done before time zero: item, odometer, days before time zero.
    pub services: Vec<(String, f64, f64)>,
}

/// A predictive alert as it first appeared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstAlert {
    /// Simulated day (fractional) it was first raised.
    pub day: f64,
    /// A trend rule id, or `item:<id>:<state>` for a maintenance item.
    pub what: String,
    pub urgency: Urgency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The appointment suggestion's urgency and sentence at that moment.
    pub visit_urgency: Option<Urgency>,
    pub visit_items: Vec<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaysOutcome {
    pub scenario: String,
    pub days: f64,
    pub alerts: Vec<FirstAlert>,
    pub polls: u64,
    pub odometer_km: Option<f64>,
    /// The vehicle's own odometer at the end, when it has one (to check the estimate).
    pub true_odometer_km: Option<f64>,
    pub km_per_day: Option<f64>,
}

/// Service 06 is read once per trip, this long after the ECUs woke.
pub const TESTS_AFTER: Duration = Duration::from_secs(600);

pub fn calendar(t: Duration) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_S) + t
}

/// Runs `scenario` for `days` simulated days.
pub async fn run_days(
    scenario: Scenario,
    days: f64,
    intake: &Intake,
    settings: TrackerSettings,
) -> Result<DaysOutcome, ReadError> {
    let clock = SimClock::default();
    let mut transport = SimTransport::new(scenario, SimLatency::zero()).with_clock(clock.clone());
    let model = transport.vehicle().live.clone();
    let mut tracker = Tracker::new(settings, TrackerState::default(), Vec::new(), Vec::new());
    let t0 = calendar(Duration::ZERO);
    if let Some(km) = intake.odometer_km {
        tracker
            .set_odometer(km, false, t0)
            .map_err(|e| ReadError::Unsupported(e.to_string()))?;
    }
    for (item, km, before) in &intake.services {
        let at = t0 - Duration::from_secs_f64(before * 86_400.0);
        tracker
            .record_service(item, Some(*km), at)
            .map_err(|e| ReadError::Unsupported(e.to_string()))?;
    }
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await?;
    let end = Duration::from_secs_f64(days * 86_400.0);
    let mut t = Duration::ZERO;
    let mut awake_since: Option<Duration> = Some(Duration::ZERO);
    let mut last_parked_feed: Option<Duration> = None;
    let mut last_voltage: Option<f32> = None;
    let mut next_codes = Duration::ZERO;
    let mut tests_read_on: Option<Duration> = None;
    let mut next_check = Duration::ZERO;
    let mut alerts: Vec<FirstAlert> = Vec::new();
    let mut polls = 0u64;
    while t < end {
        clock.set(t);
        let at = calendar(t);
        let voltage = reader.transport().battery_voltage().await?;
        let mut new_evidence = false;
        let step = if let Some(since) = awake_since {
            polls += 1;
            let readings = reader
                .read_pids(&MAINTENANCE_PIDS)
                .await
                .unwrap_or_default();
            if readings.is_empty() {
                // The ECUs went to sleep: parked.
                awake_since = None;
                let sample = Sample {
                    at: Some(at),
                    voltage: voltage.map(f64::from),
                    ..Sample::default()
                };
                new_evidence |= !tracker.on_sample(&sample).is_empty();
                new_evidence |= !tracker.on_link_lost(at).is_empty();
                last_parked_feed = Some(t);
                Duration::from_secs(2)
            } else {
                let sample = Sample::from_readings(at, &readings, voltage.map(f64::from));
                new_evidence |= !tracker.on_sample(&sample).is_empty();
                if t >= next_codes {
                    next_codes = t + Duration::from_secs(600);
                    let pending: Vec<String> = reader
                        .dtcs(DtcKind::Pending)
                        .await
                        .unwrap_or_default()
                        .iter()
                        .map(|d| d.code.to_string())
                        .collect();
                    new_evidence |= !tracker.on_pending_codes(at, &pending).is_empty();
                }
                if t - since >= TESTS_AFTER && tests_read_on != Some(since) {
                    tests_read_on = Some(since);
                    // Cars without service 06 (or on a legacy bus) give nothing.
                    let results: Vec<_> = reader
                        .monitor_tests(&MONITOR_TEST_MIDS)
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .flat_map(|e| e.results)
                        .collect();
                    new_evidence |= !tracker.on_test_results(at, &results).is_empty();
                }
                if t - since < Duration::from_secs(15) {
                    Duration::from_secs(1)
                } else {
                    Duration::from_secs(5)
                }
            }
        } else {
            let woke = matches!((last_voltage, voltage), (Some(a), Some(b)) if b < a - 0.08);
            if woke {
                awake_since = Some(t);
                Duration::ZERO
            } else {
                if last_parked_feed.is_none_or(|p| t - p >= Duration::from_secs(1800)) {
                    last_parked_feed = Some(t);
                    let sample = Sample {
                        at: Some(at),
                        voltage: voltage.map(f64::from),
                        ..Sample::default()
                    };
                    new_evidence |= !tracker.on_sample(&sample).is_empty();
                }
                Duration::from_secs(2)
            }
        };
        last_voltage = voltage;
        if new_evidence || t >= next_check {
            next_check = t + Duration::from_secs(3600);
            record(&mut tracker, at, t, &mut alerts);
        }
        t += step;
    }
    let at = calendar(end);
    let report = tracker.report(at, &[]);
    Ok(DaysOutcome {
        scenario: scenario.name().to_string(),
        days,
        alerts,
        polls,
        odometer_km: report.odometer_km,
        true_odometer_km: model.odometer_km(end),
        km_per_day: report.km_per_day,
    })
}

fn record(tracker: &mut Tracker, at: SystemTime, t: Duration, alerts: &mut Vec<FirstAlert>) {
    let report = tracker.report(at, &[]);
    let day = t.as_secs_f64() / 86_400.0;
    let visit = report.suggestion.as_ref();
    let mut seen = |what: String, urgency: Urgency, item: Option<String>| {
        if alerts.iter().any(|a| a.what == what) {
            return;
        }
        alerts.push(FirstAlert {
            day,
            what,
            urgency,
            item,
            visit_urgency: visit.map(|v| v.urgency),
            visit_items: visit.map(|v| v.items.clone()).unwrap_or_default(),
            summary: visit.map(|v| v.summary.clone()),
        });
    };
    for f in &report.trends {
        let what = match &f.code {
            Some(code) => format!("{}:{code}", f.rule),
            None => f.rule.clone(),
        };
        seen(what, f.urgency, f.item.clone());
    }
    for i in report.items.iter().filter(|i| i.state != DueState::Ok) {
        let urgency = match i.state {
            DueState::Due | DueState::Overdue => Urgency::Medium,
            _ => Urgency::Low,
        };
        seen(
            format!("item:{}:{}", i.item, i.state.as_str()),
            urgency,
            Some(i.item.clone()),
        );
    }
}
