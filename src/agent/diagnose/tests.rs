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

fn statuses(alerts: &[AlertPayload]) -> Vec<(String, AlertEvent, CodeStatus)> {
    alerts
        .iter()
        .map(|a| (a.code.clone(), a.event, a.status))
        .collect()
}

#[test]
fn a_code_on_several_lists_is_one_fault_whose_status_advances() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let pending = [dtc("P0301", DtcKind::Pending, ENGINE)];
    let seen = diag
        .on_codes(
            &mut store,
            &read(0, &pending, &answered, Snapshot::default()),
        )
        .unwrap();
    assert_eq!(
        statuses(&seen),
        vec![("P0301".into(), AlertEvent::New, CodeStatus::Pending)]
    );
    // Confirmed on the next drive: still pending too, as ECUs report it.
    let confirmed = [
        dtc("P0301", DtcKind::Pending, ENGINE),
        dtc("P0301", DtcKind::Stored, ENGINE),
    ];
    let matured = diag
        .on_codes(
            &mut store,
            &read(60, &confirmed, &answered, Snapshot::default()),
        )
        .unwrap();
    assert_eq!(
        statuses(&matured),
        vec![("P0301".into(), AlertEvent::Persisting, CodeStatus::Stored)]
    );
    assert_eq!(matured[0].alert_id, seen[0].alert_id, "one occurrence");
    let again = diag
        .on_codes(
            &mut store,
            &read(120, &confirmed, &answered, Snapshot::default()),
        )
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // The pending list drops it (this drive passed): nothing the centre needs to hear.
    let stored = [dtc("P0301", DtcKind::Stored, ENGINE)];
    let quiet = diag
        .on_codes(
            &mut store,
            &read(180, &stored, &answered, Snapshot::default()),
        )
        .unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
    let gone = diag
        .on_codes(&mut store, &read(240, &[], &answered, Snapshot::default()))
        .unwrap();
    assert_eq!(
        statuses(&gone),
        vec![("P0301".into(), AlertEvent::Cleared, CodeStatus::Stored)]
    );
    assert_eq!(gone[0].alert_id, seen[0].alert_id);
}

#[test]
fn a_code_first_seen_on_two_lists_gets_one_alert() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let codes = [
        dtc("P0420", DtcKind::Stored, ENGINE),
        dtc("P0420", DtcKind::Pending, ENGINE),
        dtc("P0420", DtcKind::Permanent, ENGINE),
        dtc("P0420", DtcKind::Pending, GEARBOX),
    ];
    let first = diag
        .on_codes(&mut store, &read(0, &codes, &answered, Snapshot::default()))
        .unwrap();
    // The same code from another ECU is another fault.
    assert_eq!(
        statuses(&first),
        vec![
            ("P0420".into(), AlertEvent::New, CodeStatus::Permanent),
            ("P0420".into(), AlertEvent::New, CodeStatus::Pending),
        ]
    );
    assert_eq!(first[0].ecu.as_deref(), Some("7E8"));
    assert_eq!(first[1].ecu.as_deref(), Some("7E9"));
    // A clear with the scan tool empties stored and pending; the permanent code stays until
    // the monitor passes: the fault is still open, with the status it has now.
    let permanent = [dtc("P0420", DtcKind::Permanent, ENGINE)];
    let after_clear = diag
        .on_codes(
            &mut store,
            &read(60, &permanent, &answered, Snapshot::default()),
        )
        .unwrap();
    assert_eq!(
        statuses(&after_clear),
        vec![("P0420".into(), AlertEvent::Cleared, CodeStatus::Pending)]
    );
    assert_eq!(after_clear[0].ecu.as_deref(), Some("7E9"));
}

#[test]
fn a_restart_does_not_alert_a_fault_open_on_two_lists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let answered = answered_all();
    let codes = [
        dtc("P0301", DtcKind::Pending, ENGINE),
        dtc("P0301", DtcKind::Stored, ENGINE),
    ];
    let first = {
        let mut store = Store::open(&path, Default::default()).unwrap();
        let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
        diag.on_codes(&mut store, &read(0, &codes, &answered, Snapshot::default()))
            .unwrap()
    };
    assert_eq!(first.len(), 1, "{first:?}");
    let mut store = Store::open(&path, Default::default()).unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let after = diag
        .on_codes(
            &mut store,
            &read(60, &codes, &answered, Snapshot::default()),
        )
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
    let gone = diag
        .on_codes(&mut store, &read(120, &[], &answered, Snapshot::default()))
        .unwrap();
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(
        gone[0].alert_id, first[0].alert_id,
        "the id survives a restart"
    );
}

#[test]
fn a_code_back_on_the_pending_list_while_still_stored_is_no_return() {
    let mut store = Store::open_in_memory().unwrap();
    let mut diag = Diagnoser::new("VAN-1", &store).unwrap();
    let answered = answered_all();
    let both = [
        dtc("P0171", DtcKind::Stored, ENGINE),
        dtc("P0171", DtcKind::Pending, ENGINE),
    ];
    let stored = [dtc("P0171", DtcKind::Stored, ENGINE)];
    let first = diag
        .on_codes(&mut store, &read(0, &both, &answered, Snapshot::default()))
        .unwrap();
    assert_eq!(first.len(), 1);
    // A drive without the fault, then one with it again: the stored code never left.
    for (when, codes) in [(60, &stored[..]), (120, &both[..])] {
        let alerts = diag
            .on_codes(
                &mut store,
                &read(when, codes, &answered, Snapshot::default()),
            )
            .unwrap();
        assert!(alerts.is_empty(), "at {when}: {alerts:?}");
    }
}
