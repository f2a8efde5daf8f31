//! Downsampled live data: one row per PID and minute with min, max, sum and count, so a
//! month of a dozen PIDs stays in the low megabytes. Retention by age and by row count runs
//! in [`Store::maintain`]; the size bound evicts the oldest minutes first when it must.

use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::outbox::MessageClass;
use super::size::{self, Admission};
use super::{Store, StoreError, StoreOptions, from_unix_ms, unix_ms};

/// How long samples are kept. Whichever bound is hit first applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRetention {
    pub max_age: Duration,
    pub max_rows: u64,
}

impl Default for SampleRetention {
    fn default() -> Self {
        SampleRetention {
            max_age: Duration::from_secs(30 * 24 * 3600),
            // 30 days of 24 PIDs at one row a minute.
            max_rows: 30 * 24 * 60 * 24,
        }
    }
}

/// One reading of a PID.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PidSample {
    pub pid: u16,
    pub value: f64,
}

/// One minute of one PID.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleAggregate {
    pub pid: u16,
    /// Start of the minute.
    pub minute: SystemTime,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub count: u64,
}

/// Bytes one aggregate row takes, for the size bound.
const ROW_BYTES: u64 = 48;

impl Store {
    /// Folds readings taken at `at` into their minute's aggregates. Non-finite values (a
    /// decoder's NaN) are skipped; returns how many were recorded. Samples count as
    /// telemetry for the size policy.
    pub fn record_samples(
        &mut self,
        at: SystemTime,
        samples: &[PidSample],
    ) -> Result<usize, StoreError> {
        let finite: Vec<_> = samples.iter().filter(|s| s.value.is_finite()).collect();
        if finite.is_empty() {
            return Ok(0);
        }
        let minute = unix_ms(at) / 60_000;
        let fail = |e| StoreError::sqlite(&self.path, "recording samples", e);
        // Relaxed for this write only, and restored whatever happened, so that no other
        // write ever runs without the fsync.
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        let result = fold(&mut self.conn, minute, &finite, &self.options);
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        let admission = result.map_err(fail)?;
        restored.map_err(fail)?;
        admission.or_full(&self.path)?;
        Ok(finite.len())
    }

    /// Aggregates of `pid` for minutes starting in `from..to`, oldest first.
    pub fn samples(
        &self,
        pid: u16,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Vec<SampleAggregate>, StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "reading samples", e);
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT minute, min, max, sum, count FROM pid_samples
                 WHERE pid = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute",
            )
            .map_err(fail)?;
        let (first, end) = (minute_ceil(from), minute_ceil(to));
        let rows = statement
            .query_map(params![pid, first, end], |r| {
                let count = u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0);
                let sum: f64 = r.get(3)?;
                Ok(SampleAggregate {
                    pid,
                    minute: from_unix_ms(r.get::<_, i64>(0)? * 60_000),
                    min: r.get(1)?,
                    max: r.get(2)?,
                    avg: sum / count.max(1) as f64,
                    count,
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }
}

/// Folds readings into their minute's rows in one transaction, within the size policy;
/// commits only if admitted.
fn fold(
    conn: &mut Connection,
    minute: i64,
    samples: &[&PidSample],
    options: &StoreOptions,
) -> rusqlite::Result<Admission> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let class = MessageClass::Telemetry;
    let before = size::fit(&tx, class, ROW_BYTES * samples.len() as u64, options)?;
    if before != Admission::Accept {
        return Ok(before);
    }
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO pid_samples (minute, pid, min, max, sum, count)
             VALUES (?1, ?2, ?3, ?3, ?3, 1)
             ON CONFLICT (minute, pid) DO UPDATE SET
                min = min(min, excluded.min), max = max(max, excluded.max),
                sum = sum + excluded.sum, count = count + 1",
        )?;
        for sample in samples {
            upsert.execute(params![minute, sample.pid, sample.value])?;
        }
    }
    // Measured again now the rows are in (see the outbox push).
    let after = size::fit(&tx, class, 0, options)?;
    if after == Admission::Accept {
        tx.commit()?;
    }
    Ok(after)
}

/// The first whole minute at or after `time`.
fn minute_ceil(time: SystemTime) -> i64 {
    let ms = unix_ms(time);
    ms.div_euclid(60_000) + i64::from(ms.rem_euclid(60_000) != 0)
}

/// Deletes samples older than the retention age, then the oldest minutes beyond the row
/// count. Returns the rows removed.
pub(crate) fn apply_retention(
    conn: &mut Connection,
    now: SystemTime,
    retention: SampleRetention,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let oldest_kept = unix_ms(now.checked_sub(retention.max_age).unwrap_or(now)) / 60_000;
    let mut removed = tx.execute("DELETE FROM pid_samples WHERE minute < ?1", [oldest_kept])?;
    let max_rows = i64::try_from(retention.max_rows).unwrap_or(i64::MAX);
    // The newest minute that would push the count over the bound, and everything older,
    // goes: whole minutes, so the table may end a little under max_rows.
    let cutoff: Option<i64> = tx
        .query_row(
            "SELECT minute FROM pid_samples ORDER BY minute DESC LIMIT 1 OFFSET ?1",
            [max_rows],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(cutoff) = cutoff {
        removed += tx.execute("DELETE FROM pid_samples WHERE minute <= ?1", [cutoff])?;
    }
    tx.commit()?;
    Ok(removed as u64)
}
