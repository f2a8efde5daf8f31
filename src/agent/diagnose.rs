//! The diagnosis stage: each full read of the codes becomes fault lifecycle changes in the
//! store and the alerts the service centre should get: one per change, not one per poll.
//!
//! | what the store says          | alert                                   |
//! |------------------------------|-----------------------------------------|
//! | new (never seen)             | `new`                                   |
//! | returned after being cleared | `new`, urgency raised by the rules      |
//! | persisting, same urgency     | none                                    |
//! | persisting, urgency changed  | `persisting` (context made it worse or better) |
//! | gone from an ECU that answered | `cleared`                             |

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

type FaultKey = (Dtc, EcuAddress, DtcKind);

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
    /// The urgency last alerted per open fault, so a persisting fault is re-sent only when its
    /// urgency changes.
    alerted: BTreeMap<FaultKey, Urgency>,
}

impl Diagnoser {
    /// Picks up the open faults from the store, so a restart does not re-alert them.
    pub fn new(vehicle_id: &str, store: &Store) -> Result<Self, StoreError> {
        let alerted = store
            .open_faults(vehicle_id)?
            .into_iter()
            .map(|r| ((r.dtc.code, r.dtc.ecu, r.dtc.kind), r.urgency))
            .collect();
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
        // A code back after a clear is a repair that did not hold: the rules raise it.
        let returned: Vec<Dtc> = recorded
            .iter()
            .filter(|(m, _)| *m == Observation::Returned)
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

        let mut alerts = Vec::new();
        for (meaning, record) in &recorded {
            let key = (record.dtc.code, record.dtc.ecu, record.dtc.kind);
            let finding = finding_for(&findings, record.dtc.code);
            let urgency = finding.map_or(record.urgency, |f| f.urgency);
            let event = match meaning {
                Observation::New | Observation::Returned => Some(AlertEvent::New),
                Observation::Persisting if self.alerted.get(&key) != Some(&urgency) => {
                    Some(AlertEvent::Persisting)
                }
                Observation::Persisting => None,
            };
            if let Some(event) = event {
                let frame = read
                    .freeze_frames
                    .iter()
                    .find(|f| f.ecu == record.dtc.ecu && f.dtc == Some(record.dtc.code));
                alerts.push(self.alert(event, record, urgency, finding, frame));
                self.alerted.insert(key, urgency);
            }
        }
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
                self.alerted
                    .remove(&(record.dtc.code, record.dtc.ecu, record.dtc.kind));
                alerts.push(self.alert(AlertEvent::Cleared, &record, record.urgency, None, None));
            }
        }
        Ok(alerts)
    }

    fn alert(
        &self,
        event: AlertEvent,
        record: &FaultRecord,
        urgency: Urgency,
        finding: Option<&Finding<'_>>,
        frame: Option<&EcuFreezeFrame>,
    ) -> AlertPayload {
        let info = DtcDb::embedded().lookup(record.dtc.code);
        let first_seen_ms = record
            .first_seen
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        AlertPayload {
            header: Header::new(&self.vehicle_id),
            // One id per occurrence, from new to cleared: a returned fault gets a new one.
            alert_id: format!(
                "{}:{}:{}:{}:{first_seen_ms}",
                self.vehicle_id,
                record.dtc.code,
                record.dtc.ecu,
                kind_name(record.dtc.kind)
            ),
            event,
            code: record.dtc.code.to_string(),
            description: info.description.to_string(),
            system: format!("{}", info.subsystem),
            urgency: payload_urgency(urgency),
            reasons: finding.map(|f| f.reasons.clone()).unwrap_or_default(),
            status: match record.dtc.kind {
                DtcKind::Stored => CodeStatus::Stored,
                DtcKind::Pending => CodeStatus::Pending,
                DtcKind::Permanent => CodeStatus::Permanent,
            },
            ecu: Some(record.dtc.ecu.to_string()),
            vin: self.vin.clone(),
            freeze_frame: frame.map(|f| freeze_frame(f, record.dtc.code)),
            first_seen: Timestamp(record.first_seen),
            last_seen: Timestamp(record.last_seen),
            cleared_at: record.cleared_at.map(Timestamp),
        }
    }
}

fn finding_for<'f, 'a>(findings: &'f [Finding<'a>], code: Dtc) -> Option<&'f Finding<'a>> {
    findings.iter().find(|f| f.codes.contains(&code))
}

fn kind_name(kind: DtcKind) -> &'static str {
    match kind {
        DtcKind::Stored => "stored",
        DtcKind::Pending => "pending",
        DtcKind::Permanent => "permanent",
    }
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
