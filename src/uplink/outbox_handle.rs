//! The outbox shared between its writers (the agent) and the uplink.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::outbox::{NewMessage, Outbox, OutboxError};

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
