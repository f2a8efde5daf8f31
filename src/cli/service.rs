//! `obd-agent service`: the maintenance record of the vehicle, on the daemon's own database
//! (the store path of the config), safe to use while the daemon runs: readings and services
//! are appended; the daemon picks them up on its next evaluation.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};

use super::error::CliError;
use super::format;
use crate::agent::maintain::{faults_from, load_tracker, maintenance_payload};
use crate::config::{self, Config, DEFAULT_PATH};
use crate::maintenance::tracker::Report;
use crate::maintenance::{DueState, FaultInput, MaintError, Tracker};
use crate::store::{Store, StoreOptions};

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Configuration file (its [store] path is the database used).
    #[arg(long, short, default_value = DEFAULT_PATH, global = true)]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: ServiceCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Set the odometer reading (at install or intake, or to correct it), km.
    Odometer {
        #[arg(allow_negative_numbers = true)]
        km: f64,
        /// Accept a value below the current reading (a wrong earlier value).
        #[arg(long)]
        force: bool,
    },
    /// Record a maintenance item as done now (oil, air_filter, brake_fluid, ...).
    Done {
        item: String,
        /// The odometer at the service, km (default: the current reading).
        #[arg(long, allow_negative_numbers = true)]
        odometer: Option<f64>,
        /// When it was done, YYYY-MM-DD (default: now): for entering the service history at
        /// installation. Needs --odometer.
        #[arg(long)]
        date: Option<String>,
    },
    /// The schedule: each item's due distance and date, trend alerts, the visit suggested.
    Status {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &ServiceArgs, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let config = config::load(&args.config).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut store = open_store(&config)?;
    let now = SystemTime::now();
    let mut tracker = load_tracker(&store, config.maintenance.tracker_settings(), now)
        .map_err(|e| CliError::Failed(format!("{e:#}")))?;
    let usage = |e: MaintError| CliError::Usage(e.to_string());
    let failed = |e: crate::store::StoreError| CliError::Failed(format!("{e:#}"));
    let text = match &args.command {
        ServiceCommand::Odometer { km, force } => {
            tracker.set_odometer(*km, *force, now).map_err(usage)?;
            store
                .add_odometer_setting(*km, *force, now)
                .map_err(failed)?;
            format!("odometer set to {} km", format::number(*km))
        }
        ServiceCommand::Done {
            item,
            odometer,
            date,
        } => {
            let at = match date {
                None => now,
                Some(d) => past_date(d, now, odometer.is_some())?,
            };
            let before = tracker.state.odometer.km;
            let record = tracker.record_service(item, *odometer, at).map_err(usage)?;
            // A reading taken now moves the odometer on; a back-dated one does not.
            if date.is_none() && before.is_none_or(|b| record.odometer_km > b) {
                store
                    .add_odometer_setting(record.odometer_km, false, now)
                    .map_err(failed)?;
            }
            store.add_service_record(&record, "cli").map_err(failed)?;
            let status = tracker
                .statuses(now)
                .into_iter()
                .find(|s| s.item == record.item);
            let next = status.map_or(String::new(), |s| format!("; next {}", next_due(&s)));
            format!(
                "{} recorded as done at {} km{next}",
                record.item,
                format::number(record.odometer_km)
            )
        }
        ServiceCommand::Status { json } => {
            let faults = current_faults(&store, &config);
            let report = tracker.report(now, &faults);
            if *json {
                let payload = maintenance_payload(&config.vehicle_id, &report);
                format::json_line(&serde_json::json!({
                    "maintenance": payload,
                    "suggestion": report.suggestion,
                }))
            } else {
                render(&report, &tracker)
            }
        }
    };
    writeln!(out, "{text}").map_err(|source| CliError::Io {
        what: "stdout".into(),
        source,
    })
}

fn past_date(text: &str, now: SystemTime, has_odometer: bool) -> Result<SystemTime, CliError> {
    let at = humantime::parse_rfc3339_weak(&format!("{} 00:00:00", text.trim()))
        .map_err(|_| CliError::Usage(format!("--date {text:?} is not a date like 2026-03-31")))?;
    if at > now {
        return Err(CliError::Usage(format!(
            "--date {text} is in the future: record a service once it is done"
        )));
    }
    if !has_odometer {
        return Err(CliError::Usage(
            "--date needs --odometer: the reading at that service (today's is not it)".into(),
        ));
    }
    Ok(at)
}

fn open_store(config: &Config) -> Result<Store, CliError> {
    let options = StoreOptions {
        max_bytes: config.store.max_bytes,
        ..StoreOptions::default()
    };
    Store::open(&config.store.path, options).map_err(|e| {
        CliError::Failed(format!(
            "{e:#} (the daemon's database, from [store] path in the config)"
        ))
    })
}

/// The faults the daemon has open, with the urgency it gave them.
fn current_faults(store: &Store, config: &Config) -> Vec<FaultInput> {
    let Ok(open) = store.open_faults(&config.vehicle_id) else {
        return Vec::new();
    };
    let dtcs: Vec<_> = open.iter().map(|f| f.dtc).collect();
    let mut faults = faults_from(&dtcs, false);
    for f in &mut faults {
        for r in open
            .iter()
            .filter(|r| f.codes.contains(&r.dtc.code.to_string()))
        {
            f.urgency = f.urgency.max(r.urgency);
        }
    }
    faults
}

fn date(t: Option<SystemTime>) -> String {
    t.map_or("-".to_string(), |t| {
        humantime::format_rfc3339_seconds(t)
            .to_string()
            .get(..10)
            .unwrap_or("-")
            .to_string()
    })
}

fn next_due(s: &crate::maintenance::ItemStatus) -> String {
    match (s.due_km, s.due_date) {
        (Some(km), Some(_)) => format!(
            "at {} km or on {}",
            format::number(km.round()),
            date(s.due_date)
        ),
        (Some(km), None) => format!("at {} km", format::number(km.round())),
        (None, _) => format!("on {}", date(s.due_date)),
    }
}

fn render(report: &Report, tracker: &Tracker) -> String {
    let mut lines = Vec::new();
    lines.push(format!(
        "Odometer  {}",
        report.odometer_km.map_or(
            "unknown (set it: obd-agent service odometer <km>)".to_string(),
            |k| format!("{} km", format::number(k))
        )
    ));
    lines.push(format!(
        "Usage     {}",
        report
            .km_per_day
            .map_or("not enough history yet (3 days)".to_string(), |k| {
                format!("{} km/day (last 14 days)", format::number(k))
            })
    ));
    lines.push(String::new());
    lines.push(format!(
        "{:<20} {:<9} {:>10} {:>10} {:<11} {:<11} {:<11}",
        "item", "state", "due km", "left km", "due date", "predicted", "last done"
    ));
    for i in &report.items {
        let state = match i.state {
            DueState::Ok => "ok",
            DueState::DueSoon => "DUE SOON",
            DueState::Due => "DUE",
            DueState::Overdue => "OVERDUE",
        };
        let km = |v: Option<f64>| v.map_or("-".to_string(), |k| format::number(k.round()));
        lines.push(format!(
            "{:<20} {:<9} {:>10} {:>10} {:<11} {:<11} {:<11}",
            i.item,
            state,
            km(i.due_km),
            km(i.remaining_km),
            date(i.due_date),
            date(i.predicted_due),
            date(i.last_done)
        ));
    }
    lines.push(String::new());
    if report.trends.is_empty() {
        lines.push(format!(
            "Trends    nothing unusual ({} observations in the last 60 days)",
            tracker.observations().len()
        ));
    } else {
        lines.push("Trends".to_string());
        for t in &report.trends {
            let code = t
                .code
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            lines.push(format!(
                "  {:<8} {}{code}: {}",
                t.urgency.as_str(),
                t.rule,
                t.explanation
            ));
        }
    }
    lines.push(String::new());
    lines.extend(suggestion_lines(report.suggestion.as_ref()));
    lines.join("\n")
}

/// The appointment suggestion as text (also used by `scan`).
pub fn suggestion_lines(s: Option<&crate::maintenance::Suggestion>) -> Vec<String> {
    let Some(s) = s else {
        return vec!["Visit     none needed: nothing due, no faults".to_string()];
    };
    let mut lines = vec![
        format!("Visit     {}", s.summary),
        format!(
            "          urgency {}, between {} and {}",
            s.urgency.as_str(),
            humantime::format_rfc3339_seconds(s.window_start),
            humantime::format_rfc3339_seconds(s.window_end)
        ),
    ];
    let skills: Vec<&str> = s.skills.iter().map(|k| k.key()).collect();
    lines.push(format!(
        "          skills {}; about {} h",
        skills.join(", "),
        format::number(s.labour_hours)
    ));
    if !s.items.is_empty() || !s.codes.is_empty() {
        lines.push(format!(
            "          items {}; codes {}",
            if s.items.is_empty() {
                "none".to_string()
            } else {
                s.items.join(", ")
            },
            if s.codes.is_empty() {
                "none".to_string()
            } else {
                s.codes.join(", ")
            }
        ));
    }
    if !s.parts.is_empty() {
        lines.push(format!("          parts likely: {}", s.parts.join(", ")));
    }
    lines
}
