//! The outbox table behind [`crate::outbox::Outbox`].
//!
//! A push is one `IMMEDIATE` transaction: make room under the size bound, admit or refuse,
//! insert, commit with `synchronous=FULL`. Pushing a `message_id` that is already waiting
//! returns the seq it already has, so a caller retrying after an error it could not
//! interpret does not queue the message twice.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::size;
use super::{Store, StoreError, from_unix_ms, unix_ms};
use crate::outbox::{NewMessage, Outbox, OutboxError, OutboxMessage};

/// What the size policy may drop: telemetry before anything else, alerts never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageClass {
    /// Kept until acknowledged: fault alerts, maintenance, appointments, status, replies.
    Alert,
    /// Live snapshots: a newer one replaces the value of an old one, so the oldest go first.
    Telemetry,
}

impl MessageClass {
    /// The class the trait's `push` uses: `fleet/<vehicle>/telemetry` is telemetry, every
    /// other topic is kept.
    pub fn of_topic(topic: &str) -> Self {
        if topic.rsplit('/').next() == Some("telemetry") {
            MessageClass::Telemetry
        } else {
            MessageClass::Alert
        }
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            MessageClass::Alert => 0,
            MessageClass::Telemetry => 1,
        }
    }
}

/// Bytes a message adds beyond its fields: row header, index entries, page slack. An
/// estimate; the bound is checked against measured pages before every write.
const ROW_OVERHEAD: u64 = 64;

fn footprint(message: &NewMessage) -> u64 {
    (message.payload.len() + message.topic.len() + 2 * message.message_id.len()) as u64
        + ROW_OVERHEAD
}

impl Store {
    /// Accepts one message with an explicit class (the trait's `push` classifies by topic).
    pub fn push_with_class(
        &mut self,
        message: &NewMessage,
        class: MessageClass,
    ) -> Result<i64, StoreError> {
        let seqs = self.push_all(&[(message, class)])?;
        // push_all answers one seq per message, so the first is there.
        Ok(seqs.first().copied().unwrap_or_default())
    }

    /// Accepts several messages in one transaction and one fsync, classified by topic. All or
    /// nothing: if the size policy refuses one, none is accepted.
    pub fn push_batch(&mut self, messages: &[NewMessage]) -> Result<Vec<i64>, StoreError> {
        let classified: Vec<_> = messages
            .iter()
            .map(|m| (m, MessageClass::of_topic(&m.topic)))
            .collect();
        self.push_all(&classified)
    }

    fn push_all(
        &mut self,
        messages: &[(&NewMessage, MessageClass)],
    ) -> Result<Vec<i64>, StoreError> {
        let now = unix_ms(std::time::SystemTime::now());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(&self.path, "starting a push", e))?;
        let mut seqs = Vec::with_capacity(messages.len());
        for &(message, class) in messages {
            let fail = |e| StoreError::sqlite(&self.path, "pushing to the outbox", e);
            if let Some(seq) = waiting_seq(&tx, &message.message_id).map_err(fail)? {
                seqs.push(seq);
                continue;
            }
            // Checked before the insert with an estimate, and again after it with the
            // measured size, since a page split can cost more than the estimate. Returning
            // drops the transaction, which rolls back evictions and earlier inserts.
            size::fit(&tx, class, footprint(message), &self.options)
                .map_err(fail)?
                .or_full(&self.path)?;
            seqs.push(insert(&tx, message, class, now).map_err(fail)?);
            size::fit(&tx, class, 0, &self.options)
                .map_err(fail)?
                .or_full(&self.path)?;
        }
        tx.commit()
            .map_err(|e| StoreError::sqlite(&self.path, "committing a push", e))?;
        Ok(seqs)
    }

    /// Removes delivered messages in one transaction; unknown seqs are ignored. Returns how
    /// many were there.
    pub fn acknowledge_batch(&mut self, seqs: &[i64]) -> Result<usize, StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "acknowledging", e);
        let tx = self.conn.transaction().map_err(fail)?;
        let mut removed = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
                .map_err(fail)?;
            for seq in seqs {
                removed += delete.execute([seq]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(removed)
    }
}

fn waiting_seq(conn: &Connection, message_id: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT seq FROM outbox WHERE message_id = ?1")?
        .query_row([message_id], |r| r.get(0))
        .optional()
}

fn insert(
    conn: &Connection,
    message: &NewMessage,
    class: MessageClass,
    created_at: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, topic, payload, retain, class, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        message.message_id,
        message.topic,
        message.payload,
        message.retain,
        class.code(),
        created_at
    ])?;
    Ok(conn.last_insert_rowid())
}

impl Outbox for Store {
    fn push(&mut self, message: NewMessage) -> Result<i64, OutboxError> {
        let class = MessageClass::of_topic(&message.topic);
        Ok(self.push_with_class(&message, class)?)
    }

    fn pending(
        &mut self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let fail = |e| OutboxError::from(StoreError::sqlite(&self.path, "reading the outbox", e));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT seq, message_id, topic, payload, retain, created_at FROM outbox
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map(params![after.unwrap_or(i64::MIN), limit], |r| {
                Ok(OutboxMessage {
                    seq: r.get(0)?,
                    message_id: r.get(1)?,
                    topic: r.get(2)?,
                    payload: r.get(3)?,
                    retain: r.get(4)?,
                    created_at: from_unix_ms(r.get(5)?),
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    fn acknowledge(&mut self, seq: i64) -> Result<(), OutboxError> {
        self.conn
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
            .and_then(|mut s| s.execute([seq]))
            .map(drop)
            .map_err(|e| StoreError::sqlite(&self.path, "acknowledging", e).into())
    }

    fn len(&mut self) -> Result<usize, OutboxError> {
        self.conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| StoreError::sqlite(&self.path, "counting the outbox", e).into())
    }
}
