//! The link itself: a WiFi-style TCP adapter, real serial timing, and an adapter that goes
//! away (unplugged mid-session, or never there), which must end in an error, not a hang.

mod e2e_common;

use std::time::{Duration, Instant};

use e2e_common::*;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use obd_agent::reader::{DtcKind, VehicleReader};
use obd_agent::sim::{Elm327Emulator, Profile, Scenario, SimLatency, serve_tcp};
use obd_agent::transport::elm327::Elm327Transport;
use obd_agent::transport::{ObdRequest, Transport, TransportError};

/// How long noticing a vanished adapter may take: a write or read error is immediate, a
/// silent link costs one command timeout and one retry of it.
const NOTICE_LIMIT: Duration = Duration::from_secs(8);

#[tokio::test]
async fn a_wifi_adapter_over_tcp_reads_the_same_vehicle() {
    for scenario in [Scenario::MultiEcu, Scenario::LegacyJ1850] {
        let model = scenario.build();
        let server = serve_tcp(
            settings(scenario, Profile::CloneV15),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let mut transport = open_with(options(&server.local_addr().to_string())).await;
        let mut reader = VehicleReader::new(&mut transport);
        bounded("discovery", reader.discover()).await.unwrap();
        let codes = bounded("codes", reader.all_dtcs()).await.unwrap();
        assert_eq!(read_codes(&codes), model_all_codes(&model), "{scenario}");
        let vin = bounded("VIN", reader.vin()).await.unwrap();
        assert_eq!(vin, model.ecus[0].info.vin, "{scenario}");
        let link = transport.link();
        assert_eq!(link.port, server.local_addr().to_string());
        assert_eq!(link.protocol, Some(model.protocol));
    }
}

/// Real timing: CAN frames 12 ms after the request, serial time at 38400 baud, the adapter's
/// own timeouts. The transport's waits must fit around them.
#[tokio::test]
async fn realistic_timing_at_38400_baud() {
    for profile in PROFILES {
        let model = Scenario::Misfire.build();
        let mut settings = settings(Scenario::Misfire, profile);
        settings.latency = SimLatency::realistic();
        settings.baud = Some(38400);
        let server = serve(settings).await;
        let mut transport = open(&server).await;
        let mut reader = VehicleReader::new(&mut transport);
        bounded("discovery", reader.discover()).await.unwrap();
        let codes = bounded("codes", reader.all_dtcs()).await.unwrap();
        assert_eq!(read_codes(&codes), model_all_codes(&model));
        let frames = bounded("freeze frames", reader.freeze_frames())
            .await
            .unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].dtc, model.ecus[0].freeze.map(|f| f.dtc));
        let readings = bounded("live", reader.read_pids(&[0x04, 0x05, 0x0C, 0x0D]))
            .await
            .unwrap();
        assert_eq!(readings.len(), 4, "{readings:?}");
        let outcome = bounded("clear", reader.clear()).await.unwrap();
        assert!(
            outcome
                .remaining
                .iter()
                .all(|d| d.kind == DtcKind::Permanent),
            "{outcome:?}"
        );
    }
}

/// Asks for rpm until the link fails; the error must come quickly and say the link is gone.
async fn ask_until_it_fails(transport: &mut dyn Transport) -> TransportError {
    let started = Instant::now();
    let request = ObdRequest::new([0x01, 0x0C]);
    let err = loop {
        match bounded(
            "a request to a vanished adapter",
            transport.request(&request),
        )
        .await
        {
            Ok(_) => assert!(
                started.elapsed() < NOTICE_LIMIT,
                "still answered {:?} after the adapter went away",
                started.elapsed()
            ),
            Err(e) => break e,
        }
        // The server task stops at its next turn; give it one.
        tokio::task::yield_now().await;
    };
    assert!(
        started.elapsed() < NOTICE_LIMIT,
        "took {:?} to notice",
        started.elapsed()
    );
    assert!(err.needs_reconnect(), "{err}");
    err
}

#[tokio::test]
async fn a_serial_adapter_unplugged_mid_session_is_a_disconnect() {
    let server = serve(settings(Scenario::Healthy, Profile::Genuine)).await;
    let mut transport = open(&server).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    drop(server);
    let err = ask_until_it_fails(&mut transport).await;
    assert!(matches!(err, TransportError::Disconnected), "{err:?}");
}

#[tokio::test]
async fn a_wifi_adapter_switched_off_mid_session_is_a_disconnect() {
    let server = serve_tcp(
        settings(Scenario::Healthy, Profile::Genuine),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut transport = open_with(options(&server.local_addr().to_string())).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    drop(server);
    let err = ask_until_it_fails(&mut transport).await;
    assert!(
        matches!(err, TransportError::Disconnected | TransportError::Io(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_adapter_that_is_not_there_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ttyUSB9");
    let started = Instant::now();
    let err = Elm327Transport::open(options(&missing.to_string_lossy()))
        .await
        .err()
        .expect("no adapter there");
    assert!(matches!(err, TransportError::NoSuchPort { .. }), "{err:?}");
    assert!(err.to_string().contains("plugged in"), "{err}");

    // A WiFi address where nothing listens: a port that was just free.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let err = Elm327Transport::open(options(&addr.to_string()))
        .await
        .err()
        .expect("nothing listens there");
    assert!(matches!(err, TransportError::Open { .. }), "{err:?}");
    assert!(started.elapsed() < NOTICE_LIMIT);
}

/// Serves `emulator` on a fresh pseudo-terminal from a plain thread, so the test can set the
/// emulator up first (an earlier session's commands, a vehicle that changed since). The thread
/// blocks in `read` and ends with the test binary.
fn serve_prepared(mut emulator: Elm327Emulator) -> String {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut termios = tcgetattr(&pty.slave).unwrap();
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).unwrap();
    let path = nix::unistd::ttyname(&pty.slave).unwrap();
    std::thread::spawn(move || {
        // The slave stays open here so the master never sees a hang-up between opens.
        let (master, _slave) = (pty.master, pty.slave);
        let mut buf = [0u8; 256];
        let start = Instant::now();
        // Zero latency: every chunk is written at once.
        while let Ok(n) = nix::unistd::read(&master, &mut buf) {
            for chunk in emulator.feed(&buf[..n], start.elapsed()) {
                if nix::unistd::write(&master, &chunk.bytes).is_err() {
                    return;
                }
            }
        }
    });
    path.to_string_lossy().into_owned()
}

/// The baud-rate probe sent a lone CR, which an ELM327 takes as "repeat the last command":
/// if the tool used before us ended with `04`, opening the port to scan cleared the codes.
#[tokio::test]
async fn opening_a_serial_port_never_repeats_the_previous_sessions_command() {
    let scenario = Scenario::Misfire;
    let mut emulator = settings(scenario, Profile::Genuine).emulator();
    // The previous tool cleared the codes and left; the fault has come back since.
    emulator.feed(b"ATE0\r04\r", Duration::ZERO);
    *emulator.vehicle_mut() = scenario.build();
    let port = serve_prepared(emulator);
    let mut options = options(&port);
    options.baud = None; // as the CLI opens a port: find the rate first
    let mut transport = open_with(options).await;
    let mut reader = VehicleReader::new(&mut transport);
    bounded("discovery", reader.discover()).await.unwrap();
    let codes = bounded("codes", reader.all_dtcs()).await.unwrap();
    assert_eq!(read_codes(&codes), model_all_codes(&scenario.build()));
}
