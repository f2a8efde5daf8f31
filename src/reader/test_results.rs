//! On-board monitoring test results (service 06) "where available": ECUs without service 06
//! stay silent or refuse it, and that is an empty answer, not an error.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{ReadError, VehicleReader, ecus_listing};
use crate::obd::test_results::{
    TestResult, decode_supported_mids, decode_test_results, is_bitmap_mid, test_results_request,
};
use crate::transport::EcuAddress;

/// The tests one ECU reported for the MIDs asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcuTestResults {
    pub ecu: EcuAddress,
    pub results: Vec<TestResult>,
}

impl VehicleReader<'_> {
    /// Which service 06 MIDs each ECU supports (06 00, 06 20, ...), asked once an ECU has
    /// answered. Only the CAN
    /// format is decoded: on the legacy buses this is `Unsupported`.
    pub async fn supported_mids(
        &mut self,
    ) -> Result<BTreeMap<EcuAddress, BTreeSet<u8>>, ReadError> {
        if let Some(known) = &self.mids_supported {
            return Ok(known.clone());
        }
        self.discover().await?;
        if !self.one_message_per_ecu() {
            return Err(ReadError::Unsupported(
                "service 06 on this protocol (only the ISO 15765-4 CAN format is read)".into(),
            ));
        }
        let mut supported: BTreeMap<EcuAddress, BTreeSet<u8>> = BTreeMap::new();
        let mut askers: BTreeSet<EcuAddress> = self.supported.keys().copied().collect();
        for base in (0x00..=0xE0u8).step_by(0x20) {
            // 46 base and a four-byte bitmap: one frame per ECU.
            let frames = u8::try_from(askers.len()).ok();
            let answers = self
                .request_from(test_results_request(base), &askers, frames)
                .await?;
            for answer in answers {
                if !answer.data.starts_with(&[0x46, base]) {
                    continue; // 7F 06 11: no service 06 on this ECU
                }
                match decode_supported_mids(&answer.data[1..]) {
                    Ok(mids) => supported.entry(answer.ecu).or_default().extend(mids),
                    Err(e) => self.warn(format!(
                        "ECU {} sent a bad service 06 bitmap for {base:02X}: {e}",
                        answer.ecu
                    )),
                }
            }
            let next = base.wrapping_add(0x20);
            askers = ecus_listing(&supported, next);
            if askers.is_empty() || base == 0xE0 {
                break;
            }
        }
        // Remembered only when some ECU answered: silence may be ECUs that were asleep.
        if !supported.is_empty() {
            self.mids_supported = Some(supported.clone());
        }
        Ok(supported)
    }

    /// Test results for `mids` from every ECU that supports them. Empty when no ECU supports
    /// service 06; MIDs nobody supports are not asked.
    pub async fn monitor_tests(&mut self, mids: &[u8]) -> Result<Vec<EcuTestResults>, ReadError> {
        let supported = self.supported_mids().await?;
        let mut by_ecu: BTreeMap<EcuAddress, Vec<TestResult>> = BTreeMap::new();
        let wanted: BTreeSet<u8> = mids
            .iter()
            .copied()
            .filter(|m| !is_bitmap_mid(*m))
            .collect();
        for mid in wanted {
            let askers = ecus_listing(&supported, mid);
            if askers.is_empty() {
                continue;
            }
            let answers = self
                .request_from(test_results_request(mid), &askers, None)
                .await?;
            for answer in answers {
                if !answer.data.starts_with(&[0x46, mid]) {
                    continue;
                }
                match decode_test_results(&answer.data[1..]) {
                    Ok(results) => by_ecu.entry(answer.ecu).or_default().extend(results),
                    Err(e) => self.warn(format!(
                        "ECU {} sent service 06 MID {mid:02X} that does not decode: {e}",
                        answer.ecu
                    )),
                }
            }
        }
        Ok(by_ecu
            .into_iter()
            .map(|(ecu, results)| EcuTestResults { ecu, results })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Scenario, SimLatency};
    use crate::transport::sim::SimTransport;

    async fn read(scenario: Scenario, mids: &[u8]) -> Result<Vec<EcuTestResults>, ReadError> {
        let mut transport = SimTransport::new(scenario, SimLatency::zero());
        let mut reader = VehicleReader::new(&mut transport);
        reader.monitor_tests(mids).await
    }

    #[tokio::test]
    async fn catalyst_and_misfire_tests_come_from_the_engine_on_can() {
        let got = read(Scenario::CatalystAgeing, &[0x21, 0xA2, 0x22])
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].ecu, EcuAddress::Can11(0x7E8));
        let results = &got[0].results;
        // 22 (catalyst bank 2) is not supported by the car, so not asked.
        assert_eq!(results.len(), 3, "{results:?}");
        let cat = &results[0];
        assert_eq!((cat.mid, cat.tid), (0x21, 0x80));
        assert!((cat.value - 0.30).abs() < 1e-9 && (cat.max - 0.75).abs() < 1e-9);
        assert!(cat.passed);
        assert!(results[1..].iter().all(|t| t.mid == 0xA2 && t.value == 0.0));
    }

    #[tokio::test]
    async fn an_ecu_without_service_06_gives_nothing_not_an_error() {
        // The healthy car's ECUs refuse service 06 (7F 06 11).
        assert!(read(Scenario::Healthy, &[0x21]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn legacy_buses_are_not_supported() {
        let err = read(Scenario::LegacyIso9141, &[0x21]).await.unwrap_err();
        assert!(matches!(err, ReadError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("this protocol"), "{err}");
    }
}
