//! `obd-agent decode`: raw service responses, e.g. from a customer's log, into values.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::error::CliError;
use super::format;
use crate::obd::dtc::DtcList;
use crate::obd::info::VehicleInfo;
use crate::obd::service::{self, ServiceResponse};

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Responses in hex, one per argument (`41 0C 1A F8` quoted, or `410C1AF8`).
    #[arg(required = true, value_name = "HEX")]
    pub responses: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Decoded<'a> {
    input: &'a str,
    #[serde(flatten)]
    response: ServiceResponse,
}

pub fn run(args: &DecodeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let mut failures = Vec::new();
    for input in &args.responses {
        let decoded = service::parse_hex(input).and_then(|bytes| service::decode_response(&bytes));
        let response = match decoded {
            Ok(response) => response,
            Err(source) => {
                failures.push(CliError::Decode {
                    input: input.clone(),
                    source,
                });
                continue;
            }
        };
        let line = if args.json {
            format::json_line(&Decoded { input, response })
        } else {
            format!("{input}\n{}", describe(&response))
        };
        writeln!(out, "{line}").map_err(|source| CliError::Io {
            what: "stdout".into(),
            source,
        })?;
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => {
            for f in &failures[..n - 1] {
                super::error::report(f);
            }
            Err(failures.remove(n - 1))
        }
    }
}

fn describe(response: &ServiceResponse) -> String {
    let mut lines = Vec::new();
    let codes = |label: &str, list: &DtcList, lines: &mut Vec<String>| {
        let text: Vec<String> = list.codes.iter().map(ToString::to_string).collect();
        let shown = if text.is_empty() {
            "none".to_string()
        } else {
            text.join(", ")
        };
        lines.push(format!("  {label}: {shown}"));
        if let Some(n) = list.declared_count {
            lines.push(format!(
                "  note: the ECU said {n} code(s) but sent {}",
                list.codes.len()
            ));
        }
        if list.truncated {
            lines.push("  note: a trailing byte could not form a code (truncated answer)".into());
        }
    };
    match response {
        ServiceResponse::CurrentData(readings) => {
            for r in readings {
                lines.push(format!("  {}", format::reading(r)));
            }
        }
        ServiceResponse::FreezeFrame(readings) => {
            for (frame, r) in readings {
                lines.push(format!("  frame {frame}: {}", format::reading(r)));
            }
        }
        ServiceResponse::StoredDtcs(list) => codes("stored codes", list, &mut lines),
        ServiceResponse::PendingDtcs(list) => codes("pending codes", list, &mut lines),
        ServiceResponse::PermanentDtcs(list) => codes("permanent codes", list, &mut lines),
        ServiceResponse::ClearAcknowledged => lines.push("  codes cleared (acknowledged)".into()),
        ServiceResponse::VehicleInfo(info) => lines.push(format!("  {}", vehicle_info(info))),
    }
    lines.join("\n")
}

fn vehicle_info(info: &VehicleInfo) -> String {
    match info {
        VehicleInfo::SupportedPids(pids) => {
            let hex: Vec<String> = pids.iter().map(|p| format!("{p:02X}")).collect();
            format!("supported info types: {}", hex.join(" "))
        }
        VehicleInfo::MessageCount { pid, count } => {
            format!("info type {pid:02X} takes {count} message(s)")
        }
        VehicleInfo::Vin(vin) => format!("VIN: {vin}"),
        VehicleInfo::CalibrationIds(ids) => format!("calibration IDs: {}", ids.join(", ")),
        VehicleInfo::Cvns(cvns) => format!("calibration verification numbers: {}", cvns.join(", ")),
        VehicleInfo::EcuName(name) => format!("ECU name: {name}"),
        VehicleInfo::Raw { pid, data } => format!("info type {pid:02X}: {data}"),
    }
}
