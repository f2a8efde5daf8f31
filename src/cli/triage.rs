//! Scan results as the service centre triages them: findings, most urgent first.

use serde::Serialize;

use crate::diagnosis::{self, CodeObservation, Context, Mil};
use crate::reader::{DtcKind, EcuReading, ScanReport, snapshot};

/// The `scan --json` document: what was read, and what it means.
#[derive(Serialize)]
pub struct ScanJson<'a> {
    #[serde(flatten)]
    pub report: &'a ScanReport,
    pub triage: diagnosis::ScanReport<'static>,
}

impl<'a> ScanJson<'a> {
    pub fn new(report: &'a ScanReport) -> Self {
        ScanJson {
            report,
            triage: assess(report),
        }
    }
}

/// Classifies the codes of a scan with its live values and freeze frame as context.
pub fn assess(report: &ScanReport) -> diagnosis::ScanReport<'static> {
    // OBD-II reports the MIL on or off; "flashing" is visible only on the dashboard.
    let mil = if report.mil { Mil::On } else { Mil::Off };
    let observations: Vec<CodeObservation> = report
        .dtcs
        .iter()
        .map(|d| CodeObservation {
            code: d.code,
            pending: d.kind == DtcKind::Pending,
            stored: d.kind == DtcKind::Stored,
            permanent: d.kind == DtcKind::Permanent,
            mil,
            returned_after_clear: false,
        })
        .collect();
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

/// Text lines for the findings of a scan.
pub fn render_codes(report: &ScanReport) -> Vec<String> {
    let triage = assess(report);
    let mut lines = Vec::new();
    if triage.findings.is_empty() {
        lines.push("No trouble codes.".to_string());
        return lines;
    }
    lines.push("Findings, most urgent first".to_string());
    for finding in &triage.findings {
        let statuses: Vec<String> = finding
            .codes
            .iter()
            .map(|code| {
                let mut kinds: Vec<String> = report
                    .dtcs
                    .iter()
                    .filter(|d| d.code == *code)
                    .map(|d| format!("{} on {}", format!("{:?}", d.kind).to_lowercase(), d.ecu))
                    .collect();
                kinds.dedup();
                format!("{code}: {}", kinds.join(", "))
            })
            .collect();
        lines.push(String::new());
        lines.push(format!(
            "  {:<9} {}",
            finding.urgency.as_str().to_uppercase(),
            finding.title
        ));
        for info in &finding.knowledge {
            lines.push(format!("            {}  {}", info.code, info.description));
        }
        lines.push(format!("            read as   {}", statuses.join("; ")));
        if let Some(info) = finding.knowledge.first() {
            lines.push(format!("            meaning   {}", info.meaning));
            lines.push(format!("            next step {}", info.action));
        }
        lines.push(format!(
            "            workshop  {} ({}), {}",
            finding.skill, finding.subsystem, finding.labour
        ));
        for reason in &finding.reasons {
            lines.push(format!("            why       {reason}"));
        }
    }
    lines
}
