//! Shared by the end-to-end tests: a simulated adapter on a real pseudo-terminal, the real
//! ELM327 transport on top, and what the scenario's vehicle model says should be read.
//!
//! These tests run on real time: the pty carries bytes through the kernel's tty layer, which
//! hands them over asynchronously, so tokio's paused clock would auto-advance past our
//! timeouts while the kernel still holds the bytes. Zero simulated latency and short
//! transport timeouts keep them quick instead; every wait is bounded.

#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::BTreeSet;
use std::time::Duration;

use obd_agent::obd::dtc::Dtc;
use obd_agent::reader::DtcKind;
use obd_agent::sim::{Faults, Profile, PtyServer, Scenario, SimLatency, SimSettings, SimVehicle};
use obd_agent::transport::EcuAddress;
use obd_agent::transport::elm327::link::Link;
use obd_agent::transport::elm327::{Elm327Options, Elm327Transport};

/// Upper bound for any one end-to-end step; a hang fails the test instead of stalling CI.
pub const STEP_LIMIT: Duration = Duration::from_secs(30);

pub fn settings(scenario: Scenario, profile: Profile) -> SimSettings {
    SimSettings {
        scenario,
        profile,
        latency: SimLatency::zero(),
        baud: None,
        faults: Faults::default(),
    }
}

/// Transport options with timeouts short enough that a lost answer costs little, long
/// enough for a busy shared machine.
pub fn options(port: &str) -> Elm327Options {
    let mut options = Elm327Options::new(port);
    options.baud = Some(38400);
    options.command_timeout = Duration::from_millis(1500);
    options.search_timeout = Duration::from_secs(5);
    options.reset_timeout = Duration::from_millis(1500);
    options
}

pub async fn serve(settings: SimSettings) -> PtyServer {
    obd_agent::sim::serve_pty(settings, None)
        .await
        .expect("a pseudo-terminal for the simulator")
}

pub fn port_of(server: &PtyServer) -> String {
    server.path().to_string_lossy().into_owned()
}

pub async fn open(server: &PtyServer) -> Elm327Transport<Link> {
    open_with(options(&port_of(server))).await
}

pub async fn open_with(options: Elm327Options) -> Elm327Transport<Link> {
    bounded("opening the adapter", Elm327Transport::open(options))
        .await
        .expect("the transport opens the simulated adapter")
}

/// Runs `future` within [`STEP_LIMIT`], naming the step when it hangs.
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP_LIMIT:?}"))
}

/// The codes of one kind the model holds, as (ECU, code) pairs.
pub fn model_codes(vehicle: &SimVehicle, kind: DtcKind) -> BTreeSet<(EcuAddress, Dtc)> {
    let mut out = BTreeSet::new();
    for ecu in &vehicle.ecus {
        let codes = match kind {
            DtcKind::Stored => &ecu.stored,
            DtcKind::Pending => &ecu.pending,
            DtcKind::Permanent => &ecu.permanent,
        };
        let addr = ecu.address(vehicle.protocol);
        out.extend(codes.iter().map(|c| (addr, *c)));
    }
    out
}

/// Every (kind, ECU, code) the model holds.
pub fn model_all_codes(vehicle: &SimVehicle) -> BTreeSet<(DtcKind, EcuAddress, Dtc)> {
    DtcKind::ALL
        .into_iter()
        .flat_map(|kind| {
            model_codes(vehicle, kind)
                .into_iter()
                .map(move |(ecu, code)| (kind, ecu, code))
        })
        .collect()
}

pub fn read_codes(
    codes: &[obd_agent::reader::ReportedDtc],
) -> BTreeSet<(DtcKind, EcuAddress, Dtc)> {
    codes.iter().map(|d| (d.kind, d.ecu, d.code)).collect()
}

pub const PROFILES: [Profile; 2] = [Profile::Genuine, Profile::CloneV15];
