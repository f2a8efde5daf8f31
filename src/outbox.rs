//! The delivery contract between the store and the uplink.
//!
//! Every message for the service centre is written to the outbox before anything tries to
//! publish it, and leaves the outbox only when the broker has acknowledged it (MQTT QoS 1
//! PubAck). A power cut at any moment therefore loses nothing that was accepted, at the price
//! of an occasional duplicate, which the backend drops by `message_id`.
//!
//! The store (SQLite) implements [`Outbox`]; the uplink only uses the trait, so it is tested
//! against [`MemoryOutbox`] and the store against its own model.

use std::collections::BTreeMap;
use std::time::SystemTime;

/// One message waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Position in the outbox: increasing in the order messages were accepted.
    pub seq: i64,
    /// Unique id carried in the payload, so the backend can drop duplicates.
    pub message_id: String,
    pub topic: String,
    pub payload: Vec<u8>,
    /// Retained on the broker (status messages).
    pub retain: bool,
    pub created_at: SystemTime,
}

/// A message to accept into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub message_id: String,
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database is at its configured size bound; the message was not accepted.
    #[error(
        "the outbox is full ({bytes} bytes, limit {limit}); oldest telemetry is dropped first, alerts are kept"
    )]
    Full { bytes: u64, limit: u64 },
    #[error("outbox storage failed: {0}")]
    Storage(String),
}

pub trait Outbox: Send {
    /// Accepts a message durably (it survives a crash once this returns) and returns its seq.
    fn push(&mut self, message: NewMessage) -> Result<i64, OutboxError>;

    /// Up to `limit` messages with `seq > after` (`None`: from the oldest), oldest first.
    fn pending(
        &mut self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError>;

    /// Removes a delivered message; acknowledging an unknown seq is not an error (a duplicate
    /// PubAck after a reconnect).
    fn acknowledge(&mut self, seq: i64) -> Result<(), OutboxError>;

    /// Messages waiting.
    fn len(&mut self) -> Result<usize, OutboxError>;

    fn is_empty(&mut self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }
}

/// An in-memory outbox: for tests of the uplink and for running without a database.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    next: i64,
    messages: BTreeMap<i64, OutboxMessage>,
}

impl Outbox for MemoryOutbox {
    fn push(&mut self, message: NewMessage) -> Result<i64, OutboxError> {
        self.next += 1;
        let seq = self.next;
        self.messages.insert(
            seq,
            OutboxMessage {
                seq,
                message_id: message.message_id,
                topic: message.topic,
                payload: message.payload,
                retain: message.retain,
                created_at: SystemTime::now(),
            },
        );
        Ok(seq)
    }

    fn pending(
        &mut self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let start = after.map_or(i64::MIN, |a| a.saturating_add(1));
        Ok(self
            .messages
            .range(start..)
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect())
    }

    fn acknowledge(&mut self, seq: i64) -> Result<(), OutboxError> {
        self.messages.remove(&seq);
        Ok(())
    }

    fn len(&mut self) -> Result<usize, OutboxError> {
        Ok(self.messages.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u32) -> NewMessage {
        NewMessage {
            message_id: format!("m{n}"),
            topic: "fleet/v1/alerts".into(),
            payload: vec![n as u8],
            retain: false,
        }
    }

    #[test]
    fn memory_outbox_keeps_order_and_forgets_acknowledged() {
        let mut outbox = MemoryOutbox::default();
        let a = outbox.push(message(1)).unwrap();
        let b = outbox.push(message(2)).unwrap();
        let c = outbox.push(message(3)).unwrap();
        assert!(a < b && b < c);
        outbox.acknowledge(b).unwrap();
        outbox.acknowledge(b).unwrap();
        let left: Vec<i64> = outbox
            .pending(None, 10)
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(left, vec![a, c]);
        assert_eq!(outbox.pending(Some(a), 10).unwrap()[0].seq, c);
        assert_eq!(outbox.len().unwrap(), 2);
    }
}
