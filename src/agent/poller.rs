//! The poller: owns the link to the vehicle, reads codes and live values on schedule, sleeps
//! when the battery needs it, reconnects when the adapter goes away, and reports everything
//! as [`VehicleEvent`]s. It never decides what a reading means; the diagnosis stage does.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use super::jobs::{JobError, VehicleJob};
use super::power::{PowerGuard, PowerReading, PowerState};
use crate::config::{BatteryConfig, PollConfig};
use crate::diagnosis::Snapshot;
use crate::reader::{
    CodeReadout, DtcKind, EcuFreezeFrame, EcuReading, EcuTestResults, ReadError, ReportedDtc,
    VehicleReader,
};
use crate::transport::{EcuAddress, LinkInfo, Transport, TransportError};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// With the ignition off and an adapter that measures the battery, the vehicle is asked again
/// this often even if the engine is not started (ignition switched on, engine off).
const PARKED_RETRY: Duration = Duration::from_secs(15 * 60);
const ENGINE_SPEED: u8 = 0x0C;
/// Service 06 is read once per drive, at the first code read after the engine has run this
/// long (the ECU runs its catalyst and O2 monitors once warm): never per poll.
pub const TESTS_AFTER_RUNNING: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq)]
pub enum VehicleEvent {
    Connected {
        link: LinkInfo,
        vin: Option<String>,
    },
    /// A full read of the trouble codes, with what is needed to judge them.
    Codes {
        at: SystemTime,
        dtcs: Vec<ReportedDtc>,
        /// Which ECU answered which code read (see `CodeReadout`).
        answered: Vec<(DtcKind, EcuAddress)>,
        mil: bool,
        freeze_frames: Vec<EcuFreezeFrame>,
        live: Snapshot,
    },
    Samples {
        at: SystemTime,
        readings: Vec<EcuReading>,
        /// The adapter's own supply reading (ELM327 `ATRV`): the battery, even with the
        /// ignition off and no ECU answering, when it is a parked car's resting voltage.
        adapter_voltage: Option<f32>,
    },
    /// Service 06 results, at most once per drive (see [`TESTS_AFTER_RUNNING`]).
    TestResults {
        at: SystemTime,
        results: Vec<EcuTestResults>,
    },
    Power {
        state: PowerState,
        voltage: Option<f32>,
    },
    LinkLost {
        reason: String,
    },
}

/// Opens the link to the vehicle; called again after every loss.
#[async_trait]
pub trait Connector: Send + Sync {
    async fn connect(&self) -> Result<Box<dyn Transport>, TransportError>;
}

pub struct Poller<C> {
    pub connector: C,
    pub poll: PollConfig,
    pub battery: BatteryConfig,
    pub events: mpsc::Sender<VehicleEvent>,
    /// One-off reads for the hotline, run between scheduled reads.
    pub jobs: mpsc::Receiver<VehicleJob>,
    /// Service 06 MIDs to read once per drive; empty: service 06 is not read.
    pub test_mids: Vec<u8>,
}

/// When the engine started and whether this drive's service 06 results were read.
#[derive(Debug, Default)]
struct Drive {
    running_since: Option<Instant>,
    tests_read: bool,
    /// Service 06 cannot be read on this link (legacy bus): not asked again this session.
    tests_unavailable: bool,
}

impl Drive {
    fn observe(&mut self, engine_running: Option<bool>, now: Instant) {
        match engine_running {
            Some(true) => {
                self.running_since.get_or_insert(now);
            }
            // Stopped or not answering: the next start is a new drive.
            _ => {
                self.running_since = None;
                self.tests_read = false;
            }
        }
    }

    fn tests_due(&self, now: Instant) -> bool {
        !self.tests_read
            && !self.tests_unavailable
            && self
                .running_since
                .is_some_and(|t| now.duration_since(t) >= TESTS_AFTER_RUNNING)
    }
}

/// Why one connected session ended.
enum SessionEnd {
    Shutdown,
    Lost(String),
    /// No answer at all: the adapter could not be reached, or it opened but no ECU answered
    /// the first read and it cannot measure the battery to wait on. Tried again after a
    /// growing wait.
    Unanswered(String),
}

fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow()
}

impl<C: Connector> Poller<C> {
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = FIRST_BACKOFF;
        let mut guard = PowerGuard::new(self.battery.sleep_below, self.battery.wake_above);
        while !stopping(&shutdown) {
            let connected = loop {
                tokio::select! {
                    r = self.connector.connect() => break r,
                    Some(job) = self.jobs.recv() => job.refuse(JobError::NotConnected),
                    _ = shutdown.changed() => return,
                }
            };
            let end = match connected {
                Ok(mut transport) => {
                    self.session(transport.as_mut(), &mut guard, &mut shutdown)
                        .await
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "cannot reach the adapter");
                    SessionEnd::Unanswered(e.to_string())
                }
            };
            let (reason, wait) = match end {
                SessionEnd::Shutdown => break,
                SessionEnd::Lost(reason) => {
                    warn!(%reason, "lost the vehicle link; reconnecting");
                    backoff = FIRST_BACKOFF;
                    (reason, FIRST_BACKOFF)
                }
                SessionEnd::Unanswered(reason) => {
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    (reason, wait)
                }
            };
            self.emit(VehicleEvent::LinkLost { reason }).await;
            if self.idle(wait, &mut shutdown).await {
                break;
            }
        }
        info!("poller stopped");
    }

    /// Waits out a backoff without a link, refusing jobs meanwhile; returns whether to stop.
    async fn idle(&mut self, wait: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
        let until = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return stopping(shutdown),
                Some(job) = self.jobs.recv() => job.refuse(JobError::NotConnected),
                _ = shutdown.changed() => return true,
            }
        }
    }

    async fn emit(&self, event: VehicleEvent) {
        // A full channel means the diagnosis stage is behind; waiting is the right back
        // pressure (the vehicle is not going anywhere). A closed one means shutdown.
        let _ = self.events.send(event).await;
    }

    async fn session(
        &mut self,
        transport: &mut dyn Transport,
        guard: &mut PowerGuard,
        shutdown: &mut watch::Receiver<bool>,
    ) -> SessionEnd {
        let link = transport.link();
        let mut reader = VehicleReader::new(transport);
        let vin = loop {
            let reason = match reader.discover().await {
                Ok(_) => break reader.vin().await.ok().flatten(),
                Err(e) => {
                    let reason = e.to_string();
                    if let Some(lost) = link_lost(e) {
                        return SessionEnd::Lost(lost);
                    }
                    reason
                }
            };
            // Ignition off. Asking again means a protocol search on the bus, which can keep a
            // parked car's modules awake: an adapter that measures the supply is watched
            // instead (no bus traffic) until the engine charges; others are asked again after
            // the growing wait.
            if !matches!(reader.transport().battery_voltage().await, Ok(Some(_))) {
                info!(%reason, "no ECU answers (ignition off?); trying again later");
                return SessionEnd::Unanswered(reason);
            }
            info!(%reason, "no ECU answers (ignition off?); watching the battery voltage");
            self.emit(VehicleEvent::LinkLost { reason }).await;
            if let Some(end) = self.await_ignition(&mut reader, shutdown).await {
                return end;
            }
        };
        self.emit(VehicleEvent::Connected { link, vin }).await;
        let mut next_codes = Instant::now();
        let mut next_samples = Instant::now();
        let mut drive = Drive::default();
        loop {
            let due = next_codes.min(next_samples);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                Some(job) = self.jobs.recv() => {
                    if let Some(reason) = job.run(&mut reader).await.and_then(link_lost) {
                        return SessionEnd::Lost(reason);
                    }
                    continue;
                }
                _ = shutdown.changed() => return SessionEnd::Shutdown,
            }
            if stopping(shutdown) {
                return SessionEnd::Shutdown;
            }
            let now = Instant::now();
            if now >= next_samples {
                next_samples = now + self.poll.pid_interval;
                let mut pids = self.poll.pids.clone();
                if !pids.contains(&ENGINE_SPEED) {
                    pids.push(ENGINE_SPEED);
                }
                let readings = match reader.read_pids(&pids).await {
                    Ok(r) => r,
                    Err(e) => match link_lost(e) {
                        Some(reason) => return SessionEnd::Lost(reason),
                        None => Vec::new(),
                    },
                };
                let voltage = reader.transport().battery_voltage().await.unwrap_or(None);
                let engine_running = readings
                    .iter()
                    .find(|r| r.reading.pid == ENGINE_SPEED)
                    .and_then(|r| r.reading.number("rpm"))
                    .map(|rpm| rpm > 0.0);
                drive.observe(engine_running, now);
                if guard.observe(PowerReading {
                    voltage,
                    engine_running,
                }) == PowerState::Sleeping
                {
                    self.emit(VehicleEvent::Power {
                        state: PowerState::Sleeping,
                        voltage,
                    })
                    .await;
                    match self.sleep(&mut reader, guard, shutdown).await {
                        Some(end) => return end,
                        None => {
                            next_codes = Instant::now();
                            continue;
                        }
                    }
                }
                if !readings.is_empty() || voltage.is_some() {
                    self.emit(VehicleEvent::Samples {
                        at: SystemTime::now(),
                        readings,
                        adapter_voltage: voltage,
                    })
                    .await;
                }
            }
            if now >= next_codes {
                next_codes = now + self.poll.dtc_interval;
                match self.read_codes(&mut reader).await {
                    Ok(event) => self.emit(event).await,
                    Err(e) => {
                        if let Some(reason) = link_lost(e) {
                            return SessionEnd::Lost(reason);
                        }
                    }
                }
                if !self.test_mids.is_empty() && drive.tests_due(now) {
                    drive.tests_read = true;
                    match reader.monitor_tests(&self.test_mids).await {
                        Ok(results) if !results.is_empty() => {
                            self.emit(VehicleEvent::TestResults {
                                at: SystemTime::now(),
                                results,
                            })
                            .await;
                        }
                        Ok(_) => {}
                        Err(ReadError::Unsupported(why)) => {
                            info!(%why, "no service 06 results on this link");
                            drive.tests_unavailable = true;
                        }
                        Err(e) => {
                            if let Some(reason) = link_lost(e) {
                                return SessionEnd::Lost(reason);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Stays off the vehicle bus, checking only the adapter's voltage, until the engine runs.
    /// Returns `None` when awake again.
    async fn sleep(
        &mut self,
        reader: &mut VehicleReader<'_>,
        guard: &mut PowerGuard,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<SessionEnd> {
        info!("battery low with the engine off: pausing polling");
        loop {
            // A hotline request is served even now: one read is brief; polling stays off.
            let until = Instant::now() + self.battery.check_interval;
            if let Some(end) = self.serve_jobs_until(reader, until, shutdown).await {
                return Some(end);
            }
            let voltage = match reader.transport().battery_voltage().await {
                Ok(v) => v,
                Err(e) if e.needs_reconnect() => return Some(SessionEnd::Lost(e.to_string())),
                Err(_) => None,
            };
            let reading = PowerReading {
                voltage,
                engine_running: None,
            };
            if guard.observe(reading) == PowerState::Active {
                info!(?voltage, "engine running again: resuming polling");
                self.emit(VehicleEvent::Power {
                    state: PowerState::Active,
                    voltage,
                })
                .await;
                return None;
            }
        }
    }

    /// Off the polling schedule until `until`, running hotline jobs as they come; `Some` when
    /// the session has to end (shutdown, or a job found the link gone).
    async fn serve_jobs_until(
        &mut self,
        reader: &mut VehicleReader<'_>,
        until: Instant,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<SessionEnd> {
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                Some(job) = self.jobs.recv() => {
                    if let Some(reason) = job.run(reader).await.and_then(link_lost) {
                        return Some(SessionEnd::Lost(reason));
                    }
                }
                _ = shutdown.changed() => return Some(SessionEnd::Shutdown),
            }
        }
        stopping(shutdown).then_some(SessionEnd::Shutdown)
    }

    /// With no ECU answering, reads only the adapter's voltage every `check_interval` until
    /// the engine charges (above `wake_above`) or [`PARKED_RETRY`] has passed; hotline jobs
    /// are still served. Returns `None` to ask the vehicle again.
    async fn await_ignition(
        &mut self,
        reader: &mut VehicleReader<'_>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<SessionEnd> {
        let retry_at = Instant::now() + PARKED_RETRY;
        loop {
            let until = (Instant::now() + self.battery.check_interval).min(retry_at);
            if let Some(end) = self.serve_jobs_until(reader, until, shutdown).await {
                return Some(end);
            }
            if Instant::now() >= retry_at {
                return None;
            }
            match reader.transport().battery_voltage().await {
                Ok(Some(v)) if v >= self.battery.wake_above => {
                    info!(voltage = v, "engine charging: asking the vehicle again");
                    return None;
                }
                Err(e) if e.needs_reconnect() => return Some(SessionEnd::Lost(e.to_string())),
                _ => {}
            }
        }
    }

    async fn read_codes(&self, reader: &mut VehicleReader<'_>) -> Result<VehicleEvent, ReadError> {
        let CodeReadout {
            codes: dtcs,
            answered,
        } = reader.read_codes().await?;
        // Only the MIL matters here; names and calibration IDs do not change between polls.
        let mil = reader
            .monitor_status()
            .await?
            .iter()
            .any(|(_, status)| status.mil);
        let freeze_frames = if dtcs.is_empty() {
            Vec::new()
        } else {
            reader.freeze_frames().await?
        };
        let live_readings = reader.read_pids(&[0x04, 0x05, 0x0C, 0x0D, 0x42]).await?;
        let mut live = crate::reader::snapshot(&live_readings);
        if live.battery_v.is_none() {
            live.battery_v = reader.transport().battery_voltage().await.unwrap_or(None);
        }
        Ok(VehicleEvent::Codes {
            at: SystemTime::now(),
            dtcs,
            answered,
            mil,
            freeze_frames,
            live,
        })
    }
}

/// The reason to reconnect, when a read failed because the link itself did. A vehicle that
/// simply does not answer (ignition off) is not one: the session carries on.
fn link_lost(error: ReadError) -> Option<String> {
    match error {
        ReadError::Transport(e) if e.needs_reconnect() => Some(e.to_string()),
        ReadError::Transport(TransportError::NoVehicle { .. }) | ReadError::NoEcu => None,
        other => {
            warn!(error = %other, "read failed; trying again next round");
            None
        }
    }
}

#[cfg(test)]
mod tests;
