//! `obd-agent explain CODE...`: what a trouble code means, from the embedded database.

use std::io::Write;

use crate::dtcdb::{CodeInfo, DtcDb, Source, system_label};
use crate::obd::dtc::{Dtc, DtcParseError};

/// Arguments of `explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// Trouble codes: a letter P, C, B or U, a digit 0-3 and three hex digits (e.g. P0301).
    #[arg(required = true, value_name = "CODE")]
    pub codes: Vec<String>,
    /// Print JSON (an array with one object per code) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Why `explain` printed nothing or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// Every bad argument is listed, so one run shows all the typos.
    #[error("{}", list(.0))]
    BadCodes(Vec<DtcParseError>),
    #[error("no trouble code given: expected codes like P0301 or U0100")]
    NoCodes,
    #[error("could not write the explanation")]
    Write(#[from] std::io::Error),
    #[error("could not encode the explanation as JSON")]
    Json(#[from] serde_json::Error),
}

fn list(errors: &[DtcParseError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Explains every code, or explains none and names every malformed one.
pub fn run(args: &ExplainArgs, out: &mut dyn Write) -> Result<(), ExplainError> {
    if args.codes.is_empty() {
        return Err(ExplainError::NoCodes);
    }
    let (codes, errors): (Vec<_>, Vec<_>) = args
        .codes
        .iter()
        .map(|text| text.parse::<Dtc>())
        .partition(Result::is_ok);
    if !errors.is_empty() {
        return Err(ExplainError::BadCodes(
            errors.into_iter().filter_map(Result::err).collect(),
        ));
    }
    let db = DtcDb::embedded();
    let infos: Vec<CodeInfo<'_>> = codes
        .into_iter()
        .filter_map(Result::ok)
        .map(|code| db.lookup(code))
        .collect();
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &infos)?;
        writeln!(out)?;
    } else {
        for (i, info) in infos.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            write_text(info, out)?;
        }
    }
    Ok(())
}

fn write_text(info: &CodeInfo<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let source = match info.source {
        Source::Generic => "SAE J2012 generic code".to_string(),
        Source::Manufacturer { make } => format!("{make} (manufacturer description)"),
        Source::RangeOnly => "range only: the rest follows from where the code lies".to_string(),
    };
    writeln!(out, "{}  {}", info.code, info.description)?;
    writeln!(
        out,
        "  system:    {} / {}",
        system_label(info.system),
        info.subsystem
    )?;
    writeln!(out, "  urgency:   {}", info.urgency.as_str())?;
    writeln!(out, "  meaning:   {}", info.meaning)?;
    writeln!(out, "  action:    {}", info.action)?;
    writeln!(out, "  skill:     {} (labour {})", info.skill, info.labour)?;
    writeln!(out, "  source:    {source}")
}
