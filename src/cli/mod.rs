//! The command line. Placeholder until the commands land.
use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
pub mod explain;
