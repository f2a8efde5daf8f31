//! The outbox shared between its writers (the agent) and the uplink.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::outbox::{MemoryOutbox, NewMessage, Outbox, OutboxError};

/// A cloneable handle: writers [`OutboxHandle::push`], the uplink drains. Pushing wakes the
/// uplink at once; it also looks on its own every `outbox_poll` in case rows arrive another way.
#[derive(Debug)]
pub struct OutboxHandle<O> {
    outbox: Arc<Mutex<O>>,
    changed: Arc<Notify>,
}

impl<O> Clone for OutboxHandle<O> {
    fn clone(&self) -> Self {
        OutboxHandle {
            outbox: Arc::clone(&self.outbox),
            changed: Arc::clone(&self.changed),
        }
    }
}

impl<O: Outbox> OutboxHandle<O> {
    pub fn new(outbox: O) -> Self {
        OutboxHandle {
            outbox: Arc::new(Mutex::new(outbox)),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Accepts a message durably and wakes the uplink.
    pub fn push(&self, message: NewMessage) -> Result<i64, OutboxError> {
        let seq = self.lock().push(message)?;
        self.changed.notify_one();
        Ok(seq)
    }

    /// Messages waiting for delivery.
    pub fn len(&self) -> Result<usize, OutboxError> {
        self.lock().len()
    }

    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }

    /// Direct access, e.g. for a store's maintenance. Calls are short and synchronous, so a
    /// std mutex is right; it is never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, O> {
        // A writer that panicked mid-call leaves the outbox as consistent as its own contract
        // makes it; refusing all later deliveries would lose more.
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Removing delivered rows in batches. On the SQLite store every commit is an fsync (about
/// 10 ms on an SD card), so one commit per PubAck would cap delivery near 100 messages/s; the
/// uplink gathers PubAcks for a few milliseconds and removes them in one transaction.
///
/// This belongs on [`Outbox`] itself (with a looping default); until it is there, the uplink
/// asks for it separately.
pub trait AcknowledgeBatch {
    /// Removes delivered messages; unknown seqs are ignored, as in [`Outbox::acknowledge`].
    fn acknowledge_batch(&mut self, seqs: &[i64]) -> Result<(), OutboxError>;
}

impl AcknowledgeBatch for MemoryOutbox {
    fn acknowledge_batch(&mut self, seqs: &[i64]) -> Result<(), OutboxError> {
        seqs.iter().try_for_each(|&seq| self.acknowledge(seq))
    }
}

impl AcknowledgeBatch for crate::store::Store {
    fn acknowledge_batch(&mut self, seqs: &[i64]) -> Result<(), OutboxError> {
        crate::store::Store::acknowledge_batch(self, seqs)?;
        Ok(())
    }
}
