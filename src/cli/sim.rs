//! `obd-agent sim`: the simulated vehicle behind an emulated ELM327, for any OBD tool.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::connect::scenario_names;
use super::error::CliError;
use crate::sim::{Profile, Scenario, SimLatency, SimSettings, serve_pty, serve_tcp};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// What the vehicle has: healthy, misfire, overheating, abs-fault, hybrid-battery, ...
    #[arg(long, default_value = "healthy")]
    pub scenario: String,
    /// Serve on a pseudo-terminal, with a symlink at this path (e.g. /tmp/obd-sim).
    #[arg(long)]
    pub pty: Option<PathBuf>,
    /// Serve on TCP like a WiFi adapter (e.g. 127.0.0.1:35000).
    #[arg(long)]
    pub tcp: Option<SocketAddr>,
    /// realistic (bus and serial timing of a real car and adapter) or zero.
    #[arg(long, default_value = "realistic")]
    pub latency: String,
    /// genuine (ELM327 v2.1 command set) or clone (a v1.5 clone lacking some commands).
    #[arg(long, default_value = "genuine")]
    pub profile: String,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
}

pub async fn run(args: &SimArgs) -> Result<(), CliError> {
    if args.list {
        for s in Scenario::ALL {
            println!("{:<16} {}", s.name(), s.description());
        }
        return Ok(());
    }
    let usage = |e: crate::sim::SimError| CliError::Usage(e.to_string());
    let scenario: Scenario = args.scenario.parse().map_err(|e: crate::sim::SimError| {
        CliError::Usage(format!("{e}; known scenarios: {}", scenario_names()))
    })?;
    let mut settings = SimSettings::new(scenario);
    settings.latency = args.latency.parse::<SimLatency>().map_err(usage)?;
    settings.profile = args.profile.parse::<Profile>().map_err(usage)?;
    let failed = |e: crate::sim::SimError| CliError::Failed(e.to_string());
    let pty = match (&args.pty, &args.tcp) {
        (None, Some(_)) => None,
        (link, _) => Some(
            serve_pty(settings.clone(), link.as_deref())
                .await
                .map_err(failed)?,
        ),
    };
    let tcp = match args.tcp {
        Some(addr) => Some(serve_tcp(settings, addr).await.map_err(failed)?),
        None => None,
    };
    if let Some(pty) = &pty {
        println!(
            "ELM327 on {} (scenario {})",
            pty.path().display(),
            scenario.name()
        );
    }
    if let Some(tcp) = &tcp {
        println!(
            "ELM327 on tcp {} (scenario {})",
            tcp.local_addr(),
            scenario.name()
        );
    }
    println!(
        "try: obd-agent scan --port {}",
        match (&pty, &tcp) {
            (Some(p), _) => p.path().display().to_string(),
            (None, Some(t)) => t.local_addr().to_string(),
            _ => String::new(),
        }
    );
    wait_for_stop().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
