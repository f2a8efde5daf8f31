//! The agent's SQLite database: fault history, downsampled live data, the outbox, and a
//! little agent state. One file, one connection, owned by one thread or blocking task.
//!
//! # Invariants
//!
//! - **An accepted message survives power loss.** `push` returns only after its
//!   transaction committed with `synchronous=FULL` in WAL mode, which fsyncs the WAL on
//!   every commit. `NORMAL` is not enough: under WAL it syncs only at checkpoints, so a
//!   commit can sit in the page cache and roll back at the next power cut, and the uplink
//!   would already have been told the message was safe.
//! - **Seqs increase and are never reused** (`AUTOINCREMENT`): after deletes, evictions and
//!   reopening, a new message always gets a seq above every seq ever handed out, so a late
//!   acknowledgement can never remove a different message.
//! - **Only an acknowledgement or the size policy removes a message**, and the size policy
//!   removes only telemetry, oldest first; alerts are never evicted.
//! - **Every write is one transaction**; a failure (disk full, read-only card) leaves the
//!   database as it was before the call, and the store stays usable.
//! - **The schema version** (`PRAGMA user_version`) only moves forward, one migration per
//!   transaction; a newer file than this code knows is refused.
//!
//! # Size policy
//!
//! Size is measured as used pages, `(page_count - freelist_count) * page_size`: freed pages
//! are reused before the file grows, so the file settles at the high-water mark of used
//! bytes. Before anything is written that would take the used size over
//! [`StoreOptions::max_bytes`], the oldest evictable data goes first: outbox telemetry and
//! sample aggregates, whichever is older, in small batches. If alerts and fault history
//! alone exceed the bound, telemetry and samples are refused with [`StoreError::Full`]
//! (`OutboxError::Full` through the trait) while alerts are still accepted up to
//! [`StoreOptions::hard_max_bytes`]; past that alerts are refused too and the caller must
//! keep them in memory or drop them knowingly. Fault rows and agent state take pages like
//! everything else but are never evicted or refused: they are bounded by the number of
//! distinct codes and keys. `auto_vacuum=INCREMENTAL` lets [`Store::maintain`] hand large runs of free pages
//! back to the file system; it does so only past a threshold, because shrinking and
//! regrowing the file is extra wear on an SD card. The WAL is kept short by
//! `journal_size_limit`.
//!
//! Samples are written with `synchronous=NORMAL`: losing the last minute of aggregates to a
//! power cut costs nothing, and one fsync per sample batch would wear the card.
//!
//! What the tests show and what they cannot: killing a writer with SIGKILL at random points
//! (tests/store_crash.rs) proves crash atomicity and that a returned push is on disk as far
//! as the OS is concerned; surviving a real power cut rests on SQLite's fsync discipline
//! with `synchronous=FULL` and on the card honouring flushes.

mod error;
mod fault_rows;
mod faults;
mod maint;
mod outbox;
mod samples;
mod schema;
mod size;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

pub use error::StoreError;
pub use faults::{FaultObservation, FaultRecord, FaultState, Observation, observe, to_clear};
pub use maint::OdometerSetting;
pub use outbox::MessageClass;
pub use samples::{PidSample, SampleAggregate, SampleRetention};
pub use schema::latest_version;
pub use size::{Admission, StoreSize, admit};

/// How the store is bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// Bound on used bytes; telemetry and samples are evicted, oldest first, to stay under
    /// it, and refused when only alerts are left.
    pub max_bytes: u64,
    /// Alerts may take the database past `max_bytes` up to this cap, so that a long broker
    /// outage still records every fault; nothing is accepted beyond it.
    pub hard_max_bytes: u64,
    pub sample_retention: SampleRetention,
    /// How long to wait for another connection's lock (a second agent, the CLI reading
    /// history) before giving up with [`StoreError::Busy`].
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_bytes: 64 * 1024 * 1024,
            hard_max_bytes: 80 * 1024 * 1024,
            sample_retention: SampleRetention::default(),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl StoreOptions {
    /// Below this the schema alone would not fit under the bound.
    pub const MIN_BYTES: u64 = 64 * 1024;

    fn validate(&self) -> Result<(), StoreError> {
        let reason = if self.max_bytes < Self::MIN_BYTES {
            "max_bytes must be at least 64 KiB"
        } else if self.hard_max_bytes < self.max_bytes {
            "hard_max_bytes must not be below max_bytes"
        } else {
            return Ok(());
        };
        Err(StoreError::InvalidOptions { reason })
    }
}

/// The database. `Send`, not `Sync`: the agent owns it from one blocking thread.
pub struct Store {
    conn: Connection,
    /// For error messages; `:memory:` for an in-memory store.
    path: PathBuf,
    options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens or creates the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        options.validate()?;
        let conn = Connection::open(path)
            .map_err(|e| StoreError::sqlite(path, "opening the database", e))?;
        Self::setup(conn, path.to_path_buf(), options)
    }

    /// A private in-memory database with default options, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::open_in_memory_with(StoreOptions::default())
    }

    pub fn open_in_memory_with(options: StoreOptions) -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        options.validate()?;
        let conn = Connection::open_in_memory()
            .map_err(|e| StoreError::sqlite(&path, "opening the database", e))?;
        Self::setup(conn, path, options)
    }

    fn setup(
        mut conn: Connection,
        path: PathBuf,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        configure(&conn, &options).map_err(|e| StoreError::sqlite(&path, "configuring", e))?;
        schema::migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            options,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.fail("reading the schema version", e))
    }

    pub fn size(&self) -> Result<StoreSize, StoreError> {
        size::measure(&self.conn).map_err(|e| self.fail("measuring the size", e))
    }

    /// Housekeeping for the agent to run now and then (hourly is plenty): applies sample
    /// retention and gives large runs of free pages back to the file system.
    pub fn maintain(&mut self, now: SystemTime) -> Result<Maintenance, StoreError> {
        let retention = self.options.sample_retention;
        let samples_removed = samples::apply_retention(&mut self.conn, now, retention)
            .map_err(|e| self.fail("applying sample retention", e))?;
        let bytes_released = size::release_free_pages(&self.conn)
            .map_err(|e| self.fail("releasing free pages", e))?;
        Ok(Maintenance {
            samples_removed,
            bytes_released,
        })
    }

    /// A value of agent state (odometer anchor, last clear time, ...).
    pub fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM agent_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail("reading agent state", e))
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO agent_state (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                 updated_at = excluded.updated_at",
                params![key, value, unix_ms(SystemTime::now())],
            )
            .map(drop)
            .map_err(|e| self.fail("writing agent state", e))
    }

    pub fn remove_state(&mut self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM agent_state WHERE key = ?1", [key])
            .map(drop)
            .map_err(|e| self.fail("removing agent state", e))
    }

    /// Caps the file at `pages` pages (`PRAGMA max_page_count`), so that tests can run into
    /// `SQLITE_FULL` the way a full SD card does without filling a disk.
    #[doc(hidden)]
    pub fn limit_pages_for_tests(&mut self, pages: u64) -> Result<(), StoreError> {
        self.conn
            .pragma_update(
                None,
                "max_page_count",
                i64::try_from(pages).unwrap_or(i64::MAX),
            )
            .map_err(|e| self.fail("limiting the page count", e))
    }

    fn fail(&self, action: &'static str, error: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, action, error)
    }
}

/// What [`Store::maintain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    pub samples_removed: u64,
    pub bytes_released: u64,
}

/// The most WAL kept on disk after a checkpoint.
const WAL_LIMIT: i64 = 4 * 1024 * 1024;

fn configure(conn: &Connection, options: &StoreOptions) -> rusqlite::Result<()> {
    // Must come before the first table exists to take effect; on an existing file it is a
    // no-op, which is fine because this code created it.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    // journal_mode answers with the mode it ended up in (memory for :memory:), so read it.
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // After a checkpoint the WAL is truncated to this, so it does not keep the space of the
    // largest burst forever.
    let wal_limit = i64::try_from(options.max_bytes / 8).map_or(WAL_LIMIT, |b| b.min(WAL_LIMIT));
    let _limit: i64 =
        conn.pragma_update_and_check(None, "journal_size_limit", wal_limit, |r| r.get(0))?;
    conn.busy_timeout(options.busy_timeout)
}

/// Timestamps are stored as unix milliseconds; times before 1970 (a clock not yet set)
/// count as 0 rather than failing a write.
pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Store>();
};
