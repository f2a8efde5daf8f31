//! `obd-agent scan`: the technician's intake report.

use std::io::Write;

use clap::Args;

use super::connect::ConnectArgs;
use super::error::CliError;
use super::format;
use crate::reader::{ScanReport, VehicleReader, scan};

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print the report as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// The agent's configuration: its database adds maintenance due to the suggested visit
    /// (default: /etc/obd-agent/config.toml when it exists).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

pub async fn run(args: &ScanArgs, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    eprintln!("connecting to the adapter...");
    let mut transport = args.connect.connect().await?;
    let mut reader = VehicleReader::new(transport.as_mut());
    let mut progress = |step: &str| eprintln!("{step}...");
    let report = scan(&mut reader, &mut progress).await?;
    let appointment = appointment(&report, args.config.as_deref())?;
    let text = if args.json {
        let mut json = crate::triage::ScanJson::new(&report);
        json.appointment = appointment;
        format::json_line(&json)
    } else {
        let mut text = render(&report);
        text.push_str("\n\n");
        text.push_str(&super::service::suggestion_lines(appointment.as_ref()).join("\n"));
        text
    };
    writeln!(out, "{text}").map_err(|source| CliError::Io {
        what: "stdout".into(),
        source,
    })
}

/// The visit for this scan's faults; with the agent's database, maintenance due joins it.
fn appointment(
    report: &ScanReport,
    config: Option<&std::path::Path>,
) -> Result<Option<crate::maintenance::Suggestion>, CliError> {
    use crate::maintenance::{FaultInput, RuleSet, Schedule, suggest};
    let now = std::time::SystemTime::now();
    let faults: Vec<FaultInput> = crate::triage::assess(report)
        .findings
        .iter()
        .map(FaultInput::from_finding)
        .collect();
    let default = std::path::Path::new(crate::config::DEFAULT_PATH);
    let path = match config {
        Some(p) => Some(p),
        None if default.exists() => Some(default),
        None => None,
    };
    let tracker = match path {
        Some(path) => {
            let config = crate::config::load(path).map_err(|e| CliError::Usage(e.to_string()))?;
            let store = crate::store::Store::open(
                &config.store.path,
                crate::store::StoreOptions::default(),
            );
            match store {
                Ok(store) => crate::agent::maintain::load_tracker(
                    &store,
                    config.maintenance.tracker_settings(),
                    now,
                )
                .ok(),
                Err(e) => {
                    eprintln!("maintenance not included: {e:#}");
                    None
                }
            }
        }
        None => None,
    };
    Ok(match tracker {
        Some(mut t) => t.report(now, &faults).suggestion,
        None => suggest(
            now,
            &faults,
            &[],
            &[],
            Schedule::embedded(),
            RuleSet::embedded(),
        ),
    })
}

fn render(report: &ScanReport) -> String {
    let mut lines = Vec::new();
    let link = &report.link;
    let protocol = link
        .protocol
        .map_or("unknown protocol".to_string(), |p| p.to_string());
    lines.push(format!(
        "Adapter   {} on {}, {protocol}",
        link.adapter, link.port
    ));
    if let Some(v) = report.battery_voltage {
        lines.push(format!("Battery   {} V", format::number(f64::from(v))));
    }
    lines.push(format!(
        "VIN       {}",
        report.vin.as_deref().unwrap_or("not reported")
    ));
    let stored = report
        .dtcs
        .iter()
        .filter(|d| d.kind == crate::reader::DtcKind::Stored)
        .count();
    lines.push(format!(
        "MIL       {} ({stored} stored code{})",
        if report.mil { "ON" } else { "off" },
        if stored == 1 { "" } else { "s" }
    ));
    lines.push(String::new());
    lines.extend(super::triage::render_codes(report));
    for frame in &report.freeze_frames {
        lines.push(String::new());
        let cause = frame
            .dtc
            .map_or(String::new(), |d| format!(", stored by {d}"));
        lines.push(format!("Freeze frame (ECU {}{cause})", frame.ecu));
        for r in &frame.readings {
            lines.push(format!("  {}", format::reading(&r.reading)));
        }
    }
    for ecu in &report.ecus {
        let Some(monitor) = &ecu.monitor else {
            continue;
        };
        lines.push(String::new());
        let address = ecu.ecu.map_or("?".to_string(), |a| a.to_string());
        let name = ecu
            .name
            .as_deref()
            .map_or(String::new(), |n| format!(" {n}"));
        lines.push(format!(
            "Readiness (ECU {address}{name}, {:?} ignition)",
            monitor.ignition
        ));
        for m in monitor.monitors.iter().filter(|m| m.supported) {
            let state = if m.complete {
                "complete"
            } else {
                "NOT complete"
            };
            lines.push(format!("  {:<32} {state}", m.name));
        }
    }
    if !report.snapshot.is_empty() {
        lines.push(String::new());
        lines.push("Live values".to_string());
        for r in &report.snapshot {
            lines.push(format!("  [{}] {}", r.ecu, format::reading(&r.reading)));
        }
    }
    if !report.warnings.is_empty() {
        lines.push(String::new());
        lines.push("Warnings".to_string());
        for w in &report.warnings {
            lines.push(format!("  {w}"));
        }
    }
    lines.join("\n")
}
