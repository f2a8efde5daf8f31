//! The SQL shell around [`super::faults`]: read the previous state, let the pure functions
//! decide, write the result, all in one transaction.

use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::faults::{
    self, FaultObservation, FaultRecord, FaultState, Observation, kind_str, parse_ecu, parse_kind,
    parse_urgency,
};
use super::{Store, StoreError, from_unix_ms, unix_ms};
use crate::obd::dtc::Dtc;
use crate::reader::{DtcKind, ReportedDtc};
use crate::transport::EcuAddress;

const COLUMNS: &str = "vehicle_id, code, ecu, kind, state, first_seen, last_seen, cleared_at, \
                       episodes, urgency, detail";

const KEY: &str = "vehicle_id = ?1 AND code = ?2 AND ecu = ?3 AND kind = ?4";

impl Store {
    /// Records that `observation`'s code was reported at `now`; returns what that means and
    /// the fault as now stored. Urgency and detail are replaced by the latest observation's.
    pub fn record_fault(
        &mut self,
        observation: &FaultObservation,
        now: SystemTime,
    ) -> Result<(Observation, FaultRecord), StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "recording a fault", e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let key = key_params(&observation.vehicle_id, &observation.dtc);
        let previous: Option<String> = tx
            .query_row(
                &format!("SELECT state FROM fault_events WHERE {KEY}"),
                rusqlite::params_from_iter(&key),
                |r| r.get(0),
            )
            .optional()
            .map_err(fail)?;
        let previous = previous.as_deref().and_then(FaultState::parse);
        let (meaning, next) = faults::observe(previous);
        let now = unix_ms(now);
        let (urgency, detail) = (observation.urgency.as_str(), observation.detail.to_string());
        let sql = match meaning {
            Observation::New => format!(
                "INSERT INTO fault_events ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, NULL, 1, ?7, ?8)"
            ),
            Observation::Persisting => format!(
                "UPDATE fault_events SET state = ?5, last_seen = ?6, urgency = ?7, detail = ?8
                 WHERE {KEY}"
            ),
            Observation::Returned => format!(
                "UPDATE fault_events SET state = ?5, first_seen = ?6, last_seen = ?6,
                    cleared_at = NULL, episodes = episodes + 1, urgency = ?7, detail = ?8
                 WHERE {KEY}"
            ),
        };
        let [vehicle, code, ecu, kind] = &key;
        tx.execute(
            &sql,
            params![
                vehicle,
                code,
                ecu,
                kind,
                next.as_str(),
                now,
                urgency,
                detail
            ],
        )
        .map_err(fail)?;
        let record = read_one(&tx, &observation.vehicle_id, &observation.dtc).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok((meaning, record))
    }

    /// After a read of `kind` codes in which the ECUs in `answered` replied with `reported`,
    /// marks the open faults they no longer list as cleared and returns them.
    pub fn clear_missing(
        &mut self,
        vehicle_id: &str,
        kind: DtcKind,
        answered: &[EcuAddress],
        reported: &[ReportedDtc],
        now: SystemTime,
    ) -> Result<Vec<FaultRecord>, StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "clearing faults", e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let open: Vec<ReportedDtc> = select(&tx, vehicle_id)
            .map_err(fail)?
            .into_iter()
            .map(|f| f.dtc)
            .collect();
        let mut cleared = Vec::new();
        for dtc in faults::to_clear(&open, kind, answered, reported) {
            let [vehicle, code, ecu, kind] = key_params(vehicle_id, dtc);
            tx.execute(
                &format!("UPDATE fault_events SET state = ?5, cleared_at = ?6 WHERE {KEY}"),
                params![
                    vehicle,
                    code,
                    ecu,
                    kind,
                    FaultState::Cleared.as_str(),
                    unix_ms(now)
                ],
            )
            .map_err(fail)?;
            cleared.push(read_one(&tx, vehicle_id, dtc).map_err(fail)?);
        }
        tx.commit().map_err(fail)?;
        Ok(cleared)
    }

    /// Faults of `vehicle_id` not cleared, oldest first.
    pub fn open_faults(&self, vehicle_id: &str) -> Result<Vec<FaultRecord>, StoreError> {
        select(&self.conn, vehicle_id).map_err(|e| self.fail("listing open faults", e))
    }
}

fn key_params(vehicle_id: &str, dtc: &ReportedDtc) -> [String; 4] {
    [
        vehicle_id.to_owned(),
        dtc.code.to_string(),
        dtc.ecu.to_string(),
        kind_str(dtc.kind).to_owned(),
    ]
}

fn select(conn: &Connection, vehicle_id: &str) -> rusqlite::Result<Vec<FaultRecord>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM fault_events WHERE vehicle_id = ?1 AND state != 'cleared'
         ORDER BY first_seen, id"
    ))?;
    let rows = statement.query_map([vehicle_id], record)?;
    rows.collect()
}

fn read_one(
    conn: &Connection,
    vehicle_id: &str,
    dtc: &ReportedDtc,
) -> rusqlite::Result<FaultRecord> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM fault_events WHERE {KEY}"),
        key_params(vehicle_id, dtc),
        record,
    )
}

/// A column this code wrote but cannot read back: only a foreign or damaged row does that.
#[derive(Debug, thiserror::Error)]
#[error("unexpected {column} {value:?} in fault_events")]
struct BadColumn {
    column: &'static str,
    value: String,
}

fn parsed<T>(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(BadColumn {
                column,
                value: text,
            }),
        )
    })
}

fn record(row: &Row<'_>) -> rusqlite::Result<FaultRecord> {
    Ok(FaultRecord {
        vehicle_id: row.get(0)?,
        dtc: ReportedDtc {
            code: parsed(row, 1, "code", |t| t.parse::<Dtc>().ok())?,
            ecu: parsed(row, 2, "ecu", parse_ecu)?,
            kind: parsed(row, 3, "kind", parse_kind)?,
        },
        state: parsed(row, 4, "state", FaultState::parse)?,
        first_seen: from_unix_ms(row.get(5)?),
        last_seen: from_unix_ms(row.get(6)?),
        cleared_at: row.get::<_, Option<i64>>(7)?.map(from_unix_ms),
        episodes: row.get(8)?,
        urgency: parsed(row, 9, "urgency", parse_urgency)?,
        detail: parsed(row, 10, "detail", |t| serde_json::from_str(t).ok())?,
    })
}
