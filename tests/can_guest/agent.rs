//! The agent (reader over `SocketCanTransport`) against the simulator's virtual ECUs on vcan0.

use std::process::Command;
use std::time::{Duration, Instant};

use obd_agent::isotp::{CanId, Config};
use obd_agent::obd::protocol::Protocol;
use obd_agent::reader::{DtcKind, VehicleReader, scan};
use obd_agent::sim::Scenario;
use obd_agent::sim::can::{CanServer, CanSimOptions, Quirk, serve_can};
use obd_agent::sim::scenario::DATASHEET_VIN;
use obd_agent::transport::socketcan::{SocketCanOptions, SocketCanTransport};
use obd_agent::transport::{EcuAddress, ObdRequest, Transport};

use super::framing::check_iso15765_4;
use super::sock::RawCan;
use super::{IFACE, drain, in_guest};

const MS: Duration = Duration::from_millis(1);

async fn ecus(scenario: Scenario, extended: bool, quirks: Vec<(usize, Quirk)>) -> CanServer {
    let options = CanSimOptions {
        extended,
        quirks,
        ..CanSimOptions::default()
    };
    serve_can(scenario.build(), IFACE, options)
        .await
        .expect("virtual ECUs on vcan0")
}

/// The transport with P2 widened for a TCG guest on a shared machine, unless `p2` is given.
async fn agent(p2: Option<Duration>) -> SocketCanTransport {
    let mut options = SocketCanOptions::new(IFACE);
    options.isotp = Config {
        p2: p2.unwrap_or(100 * MS),
        ..Config::default()
    };
    SocketCanTransport::open(options).await.expect("open vcan0")
}

fn codes(dtcs: &[obd_agent::reader::ReportedDtc], ecu: EcuAddress) -> Vec<String> {
    dtcs.iter()
        .filter(|d| d.ecu == ecu)
        .map(|d| d.code.to_string())
        .collect()
}

/// Supported PIDs, live data, the 17-character VIN (multi-frame) and the stored codes of
/// two ECUs (the engine's four span frames) on one id format, with the bus captured.
async fn read_multi_ecu(extended: bool) {
    let observer = RawCan::open(IFACE).expect("observer");
    let server = ecus(Scenario::MultiEcu, extended, vec![]).await;
    let mut transport = agent(None).await;
    let mut reader = VehicleReader::new(&mut transport);
    let found = reader.discover().await.expect("discovery").clone();
    let (engine, tcm) = if extended {
        (
            EcuAddress::Can29(0x18DA_F110),
            EcuAddress::Can29(0x18DA_F118),
        )
    } else {
        (EcuAddress::Can11(0x7E8), EcuAddress::Can11(0x7E9))
    };
    assert_eq!(found.keys().copied().collect::<Vec<_>>(), [engine, tcm]);
    assert!(found[&engine].contains(&0x0C) && found[&tcm].contains(&0x0D));
    let live = reader.read_pids(&[0x0C, 0x0D, 0x05]).await.expect("live");
    assert!(
        live.iter()
            .any(|r| r.ecu == engine && r.reading.pid == 0x0C)
    );
    assert!(live.iter().any(|r| r.ecu == tcm && r.reading.pid == 0x0D));
    assert_eq!(
        reader.vin().await.expect("vin").as_deref(),
        Some(DATASHEET_VIN)
    );
    let stored = reader.dtcs(DtcKind::Stored).await.expect("codes");
    assert_eq!(codes(&stored, engine), ["P0171", "P0174", "P0300", "P0302"]);
    assert_eq!(codes(&stored, tcm), ["P0715"]);
    let protocol = transport.link().protocol;
    let expected = if extended {
        Protocol::Can29_500
    } else {
        Protocol::Can11_500
    };
    assert_eq!(protocol, Some(expected));
    drop(server);
    let census = check_iso15765_4(&drain(&observer), extended);
    assert!(census.first_frames >= 3, "VIN, codes, bitmaps: {census:?}");
    assert_eq!(census.first_frames, census.flow_controls);
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_reads_two_ecus_on_11_bit_ids() {
    if in_guest("agent_reads_two_ecus_on_11_bit_ids") {
        read_multi_ecu(false).await;
    }
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_finds_29_bit_ids_after_11_bit_silence() {
    if in_guest("agent_finds_29_bit_ids_after_11_bit_silence") {
        read_multi_ecu(true).await;
    }
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_waits_for_an_ecu_that_answers_response_pending() {
    if !in_guest("agent_waits_for_an_ecu_that_answers_response_pending") {
        return;
    }
    let observer = RawCan::open(IFACE).expect("observer");
    let _server = ecus(
        Scenario::MultiEcu,
        false,
        vec![(0, Quirk::PendingFirst(400 * MS))],
    )
    .await;
    // P2 stays 50 ms: only the 7F 09 78 keeps the exchange open for the engine's answer.
    let mut transport = agent(Some(50 * MS)).await;
    let start = Instant::now();
    let answers = transport
        .request(&ObdRequest::new([0x09, 0x02]))
        .await
        .expect("request");
    assert!(start.elapsed() >= 400 * MS, "{:?}", start.elapsed());
    assert_eq!(answers.len(), 1, "the 78 is not an answer: {answers:02X?}");
    assert_eq!(answers[0].ecu, EcuAddress::Can11(0x7E8));
    assert_eq!(&answers[0].data[3..], DATASHEET_VIN.as_bytes());
    let frames = drain(&observer);
    assert!(
        frames
            .iter()
            .any(|(id, d)| *id == CanId::Standard(0x7E8) && d[..4] == [3, 0x7F, 0x09, 0x78])
    );
    check_iso15765_4(&frames, false);
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_reports_the_others_when_an_ecu_never_answers() {
    if !in_guest("agent_reports_the_others_when_an_ecu_never_answers") {
        return;
    }
    let _server = ecus(Scenario::MultiEcu, false, vec![(0, Quirk::Silent)]).await;
    let mut transport = agent(None).await;
    let mut reader = VehicleReader::new(&mut transport);
    let start = Instant::now();
    let found = reader.discover().await.expect("discovery").clone();
    assert_eq!(
        found.keys().copied().collect::<Vec<_>>(),
        [EcuAddress::Can11(0x7E9)]
    );
    let stored = reader.dtcs(DtcKind::Stored).await.expect("codes");
    assert_eq!(codes(&stored, EcuAddress::Can11(0x7E9)), ["P0715"]);
    assert!(codes(&stored, EcuAddress::Can11(0x7E8)).is_empty());
    // Discovery (01 00, 01 20, 01 40) and 03: each waits P2 (100 ms here), never more.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_does_not_take_a_late_answer_for_the_next_one() {
    if !in_guest("agent_does_not_take_a_late_answer_for_the_next_one") {
        return;
    }
    // The TCM answers well after P2 and inside the next request's window; the margins are
    // wide because the guest is emulated and may be starved by a busy host.
    let _server = ecus(Scenario::MultiEcu, false, vec![(1, Quirk::Late(400 * MS))]).await;
    let mut transport = agent(Some(150 * MS)).await;
    let first = transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .expect("request");
    assert_eq!(first.len(), 1, "the TCM answers after P2: {first:02X?}");
    for pid in [0x0D, 0x0C, 0x05] {
        let answers = transport
            .request(&ObdRequest::new([0x01, pid]))
            .await
            .expect("request");
        assert!(
            answers.iter().all(|a| a.data[..2] == [0x41, pid]),
            "a late 41 00 passed for 41 {pid:02X}: {answers:02X?}"
        );
    }
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn scan_and_clear_over_socketcan() {
    if !in_guest("scan_and_clear_over_socketcan") {
        return;
    }
    let _server = ecus(Scenario::Misfire, false, vec![]).await;
    let mut transport = agent(None).await;
    let mut reader = VehicleReader::new(&mut transport);
    let report = scan(&mut reader, &mut |_| {}).await.expect("scan");
    assert_eq!(report.link.adapter, "SocketCAN");
    assert_eq!(report.link.protocol, Some(Protocol::Can11_500));
    assert_eq!(
        report.battery_voltage, None,
        "a CAN interface cannot measure pin 16"
    );
    assert_eq!(report.vin.as_deref(), Some(DATASHEET_VIN));
    assert!(report.mil);
    let stored: Vec<String> = report
        .dtcs
        .iter()
        .filter(|d| d.kind == DtcKind::Stored)
        .map(|d| d.code.to_string())
        .collect();
    assert_eq!(stored, ["P0300", "P0301"]);
    assert!(!report.freeze_frames.is_empty());
    assert!(report.snapshot.iter().any(|r| r.reading.pid == 0x0C));
    // `obd-agent clear` does this after asking.
    let cleared = reader.clear().await.expect("clear");
    assert_eq!(cleared.cleared_by, [EcuAddress::Can11(0x7E8)]);
    assert_eq!(cleared.not_cleared().count(), 0, "{:?}", cleared.remaining);
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn silence_with_can_errors_points_at_the_bitrate() {
    if !in_guest("silence_with_can_errors_points_at_the_bitrate") {
        return;
    }
    // No ECUs; a controller reports bus-off while the agent listens, as one plugged into a
    // bus at the wrong bitrate does.
    let mut transport = agent(None).await;
    let noise = std::thread::spawn(|| {
        let raw = RawCan::open(IFACE).expect("raw socket");
        std::thread::sleep(20 * MS);
        raw.send_error_frame(0x40).expect("error frame");
    });
    let err = transport.detect().await.expect_err("nobody answers");
    noise.join().expect("noise thread");
    let text = err.to_string();
    assert!(
        text.contains("bus-off") && text.contains("bitrate"),
        "{text}"
    );
    // Without errors, silence is just silence.
    let err = transport.detect().await.expect_err("nobody answers");
    assert!(!err.to_string().contains("bus-off"), "{err}");
}

fn ip(args: &str) {
    let status = Command::new("ip")
        .args(args.split(' '))
        .status()
        .expect("run ip");
    assert!(status.success(), "ip {args}");
}

#[tokio::test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
async fn agent_recovers_when_the_interface_goes_down_or_away() {
    if !in_guest("agent_recovers_when_the_interface_goes_down_or_away") {
        return;
    }
    // Its own interface: the other tests share vcan0.
    const IF: &str = "vcan7";
    ip(&format!("link add dev {IF} type vcan"));
    ip(&format!("link set {IF} up"));
    let server = serve_can(Scenario::Healthy.build(), IF, CanSimOptions::default())
        .await
        .expect("ECUs on vcan7");
    let mut options = SocketCanOptions::new(IF);
    options.isotp.p2 = 100 * MS;
    let mut transport = SocketCanTransport::open(options).await.expect("open");
    let rpm = ObdRequest::new([0x01, 0x0C]).expecting(1);
    assert_eq!(transport.request(&rpm).await.expect("up").len(), 1);
    for (break_it, mend_it) in [
        (
            format!("link set {IF} down"),
            vec![format!("link set {IF} up")],
        ),
        (
            format!("link del {IF}"),
            vec![
                format!("link add dev {IF} type vcan"),
                format!("link set {IF} up"),
            ],
        ),
    ] {
        ip(&break_it);
        let err = transport.request(&rpm).await.expect_err(&break_it);
        assert!(err.needs_reconnect(), "{break_it}: {err}");
        let again = transport.request(&rpm).await.expect_err("still broken");
        assert!(again.needs_reconnect(), "{break_it}: {again}");
        for cmd in &mend_it {
            ip(cmd);
        }
        // The simulator reopens its socket every 50 ms; the agent on its next request.
        let start = Instant::now();
        loop {
            match transport.request(&rpm).await {
                Ok(answers) if answers.len() == 1 => break,
                other => assert!(start.elapsed() < Duration::from_secs(3), "{other:?}"),
            }
            tokio::time::sleep(20 * MS).await;
        }
    }
    drop(server);
    ip(&format!("link del {IF}"));
}
