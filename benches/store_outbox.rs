//! Outbox figures on a real file: push rate (one fsync per push with synchronous=FULL, and
//! batched in one transaction), acknowledgement rate, pending read rate, and database size
//! per 1,000 alerts.
//!
//! `cargo bench --bench store_outbox` runs the full counts; under `cargo test` (no `--bench`
//! argument) it runs a few messages of each, so CI only checks that it works.

use std::time::{Duration, Instant};

use obd_agent::outbox::{NewMessage, Outbox};
use obd_agent::store::{Store, StoreOptions};

/// A typical alert: a JSON document of a few hundred bytes.
fn alert(n: usize) -> NewMessage {
    let payload = format!(
        r#"{{"schema":1,"id":"a-{n}","vehicle":"VAN-7","code":"P0301","ecu":"7E8","kind":"stored","state":"new","urgency":"high","at":"2026-11-23T10:00:00Z","detail":{{"rpm":2100,"coolant_c":92,"load_pct":41,"speed_kmh":63,"mil":true,"text":"Cylinder 1 misfire detected"}}}}"#
    );
    NewMessage {
        message_id: format!("a-{n}"),
        topic: "fleet/VAN-7/alerts".into(),
        payload: payload.into_bytes(),
        retain: false,
    }
}

fn rate(count: usize, elapsed: Duration) -> String {
    format!(
        "{:>10.0} /s",
        count as f64 / elapsed.as_secs_f64().max(1e-9)
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let (single, batched, batch) = if full {
        (2_000, 50_000, 100)
    } else {
        (20, 200, 50)
    };
    let dir = tempfile::tempdir()?;
    let options = StoreOptions {
        max_bytes: 512 * 1024 * 1024,
        hard_max_bytes: 512 * 1024 * 1024,
        ..StoreOptions::default()
    };
    let mut store = Store::open(dir.path().join("bench.db"), options.clone())?;
    println!(
        "store_outbox bench in {} (synchronous=FULL, WAL)",
        dir.path().display()
    );

    let start = Instant::now();
    let mut seqs = Vec::with_capacity(single + batched);
    for n in 0..single {
        seqs.push(store.push(alert(n))?);
    }
    println!(
        "push, one per transaction   {} ({single} messages)",
        rate(single, start.elapsed())
    );

    let messages: Vec<NewMessage> = (single..single + batched).map(alert).collect();
    let start = Instant::now();
    for chunk in messages.chunks(batch) {
        seqs.extend(store.push_batch(chunk)?);
    }
    println!(
        "push, {batch} per transaction  {} ({batched} messages)",
        rate(batched, start.elapsed())
    );

    let start = Instant::now();
    let (mut after, mut read) = (None, 0);
    loop {
        let page = store.pending(after, 100)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        read += page.len();
    }
    println!(
        "pending, pages of 100       {} ({read} messages)",
        rate(read, start.elapsed())
    );

    let start = Instant::now();
    for seq in &seqs[..single] {
        store.acknowledge(*seq)?;
    }
    println!(
        "ack, one per transaction    {} ({single} messages)",
        rate(single, start.elapsed())
    );

    let start = Instant::now();
    for chunk in seqs[single..].chunks(batch) {
        store.acknowledge_batch(chunk)?;
    }
    println!(
        "ack, {batch} per transaction   {} ({batched} messages)",
        rate(batched, start.elapsed())
    );
    drop(store);

    // Size: a fresh database holding exactly 1,000 alerts.
    let path = dir.path().join("size.db");
    let mut store = Store::open(&path, options)?;
    let empty = store.size()?;
    let thousand: Vec<NewMessage> = (0..1_000).map(alert).collect();
    store.push_batch(&thousand)?;
    let size = store.size()?;
    println!(
        "size per 1,000 alerts ({} B payload): {} KiB used ({} KiB with the empty schema), file {} KiB",
        thousand[0].payload.len(),
        (size.used_bytes - empty.used_bytes) / 1024,
        size.used_bytes / 1024,
        size.file_bytes / 1024
    );
    Ok(())
}
