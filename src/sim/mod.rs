//! The simulated vehicle and the ELM327 that talks to it.
//!
//! - [`SimVehicle`] (pure): ECUs, live values as functions of simulated time, codes, freeze
//!   frames, service 09 identity; answers complete service requests.
//! - [`Scenario`]: named, deterministic vehicles.
//! - [`Elm327Emulator`] (sans-io): the ELM327 command interpreter and printer in front of a
//!   vehicle, with a timing model the shell applies.
//! - [`serve_pty`] / [`serve_tcp`] (tokio): put the emulator on a pseudo-terminal or a TCP
//!   port, where the real host code cannot tell it from an adapter.
//!
//! [`crate::transport::sim::SimTransport`] skips the ELM text and talks to the vehicle
//! directly.

pub mod can;
pub mod days;
pub mod elm;
pub mod encode;
pub mod live;
pub mod routine;
pub mod scenario;
pub mod serve;
pub mod service;
pub mod timeline;
#[cfg(test)]
mod timeline_tests;
pub mod vehicle;
#[cfg(test)]
mod vehicle_tests;

use std::path::PathBuf;
use std::str::FromStr;

pub use elm::{Chunk, Elm327Emulator, Faults, Profile, SimLatency};
pub use scenario::Scenario;
pub use serve::{PtyServer, TcpServer, serve_pty, serve_tcp};
pub use vehicle::{EcuRole, SimEcu, SimVehicle};

/// Everything needed to stand up a simulated adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    pub scenario: Scenario,
    pub profile: Profile,
    pub latency: SimLatency,
    /// Serial speed for transmission time on the pty (38400, the ELM327's factory default,
    /// unless changed); ignored for TCP and with zero latency.
    pub baud: Option<u32>,
    pub faults: Faults,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            scenario: Scenario::default(),
            profile: Profile::default(),
            latency: SimLatency::realistic(),
            baud: Some(38400),
            faults: Faults::default(),
        }
    }
}

impl SimSettings {
    pub fn new(scenario: Scenario) -> Self {
        SimSettings {
            scenario,
            ..SimSettings::default()
        }
    }

    /// The emulator these settings describe, with a freshly built vehicle.
    pub fn emulator(&self) -> Elm327Emulator {
        Elm327Emulator::new(self.scenario.build(), self.profile)
            .with_latency(self.latency.clone(), self.baud)
            .with_faults(self.faults.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown scenario '{name}': choose one of {known}")]
    UnknownScenario { name: String, known: String },
    #[error("unknown adapter profile '{0}': choose 'genuine' or 'clone'")]
    UnknownProfile(String),
    #[error("unknown latency '{0}': choose 'realistic' or 'zero'")]
    UnknownLatency(String),
    #[error("cannot open a pseudo-terminal: {0}")]
    Pty(#[source] nix::Error),
    #[error("cannot create the link {path}: {source} (is something else there?)")]
    Link {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("i/o error serving the simulator")]
    Io(#[from] std::io::Error),
}

impl FromStr for Profile {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "genuine" => Ok(Profile::Genuine),
            "clone" | "clone-v15" | "clonev15" => Ok(Profile::CloneV15),
            _ => Err(SimError::UnknownProfile(s.to_string())),
        }
    }
}

impl FromStr for SimLatency {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "realistic" => Ok(SimLatency::realistic()),
            "zero" | "none" => Ok(SimLatency::zero()),
            _ => Err(SimError::UnknownLatency(s.to_string())),
        }
    }
}
