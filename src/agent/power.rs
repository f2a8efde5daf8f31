//! Protecting the 12 V battery: stop talking to the vehicle when it is parked and the battery
//! is low, resume when the engine runs again.
//!
//! Polling keeps ECUs awake, and an awake car draws far more than a sleeping one; a dongle
//! that polls a parked car for a weekend can leave it unable to start. The rule:
//!
//! | state    | reading                                                  | next     |
//! |----------|----------------------------------------------------------|----------|
//! | active   | engine off and voltage below `sleep_below`, N times in a row | sleeping |
//! | active   | anything else                                            | active   |
//! | sleeping | voltage above `wake_above` (the alternator is charging)  | active   |
//! | sleeping | anything else                                            | sleeping |
//!
//! Two thresholds give hysteresis, so the agent does not flap at one voltage; the N readings
//! in a row keep the dip of a cranking starter motor (engine not yet running, voltage briefly
//! near 10 V) from sending the agent to sleep just as the engine starts.

use serde::Serialize;

/// Low readings in a row needed before sleeping.
pub const CONFIRMATIONS: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    Active,
    Sleeping,
}

/// One look at the vehicle's power.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerReading {
    /// Battery voltage at the OBD connector, if it could be measured.
    pub voltage: Option<f32>,
    /// Whether the engine runs (rpm above zero); `None` when no ECU answered, which on a
    /// parked car is the usual case.
    pub engine_running: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PowerGuard {
    sleep_below: f32,
    wake_above: f32,
    state: PowerState,
    /// Consecutive readings that qualified for sleep.
    low_readings: u8,
}

impl PowerGuard {
    pub fn new(sleep_below: f32, wake_above: f32) -> Self {
        PowerGuard {
            sleep_below,
            wake_above,
            state: PowerState::Active,
            low_readings: 0,
        }
    }

    pub fn state(&self) -> PowerState {
        self.state
    }

    /// Takes a reading and returns the state to be in now.
    pub fn observe(&mut self, reading: PowerReading) -> PowerState {
        match self.state {
            PowerState::Active => {
                let parked = reading.engine_running != Some(true);
                let low = reading.voltage.is_some_and(|v| v < self.sleep_below);
                if parked && low {
                    self.low_readings = self.low_readings.saturating_add(1);
                } else {
                    self.low_readings = 0;
                }
                if self.low_readings >= CONFIRMATIONS {
                    self.state = PowerState::Sleeping;
                    self.low_readings = 0;
                }
            }
            PowerState::Sleeping => {
                // Without a voltage reading, stay asleep: waking the bus to find out would
                // cost exactly the current we are saving.
                if reading.voltage.is_some_and(|v| v > self.wake_above) {
                    self.state = PowerState::Active;
                }
            }
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(voltage: f32, engine: Option<bool>) -> PowerReading {
        PowerReading {
            voltage: Some(voltage),
            engine_running: engine,
        }
    }

    fn run(guard: &mut PowerGuard, readings: &[PowerReading]) -> Vec<PowerState> {
        readings.iter().map(|r| guard.observe(*r)).collect()
    }

    use PowerState::{Active as A, Sleeping as S};

    #[test]
    fn a_parked_car_with_a_low_battery_sleeps_after_confirmation() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        let low = reading(12.0, None);
        assert_eq!(run(&mut guard, &[low, low, low, low]), vec![A, A, S, S]);
    }

    #[test]
    fn a_cranking_dip_does_not_sleep() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        let states = run(
            &mut guard,
            &[
                reading(12.4, Some(false)),
                reading(10.1, Some(false)),
                reading(10.5, Some(false)),
                reading(14.1, Some(true)),
            ],
        );
        assert_eq!(states, vec![A, A, A, A]);
    }

    #[test]
    fn a_running_engine_never_sleeps_even_on_low_voltage() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        let failing_alternator = reading(11.5, Some(true));
        assert_eq!(run(&mut guard, &[failing_alternator; 5]), vec![A; 5]);
    }

    #[test]
    fn sleep_ends_only_above_the_wake_threshold() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        run(&mut guard, &[reading(12.0, None); 3]);
        let states = run(
            &mut guard,
            &[
                reading(12.6, None),
                reading(13.0, None),
                PowerReading {
                    voltage: None,
                    engine_running: None,
                },
                reading(14.2, None),
            ],
        );
        assert_eq!(states, vec![S, S, S, A]);
    }

    #[test]
    fn an_interrupted_low_streak_starts_over() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        let low = reading(12.0, None);
        let ok = reading(12.5, None);
        assert_eq!(
            run(&mut guard, &[low, low, ok, low, low, low]),
            vec![A, A, A, A, A, S]
        );
    }

    #[test]
    fn unknown_voltage_never_sends_to_sleep() {
        let mut guard = PowerGuard::new(12.2, 13.2);
        let unknown = PowerReading {
            voltage: None,
            engine_running: None,
        };
        assert_eq!(run(&mut guard, &[unknown; 5]), vec![A; 5]);
    }
}
