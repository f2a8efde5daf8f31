//! PID values per second, obd-agent next to python-OBD, on the same simulated adapter: the
//! ELM327 emulator on a pseudo-terminal (`serve_pty`), with realistic timing at 38400 baud
//! and with zero latency. Workload: rpm, speed, coolant temperature and engine load, for N
//! rounds. Also the bytes each tool puts on the serial line per value, and the ceiling in
//! values per second those bytes allow at 38400 baud (8N1: ten bits per byte).
//!
//! `cargo bench --bench pid_rate` (a plain `main`). Each configuration runs three times and
//! the median is printed. Environment: `PID_RATE_ROUNDS` (realistic rounds, default 60; zero
//! latency runs ten times as many), `PID_RATE_RUNS` (default 3).
//!
//! python-OBD runs in a venv under `target/bench-venv`, created with `pip install obd` when
//! missing. Its bytes are counted by relaying its pseudo-terminal to the simulator's in a
//! separate run (the timed runs talk to the simulator directly), once with few rounds and once
//! with more: the difference is the workload's, without python-OBD's start-up.

#[path = "pid_rate/python.rs"]
mod python;
#[path = "pid_rate/wire.rs"]
mod wire;

use std::time::{Duration, Instant};

use obd_agent::reader::VehicleReader;
use obd_agent::sim::{PtyServer, Scenario, SimLatency, SimSettings, serve_pty};
use obd_agent::transport::elm327::link::{Link, PortSpec};
use obd_agent::transport::elm327::{Elm327Options, Elm327Transport};

use wire::{Counted, Counter};

/// rpm, speed, coolant temperature, engine load.
const PIDS: [u8; 4] = [0x0C, 0x0D, 0x05, 0x04];
const BAUD: u32 = 38400;
/// Bytes per second on an 8N1 serial line.
const LINE_BYTES_PER_S: f64 = BAUD as f64 / 10.0;

/// One measured run: values read, time taken, and bytes on the line (host to adapter,
/// adapter to host) for the timed part.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    pub values: u64,
    pub seconds: f64,
    pub sent: u64,
    pub received: u64,
    pub commands: u64,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.values as f64 / self.seconds
    }

    fn per_value(&self) -> PerValue {
        let values = self.values as f64;
        PerValue {
            sent: self.sent as f64 / values,
            received: self.received as f64 / values,
            commands: self.commands as f64 / values,
        }
    }
}

/// Line traffic per value read.
#[derive(Debug, Clone, Copy)]
pub struct PerValue {
    pub sent: f64,
    pub received: f64,
    pub commands: f64,
}

impl PerValue {
    /// Values per second the serial line allows for these bytes.
    fn line_ceiling(&self) -> f64 {
        LINE_BYTES_PER_S / (self.sent + self.received)
    }

    /// The same with the simulated ECU's response time added for every command.
    fn ceiling_with_ecu(&self, ecu: Duration) -> f64 {
        1.0 / (1.0 / self.line_ceiling() + self.commands * ecu.as_secs_f64())
    }
}

pub async fn simulator(latency: &SimLatency) -> PtyServer {
    let settings = SimSettings {
        latency: latency.clone(),
        baud: Some(BAUD),
        ..SimSettings::new(Scenario::Healthy)
    };
    serve_pty(settings, None)
        .await
        .expect("a pty for the simulator")
}

/// obd-agent: the real transport and reader, the link wrapped to count bytes.
async fn ours(latency: &SimLatency, rounds: u32) -> Run {
    let server = simulator(latency).await;
    let port = server.path().to_string_lossy().into_owned();
    let link = Link::open(&PortSpec::parse(&port), BAUD)
        .await
        .expect("open the simulator's pty");
    let counter = Counter::default();
    let mut options = Elm327Options::new(port);
    options.baud = Some(BAUD);
    let mut transport = Elm327Transport::from_link(Counted::new(link, counter.clone()), options);
    transport.initialise().await.expect("initialise");
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.expect("discovery");
    // Warm-up round: the first request after discovery may still carry one-off costs.
    reader.read_pids(&PIDS).await.expect("warm-up");
    counter.reset();
    let start = Instant::now();
    let mut values = 0u64;
    for _ in 0..rounds {
        let readings = reader.read_pids(&PIDS).await.expect("a round of PIDs");
        values += readings.len() as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (sent, received, commands) = counter.get();
    Run {
        values,
        seconds,
        sent,
        received,
        commands,
    }
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    runs[runs.len() / 2]
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

struct Row {
    tool: String,
    rate: Option<Run>,
    /// Line traffic per value, where counted.
    per_value: Option<PerValue>,
    runs: Vec<f64>,
}

fn print_table(latency: &str, ecu: Duration, rows: &[Row]) {
    println!();
    println!("== {latency}");
    println!(
        "{:<22} {:>9} {:>8} {:>8} {:>7} {:>9} {:>9}  runs (values/s)",
        "tool", "values/s", "B/val->", "B/val<-", "cmd/val", "line max", "+ECU max"
    );
    for row in rows {
        let rate = row
            .rate
            .map_or("failed".to_string(), |r| format!("{:.1}", r.per_second()));
        let cells = match row.per_value {
            Some(p) => [
                format!("{:.1}", p.sent),
                format!("{:.1}", p.received),
                format!("{:.2}", p.commands),
                format!("{:.0}", p.line_ceiling()),
                format!("{:.0}", p.ceiling_with_ecu(ecu)),
            ],
            None => [
                "-".to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        };
        let runs: Vec<String> = row.runs.iter().map(|r| format!("{r:.1}")).collect();
        let [sent, received, commands, line, with_ecu] = cells;
        println!(
            "{:<22} {rate:>9} {sent:>8} {received:>8} {commands:>7} {line:>9} {with_ecu:>9}  {}",
            row.tool,
            runs.join(", ")
        );
    }
}

async fn measure(name: &str, latency: SimLatency, rounds: u32, runs: u32, venv: Option<&str>) {
    let mut rows = Vec::new();
    let ours_runs: Vec<Run> = {
        let mut v = Vec::new();
        for _ in 0..runs {
            v.push(ours(&latency, rounds).await);
        }
        v
    };
    let mid = median(ours_runs.clone());
    rows.push(Row {
        tool: "obd-agent".into(),
        rate: Some(mid),
        per_value: Some(mid.per_value()),
        runs: ours_runs.iter().map(Run::per_second).collect(),
    });
    if let Some(python) = venv {
        for fast in [true, false] {
            // python-OBD without `fast` waits out the adapter's timeout on every PID.
            let rounds = if fast { rounds } else { rounds.div_ceil(3) };
            let mut timed = Vec::new();
            for _ in 0..runs {
                match python::rate(python, &latency, rounds, fast).await {
                    Ok(run) => timed.push(run),
                    Err(e) => println!("python-OBD (fast={fast}) failed: {e}"),
                }
            }
            let bytes = python::per_value(python, &latency, fast).await;
            if let Err(e) = &bytes {
                println!("python-OBD (fast={fast}) byte count failed: {e}");
            }
            rows.push(Row {
                tool: format!("python-OBD fast={}", if fast { "True" } else { "False" }),
                rate: (!timed.is_empty()).then(|| median(timed.clone())),
                per_value: bytes.ok(),
                runs: timed.iter().map(Run::per_second).collect(),
            });
        }
    }
    print_table(name, latency.ecu_can, &rows);
}

fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: a quick smoke run only.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        if !benchmarking {
            let run = ours(&SimLatency::zero(), 3).await;
            assert_eq!(run.values, 12, "four values a round");
            println!(
                "pid_rate smoke run: {run:?} (run `cargo bench --bench pid_rate` for figures)"
            );
            return;
        }
        let rounds = env_number("PID_RATE_ROUNDS", 60);
        let runs = env_number("PID_RATE_RUNS", 3);
        println!("workload: rpm, speed, coolant_temp, engine_load; median of {runs} runs");
        let venv = match python::venv().await {
            Ok(python) => Some(python),
            Err(e) => {
                println!("python-OBD is not available, printing obd-agent's figures only: {e}");
                None
            }
        };
        let realistic = format!("realistic latency, {BAUD} baud, {rounds} rounds");
        measure(
            &realistic,
            SimLatency::realistic(),
            rounds,
            runs,
            venv.as_deref(),
        )
        .await;
        let zero = format!("zero latency, {} rounds", rounds * 10);
        measure(
            &zero,
            SimLatency::zero(),
            rounds * 10,
            runs,
            venv.as_deref(),
        )
        .await;
        println!();
        println!(
            "B/val: bytes on the line per value, to the adapter (->) and from it (<-); cmd/val: \
             commands per value.\nline max: values/s those bytes allow at {BAUD} baud \
             ({LINE_BYTES_PER_S} bytes/s; both directions share the time, as an ELM327 answers \
             only after the whole request).\n+ECU max: the same with the simulated ECU's first \
             answer time (12 ms realistic) waited once per command.\nZero latency skips \
             serial time too, so those rates pass the line's ceiling: they measure each tool's \
             own overhead per value."
        );
    });
    // Leftover server tasks end with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
}
