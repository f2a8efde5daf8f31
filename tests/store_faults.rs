//! Fault history and PID samples through the store, on real files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use obd_agent::dtcdb::Urgency;
use obd_agent::reader::{DtcKind, ReportedDtc};
use obd_agent::store::{
    FaultObservation, FaultState, Observation, PidSample, SampleRetention, Store, StoreOptions,
};
use obd_agent::transport::EcuAddress;
use serde_json::json;

const ENGINE: EcuAddress = EcuAddress::Can11(0x7E8);
const GEARBOX: EcuAddress = EcuAddress::Can11(0x7E9);

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn dtc(code: &str, kind: DtcKind, ecu: EcuAddress) -> ReportedDtc {
    ReportedDtc {
        code: code.parse().unwrap(),
        kind,
        ecu,
    }
}

fn seen(dtc: &ReportedDtc, urgency: Urgency) -> FaultObservation {
    FaultObservation {
        vehicle_id: "VAN-7".into(),
        dtc: *dtc,
        urgency,
        detail: json!({"freeze_frame": {"rpm": 2100}}),
    }
}

#[test]
fn a_code_is_new_then_persisting_then_cleared_then_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut store = Store::open(&path, StoreOptions::default()).unwrap();
    let misfire = dtc("P0301", DtcKind::Stored, ENGINE);

    let (meaning, record) = store
        .record_fault(&seen(&misfire, Urgency::High), at(0))
        .unwrap();
    assert_eq!((meaning, record.state), (Observation::New, FaultState::New));
    assert_eq!(
        (record.first_seen, record.last_seen, record.episodes),
        (at(0), at(0), 1)
    );
    assert_eq!(record.detail["freeze_frame"]["rpm"], 2100);

    let (meaning, record) = store
        .record_fault(&seen(&misfire, Urgency::Critical), at(60))
        .unwrap();
    assert_eq!(
        (meaning, record.state),
        (Observation::Persisting, FaultState::Persisting)
    );
    assert_eq!((record.first_seen, record.last_seen), (at(0), at(60)));
    assert_eq!(record.urgency, Urgency::Critical, "the latest triage wins");
    drop(store);

    // A read in which the engine ECU answered without the code clears it.
    let mut store = Store::open(&path, StoreOptions::default()).unwrap();
    let cleared = store
        .clear_missing("VAN-7", DtcKind::Stored, &[ENGINE], &[], at(120))
        .unwrap();
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].state, FaultState::Cleared);
    assert_eq!(cleared[0].cleared_at, Some(at(120)));
    assert!(store.open_faults("VAN-7").unwrap().is_empty());
    // Clearing again changes nothing.
    assert!(
        store
            .clear_missing("VAN-7", DtcKind::Stored, &[ENGINE], &[], at(130))
            .unwrap()
            .is_empty()
    );

    let (meaning, record) = store
        .record_fault(&seen(&misfire, Urgency::High), at(600))
        .unwrap();
    assert_eq!(
        (meaning, record.state),
        (Observation::Returned, FaultState::New)
    );
    assert_eq!(
        (record.first_seen, record.episodes, record.cleared_at),
        (at(600), 2, None)
    );
    assert_eq!(store.open_faults("VAN-7").unwrap(), vec![record]);
}

#[test]
fn faults_of_a_silent_ecu_another_kind_or_another_vehicle_stay_open() {
    let mut store = Store::open_in_memory().unwrap();
    let engine = dtc("P0420", DtcKind::Stored, ENGINE);
    let gearbox = dtc("P0700", DtcKind::Stored, GEARBOX);
    let pending = dtc("P0171", DtcKind::Pending, ENGINE);
    for fault in [&engine, &gearbox, &pending] {
        store
            .record_fault(&seen(fault, Urgency::Medium), at(0))
            .unwrap();
    }
    let mut other = seen(&engine, Urgency::Low);
    other.vehicle_id = "VAN-8".into();
    store.record_fault(&other, at(0)).unwrap();

    // Only the engine answered the stored-code read, with nothing.
    let cleared = store
        .clear_missing("VAN-7", DtcKind::Stored, &[ENGINE], &[], at(60))
        .unwrap();
    assert_eq!(
        cleared.iter().map(|f| &f.dtc).collect::<Vec<_>>(),
        vec![&engine]
    );
    let open: Vec<ReportedDtc> = store
        .open_faults("VAN-7")
        .unwrap()
        .into_iter()
        .map(|f| f.dtc)
        .collect();
    assert_eq!(open, vec![gearbox, pending]);
    assert_eq!(store.open_faults("VAN-8").unwrap().len(), 1);
}

#[test]
fn samples_fold_into_minutes_and_retention_trims_by_age_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        sample_retention: SampleRetention {
            max_age: Duration::from_secs(3600),
            max_rows: 100,
        },
        ..StoreOptions::default()
    };
    let mut store = Store::open(dir.path().join("agent.db"), options).unwrap();
    let rpm = 0x0C;
    for (second, value) in [(0, 800.0), (20, 3000.0), (59, 1000.0), (60, 900.0)] {
        let samples = [
            PidSample { pid: rpm, value },
            PidSample {
                pid: 0x05,
                value: 90.0,
            },
            PidSample {
                pid: 0x0D,
                value: f64::NAN,
            },
        ];
        assert_eq!(store.record_samples(at(second), &samples).unwrap(), 2);
    }
    let minutes = store.samples(rpm, at(0), at(120)).unwrap();
    assert_eq!(minutes.len(), 2);
    assert_eq!(
        (minutes[0].min, minutes[0].max, minutes[0].count),
        (800.0, 3000.0, 3)
    );
    assert!((minutes[0].avg - 1600.0).abs() < 1e-9);
    assert_eq!((minutes[1].minute, minutes[1].count), (at(60), 1));
    assert_eq!(
        store.samples(rpm, at(1), at(120)).unwrap().len(),
        1,
        "from rounds up"
    );
    assert!(store.samples(0x0D, at(0), at(120)).unwrap().is_empty());

    // Two hours of one PID a minute: age keeps the last hour, rows keep at most 100.
    for minute in 2..120 {
        store
            .record_samples(
                at(minute * 60),
                &[PidSample {
                    pid: rpm,
                    value: 1.0,
                }],
            )
            .unwrap();
    }
    let report = store.maintain(at(120 * 60)).unwrap();
    assert!(report.samples_removed > 0);
    let left = store.samples(rpm, at(0), at(200 * 60)).unwrap();
    assert_eq!(left.first().map(|m| m.minute), Some(at(60 * 60)));
    assert_eq!(left.len(), 60);

    let tight = SampleRetention {
        max_age: Duration::from_secs(24 * 3600),
        max_rows: 10,
    };
    let mut store = Store::open_in_memory_with(StoreOptions {
        sample_retention: tight,
        ..StoreOptions::default()
    })
    .unwrap();
    for minute in 0..30 {
        let samples = [
            PidSample { pid: 1, value: 1.0 },
            PidSample { pid: 2, value: 2.0 },
        ];
        store.record_samples(at(minute * 60), &samples).unwrap();
    }
    store.maintain(at(30 * 60)).unwrap();
    let kept = store.samples(1, at(0), at(3600)).unwrap();
    assert_eq!(kept.len(), 5, "10 rows of 2 PIDs");
    assert_eq!(kept[0].minute, at(25 * 60), "the newest minutes stay");
}

#[test]
fn samples_are_evicted_oldest_first_under_the_size_bound() {
    let options = StoreOptions {
        max_bytes: 128 * 1024,
        hard_max_bytes: 160 * 1024,
        ..StoreOptions::default()
    };
    let mut store = Store::open_in_memory_with(options.clone()).unwrap();
    let samples: Vec<PidSample> = (0..50).map(|pid| PidSample { pid, value: 1.5 }).collect();
    for minute in 0..400 {
        store.record_samples(at(minute * 60), &samples).unwrap();
        assert!(store.size().unwrap().used_bytes <= options.max_bytes);
    }
    let kept = store.samples(0, at(0), at(400 * 60)).unwrap();
    assert!(kept.len() < 400, "something was evicted");
    assert_eq!(kept.last().map(|m| m.minute), Some(at(399 * 60)));
    assert_eq!(
        kept[0].minute,
        at((400 - kept.len() as u64) * 60),
        "a contiguous tail"
    );
}
