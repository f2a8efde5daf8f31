//! `obd-agent live`: streams PID values until stopped or for a given duration.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::connect::ConnectArgs;
use super::error::CliError;
use super::format;
use crate::obd::pid::{self, ValueKind};
use crate::reader::VehicleReader;
use crate::transport::EcuAddress;

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// PIDs by name or hex number, comma-separated (rpm,speed,coolant_temp or 0C,0D,05).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rpm,speed,coolant_temp,engine_load"
    )]
    pub pids: Vec<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Pause between rounds in milliseconds (0: as fast as the vehicle answers).
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u64,
    /// One JSON object per value and line.
    #[arg(long)]
    pub json: bool,
    /// List the PID names and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Serialize)]
struct Sample<'a> {
    timestamp: String,
    ecu: EcuAddress,
    pid: &'a str,
    value: &'a ValueKind,
    unit: &'a str,
}

pub async fn run(args: &LiveArgs, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        what: "stdout".into(),
        source,
    };
    if args.list {
        for def in pid::all_pids() {
            writeln!(out, "{:02X}  {:<28} {}", def.pid, def.key, def.name).map_err(io)?;
        }
        return Ok(());
    }
    let pids = VehicleReader::resolve_pids(&args.pids)?;
    let mut transport = args.connect.connect().await?;
    let mut reader = VehicleReader::new(transport.as_mut());
    reader.discover().await?;
    let unsupported: Vec<&String> = args
        .pids
        .iter()
        .zip(&pids)
        .filter(|(_, p)| !reader.supports(**p))
        .map(|(n, _)| n)
        .collect();
    if unsupported.len() == pids.len() {
        return Err(crate::reader::ReadError::Unsupported(args.pids.join(", ")).into());
    }
    for name in unsupported {
        eprintln!("note: no ECU supports {name}; skipping it");
    }
    let deadline = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let interval = Duration::from_millis(args.interval_ms);
    loop {
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Ok(());
        }
        let round = tokio::select! {
            r = reader.read_pids(&pids) => r?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let timestamp = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        for r in &round {
            for v in &r.reading.values {
                let line = if args.json {
                    format::json_line(&Sample {
                        timestamp: timestamp.clone(),
                        ecu: r.ecu,
                        pid: v.key,
                        value: &v.value,
                        unit: v.unit,
                    })
                } else {
                    format!("{timestamp} [{}] {:<24} {}", r.ecu, v.key, format::value(v))
                };
                writeln!(out, "{line}").map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
    }
}
