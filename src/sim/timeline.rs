//! Faults that develop while the simulated car runs: a script of changes at fixed simulated
//! instants, applied by [`SimVehicle`](super::SimVehicle) before it answers a request.
//!
//! Applying steps lazily, at the first request at or after their instant, keeps the vehicle
//! pure and deterministic: the same requests at the same simulated times give the same
//! answers, however fast the clock is driven.

use std::time::Duration;

use crate::obd::dtc::Dtc;

use super::live::LiveModel;
use super::vehicle::{FreezeFrame, SimEcu};

/// One change to the car's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The ECU saw the fault once: a pending code (service 07), no MIL yet.
    Pending(Dtc),
    /// The fault matured: stored (service 03), MIL on, freeze frame taken now if none is kept.
    Confirmed(Dtc),
    /// The ECU itself dropped the code (the condition has gone): stored and pending lists lose
    /// it, and the MIL goes off when nothing stored is left.
    EcuCleared(Dtc),
    /// Peak deviation of idle rpm from now on (a misfiring engine idles roughly).
    RpmJitter(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: Duration,
    /// Index into `SimVehicle::ecus`.
    pub ecu: usize,
    pub change: Change,
}

/// The script and how far into it the car is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    steps: Vec<Step>,
    applied: usize,
}

impl Timeline {
    /// Steps are applied in time order whatever order they are given in.
    pub fn new(mut steps: Vec<Step>) -> Self {
        steps.sort_by_key(|s| s.at);
        Timeline { steps, applied: 0 }
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Applies every step due at `now` that has not been applied yet.
    pub fn advance(&mut self, now: Duration, ecus: &mut [SimEcu], live: &mut LiveModel) {
        while let Some(step) = self.steps.get(self.applied) {
            if step.at > now {
                break;
            }
            if let Some(ecu) = ecus.get_mut(step.ecu) {
                apply(&step.change, step.at, ecu, live);
            }
            self.applied += 1;
        }
    }
}

fn apply(change: &Change, at: Duration, ecu: &mut SimEcu, live: &mut LiveModel) {
    match *change {
        Change::Pending(code) => {
            if !ecu.pending.contains(&code) {
                ecu.pending.push(code);
            }
        }
        Change::Confirmed(code) => {
            if !ecu.stored.contains(&code) {
                ecu.stored.push(code);
            }
            ecu.mil = true;
            if ecu.freeze.is_none() && !ecu.freeze_pids.is_empty() {
                ecu.freeze = Some(FreezeFrame { dtc: code, at });
            }
        }
        Change::EcuCleared(code) => {
            ecu.stored.retain(|c| *c != code);
            ecu.pending.retain(|c| *c != code);
            if ecu.freeze.is_some_and(|f| f.dtc == code) {
                ecu.freeze = None;
            }
            ecu.mil = !ecu.stored.is_empty();
        }
        Change::RpmJitter(jitter) => live.rpm_jitter = jitter,
    }
}
