//! `obd-agent clear`: clears trouble codes after confirmation, then checks they are gone.

use std::io::{BufRead, Write};

use clap::Args;

use super::connect::ConnectArgs;
use super::error::CliError;
use super::format;
use crate::reader::VehicleReader;

#[derive(Debug, Args)]
pub struct ClearArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

const WARNING: &str = "Clearing erases stored and pending codes, freeze frames and readiness \
monitor results on every ECU. The vehicle will need a full drive cycle before an emissions \
test. Clear trouble codes now? [y/N] ";

pub async fn run(
    args: &ClearArgs,
    input: &mut dyn BufRead,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        what: "terminal".into(),
        source,
    };
    if !args.yes {
        eprint!("{WARNING}");
        let mut answer = String::new();
        input.read_line(&mut answer).map_err(io)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            return Err(CliError::Usage(
                "not cleared: confirm with 'y', or pass --yes".into(),
            ));
        }
    }
    let mut transport = args.connect.connect().await?;
    let mut reader = VehicleReader::new(transport.as_mut());
    reader.discover().await?;
    let outcome = reader.clear().await?;
    if args.json {
        writeln!(out, "{}", format::json_line(&outcome)).map_err(io)?;
    } else {
        for ecu in &outcome.cleared_by {
            writeln!(out, "ECU {ecu}: cleared").map_err(io)?;
        }
        for (ecu, reason) in &outcome.refused_by {
            writeln!(
                out,
                "ECU {ecu}: refused ({reason}); switch the engine off, ignition on, and try again"
            )
            .map_err(io)?;
        }
        for d in &outcome.remaining {
            let note = match d.kind {
                crate::reader::DtcKind::Permanent => {
                    "permanent: the ECU clears it after the fault's monitor passes"
                }
                _ => "still present: the fault is active",
            };
            writeln!(out, "{} (ECU {}): {note}", d.code, d.ecu).map_err(io)?;
        }
        if outcome.remaining.is_empty() {
            writeln!(out, "No trouble codes remain.").map_err(io)?;
        }
    }
    let left = outcome.not_cleared().count();
    if outcome.cleared_by.is_empty() || left > 0 {
        return Err(CliError::Failed(format!(
            "codes not cleared ({} ECU(s) refused, {left} code(s) remain)",
            outcome.refused_by.len()
        )));
    }
    Ok(())
}
