//! `obd-agent sim`: the simulated vehicle behind an emulated ELM327, for any OBD tool.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::connect::scenario_names;
use super::error::CliError;
use crate::sim::can::{CanSimOptions, serve_can};
use crate::sim::{Profile, Scenario, SimLatency, SimSettings, serve_pty, serve_tcp};

/// The innermost cause, which for CAN errors is the advice.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cause = e.source();
    let mut text = String::new();
    while let Some(c) = cause {
        text = c.to_string();
        cause = c.source();
    }
    text
}

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
    /// Serve the vehicle's ECUs on this CAN interface (e.g. vcan0) instead of an ELM327.
    #[arg(long, value_name = "IFACE", conflicts_with_all = ["pty", "tcp"])]
    pub can: Option<String>,
    /// With --can: 29-bit identifiers (18DB33F1 / 18DAF1xx) instead of 11-bit.
    #[arg(long, requires = "can")]
    pub extended: bool,
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
    if let Some(iface) = &args.can {
        let options = CanSimOptions {
            extended: args.extended,
            ..CanSimOptions::default()
        };
        let server = serve_can(scenario.build(), iface, options)
            .await
            .map_err(|e| CliError::Failed(format!("{e}: {}", source_text(&e))))?;
        let ids: Vec<String> = server
            .response_ids()
            .iter()
            .map(|id| id.to_string())
            .collect();
        println!(
            "ECUs {} on {iface} (scenario {})",
            ids.join(", "),
            scenario.name()
        );
        println!("try: obd-agent scan --can {iface}");
        wait_for_stop().await;
        return Ok(());
    }
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
