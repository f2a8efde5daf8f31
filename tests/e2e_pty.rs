//! Every scenario read end to end: the real ELM327 transport on a real pseudo-terminal served
//! by the simulator, with both adapter profiles. What should be read comes from the
//! scenario's vehicle model, so a scenario that changes cannot make these tests lie.

mod e2e_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use e2e_common::*;
use obd_agent::maintenance::MONITOR_TEST_MIDS;
use obd_agent::reader::{DtcKind, ReadError, VehicleReader};
use obd_agent::sim::{Profile, Scenario, SimVehicle};
use obd_agent::transport::{EcuAddress, Transport};

/// The four PIDs of the benchmark workload: engine load, coolant, rpm, speed.
const LIVE_PIDS: [u8; 4] = [0x04, 0x05, 0x0C, 0x0D];

/// Reads `scenario` through `profile` and checks everything against its model; then clears
/// and checks the clear by reading again on a fresh connection.
async fn read_and_clear(scenario: Scenario, profile: Profile) {
    let model = scenario.build();
    let started = Instant::now();
    let server = serve(settings(scenario, profile)).await;
    let mut transport = open(&server).await;
    let context = format!("{scenario} via {}", profile.name());
    {
        let mut reader = VehicleReader::new(&mut transport);
        check_discovery(&mut reader, &model, &context).await;
        check_live(&mut reader, &model, started, &context).await;
        check_codes_and_vin(&mut reader, &model, &context).await;
        check_test_results(&mut reader, &model, &context).await;
    }
    assert_eq!(
        transport.link().protocol,
        Some(model.protocol),
        "{context}: protocol found by the search"
    );
    assert_eq!(transport.link().adapter, profile.banner(), "{context}");
    assert_eq!(
        transport.supports_multi_pid(),
        model.protocol.is_can(),
        "{context}: batching only on CAN"
    );
    check_clear(&mut transport, &model, &context).await;
    drop(transport);

    // A fresh connection (a new session, as after unplugging the laptop) sees the clear too.
    let mut transport = open(&server).await;
    let mut reader = VehicleReader::new(&mut transport);
    bounded("discovery after clear", reader.discover())
        .await
        .unwrap();
    let left = bounded("codes after clear", reader.all_dtcs())
        .await
        .unwrap();
    let permanent: BTreeSet<_> = model_codes(&model, DtcKind::Permanent)
        .into_iter()
        .map(|(ecu, code)| (DtcKind::Permanent, ecu, code))
        .collect();
    assert_eq!(
        read_codes(&left),
        permanent,
        "{context}: only permanent codes stay"
    );
    let frames = bounded("freeze frames after clear", reader.freeze_frames())
        .await
        .unwrap();
    assert!(frames.is_empty(), "{context}: freeze frames go: {frames:?}");
}

/// Service 06 through the emulator: the engine's tests where the car has them, nothing where
/// its ECUs refuse the service, "not supported" on the legacy buses.
async fn check_test_results(reader: &mut VehicleReader<'_>, model: &SimVehicle, context: &str) {
    let got = bounded("service 06", reader.monitor_tests(&MONITOR_TEST_MIDS)).await;
    if !model.protocol.is_can() {
        assert!(
            matches!(got, Err(ReadError::Unsupported(_))),
            "{context}: {got:?}"
        );
        return;
    }
    let got = got.unwrap_or_else(|e| panic!("{context}: service 06: {e}"));
    if !model.ecus.iter().any(|e| e.test_results) {
        assert!(got.is_empty(), "{context}: {got:?}");
        return;
    }
    let engine = &got[0];
    let catalyst = engine.results.iter().find(|t| t.mid == 0x21);
    assert!(
        catalyst.is_some_and(|t| t.passed && t.scaled && t.max > 0.7),
        "{context}: {got:?}"
    );
    let cylinders = engine.results.iter().filter(|t| t.tid == 0x0B).count();
    assert_eq!(
        cylinders, 4,
        "{context}: EWMA misfire counts of four cylinders"
    );
}

async fn check_discovery(reader: &mut VehicleReader<'_>, model: &SimVehicle, context: &str) {
    let found = bounded("discovery", reader.discover())
        .await
        .unwrap()
        .clone();
    let expected: BTreeSet<EcuAddress> = model.addresses().into_iter().collect();
    assert_eq!(
        found.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "{context}: every ECU answers discovery"
    );
    for ecu in &model.ecus {
        let addr = ecu.address(model.protocol);
        // Bitmap PIDs (00, 20, 40) only announce the next bitmap; values are the rest.
        let values: BTreeSet<u8> = found[&addr]
            .iter()
            .copied()
            .filter(|p| p % 0x20 != 0)
            .collect();
        let wanted: BTreeSet<u8> = ecu.pids.iter().copied().filter(|p| p % 0x20 != 0).collect();
        assert_eq!(values, wanted, "{context}: PIDs of ECU {addr}");
    }
}

async fn check_live(
    reader: &mut VehicleReader<'_>,
    model: &SimVehicle,
    started: Instant,
    context: &str,
) {
    let readings = bounded("live values", reader.read_pids(&LIVE_PIDS))
        .await
        .unwrap();
    let elapsed = started.elapsed() + Duration::from_secs(1);
    let got: BTreeSet<(EcuAddress, u8)> = readings.iter().map(|r| (r.ecu, r.reading.pid)).collect();
    let expected: BTreeSet<(EcuAddress, u8)> = model
        .ecus
        .iter()
        .flat_map(|e| {
            let addr = e.address(model.protocol);
            LIVE_PIDS
                .iter()
                .filter(|p| e.pids.contains(p))
                .map(move |p| (addr, *p))
        })
        .collect();
    assert_eq!(
        got, expected,
        "{context}: one reading per ECU and supported PID"
    );
    let live = &model.live;
    for r in &readings {
        let value = r.reading.number(r.reading.key).expect("a number");
        // The model is closed-form in time; the read happened between 0 and `elapsed`, and
        // the PID encodings round to whole units.
        let (lo, hi) = match r.reading.pid {
            0x04 => (live.load_pct(Duration::ZERO) - 3.0, 100.0),
            0x05 => (
                live.coolant_c(Duration::ZERO) - 1.0,
                live.coolant_c(elapsed) + 1.0,
            ),
            0x0C if !live.engine_running => (0.0, 0.0),
            0x0C => (
                live.idle_rpm - live.rpm_jitter - 1.0,
                live.idle_rpm + live.rpm_jitter + 1.0,
            ),
            // No scenario pulls away within the first 20 s.
            0x0D => (0.0, 0.0),
            other => panic!("{context}: PID {other:02X} was not asked for"),
        };
        assert!(
            (lo..=hi).contains(&value),
            "{context}: ECU {} {} = {value}, expected {lo}..={hi}",
            r.ecu,
            r.reading.key
        );
    }
}

async fn check_codes_and_vin(reader: &mut VehicleReader<'_>, model: &SimVehicle, context: &str) {
    let codes = bounded("codes", reader.all_dtcs()).await.unwrap();
    assert_eq!(
        read_codes(&codes),
        model_all_codes(model),
        "{context}: stored, pending and permanent codes"
    );
    assert_eq!(
        codes.len(),
        model_all_codes(model).len(),
        "{context}: no duplicates"
    );

    let frames = bounded("freeze frames", reader.freeze_frames())
        .await
        .unwrap();
    let got: BTreeSet<_> = frames.iter().map(|f| (f.ecu, f.dtc)).collect();
    let expected: BTreeSet<_> = model
        .ecus
        .iter()
        .filter_map(|e| e.freeze.map(|f| (e.address(model.protocol), Some(f.dtc))))
        .collect();
    assert_eq!(got, expected, "{context}: freeze frame per ECU and its DTC");
    for frame in &frames {
        let ecu = model
            .ecus
            .iter()
            .find(|e| e.address(model.protocol) == frame.ecu)
            .unwrap();
        let pids: BTreeSet<u8> = frame.readings.iter().map(|r| r.reading.pid).collect();
        let stored: BTreeSet<u8> = ecu
            .freeze_pids
            .iter()
            .copied()
            .filter(|p| *p != 2)
            .collect();
        assert_eq!(
            pids, stored,
            "{context}: freeze frame PIDs of {}",
            frame.ecu
        );
    }

    let vin = bounded("VIN", reader.vin()).await.unwrap();
    let expected = model.ecus.iter().find_map(|e| e.info.vin.clone());
    assert_eq!(vin, expected, "{context}: VIN");
}

async fn check_clear(transport: &mut dyn Transport, model: &SimVehicle, context: &str) {
    let mut reader = VehicleReader::new(transport);
    let outcome = bounded("clear", reader.clear()).await.unwrap();
    let everyone: BTreeSet<EcuAddress> = model.addresses().into_iter().collect();
    assert_eq!(
        outcome.cleared_by.iter().copied().collect::<BTreeSet<_>>(),
        everyone,
        "{context}: every ECU acknowledges"
    );
    assert!(outcome.refused_by.is_empty(), "{context}");
    assert_eq!(outcome.not_cleared().count(), 0, "{context}: {outcome:?}");
    let permanent: BTreeSet<_> = model_codes(model, DtcKind::Permanent)
        .into_iter()
        .map(|(ecu, code)| (DtcKind::Permanent, ecu, code))
        .collect();
    assert_eq!(
        read_codes(&outcome.remaining),
        permanent,
        "{context}: permanent codes kept"
    );
}

async fn both_profiles(scenario: Scenario) {
    for profile in PROFILES {
        read_and_clear(scenario, profile).await;
    }
}

#[tokio::test]
async fn healthy_can11() {
    both_profiles(Scenario::Healthy).await;
}

#[tokio::test]
async fn healthy_can29() {
    both_profiles(Scenario::Can29).await;
}

#[tokio::test]
async fn misfire_can11_with_freeze_frame() {
    both_profiles(Scenario::Misfire).await;
}

#[tokio::test]
async fn developing_car_starts_healthy() {
    both_profiles(Scenario::Developing).await;
}

#[tokio::test]
async fn parked_with_the_engine_off() {
    both_profiles(Scenario::Parked).await;
}

#[tokio::test]
async fn overheating_can11() {
    both_profiles(Scenario::Overheating).await;
}

#[tokio::test]
async fn legacy_iso9141_four_codes_in_two_messages() {
    both_profiles(Scenario::LegacyIso9141).await;
}

#[tokio::test]
async fn legacy_kwp_fast_init() {
    both_profiles(Scenario::LegacyKwp).await;
}

#[tokio::test]
async fn legacy_j1850_vpw() {
    both_profiles(Scenario::LegacyJ1850).await;
}

#[tokio::test]
async fn multi_ecu_engine_and_transmission() {
    both_profiles(Scenario::MultiEcu).await;
}

#[tokio::test]
async fn hybrid_battery_ecu() {
    both_profiles(Scenario::HybridBattery).await;
}

#[tokio::test]
async fn abs_module_next_to_the_engine() {
    both_profiles(Scenario::AbsFault).await;
}

#[tokio::test]
async fn commuter_with_odometer() {
    both_profiles(Scenario::Commuter).await;
}

#[tokio::test]
async fn battery_ageing_commuter() {
    both_profiles(Scenario::BatteryAgeing).await;
}

#[tokio::test]
async fn lean_trim_commuter() {
    both_profiles(Scenario::LeanTrim).await;
}

#[tokio::test]
async fn stuck_thermostat_commuter() {
    both_profiles(Scenario::StuckThermostat).await;
}

#[tokio::test]
async fn oil_due_commuter() {
    both_profiles(Scenario::OilDue).await;
}

#[tokio::test]
async fn catalyst_ageing_commuter() {
    both_profiles(Scenario::CatalystAgeing).await;
}

#[tokio::test]
async fn misfire_developing_commuter() {
    both_profiles(Scenario::MisfireDeveloping).await;
}

/// Guards the loops above: a scenario added later must get a test here too.
#[test]
fn every_scenario_is_covered() {
    assert_eq!(
        Scenario::ALL.len(),
        19,
        "add a test for the new scenario above"
    );
}
