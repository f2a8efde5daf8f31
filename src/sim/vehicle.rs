//! The simulated vehicle: a bus protocol and the ECUs on it.
//!
//! Pure and deterministic: [`SimVehicle::respond`] takes the request and the simulated time
//! and returns complete service responses; bus framing (ISO-TP, legacy headers) belongs to
//! whoever carries them.

use std::time::Duration;

use crate::obd::dtc::Dtc;
use crate::obd::protocol::Protocol;
use crate::transport::EcuAddress;

use super::live::LiveModel;
use super::timeline::Timeline;

/// What an ECU is for; it decides which live values it can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcuRole {
    Engine,
    Transmission,
    Abs,
    Hybrid,
}

/// Readiness as PID 01 bytes B-D carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Monitors {
    pub compression_ignition: bool,
    /// Misfire (bit 0), fuel system (1), components (2).
    pub continuous_supported: u8,
    pub continuous_incomplete: u8,
    /// Catalyst (bit 0), heated catalyst (1), EVAP (2), secondary air (3), O2 sensor (5),
    /// O2 heater (6), EGR (7), as in PID 01 byte C for spark ignition.
    pub supported: u8,
    pub incomplete: u8,
}

impl Monitors {
    /// A petrol engine whose monitors have all run.
    pub fn petrol_complete() -> Self {
        Monitors {
            compression_ignition: false,
            continuous_supported: 0b111,
            continuous_incomplete: 0,
            supported: 0b1110_0101,
            incomplete: 0,
        }
    }
}

/// The snapshot stored with the first confirmed code; values are re-evaluated at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreezeFrame {
    pub dtc: Dtc,
    pub at: Duration,
}

/// Service 09 identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EcuInfo {
    pub vin: Option<String>,
    pub calids: Vec<String>,
    pub cvns: Vec<u32>,
    pub name: String,
}

/// What a clear (service 04) resets, with the counters' values before any clear.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SinceClear {
    pub cleared_at: Option<Duration>,
    pub base_km: f64,
    pub base_minutes: f64,
    pub base_warmups: f64,
    pub mil_km: f64,
    pub mil_minutes: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimEcu {
    pub role: EcuRole,
    /// 0 answers as 7E8 on 11-bit CAN, 1 as 7E9, ...
    pub can_index: u8,
    /// Source address on the legacy buses and the low byte of the 29-bit CAN id.
    pub source: u8,
    /// Service 01 PIDs with values (the supported-PID bitmaps are derived from these).
    pub pids: Vec<u8>,
    /// Service 02 PIDs kept in the freeze frame.
    pub freeze_pids: Vec<u8>,
    pub stored: Vec<Dtc>,
    pub pending: Vec<Dtc>,
    pub permanent: Vec<Dtc>,
    pub mil: bool,
    pub monitors: Monitors,
    pub freeze: Option<FreezeFrame>,
    pub info: EcuInfo,
    pub since_clear: SinceClear,
    /// Answers service 06 (CAN format) with the tests of [`TEST_MIDS`](super::service::TEST_MIDS).
    pub test_results: bool,
}

impl SimEcu {
    pub fn new(role: EcuRole, can_index: u8, source: u8) -> Self {
        SimEcu {
            role,
            can_index,
            source,
            pids: Vec::new(),
            freeze_pids: Vec::new(),
            stored: Vec::new(),
            pending: Vec::new(),
            permanent: Vec::new(),
            mil: false,
            monitors: Monitors::default(),
            freeze: None,
            info: EcuInfo::default(),
            since_clear: SinceClear::default(),
            test_results: false,
        }
    }

    /// How this ECU's answers are addressed on `protocol`.
    pub fn address(&self, protocol: Protocol) -> EcuAddress {
        if !protocol.is_can() {
            EcuAddress::Legacy(self.source)
        } else if protocol.is_extended_can() {
            EcuAddress::Can29(0x18DA_F100 | u32::from(self.source))
        } else {
            EcuAddress::Can11(0x7E8 + u16::from(self.can_index))
        }
    }

    /// Service 04: codes, freeze frame and MIL go, permanent codes stay (only the ECU itself
    /// may erase them after a clean drive cycle), readiness starts over.
    pub fn clear(&mut self, now: Duration) {
        self.stored.clear();
        self.pending.clear();
        self.freeze = None;
        self.mil = false;
        self.monitors.incomplete = self.monitors.supported;
        self.since_clear.cleared_at = Some(now);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimVehicle {
    pub protocol: Protocol,
    pub ecus: Vec<SimEcu>,
    pub live: LiveModel,
    /// Faults that develop over time; empty for a car whose state only changes on request.
    pub timeline: Timeline,
}

impl SimVehicle {
    pub fn new(protocol: Protocol, live: LiveModel) -> Self {
        SimVehicle {
            protocol,
            ecus: Vec::new(),
            live,
            timeline: Timeline::default(),
        }
    }

    pub fn is_can(&self) -> bool {
        self.protocol.is_can()
    }

    pub fn addresses(&self) -> Vec<EcuAddress> {
        self.ecus.iter().map(|e| e.address(self.protocol)).collect()
    }

    /// Voltage at OBD pin 16.
    pub fn battery_voltage(&self, now: Duration) -> f32 {
        self.live.battery_v(now) as f32
    }

    /// Starts or stops the engine (the ignition stays on, so the ECUs still answer).
    pub fn set_engine_running(&mut self, running: bool) {
        self.live.engine_running = running;
    }

    /// Lets the timeline catch up with `now`; every answer reflects the car at that instant.
    pub fn advance(&mut self, now: Duration) {
        self.timeline.advance(now, &mut self.ecus, &mut self.live);
    }

    /// A functional (broadcast) request: every ECU that has something to say answers, in ECU
    /// order. On the legacy buses an ECU may answer with several messages.
    pub fn respond(&mut self, request: &[u8], now: Duration) -> Vec<(EcuAddress, Vec<u8>)> {
        self.advance(now);
        // Ignition off (a routine's parked hours): the ECUs sleep.
        if !self.live.ignition_on(now) {
            return Vec::new();
        }
        let protocol = self.protocol;
        let live = self.live.clone();
        let mut out = Vec::new();
        for ecu in &mut self.ecus {
            let addr = ecu.address(protocol);
            for message in super::service::answer(ecu, &live, protocol, request, now) {
                out.push((addr, message));
            }
        }
        out
    }

    /// A physically addressed request: only the ECU at `target` may answer.
    pub fn respond_from(
        &mut self,
        target: EcuAddress,
        request: &[u8],
        now: Duration,
    ) -> Vec<(EcuAddress, Vec<u8>)> {
        self.advance(now);
        if !self.live.ignition_on(now) {
            return Vec::new();
        }
        let protocol = self.protocol;
        let live = self.live.clone();
        let Some(ecu) = self.ecus.iter_mut().find(|e| e.address(protocol) == target) else {
            return Vec::new();
        };
        super::service::answer(ecu, &live, protocol, request, now)
            .into_iter()
            .map(|m| (target, m))
            .collect()
    }
}
