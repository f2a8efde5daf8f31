//! Sans-io bookkeeping of outbox delivery over one MQTT client.
//!
//! rumqttc's `publish()` returns when the request is queued; the packet id is chosen later, when
//! the event loop writes the packet (`Outgoing::Publish(pkid)`), and the broker's PubAck names
//! only that packet id. [`DeliveryState`] ties the three together without touching a socket:
//!
//! - the driver asks what to fetch from the outbox ([`DeliveryState::fetch_request`]) and what
//!   to hand to the client next ([`DeliveryState::next_to_send`]), within a bounded window;
//! - every QoS 1 publish handed to the client, ours or not (status, command replies), is recorded
//!   in hand-over order, because the client writes them in that order and the packet ids it
//!   reports come back in that order;
//! - a PubAck returns the outbox seq to acknowledge, at most once per seq;
//! - a disconnect returns every unacknowledged message to the queue, and a reconnect sends them
//!   again, oldest first, before anything newer.
//!
//! Invariants (checked by the property test in `tests/uplink_delivery_props.rs`):
//! every accepted message is acknowledged to the outbox exactly once, never before the PubAck of
//! a packet that carried it, and first sends follow seq order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::outbox::OutboxMessage;

/// A QoS 1 publish handed to the client, as far as delivery is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// An outbox row: acknowledged to the outbox on its PubAck.
    Outbox(OutboxMessage),
    /// A publish that is not in the outbox (status, command reply): its PubAck is only
    /// consumed, but it still takes a place in the client's packet-id order.
    Untracked,
}

/// What the driver should do with a PubAck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Remove this seq from the outbox: the broker has the message.
    Acknowledge(i64),
    /// The broker refused the message (MQTT 5 reason code); it stays in the outbox and is sent
    /// again after the next reconnect.
    Refused(i64),
    /// A PubAck for a status or reply publish.
    Untracked,
    /// A packet id we are not waiting for (a late duplicate): nothing to do.
    Unknown,
}

/// Counters for logs and the bench.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStats {
    pub first_sends: u64,
    pub resends: u64,
    pub acknowledged: u64,
    pub refused: u64,
    pub unknown_acks: u64,
}

#[derive(Debug)]
pub struct DeliveryState {
    /// Most outbox messages handed to the client and not yet acknowledged. Bounds memory and
    /// the burst that a reconnect resends.
    window: usize,
    /// Highest seq ever fetched: the next fetch continues after it, so a row is fetched once.
    cursor: Option<i64>,
    /// Fetched or returned by a disconnect, waiting to be handed over, by seq: lower seqs (the
    /// resends) go first.
    ready: BTreeMap<i64, OutboxMessage>,
    /// Unacknowledged seqs that have been handed over at least once, so a resend is counted
    /// as one; pruned on acknowledgement.
    sent_once: BTreeSet<i64>,
    /// Handed to the client, not yet written: their packet ids arrive in this order.
    handed: VecDeque<Slot>,
    /// Written under a packet id, waiting for its PubAck.
    in_flight: HashMap<u16, Slot>,
    /// rumqttc found the packet id still in use (a broker acking out of order) and holds the
    /// publish until that id is acknowledged; it then writes it under the same id.
    collided: Option<(u16, Slot)>,
    /// Refused by the broker; returned to `ready` on the next reconnect.
    refused: BTreeMap<i64, OutboxMessage>,
    /// Publishing is possible only between a ConnAck and the next disconnect.
    connected: bool,
    stats: DeliveryStats,
}

impl DeliveryState {
    /// `window` is clamped to at least 1.
    pub fn new(window: usize) -> Self {
        DeliveryState {
            window: window.max(1),
            cursor: None,
            ready: BTreeMap::new(),
            sent_once: BTreeSet::new(),
            handed: VecDeque::new(),
            in_flight: HashMap::new(),
            collided: None,
            refused: BTreeMap::new(),
            connected: false,
            stats: DeliveryStats::default(),
        }
    }

    pub fn stats(&self) -> DeliveryStats {
        self.stats
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Outbox messages handed to the client and not yet acknowledged (or refused).
    pub fn outstanding(&self) -> usize {
        let tracked = |s: &Slot| matches!(s, Slot::Outbox(_));
        self.handed.iter().filter(|s| tracked(s)).count()
            + self.in_flight.values().filter(|s| tracked(s)).count()
            + self.collided.iter().filter(|(_, s)| tracked(s)).count()
    }

    /// Messages known and not yet acknowledged (ready, outstanding or refused).
    pub fn unacknowledged(&self) -> usize {
        self.ready.len() + self.outstanding() + self.refused.len()
    }

    /// `(after, limit)` for [`crate::outbox::Outbox::pending`] when more messages would fit,
    /// `None` while the queue already holds a window's worth.
    /// Fetching starts when fewer than a window's worth are ready and then fills up to two
    /// windows, so the outbox is read in batches rather than one row per PubAck.
    pub fn fetch_request(&self) -> Option<(Option<i64>, usize)> {
        if self.ready.len() >= self.window {
            return None;
        }
        let queued = self.ready.len() + self.outstanding();
        let room = (2 * self.window).saturating_sub(queued);
        (room > 0).then_some((self.cursor, room))
    }

    /// Takes rows returned by the outbox. Rows at or below the cursor are already known and
    /// ignored, so a repeated fetch never sends a message twice.
    pub fn on_fetched(&mut self, messages: Vec<OutboxMessage>) {
        for message in messages {
            if self.cursor.is_some_and(|c| message.seq <= c) {
                continue;
            }
            self.cursor = Some(message.seq);
            self.ready.insert(message.seq, message);
        }
    }

    /// The next outbox message to publish, if connected and the window has room. The message
    /// counts as handed over from here on: the driver must publish it or call
    /// [`DeliveryState::on_disconnect`].
    pub fn next_to_send(&mut self) -> Option<OutboxMessage> {
        if !self.connected || self.outstanding() >= self.window {
            return None;
        }
        let (seq, message) = self.ready.pop_first()?;
        if self.sent_once.insert(seq) {
            self.stats.first_sends += 1;
        } else {
            self.stats.resends += 1;
        }
        self.handed.push_back(Slot::Outbox(message.clone()));
        Some(message)
    }

    /// The client refused the publish just taken from [`DeliveryState::next_to_send`] (its
    /// queue was full): it goes back to the front of the queue.
    pub fn return_last_handed(&mut self) {
        if let Some(Slot::Outbox(message)) = self.handed.pop_back() {
            self.ready.insert(message.seq, message);
        }
    }

    /// Status and reply publishes handed over and not yet acknowledged.
    pub fn untracked_outstanding(&self) -> usize {
        let untracked = |s: &Slot| matches!(s, Slot::Untracked);
        self.handed.iter().filter(|s| untracked(s)).count()
            + self.in_flight.values().filter(|s| untracked(s)).count()
            + self.collided.iter().filter(|(_, s)| untracked(s)).count()
    }

    /// Records a QoS 1 publish that is not in the outbox (status, reply), handed to the client.
    pub fn on_untracked_handed(&mut self) {
        self.handed.push_back(Slot::Untracked);
    }

    /// The client wrote a publish under `pkid` (`Outgoing::Publish`).
    pub fn on_outgoing_publish(&mut self, pkid: u16) {
        // A held collision is written under its own id right after that id's PubAck.
        if let Some((held, _)) = &self.collided
            && *held == pkid
            && !self.in_flight.contains_key(&pkid)
            && let Some((_, slot)) = self.collided.take()
        {
            self.in_flight.insert(pkid, slot);
            return;
        }
        if let Some(slot) = self.handed.pop_front() {
            self.in_flight.insert(pkid, slot);
        }
    }

    /// The client holds the next publish because `pkid` is still in flight (`Outgoing::AwaitAck`).
    pub fn on_await_ack(&mut self, pkid: u16) {
        if let Some(slot) = self.handed.pop_front() {
            self.collided = Some((pkid, slot));
        }
    }

    /// The broker acknowledged `pkid`; `accepted` is false for an MQTT 5 failure reason code.
    pub fn on_puback(&mut self, pkid: u16, accepted: bool) -> AckOutcome {
        match self.in_flight.remove(&pkid) {
            Some(Slot::Outbox(message)) if accepted => {
                self.stats.acknowledged += 1;
                self.sent_once.remove(&message.seq);
                AckOutcome::Acknowledge(message.seq)
            }
            Some(Slot::Outbox(message)) => {
                self.stats.refused += 1;
                let seq = message.seq;
                self.refused.insert(seq, message);
                AckOutcome::Refused(seq)
            }
            Some(Slot::Untracked) => AckOutcome::Untracked,
            None => {
                self.stats.unknown_acks += 1;
                AckOutcome::Unknown
            }
        }
    }

    /// The connection is gone. Nothing handed over can be acknowledged any more (the driver
    /// drops rumqttc's own copies, see `docs/mqtt.md`), so every outbox message goes back to the
    /// queue to be sent again; untracked publishes are forgotten.
    pub fn on_disconnect(&mut self) {
        self.connected = false;
        let handed = self.handed.drain(..);
        let in_flight = self.in_flight.drain().map(|(_, s)| s);
        let collided = self.collided.take().map(|(_, s)| s);
        for slot in handed.chain(in_flight).chain(collided) {
            if let Slot::Outbox(message) = slot {
                self.ready.insert(message.seq, message);
            }
        }
    }

    /// A ConnAck arrived: refused messages get another chance, and sending may start.
    pub fn on_connected(&mut self) {
        // A ConnAck without a disconnect first (should not happen) must not strand anything.
        if !self.handed.is_empty() || !self.in_flight.is_empty() || self.collided.is_some() {
            self.on_disconnect();
        }
        self.ready.append(&mut self.refused);
        self.connected = true;
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
