//! When each item falls due: the schedule, the last service, the odometer, and the vehicle's
//! own recent usage (km per day) projected forward.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::schedule::{ItemSpec, ServiceRecord};
use super::time::{DAY_SECS, MONTH_SECS, from_secs, to_secs};

/// Days of history the usage rate is averaged over.
pub const USAGE_WINDOW_DAYS: i64 = 14;
/// Fewer complete days of history than this give no rate: a projection from one day's drive
/// would swing wildly.
pub const MIN_USAGE_DAYS: i64 = 3;
/// Until the vehicle's own rate is known, distance is projected at this rate: a typical
/// private car's 15,000-20,000 km a year. Without it an item 50 km from its limit would look
/// fine for a year.
pub const FALLBACK_KM_PER_DAY: f64 = 50.0;
/// Past the limit by this share of the distance interval (or 30 days) is overdue.
const OVERDUE_SHARE: f64 = 0.1;
const OVERDUE_DAYS: f64 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    Ok,
    /// Projected due within the reminder lead time.
    DueSoon,
    Due,
    Overdue,
}

impl DueState {
    pub fn as_str(self) -> &'static str {
        match self {
            DueState::Ok => "ok",
            DueState::DueSoon => "due_soon",
            DueState::Due => "due",
            DueState::Overdue => "overdue",
        }
    }
}

/// Distance driven per UTC day (day index → km): enough to project, small to keep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    days: BTreeMap<i64, f64>,
    /// The first day anything was recorded: days without driving after it count as zero.
    first_day: Option<i64>,
}

impl Usage {
    pub fn add(&mut self, day: i64, km: f64) {
        if !km.is_finite() || km < 0.0 {
            return;
        }
        self.first_day = Some(self.first_day.map_or(day, |f| f.min(day)));
        *self.days.entry(day).or_insert(0.0) += km;
        // Keep the window and a little more.
        let keep_from = day - 2 * USAGE_WINDOW_DAYS;
        self.days.retain(|d, _| *d >= keep_from);
    }

    /// Mean km per day over the last complete days (today excluded), `None` with too little
    /// history.
    pub fn km_per_day(&self, today: i64) -> Option<f64> {
        let first = self.first_day?;
        let from = first.max(today - USAGE_WINDOW_DAYS);
        let days = today - from;
        if days < MIN_USAGE_DAYS {
            return None;
        }
        let km: f64 = self.days.range(from..today).map(|(_, km)| km).sum();
        Some(km / days as f64)
    }
}

/// One item's position in its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStatus {
    pub item: String,
    pub name: String,
    pub state: DueState,
    /// Odometer reading at which it is due, for distance items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_km: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_km: Option<f64>,
    /// Calendar limit, for time items.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub due_date: Option<SystemTime>,
    /// The earlier of the calendar limit and the date the distance limit is reached at the
    /// vehicle's recent usage.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub predicted_due: Option<SystemTime>,
    /// When the last service was, if recorded (otherwise the interval counts from intake).
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub last_done: Option<SystemTime>,
}

/// Where an item's interval starts when no service was recorded: the intake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub km: Option<f64>,
    pub at: SystemTime,
}

/// The status of `spec` at `now`.
pub fn status(
    spec: &ItemSpec,
    last: Option<&ServiceRecord>,
    baseline: Baseline,
    odometer_km: Option<f64>,
    now: SystemTime,
    km_per_day: Option<f64>,
    lead_days: f64,
) -> ItemStatus {
    let now_s = to_secs(now);
    let (base_km, base_at) = match last {
        Some(r) => (Some(r.odometer_km), to_secs(r.at)),
        None => (baseline.km, to_secs(baseline.at)),
    };
    let due_km = spec.km.zip(base_km).map(|(interval, base)| base + interval);
    let remaining_km = due_km.zip(odometer_km).map(|(due, odo)| due - odo);
    let due_date_s = spec.months.map(|m| base_at + m * MONTH_SECS);
    let by_distance_s = remaining_km.and_then(|rem| {
        if rem <= 0.0 {
            Some(now_s)
        } else {
            let rate = km_per_day.unwrap_or(FALLBACK_KM_PER_DAY);
            (rate > 0.1).then(|| now_s + rem / rate * DAY_SECS)
        }
    });
    let predicted_s = match (due_date_s, by_distance_s) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let past_km = remaining_km.is_some_and(|r| r <= 0.0);
    let past_date = due_date_s.is_some_and(|d| now_s >= d);
    let overdue = remaining_km
        .zip(spec.km)
        .is_some_and(|(r, interval)| r < -OVERDUE_SHARE * interval)
        || due_date_s.is_some_and(|d| now_s > d + OVERDUE_DAYS * DAY_SECS);
    let state = if overdue {
        DueState::Overdue
    } else if past_km || past_date {
        DueState::Due
    } else if predicted_s.is_some_and(|p| p - now_s <= lead_days * DAY_SECS) {
        DueState::DueSoon
    } else {
        DueState::Ok
    };
    ItemStatus {
        item: spec.id.clone(),
        name: spec.name.clone(),
        state,
        due_km,
        remaining_km,
        due_date: due_date_s.map(from_secs),
        predicted_due: predicted_s.map(from_secs),
        last_done: last.map(|r| r.at),
    }
}

pub(crate) mod opt_time {
    use std::time::SystemTime;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&humantime::format_rfc3339_millis(*t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::Schedule;

    fn day(d: f64) -> SystemTime {
        from_secs(20_000.0 * DAY_SECS + d * DAY_SECS)
    }

    fn oil_at(km: f64, d: f64) -> ServiceRecord {
        ServiceRecord {
            item: "engine_oil".into(),
            odometer_km: km,
            at: day(d),
        }
    }

    #[test]
    fn usage_needs_three_complete_days_and_counts_idle_days_as_zero() {
        let mut u = Usage::default();
        u.add(100, 50.0);
        u.add(101, 50.0);
        assert_eq!(u.km_per_day(102), None);
        // Day 102 nothing driven, today is 103.
        assert_eq!(u.km_per_day(103), Some(100.0 / 3.0));
        u.add(103, 1000.0);
        assert_eq!(
            u.km_per_day(103),
            Some(100.0 / 3.0),
            "today is not complete"
        );
        u.add(-5, f64::NAN);
        assert_eq!(u.km_per_day(103), Some(100.0 / 3.0));
    }

    #[test]
    fn whichever_comes_first_distance_or_time() {
        let oil = Schedule::embedded().item("engine_oil").unwrap();
        let base = Baseline {
            km: None,
            at: day(0.0),
        };
        let last = oil_at(40_000.0, 0.0);
        // 50 km/day, 9,000 km driven: 1,000 km left = 20 days, well before the 12 months.
        let s = status(
            oil,
            Some(&last),
            base,
            Some(49_000.0),
            day(180.0),
            Some(50.0),
            5.0,
        );
        assert_eq!(
            (s.state, s.due_km, s.remaining_km),
            (DueState::Ok, Some(50_000.0), Some(1000.0))
        );
        assert_eq!(s.predicted_due, Some(day(200.0)));
        // A car hardly driven: the calendar limit comes first.
        let s = status(
            oil,
            Some(&last),
            base,
            Some(41_000.0),
            day(180.0),
            Some(2.0),
            5.0,
        );
        assert!(s.predicted_due.unwrap() < day(366.0) && s.predicted_due.unwrap() > day(364.0));
        // Within the lead time: due soon; past it: due; far past: overdue.
        let s = status(
            oil,
            Some(&last),
            base,
            Some(49_800.0),
            day(180.0),
            Some(50.0),
            5.0,
        );
        assert_eq!(s.state, DueState::DueSoon);
        let s = status(
            oil,
            Some(&last),
            base,
            Some(50_001.0),
            day(180.0),
            Some(50.0),
            5.0,
        );
        assert_eq!(s.state, DueState::Due);
        let s = status(
            oil,
            Some(&last),
            base,
            Some(51_500.0),
            day(180.0),
            Some(50.0),
            5.0,
        );
        assert_eq!(s.state, DueState::Overdue);
        let s = status(
            oil,
            Some(&last),
            base,
            Some(41_000.0),
            day(400.0),
            None,
            5.0,
        );
        assert_eq!(s.state, DueState::Overdue);
    }

    #[test]
    fn without_a_record_the_interval_counts_from_intake() {
        let ac = Schedule::embedded().item("ac_check").unwrap();
        let base = Baseline {
            km: Some(10.0),
            at: day(0.0),
        };
        let s = status(ac, None, base, Some(10.0), day(362.0), None, 5.0);
        assert_eq!(s.state, DueState::DueSoon);
        assert_eq!(s.due_km, None);
        let s = status(ac, None, base, None, day(100.0), None, 5.0);
        assert_eq!(s.state, DueState::Ok);
        // No usage history yet: the fallback rate still sees an item 100 km from its limit.
        let oil = Schedule::embedded().item("engine_oil").unwrap();
        let s = status(
            oil,
            None,
            base,
            Some(10_000.0 - 100.0 + 10.0),
            day(1.0),
            None,
            5.0,
        );
        assert_eq!(s.state, DueState::DueSoon);
        assert_eq!(s.predicted_due, Some(day(3.0)));
    }
}
