//! The outbox on real files: order, acknowledgement, paging, seq reuse, the size bound and a
//! full disk.

use obd_agent::outbox::{NewMessage, Outbox, OutboxError};
use obd_agent::store::{MessageClass, Store, StoreError, StoreOptions};

fn alert(n: usize) -> NewMessage {
    message("fleet/v1/alerts", n, 200)
}

fn telemetry(n: usize) -> NewMessage {
    message("fleet/v1/telemetry", n, 200)
}

fn message(topic: &str, n: usize, size: usize) -> NewMessage {
    NewMessage {
        message_id: format!("{topic}-{n}"),
        topic: topic.into(),
        payload: (0..size).map(|i| (i + n) as u8).collect(),
        retain: n.is_multiple_of(5),
    }
}

fn seqs(outbox: &mut impl Outbox) -> Vec<i64> {
    outbox
        .pending(None, usize::MAX)
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect()
}

fn open(path: &std::path::Path) -> Store {
    Store::open(path, StoreOptions::default()).unwrap()
}

#[test]
fn messages_come_back_in_order_intact_and_leave_only_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut store = open(&path);
    let sent: Vec<NewMessage> = (0..5).map(alert).collect();
    let pushed: Vec<i64> = sent
        .iter()
        .map(|m| store.push(m.clone()).unwrap())
        .collect();
    assert!(pushed.windows(2).all(|w| w[0] < w[1]), "{pushed:?}");

    let pending = store.pending(None, 10).unwrap();
    for (got, want) in pending.iter().zip(&sent) {
        assert_eq!(
            (&got.message_id, &got.topic, &got.payload, got.retain),
            (&want.message_id, &want.topic, &want.payload, want.retain)
        );
    }
    store.acknowledge(pushed[1]).unwrap();
    store.acknowledge(pushed[1]).unwrap(); // a duplicate PubAck is not an error
    store.acknowledge(9_999).unwrap(); // nor is an unknown seq
    assert_eq!(store.len().unwrap(), 4);
    drop(store);

    let mut store = open(&path);
    assert_eq!(
        seqs(&mut store),
        vec![pushed[0], pushed[2], pushed[3], pushed[4]]
    );
}

#[test]
fn pending_pages_after_a_seq() {
    let mut store = Store::open_in_memory().unwrap();
    let pushed: Vec<i64> = (0..10).map(|n| store.push(alert(n)).unwrap()).collect();
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store.pending(after, 3).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().map(|m| m.seq);
        seen.extend(page.iter().map(|m| m.seq));
    }
    assert_eq!(seen, pushed);
    assert!(store.pending(Some(pushed[9]), 3).unwrap().is_empty());
    assert_eq!(store.pending(Some(pushed[4]), 1).unwrap()[0].seq, pushed[5]);
    assert!(store.pending(None, 0).unwrap().is_empty());
}

#[test]
fn seqs_are_never_reused_after_delete_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut store = open(&path);
    let first: Vec<i64> = (0..3).map(|n| store.push(alert(n)).unwrap()).collect();
    for seq in &first {
        store.acknowledge(*seq).unwrap();
    }
    assert!(store.is_empty().unwrap());
    drop(store);

    let mut store = open(&path);
    let next = store.push(alert(3)).unwrap();
    assert!(next > first[2], "{next} after {first:?}");
}

#[test]
fn pushing_a_waiting_message_id_again_returns_its_seq() {
    let mut store = Store::open_in_memory().unwrap();
    let seq = store.push(alert(1)).unwrap();
    assert_eq!(store.push(alert(1)).unwrap(), seq);
    assert_eq!(store.len().unwrap(), 1);
}

#[test]
fn a_batch_is_accepted_in_order_and_acknowledged_together() {
    let mut store = Store::open_in_memory().unwrap();
    let batch: Vec<NewMessage> = (0..20).map(alert).collect();
    let pushed = store.push_batch(&batch).unwrap();
    assert_eq!(seqs(&mut store), pushed);
    assert_eq!(store.acknowledge_batch(&pushed[..10]).unwrap(), 10);
    assert_eq!(store.acknowledge_batch(&pushed[..10]).unwrap(), 0);
    assert_eq!(seqs(&mut store), pushed[10..]);
}

#[test]
fn topics_decide_the_class() {
    assert_eq!(
        MessageClass::of_topic("fleet/v1/telemetry"),
        MessageClass::Telemetry
    );
    for topic in [
        "fleet/v1/alerts",
        "fleet/v1/status",
        "fleet/v1/telemetry/x",
        "telemetry2",
    ] {
        assert_eq!(
            MessageClass::of_topic(topic),
            MessageClass::Alert,
            "{topic}"
        );
    }
}

fn small() -> StoreOptions {
    StoreOptions {
        max_bytes: 256 * 1024,
        hard_max_bytes: 320 * 1024,
        ..StoreOptions::default()
    }
}

#[test]
fn filling_with_telemetry_evicts_the_oldest_telemetry_and_keeps_every_alert() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("agent.db"), small()).unwrap();
    let alerts: Vec<i64> = (0..50).map(|n| store.push(alert(n)).unwrap()).collect();
    let mut last = 0;
    for n in 0..3_000 {
        last = store.push(telemetry(n)).unwrap();
        let used = store.size().unwrap().used_bytes;
        assert!(
            used <= small().max_bytes,
            "{used} bytes after telemetry {n}"
        );
    }
    let pending = store.pending(None, usize::MAX).unwrap();
    let kept_alerts: Vec<i64> = pending
        .iter()
        .filter(|m| m.topic.ends_with("alerts"))
        .map(|m| m.seq)
        .collect();
    assert_eq!(kept_alerts, alerts);
    let kept_telemetry: Vec<i64> = pending
        .iter()
        .filter(|m| m.topic.ends_with("telemetry"))
        .map(|m| m.seq)
        .collect();
    assert!(kept_telemetry.len() < 3_000, "something was evicted");
    // What is left is the newest telemetry, without gaps.
    assert_eq!(kept_telemetry.last(), Some(&last));
    assert!(
        kept_telemetry.windows(2).all(|w| w[1] == w[0] + 1),
        "a contiguous tail"
    );
}

#[test]
fn when_alerts_alone_fill_the_bound_telemetry_is_refused_and_alerts_go_on_to_the_hard_cap() {
    let mut store = Store::open_in_memory_with(small()).unwrap();
    let mut accepted = Vec::new();
    let mut n = 0;
    // Alerts up to the soft bound.
    while store.size().unwrap().used_bytes < small().max_bytes {
        accepted.push(store.push(alert(n)).unwrap());
        n += 1;
    }
    match store.push(telemetry(0)) {
        Err(OutboxError::Full { limit, .. }) => assert_eq!(limit, small().max_bytes),
        other => panic!("telemetry over the bound: {other:?}"),
    }
    // Alerts still go in, up to the hard cap, then are refused too.
    let refused = loop {
        match store.push(alert(n)) {
            Ok(seq) => accepted.push(seq),
            Err(error) => break error,
        }
        n += 1;
    };
    assert!(
        matches!(refused, OutboxError::Full { limit, .. } if limit == small().hard_max_bytes),
        "{refused:?}"
    );
    assert!(store.size().unwrap().used_bytes <= small().hard_max_bytes);
    assert_eq!(seqs(&mut store), accepted, "no accepted alert lost");

    // Once the uplink drains, telemetry is welcome again.
    store.acknowledge_batch(&accepted).unwrap();
    store.push(telemetry(1)).unwrap();
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut store = open(&path);
    let pages = store.size().unwrap().file_bytes / 4096;
    store.limit_pages_for_tests(pages + 8).unwrap();

    let mut accepted = Vec::new();
    let error = loop {
        let n = accepted.len();
        match store.push_with_class(&message("fleet/v1/alerts", n, 1500), MessageClass::Alert) {
            Ok(seq) => accepted.push(seq),
            Err(error) => break error,
        }
        assert!(n < 1_000, "the page limit never bit");
    };
    assert!(matches!(error, StoreError::DiskFull { .. }), "{error:?}");
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert!(!accepted.is_empty());
    // Through the trait the same failure is a storage error that says what happened.
    match store.push(message("fleet/v1/alerts", 9_999, 1500)) {
        Err(OutboxError::Storage(text)) => assert!(text.contains("disk is full"), "{text}"),
        other => panic!("{other:?}"),
    }

    // The agent keeps running: reads and acks work on the full disk.
    assert_eq!(seqs(&mut store), accepted);
    store.acknowledge(accepted[0]).unwrap();
    drop(store);

    let mut store = open(&path);
    assert_eq!(seqs(&mut store), accepted[1..]);
    for (m, n) in store.pending(None, usize::MAX).unwrap().iter().zip(1..) {
        assert_eq!(m.payload, message("fleet/v1/alerts", n, 1500).payload);
    }
    store.push(alert(10_000)).unwrap();
}

#[test]
fn maintenance_gives_a_drained_outbox_back_to_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("agent.db"));
    let batch: Vec<NewMessage> = (0..300)
        .map(|n| message("fleet/v1/alerts", n, 4000))
        .collect();
    let pushed = store.push_batch(&batch).unwrap();
    let full = store.size().unwrap();
    store.acknowledge_batch(&pushed).unwrap();
    let drained = store.size().unwrap();
    assert_eq!(
        drained.file_bytes, full.file_bytes,
        "freed pages stay for reuse"
    );
    assert!(drained.free_bytes > drained.file_bytes / 2);

    let report = store.maintain(std::time::SystemTime::now()).unwrap();
    let after = store.size().unwrap();
    assert!(report.bytes_released > 0);
    assert_eq!(after.file_bytes, drained.file_bytes - report.bytes_released);
    assert!(
        after.file_bytes < full.file_bytes / 4,
        "{after:?} from {full:?}"
    );
    // A second run finds nothing worth releasing.
    assert_eq!(
        store
            .maintain(std::time::SystemTime::now())
            .unwrap()
            .bytes_released,
        0
    );
}
