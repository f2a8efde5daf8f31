//! The odometer estimate: the vehicle's own odometer (PID A6) where it has one; otherwise an
//! anchor set at install or intake plus the speed integrated between polls, with the distance
//! since codes were cleared (PID 31) filling gaps the polls missed, checked against the engine
//! run time since the clear (PID 4E) where the vehicle has it.
//!
//! Invariant: the estimate never runs backwards. A lower reading from the vehicle is ignored
//! (and counted); a lower value from a person is refused unless forced (a wrong intake value).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::MaintError;
use super::time::to_secs;

/// Polls further apart than this are not integrated: the speed in between is unknown. PID 31
/// (or A6) covers such gaps when the vehicle has it.
pub const MAX_GAP_SECS: f64 = 30.0;
/// Largest plausible speed; anything above is a decoding error, not a drive.
const MAX_SPEED_KMH: f64 = 300.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OdometerSource {
    /// Set by a person (`service odometer`), then integrated.
    Anchor,
    /// The vehicle's odometer, PID A6.
    Vehicle,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Odometer {
    /// The current estimate, km; `None` until anchored or read from the vehicle.
    pub km: Option<f64>,
    pub source: Option<OdometerSource>,
    /// The last speed sample (unix s, km/h), for trapezoidal integration.
    last_speed: Option<(f64, f64)>,
    /// The last distance-since-clear reading (unix s, km) and the integrated km then.
    last_since_clear: Option<(f64, f64, f64)>,
    /// Distance integrated or gap-filled since the anchor, km.
    pub travelled_km: f64,
    /// Vehicle readings below the estimate that were ignored.
    pub ignored_readings: u32,
    /// PID 4E (engine run minutes since codes cleared) at the last PID 31 reading.
    #[serde(default)]
    last_run_minutes: Option<f64>,
    /// PID 31 gaps not filled because they implied an impossible speed over the engine run
    /// time PID 4E says passed.
    #[serde(default)]
    pub rejected_gaps: u32,
}

impl Odometer {
    /// Sets the odometer from a person's reading (install, intake, `service odometer`).
    pub fn set(&mut self, km: f64, force: bool) -> Result<(), MaintError> {
        if !km.is_finite() || km < 0.0 {
            return Err(MaintError::InvalidOdometer { km });
        }
        if let Some(current) = self.km
            && km + 0.05 < current
            && !force
        {
            return Err(MaintError::OdometerBackwards { given: km, current });
        }
        self.km = Some(km);
        self.source.get_or_insert(OdometerSource::Anchor);
        Ok(())
    }

    /// A vehicle speed sample. Returns the distance added, km.
    pub fn on_speed(&mut self, at: SystemTime, kmh: f64) -> f64 {
        let t = to_secs(at);
        if !kmh.is_finite() || !(0.0..=MAX_SPEED_KMH).contains(&kmh) {
            return 0.0;
        }
        let previous = self.last_speed.replace((t, kmh));
        let Some((t0, v0)) = previous else {
            return 0.0;
        };
        let dt = t - t0;
        if dt <= 0.0 || dt > MAX_GAP_SECS {
            return 0.0;
        }
        let km = (v0 + kmh) / 2.0 * dt / 3600.0;
        self.add(km);
        km
    }

    /// The engine stopped or the link went away: the next speed sample starts afresh.
    pub fn pause(&mut self) {
        self.last_speed = None;
    }

    /// PID 31, distance since codes were cleared: when it advanced further than the
    /// integration saw (polls missed), the difference is added. A drop means a clear: the
    /// counter starts over and nothing is added.
    ///
    /// `run_minutes` is PID 4E read with it (engine run time since the clear, 1 minute
    /// steps). A drop of that counter is a clear too (PID 31's 1 km steps may hide one); and a
    /// gap is filled only if driving it in the engine minutes that passed stays below
    /// [`MAX_SPEED_KMH`]: anything faster is a counter from another clear or a bad answer,
    /// not distance (counted in `rejected_gaps`).
    pub fn on_distance_since_clear(
        &mut self,
        at: SystemTime,
        km: f64,
        run_minutes: Option<f64>,
    ) -> f64 {
        if !km.is_finite() || km < 0.0 {
            return 0.0;
        }
        let run_minutes = run_minutes.filter(|m| m.is_finite() && *m >= 0.0);
        let t = to_secs(at);
        let previous = self.last_since_clear.replace((t, km, self.travelled_km));
        let minutes_before = std::mem::replace(&mut self.last_run_minutes, run_minutes);
        let Some((_, before, travelled_then)) = previous else {
            return 0.0;
        };
        let run = match (minutes_before, run_minutes) {
            (Some(m0), Some(m1)) if m1 < m0 => return 0.0, // cleared
            (Some(m0), Some(m1)) => Some(m1 - m0),
            _ => None,
        };
        if km < before {
            return 0.0;
        }
        // 1 km and 1 minute steps: allow a step of each.
        if let Some(minutes) = run
            && (km - before - 1.0) > MAX_SPEED_KMH * (minutes + 1.0) / 60.0
        {
            self.rejected_gaps += 1;
            return 0.0;
        }
        let counted = self.travelled_km - travelled_then;
        // PID 31 has 1 km resolution: only a clear shortfall is a gap.
        let missing = (km - before) - counted;
        if missing > 1.0 {
            self.add(missing);
            if let Some(entry) = self.last_since_clear.as_mut() {
                entry.2 = self.travelled_km;
            }
            return missing;
        }
        0.0
    }

    /// PID A6, the vehicle's own odometer: adopted, except a value below the estimate.
    pub fn on_vehicle_odometer(&mut self, km: f64) -> bool {
        if !km.is_finite() || km < 0.0 {
            return false;
        }
        match self.km {
            Some(current) if km + 1.0 < current && self.source == Some(OdometerSource::Vehicle) => {
                self.ignored_readings += 1;
                false
            }
            _ => {
                // Only the vehicle's own counter moving on is distance driven; the step from a
                // person's value (or an old service record) to the first reading is not.
                if let Some(current) = self.km
                    && self.source == Some(OdometerSource::Vehicle)
                {
                    self.travelled_km += (km - current).max(0.0);
                }
                self.km = Some(km.max(self.km.unwrap_or(0.0)));
                self.source = Some(OdometerSource::Vehicle);
                true
            }
        }
    }

    fn add(&mut self, km: f64) {
        self.travelled_km += km;
        if let Some(total) = self.km.as_mut() {
            *total += km;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::from_secs;

    #[test]
    fn speed_is_integrated_between_close_polls_only() {
        let mut o = Odometer::default();
        o.set(1000.0, false).unwrap();
        // 10 minutes at 60 km/h, polled every 5 s: 10 km.
        for i in 0..=120 {
            o.on_speed(from_secs(f64::from(i) * 5.0), 60.0);
        }
        assert!((o.km.unwrap() - 1010.0).abs() < 1e-9, "{:?}", o.km);
        // An hour without polls adds nothing (unknown), then integration resumes.
        o.on_speed(from_secs(600.0 + 3600.0), 60.0);
        assert!((o.km.unwrap() - 1010.0).abs() < 1e-9);
        o.on_speed(from_secs(600.0 + 3610.0), 60.0);
        assert!((o.km.unwrap() - 1010.0 - 1.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let mut o = Odometer::default();
        assert_eq!(
            o.set(-5.0, false),
            Err(MaintError::InvalidOdometer { km: -5.0 })
        );
        assert!(o.set(f64::NAN, false).is_err());
        o.set(5000.0, false).unwrap();
        let back = o.set(4000.0, false).unwrap_err();
        assert!(back.to_string().contains("--force"), "{back}");
        o.set(4000.0, true).unwrap();
        assert_eq!(o.km, Some(4000.0));
        assert_eq!(o.on_speed(from_secs(0.0), 9999.0), 0.0);
    }

    #[test]
    fn the_vehicle_odometer_wins_but_never_runs_backwards() {
        let mut o = Odometer::default();
        assert!(o.on_vehicle_odometer(52_000.0));
        assert!(o.on_vehicle_odometer(52_010.5));
        assert!(!o.on_vehicle_odometer(51_000.0));
        assert_eq!((o.km, o.ignored_readings), (Some(52_010.5), 1));
        assert!((o.travelled_km - 10.5).abs() < 1e-9);
        // From an anchor to the vehicle's value: adopted, but not counted as driven.
        let mut o = Odometer::default();
        o.set(40_000.0, false).unwrap();
        assert!(o.on_vehicle_odometer(48_950.0));
        assert_eq!((o.km, o.travelled_km), (Some(48_950.0), 0.0));
    }

    #[test]
    fn distance_since_clear_fills_gaps_the_polls_missed() {
        let mut o = Odometer::default();
        o.set(100.0, false).unwrap();
        o.on_distance_since_clear(from_secs(0.0), 40.0, None);
        // No speed polls at all, the counter moved 12 km: 12 km added.
        assert_eq!(
            o.on_distance_since_clear(from_secs(900.0), 52.0, None),
            12.0
        );
        assert_eq!(o.km, Some(112.0));
        // A clear resets the counter: nothing added.
        assert_eq!(o.on_distance_since_clear(from_secs(1000.0), 0.0, None), 0.0);
        assert_eq!(o.km, Some(112.0));
    }

    #[test]
    fn run_time_since_clear_rejects_impossible_gaps_and_sees_hidden_clears() {
        let mut o = Odometer::default();
        o.set(100.0, false).unwrap();
        o.on_distance_since_clear(from_secs(0.0), 40.0, Some(60.0));
        // 12 km in 15 engine minutes (48 km/h): plausible, filled.
        let at = from_secs(900.0);
        assert_eq!(o.on_distance_since_clear(at, 52.0, Some(75.0)), 12.0);
        // 200 km in 10 engine minutes (1,200 km/h): not distance, rejected and counted.
        let at = from_secs(1800.0);
        assert_eq!(o.on_distance_since_clear(at, 252.0, Some(85.0)), 0.0);
        assert_eq!((o.km, o.rejected_gaps), (Some(112.0), 1));
        // The run time dropped (codes cleared) while PID 31 did not (a 1 km step hid it).
        let at = from_secs(2400.0);
        assert_eq!(o.on_distance_since_clear(at, 260.0, Some(3.0)), 0.0);
        assert_eq!(o.km, Some(112.0));
        // Afterwards gaps are measured from the new counters: 5 km in 8 minutes, filled.
        let at = from_secs(3000.0);
        assert_eq!(o.on_distance_since_clear(at, 265.0, Some(11.0)), 5.0);
        assert_eq!(o.km, Some(117.0));
        // Without PID 4E the check is skipped (as before).
        assert_eq!(
            o.on_distance_since_clear(from_secs(3600.0), 280.0, None),
            15.0
        );
    }

    #[test]
    fn state_saved_before_the_run_time_check_still_loads() {
        let old = r#"{"km":5.0,"source":"anchor","last_speed":null,"last_since_clear":null,"travelled_km":0.0,"ignored_readings":0}"#;
        let o: Odometer = serde_json::from_str(old).unwrap();
        assert_eq!((o.km, o.rejected_gaps), (Some(5.0), 0));
    }
}
