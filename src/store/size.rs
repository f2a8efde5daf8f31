//! Measuring the database and making room under the size bound (policy: see the module docs
//! of `store`). The decision is the pure [`admit`]; the SQL around it only measures and
//! deletes.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::outbox::MessageClass;
use super::{StoreError, StoreOptions};

/// How big the database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSize {
    /// Pages holding data: what the size bound is checked against.
    pub used_bytes: u64,
    /// The main file (`page_count * page_size`), not counting the WAL.
    pub file_bytes: u64,
    /// Free pages inside the file, reused before the file grows.
    pub free_bytes: u64,
}

/// Whether a write of `need` more bytes may go ahead, given the used size after eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Accept,
    /// Refused: this much in use against this limit.
    Refuse {
        bytes: u64,
        limit: u64,
    },
}

/// The size policy: telemetry (and samples) fit under `max`, alerts under `hard_max`.
pub fn admit(class: MessageClass, used: u64, need: u64, max: u64, hard_max: u64) -> Admission {
    let limit = match class {
        MessageClass::Telemetry => max,
        MessageClass::Alert => hard_max,
    };
    if used.saturating_add(need) <= limit {
        Admission::Accept
    } else {
        Admission::Refuse { bytes: used, limit }
    }
}

impl Admission {
    pub(crate) fn or_full(self, path: &Path) -> Result<(), StoreError> {
        match self {
            Admission::Accept => Ok(()),
            Admission::Refuse { bytes, limit } => Err(StoreError::Full {
                path: path.to_path_buf(),
                bytes,
                limit,
            }),
        }
    }
}

/// Evicts what it must to keep `need` more bytes under `max`, then applies [`admit`].
pub(crate) fn fit(
    conn: &Connection,
    class: MessageClass,
    need: u64,
    options: &StoreOptions,
) -> rusqlite::Result<Admission> {
    let (max, hard_max) = (options.max_bytes, options.hard_max_bytes);
    let used = make_room(conn, need, max)?;
    Ok(admit(class, used, need, max, hard_max))
}

pub(crate) fn measure(conn: &Connection) -> rusqlite::Result<StoreSize> {
    let pragma = |name| {
        conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
    };
    let page_size = pragma("page_size")?;
    let pages = pragma("page_count")?;
    let free = pragma("freelist_count")?;
    Ok(StoreSize {
        used_bytes: pages.saturating_sub(free) * page_size,
        file_bytes: pages * page_size,
        free_bytes: free * page_size,
    })
}

/// Rows deleted per eviction round: small enough not to throw away much more than needed,
/// large enough that a page usually empties (a page holds a few dozen small rows).
const EVICT_BATCH: i64 = 16;

/// Deletes the oldest evictable rows (outbox telemetry or sample aggregates, whichever is
/// older) until `need` more bytes fit under `limit` or nothing evictable is left. Runs inside
/// the caller's transaction, so a refused write rolls the eviction back with it. Returns the
/// used bytes afterwards.
fn make_room(conn: &Connection, need: u64, limit: u64) -> rusqlite::Result<u64> {
    loop {
        let used = measure(conn)?.used_bytes;
        if used.saturating_add(need) <= limit {
            return Ok(used);
        }
        let oldest_telemetry: Option<i64> = conn
            .query_row(
                "SELECT created_at FROM outbox WHERE class = ?1 ORDER BY seq LIMIT 1",
                [MessageClass::Telemetry.code()],
                |r| r.get(0),
            )
            .optional()?;
        let oldest_sample_minute: Option<i64> =
            conn.query_row("SELECT min(minute) FROM pid_samples", [], |r| r.get(0))?;
        let oldest_sample = oldest_sample_minute.map(|m| m.saturating_mul(60_000));
        let deleted = match (oldest_telemetry, oldest_sample) {
            (None, None) => return Ok(used),
            (Some(t), Some(s)) if s < t => evict_samples(conn)?,
            (None, Some(_)) => evict_samples(conn)?,
            (Some(_), _) => conn.execute(
                "DELETE FROM outbox WHERE seq IN
                    (SELECT seq FROM outbox WHERE class = ?1 ORDER BY seq LIMIT ?2)",
                [MessageClass::Telemetry.code(), EVICT_BATCH],
            )?,
        };
        if deleted == 0 {
            return Ok(used);
        }
    }
}

/// Drops the oldest minute of samples, all PIDs.
fn evict_samples(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM pid_samples WHERE minute = (SELECT min(minute) FROM pid_samples)",
        [],
    )
}

/// Hands free pages back to the file system once they are more than a quarter of the file:
/// below that they are cheaper to keep for reuse than to give back and regrow (card wear).
pub(crate) fn release_free_pages(conn: &Connection) -> rusqlite::Result<u64> {
    let before = measure(conn)?;
    if before.free_bytes * 4 <= before.file_bytes {
        return Ok(0);
    }
    // incremental_vacuum returns a row per page moved; run it to the end.
    let mut statement = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = statement.query([])?;
    while rows.next()?.is_some() {}
    let after = measure(conn)?;
    Ok(before.file_bytes.saturating_sub(after.file_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_fits_under_the_bound_and_alerts_under_the_hard_cap() {
        use Admission::*;
        use MessageClass::*;
        let cases = [
            (Telemetry, 900, 100, Accept),
            (
                Telemetry,
                901,
                100,
                Refuse {
                    bytes: 901,
                    limit: 1000,
                },
            ),
            (Alert, 901, 100, Accept),
            (Alert, 1100, 100, Accept),
            (
                Alert,
                1101,
                100,
                Refuse {
                    bytes: 1101,
                    limit: 1200,
                },
            ),
            (
                Telemetry,
                u64::MAX,
                1,
                Refuse {
                    bytes: u64::MAX,
                    limit: 1000,
                },
            ),
        ];
        for (class, used, need, expected) in cases {
            assert_eq!(
                admit(class, used, need, 1000, 1200),
                expected,
                "{class:?} {used}"
            );
        }
    }
}
