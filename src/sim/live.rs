//! Live engine values as pure functions of simulated time.
//!
//! Everything is closed-form in `t` (no integration state), so asking for the same instant
//! twice gives the same answer, a freeze frame can be re-evaluated at the moment it was
//! stored, and tests can name exact values.

use std::time::Duration;

use super::routine::{Phase, Routine};

/// The seconds before the car pulls away, then one drive cycle repeats: 20 s accelerating to
/// 80 km/h, 40 s cruising, 20 s braking, 10 s standing.
pub(crate) const PULL_AWAY_S: f64 = 20.0;
pub(crate) const CYCLE_S: f64 = 90.0;
const CRUISE_KMH: f64 = 80.0;

#[derive(Debug, Clone, PartialEq)]
pub struct LiveModel {
    pub engine_running: bool,
    /// Whether the car follows the drive cycle or stays parked at idle.
    pub driving: bool,
    pub idle_rpm: f64,
    /// Peak deviation of idle rpm; a misfiring engine idles roughly.
    pub rpm_jitter: f64,
    pub ambient_c: f64,
    /// Coolant approaches this temperature from ambient with time constant `warmup_s`.
    pub coolant_target_c: f64,
    pub warmup_s: f64,
    /// Hybrid battery remaining life (PID 5B), when the car has one.
    pub hybrid_battery_pct: Option<f64>,
    /// A cooling fault for a while: coolant climbs above its target, then recovers.
    pub overheat: Option<Overheat>,
    pub seed: u32,
    /// Days of trips and parking with wear, for long simulations; `None`: the engine runs
    /// (or not) as `engine_running` says, from time zero.
    pub routine: Option<Routine>,
}

/// Between `from` and `until` the coolant approaches `peak_c` with time constant `tau_s`;
/// afterwards the excess decays with the same constant (the fan is back).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overheat {
    pub from: Duration,
    pub until: Duration,
    pub peak_c: f64,
    pub tau_s: f64,
}

impl Default for LiveModel {
    fn default() -> Self {
        LiveModel {
            engine_running: true,
            driving: true,
            idle_rpm: 750.0,
            rpm_jitter: 8.0,
            ambient_c: 20.0,
            coolant_target_c: 90.0,
            warmup_s: 180.0,
            hybrid_battery_pct: None,
            overheat: None,
            seed: 1,
            routine: None,
        }
    }
}

/// A deterministic value in [-1, 1] that changes every 100 ms: enough to look alive on a
/// dashboard while staying reproducible.
pub fn jitter(seed: u32, t: Duration) -> f64 {
    let step = (t.as_millis() / 100) as u64;
    let mut x = step ^ (u64::from(seed) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % 2001) as f64 / 1000.0 - 1.0
}

impl LiveModel {
    fn secs(t: Duration) -> f64 {
        t.as_secs_f64()
    }

    /// Seconds since the engine started, `None` while it is off.
    pub fn engine_s(&self, t: Duration) -> Option<f64> {
        match &self.routine {
            None => self.engine_running.then(|| Self::secs(t)),
            Some(r) => match r.phase(Self::secs(t)).0 {
                Phase::Running { engine_s } => Some(engine_s),
                _ => None,
            },
        }
    }

    /// Whether the ECUs are awake: always without a routine; during trips with one.
    pub fn ignition_on(&self, t: Duration) -> bool {
        match &self.routine {
            None => true,
            Some(r) => !matches!(r.phase(Self::secs(t)).0, Phase::Parked { .. }),
        }
    }

    /// The simulated day (fractional) for wear.
    fn day(t: Duration) -> f64 {
        Routine::day(Self::secs(t))
    }

    pub fn speed_kmh(&self, t: Duration) -> f64 {
        let Some(engine_s) = self.engine_s(t) else {
            return 0.0;
        };
        let s = engine_s - PULL_AWAY_S;
        if !self.driving || s < 0.0 {
            return 0.0;
        }
        let p = s % CYCLE_S;
        match p {
            p if p < 20.0 => p * CRUISE_KMH / 20.0,
            p if p < 60.0 => CRUISE_KMH,
            p if p < 80.0 => CRUISE_KMH - (p - 60.0) * CRUISE_KMH / 20.0,
            _ => 0.0,
        }
    }

    /// Distance driven since the engine started, the exact integral of `speed_kmh`.
    pub fn distance_km(&self, t: Duration) -> f64 {
        match self.engine_s(t) {
            Some(engine_s) if self.driving => Self::distance_after(engine_s),
            _ => 0.0,
        }
    }

    fn distance_after(engine_s: f64) -> f64 {
        let s = engine_s - PULL_AWAY_S;
        if s <= 0.0 {
            return 0.0;
        }
        let v = CRUISE_KMH / 3600.0; // km per second at cruise
        let ramp = |secs: f64| v * secs * secs / 40.0; // area under 0..secs of the 20 s ramp
        let per_cycle = ramp(20.0) + v * 40.0 + ramp(20.0);
        let cycles = (s / CYCLE_S).floor();
        let p = s - cycles * CYCLE_S;
        let partial = match p {
            p if p < 20.0 => ramp(p),
            p if p < 60.0 => ramp(20.0) + v * (p - 20.0),
            p if p < 80.0 => ramp(20.0) + v * 40.0 + (ramp(20.0) - ramp(80.0 - p)),
            _ => per_cycle,
        };
        cycles * per_cycle + partial
    }

    /// Distance driven since simulated time zero: every trip of a routine, or this engine run.
    pub fn total_km(&self, t: Duration) -> f64 {
        match &self.routine {
            Some(r) if self.driving => {
                let (_, done) = r.phase(Self::secs(t));
                done as f64 * Self::distance_after(r.trip_running_s()) + self.distance_km(t)
            }
            _ => self.distance_km(t),
        }
    }

    /// The vehicle's odometer (PID A6), when its routine says it has one.
    pub fn odometer_km(&self, t: Duration) -> Option<f64> {
        let base = self.routine.as_ref()?.odometer_km?;
        Some(base + self.total_km(t))
    }

    pub fn rpm(&self, t: Duration) -> f64 {
        if let Some(r) = &self.routine
            && r.phase(Self::secs(t)).0 == Phase::Cranking
        {
            return 220.0 + 20.0 * jitter(self.seed, t);
        }
        if self.engine_s(t).is_none() {
            return 0.0;
        }
        let speed = self.speed_kmh(t);
        let base = if speed < 1.0 {
            self.idle_rpm
        } else {
            // One gear change at 40 km/h keeps rpm in a plausible band.
            let gear_ratio = if speed < 40.0 { 45.0 } else { 28.0 };
            (900.0 + speed * gear_ratio).min(3200.0)
        };
        base + self.rpm_jitter * jitter(self.seed, t)
    }

    pub fn coolant_c(&self, t: Duration) -> f64 {
        if let Some(r) = &self.routine {
            return self.routine_coolant_c(r, t);
        }
        if !self.engine_running {
            return self.ambient_c;
        }
        let rise = self.coolant_target_c - self.ambient_c;
        let normal = self.coolant_target_c - rise * (-Self::secs(t) / self.warmup_s).exp();
        normal
            + self
                .overheat
                .map_or(0.0, |o| o.excess_c(self.coolant_target_c, t))
    }

    pub fn warm(&self, t: Duration) -> bool {
        self.coolant_c(t) >= 70.0
    }

    pub fn load_pct(&self, t: Duration) -> f64 {
        if self.engine_s(t).is_none() {
            return 0.0;
        }
        18.0 + self.speed_kmh(t) * 0.45 + 2.0 * jitter(self.seed ^ 7, t)
    }

    pub fn throttle_pct(&self, t: Duration) -> f64 {
        if self.engine_s(t).is_none() {
            return 0.0;
        }
        14.0 + self.speed_kmh(t) * 0.25
    }

    pub fn maf_gs(&self, t: Duration) -> f64 {
        if self.engine_s(t).is_none() {
            return 0.0;
        }
        self.rpm(t) / 1000.0 * self.load_pct(t) * 0.12
    }

    pub fn map_kpa(&self, t: Duration) -> f64 {
        if self.engine_s(t).is_none() {
            return 101.0;
        }
        30.0 + self.load_pct(t) * 0.6
    }

    pub fn intake_c(&self, t: Duration) -> f64 {
        self.ambient_c + (self.coolant_c(t) - self.ambient_c) * 0.2
    }

    pub fn timing_deg(&self, t: Duration) -> f64 {
        if self.engine_s(t).is_none() {
            return 0.0;
        }
        8.0 + self.speed_kmh(t) * 0.1
    }

    pub fn short_trim_pct(&self, t: Duration) -> f64 {
        1.5 * jitter(self.seed ^ 3, t)
    }

    pub fn fuel_level_pct(&self, t: Duration) -> f64 {
        (62.0 - self.distance_km(t) * 0.05).max(0.0)
    }

    /// The alternator lifts the system to ~14 V while running; a resting battery sits lower.
    pub fn battery_v(&self, t: Duration) -> f64 {
        if let Some(r) = &self.routine {
            let w = &r.wear;
            let day = Self::day(t);
            return match r.phase(Self::secs(t)).0 {
                // Surface charge after a drive fades within a couple of hours.
                Phase::Parked { since_off } => {
                    w.rest_v.at(day) + 0.35 * (-since_off / 3600.0).exp()
                }
                Phase::Ignition => w.rest_v.at(day) - 0.15,
                Phase::Cranking => w.crank_v.at(day),
                Phase::Running { .. } => w.charge_v + 0.05 * jitter(self.seed ^ 11, t),
            };
        }
        if self.engine_running {
            14.1 + 0.05 * jitter(self.seed ^ 11, t)
        } else {
            12.4
        }
    }
}

impl LiveModel {
    /// Catalyst monitor bank 1 test value (ratio, see `Wear::catalyst_ratio`).
    pub fn catalyst_ratio(&self, t: Duration) -> f64 {
        match &self.routine {
            Some(r) => r.wear.catalyst_ratio.at(Self::day(t)),
            None => 0.25,
        }
    }

    /// EWMA misfire count of `cylinder` (1-based) over the last ten drive cycles.
    pub fn misfire_ewma(&self, cylinder: u8, t: Duration) -> f64 {
        match &self.routine {
            Some(r) if cylinder == 1 => r.wear.misfire_ewma_cyl1.at(Self::day(t)).max(0.0),
            _ => 0.0,
        }
    }

    /// Long-term fuel trim, bank 1 (PID 07), %.
    pub fn long_trim_pct(&self, t: Duration) -> f64 {
        match &self.routine {
            Some(r) => r.wear.long_trim_pct.at(Self::day(t)),
            None => 2.3,
        }
    }

    /// Coolant over a routine: every trip a cold start (hours parked in between), the
    /// engine cooling towards ambient while parked.
    fn routine_coolant_c(&self, r: &Routine, t: Duration) -> f64 {
        let stuck = r
            .wear
            .thermostat_stuck_day
            .is_some_and(|d| Self::day(t) >= d);
        let (target, warmup) = if stuck {
            (r.wear.stuck_coolant_c, self.warmup_s * 5.0)
        } else {
            (self.coolant_target_c, self.warmup_s)
        };
        let rise = target - self.ambient_c;
        match r.phase(Self::secs(t)).0 {
            Phase::Running { engine_s } => target - rise * (-engine_s / warmup).exp(),
            Phase::Parked { since_off } => self.ambient_c + rise * (-since_off / 5400.0).exp(),
            Phase::Ignition | Phase::Cranking => self.ambient_c,
        }
    }
}

impl Overheat {
    /// Degrees above the normal curve at `t`.
    fn excess_c(&self, target_c: f64, t: Duration) -> f64 {
        let secs = |d: Duration| d.as_secs_f64();
        let peak = (self.peak_c - target_c).max(0.0);
        let rise = |s: f64| peak * (1.0 - (-s / self.tau_s).exp());
        if t < self.from {
            0.0
        } else if t < self.until {
            rise(secs(t) - secs(self.from))
        } else {
            let at_end = rise(secs(self.until) - secs(self.from));
            at_end * (-(secs(t) - secs(self.until)) / self.tau_s).exp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_same_instant_gives_the_same_values() {
        let m = LiveModel::default();
        for s in [0.0, 12.3, 400.0] {
            assert_eq!(m.rpm(at(s)), m.rpm(at(s)));
            assert_eq!(jitter(5, at(s)), jitter(5, at(s)));
        }
        let j: Vec<f64> = (0..50).map(|i| jitter(1, at(f64::from(i) * 0.1))).collect();
        assert!(j.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(j.iter().any(|v| *v != j[0]), "idle must move a little");
    }

    #[test]
    fn distance_is_the_integral_of_speed() {
        let m = LiveModel::default();
        let mut integral = 0.0;
        let dt = 0.01;
        for i in 0..40_000 {
            integral += m.speed_kmh(at(f64::from(i) * dt + dt / 2.0)) / 3600.0 * dt;
        }
        assert!((integral - m.distance_km(at(400.0))).abs() < 1e-3);
    }

    #[test]
    fn coolant_warms_towards_its_target() {
        let m = LiveModel::default();
        assert!((m.coolant_c(Duration::ZERO) - 20.0).abs() < 1e-9);
        assert!(m.coolant_c(at(1800.0)) > 89.0);
        let off = LiveModel {
            engine_running: false,
            ..LiveModel::default()
        };
        assert_eq!(off.rpm(at(60.0)), 0.0);
        assert!(off.battery_v(at(1.0)) < 12.6);
    }
}
