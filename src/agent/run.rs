//! `agent::run`: the daemon's tasks, their channels and the one shutdown signal.
//!
//! ```text
//!  poller ──VehicleEvent──► diagnosis ──alerts, telemetry──► outbox (SQLite) ──► uplink ──► broker
//!    ▲                                                                              │
//!    └──────────── VehicleJob ◄──── command handler ◄──── CommandRequest ◄───────────┘
//! ```
//!
//! Every channel is bounded; every loop ends when the shutdown signal flips or its input
//! channel closes; every vehicle read has a timeout (the transport's).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use super::commands::handle_commands;
use super::diagnose::{CodesRead, Diagnoser};
use super::maintain::{Maintainer, maintenance_task};
use super::notify::{self, Notifier};
use super::poller::{Connector, Poller, VehicleEvent};
use crate::config::{AdapterConfig, Config};
use crate::maintenance::{MAINTENANCE_PIDS, MONITOR_TEST_MIDS};
use crate::outbox::NewMessage;
use crate::reader::EcuReading;
use crate::sim::{Scenario, SimLatency};
use crate::store::{PidSample, Store, StoreError, StoreOptions};
use crate::transport::elm327::{Elm327Options, Elm327Transport};
use crate::transport::sim::SimTransport;
use crate::transport::socketcan::{SocketCanOptions, SocketCanTransport};
use crate::transport::{Transport, TransportError};
use crate::uplink::limit::RateLimit;
use crate::uplink::payload::{Header, PidValue, TelemetryPayload};
use crate::uplink::topics::{Topics, to_outbox_message};
use crate::uplink::{OutboxHandle, Uplink, UplinkConfig};

/// Messages kept in memory while the store refuses writes (disk full); beyond this the oldest
/// telemetry would go first, but alerts are what fill it.
const MAX_UNSTORED: usize = 1000;
/// How long tasks get to finish in-flight work after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    #[error("the MQTT settings cannot work: {0}")]
    Uplink(String),
}

/// Opens the adapter named in the config; called again after every loss.
pub struct AdapterConnector(pub AdapterConfig);

#[async_trait]
impl Connector for AdapterConnector {
    async fn connect(&self) -> Result<Box<dyn Transport>, TransportError> {
        match &self.0 {
            AdapterConfig::Elm327 {
                port,
                baud,
                protocol,
            } => {
                let mut options = Elm327Options::new(port.clone());
                options.baud = *baud;
                options.protocol = *protocol;
                Ok(Box::new(Elm327Transport::open(options).await?))
            }
            AdapterConfig::Simulator { scenario } => {
                let scenario: Scenario = scenario
                    .parse()
                    .map_err(|e: crate::sim::SimError| TransportError::Bus(e.to_string()))?;
                Ok(Box::new(SimTransport::new(
                    scenario,
                    SimLatency::realistic(),
                )))
            }
            AdapterConfig::SocketCan { interface } => {
                let options = SocketCanOptions::new(interface.clone());
                Ok(Box::new(SocketCanTransport::open(options).await?))
            }
        }
    }
}

pub fn uplink_config(config: &Config) -> Option<UplinkConfig> {
    let mqtt = config.mqtt.as_ref()?;
    Some(UplinkConfig::from_agent(&config.vehicle_id, mqtt))
}

/// Runs the agent until `shutdown` completes, then lets in-flight work finish.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let connector = AdapterConnector(config.adapter.clone());
    run_with(config, connector, shutdown).await
}

/// [`run`] with the vehicle link opened by `connector` instead of the config's adapter: the
/// demo drives the simulated car's clock faster than real time this way.
pub async fn run_with<C: Connector + 'static>(
    config: Config,
    connector: C,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let options = StoreOptions {
        max_bytes: config.store.max_bytes,
        ..StoreOptions::default()
    };
    let store = Store::open(&config.store.path, options)?;
    let diagnoser = Diagnoser::new(&config.vehicle_id, &store)?;
    let maintainer = if config.maintenance.enabled {
        Some(Maintainer::open(
            &store,
            &config,
            std::time::SystemTime::now(),
        )?)
    } else {
        None
    };
    let outbox = OutboxHandle::new(store);
    // Ready once the config is valid and the store open; a vehicle may be hours away.
    let notifier = Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        n.ready();
        n.status("running; waiting for the vehicle");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (events_tx, events_rx) = mpsc::channel(32);
    let (jobs_tx, jobs_rx) = mpsc::channel(8);
    let (commands_tx, commands_rx) = mpsc::channel(8);

    let mut poll = config.poll.clone();
    if maintainer.is_some() {
        // The maintenance evidence: long-term trim, voltage, distance since clear, odometer
        // (the reader skips what the vehicle does not support).
        for pid in MAINTENANCE_PIDS {
            if !poll.pids.contains(&pid) {
                poll.pids.push(pid);
            }
        }
    }
    let poller = Poller {
        connector,
        poll,
        battery: config.battery.clone(),
        events: events_tx,
        jobs: jobs_rx,
        // Only the maintenance trend rules use service 06.
        test_mids: if maintainer.is_some() {
            MONITOR_TEST_MIDS.to_vec()
        } else {
            Vec::new()
        },
    };
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(n) = notifier.clone() {
        let stop = stop_rx.clone();
        tasks.spawn(async move { notify::watchdog(&n, stop).await });
    }
    tasks.spawn(poller.run(stop_rx.clone()));
    let (maint_events, maint_jobs) = match maintainer {
        Some(maintainer) => {
            let (events_tx, events_rx) = mpsc::channel(64);
            let (jobs_tx, jobs_rx) = mpsc::channel(8);
            tasks.spawn(maintenance_task(
                events_rx,
                jobs_rx,
                outbox.clone(),
                maintainer,
            ));
            (Some(events_tx), Some(jobs_tx))
        }
        None => (None, None),
    };
    tasks.spawn(diagnosis_task(
        events_rx,
        outbox.clone(),
        diagnoser,
        config.clone(),
        notifier.clone(),
        maint_events,
    ));
    tasks.spawn(handle_commands(
        commands_rx,
        jobs_tx,
        maint_jobs,
        config.vehicle_id.clone(),
        config.remote.clone(),
    ));
    match uplink_config(&config) {
        Some(uplink) => {
            let mut stop = stop_rx.clone();
            let outbox = outbox.clone();
            tasks.spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                match Uplink::run(uplink, outbox, commands_tx, stopped).await {
                    Ok(report) => info!(?report, "uplink stopped"),
                    Err(e) => error!(error = %e, "uplink cannot run"),
                }
            });
        }
        None => {
            warn!("no [mqtt] section: faults are kept in the store only");
            drop(commands_tx);
        }
    }
    shutdown.await;
    info!("shutting down");
    if let Some(n) = &notifier {
        n.stopping();
    }
    let _ = stop_tx.send(true);
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        warn!("some tasks did not finish in time; stopping them");
        tasks.abort_all();
    }
    Ok(())
}

async fn diagnosis_task(
    mut events: mpsc::Receiver<VehicleEvent>,
    outbox: OutboxHandle<Store>,
    mut diagnoser: Diagnoser,
    config: Config,
    notifier: Option<Arc<Notifier>>,
    maintenance: Option<mpsc::Sender<VehicleEvent>>,
) {
    let status = |text: String| {
        if let Some(n) = &notifier {
            n.status(&text);
        }
    };
    let topics = Topics::new(&config.vehicle_id);
    let mut telemetry = RateLimit::new(config.poll.telemetry_interval);
    let mut unstored: VecDeque<NewMessage> = VecDeque::new();
    while let Some(event) = events.recv().await {
        // The maintenance stage gets a copy of every event; if it falls behind, that copy is
        // dropped (the next poll brings another) and the diagnosis goes on regardless.
        if let Some(m) = &maintenance
            && let Err(mpsc::error::TrySendError::Full(_)) = m.try_send(event.clone())
        {
            warn!("maintenance stage busy: one vehicle event skipped");
        }
        let mut messages = Vec::new();
        match event {
            VehicleEvent::Connected { link, vin } => {
                info!(adapter = %link.adapter, port = %link.port, ?vin, "vehicle connected");
                status(format!("connected: {} on {}", link.adapter, link.port));
                diagnoser.set_vin(vin);
            }
            VehicleEvent::Codes {
                at,
                dtcs,
                answered,
                mil,
                freeze_frames,
                live,
            } => {
                let read = CodesRead {
                    at,
                    dtcs: &dtcs,
                    answered: &answered,
                    mil,
                    freeze_frames: &freeze_frames,
                    live,
                };
                let alerts =
                    tokio::task::block_in_place(|| diagnoser.on_codes(&mut outbox.lock(), &read));
                match alerts {
                    Ok(alerts) => messages.extend(
                        alerts
                            .iter()
                            .filter_map(|a| to_outbox_message(&topics, a).ok()),
                    ),
                    Err(e) => {
                        error!(error = %e, "cannot record faults; they will be read again next round")
                    }
                }
            }
            VehicleEvent::Samples { at, readings, .. } => {
                let samples: Vec<PidSample> = readings.iter().filter_map(sample).collect();
                if let Err(e) =
                    tokio::task::block_in_place(|| outbox.lock().record_samples(at, &samples))
                {
                    warn!(error = %e, "cannot keep samples");
                }
                // With the ignition off only the adapter's voltage comes (for the maintenance
                // stage): nothing for the centre.
                if !readings.is_empty() && telemetry.allow(std::time::Instant::now()) {
                    let payload = TelemetryPayload {
                        header: Header::new(&config.vehicle_id),
                        values: values(&readings),
                    };
                    messages.extend(to_outbox_message(&topics, &payload).ok());
                }
            }
            VehicleEvent::Power { state, voltage } => {
                info!(?state, ?voltage, "power state");
                status(format!("power {state:?}, battery {voltage:?} V"));
            }
            // For the maintenance stage only.
            VehicleEvent::TestResults { .. } => {}
            VehicleEvent::LinkLost { reason } => {
                warn!(%reason, "vehicle link lost");
                status(format!("vehicle link lost: {reason}"));
            }
        }
        unstored.extend(messages);
        // Oldest first, stopping at the first refusal so order is kept.
        while let Some(message) = unstored.front().cloned() {
            match tokio::task::block_in_place(|| outbox.push(message)) {
                Ok(_) => {
                    unstored.pop_front();
                }
                Err(e) => {
                    error!(error = %e, waiting = unstored.len(), "outbox refused a message; keeping it in memory");
                    break;
                }
            }
        }
        while unstored.len() > MAX_UNSTORED {
            // Telemetry is the first to go; an alert is dropped only when nothing else is left.
            let victim = unstored
                .iter()
                .position(|m| m.topic.ends_with("/telemetry"))
                .unwrap_or(0);
            if let Some(lost) = unstored.remove(victim) {
                error!(topic = %lost.topic, "memory queue full while the store refuses writes: a message was lost");
            }
        }
    }
}

fn sample(reading: &EcuReading) -> Option<PidSample> {
    let value = reading.reading.number(reading.reading.key)?;
    Some(PidSample {
        pid: u16::from(reading.reading.pid),
        value,
    })
}

fn values(readings: &[EcuReading]) -> Vec<PidValue> {
    readings
        .iter()
        .filter_map(|r| {
            Some(PidValue {
                pid: format!("{:02X}", r.reading.pid),
                name: r.reading.key.to_string(),
                value: r.reading.number(r.reading.key)?,
                unit: r.reading.values.first()?.unit.to_string(),
            })
        })
        .collect()
}
