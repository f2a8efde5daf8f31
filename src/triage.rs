//! A scan's codes judged as the service centre triages them: the reader's report plus the
//! diagnosis rules, with live values and the freeze frame as context.

use serde::Serialize;

use crate::diagnosis::{self, CodeObservation, Context, Mil};
use crate::reader::{DtcKind, EcuReading, ReportedDtc, ScanReport, snapshot};

/// The `scan --json` document: what was read, and what it means.
#[derive(Serialize)]
pub struct ScanJson<'a> {
    #[serde(flatten)]
    pub report: &'a ScanReport,
    pub triage: diagnosis::ScanReport<'static>,
    /// One visit for the faults (and maintenance due, when the agent's database is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment: Option<crate::maintenance::Suggestion>,
}

impl<'a> ScanJson<'a> {
    pub fn new(report: &'a ScanReport) -> Self {
        ScanJson {
            report,
            triage: assess(report),
            appointment: None,
        }
    }
}

/// Classifies the codes of a scan with its live values and freeze frame as context.
pub fn assess(report: &ScanReport) -> diagnosis::ScanReport<'static> {
    // OBD-II reports the MIL on or off; "flashing" is visible only on the dashboard.
    let mil = if report.mil { Mil::On } else { Mil::Off };
    let observations: Vec<CodeObservation> =
        report.dtcs.iter().map(|d| observation(d, mil)).collect();
    let frame_readings: Vec<EcuReading> = report
        .freeze_frames
        .iter()
        .flat_map(|f| f.readings.iter().cloned())
        .collect();
    let mut live = snapshot(&report.snapshot);
    if live.battery_v.is_none() {
        live.battery_v = report.battery_voltage;
    }
    let context = Context {
        freeze_frame: (!frame_readings.is_empty()).then(|| snapshot(&frame_readings)),
        live: Some(live),
        ..Context::default()
    };
    diagnosis::scan(&observations, &context)
}

/// A code as read, in the form the diagnosis rules take.
pub fn observation(dtc: &ReportedDtc, mil: Mil) -> CodeObservation {
    CodeObservation {
        code: dtc.code,
        pending: dtc.kind == DtcKind::Pending,
        stored: dtc.kind == DtcKind::Stored,
        permanent: dtc.kind == DtcKind::Permanent,
        mil,
        returned_after_clear: false,
    }
}
