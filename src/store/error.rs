//! One error type for the store: each variant names the database file and what an operator
//! can do about it, because on a dongle in a van the log line is all anyone will see.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::outbox::OutboxError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{}: the database is corrupt or not an SQLite file; move it aside so the agent starts a fresh one (undelivered messages in it are lost)", .path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: belongs to another application (application_id {found:#x}); point the agent at its own database file", .path.display())]
    ForeignDatabase { path: PathBuf, found: i64 },
    #[error(
        "{}: cannot open or write the database; check that its directory exists, its permissions, and that the file system is mounted read-write", .path.display())]
    ReadOnly {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{}: the disk is full; the change was not made, messages already accepted are kept; free space on the card or lower max_bytes", .path.display())]
    DiskFull {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: the database is locked by another process; run only one agent per database", .path.display())]
    Busy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{}: schema version {found} is newer than this agent knows ({known}); upgrade the agent, or move the file aside to start over", .path.display())]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{}: migration to schema version {version} ({name}) failed; the database was left at the previous version", .path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// The size policy refused the write (see the module docs); nothing was changed.
    #[error(
        "{}: at its size bound ({bytes} bytes used, limit {limit}); telemetry and samples are refused until the uplink drains the outbox", .path.display())]
    Full {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    #[error("invalid store options: {reason}")]
    InvalidOptions { reason: &'static str },
    #[error("{}: {action} failed", .path.display())]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

/// Failures that come from the file or the disk rather than from the statement that ran
/// into them.
#[derive(Clone, Copy)]
enum Environment {
    Corrupt,
    ReadOnly,
    DiskFull,
    Busy,
}

fn environment(source: &rusqlite::Error) -> Option<Environment> {
    match source.sqlite_error_code()? {
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Some(Environment::Corrupt),
        ErrorCode::ReadOnly | ErrorCode::CannotOpen => Some(Environment::ReadOnly),
        ErrorCode::DiskFull => Some(Environment::DiskFull),
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(Environment::Busy),
        _ => None,
    }
}

impl StoreError {
    /// The failure is the file's or the disk's (corrupt, read-only, full, locked).
    pub(crate) fn is_environmental(source: &rusqlite::Error) -> bool {
        environment(source).is_some()
    }

    /// Sorts an SQLite failure into the variants an operator can act on.
    pub(crate) fn sqlite(path: &Path, action: &'static str, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match environment(&source) {
            Some(Environment::Corrupt) => StoreError::Corrupt { path, source },
            Some(Environment::ReadOnly) => StoreError::ReadOnly { path, source },
            Some(Environment::DiskFull) => StoreError::DiskFull { path, source },
            Some(Environment::Busy) => StoreError::Busy { path, source },
            None => StoreError::Sqlite {
                path,
                action,
                source,
            },
        }
    }
}

/// The outbox trait has its own small error type; the size policy maps onto `Full` and
/// everything else onto `Storage` with the whole cause chain, since the trait's string is
/// the only place the detail can travel.
impl From<StoreError> for OutboxError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Full { bytes, limit, .. } => OutboxError::Full { bytes, limit },
            other => OutboxError::Storage(chain(&other)),
        }
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_become_errors_an_operator_can_act_on() {
        let path = Path::new("/var/lib/obd-agent/agent.db");
        let cases = [
            (rusqlite::ffi::SQLITE_FULL, "disk is full"),
            (rusqlite::ffi::SQLITE_READONLY, "mounted read-write"),
            (rusqlite::ffi::SQLITE_CANTOPEN, "directory exists"),
            (rusqlite::ffi::SQLITE_CORRUPT, "move it aside"),
            (rusqlite::ffi::SQLITE_NOTADB, "move it aside"),
            (rusqlite::ffi::SQLITE_BUSY, "only one agent"),
            (rusqlite::ffi::SQLITE_CONSTRAINT, "pushing failed"),
        ];
        for (code, advice) in cases {
            let error = StoreError::sqlite(path, "pushing", failure(code));
            let text = error.to_string();
            assert!(text.starts_with("/var/lib/obd-agent/agent.db: "), "{text}");
            assert!(text.contains(advice), "{code}: {text}");
        }
    }

    #[test]
    fn the_outbox_sees_the_size_policy_as_full_and_the_rest_with_its_causes() {
        let full = StoreError::Full {
            path: "a.db".into(),
            bytes: 10,
            limit: 8,
        };
        assert!(matches!(
            OutboxError::from(full),
            OutboxError::Full {
                bytes: 10,
                limit: 8
            }
        ));
        let disk = StoreError::sqlite(Path::new("a.db"), "x", failure(rusqlite::ffi::SQLITE_FULL));
        let OutboxError::Storage(text) = OutboxError::from(disk) else {
            panic!("a full disk is a storage failure");
        };
        assert!(
            text.contains("a.db: the disk is full") && text.contains(": "),
            "{text}"
        );
    }
}
