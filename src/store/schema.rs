//! Schema and migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Migrations are an ordered list; each
//! runs in its own transaction together with the bump of `user_version`, so a power cut in
//! the middle of an upgrade leaves the database at the previous version, never half-way.
//! A database whose version is higher than the last migration here was written by a newer
//! agent and is refused rather than guessed at.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Written into the file header (`PRAGMA application_id`) so that pointing the agent at some
/// other program's SQLite file is refused instead of migrated. "OBDA" in ASCII.
pub(crate) const APPLICATION_ID: i64 = 0x4F42_4441;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Append only: a released migration is never edited, a change is a new entry.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: r#"
        -- One row per fault identity; the lifecycle (new, persisting, cleared) is decided by
        -- faults::transition, the SQL only stores it.
        CREATE TABLE fault_events (
            id          INTEGER PRIMARY KEY,
            vehicle_id  TEXT    NOT NULL,
            code        TEXT    NOT NULL,
            ecu         TEXT    NOT NULL,
            kind        TEXT    NOT NULL CHECK (kind IN ('stored', 'pending', 'permanent')),
            state       TEXT    NOT NULL CHECK (state IN ('new', 'persisting', 'cleared')),
            first_seen  INTEGER NOT NULL,   -- unix ms, start of the current episode
            last_seen   INTEGER NOT NULL,   -- unix ms
            cleared_at  INTEGER,            -- unix ms, set while state = 'cleared'
            episodes    INTEGER NOT NULL DEFAULT 1,
            urgency     TEXT    NOT NULL CHECK (urgency IN ('low', 'medium', 'high', 'critical')),
            detail      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
            UNIQUE (vehicle_id, code, ecu, kind)
        );
        CREATE INDEX fault_events_open ON fault_events (vehicle_id, state);

        -- Per-minute aggregates of live values; avg = sum / count. The key is ordered by
        -- minute first so retention deletes a contiguous range.
        CREATE TABLE pid_samples (
            minute  INTEGER NOT NULL,       -- unix minutes
            pid     INTEGER NOT NULL,
            min     REAL    NOT NULL,
            max     REAL    NOT NULL,
            sum     REAL    NOT NULL,
            count   INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (minute, pid)
        ) WITHOUT ROWID;

        -- AUTOINCREMENT: seqs are never reused, even after the newest row is deleted and the
        -- database reopened, so an ack for an old seq can never remove a newer message.
        CREATE TABLE outbox (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id  TEXT    NOT NULL UNIQUE,
            topic       TEXT    NOT NULL,
            payload     BLOB    NOT NULL,
            retain      INTEGER NOT NULL CHECK (retain IN (0, 1)),
            class       INTEGER NOT NULL CHECK (class IN (0, 1)),  -- 0 alert, 1 telemetry
            created_at  INTEGER NOT NULL    -- unix ms
        );
        -- Finds the oldest telemetry for eviction without scanning alerts.
        CREATE INDEX outbox_class_seq ON outbox (class, seq);

        CREATE TABLE agent_state (
            key         TEXT PRIMARY KEY,
            value       TEXT    NOT NULL,
            updated_at  INTEGER NOT NULL    -- unix ms
        );
    "#,
    },
    Migration {
        version: 2,
        name: "maintenance: service records, odometer settings, trend evidence",
        sql: r#"
        -- Services done (`service done`, remote `service_done`): each resets its item.
        CREATE TABLE service_records (
            id          INTEGER PRIMARY KEY,
            item        TEXT    NOT NULL,
            odometer_km REAL    NOT NULL CHECK (odometer_km >= 0),
            done_at     INTEGER NOT NULL,   -- unix ms
            origin      TEXT    NOT NULL    -- 'cli', 'remote', 'intake'
        );
        CREATE INDEX service_records_item ON service_records (item, done_at);

        -- Odometer readings set by a person (`service odometer`). Appended by the CLI even
        -- while the daemon runs; the daemon applies rows above the id it last applied.
        CREATE TABLE odometer_settings (
            id          INTEGER PRIMARY KEY,
            km          REAL    NOT NULL CHECK (km >= 0),
            force       INTEGER NOT NULL CHECK (force IN (0, 1)),
            set_at      INTEGER NOT NULL    -- unix ms
        );

        -- One row per trip or parking period and signal (maintenance::evidence), pruned
        -- after 60 days: what the trend rules need to survive a restart.
        CREATE TABLE maint_observations (
            at          INTEGER NOT NULL,   -- unix ms
            signal      TEXT    NOT NULL,
            value       REAL    NOT NULL,
            code        TEXT
        );
        CREATE INDEX maint_observations_at ON maint_observations (at);
    "#,
    },
];

/// The schema version this code writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database up to [`latest_version`]; a no-op on an up-to-date database.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |action, e| StoreError::sqlite(path, action, e);
    let application_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| fail("reading the application id", e))?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(StoreError::ForeignDatabase {
            path: path.to_path_buf(),
            found: application_id,
        });
    }
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| fail("reading the schema version", e))?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        apply(conn, migration).map_err(|source| {
            // Out of space or read-only is the operator's problem, not the migration's.
            if StoreError::is_environmental(&source) {
                fail("migrating", source)
            } else {
                StoreError::Migration {
                    path: path.to_path_buf(),
                    version: migration.version,
                    name: migration.name,
                    source,
                }
            }
        })?;
    }
    Ok(())
}

fn apply(conn: &mut Connection, migration: &Migration) -> rusqlite::Result<()> {
    // IMMEDIATE: take the write lock up front so two agents racing to migrate wait on the
    // busy timeout instead of one failing half-way.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(migration.sql)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", migration.version)?;
    tx.commit()
}
