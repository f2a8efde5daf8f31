//! The diagnosis stage: each full read of the codes becomes fault lifecycle changes in the
//! store and the alerts the service centre should get: one per change, not one per poll.
//!
//! A fault is a code from one ECU. The store keeps one record per list that carries it
//! (pending, stored, permanent); the service centre gets one alert stream per fault, whose
//! `status` is the most advanced list it is on (pending, then stored, then permanent).
//!
//! | what the store says          | alert                                   |
//! |------------------------------|-----------------------------------------|
//! | new (never seen)             | `new`                                   |
//! | returned after being cleared | `new`, urgency raised by the rules      |
//! | persisting, same urgency and status | none                             |
//! | persisting, urgency or status changed | `persisting` (context made it worse or better, or the code matured) |
//! | gone from every list of an ECU that answered | `cleared`               |

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::json;

use crate::diagnosis::{self, CodeObservation, Context, Finding, Mil, Snapshot};
use crate::dtcdb::{DtcDb, Urgency};
use crate::obd::dtc::Dtc;
use crate::obd::pid::ValueKind;
use crate::reader::{DtcKind, EcuFreezeFrame, ReportedDtc, snapshot};
use crate::store::{FaultObservation, FaultRecord, Observation, Store, StoreError};
use crate::transport::EcuAddress;
use crate::triage::observation;
use crate::uplink::payload::{
    self, AlertEvent, AlertPayload, CodeStatus, FreezeFrame, Header, PidValue, Timestamp,
};

/// One fault: a code from one ECU, whichever lists carry it.
type FaultKey = (Dtc, EcuAddress);

/// What the service centre last heard of an open fault.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Alerted {
    urgency: Urgency,
    status: DtcKind,
    /// Start of the occurrence: part of its alert id, so every step of it carries the same one.
    first_seen: SystemTime,
}

/// How far a code has got: pending (seen once), stored (confirmed), permanent (kept by the
/// ECU until its monitor passes again, even through a clear).
fn maturity(kind: DtcKind) -> u8 {
    match kind {
        DtcKind::Pending => 0,
        DtcKind::Stored => 1,
        DtcKind::Permanent => 2,
    }
}

/// One full read of the codes, as the poller reports it.
pub struct CodesRead<'a> {
    pub at: SystemTime,
    pub dtcs: &'a [ReportedDtc],
    pub answered: &'a [(DtcKind, EcuAddress)],
    pub mil: bool,
    pub freeze_frames: &'a [EcuFreezeFrame],
    pub live: Snapshot,
}

pub struct Diagnoser {
    vehicle_id: String,
    vin: Option<String>,
    /// What was last alerted per open fault, so a persisting fault is re-sent only when its
    /// urgency or status changes.
    alerted: BTreeMap<FaultKey, Alerted>,
}

impl Diagnoser {
    /// Picks up the open faults from the store, so a restart does not re-alert them.
    pub fn new(vehicle_id: &str, store: &Store) -> Result<Self, StoreError> {
        let mut alerted: BTreeMap<FaultKey, Alerted> = BTreeMap::new();
        for record in store.open_faults(vehicle_id)? {
            let seen = Alerted {
                urgency: record.urgency,
                status: record.dtc.kind,
                first_seen: record.first_seen,
            };
            alerted
                .entry((record.dtc.code, record.dtc.ecu))
                .and_modify(|known| {
                    if maturity(seen.status) > maturity(known.status) {
                        known.status = seen.status;
                        known.urgency = seen.urgency;
                    }
                    known.first_seen = known.first_seen.min(seen.first_seen);
                })
                .or_insert(seen);
        }
        Ok(Diagnoser {
            vehicle_id: vehicle_id.to_string(),
            vin: None,
            alerted,
        })
    }

    pub fn set_vin(&mut self, vin: Option<String>) {
        if vin.is_some() {
            self.vin = vin;
        }
    }

    /// Records a read in the store and returns the alerts it calls for.
    pub fn on_codes(
        &mut self,
        store: &mut Store,
        read: &CodesRead<'_>,
    ) -> Result<Vec<AlertPayload>, StoreError> {
        let mil = if read.mil { Mil::On } else { Mil::Off };
        let frame_readings: Vec<_> = read
            .freeze_frames
            .iter()
            .flat_map(|f| f.readings.iter().cloned())
            .collect();
        let context = Context {
            freeze_frame: (!frame_readings.is_empty()).then(|| snapshot(&frame_readings)),
            live: Some(read.live),
            ..Context::default()
        };
        let mut observations: Vec<CodeObservation> =
            read.dtcs.iter().map(|d| observation(d, mil)).collect();
        let mut findings = diagnosis::classify(&observations, &context);

        let mut recorded = Vec::with_capacity(read.dtcs.len());
        for dtc in read.dtcs {
            let finding = finding_for(&findings, dtc.code);
            let fault = FaultObservation {
                vehicle_id: self.vehicle_id.clone(),
                dtc: *dtc,
                urgency: finding.map_or(Urgency::Medium, |f| f.urgency),
                detail: json!({ "finding": finding.map(|f| f.title.clone()) }),
            };
            let (meaning, record) = store.record_fault(&fault, read.at)?;
            recorded.push((meaning, record));
        }
        // A code back after a clear is a repair that did not hold: the rules raise it. A list
        // taking a code back while another list kept it open (pending again on a new drive
        // while still stored) is no return: the fault never went away.
        let returned: Vec<Dtc> = recorded
            .iter()
            .filter(|(m, r)| {
                *m == Observation::Returned && !self.alerted.contains_key(&(r.dtc.code, r.dtc.ecu))
            })
            .map(|(_, r)| r.dtc.code)
            .collect();
        if !returned.is_empty() {
            for o in observations
                .iter_mut()
                .filter(|o| returned.contains(&o.code))
            {
                o.returned_after_clear = true;
            }
            findings = diagnosis::classify(&observations, &context);
        }

        // The lists each fault is on in this read; the most advanced one speaks for it.
        let mut present: BTreeMap<FaultKey, Vec<&FaultRecord>> = BTreeMap::new();
        for (_, record) in &recorded {
            present
                .entry((record.dtc.code, record.dtc.ecu))
                .or_default()
                .push(record);
        }
        let mut alerts = Vec::new();
        for (key, records) in &present {
            let Some(record) = most_advanced(records) else {
                continue;
            };
            let finding = finding_for(&findings, key.0);
            let urgency = finding.map_or(record.urgency, |f| f.urgency);
            let known = self.alerted.get(key).copied();
            let event = match known {
                None => AlertEvent::New,
                Some(k) if k.urgency != urgency || k.status != record.dtc.kind => {
                    AlertEvent::Persisting
                }
                Some(_) => continue,
            };
            let first_seen = match known {
                Some(k) => k.first_seen,
                None => earliest(records),
            };
            let frame = read
                .freeze_frames
                .iter()
                .find(|f| f.ecu == key.1 && f.dtc == Some(key.0));
            let step = Step {
                event,
                urgency,
                first_seen,
            };
            alerts.push(self.alert(step, record, finding, frame));
            self.alerted.insert(
                *key,
                Alerted {
                    urgency,
                    status: record.dtc.kind,
                    first_seen,
                },
            );
        }
        // A fault is cleared when the last list carrying it drops it; a list dropping it while
        // another still has it is a change of status, alerted above.
        let mut gone: BTreeMap<FaultKey, Vec<FaultRecord>> = BTreeMap::new();
        for kind in DtcKind::ALL {
            let answered: Vec<EcuAddress> = read
                .answered
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, e)| *e)
                .collect();
            for record in
                store.clear_missing(&self.vehicle_id, kind, &answered, read.dtcs, read.at)?
            {
                let key = (record.dtc.code, record.dtc.ecu);
                if !present.contains_key(&key) {
                    gone.entry(key).or_default().push(record);
                }
            }
        }
        for (key, records) in gone {
            let refs: Vec<&FaultRecord> = records.iter().collect();
            let Some(record) = most_advanced(&refs) else {
                continue;
            };
            let known = self.alerted.remove(&key);
            let step = Step {
                event: AlertEvent::Cleared,
                urgency: known.map_or(record.urgency, |k| k.urgency),
                first_seen: known.map_or_else(|| earliest(&refs), |k| k.first_seen),
            };
            alerts.push(self.alert(step, record, None, None));
        }
        Ok(alerts)
    }

    /// The alert for one step of a fault, `record` being its most advanced list.
    fn alert(
        &self,
        step: Step,
        record: &FaultRecord,
        finding: Option<&Finding<'_>>,
        frame: Option<&EcuFreezeFrame>,
    ) -> AlertPayload {
        let info = DtcDb::embedded().lookup(record.dtc.code);
        let first_seen_ms = step
            .first_seen
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        AlertPayload {
            header: Header::new(&self.vehicle_id),
            // One id per occurrence, from new to cleared: a returned fault gets a new one.
            alert_id: format!(
                "{}:{}:{}:{first_seen_ms}",
                self.vehicle_id, record.dtc.code, record.dtc.ecu
            ),
            event: step.event,
            code: record.dtc.code.to_string(),
            description: info.description.to_string(),
            system: format!("{}", info.subsystem),
            urgency: payload_urgency(step.urgency),
            reasons: finding.map(|f| f.reasons.clone()).unwrap_or_default(),
            status: match record.dtc.kind {
                DtcKind::Stored => CodeStatus::Stored,
                DtcKind::Pending => CodeStatus::Pending,
                DtcKind::Permanent => CodeStatus::Permanent,
            },
            ecu: Some(record.dtc.ecu.to_string()),
            vin: self.vin.clone(),
            freeze_frame: frame.map(|f| freeze_frame(f, record.dtc.code)),
            first_seen: Timestamp(step.first_seen),
            last_seen: Timestamp(record.last_seen),
            cleared_at: record.cleared_at.map(Timestamp),
        }
    }
}

/// Which step of a fault an alert reports.
struct Step {
    event: AlertEvent,
    urgency: Urgency,
    first_seen: SystemTime,
}

fn most_advanced<'r>(records: &[&'r FaultRecord]) -> Option<&'r FaultRecord> {
    records.iter().copied().max_by_key(|r| maturity(r.dtc.kind))
}

fn earliest(records: &[&FaultRecord]) -> SystemTime {
    records
        .iter()
        .map(|r| r.first_seen)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn finding_for<'f, 'a>(findings: &'f [Finding<'a>], code: Dtc) -> Option<&'f Finding<'a>> {
    findings.iter().find(|f| f.codes.contains(&code))
}

fn payload_urgency(urgency: Urgency) -> payload::Urgency {
    match urgency {
        Urgency::Low => payload::Urgency::Low,
        Urgency::Medium => payload::Urgency::Medium,
        Urgency::High => payload::Urgency::High,
        Urgency::Critical => payload::Urgency::Critical,
    }
}

fn freeze_frame(frame: &EcuFreezeFrame, code: Dtc) -> FreezeFrame {
    let values = frame
        .readings
        .iter()
        .flat_map(|r| {
            r.reading.values.iter().filter_map(move |v| match v.value {
                ValueKind::Number(n) => Some(PidValue {
                    pid: format!("{:02X}", r.reading.pid),
                    name: v.key.to_string(),
                    value: n,
                    unit: v.unit.to_string(),
                }),
                _ => None,
            })
        })
        .collect();
    FreezeFrame {
        frame: 0,
        code: code.to_string(),
        values,
    }
}

#[cfg(test)]
mod tests;
