//! The command line: parses arguments, runs a command, turns errors into advice.

mod clear;
mod connect;
mod decode;
mod demo;
mod error;
pub mod explain;
mod format;
mod live;
mod remote;
mod remote_format;
mod run;
mod scan;
mod service;
mod sim;
mod triage;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

#[derive(Debug, Parser)]
#[command(
    name = "obd-agent",
    version,
    about = "OBD-II diagnostics: read, triage and report a vehicle's faults"
)]
struct Cli {
    /// Log detail: error, warn, info, debug, trace (or RUST_LOG).
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent: poll the vehicle, keep faults, report them over MQTT.
    Run(run::RunArgs),
    /// Intake report: VIN, MIL, trouble codes with triage, freeze frame, readiness, live values.
    Scan(scan::ScanArgs),
    /// Stream live values.
    Live(live::LiveArgs),
    /// Clear trouble codes (asks first), then check they are gone.
    Clear(clear::ClearArgs),
    /// Explain trouble codes: meaning, system, urgency, next step.
    Explain(explain::ExplainArgs),
    /// Run the simulated vehicle behind an emulated ELM327 on a pseudo-terminal or TCP.
    Sim(sim::SimArgs),
    /// The agent against a simulated car whose faults develop, with its own MQTT broker:
    /// prints the alerts as the service centre receives them. No hardware needed.
    Demo(demo::DemoArgs),
    /// Send one command to a vehicle over MQTT (the hotline's client) and print its reply.
    Remote(remote::RemoteArgs),
    /// Decode raw service responses, e.g. `41 0C 1A F8` or `43 01 43 01 96`.
    Decode(decode::DecodeArgs),
    /// Maintenance: set the odometer, record a service done, show what is due and the visit
    /// suggested (on the daemon's database).
    Service(service::ServiceArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The demo's embedded broker logs every client disconnect as an error; quiet it
        // unless asked for by name.
        let quiet = if cli.log.contains("rumqttd") {
            ""
        } else {
            ",rumqttd=off"
        };
        tracing_subscriber::EnvFilter::new(format!("{}{quiet}", cli.log))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // Two workers: the agent's store writes block briefly (fsync) and must not stall the
    // vehicle and MQTT tasks; a Pi has cores to spare.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error::report(&e);
            e.exit_code()
        }
    }
}

async fn run(command: Command) -> Result<(), CliError> {
    let mut stdout = std::io::stdout();
    let result = match command {
        Command::Run(args) => run::run(&args).await,
        Command::Scan(args) => scan::run(&args, &mut stdout).await,
        Command::Live(args) => live::run(&args, &mut stdout).await,
        Command::Clear(args) => {
            let stdin = std::io::stdin();
            clear::run(&args, &mut stdin.lock(), &mut stdout).await
        }
        Command::Remote(args) => remote::run(&args, &mut stdout).await,
        Command::Decode(args) => decode::run(&args, &mut stdout),
        Command::Service(args) => service::run(&args, &mut stdout),
        Command::Explain(args) => {
            explain::run(&args, &mut stdout).map_err(|e| CliError::Usage(e.to_string()))
        }
        Command::Sim(args) => sim::run(&args).await,
        Command::Demo(args) => demo::run(&args, &mut stdout).await,
    };
    let _ = stdout.flush();
    result
}
