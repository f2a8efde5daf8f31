//! Vehicle information (service 09): VIN, calibration IDs and CVNs, ECU names, and the
//! monitor status of service 01 PID 01.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{ReadError, VehicleReader, by_ecu, ecus_listing};
use crate::obd::info;
use crate::obd::monitor::MonitorStatus;
use crate::transport::EcuAddress;

/// What one ECU says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EcuInfo {
    pub ecu: Option<EcuAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calibration_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cvns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorStatus>,
}

impl VehicleReader<'_> {
    /// Service 09 messages per ECU for one info type, skipped when no ECU lists it in 09 00.
    async fn info_messages(
        &mut self,
        pid: u8,
        supported: &BTreeMap<EcuAddress, BTreeSet<u8>>,
    ) -> Result<Vec<(EcuAddress, Vec<Vec<u8>>)>, ReadError> {
        let askers = ecus_listing(supported, pid);
        if askers.is_empty() {
            return Ok(Vec::new());
        }
        // The unknown address stands for "09 00 was silent, ask anyway": nobody to wait for.
        let askers = if askers.contains(&EcuAddress::Unknown) {
            BTreeSet::new()
        } else {
            askers
        };
        let answers = self.request_from(vec![0x09, pid], &askers, None).await?;
        Ok(by_ecu(answers)
            .into_iter()
            .map(|(ecu, messages)| {
                let ours = messages
                    .into_iter()
                    .filter(|m| m.len() > 2 && m[0] == 0x49 && m[1] == pid)
                    .collect();
                (ecu, ours)
            })
            .collect())
    }

    /// Which service 09 info types each ECU supports (09 00).
    async fn info_supported(&mut self) -> Result<BTreeMap<EcuAddress, BTreeSet<u8>>, ReadError> {
        if let Some(known) = &self.info_supported {
            return Ok(known.clone());
        }
        self.discover().await?;
        let ecus: BTreeSet<EcuAddress> = self.supported.keys().copied().collect();
        // 49 00 and a four-byte bitmap: one frame per ECU. ECUs without service 09 (older
        // cars) stay silent and cost the usual wait.
        let frames = u8::try_from(ecus.len()).ok();
        let answers = self.request_from(vec![0x09, 0x00], &ecus, frames).await?;
        let mut out: BTreeMap<EcuAddress, BTreeSet<u8>> = BTreeMap::new();
        for answer in answers {
            if answer.data.starts_with(&[0x49, 0x00]) {
                match info::decode_info_supported(&answer.data) {
                    Ok(pids) => out.entry(answer.ecu).or_default().extend(pids),
                    Err(e) => self.warn(format!("ECU {} 09 00 bitmap: {e}", answer.ecu)),
                }
            }
        }
        self.info_supported = Some(out.clone());
        Ok(out)
    }

    /// The VIN, from the first ECU that reports a valid one.
    pub async fn vin(&mut self) -> Result<Option<String>, ReadError> {
        let supported = self.info_supported().await?;
        // Older vehicles answer 09 02 without listing it; ask anyway when 09 00 was silent.
        let supported = if supported.is_empty() {
            BTreeMap::from([(EcuAddress::Unknown, BTreeSet::from([0x02]))])
        } else {
            supported
        };
        for (ecu, messages) in self.info_messages(0x02, &supported).await? {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            match info::decode_vin(&refs) {
                Ok(vin) => return Ok(Some(vin)),
                Err(e) => self.warn(format!("ECU {ecu} sent a VIN that does not decode: {e}")),
            }
        }
        Ok(None)
    }

    /// Name, calibration IDs, CVNs and monitor status of every ECU that answers.
    pub async fn ecu_info(&mut self) -> Result<Vec<EcuInfo>, ReadError> {
        let ecus = self.ecus();
        let supported = self.info_supported().await?;
        let mut infos: Vec<EcuInfo> = ecus
            .iter()
            .map(|&ecu| EcuInfo {
                ecu: Some(ecu),
                ..EcuInfo::default()
            })
            .collect();
        let entry = |infos: &mut Vec<EcuInfo>, ecu: EcuAddress| -> usize {
            match infos.iter().position(|i| i.ecu == Some(ecu)) {
                Some(i) => i,
                None => {
                    infos.push(EcuInfo {
                        ecu: Some(ecu),
                        ..EcuInfo::default()
                    });
                    infos.len() - 1
                }
            }
        };
        for (ecu, messages) in self.info_messages(0x0A, &supported).await? {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            if let Ok(name) = info::decode_ecu_name(&refs) {
                let i = entry(&mut infos, ecu);
                infos[i].name = Some(name);
            }
        }
        for (ecu, messages) in self.info_messages(0x04, &supported).await? {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            if let Ok(ids) = info::decode_calibration_ids(&refs) {
                let i = entry(&mut infos, ecu);
                infos[i].calibration_ids = ids;
            }
        }
        for (ecu, messages) in self.info_messages(0x06, &supported).await? {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            if let Ok(cvns) = info::decode_cvns(&refs) {
                let i = entry(&mut infos, ecu);
                infos[i].cvns = cvns;
            }
        }
        for (ecu, status) in self.monitor_status().await? {
            let i = entry(&mut infos, ecu);
            infos[i].monitor = Some(status);
        }
        Ok(infos)
    }

    /// MIL, code count and readiness (01 01) of every ECU that supports it.
    pub async fn monitor_status(&mut self) -> Result<Vec<(EcuAddress, MonitorStatus)>, ReadError> {
        self.discover().await?;
        let askers = ecus_listing(&self.supported, 0x01);
        if askers.is_empty() {
            return Ok(Vec::new());
        }
        // 41 01 and four bytes: one frame per ECU.
        let frames = u8::try_from(askers.len()).ok();
        let answers = self.request_from(vec![0x01, 0x01], &askers, frames).await?;
        let mut out = Vec::new();
        for answer in answers {
            if let [0x41, 0x01, rest @ ..] = answer.data.as_slice() {
                match MonitorStatus::decode(rest) {
                    Ok(status) => out.push((answer.ecu, status)),
                    Err(e) => self.warn(format!("ECU {} monitor status: {e}", answer.ecu)),
                }
            }
        }
        Ok(out)
    }
}
