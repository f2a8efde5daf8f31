use super::*;

const ENGINE: EcuAddress = EcuAddress::Can11(0x7E8);
const GEARBOX: EcuAddress = EcuAddress::Can11(0x7E9);

fn dtc(code: &str, kind: DtcKind, ecu: EcuAddress) -> ReportedDtc {
    ReportedDtc {
        code: code.parse().unwrap(),
        kind,
        ecu,
    }
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000 + seconds)
}

/// Both ECUs answered every kind of read.
fn answered_all() -> Vec<(DtcKind, EcuAddress)> {
    DtcKind::ALL
        .iter()
        .flat_map(|k| [(*k, ENGINE), (*k, GEARBOX)])
        .collect()
}

fn read<'a>(
    when: u64,
    dtcs: &'a [ReportedDtc],
    answered: &'a [(DtcKind, EcuAddress)],
    live: Snapshot,
) -> CodesRead<'a> {
    CodesRead {
        at: at(when),
        dtcs,
        answered,
        mil: true,
        freeze_frames: &[],
        live,
    }
}

fn events(alerts: &[AlertPayload]) -> Vec<(String, AlertEvent)> {
    alerts.iter().map(|a| (a.code.clone(), a.event)).collect()
}

#[test]
fn one_alert_per_change_not_per_poll() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let both = [
        dtc("P0300", DtcKind::Stored, ENGINE),
        dtc("P0301", DtcKind::Stored, ENGINE),
    ];

    let first = diag
        .on_codes(&mut store, &read(0, &both, &answered, Snapshot::default()))
        .unwrap();
    assert_eq!(
        events(&first),
        vec![
            ("P0300".into(), AlertEvent::New),
            ("P0301".into(), AlertEvent::New)
        ]
    );
    assert!(
        first
            .iter()
            .all(|a| a.ecu.as_deref() == Some("7E8") && a.status == CodeStatus::Stored)
    );
    assert!(
        first[0].description.contains("Misfire"),
        "{}",
        first[0].description
    );

    let again = diag
        .on_codes(&mut store, &read(60, &both, &answered, Snapshot::default()))
        .unwrap();
    assert!(
        again.is_empty(),
        "a persisting fault is not re-sent: {again:?}"
    );

    let one = [dtc("P0300", DtcKind::Stored, ENGINE)];
    let cleared = diag
        .on_codes(&mut store, &read(120, &one, &answered, Snapshot::default()))
        .unwrap();
    assert_eq!(
        events(&cleared),
        vec![("P0301".into(), AlertEvent::Cleared)]
    );
    assert_eq!(
        cleared[0].alert_id, first[1].alert_id,
        "same occurrence, same id"
    );
    assert!(cleared[0].cleared_at.is_some());
}

#[test]
fn a_returning_fault_is_a_new_occurrence_with_raised_urgency() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let code = [dtc("P0171", DtcKind::Stored, ENGINE)];
    let first = diag
        .on_codes(&mut store, &read(0, &code, &answered, Snapshot::default()))
        .unwrap();
    diag.on_codes(&mut store, &read(60, &[], &answered, Snapshot::default()))
        .unwrap();
    let back = diag
        .on_codes(
            &mut store,
            &read(3600, &code, &answered, Snapshot::default()),
        )
        .unwrap();
    assert_eq!(events(&back), vec![("P0171".into(), AlertEvent::New)]);
    assert_ne!(back[0].alert_id, first[0].alert_id);
    assert!(
        back[0].urgency > first[0].urgency,
        "{:?} vs {:?}",
        back[0].urgency,
        first[0].urgency
    );
    assert!(
        back[0].reasons.iter().any(|r| r.contains("clear")),
        "{:?}",
        back[0].reasons
    );
}

#[test]
fn a_silent_ecu_does_not_clear_its_faults() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let code = [dtc("P0715", DtcKind::Stored, GEARBOX)];
    diag.on_codes(
        &mut store,
        &read(0, &code, &answered_all(), Snapshot::default()),
    )
    .unwrap();
    let engine_only: Vec<_> = DtcKind::ALL.iter().map(|k| (*k, ENGINE)).collect();
    let later = diag
        .on_codes(
            &mut store,
            &read(60, &[], &engine_only, Snapshot::default()),
        )
        .unwrap();
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn context_that_changes_urgency_sends_a_persisting_update() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let code = [dtc("P0300", DtcKind::Stored, ENGINE)];
    let calm = diag
        .on_codes(&mut store, &read(0, &code, &answered, Snapshot::default()))
        .unwrap();
    let loaded = Snapshot {
        engine_load_pct: Some(90.0),
        rpm: Some(4000.0),
        ..Snapshot::default()
    };
    let update = diag
        .on_codes(&mut store, &read(60, &code, &answered, loaded))
        .unwrap();
    assert_eq!(
        events(&update),
        vec![("P0300".into(), AlertEvent::Persisting)]
    );
    assert!(update[0].urgency > calm[0].urgency);
    assert_eq!(update[0].alert_id, calm[0].alert_id);
}

#[test]
fn a_restart_does_not_alert_open_faults_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let answered = answered_all();
    let code = [dtc("P0420", DtcKind::Pending, ENGINE)];
    {
        let mut store = Store::open(&path, Default::default()).unwrap();
        let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
        assert_eq!(
            diag.on_codes(&mut store, &read(0, &code, &answered, Snapshot::default()))
                .unwrap()
                .len(),
            1
        );
    }
    let mut store = Store::open(&path, Default::default()).unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let after = diag
        .on_codes(&mut store, &read(60, &code, &answered, Snapshot::default()))
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
}
