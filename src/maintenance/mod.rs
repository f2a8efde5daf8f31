//! Predictive maintenance, pure: the maintenance schedule, the odometer estimate, the usage
//! projection, trend rules on live data, and the appointment suggestion that folds faults and
//! due items into one visit.
//!
//! No I/O and no clock: every function takes the time it should consider, so tests replay
//! months of a vehicle's life from vectors. The daemon (`agent::maintain`), the store
//! (`store::maint`) and the CLI (`cli::service`) are thin shells around [`Tracker`].
//!
//! The tables a service engineer reads and edits are data: `maintenance-db/schedule.toml`
//! (items and intervals) and `maintenance-db/trends.toml` (rules with thresholds, evidence and
//! hysteresis), embedded at build time. See docs/maintenance.md.

pub mod appointment;
pub mod evidence;
pub mod odometer;
pub mod projection;
pub mod schedule;
mod time;
pub mod tracker;
pub mod trends;

use serde::{Deserialize, Serialize};

pub use appointment::{FaultInput, Suggestion, suggest};
pub use evidence::{MAINTENANCE_PIDS, MONITOR_TEST_MIDS, Observation, Sample, Signal, TripTracker};
pub use odometer::Odometer;
pub use projection::{DueState, ItemStatus, Usage};
pub use schedule::{ItemSpec, Schedule, ServiceRecord};
pub use time::{DAY_SECS, day_index, from_secs, to_secs};
pub use tracker::{Report, Tracker, TrackerSettings, TrackerState};
pub use trends::{RuleSet, TrendFinding};

/// Bad input to the maintenance core: every case names what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MaintError {
    #[error("unknown maintenance item {name:?}; known items: {known}")]
    UnknownItem { name: String, known: String },
    #[error("odometer {km} km is not valid: it must be a finite number of kilometres, 0 or more")]
    InvalidOdometer { km: f64 },
    #[error(
        "odometer {given} km is below the current reading of {current:.1} km: odometers do not run backwards (use --force to correct a wrong intake value)"
    )]
    OdometerBackwards { given: f64, current: f64 },
    #[error(
        "no odometer reading yet: set it first with `obd-agent service odometer <km>` or give --odometer"
    )]
    NoOdometer,
    #[error("{file}: {message}")]
    Table { file: &'static str, message: String },
    #[error("maintenance.items.{item}: {message}")]
    Override { item: String, message: String },
}

/// The urgency model's levels, as the maintenance tables spell them.
pub use crate::dtcdb::{Skill, Urgency};

/// How an item or rule is written in the tables: `Skill` and `Urgency` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UrgencyKey {
    Low,
    Medium,
    High,
    Critical,
}

impl From<UrgencyKey> for Urgency {
    fn from(k: UrgencyKey) -> Self {
        match k {
            UrgencyKey::Low => Urgency::Low,
            UrgencyKey::Medium => Urgency::Medium,
            UrgencyKey::High => Urgency::High,
            UrgencyKey::Critical => Urgency::Critical,
        }
    }
}

pub(crate) fn parse_skill(file: &'static str, key: &str) -> Result<Skill, MaintError> {
    key.parse().map_err(|()| MaintError::Table {
        file,
        message: format!(
            "unknown skill {key:?} (one of {})",
            Skill::ALL
                .iter()
                .map(|s| s.key())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}
