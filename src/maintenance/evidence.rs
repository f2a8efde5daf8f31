//! From polled samples to evidence: one observation per trip or parking period, never one per
//! poll, so trend rules count trips and days rather than readings.
//!
//! [`TripTracker`] is a small state machine over samples in time order:
//!
//! - parked: the latest voltage read with the ignition off at least [`REST_AFTER_SECS`] after the engine stopped is
//!   the battery's resting voltage; it becomes one observation when the engine next starts;
//! - starting: the lowest voltage within [`CRANK_WINDOW_SECS`] around the first running
//!   sample is the cranking voltage, but only if an engine-off sample with the ignition on
//!   was seen just before (otherwise the poll missed the start and the value would flatter
//!   the battery);
//! - running: at the end of the trip, the charging voltage (median once warm), the long-term
//!   fuel trim (median with the engine warm), the warm-up time after a cold start, and the
//!   hottest coolant.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::time::{from_secs, to_secs};
use crate::obd::test_results::{
    MID_CATALYST_B1, MID_CATALYST_B2, MID_MISFIRE_CYL1, TID_MISFIRE_EWMA, TestResult,
};

/// Resting voltage is read only after the surface charge has gone.
pub const REST_AFTER_SECS: f64 = 2.0 * 3600.0;
pub const CRANK_WINDOW_SECS: f64 = 10.0;
/// The engine counts as running above this speed.
const RUNNING_RPM: f64 = 300.0;
/// Samples further apart than this while driving mean the trip ended unseen.
const TRIP_GAP_SECS: f64 = 600.0;
const COLD_START_C: f64 = 40.0;
const WARM_C: f64 = 80.0;
/// Fuel trim counts only in closed loop with a warm engine.
const TRIM_WARM_C: f64 = 70.0;
const CHARGE_AFTER_SECS: f64 = 300.0;
/// A trip this long without reaching [`WARM_C`] after a cold start is evidence of a slow
/// warm-up even though the time to warm is unknown (it is at least this).
const WARMUP_CENSOR_MIN: f64 = 20.0;
const MIN_TRIP_SECS: f64 = 300.0;
const MIN_TRIP_SAMPLES: usize = 5;
/// Per-trip sample buffers are capped (a day-long trip polled every 200 ms).
const MAX_BUFFER: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    BatteryRestV,
    BatteryCrankV,
    BatteryChargeV,
    FuelTrimLongPct,
    WarmupMinutes,
    CoolantMaxC,
    PendingCode,
    /// Service 06, catalyst monitors (MID 21, 22): share of the test limit used, %, worst bank.
    CatalystLimitUsedPct,
    /// Service 06, O2 sensor monitors (MIDs 01-08): share of the test limit used, %, worst test.
    O2LimitUsedPct,
    /// Service 06, misfire cylinder data (MIDs A2-AD, TID 0B): highest EWMA misfire count
    /// over the last ten drive cycles among the cylinders.
    MisfireEwmaMax,
}

impl Signal {
    pub fn key(self) -> &'static str {
        match self {
            Signal::BatteryRestV => "battery_rest_v",
            Signal::BatteryCrankV => "battery_crank_v",
            Signal::BatteryChargeV => "battery_charge_v",
            Signal::FuelTrimLongPct => "fuel_trim_long_pct",
            Signal::WarmupMinutes => "warmup_minutes",
            Signal::CoolantMaxC => "coolant_max_c",
            Signal::PendingCode => "pending_code",
            Signal::CatalystLimitUsedPct => "catalyst_limit_used_pct",
            Signal::O2LimitUsedPct => "o2_limit_used_pct",
            Signal::MisfireEwmaMax => "misfire_ewma_max",
        }
    }

    pub fn parse(key: &str) -> Option<Signal> {
        [
            Signal::BatteryRestV,
            Signal::BatteryCrankV,
            Signal::BatteryChargeV,
            Signal::FuelTrimLongPct,
            Signal::WarmupMinutes,
            Signal::CoolantMaxC,
            Signal::PendingCode,
            Signal::CatalystLimitUsedPct,
            Signal::O2LimitUsedPct,
            Signal::MisfireEwmaMax,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }
}

/// Evidence from one drive's service 06 results (read once per drive by the caller): at most
/// one observation per signal, the worst of its tests.
pub fn test_result_observations(at: f64, results: &[TestResult]) -> Vec<Observation> {
    let worst = |pick: &dyn Fn(&TestResult) -> Option<f64>| {
        results
            .iter()
            .filter_map(pick)
            .filter(|v| v.is_finite())
            .max_by(f64::total_cmp)
    };
    let catalyst = worst(&|t| {
        matches!(t.mid, MID_CATALYST_B1 | MID_CATALYST_B2)
            .then(|| t.limit_used_pct())
            .flatten()
    });
    let o2 = worst(&|t| {
        (0x01..=0x08)
            .contains(&t.mid)
            .then(|| t.limit_used_pct())
            .flatten()
    });
    let misfire = worst(&|t| {
        (MID_MISFIRE_CYL1..MID_MISFIRE_CYL1 + 12)
            .contains(&t.mid)
            .then_some(t)
            .filter(|t| t.tid == TID_MISFIRE_EWMA && t.scaled)
            .map(|t| t.value)
    });
    [
        (Signal::CatalystLimitUsedPct, catalyst),
        (Signal::O2LimitUsedPct, o2),
        (Signal::MisfireEwmaMax, misfire),
    ]
    .into_iter()
    .filter_map(|(signal, value)| value.map(|v| obs(at, signal, v)))
    .collect()
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Unix seconds.
    pub at: f64,
    pub signal: Signal,
    pub value: f64,
    /// For [`Signal::PendingCode`]: which code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Observation {
    pub fn time(&self) -> SystemTime {
        from_secs(self.at)
    }
}

/// One poll's values; any may be missing (not supported, ECU silent, ignition off).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    pub at: Option<SystemTime>,
    pub rpm: Option<f64>,
    pub speed_kmh: Option<f64>,
    pub coolant_c: Option<f64>,
    pub fuel_trim_long_pct: Option<f64>,
    /// Battery or control module voltage.
    pub voltage: Option<f64>,
    pub odometer_km: Option<f64>,
    pub distance_since_clear_km: Option<f64>,
    /// PID 4E: engine run time since codes were cleared, minutes.
    pub run_minutes_since_clear: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Trip {
    start: f64,
    last: f64,
    samples: usize,
    start_coolant: Option<f64>,
    warm_at: Option<f64>,
    max_coolant: Option<f64>,
    charge_v: Vec<f64>,
    trims: Vec<f64>,
    crank_min: Option<f64>,
    /// Whether an engine-off sample was seen just before the start.
    start_seen: bool,
    crank_done: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TripTracker {
    trip: Option<Trip>,
    /// Unix s when the engine was last seen stopping.
    off_since: Option<f64>,
    /// The latest resting voltage of this parking period.
    rest_v: Option<f64>,
    /// The last engine-off sample with a voltage (ignition on or adapter reading).
    last_off: Option<(f64, Option<f64>)>,
}

impl TripTracker {
    /// Feeds one sample; returns the observations it completes.
    pub fn on_sample(&mut self, s: &Sample) -> Vec<Observation> {
        let mut out = Vec::new();
        let Some(at) = s.at else {
            return out;
        };
        let t = to_secs(at);
        if let Some(trip) = &self.trip
            && t - trip.last > TRIP_GAP_SECS
        {
            let end = trip.last;
            self.end_trip(end, &mut out);
        }
        let running = s.rpm.is_some_and(|r| r > RUNNING_RPM);
        if !running {
            if s.rpm.is_some() || s.voltage.is_some() {
                if let Some(trip) = &self.trip {
                    let end = trip.last.max(t);
                    self.end_trip(end, &mut out);
                }
                let off_since = *self.off_since.get_or_insert(t);
                // Only with the ignition off (no engine speed answered): with it on, the ECUs
                // and the fuel pump load the battery.
                if let Some(v) = s.voltage.filter(|v| v.is_finite())
                    && s.rpm.is_none()
                    && t - off_since >= REST_AFTER_SECS
                {
                    self.rest_v = Some(v);
                }
                self.last_off = Some((t, s.voltage));
            }
            return out;
        }
        if self.trip.is_none() {
            // The engine starts: close the parking period.
            if let Some(v) = self.rest_v.take() {
                out.push(obs(t, Signal::BatteryRestV, v));
            }
            self.off_since = None;
            let before = self
                .last_off
                .take()
                .filter(|(at, _)| t - at <= CRANK_WINDOW_SECS);
            self.trip = Some(Trip {
                start: t,
                last: t,
                start_coolant: s.coolant_c,
                start_seen: before.is_some(),
                crank_min: before.and_then(|(_, v)| v),
                ..Trip::default()
            });
        }
        let Some(trip) = self.trip.as_mut() else {
            return out;
        };
        trip.last = t;
        trip.samples += 1;
        let since_start = t - trip.start;
        if let Some(v) = s.voltage.filter(|v| v.is_finite()) {
            if since_start <= CRANK_WINDOW_SECS {
                trip.crank_min = Some(trip.crank_min.map_or(v, |m| m.min(v)));
            } else if since_start >= CHARGE_AFTER_SECS && trip.charge_v.len() < MAX_BUFFER {
                trip.charge_v.push(v);
            }
        }
        if since_start > CRANK_WINDOW_SECS && !trip.crank_done {
            trip.crank_done = true;
            if trip.start_seen
                && let Some(v) = trip.crank_min
            {
                out.push(obs(trip.start, Signal::BatteryCrankV, v));
            }
        }
        if let Some(c) = s.coolant_c.filter(|c| c.is_finite()) {
            trip.start_coolant.get_or_insert(c);
            trip.max_coolant = Some(trip.max_coolant.map_or(c, |m| m.max(c)));
            if c >= WARM_C && trip.warm_at.is_none() {
                trip.warm_at = Some(t);
            }
            if c >= TRIM_WARM_C
                && let Some(trim) = s.fuel_trim_long_pct.filter(|v| v.is_finite())
                && trip.trims.len() < MAX_BUFFER
            {
                trip.trims.push(trim);
            }
        }
        out
    }

    /// The link went away or the agent stops: a trip in progress ends at its last sample.
    pub fn flush(&mut self) -> Vec<Observation> {
        let mut out = Vec::new();
        if let Some(trip) = &self.trip {
            let end = trip.last;
            self.end_trip(end, &mut out);
        }
        out
    }

    fn end_trip(&mut self, end: f64, out: &mut Vec<Observation>) {
        let Some(trip) = self.trip.take() else {
            return;
        };
        self.off_since = Some(end);
        self.rest_v = None;
        let duration = end - trip.start;
        if duration < MIN_TRIP_SECS || trip.samples < MIN_TRIP_SAMPLES {
            return;
        }
        if trip.start_coolant.is_some_and(|c| c < COLD_START_C) {
            match trip.warm_at {
                Some(w) => out.push(obs(end, Signal::WarmupMinutes, (w - trip.start) / 60.0)),
                None if duration / 60.0 >= WARMUP_CENSOR_MIN => {
                    out.push(obs(end, Signal::WarmupMinutes, duration / 60.0));
                }
                None => {}
            }
        }
        if let Some(m) = trip.max_coolant {
            out.push(obs(end, Signal::CoolantMaxC, m));
        }
        if trip.charge_v.len() >= MIN_TRIP_SAMPLES {
            out.push(obs(end, Signal::BatteryChargeV, median(trip.charge_v)));
        }
        if trip.trims.len() >= 2 * MIN_TRIP_SAMPLES {
            out.push(obs(end, Signal::FuelTrimLongPct, median(trip.trims)));
        }
    }
}

fn obs(at: f64, signal: Signal, value: f64) -> Observation {
    Observation {
        at,
        signal,
        value,
        code: None,
    }
}

/// The median; `values` must not be empty (callers check). NaN-free input assumed (filtered).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// PIDs the maintenance evidence reads (beyond the poller's own): engine speed, vehicle speed,
/// coolant, long-term trim bank 1, control module voltage, distance and engine run time since
/// codes were cleared, odometer.
pub const MAINTENANCE_PIDS: [u8; 8] = [0x0C, 0x0D, 0x05, 0x07, 0x42, 0x31, 0x4E, 0xA6];

/// Service 06 MIDs the trend rules read: O2 sensors 01-08, catalyst banks 21-22, misfire
/// cylinders 1-12 (A2-AD). Only the ones an ECU lists as supported are asked.
pub const MONITOR_TEST_MIDS: [u8; 22] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x21, 0x22, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD,
];

impl Sample {
    /// A sample from one poll's readings (the first ECU answering each PID wins: the engine
    /// answers first) and the adapter's voltage reading, used when PID 42 is missing.
    pub fn from_readings(
        at: SystemTime,
        readings: &[crate::reader::EcuReading],
        adapter_voltage: Option<f64>,
    ) -> Sample {
        let value = |pid: u8| {
            readings
                .iter()
                .find(|r| r.reading.pid == pid)
                .and_then(|r| r.reading.number(r.reading.key))
                .filter(|v| v.is_finite())
        };
        Sample {
            at: Some(at),
            rpm: value(0x0C),
            speed_kmh: value(0x0D),
            coolant_c: value(0x05),
            fuel_trim_long_pct: value(0x07),
            voltage: value(0x42).or(adapter_voltage),
            odometer_km: value(0xA6),
            distance_since_clear_km: value(0x31),
            run_minutes_since_clear: value(0x4E),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_06_gives_one_observation_per_signal_the_worst_test() {
        use crate::obd::test_results::decode_test_results;
        let mut results = Vec::new();
        // Catalyst B1 at 0.45 and B2 at 0.60 of a 0.75 limit: bank 2 counts (80 %).
        results.extend(decode_test_results(&[0x21, 0x80, 0x03, 0, 45, 0, 0, 0, 75]).unwrap());
        results.extend(decode_test_results(&[0x22, 0x80, 0x03, 0, 60, 0, 0, 0, 75]).unwrap());
        // O2 B1S1 response 150 of 300 ms (50 %).
        results.extend(decode_test_results(&[0x01, 0x81, 0x10, 0, 150, 0, 0, 0x01, 0x2C]).unwrap());
        // Misfire EWMA: cylinder 1 at 2, cylinder 3 at 31; the last-cycle count (TID 0C, 90)
        // is not the EWMA and does not count.
        for (mid, tid, count) in [(0xA2, 0x0B, 2u8), (0xA4, 0x0B, 31), (0xA4, 0x0C, 90)] {
            results.extend(
                decode_test_results(&[mid, tid, 0x24, 0, count, 0, 0, 0xFF, 0xFF]).unwrap(),
            );
        }
        let got = test_result_observations(100.0, &results);
        let value = |signal| got.iter().find(|o| o.signal == signal).map(|o| o.value);
        assert_eq!(got.len(), 3);
        assert!((value(Signal::CatalystLimitUsedPct).unwrap() - 80.0).abs() < 1e-9);
        assert!((value(Signal::O2LimitUsedPct).unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(value(Signal::MisfireEwmaMax), Some(31.0));
        // A car without service 06: nothing.
        assert!(test_result_observations(100.0, &[]).is_empty());
    }

    fn sample(t: f64, rpm: f64, coolant: f64, v: f64, trim: f64) -> Sample {
        Sample {
            at: Some(from_secs(t)),
            rpm: Some(rpm),
            speed_kmh: Some(0.0),
            coolant_c: Some(coolant),
            fuel_trim_long_pct: Some(trim),
            voltage: Some(v),
            ..Sample::default()
        }
    }

    fn signals(obs: &[Observation]) -> Vec<(Signal, f64)> {
        obs.iter()
            .map(|o| (o.signal, (o.value * 100.0).round() / 100.0))
            .collect()
    }

    #[test]
    fn a_parked_night_then_a_cold_trip_gives_one_observation_of_each() {
        let mut tr = TripTracker::default();
        let mut out = Vec::new();
        // Parked 8 h, voltage read every 30 min, settling from 12.9 to 12.6.
        for i in 0..=16 {
            let t = f64::from(i) * 1800.0;
            out.extend(tr.on_sample(&Sample {
                at: Some(from_secs(t)),
                voltage: Some(12.6 + 0.3 * (-t / 3600.0).exp()),
                ..Sample::default()
            }));
        }
        let start = 8.0 * 3600.0 + 60.0;
        // Ignition on, then the crank dip, then 30 minutes of driving warming to 90.
        out.extend(tr.on_sample(&sample(start - 2.0, 0.0, 15.0, 12.5, 0.0)));
        out.extend(tr.on_sample(&sample(start, 800.0, 15.0, 10.4, 3.0)));
        for i in 1..=360 {
            let t = start + f64::from(i) * 5.0;
            let coolant = 15.0 + (f64::from(i) * 5.0 / 60.0 * 8.0).min(75.0);
            out.extend(tr.on_sample(&sample(t, 2000.0, coolant, 14.1, 3.0)));
        }
        out.extend(tr.on_sample(&sample(start + 1805.0, 0.0, 90.0, 12.9, 3.0)));
        let got = signals(&out);
        assert_eq!(got[0].0, Signal::BatteryRestV);
        assert!((got[0].1 - 12.6).abs() < 0.01, "{got:?}");
        assert_eq!(got[1], (Signal::BatteryCrankV, 10.4));
        let rest: Vec<Signal> = got[2..].iter().map(|g| g.0).collect();
        assert_eq!(
            rest,
            [
                Signal::WarmupMinutes,
                Signal::CoolantMaxC,
                Signal::BatteryChargeV,
                Signal::FuelTrimLongPct
            ]
        );
        let warmup = got[2].1;
        assert!((8.0..9.0).contains(&warmup), "{warmup}");
    }

    #[test]
    fn a_start_the_poll_did_not_see_gives_no_cranking_value() {
        let mut tr = TripTracker::default();
        let mut out = Vec::new();
        for i in 0..100 {
            out.extend(tr.on_sample(&sample(f64::from(i) * 5.0, 2000.0, 90.0, 14.1, 1.0)));
        }
        out.extend(tr.flush());
        assert!(
            out.iter().all(|o| o.signal != Signal::BatteryCrankV),
            "{out:?}"
        );
        assert!(
            out.iter().all(|o| o.signal != Signal::WarmupMinutes),
            "warm start"
        );
    }

    #[test]
    fn short_trips_and_missing_values_give_nothing_and_never_panic() {
        let mut tr = TripTracker::default();
        assert!(tr.on_sample(&Sample::default()).is_empty());
        let mut out = Vec::new();
        for i in 0..10 {
            out.extend(tr.on_sample(&Sample {
                at: Some(from_secs(f64::from(i))),
                rpm: Some(900.0),
                coolant_c: Some(f64::NAN),
                ..Sample::default()
            }));
        }
        out.extend(tr.flush());
        assert!(out.is_empty(), "{out:?}");
        assert!(median(Vec::new()).is_nan());
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
