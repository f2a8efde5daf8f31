//! `obd-agent run`: the daemon.

use std::path::PathBuf;

use clap::Args;

use super::error::CliError;
use super::sim::wait_for_stop;
use crate::config::{self, DEFAULT_PATH};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file.
    #[arg(long, short, default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    pub check: bool,
}

pub async fn run(args: &RunArgs) -> Result<(), CliError> {
    let config = config::load(&args.config).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.check {
        println!("{}: configuration is valid", args.config.display());
        return Ok(());
    }
    crate::agent::run(config, wait_for_stop())
        .await
        .map_err(|e| CliError::Failed(format!("{e:#}")))
}
