//! A car's daily life for long simulations: trips at fixed times of day, parked in between,
//! and wear that progresses day by day (a battery ageing, a fuel trim drifting lean, a
//! thermostat sticking open). Closed-form in simulated time like the rest of
//! [`LiveModel`](super::live::LiveModel), so 30 simulated days can be sampled in any order
//! and as fast as the caller likes: driving the simulated clock at 86,400x (or with tokio's
//! paused clock) is the time acceleration the maintenance tests use.

use serde::Serialize;

use super::live::{CYCLE_S, PULL_AWAY_S};

pub const DAY_S: f64 = 86_400.0;

/// A value that changes linearly with the simulated day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Drift {
    pub day0: f64,
    pub per_day: f64,
}

impl Drift {
    pub const fn steady(value: f64) -> Self {
        Drift {
            day0: value,
            per_day: 0.0,
        }
    }

    pub fn at(&self, day: f64) -> f64 {
        self.day0 + self.per_day * day
    }

    /// The first (fractional) day the value reaches `limit`, if it is heading there.
    pub fn day_reaching(&self, limit: f64) -> Option<f64> {
        if self.per_day == 0.0 {
            return None;
        }
        let d = (limit - self.day0) / self.per_day;
        (d >= 0.0).then_some(d)
    }
}

/// The state of the 12 V system and the engine, as it wears.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wear {
    /// Open-circuit voltage after standing, V.
    pub rest_v: Drift,
    /// Lowest voltage while the starter turns, V.
    pub crank_v: Drift,
    /// Voltage with the alternator charging, V.
    pub charge_v: f64,
    /// Long-term fuel trim bank 1 (PID 07), %.
    pub long_trim_pct: Drift,
    /// From this day on the thermostat is stuck open: the engine settles at
    /// `stuck_coolant_c` and warms slowly.
    pub thermostat_stuck_day: Option<f64>,
    pub stuck_coolant_c: f64,
    /// Catalyst monitor bank 1 (service 06 MID 21): ratio of the downstream to the upstream
    /// O2 sensor's switching. A fresh catalyst stores oxygen and smooths the downstream
    /// signal (a low ratio); an aged one passes the upstream switching on (towards 1).
    pub catalyst_ratio: Drift,
    /// Cylinder 1's EWMA misfire count over the last ten drive cycles (service 06 MID A2,
    /// TID 0B): zero for a healthy engine, rising as a plug or coil wears.
    pub misfire_ewma_cyl1: Drift,
}

impl Default for Wear {
    fn default() -> Self {
        Wear {
            rest_v: Drift::steady(12.62),
            crank_v: Drift::steady(10.6),
            charge_v: 14.1,
            long_trim_pct: Drift::steady(2.3),
            thermostat_stuck_day: None,
            stuck_coolant_c: 74.0,
            catalyst_ratio: Drift::steady(0.25),
            misfire_ewma_cyl1: Drift::steady(0.0),
        }
    }
}

/// Trips at fixed times of day; the car is parked (ignition off, ECUs silent) in between.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routine {
    /// Seconds after midnight when the ignition is switched on, in order.
    pub trips: Vec<f64>,
    /// Ignition on before the starter turns, s.
    pub ignition_lead_s: f64,
    /// How long the starter turns, s (engine speed below idle, voltage at its lowest).
    pub crank_s: f64,
    /// Drive cycles per trip; a trip ends standing still.
    pub cycles: u32,
    /// Second of the day at simulated time zero: by default the first trip's engine start,
    /// so a scan at time zero finds the engine idling like the other scenarios.
    pub start_s: f64,
    /// The vehicle's odometer (PID A6) at simulated time zero, if it has one.
    pub odometer_km: Option<f64>,
    pub wear: Wear,
}

/// Where in the routine an instant falls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Ignition off; seconds since the last trip ended (from `f64::INFINITY` before any).
    Parked { since_off: f64 },
    /// Ignition on, engine not turning yet.
    Ignition,
    /// The starter turns.
    Cranking,
    /// The engine runs; seconds since it started.
    Running { engine_s: f64 },
}

impl Routine {
    /// A commuter: 07:30 and 17:30, half an hour each (20 drive cycles, 26.7 km).
    pub fn commuter() -> Self {
        let (first, ignition_lead_s, crank_s) = (7.5 * 3600.0, 4.0, 1.5);
        Routine {
            trips: vec![first, 17.5 * 3600.0],
            ignition_lead_s,
            crank_s,
            start_s: first + ignition_lead_s + crank_s,
            cycles: 20,
            odometer_km: None,
            wear: Wear::default(),
        }
    }

    pub fn trip_running_s(&self) -> f64 {
        PULL_AWAY_S + CYCLE_S * f64::from(self.cycles)
    }

    fn trip_total_s(&self) -> f64 {
        self.ignition_lead_s + self.crank_s + self.trip_running_s()
    }

    /// The wear day of simulated time `t`: day 0 starts at time zero.
    pub fn day(t: f64) -> f64 {
        t / DAY_S
    }

    /// The phase at `t` (simulated seconds), and how many trips ended before it.
    pub fn phase(&self, t: f64) -> (Phase, u64) {
        let t = t + self.start_s;
        let day = (t / DAY_S).floor();
        let sod = t - day * DAY_S;
        let per_day = self.trips.len() as u64;
        let mut done = (day.max(0.0) as u64) * per_day;
        // Trips before time zero on day 0 did not happen in the simulation.
        let before_start = self
            .trips
            .iter()
            .filter(|s| **s + self.trip_total_s() <= self.start_s)
            .count() as u64;
        done = done.saturating_sub(before_start);
        let total = self.trip_total_s();
        let mut last_end = if day >= 1.0 {
            self.trips.last().map(|s| s + total - DAY_S)
        } else {
            None
        };
        for start in &self.trips {
            let local = sod - start;
            if local < 0.0 {
                break;
            }
            if local < total {
                let phase = if local < self.ignition_lead_s {
                    Phase::Ignition
                } else if local < self.ignition_lead_s + self.crank_s {
                    Phase::Cranking
                } else {
                    Phase::Running {
                        engine_s: local - self.ignition_lead_s - self.crank_s,
                    }
                };
                return (phase, done);
            }
            done += 1;
            last_end = Some(start + total);
        }
        let since_off = last_end.map_or(f64::INFINITY, |end| sod - end);
        (Phase::Parked { since_off }, done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zero_is_the_first_engine_start_and_days_repeat() {
        let r = Routine::commuter();
        assert_eq!(r.phase(0.0), (Phase::Running { engine_s: 0.0 }, 0));
        let trip = r.trip_running_s();
        assert_eq!(trip, 1820.0);
        assert!(
            matches!(r.phase(trip + 60.0), (Phase::Parked { since_off }, 1) if (since_off - 60.0).abs() < 1e-6)
        );
        // The evening trip: ignition, cranking, running.
        let evening = 10.0 * 3600.0 - r.ignition_lead_s - r.crank_s;
        assert_eq!(r.phase(evening + 1.0).0, Phase::Ignition);
        assert_eq!(r.phase(evening + 5.0).0, Phase::Cranking);
        assert!(matches!(r.phase(evening + 6.0).0, Phase::Running { .. }));
        // Next morning: two trips done, cranking again a day after time zero.
        assert_eq!(r.phase(DAY_S - 1.0).1, 2);
        assert!(matches!(r.phase(DAY_S - 1.0).0, Phase::Cranking));
        assert_eq!(r.phase(5.0 * DAY_S + 10.0).1, 10);
    }

    #[test]
    fn drift_finds_the_day_a_limit_is_reached() {
        let d = Drift {
            day0: 10.6,
            per_day: -0.055,
        };
        assert!((d.day_reaching(9.0).unwrap() - 29.09).abs() < 0.01);
        assert_eq!(Drift::steady(1.0).day_reaching(2.0), None);
        assert_eq!(d.day_reaching(11.0), None);
    }
}
