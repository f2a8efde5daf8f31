//! Everything the maintenance core knows about one vehicle, and the one place samples, codes,
//! service records and the clock meet. Pure: the daemon persists [`TrackerState`] (JSON), the
//! service records and the observations, and feeds the tracker again after a restart.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::MaintError;
use super::appointment::{FaultInput, Suggestion, suggest};
use super::evidence::{self, Observation, Sample, Signal, TripTracker};
use super::odometer::Odometer;
use super::projection::{Baseline, ItemStatus, Usage, status};
use super::schedule::{Schedule, ServiceRecord};
use super::time::{DAY_SECS, day_index, from_secs, to_secs};
use super::trends::{RuleSet, RuleStates, TrendFinding};
use crate::obd::test_results::TestResult;

/// Observations older than this are dropped (the longest rule window is 14 days).
pub const KEEP_OBSERVATIONS_DAYS: f64 = 60.0;
pub const DEFAULT_LEAD_DAYS: f64 = 5.0;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerSettings {
    pub schedule: Schedule,
    /// Remind this many days before an item is due (3-7 by default policy).
    pub lead_days: f64,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            schedule: Schedule::embedded().clone(),
            lead_days: DEFAULT_LEAD_DAYS,
        }
    }
}

/// What survives a restart besides records and observations (kept as one JSON value).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrackerState {
    pub odometer: Odometer,
    pub usage: Usage,
    pub trips: TripTracker,
    pub rules: RuleStates,
    /// When (unix s) and at what odometer the vehicle came in: intervals without a recorded
    /// service count from here.
    pub intake_at: Option<f64>,
    pub intake_km: Option<f64>,
    /// `travelled_km` already counted into usage.
    counted_km: f64,
    /// code → last day a pending observation was made for it.
    pending_days: BTreeMap<String, i64>,
    /// The last odometer setting (store row id) applied: the CLI appends settings while the
    /// daemon runs, and the daemon applies the newer ones.
    #[serde(default)]
    pub odometer_setting_id: i64,
}

/// The picture at one instant, for payloads, `service status` and `scan`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub odometer_km: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub km_per_day: Option<f64>,
    pub items: Vec<ItemStatus>,
    pub trends: Vec<TrendFinding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Suggestion>,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    pub settings: TrackerSettings,
    pub state: TrackerState,
    records: Vec<ServiceRecord>,
    observations: Vec<Observation>,
}

impl Tracker {
    pub fn new(
        settings: TrackerSettings,
        state: TrackerState,
        records: Vec<ServiceRecord>,
        observations: Vec<Observation>,
    ) -> Self {
        Tracker {
            settings,
            state,
            records,
            observations,
        }
    }

    /// Replaces the service records (re-read from the store).
    pub fn set_records(&mut self, records: Vec<ServiceRecord>) {
        self.records = records;
    }

    pub fn records(&self) -> &[ServiceRecord] {
        &self.records
    }

    pub fn observations(&self) -> &[Observation] {
        &self.observations
    }

    fn intake(&mut self, at: SystemTime) {
        self.state.intake_at.get_or_insert(to_secs(at));
        if self.state.intake_km.is_none() {
            self.state.intake_km = self.state.odometer.km;
        }
    }

    /// One poll. Returns the observations it completed (for the store).
    pub fn on_sample(&mut self, sample: &Sample) -> Vec<Observation> {
        let Some(at) = sample.at else {
            return Vec::new();
        };
        let odo = &mut self.state.odometer;
        if let Some(km) = sample.odometer_km {
            odo.on_vehicle_odometer(km);
        } else {
            if let Some(v) = sample.speed_kmh {
                odo.on_speed(at, v);
            }
            if let Some(km) = sample.distance_since_clear_km {
                odo.on_distance_since_clear(at, km, sample.run_minutes_since_clear);
            }
        }
        self.intake(at);
        let new_km = self.state.odometer.travelled_km - self.state.counted_km;
        if new_km > 0.0 {
            self.state.usage.add(day_index(at), new_km);
            self.state.counted_km = self.state.odometer.travelled_km;
        }
        let out = self.state.trips.on_sample(sample);
        if !sample.rpm.is_some_and(|r| r > 0.0) {
            self.state.odometer.pause();
        }
        self.keep(&out, at);
        out
    }

    /// Pending codes (service 07) read at `at`: at most one observation per code and day.
    pub fn on_pending_codes(&mut self, at: SystemTime, codes: &[String]) -> Vec<Observation> {
        let today = day_index(at);
        let mut out = Vec::new();
        for code in codes {
            if self.state.pending_days.get(code) == Some(&today) {
                continue;
            }
            self.state.pending_days.insert(code.clone(), today);
            out.push(Observation {
                at: to_secs(at),
                signal: Signal::PendingCode,
                value: 1.0,
                code: Some(code.clone()),
            });
        }
        self.state.pending_days.retain(|_, d| today - *d < 30);
        self.keep(&out, at);
        out
    }

    /// One drive's service 06 results, read at `at`. The caller reads them at most once per
    /// drive (each is one observation, as a trip is).
    pub fn on_test_results(&mut self, at: SystemTime, results: &[TestResult]) -> Vec<Observation> {
        let out = evidence::test_result_observations(to_secs(at), results);
        self.keep(&out, at);
        out
    }

    /// The link went away: a trip in progress ends at its last sample.
    pub fn on_link_lost(&mut self, at: SystemTime) -> Vec<Observation> {
        self.state.odometer.pause();
        let out = self.state.trips.flush();
        self.keep(&out, at);
        out
    }

    fn keep(&mut self, new: &[Observation], at: SystemTime) {
        self.observations.extend_from_slice(new);
        let oldest = to_secs(at) - KEEP_OBSERVATIONS_DAYS * DAY_SECS;
        self.observations.retain(|o| o.at >= oldest);
    }

    /// `service odometer N`: the reading on the dashboard.
    pub fn set_odometer(&mut self, km: f64, force: bool, at: SystemTime) -> Result<(), MaintError> {
        self.state.odometer.set(km, force)?;
        self.intake(at);
        Ok(())
    }

    /// `service done ITEM [--odometer N]`: resets the item's interval.
    pub fn record_service(
        &mut self,
        item: &str,
        odometer_km: Option<f64>,
        at: SystemTime,
    ) -> Result<ServiceRecord, MaintError> {
        let id = self.settings.schedule.item(item)?.id.clone();
        let km = match odometer_km {
            Some(km) if !km.is_finite() || km < 0.0 => {
                return Err(MaintError::InvalidOdometer { km });
            }
            Some(km) => {
                if let Some(previous) = self.last_record(&id)
                    && km < previous.odometer_km
                {
                    return Err(MaintError::OdometerBackwards {
                        given: km,
                        current: previous.odometer_km,
                    });
                }
                // A reading above the estimate moves the odometer forward.
                if self.state.odometer.km.is_none_or(|c| km > c) {
                    self.state.odometer.set(km, false)?;
                }
                km
            }
            None => self.state.odometer.km.ok_or(MaintError::NoOdometer)?,
        };
        // No intake here: a record may be back-dated (history entered at installation).
        let record = ServiceRecord {
            item: id,
            odometer_km: km,
            at,
        };
        self.records.push(record.clone());
        Ok(record)
    }

    fn last_record(&self, id: &str) -> Option<&ServiceRecord> {
        self.records
            .iter()
            .filter(|r| r.item == id)
            .max_by(|a, b| a.at.cmp(&b.at))
    }

    pub fn km_per_day(&self, now: SystemTime) -> Option<f64> {
        self.state.usage.km_per_day(day_index(now))
    }

    pub fn statuses(&self, now: SystemTime) -> Vec<ItemStatus> {
        let baseline = Baseline {
            km: self.state.intake_km,
            at: self.state.intake_at.map_or(now, from_secs),
        };
        let odometer = self.state.odometer.km;
        let rate = self.km_per_day(now);
        self.settings
            .schedule
            .items()
            .iter()
            .map(|spec| {
                let last = self.last_record(&spec.id);
                status(
                    spec,
                    last,
                    baseline,
                    odometer,
                    now,
                    rate,
                    self.settings.lead_days,
                )
            })
            .collect()
    }

    /// Evaluates the trend rules (updating their hysteresis state).
    pub fn trends(&mut self, now: SystemTime) -> Vec<TrendFinding> {
        RuleSet::embedded().evaluate(&self.observations, to_secs(now), &mut self.state.rules)
    }

    /// Everything at `now`, with the appointment for `faults`.
    pub fn report(&mut self, now: SystemTime, faults: &[FaultInput]) -> Report {
        let items = self.statuses(now);
        let trends = self.trends(now);
        let suggestion = suggest(
            now,
            faults,
            &items,
            &trends,
            &self.settings.schedule,
            RuleSet::embedded(),
        );
        Report {
            odometer_km: self.state.odometer.km.map(|k| (k * 10.0).round() / 10.0),
            km_per_day: self.km_per_day(now).map(|k| (k * 10.0).round() / 10.0),
            items,
            trends,
            suggestion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::DueState;

    fn day(d: f64) -> SystemTime {
        from_secs(20_000.0 * DAY_SECS + d * DAY_SECS)
    }

    #[test]
    fn service_done_resets_an_item_and_refuses_bad_input() {
        let mut t = Tracker::new(
            TrackerSettings::default(),
            TrackerState::default(),
            vec![],
            vec![],
        );
        assert_eq!(
            t.record_service("oil", None, day(0.0)),
            Err(MaintError::NoOdometer)
        );
        t.set_odometer(60_000.0, false, day(0.0)).unwrap();
        t.set_odometer(70_500.0, false, day(300.0)).unwrap();
        let oil = |t: &Tracker, d| {
            t.statuses(day(d))
                .into_iter()
                .find(|s| s.item == "engine_oil")
                .unwrap()
        };
        assert_eq!(oil(&t, 300.0).state, DueState::Due);
        let r = t.record_service("oil", None, day(300.0)).unwrap();
        assert_eq!((r.item.as_str(), r.odometer_km), ("engine_oil", 70_500.0));
        let s = oil(&t, 300.0);
        assert_eq!((s.state, s.due_km), (DueState::Ok, Some(80_500.0)));
        assert!(matches!(
            t.record_service("wipers", None, day(300.0)),
            Err(MaintError::UnknownItem { .. })
        ));
        assert!(t.record_service("oil", Some(-1.0), day(301.0)).is_err());
        assert!(matches!(
            t.record_service("oil", Some(70_000.0), day(301.0)),
            Err(MaintError::OdometerBackwards { .. })
        ));
        assert!(t.set_odometer(1.0, false, day(301.0)).is_err());
        // A later reading moves the odometer on.
        t.record_service("brake_fluid", Some(71_000.0), day(302.0))
            .unwrap();
        assert_eq!(t.state.odometer.km, Some(71_000.0));
    }

    #[test]
    fn the_state_survives_a_json_round_trip() {
        let mut t = Tracker::new(
            TrackerSettings::default(),
            TrackerState::default(),
            vec![],
            vec![],
        );
        t.set_odometer(1234.0, false, day(0.0)).unwrap();
        for i in 0..100 {
            t.on_sample(&Sample {
                at: Some(from_secs(to_secs(day(0.5)) + f64::from(i) * 5.0)),
                rpm: Some(2000.0),
                speed_kmh: Some(72.0),
                ..Sample::default()
            });
        }
        let json = serde_json::to_string(&t.state).unwrap();
        let back: TrackerState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t.state);
        assert!((t.state.odometer.km.unwrap() - 1234.0 - 9.9).abs() < 1e-6);
        assert_eq!(t.on_pending_codes(day(1.0), &["P0301".into()]).len(), 1);
        assert!(
            t.on_pending_codes(day(1.2), &["P0301".into()]).is_empty(),
            "once a day"
        );
    }
}
