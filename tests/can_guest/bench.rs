//! PID values per second over vcan0 against the simulated ECU, printed as `GUEST-BENCH`
//! lines that tests/guest/run.sh repeats in its summary. Figures from a TCG guest are a floor:
//! real hardware runs the same code many times faster, and a real bus at 500 kbit/s carries
//! about 4,000 frames per second.

use std::io::Write;
use std::time::{Duration, Instant};

use obd_agent::obd::service::decode_current_data;
use obd_agent::reader::VehicleReader;
use obd_agent::sim::Scenario;
use obd_agent::sim::can::{CanSimOptions, serve_can};
use obd_agent::transport::socketcan::{SocketCanOptions, SocketCanTransport};
use obd_agent::transport::{ObdRequest, Transport};

use super::{IFACE, in_guest};

const RUN: Duration = Duration::from_secs(1);

/// Printed outside the test harness's capture, so it reaches the console of a passing test.
fn report(what: &str, values: usize, requests: usize, took: Duration) {
    let secs = took.as_secs_f64();
    let line = format!(
        "\nGUEST-BENCH {what}: {:.0} PID values/s ({values} values, {requests} requests, {:.2} ms/request)\n",
        values as f64 / secs,
        secs * 1000.0 / requests.max(1) as f64,
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn bench_pid_values_per_second() {
    if !in_guest("bench_pid_values_per_second") {
        return;
    }
    let _server = serve_can(Scenario::Healthy.build(), IFACE, CanSimOptions::default())
        .await
        .expect("virtual ECUs");
    // Standard timing (P2 50 ms): what a car would get.
    let mut transport = SocketCanTransport::open(SocketCanOptions::new(IFACE))
        .await
        .expect("open vcan0");
    transport.detect().await.expect("the ECU answers");

    // Six PIDs in one request and the answer count known: FF, FC, 2 CF per request.
    let six = ObdRequest::new([0x01, 0x04, 0x05, 0x0C, 0x0D, 0x0F, 0x11]).expecting(1);
    let (mut values, mut requests, start) = (0, 0, Instant::now());
    while start.elapsed() < RUN {
        let answers = transport.request(&six).await.expect("request");
        for a in &answers {
            values += decode_current_data(&a.data[1..]).map_or(0, |r| r.len());
        }
        requests += 1;
    }
    report(
        "transport, 6 PIDs per request, 1 ECU expected",
        values,
        requests,
        start.elapsed(),
    );
    assert!(values > 0);

    // The reader as `obd-agent live` uses it. Two PIDs fit a single frame, so the reader
    // passes the answer count; four do not, and the transport counts from the bitmaps it saw
    // during discovery. Either way the exchange ends with the answer, not after P2.
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.expect("discovery");
    for (label, pids) in [
        ("reader, rpm+speed (single-frame answer)", &[0x0C, 0x0D][..]),
        (
            "reader, rpm+speed+coolant+load (multi-frame; count from the bitmaps)",
            &[0x0C, 0x0D, 0x05, 0x04][..],
        ),
    ] {
        let (mut values, mut rounds, start) = (0, 0, Instant::now());
        while start.elapsed() < RUN {
            values += reader.read_pids(pids).await.expect("read").len();
            rounds += 1;
        }
        report(label, values, rounds, start.elapsed());
    }
}
