//! Outbox drain rate to a local Mosquitto: how fast a backlog of queued alerts (after days out
//! of coverage, say) reaches the broker. Goal: at least 2,000 messages/s.
//!
//! `cargo bench --bench uplink_drain` (or `-- 20000` for another backlog size). Prints one
//! line per protocol and window; skips loudly if mosquitto is not installed.

#[path = "../tests/support/mosquitto.rs"]
mod mosquitto;
#[path = "support/sample_alert.rs"]
mod sample_alert;

use std::time::{Duration, Instant};

use obd_agent::outbox::{MemoryOutbox, Outbox};
use obd_agent::store::{Store, StoreOptions};
use obd_agent::uplink::topics::{Topics, to_outbox_message};
use obd_agent::uplink::{AcknowledgeBatch, OutboxHandle, ProtocolVersion, Uplink, UplinkConfig};
use tokio::sync::{mpsc, oneshot};

/// Which outbox the backlog sits in.
#[derive(Clone, Copy)]
enum Backing {
    Memory,
    /// The SQLite store in a temporary directory (synchronous=FULL, WAL).
    Sqlite,
}

async fn drain(
    port: u16,
    protocol: ProtocolVersion,
    window: usize,
    backlog: usize,
    backing: Backing,
) -> f64 {
    let vehicle = format!("bench-{window}");
    let topics = Topics::new(&vehicle);
    let messages: Vec<_> = (0..backlog)
        .map(|n| {
            to_outbox_message(&topics, &sample_alert::misfire_alert(&vehicle, n, true))
                .expect("serialize")
        })
        .collect();
    let bytes: usize = messages.iter().map(|m| m.payload.len()).sum();
    let dir = tempfile::tempdir().expect("temporary directory");
    match backing {
        Backing::Memory => {
            let mut outbox = MemoryOutbox::default();
            for message in messages {
                outbox.push(message).expect("push");
            }
            run_drain(outbox, port, protocol, window, backlog, bytes, "memory").await
        }
        Backing::Sqlite => {
            let options = StoreOptions {
                max_bytes: 256 << 20,
                hard_max_bytes: 256 << 20,
                ..StoreOptions::default()
            };
            let mut store = Store::open(dir.path().join("bench.db"), options).expect("store");
            for chunk in messages.chunks(500) {
                store.push_batch(chunk).expect("push");
            }
            run_drain(store, port, protocol, window, backlog, bytes, "sqlite").await
        }
    }
}

async fn run_drain<O: Outbox + AcknowledgeBatch + 'static>(
    outbox: O,
    port: u16,
    protocol: ProtocolVersion,
    window: usize,
    backlog: usize,
    bytes: usize,
    label: &str,
) -> f64 {
    let vehicle = format!("bench-{window}");
    let outbox = OutboxHandle::new(outbox);
    let mut config = UplinkConfig::new("127.0.0.1", port, &vehicle);
    config.protocol = protocol;
    config.window = window;
    let (commands, _keep) = mpsc::channel(1);
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Instant::now();
    let task = tokio::spawn(Uplink::run(config, outbox.clone(), commands, async {
        let _ = stopped.await;
    }));
    let deadline = started + Duration::from_secs(120);
    while outbox.len().expect("len") > 0 {
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    let report = task.await.expect("task").expect("uplink");
    let rate = backlog as f64 / elapsed.as_secs_f64();
    println!(
        "{label:<6} {:<6} window {:>4}: {backlog} alerts ({:.1} MB) in {:>7.3} s = {:>8.0} messages/s \
         (resends {}, connections {})",
        match protocol {
            ProtocolVersion::V311 => "3.1.1",
            ProtocolVersion::V5 => "5",
        },
        window,
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        rate,
        report.delivery.resends,
        report.connections,
    );
    rate
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, without it: then
    // a small smoke run keeps the bench compiled and working without slowing the tests.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let backlog = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(if benchmarking { 10_000 } else { 200 });
    let Some(broker) = mosquitto::Mosquitto::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    if !benchmarking {
        for backing in [Backing::Memory, Backing::Sqlite] {
            runtime.block_on(drain(
                broker.port(),
                ProtocolVersion::V5,
                32,
                backlog,
                backing,
            ));
        }
        return;
    }
    println!("uplink drain to a local Mosquitto (includes connecting)");
    let mut worst = f64::MAX;
    for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for window in [8, 32, 128] {
            let rate = runtime.block_on(drain(
                broker.port(),
                protocol,
                window,
                backlog,
                Backing::Memory,
            ));
            if window == 32 {
                worst = worst.min(rate);
            }
        }
    }
    let verdict = |rate: f64| if rate >= 2000.0 { "met" } else { "NOT met" };
    println!(
        "memory outbox, window 32: at least {worst:.0} messages/s; goal 2,000/s {}",
        verdict(worst)
    );
    let mut sqlite = f64::MAX;
    for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let rate = runtime.block_on(drain(broker.port(), protocol, 32, backlog, Backing::Sqlite));
        sqlite = sqlite.min(rate);
    }
    println!(
        "sqlite store, window 32: at least {sqlite:.0} messages/s; goal 2,000/s {}",
        verdict(sqlite)
    );
}
