//! `obd-agent demo`: the whole agent against the simulated `developing` car, with an MQTT
//! broker and a service-centre subscriber in the same process, printing what the centre
//! receives as the car's faults develop. `--scan` keeps the earlier demo (scans through an
//! emulated ELM327 on a pty).

mod broker;
mod centre;
mod lines;
mod scan;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use clap::Args;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::error::CliError;
use super::sim::wait_for_stop;
use crate::agent::poller::Connector;
use crate::config::{self, Config};
use crate::sim::scenario::DEVELOPING_TIMELINE;
use crate::sim::{Scenario, SimLatency};
use crate::transport::sim::SimTransport;
use crate::transport::{Transport, TransportError};
use centre::{Centre, Received};

const VEHICLE_ID: &str = "DEMO-001";
/// Simulated seconds after the last step of the timeline before the default end: time for
/// the agent to read the codes once more and for the alert to arrive.
const AFTER_LAST_STEP_S: f64 = 10.0;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long to run (e.g. 30s, 2m). Default: until the developing car's story is told,
    /// about a minute at the default speed.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Simulated seconds per real second (the timeline spans 100 simulated seconds).
    #[arg(long, default_value_t = 2.0)]
    pub speed: f64,
    /// Use this MQTT broker instead of the embedded one, e.g. mqtt://localhost:1883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Print each message as one JSON line, {"topic": ..., "payload": <as received>}.
    #[arg(long)]
    pub json: bool,
    /// The earlier demo instead: scan simulated cars through an emulated ELM327 on a pty.
    #[arg(long)]
    pub scan: bool,
    /// With --scan: the scenarios to scan, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "misfire,overheating,multi-ecu",
        requires = "scan"
    )]
    pub scenarios: Vec<String>,
}

pub async fn run(args: &DemoArgs, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    if args.scan {
        return scan::run(&args.scenarios, out).await;
    }
    if !(args.speed.is_finite() && (0.1..=100.0).contains(&args.speed)) {
        return Err(CliError::Usage(format!(
            "--speed {} is outside 0.1-100",
            args.speed
        )));
    }
    let (url, embedded) = match &args.broker {
        Some(url) => (url.clone(), false),
        None => (format!("mqtt://{}", broker::start()?), true),
    };
    let store_dir = scratch_dir()?;
    let result = demo(args, &url, embedded, &store_dir, out).await;
    // The store is the demo's alone; a later demo starts from a new car.
    let _ = std::fs::remove_dir_all(&store_dir);
    result
}

async fn demo(
    args: &DemoArgs,
    url: &str,
    embedded: bool,
    store_dir: &std::path::Path,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        what: "stdout".into(),
        source,
    };
    let config = demo_config(url, store_dir)?;
    let Some(mqtt) = config.mqtt.clone() else {
        return Err(CliError::Failed("the demo config has no [mqtt]".into()));
    };
    let duration = args.duration.unwrap_or_else(|| {
        let last = DEVELOPING_TIMELINE[DEVELOPING_TIMELINE.len() - 1].0 as f64;
        Duration::from_secs_f64((last + AFTER_LAST_STEP_S) / args.speed)
    });
    let filter = format!("fleet/{VEHICLE_ID}/#");
    if !args.json {
        let which = if embedded { "embedded" } else { "external" };
        writeln!(
            out,
            "obd-agent demo: vehicle {VEHICLE_ID}, simulated car 'developing' at {}x speed, \
             {which} broker {url}, {}",
            args.speed,
            humantime::format_duration(Duration::from_secs(duration.as_secs()))
        )
        .map_err(io)?;
        writeln!(out, "the car's timeline (real seconds at this speed):").map_err(io)?;
        for (at, what) in DEVELOPING_TIMELINE {
            writeln!(out, "  {:>6.1}s  {what}", at as f64 / args.speed).map_err(io)?;
        }
        writeln!(out, "what the service centre receives on {filter}:").map_err(io)?;
    }
    let (tx, mut rx) = mpsc::channel::<Received>(256);
    let centre = Centre::subscribe(&mqtt.host, mqtt.port, &filter, tx).await?;
    let started = Instant::now();
    let connector = DemoConnector { speed: args.speed };
    let stop = async move {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = wait_for_stop() => {}
        }
    };
    let mut agent = tokio::spawn(crate::agent::run_with(config, connector, stop));
    let show = |m: Received, out: &mut (dyn Write + Send)| -> Result<(), CliError> {
        if args.json {
            let payload: serde_json::Value = serde_json::from_slice(&m.payload)
                .unwrap_or_else(|_| String::from_utf8_lossy(&m.payload).into());
            let line = serde_json::json!({ "topic": m.topic, "payload": payload });
            writeln!(out, "{line}").map_err(io)?;
        } else {
            writeln!(
                out,
                "{}",
                lines::line(started.elapsed(), &m.topic, &m.payload)
            )
            .map_err(io)?;
        }
        out.flush().map_err(io)
    };
    let finished = loop {
        tokio::select! {
            Some(m) = rx.recv() => show(m, out)?,
            result = &mut agent => break result,
        }
    };
    // The agent has published its offline status on the way out; let it arrive.
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        show(m, out)?;
    }
    centre.disconnect().await;
    match finished {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CliError::Failed(format!("the agent stopped: {e}"))),
        Err(e) => Err(CliError::Failed(format!("the agent task failed: {e}"))),
    }
}

/// The agent's configuration for the demo: the same validation as a real config file, then
/// poll intervals below the file's minimums, since the car's clock runs faster than life.
fn demo_config(url: &str, store_dir: &std::path::Path) -> Result<Config, CliError> {
    let text = format!(
        r#"vehicle_id = "{VEHICLE_ID}"
[adapter]
sim = "developing"
[store]
path = "{}"
[mqtt]
url = "{url}"
version = 3
keep_alive = "5s"
"#,
        store_dir.join("agent.db").display()
    );
    let mut config =
        config::parse_str(&text, "<demo>").map_err(|e| CliError::Usage(e.to_string()))?;
    config.poll.dtc_interval = Duration::from_secs(1);
    config.poll.pid_interval = Duration::from_secs(1);
    config.poll.telemetry_interval = Duration::from_secs(10);
    Ok(config)
}

/// A fresh directory for the demo's SQLite store.
fn scratch_dir() -> Result<PathBuf, CliError> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("obd-agent-demo-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
        what: dir.display().to_string(),
        source,
    })?;
    Ok(dir)
}

/// The `developing` car with its clock sped up, and an adapter that answers promptly: with
/// the ELM327's 200 ms timeouts a full code read would span several simulated steps.
struct DemoConnector {
    speed: f64,
}

#[async_trait]
impl Connector for DemoConnector {
    async fn connect(&self) -> Result<Box<dyn Transport>, TransportError> {
        let latency = SimLatency {
            ecu_can: Duration::from_millis(5),
            response_timeout: Duration::from_millis(30),
            ..SimLatency::realistic()
        };
        Ok(Box::new(
            SimTransport::new(Scenario::Developing, latency).with_time_scale(self.speed),
        ))
    }
}
