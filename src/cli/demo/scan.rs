//! `obd-agent demo --scan`: the whole read path with no hardware. Each scenario's simulated vehicle
//! is served by the ELM327 emulator on a real pseudo-terminal, and obd-agent reads it through
//! its serial transport exactly as it reads an adapter in a car.

use std::io::Write;

use crate::cli::connect::{ConnectArgs, ProtocolChoice, scenario_names};
use crate::cli::error::CliError;
use crate::cli::scan::{ScanArgs, run as scan};
use crate::sim::{Scenario, SimSettings, serve_pty};

pub async fn run(scenarios: &[String], out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        what: "stdout".into(),
        source,
    };
    for name in scenarios {
        let scenario: Scenario = name.parse().map_err(|e: crate::sim::SimError| {
            CliError::Usage(format!("{e}; known scenarios: {}", scenario_names()))
        })?;
        let server = serve_pty(SimSettings::new(scenario), None)
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let port = server.path().display().to_string();
        writeln!(
            out,
            "\n=== {}: {} (emulated ELM327 on {port})\n",
            scenario.name(),
            scenario.description()
        )
        .map_err(io)?;
        let args = ScanArgs {
            connect: ConnectArgs {
                port: Some(port),
                baud: None,
                protocol: ProtocolChoice(None),
                sim: None,
                can: None,
            },
            json: false,
            config: None,
        };
        scan(&args, out).await?;
        drop(server);
    }
    Ok(())
}
