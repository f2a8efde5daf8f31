//! The maintenance tables: service records, odometer settings, trend evidence, and the
//! tracker's state (one JSON value in `agent_state`).

use std::time::SystemTime;

use rusqlite::params;

use super::{Store, StoreError, from_unix_ms, unix_ms};
use crate::maintenance::{Observation, ServiceRecord, Signal, TrackerState, from_secs, to_secs};

const TRACKER_KEY: &str = "maintenance.tracker";

/// A person's odometer reading, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OdometerSetting {
    pub id: i64,
    pub km: f64,
    pub force: bool,
    pub at: SystemTime,
}

impl Store {
    pub fn add_service_record(
        &mut self,
        record: &ServiceRecord,
        origin: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO service_records (item, odometer_km, done_at, origin)
                 VALUES (?1, ?2, ?3, ?4)",
                params![record.item, record.odometer_km, unix_ms(record.at), origin],
            )
            .map(drop)
            .map_err(|e| self.fail("recording a service", e))
    }

    /// Every service record, oldest first.
    pub fn service_records(&self) -> Result<Vec<ServiceRecord>, StoreError> {
        let read = || -> rusqlite::Result<Vec<ServiceRecord>> {
            let mut stmt = self.conn.prepare(
                "SELECT item, odometer_km, done_at FROM service_records ORDER BY done_at, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ServiceRecord {
                    item: r.get(0)?,
                    odometer_km: r.get(1)?,
                    at: from_unix_ms(r.get(2)?),
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.fail("reading service records", e))
    }

    pub fn add_odometer_setting(
        &mut self,
        km: f64,
        force: bool,
        at: SystemTime,
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO odometer_settings (km, force, set_at) VALUES (?1, ?2, ?3)",
                params![km, force, unix_ms(at)],
            )
            .map_err(|e| self.fail("recording an odometer reading", e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Odometer settings with an id above `after`, oldest first.
    pub fn odometer_settings_after(&self, after: i64) -> Result<Vec<OdometerSetting>, StoreError> {
        let read = || -> rusqlite::Result<Vec<OdometerSetting>> {
            let mut stmt = self.conn.prepare(
                "SELECT id, km, force, set_at FROM odometer_settings WHERE id > ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([after], |r| {
                Ok(OdometerSetting {
                    id: r.get(0)?,
                    km: r.get(1)?,
                    force: r.get::<_, i64>(2)? != 0,
                    at: from_unix_ms(r.get(3)?),
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.fail("reading odometer settings", e))
    }

    /// Appends observations and drops those older than `keep_from`.
    pub fn add_observations(
        &mut self,
        observations: &[Observation],
        keep_from: SystemTime,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let write = |conn: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT INTO maint_observations (at, signal, value, code) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for o in observations {
                    stmt.execute(params![
                        unix_ms(from_secs(o.at)),
                        o.signal.key(),
                        o.value,
                        o.code
                    ])?;
                }
            }
            tx.execute(
                "DELETE FROM maint_observations WHERE at < ?1",
                [unix_ms(keep_from)],
            )?;
            tx.commit()
        };
        write(&mut self.conn).map_err(|e| StoreError::sqlite(&path, "keeping trend evidence", e))
    }

    pub fn observations_since(&self, since: SystemTime) -> Result<Vec<Observation>, StoreError> {
        let read = || -> rusqlite::Result<Vec<Observation>> {
            let mut stmt = self.conn.prepare(
                "SELECT at, signal, value, code FROM maint_observations WHERE at >= ?1 ORDER BY at",
            )?;
            let rows = stmt.query_map([unix_ms(since)], |r| {
                let signal: String = r.get(1)?;
                Ok((r.get::<_, i64>(0)?, signal, r.get(2)?, r.get(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (at, signal, value, code) = row?;
                // A signal this build does not know (written by a newer agent) is skipped.
                if let Some(signal) = Signal::parse(&signal) {
                    out.push(Observation {
                        at: to_secs(from_unix_ms(at)),
                        signal,
                        value,
                        code,
                    });
                }
            }
            Ok(out)
        };
        read().map_err(|e| self.fail("reading trend evidence", e))
    }

    /// The tracker's saved state; a fresh one when none was saved or it cannot be read
    /// (an unreadable state costs some history, never the agent).
    pub fn tracker_state(&self) -> Result<TrackerState, StoreError> {
        Ok(self
            .state(TRACKER_KEY)?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    pub fn save_tracker_state(&mut self, state: &TrackerState) -> Result<(), StoreError> {
        let json = serde_json::to_string(state).unwrap_or_else(|_| "{}".to_string());
        self.set_state(TRACKER_KEY, &json)
    }
}
