//! The maintenance stage: fed the poller's samples and code reads (forwarded by the diagnosis
//! stage), it keeps the [`Tracker`] (odometer, usage, trip evidence, trend rules), persists
//! what must survive a restart, and publishes `maintenance` and `appointments` messages
//! through the outbox, once per change (the published state is remembered in the store, so a
//! restart does not send them again). Remote `service_done` and `appointment` commands are
//! answered here, because this stage owns the tracker.
//!
//! The CLI (`obd-agent service ...`) works on the same database while the daemon runs: it
//! appends service records and odometer settings, which this stage picks up on its next
//! evaluation; it never rewrites the tracker state the daemon owns.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::poller::VehicleEvent;
use super::power::PowerState;
use crate::config::Config;
use crate::diagnosis::{self, CodeObservation, Context, Mil};
use crate::maintenance::appointment::FaultInput;
use crate::maintenance::tracker::{KEEP_OBSERVATIONS_DAYS, Report};
use crate::maintenance::{MaintError, Observation, Sample, Tracker, TrackerSettings};
use crate::outbox::NewMessage;
use crate::reader::DtcKind;
use crate::store::{Store, StoreError};
use crate::uplink::OutboxHandle;
use crate::uplink::payload::{
    AppointmentPayload, DueState, Header, MaintenanceItem, MaintenancePayload, Timestamp,
    TrendAlert, Urgency,
};
use crate::uplink::topics::{Topics, to_outbox_message};

/// The tracker state is saved at least this often while samples arrive (and whenever new
/// evidence or a code read comes in): a power cut loses at most this much odometer
/// integration.
const SAVE_EVERY: Duration = Duration::from_secs(300);
const PUBLISHED_MAINTENANCE: &str = "maintenance.published";
const PUBLISHED_APPOINTMENT: &str = "appointment.published";

/// A request from the command handler.
#[derive(Debug)]
pub enum MaintJob {
    ServiceDone {
        item: String,
        odometer_km: Option<f64>,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    Appointment {
        reply: oneshot::Sender<Result<Value, String>>,
    },
}

/// Loads the tracker from the store: saved state, service records, recent evidence, and any
/// odometer readings set since.
pub fn load_tracker(
    store: &Store,
    settings: TrackerSettings,
    now: SystemTime,
) -> Result<Tracker, StoreError> {
    let state = store.tracker_state()?;
    let records = store.service_records()?;
    let since = now - Duration::from_secs_f64(KEEP_OBSERVATIONS_DAYS * 86_400.0);
    let observations = store.observations_since(since)?;
    let mut tracker = Tracker::new(settings, state, records, observations);
    sync_from_store(store, &mut tracker)?;
    Ok(tracker)
}

/// Picks up what the CLI wrote: new odometer settings (applied in order; one that would run
/// the odometer backwards without `force` is skipped with a warning) and service records.
pub fn sync_from_store(store: &Store, tracker: &mut Tracker) -> Result<(), StoreError> {
    for s in store.odometer_settings_after(tracker.state.odometer_setting_id)? {
        if let Err(e) = tracker.set_odometer(s.km, s.force, s.at) {
            warn!(error = %e, "odometer setting skipped");
        }
        tracker.state.odometer_setting_id = s.id;
    }
    tracker.set_records(store.service_records()?);
    Ok(())
}

/// Current faults for the appointment: the codes read, classified as `scan` does.
pub fn faults_from(dtcs: &[crate::reader::ReportedDtc], mil: bool) -> Vec<FaultInput> {
    let mil = if mil { Mil::On } else { Mil::Off };
    let observations: Vec<CodeObservation> = dtcs
        .iter()
        .map(|d| crate::triage::observation(d, mil))
        .collect();
    diagnosis::classify(&observations, &Context::default())
        .iter()
        .map(FaultInput::from_finding)
        .collect()
}

/// The tracker and what was last published, for one vehicle.
pub struct Maintainer {
    vehicle_id: String,
    topics: Topics,
    pub tracker: Tracker,
    faults: Vec<FaultInput>,
    unsaved: Vec<Observation>,
    last_saved: Option<SystemTime>,
}

/// A message and the state key to remember once it is in the outbox.
#[derive(Debug)]
pub struct Outgoing {
    pub message: NewMessage,
    pub key: &'static str,
    pub value: String,
}

impl Maintainer {
    pub fn open(store: &Store, config: &Config, now: SystemTime) -> Result<Self, StoreError> {
        Ok(Maintainer {
            vehicle_id: config.vehicle_id.clone(),
            topics: Topics::new(&config.vehicle_id),
            tracker: load_tracker(store, config.maintenance.tracker_settings(), now)?,
            faults: Vec::new(),
            unsaved: Vec::new(),
            last_saved: None,
        })
    }

    /// Feeds one event; returns what to publish.
    pub fn on_event(
        &mut self,
        store: &mut Store,
        event: &VehicleEvent,
        now: SystemTime,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let mut force_save = false;
        match event {
            VehicleEvent::Samples {
                at,
                readings,
                adapter_voltage,
            } => {
                let sample = Sample::from_readings(*at, readings, adapter_voltage.map(f64::from));
                self.unsaved.extend(self.tracker.on_sample(&sample));
            }
            VehicleEvent::Codes {
                at,
                dtcs,
                mil,
                live,
                ..
            } => {
                let pending: Vec<String> = dtcs
                    .iter()
                    .filter(|d| d.kind == DtcKind::Pending)
                    .map(|d| d.code.to_string())
                    .collect();
                self.unsaved
                    .extend(self.tracker.on_pending_codes(*at, &pending));
                self.faults = faults_from(dtcs, *mil);
                // The ECUs answered, so the ignition is on; with the engine off this is the
                // sample just before a start that the cranking evidence looks for.
                if live.rpm.is_none_or(|r| r <= 0.0)
                    && let Some(v) = live.battery_v
                {
                    let sample = Sample {
                        at: Some(*at),
                        rpm: Some(0.0),
                        voltage: Some(f64::from(v)),
                        ..Sample::default()
                    };
                    self.unsaved.extend(self.tracker.on_sample(&sample));
                }
                force_save = true;
            }
            // Going to sleep: the engine is off, the voltage is a parked reading. (Waking
            // means the engine already runs: that voltage is the alternator's, not the
            // battery's, and the next samples show the trip.)
            VehicleEvent::Power {
                state: PowerState::Sleeping,
                voltage,
            } => {
                let sample = Sample {
                    at: Some(now),
                    voltage: voltage.map(f64::from),
                    ..Sample::default()
                };
                self.unsaved.extend(self.tracker.on_sample(&sample));
            }
            VehicleEvent::TestResults { at, results } => {
                let results: Vec<_> = results.iter().flat_map(|e| e.results.clone()).collect();
                self.unsaved
                    .extend(self.tracker.on_test_results(*at, &results));
            }
            VehicleEvent::LinkLost { .. } => {
                self.unsaved.extend(self.tracker.on_link_lost(now));
                force_save = true;
            }
            VehicleEvent::Connected { .. } | VehicleEvent::Power { .. } => {}
        }
        self.persist(store, now, force_save)?;
        self.publish(store, now)
    }

    /// Saves new evidence at once, and the tracker state when due.
    pub fn persist(
        &mut self,
        store: &mut Store,
        now: SystemTime,
        force: bool,
    ) -> Result<(), StoreError> {
        let due = self
            .last_saved
            .is_none_or(|t| now.duration_since(t).unwrap_or_default() >= SAVE_EVERY || now < t);
        if !(force || due || !self.unsaved.is_empty()) {
            return Ok(());
        }
        if !self.unsaved.is_empty() {
            let keep_from = now - Duration::from_secs_f64(KEEP_OBSERVATIONS_DAYS * 86_400.0);
            store.add_observations(&self.unsaved, keep_from)?;
            self.unsaved.clear();
        }
        store.save_tracker_state(&self.tracker.state)?;
        self.last_saved = Some(now);
        Ok(())
    }

    /// The payloads for the current picture, if they differ from what was last published.
    pub fn publish(
        &mut self,
        store: &mut Store,
        now: SystemTime,
    ) -> Result<Vec<Outgoing>, StoreError> {
        sync_from_store(store, &mut self.tracker)?;
        let report = self.tracker.report(now, &self.faults);
        let mut out = Vec::new();
        let maint_key = maintenance_key(&report);
        if store.state(PUBLISHED_MAINTENANCE)?.as_deref() != Some(maint_key.as_str()) {
            let payload = maintenance_payload(&self.vehicle_id, &report);
            match to_outbox_message(&self.topics, &payload) {
                Ok(message) => out.push(Outgoing {
                    message,
                    key: PUBLISHED_MAINTENANCE,
                    value: maint_key,
                }),
                Err(e) => error!(error = %e, "cannot serialise the maintenance message"),
            }
        }
        let appt_key = appointment_key(&report);
        if let Some(payload) = appointment_payload(&self.vehicle_id, &report)
            && store.state(PUBLISHED_APPOINTMENT)?.as_deref() != Some(appt_key.as_str())
        {
            match to_outbox_message(&self.topics, &payload) {
                Ok(message) => out.push(Outgoing {
                    message,
                    key: PUBLISHED_APPOINTMENT,
                    value: appt_key,
                }),
                Err(e) => error!(error = %e, "cannot serialise the appointment message"),
            }
        }
        Ok(out)
    }

    /// A remote `service_done`: recorded in the store, then published.
    pub fn service_done(
        &mut self,
        store: &mut Store,
        item: &str,
        odometer_km: Option<f64>,
        now: SystemTime,
    ) -> Result<(Value, Vec<Outgoing>), String> {
        sync_from_store(store, &mut self.tracker).map_err(|e| e.to_string())?;
        let record = self
            .tracker
            .record_service(item, odometer_km, now)
            .map_err(|e: MaintError| e.to_string())?;
        store
            .add_service_record(&record, "remote")
            .map_err(|e| format!("{e:#}"))?;
        info!(item = %record.item, km = record.odometer_km, "service recorded");
        let out = self.publish(store, now).map_err(|e| e.to_string())?;
        let result = json!({
            "recorded": {
                "item": record.item,
                "odometer_km": record.odometer_km,
                "done_at": Timestamp(record.at),
            }
        });
        Ok((result, out))
    }

    /// A remote `appointment`: the suggestion and the maintenance picture.
    pub fn appointment(&mut self, store: &Store, now: SystemTime) -> Result<Value, String> {
        sync_from_store(store, &mut self.tracker).map_err(|e| e.to_string())?;
        let report = self.tracker.report(now, &self.faults);
        Ok(json!({
            "suggestion": report.suggestion,
            "maintenance": maintenance_payload(&self.vehicle_id, &report),
        }))
    }
}

fn maintenance_key(report: &Report) -> String {
    let items: Vec<String> = report
        .items
        .iter()
        .map(|i| format!("{}={}", i.item, i.state.as_str()))
        .collect();
    let trends: Vec<String> = report
        .trends
        .iter()
        .map(|t| {
            format!(
                "{}{}",
                t.rule,
                t.code
                    .as_deref()
                    .map(|c| format!(":{c}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    format!("items[{}] trends[{}]", items.join(","), trends.join(","))
}

fn appointment_key(report: &Report) -> String {
    match &report.suggestion {
        None => String::new(),
        Some(s) => format!(
            "{} items[{}] codes[{}] trends[{}]",
            s.urgency.as_str(),
            s.items.join(","),
            s.codes.join(","),
            s.trends.join(",")
        ),
    }
}

fn urgency(u: crate::dtcdb::Urgency) -> Urgency {
    match u {
        crate::dtcdb::Urgency::Low => Urgency::Low,
        crate::dtcdb::Urgency::Medium => Urgency::Medium,
        crate::dtcdb::Urgency::High => Urgency::High,
        crate::dtcdb::Urgency::Critical => Urgency::Critical,
    }
}

fn due_state(s: crate::maintenance::DueState) -> DueState {
    match s {
        crate::maintenance::DueState::Ok => DueState::Ok,
        crate::maintenance::DueState::DueSoon => DueState::DueSoon,
        crate::maintenance::DueState::Due => DueState::Due,
        crate::maintenance::DueState::Overdue => DueState::Overdue,
    }
}

pub fn maintenance_payload(vehicle_id: &str, report: &Report) -> MaintenancePayload {
    MaintenancePayload {
        header: Header::new(vehicle_id),
        odometer_km: report.odometer_km,
        km_per_day: report.km_per_day,
        items: report
            .items
            .iter()
            .map(|i| MaintenanceItem {
                item: i.item.clone(),
                name: Some(i.name.clone()),
                state: due_state(i.state),
                due_km: i.due_km.map(|k| k.round()),
                remaining_km: i.remaining_km.map(|k| k.round()),
                due_date: i.due_date.map(Timestamp),
                predicted_due: i.predicted_due.map(Timestamp),
                last_done: i.last_done.map(Timestamp),
            })
            .collect(),
        trends: report
            .trends
            .iter()
            .map(|t| TrendAlert {
                rule: t.rule.clone(),
                urgency: urgency(t.urgency),
                item: t.item.clone(),
                code: t.code.clone(),
                value: (t.value * 100.0).round() / 100.0,
                threshold: t.threshold,
                since: Timestamp(crate::maintenance::from_secs(t.since)),
                explanation: t.explanation.clone(),
            })
            .collect(),
    }
}

pub fn appointment_payload(vehicle_id: &str, report: &Report) -> Option<AppointmentPayload> {
    let s = report.suggestion.as_ref()?;
    let date = humantime::format_rfc3339_seconds(s.window_start).to_string();
    Some(AppointmentPayload {
        header: Header::new(vehicle_id),
        appointment_id: format!("{vehicle_id}-{}", date.get(..10).unwrap_or("0000-00-00")),
        urgency: urgency(s.urgency),
        window_start: Timestamp(s.window_start),
        window_end: Timestamp(s.window_end),
        skills: s.skills.iter().map(|k| k.key().to_string()).collect(),
        items: s.items.clone(),
        codes: s.codes.clone(),
        trends: s.trends.clone(),
        ride_along: s.ride_along.clone(),
        labour_hours: Some(s.labour_hours),
        parts: s.parts.clone(),
        summary: s.summary.clone(),
    })
}

/// The stage's task: events from the diagnosis stage, jobs from the command handler.
pub async fn maintenance_task(
    mut events: mpsc::Receiver<VehicleEvent>,
    mut jobs: mpsc::Receiver<MaintJob>,
    outbox: OutboxHandle<Store>,
    mut maintainer: Maintainer,
) {
    let (mut events_open, mut jobs_open) = (true, true);
    loop {
        let outgoing = tokio::select! {
            event = events.recv(), if events_open => match event {
                Some(event) => {
                    let now = SystemTime::now();
                    tokio::task::block_in_place(|| {
                        maintainer.on_event(&mut outbox.lock(), &event, now)
                    })
                    .unwrap_or_else(|e| {
                        warn!(error = %e, "maintenance stage cannot use the store");
                        Vec::new()
                    })
                }
                None => {
                    events_open = false;
                    Vec::new()
                }
            },
            job = jobs.recv(), if jobs_open => match job {
                Some(job) => run_job(&mut maintainer, &outbox, job),
                None => {
                    jobs_open = false;
                    Vec::new()
                }
            },
            else => break,
        };
        send_all(&outbox, outgoing);
    }
    let now = SystemTime::now();
    if let Err(e) =
        tokio::task::block_in_place(|| maintainer.persist(&mut outbox.lock(), now, true))
    {
        warn!(error = %e, "cannot save the maintenance state on shutdown");
    }
}

fn run_job(
    maintainer: &mut Maintainer,
    outbox: &OutboxHandle<Store>,
    job: MaintJob,
) -> Vec<Outgoing> {
    let now = SystemTime::now();
    match job {
        MaintJob::ServiceDone {
            item,
            odometer_km,
            reply,
        } => {
            let result = tokio::task::block_in_place(|| {
                maintainer.service_done(&mut outbox.lock(), &item, odometer_km, now)
            });
            match result {
                Ok((value, out)) => {
                    let _ = reply.send(Ok(value));
                    out
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                    Vec::new()
                }
            }
        }
        MaintJob::Appointment { reply } => {
            let result =
                tokio::task::block_in_place(|| maintainer.appointment(&outbox.lock(), now));
            let _ = reply.send(result);
            Vec::new()
        }
    }
}

/// Pushes each message and remembers it as published only once it is in the outbox; a
/// refused push is tried again at the next change or evaluation (the state key is not set).
fn send_all(outbox: &OutboxHandle<Store>, outgoing: Vec<Outgoing>) {
    for o in outgoing {
        let pushed = tokio::task::block_in_place(|| outbox.push(o.message));
        match pushed {
            Ok(_) => {
                if let Err(e) =
                    tokio::task::block_in_place(|| outbox.lock().set_state(o.key, &o.value))
                {
                    warn!(error = %e, "cannot remember what was published; it may be sent again");
                }
            }
            Err(e) => warn!(error = %e, "outbox refused a maintenance message; it will be retried"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obd::pid::decode_pid;
    use crate::reader::EcuReading;
    use crate::transport::EcuAddress;

    fn config(dir: &std::path::Path) -> Config {
        let text = format!(
            "vehicle_id = \"VAN-7\"\n[adapter]\nport = \"/dev/null\"\n[store]\npath = \"{}\"\n",
            dir.join("agent.db").display()
        );
        crate::config::parse_str(&text, "test").unwrap()
    }

    fn samples(at: SystemTime, odometer_km: f64) -> VehicleEvent {
        let reading = |pid: u8, data: &[u8]| EcuReading {
            ecu: EcuAddress::Can11(0x7E8),
            reading: decode_pid(pid, data).unwrap(),
        };
        let km = ((odometer_km * 10.0) as u32).to_be_bytes();
        VehicleEvent::Samples {
            at,
            readings: vec![
                reading(0x0C, &[0x0B, 0xB8]),
                reading(0x0D, &[50]),
                reading(0xA6, &km),
            ],
            adapter_voltage: None,
        }
    }

    #[test]
    fn service_06_results_become_stored_evidence_that_survives_a_restart() {
        use crate::maintenance::Signal;
        use crate::obd::test_results::decode_test_results;
        use crate::reader::EcuTestResults;
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut store = Store::open(&config.store.path, Default::default()).unwrap();
        let t0 = SystemTime::now();
        let mut m = Maintainer::open(&store, &config, t0).unwrap();
        // Catalyst B1: 0.63 of a 0.75 limit, 84 % used.
        let results = decode_test_results(&[0x21, 0x80, 0x03, 0, 63, 0, 0, 0, 75]).unwrap();
        let event = VehicleEvent::TestResults {
            at: t0,
            results: vec![EcuTestResults {
                ecu: EcuAddress::Can11(0x7E8),
                results,
            }],
        };
        m.on_event(&mut store, &event, t0).unwrap();
        let kept = store
            .observations_since(t0 - Duration::from_secs(60))
            .unwrap();
        let catalyst: Vec<_> = kept
            .iter()
            .filter(|o| o.signal == Signal::CatalystLimitUsedPct)
            .collect();
        assert_eq!(catalyst.len(), 1, "{kept:?}");
        assert!((catalyst[0].value - 84.0).abs() < 1e-9);
    }

    #[test]
    fn the_adapters_voltage_while_parked_is_the_resting_voltage() {
        use crate::maintenance::Signal;
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut store = Store::open(&config.store.path, Default::default()).unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(4 * 3600);
        let mut m = Maintainer::open(&store, &config, t0).unwrap();
        m.on_event(&mut store, &samples(t0, 50_000.0), t0).unwrap();
        // Parked overnight: no ECU answers, the adapter still reads the battery.
        let parked = |at: SystemTime, volts: f32| VehicleEvent::Samples {
            at,
            readings: Vec::new(),
            adapter_voltage: Some(volts),
        };
        for (hours, volts) in [(0.1, 12.3), (1.0, 12.2), (2.5, 12.05), (3.5, 12.04)] {
            let at = t0 + Duration::from_secs_f64(hours * 3600.0);
            m.on_event(&mut store, &parked(at, volts), at).unwrap();
        }
        let start = t0 + Duration::from_secs(4 * 3600);
        m.on_event(&mut store, &samples(start, 50_000.0), start)
            .unwrap();
        let kept = store
            .observations_since(t0 - Duration::from_secs(60))
            .unwrap();
        let rest: Vec<f64> = kept
            .iter()
            .filter(|o| o.signal == Signal::BatteryRestV)
            .map(|o| o.value)
            .collect();
        // The last reading at least two hours after the engine stopped, not the surface charge.
        assert_eq!(rest.len(), 1, "{kept:?}");
        assert!((rest[0] - 12.04).abs() < 1e-3, "{rest:?}");
    }

    fn topics(out: &[Outgoing]) -> Vec<&str> {
        out.iter().map(|o| o.message.topic.as_str()).collect()
    }

    fn store_published(store: &mut Store, out: Vec<Outgoing>) {
        for o in out {
            store.set_state(o.key, &o.value).unwrap();
        }
    }

    #[test]
    fn messages_go_out_once_per_change_and_not_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut store = Store::open(&config.store.path, Default::default()).unwrap();
        let t0 = SystemTime::now();
        let mut m = Maintainer::open(&store, &config, t0).unwrap();
        let oil = crate::maintenance::ServiceRecord {
            item: "engine_oil".into(),
            odometer_km: 40_000.0,
            at: t0 - Duration::from_secs(200 * 86_400),
        };
        store.add_service_record(&oil, "cli").unwrap();
        // 49,950 km: 50 km left on the oil, due soon: one maintenance, one appointment.
        let out = m.on_event(&mut store, &samples(t0, 49_950.0), t0).unwrap();
        assert_eq!(
            topics(&out),
            ["fleet/VAN-7/maintenance", "fleet/VAN-7/appointments"]
        );
        let payload: Value = serde_json::from_slice(&out[0].message.payload).unwrap();
        assert_eq!(payload["items"][0]["state"], "due_soon", "{payload}");
        store_published(&mut store, out);
        // The next polls change nothing that is published.
        for i in 1..20 {
            let at = t0 + Duration::from_secs(i * 10);
            let out = m.on_event(&mut store, &samples(at, 49_950.1), at).unwrap();
            assert!(out.is_empty(), "poll {i}: {:?}", topics(&out));
        }
        // A restart remembers what was sent.
        let at = t0 + Duration::from_secs(300);
        drop(m);
        let mut m = Maintainer::open(&store, &config, at).unwrap();
        assert!(m.publish(&mut store, at).unwrap().is_empty());
        // The hotline records the oil change: a new maintenance message, no visit any more.
        let err = m.service_done(&mut store, "wipers", None, at).unwrap_err();
        assert!(err.contains("known items"), "{err}");
        let err = m
            .service_done(&mut store, "oil", Some(-1.0), at)
            .unwrap_err();
        assert!(err.contains("0 or more"), "{err}");
        let (result, out) = m.service_done(&mut store, "oil", None, at).unwrap();
        assert_eq!(result["recorded"]["item"], "engine_oil");
        assert_eq!(topics(&out), ["fleet/VAN-7/maintenance"]);
        let answer = m.appointment(&store, at).unwrap();
        assert!(answer["suggestion"].is_null(), "{answer}");
    }

    #[test]
    fn a_code_read_becomes_part_of_the_suggested_visit() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut store = Store::open(&config.store.path, Default::default()).unwrap();
        let t0 = SystemTime::now();
        let mut m = Maintainer::open(&store, &config, t0).unwrap();
        let code = "P0301".parse().unwrap();
        let event = VehicleEvent::Codes {
            at: t0,
            dtcs: vec![crate::reader::ReportedDtc {
                code,
                kind: DtcKind::Stored,
                ecu: EcuAddress::Can11(0x7E8),
            }],
            answered: Vec::new(),
            mil: true,
            freeze_frames: Vec::new(),
            live: crate::diagnosis::Snapshot::default(),
        };
        let out = m.on_event(&mut store, &event, t0).unwrap();
        let appointment = out
            .iter()
            .find(|o| o.message.topic.ends_with("/appointments"))
            .expect("an appointment");
        let payload: Value = serde_json::from_slice(&appointment.message.payload).unwrap();
        assert_eq!(payload["codes"], serde_json::json!(["P0301"]));
        assert_eq!(payload["urgency"], "high");
        assert_eq!(
            payload["appointment_id"].as_str().unwrap().get(..6),
            Some("VAN-7-")
        );
    }
}
