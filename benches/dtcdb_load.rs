//! Figures for the embedded trouble-code database: cold load time, re-parse time, heap used,
//! lookups per second, classifications per second, and the code counts per letter and range.
//! A plain `main` (harness = false): `cargo bench --bench dtcdb_load`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use obd_agent::diagnosis::{CodeObservation, Context, Mil, classify};
use obd_agent::dtcdb::DtcDb;
use obd_agent::obd::dtc::Dtc;

/// Counts live heap bytes and allocations so the bench can report what the database costs.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn grow(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
    ALLOCS.fetch_add(1, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Relaxed);
        grow(new_size);
        // SAFETY: same contract as `GlobalAlloc::realloc`, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn per_second(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn main() {
    let before = LIVE.load(Relaxed);
    let allocs_before = ALLOCS.load(Relaxed);
    let start = Instant::now();
    let db = DtcDb::embedded();
    let cold = start.elapsed();
    let heap = LIVE.load(Relaxed) - before;
    let allocs = ALLOCS.load(Relaxed) - allocs_before;
    println!("cold first use (parse + validate): {cold:?}");
    println!("heap held by the database: {heap} bytes ({allocs} allocations made while loading)");

    let mut parses: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            black_box(DtcDb::load_embedded().ok());
            t.elapsed()
        })
        .collect();
    parses.sort();
    println!(
        "re-parse: min {:?}, median {:?}, max {:?} (50 runs)",
        parses[0], parses[25], parses[49]
    );

    let all: Vec<Dtc> = (1..=u16::MAX).map(Dtc::from_raw).collect();
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        for code in &all {
            black_box(db.lookup(*code));
        }
    }
    let took = t.elapsed();
    println!(
        "lookups (all 65535 codes x {rounds}): {:.2} M/s",
        per_second(all.len() * rounds, took) / 1e6
    );

    let generic: Vec<Dtc> = db.generic_codes().map(|(c, _)| c).collect();
    let t = Instant::now();
    for _ in 0..rounds * 20 {
        for code in &generic {
            black_box(db.lookup(*code));
        }
    }
    println!(
        "lookups (generic codes only): {:.2} M/s",
        per_second(generic.len() * rounds * 20, t.elapsed()) / 1e6
    );

    let observations: Vec<CodeObservation> = ["P0300", "P0301", "P0420", "C0035", "U0100", "B1234"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .map(|code| CodeObservation {
            mil: Mil::On,
            ..CodeObservation::stored(code)
        })
        .collect();
    let ctx = Context::default();
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        black_box(classify(&observations, &ctx));
    }
    println!(
        "classify (6 codes -> findings): {:.0} /s",
        per_second(n, t.elapsed())
    );
    println!("peak heap during the bench: {} bytes", PEAK.load(Relaxed));

    let mut per_letter: BTreeMap<String, usize> = BTreeMap::new();
    for code in &generic {
        let text = code.to_string();
        *per_letter.entry(text[..2].to_string()).or_default() += 1;
    }
    println!("generic codes: {} in all", generic.len());
    for (prefix, count) in &per_letter {
        println!("  {prefix}xxx: {count}");
    }
    let mut rows: Vec<_> = db.ranges().collect();
    rows.sort_by_key(|(from, to, _, _)| (*from, std::cmp::Reverse(*to)));
    println!("range rows (codes in the database / subsystem / default urgency):");
    for (from, to, subsystem, urgency) in rows {
        let n = generic.iter().filter(|c| from <= **c && **c <= to).count();
        println!(
            "  {from}-{to}: {n:>4}  {} / {}",
            subsystem.key(),
            urgency.as_str()
        );
    }
}
