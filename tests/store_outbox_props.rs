//! The store's outbox replayed against a simple model (the Vector disk-buffer approach):
//! random pushes, batches, reads, acknowledgements and reopenings on a real file. Nothing
//! accepted is lost, nothing acknowledged comes back, order is kept, seqs only grow. With a
//! small size bound, the only other way out is eviction of the oldest telemetry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use obd_agent::outbox::{NewMessage, Outbox, OutboxError};
use obd_agent::store::{MessageClass, Store, StoreError, StoreOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push {
        telemetry: bool,
        size: usize,
    },
    Batch {
        count: usize,
        size: usize,
    },
    /// `after` picks a waiting seq by index, or reads from the start.
    Pending {
        after: Option<usize>,
        limit: usize,
    },
    /// Picks a waiting seq by index; `stale` acknowledges one already gone instead.
    Ack {
        index: usize,
        stale: bool,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 0usize..3000).prop_map(|(telemetry, size)| Op::Push { telemetry, size }),
        1 => (1usize..6, 0usize..1500).prop_map(|(count, size)| Op::Batch { count, size }),
        3 => (proptest::option::of(0usize..64), 0usize..8)
            .prop_map(|(after, limit)| Op::Pending { after, limit }),
        4 => (0usize..64, any::<bool>()).prop_map(|(index, stale)| Op::Ack { index, stale }),
        1 => Just(Op::Reopen),
    ]
}

/// The model: what must be waiting, and everything that must never come back.
#[derive(Default)]
struct Model {
    waiting: BTreeMap<i64, NewMessage>,
    gone: BTreeSet<i64>,
    highest: i64,
    next_id: usize,
}

impl Model {
    fn message(&mut self, telemetry: bool, size: usize) -> NewMessage {
        self.next_id += 1;
        let topic = if telemetry {
            "fleet/v/telemetry"
        } else {
            "fleet/v/alerts"
        };
        NewMessage {
            message_id: format!("m{}", self.next_id),
            topic: topic.into(),
            payload: (0..size).map(|i| (i ^ self.next_id) as u8).collect(),
            retain: self.next_id.is_multiple_of(4),
        }
    }

    fn accepted(&mut self, seq: i64, message: NewMessage) {
        assert!(seq > self.highest, "seq {seq} not above {}", self.highest);
        self.highest = seq;
        self.waiting.insert(seq, message);
    }

    fn pick(&self, index: usize) -> Option<i64> {
        let len = self.waiting.len();
        (len > 0).then(|| *self.waiting.keys().nth(index % len).unwrap_or(&0))
    }
}

fn is_telemetry(message: &NewMessage) -> bool {
    MessageClass::of_topic(&message.topic) == MessageClass::Telemetry
}

fn run(ops: Vec<Op>, options: StoreOptions, evicting: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let open = |p: &Path| Store::open(p, options.clone()).unwrap();
    let mut store = open(&path);
    let mut model = Model::default();

    for op in ops {
        match op {
            Op::Push { telemetry, size } => {
                let message = model.message(telemetry, size);
                match store.push(message.clone()) {
                    Ok(seq) => model.accepted(seq, message),
                    Err(OutboxError::Full { .. }) if evicting => {}
                    Err(error) => return Err(TestCaseError::fail(format!("push: {error}"))),
                }
            }
            Op::Batch { count, size } => {
                let batch: Vec<NewMessage> = (0..count)
                    .map(|i| model.message(i % 2 == 1, size))
                    .collect();
                match store.push_batch(&batch) {
                    Ok(seqs) => {
                        for (seq, message) in seqs.into_iter().zip(batch) {
                            model.accepted(seq, message);
                        }
                    }
                    Err(StoreError::Full { .. }) if evicting => {}
                    Err(error) => return Err(TestCaseError::fail(format!("batch: {error}"))),
                }
            }
            Op::Pending { after, limit } => {
                let after = after.and_then(|i| model.pick(i));
                let got = store.pending(after, limit).unwrap();
                let start = after.map_or(i64::MIN, |a| a + 1);
                if !evicting {
                    let want: Vec<i64> = model
                        .waiting
                        .range(start..)
                        .take(limit)
                        .map(|(s, _)| *s)
                        .collect();
                    let got: Vec<i64> = got.iter().map(|m| m.seq).collect();
                    prop_assert_eq!(got, want);
                } else {
                    prop_assert!(got.len() <= limit);
                    prop_assert!(got.iter().all(|m| m.seq >= start));
                }
            }
            Op::Ack { index, stale } => {
                let seq = if stale {
                    model
                        .gone
                        .iter()
                        .nth(index % model.gone.len().max(1))
                        .copied()
                } else {
                    model.pick(index)
                };
                if let Some(seq) = seq {
                    store.acknowledge(seq).unwrap();
                    model.waiting.remove(&seq);
                    model.gone.insert(seq);
                }
            }
            Op::Reopen => {
                drop(store);
                store = open(&path);
            }
        }
        check(&mut store, &mut model, evicting)?;
    }
    Ok(())
}

/// Compares the whole outbox with the model after every step.
fn check(store: &mut Store, model: &mut Model, evicting: bool) -> Result<(), TestCaseError> {
    let all = store.pending(None, usize::MAX).unwrap();
    prop_assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "order");
    let present: BTreeSet<i64> = all.iter().map(|m| m.seq).collect();
    for m in &all {
        prop_assert!(
            !model.gone.contains(&m.seq),
            "acknowledged {} came back",
            m.seq
        );
        let want = model.waiting.get(&m.seq);
        prop_assert!(want.is_some(), "unknown seq {}", m.seq);
        if let Some(want) = want {
            prop_assert_eq!(&m.message_id, &want.message_id);
            prop_assert_eq!(&m.payload, &want.payload);
            prop_assert_eq!(m.retain, want.retain);
        }
    }
    if evicting {
        // Missing messages may only be telemetry, and only the oldest: every telemetry
        // message still present is newer than every one evicted.
        let missing: Vec<i64> = model
            .waiting
            .keys()
            .filter(|s| !present.contains(s))
            .copied()
            .collect();
        let oldest_kept = model
            .waiting
            .iter()
            .filter(|(s, m)| is_telemetry(m) && present.contains(s))
            .map(|(s, _)| *s)
            .next();
        for seq in &missing {
            prop_assert!(is_telemetry(&model.waiting[seq]), "alert {seq} lost");
            prop_assert!(
                oldest_kept.is_none_or(|k| *seq < k),
                "{seq} evicted out of order"
            );
        }
        for seq in missing {
            model.waiting.remove(&seq);
            model.gone.insert(seq);
        }
    }
    prop_assert_eq!(present.len(), model.waiting.len(), "nothing lost");
    prop_assert_eq!(store.len().unwrap(), model.waiting.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_outbox_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..50)) {
        run(ops, StoreOptions::default(), false)?;
    }

    #[test]
    fn under_a_small_bound_only_the_oldest_telemetry_goes(
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let options = StoreOptions {
            max_bytes: 96 * 1024,
            hard_max_bytes: 128 * 1024,
            ..StoreOptions::default()
        };
        run(ops, options, true)?;
    }
}
