//! The simulated vehicle as a [`Transport`], without ELM327 text in between: the fastest way
//! to run the reader and diagnosis against a known car.
//!
//! Latency uses tokio time, so tests with paused time run instantly and still see the
//! simulated clock move: a request takes the ECU response time, then (without a
//! response-count hint, or when fewer answers came) `SimLatency::response_timeout` (200 ms
//! when realistic), as through an ELM327 with adaptive timing off.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::sim::{Scenario, SimLatency, SimVehicle};

use super::{EcuResponse, LinkInfo, ObdRequest, Transport, TransportError};

/// Longest request a single CAN frame (or legacy message) carries.
const MAX_REQUEST: usize = 7;

pub struct SimTransport {
    vehicle: SimVehicle,
    latency: SimLatency,
    name: String,
    start: Instant,
    /// Simulated seconds per real second: a demo runs a developing fault faster than life.
    time_scale: f64,
    /// When set, simulated time is whatever this clock says (see [`SimClock`]).
    clock: Option<SimClock>,
}

/// A simulated clock the caller moves by hand: months of a vehicle's life in a second of wall
/// time, deterministically, whatever the machine's speed. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct SimClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl SimClock {
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn set(&self, t: Duration) {
        let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        self.0.store(nanos, std::sync::atomic::Ordering::SeqCst);
    }
}

impl SimTransport {
    pub fn new(scenario: Scenario, latency: SimLatency) -> Self {
        Self::from_vehicle(scenario.build(), latency).named(scenario.name())
    }

    pub fn from_vehicle(vehicle: SimVehicle, latency: SimLatency) -> Self {
        SimTransport {
            vehicle,
            latency,
            name: "custom".into(),
            start: Instant::now(),
            time_scale: 1.0,
            clock: None,
        }
    }

    /// Drives the simulated clock `scale` times faster than real time (latency stays real:
    /// it is the adapter's, not the car's). Non-finite or non-positive scales are ignored.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        if scale.is_finite() && scale > 0.0 {
            self.time_scale = scale;
        }
        self
    }

    /// Simulated time follows `clock` instead of the wall clock.
    pub fn with_clock(mut self, clock: SimClock) -> Self {
        self.clock = Some(clock);
        self
    }

    fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    pub fn vehicle(&self) -> &SimVehicle {
        &self.vehicle
    }

    pub fn vehicle_mut(&mut self) -> &mut SimVehicle {
        &mut self.vehicle
    }

    /// Simulated time: how long the vehicle has been running.
    pub fn elapsed(&self) -> Duration {
        if let Some(clock) = &self.clock {
            return clock.now();
        }
        // Saturates rather than panics on an absurd scale.
        Duration::try_from_secs_f64(self.start.elapsed().as_secs_f64() * self.time_scale)
            .unwrap_or(Duration::MAX)
    }
}

#[async_trait]
impl Transport for SimTransport {
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        let data = &request.data;
        if data.is_empty() || data.len() > MAX_REQUEST {
            // What an ELM327 answers with '?'; the request never reaches the bus.
            return Err(TransportError::Rejected {
                command: data.iter().map(|b| format!("{b:02X}")).collect(),
                reason: format!("a request carries 1 to {MAX_REQUEST} bytes"),
            });
        }
        let can = self.vehicle.is_can();
        let first = if can {
            self.latency.ecu_can
        } else {
            self.latency.ecu_legacy
        };
        if !first.is_zero() {
            tokio::time::sleep(first).await;
        }
        let answers = self.vehicle.respond(data, self.elapsed());
        let enough = request
            .expected_responses
            .is_some_and(|n| answers.len() >= usize::from(n));
        if self.latency.timeouts && !enough && !self.latency.response_timeout.is_zero() {
            tokio::time::sleep(self.latency.response_timeout).await;
        }
        let keep = request
            .expected_responses
            .map_or(answers.len(), usize::from);
        Ok(answers
            .into_iter()
            .take(keep)
            .map(|(ecu, data)| EcuResponse { ecu, data })
            .collect())
    }

    fn link(&self) -> LinkInfo {
        LinkInfo {
            adapter: "simulator".into(),
            port: format!("sim:{}", self.name),
            protocol: Some(self.vehicle.protocol),
        }
    }

    fn supports_multi_pid(&self) -> bool {
        self.vehicle.is_can()
    }

    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError> {
        Ok(Some(self.vehicle.battery_voltage(self.elapsed())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obd::dtc::{DtcFraming, decode_dtc_list};
    use crate::transport::EcuAddress;

    fn codes(resp: &[EcuResponse], framing: DtcFraming) -> Vec<String> {
        resp.iter()
            .flat_map(|r| decode_dtc_list(&r.data[1..], framing).codes)
            .map(|c| c.to_string())
            .collect()
    }

    /// Short real delays: tokio's paused time needs its `test-util` feature.
    fn quick() -> SimLatency {
        SimLatency {
            ecu_can: Duration::from_millis(1),
            response_timeout: Duration::from_millis(100),
            ..SimLatency::realistic()
        }
    }

    #[tokio::test]
    async fn misfire_codes_arrive_as_complete_messages() {
        let mut t = SimTransport::new(Scenario::Misfire, quick());
        let before = Instant::now();
        let resp = t.request(&ObdRequest::new([0x03])).await.unwrap();
        assert!(
            before.elapsed() >= Duration::from_millis(100),
            "waits out the timeout"
        );
        assert_eq!(resp.len(), 1);
        assert_eq!(resp[0].ecu, EcuAddress::Can11(0x7E8));
        assert_eq!(codes(&resp, DtcFraming::Counted), ["P0300", "P0301"]);
        let before = Instant::now();
        t.request(&ObdRequest::new([0x01, 0x0C]).expecting(1))
            .await
            .unwrap();
        assert!(
            before.elapsed() < Duration::from_millis(100),
            "a met hint ends at once"
        );
        assert!(t.supports_multi_pid());
        assert!(t.battery_voltage().await.unwrap().unwrap() > 13.5);
    }

    #[tokio::test]
    async fn legacy_answers_are_separate_messages() {
        let mut t = SimTransport::new(Scenario::LegacyIso9141, SimLatency::zero());
        assert!(!t.supports_multi_pid());
        let resp = t.request(&ObdRequest::new([0x03])).await.unwrap();
        assert_eq!(resp.len(), 2);
        assert!(
            resp.iter()
                .all(|r| r.ecu == EcuAddress::Legacy(0x10) && r.data.len() == 7)
        );
        let all = codes(&resp, DtcFraming::Uncounted);
        assert_eq!(all, ["P0133", "P0135", "P0141", "P0420"]);
        assert_eq!(
            t.request(&ObdRequest::new([0x01, 0x0C, 0x0D]))
                .await
                .unwrap(),
            vec![]
        );
        assert!(t.request(&ObdRequest::new(vec![])).await.is_err());
        assert_eq!(
            t.link().protocol,
            Some(crate::obd::protocol::Protocol::Iso9141)
        );
    }
}
