//! Opening, migrating and refusing databases, on real files.

use obd_agent::store::{Store, StoreError, StoreOptions, latest_version};
use rusqlite::Connection;

fn options() -> StoreOptions {
    StoreOptions::default()
}

#[test]
fn a_new_file_is_migrated_to_the_latest_version_and_reopens_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let store = Store::open(&path, options()).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    drop(store);

    let store = Store::open(&path, options()).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let auto_vacuum: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(auto_vacuum, 2, "INCREMENTAL");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in ["agent_state", "fault_events", "outbox", "pid_samples"] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
}

#[test]
fn a_database_from_a_newer_agent_is_refused_with_both_versions_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    drop(Store::open(&path, options()).unwrap());
    let newer = latest_version() + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let error = Store::open(&path, options()).unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found, known, .. } if found == newer && known == latest_version()),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("agent.db") && text.contains("upgrade the agent"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let error = Store::open(&path, options()).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("move it aside"), "{error}");
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);")
        .unwrap();
    drop(conn);
    let error = Store::open(&path, options()).unwrap_err();
    assert!(
        matches!(error, StoreError::ForeignDatabase { found: 1234, .. }),
        "{error:?}"
    );
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/agent.db");
    let error = Store::open(&path, options()).unwrap_err();
    assert!(error.to_string().contains("agent.db"), "{error}");
}

#[test]
fn options_below_the_minimum_are_refused() {
    let small = StoreOptions {
        max_bytes: 1024,
        ..StoreOptions::default()
    };
    assert!(matches!(
        Store::open_in_memory_with(small),
        Err(StoreError::InvalidOptions { .. })
    ));
    let inverted = StoreOptions {
        max_bytes: 1 << 20,
        hard_max_bytes: 1 << 19,
        ..StoreOptions::default()
    };
    assert!(matches!(
        Store::open_in_memory_with(inverted),
        Err(StoreError::InvalidOptions { .. })
    ));
}

#[test]
fn agent_state_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut store = Store::open(&path, options()).unwrap();
    assert_eq!(store.state("odometer_anchor").unwrap(), None);
    store.set_state("odometer_anchor", "123456").unwrap();
    store.set_state("odometer_anchor", "123999").unwrap();
    store
        .set_state("last_clear", "2026-11-23T10:00:00Z")
        .unwrap();
    store.remove_state("last_clear").unwrap();
    drop(store);

    let store = Store::open(&path, options()).unwrap();
    assert_eq!(
        store.state("odometer_anchor").unwrap().as_deref(),
        Some("123999")
    );
    assert_eq!(store.state("last_clear").unwrap(), None);
}

#[test]
fn the_in_memory_store_works_for_tests() {
    let mut store = Store::open_in_memory().unwrap();
    store.set_state("k", "v").unwrap();
    assert_eq!(store.state("k").unwrap().as_deref(), Some("v"));
    assert_eq!(store.schema_version().unwrap(), latest_version());
}

#[test]
fn a_failed_migration_leaves_the_database_at_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    // A file at version 0 that already has a table the first migration creates.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE outbox (x);")
        .unwrap();
    let error = Store::open(&path, options()).unwrap_err();
    assert!(
        matches!(error, StoreError::Migration { version: 1, .. }),
        "{error:?}"
    );
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((version, tables), (0, 1), "nothing of the migration stayed");
}
