//! Property test of the delivery bookkeeping against a model of rumqttc and the broker.
//!
//! Random sequences of outbox pushes, hand-overs, writes (packet id assignment), PubAcks (in
//! order, as MQTT requires, or refused), disconnects and reconnects. Afterwards the link stays
//! up until everything drains. Checked: every message is acknowledged to the outbox exactly once,
//! never before the PubAck of a packet that carried it, and first sends keep seq order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use obd_agent::outbox::{MemoryOutbox, NewMessage, Outbox};
use obd_agent::uplink::delivery::{AckOutcome, DeliveryState};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Action {
    Push(u8),
    Pump,
    Untracked,
    Write(u8),
    Ack(u8),
    Refuse,
    Disconnect,
    Reconnect,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (1u8..5).prop_map(Action::Push),
        3 => Just(Action::Pump),
        1 => Just(Action::Untracked),
        3 => (1u8..6).prop_map(Action::Write),
        3 => (1u8..6).prop_map(Action::Ack),
        1 => Just(Action::Refuse),
        1 => Just(Action::Disconnect),
        1 => Just(Action::Reconnect),
    ]
}

/// What the model client carries: an outbox seq or an untracked publish.
type Content = Option<i64>;

struct Model {
    outbox: MemoryOutbox,
    delivery: DeliveryState,
    connected: bool,
    /// The client's request queue: handed over, not written.
    queue: VecDeque<Content>,
    /// Written, unacknowledged, in write order (the broker acks in this order).
    written: VecDeque<(u16, Content)>,
    next_pkid: u16,
    acked: BTreeMap<i64, u32>,
    first_sends: Vec<i64>,
    sent: BTreeSet<i64>,
    pushed: Vec<i64>,
}

impl Model {
    fn new(window: usize) -> Self {
        Model {
            outbox: MemoryOutbox::default(),
            delivery: DeliveryState::new(window),
            connected: false,
            queue: VecDeque::new(),
            written: VecDeque::new(),
            next_pkid: 0,
            acked: BTreeMap::new(),
            first_sends: Vec::new(),
            sent: BTreeSet::new(),
            pushed: Vec::new(),
        }
    }

    fn pkid(&mut self) -> u16 {
        // Like rumqttc: cycle through ids, skipping none (ids in use never come round because
        // the window is far below the cycle length).
        self.next_pkid = self.next_pkid % 500 + 1;
        self.next_pkid
    }

    fn pump(&mut self) {
        if !self.connected {
            return;
        }
        if let Some((after, limit)) = self.delivery.fetch_request() {
            let rows = self.outbox.pending(after, limit).unwrap();
            self.delivery.on_fetched(rows);
        }
        while let Some(message) = self.delivery.next_to_send() {
            if self.sent.insert(message.seq) {
                self.first_sends.push(message.seq);
            }
            self.queue.push_back(Some(message.seq));
        }
    }

    fn ack(&mut self, accepted: bool) {
        let Some((pkid, content)) = self.written.pop_front() else {
            return;
        };
        let outcome = self.delivery.on_puback(pkid, accepted);
        match (content, outcome) {
            (Some(seq), AckOutcome::Acknowledge(got)) if accepted => {
                assert_eq!(got, seq, "PubAck {pkid} acknowledged the wrong message");
                *self.acked.entry(seq).or_default() += 1;
                self.outbox.acknowledge(seq).unwrap();
            }
            (Some(seq), AckOutcome::Refused(got)) if !accepted => assert_eq!(got, seq),
            (None, AckOutcome::Untracked) => {}
            (content, outcome) => panic!("PubAck {pkid} for {content:?} gave {outcome:?}"),
        }
    }

    fn apply(&mut self, action: &Action) {
        match *action {
            Action::Push(n) => {
                for _ in 0..n {
                    let seq = self
                        .outbox
                        .push(NewMessage {
                            message_id: format!("m{}", self.pushed.len()),
                            topic: "fleet/v/alerts".into(),
                            payload: vec![],
                            retain: false,
                        })
                        .unwrap();
                    self.pushed.push(seq);
                }
            }
            Action::Pump => self.pump(),
            Action::Untracked if self.connected => {
                self.delivery.on_untracked_handed();
                self.queue.push_back(None);
            }
            Action::Untracked => {}
            Action::Write(n) if self.connected => {
                for _ in 0..n {
                    let Some(content) = self.queue.pop_front() else {
                        break;
                    };
                    let pkid = self.pkid();
                    self.delivery.on_outgoing_publish(pkid);
                    self.written.push_back((pkid, content));
                }
            }
            Action::Write(_) => {}
            Action::Ack(n) => (0..n).for_each(|_| self.ack(true)),
            Action::Refuse => self.ack(false),
            Action::Disconnect => {
                self.connected = false;
                self.queue.clear();
                self.written.clear();
                self.delivery.on_disconnect();
            }
            Action::Reconnect if !self.connected => {
                self.connected = true;
                self.delivery.on_connected();
            }
            Action::Reconnect => {}
        }
    }

    fn drain(&mut self) {
        self.apply(&Action::Disconnect);
        self.apply(&Action::Reconnect);
        for _ in 0..10_000 {
            self.pump();
            self.apply(&Action::Write(50));
            self.apply(&Action::Ack(50));
            if self.outbox.len().unwrap() == 0 && self.written.is_empty() && self.queue.is_empty() {
                return;
            }
        }
        panic!(
            "the outbox did not drain: {} left",
            self.outbox.len().unwrap()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_message_is_acknowledged_once_and_in_first_send_order(
        window in 1usize..6,
        actions in proptest::collection::vec(action(), 0..120),
    ) {
        let mut model = Model::new(window);
        for action in &actions {
            model.apply(action);
        }
        model.drain();
        let once: BTreeMap<i64, u32> = model.pushed.iter().map(|&s| (s, 1)).collect();
        prop_assert_eq!(&model.acked, &once);
        prop_assert!(model.first_sends.windows(2).all(|w| w[0] < w[1]), "{:?}", model.first_sends);
        prop_assert_eq!(model.delivery.unacknowledged(), 0);
    }
}
