//! The technician's intake scan: everything worth knowing about the vehicle in one pass.

use serde::Serialize;

use super::{EcuFreezeFrame, EcuInfo, EcuReading, ReadError, ReportedDtc, VehicleReader};
use crate::diagnosis::Snapshot;
use crate::transport::LinkInfo;

/// PIDs shown in a scan as a snapshot of the vehicle's state.
pub const SNAPSHOT_PIDS: &[u8] = &[
    0x04, // engine load
    0x05, // coolant temperature
    0x0C, // engine speed
    0x0D, // vehicle speed
    0x0F, // intake air temperature
    0x1F, // run time since start
    0x21, // distance with MIL on
    0x2F, // fuel level
    0x31, // distance since codes cleared
    0x42, // control module voltage
    0x46, // ambient temperature
    0x5B, // hybrid battery pack remaining life
    0x5C, // engine oil temperature
    0xA6, // odometer
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanReport {
    pub link: LinkInfo,
    /// Voltage at the OBD connector as the adapter measures it.
    pub battery_voltage: Option<f32>,
    pub vin: Option<String>,
    /// Whether any ECU has the malfunction indicator lamp on.
    pub mil: bool,
    pub ecus: Vec<EcuInfo>,
    pub dtcs: Vec<ReportedDtc>,
    pub freeze_frames: Vec<EcuFreezeFrame>,
    pub snapshot: Vec<EcuReading>,
    /// Problems met on the way that did not stop the scan.
    pub warnings: Vec<String>,
}

/// Runs a full scan, calling `progress` with a short note before each step.
pub async fn scan(
    reader: &mut VehicleReader<'_>,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ScanReport, ReadError> {
    progress("finding ECUs and supported data");
    reader.discover().await?;
    progress("reading adapter voltage");
    let battery_voltage = reader.transport().battery_voltage().await.unwrap_or(None);
    progress("reading VIN");
    let vin = reader.vin().await?;
    progress("reading ECU information and readiness monitors");
    let ecus = reader.ecu_info().await?;
    progress("reading trouble codes");
    let dtcs = reader.all_dtcs().await?;
    progress("reading freeze frames");
    let freeze_frames = reader.freeze_frames().await?;
    progress("reading live values");
    let snapshot = reader.read_pids(SNAPSHOT_PIDS).await?;
    let mil = ecus
        .iter()
        .any(|e| e.monitor.as_ref().is_some_and(|m| m.mil));
    Ok(ScanReport {
        link: reader.transport().link(),
        battery_voltage,
        vin,
        mil,
        ecus,
        dtcs,
        freeze_frames,
        snapshot,
        warnings: reader.warnings.clone(),
    })
}

/// The values the diagnosis rules consider, from whichever ECU reported them first.
pub fn snapshot(readings: &[EcuReading]) -> Snapshot {
    let value = |pid: u8| {
        readings
            .iter()
            .find(|r| r.reading.pid == pid)
            .and_then(|r| r.reading.number(r.reading.key))
            .map(|v| v as f32)
    };
    Snapshot {
        engine_load_pct: value(0x04),
        coolant_c: value(0x05),
        rpm: value(0x0C),
        speed_kmh: value(0x0D),
        battery_v: value(0x42),
    }
}
