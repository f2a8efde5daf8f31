//! Trouble codes (services 03, 07, 0A), freeze frames (02) and clearing (04).

use std::collections::BTreeSet;

use serde::Serialize;

use super::{EcuReading, ReadError, VehicleReader, by_ecu, negative};
use crate::obd::dtc::{Dtc, DtcFraming, decode_dtc_list};
use crate::obd::service;
use crate::transport::{EcuAddress, ObdRequest};

/// Which memory a code was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtcKind {
    /// Service 03: confirmed codes; the ones that light the MIL.
    Stored,
    /// Service 07: detected once, not yet confirmed on a second drive cycle.
    Pending,
    /// Service 0A: cannot be cleared by a scan tool; the ECU clears them itself once the
    /// monitor passes again.
    Permanent,
}

impl DtcKind {
    pub const ALL: [DtcKind; 3] = [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent];

    pub fn service(self) -> u8 {
        match self {
            DtcKind::Stored => 0x03,
            DtcKind::Pending => 0x07,
            DtcKind::Permanent => 0x0A,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ReportedDtc {
    pub code: Dtc,
    pub kind: DtcKind,
    pub ecu: EcuAddress,
}

/// The codes read, and which ECU answered which read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CodeReadout {
    pub codes: Vec<ReportedDtc>,
    pub answered: Vec<(DtcKind, EcuAddress)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcuFreezeFrame {
    pub ecu: EcuAddress,
    /// The code whose detection stored the frame.
    pub dtc: Option<Dtc>,
    pub readings: Vec<EcuReading>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClearOutcome {
    /// ECUs that acknowledged the clear (44).
    pub cleared_by: Vec<EcuAddress>,
    /// ECUs that refused, with the reason (e.g. engine running: conditions not correct).
    pub refused_by: Vec<(EcuAddress, String)>,
    /// Codes still there after clearing; permanent codes are expected to stay.
    pub remaining: Vec<ReportedDtc>,
}

impl ClearOutcome {
    /// Stored or pending codes that survived the clear.
    pub fn not_cleared(&self) -> impl Iterator<Item = &ReportedDtc> {
        self.remaining
            .iter()
            .filter(|d| d.kind != DtcKind::Permanent)
    }
}

impl VehicleReader<'_> {
    fn dtc_framing(&mut self) -> DtcFraming {
        match self.transport.link().protocol {
            Some(p) if p.is_can() => DtcFraming::Counted,
            Some(_) => DtcFraming::Uncounted,
            None => DtcFraming::Auto,
        }
    }

    /// Reads one kind of code from every ECU.
    pub async fn dtcs(&mut self, kind: DtcKind) -> Result<Vec<ReportedDtc>, ReadError> {
        Ok(self.dtcs_answered(kind).await?.codes)
    }

    /// Every code of every kind.
    pub async fn all_dtcs(&mut self) -> Result<Vec<ReportedDtc>, ReadError> {
        Ok(self.read_codes().await?.codes)
    }

    /// Every code of every kind, with which ECUs answered each read: an ECU that answered
    /// without a code has none, one that stayed silent tells nothing.
    pub async fn read_codes(&mut self) -> Result<CodeReadout, ReadError> {
        let mut all = CodeReadout::default();
        for kind in DtcKind::ALL {
            let one = self.dtcs_answered(kind).await?;
            all.codes.extend(one.codes);
            all.answered.extend(one.answered);
        }
        Ok(all)
    }

    async fn dtcs_answered(&mut self, kind: DtcKind) -> Result<CodeReadout, ReadError> {
        let framing = self.dtc_framing();
        // On CAN each OBD ECU answers with one message (a zero count when it has no code, or
        // a refusal); one that stays silent costs the wait it always did. A code list may
        // span several frames, so no frame count.
        let ecus: BTreeSet<EcuAddress> = self.ecus().into_iter().collect();
        let answers = self.request_from(vec![kind.service()], &ecus, None).await?;
        let positive = kind.service() + 0x40;
        let mut out = Vec::new();
        let mut answered = Vec::new();
        for (ecu, messages) in by_ecu(answers) {
            if messages.iter().any(|m| m.first() == Some(&positive)) {
                answered.push((kind, ecu));
            }
            let mut seen = BTreeSet::new();
            for message in messages {
                if let Some(e) = negative(&message) {
                    self.warn(format!("ECU {ecu} refused {kind:?} codes: {e}"));
                    continue;
                }
                let Some((&first, payload)) = message.split_first() else {
                    continue;
                };
                if first != positive {
                    continue;
                }
                let list = decode_dtc_list(payload, framing);
                if list.truncated {
                    self.warn(format!("ECU {ecu} sent a truncated {kind:?} code list"));
                }
                if let Some(declared) = list.declared_count {
                    self.warn(format!(
                        "ECU {ecu} said {declared} {kind:?} code(s) but sent {}",
                        list.codes.len()
                    ));
                }
                // Legacy ECUs repeat codes across messages; one report per code and ECU.
                for code in list.codes {
                    if seen.insert(code) {
                        out.push(ReportedDtc { code, kind, ecu });
                    }
                }
            }
        }
        Ok(CodeReadout {
            codes: out,
            answered,
        })
    }

    /// Freeze frame 0 of every ECU that stored one.
    pub async fn freeze_frames(&mut self) -> Result<Vec<EcuFreezeFrame>, ReadError> {
        let multi = self.batching();
        let ecus: BTreeSet<EcuAddress> = self.ecus().into_iter().collect();
        // 42 02 00 and a DTC: one frame from each ECU.
        let frames = u8::try_from(ecus.len()).ok();
        let answers = self
            .request_from(service::freeze_frame_request(&[0x02], 0), &ecus, frames)
            .await?;
        let mut frames = Vec::new();
        for (ecu, messages) in by_ecu(answers) {
            let dtc = messages.iter().find_map(|m| match m.as_slice() {
                [0x42, 0x02, 0x00, a, b, ..] => Some(Dtc::from_bytes(*a, *b)),
                _ => None,
            });
            // 0000 means the ECU has no frame stored.
            let Some(Some(dtc)) = dtc else { continue };
            let pids = self.freeze_frame_pids(ecu).await?;
            let mut readings = Vec::new();
            let per_request = if multi { 3 } else { 1 };
            let only = BTreeSet::from([ecu]);
            for chunk in pids.chunks(per_request) {
                let request = service::freeze_frame_request(chunk, 0);
                let frames = freeze_frame_frames(chunk);
                for answer in self.request_from(request, &only, frames).await? {
                    if answer.ecu != ecu || answer.data.first() != Some(&0x42) {
                        continue;
                    }
                    match service::decode_freeze_frame(&answer.data[1..]) {
                        Ok(values) => readings.extend(
                            values
                                .into_iter()
                                .map(|(_, reading)| EcuReading { ecu, reading }),
                        ),
                        Err(e) => self.warn(format!("ECU {ecu} freeze frame does not decode: {e}")),
                    }
                }
            }
            frames.push(EcuFreezeFrame {
                ecu,
                dtc: Some(dtc),
                readings,
            });
        }
        Ok(frames)
    }

    /// PIDs stored in an ECU's freeze frame (02 00 00, 02 20 00, ...), bitmaps and 02 aside.
    async fn freeze_frame_pids(&mut self, ecu: EcuAddress) -> Result<Vec<u8>, ReadError> {
        let mut pids = Vec::new();
        let only = BTreeSet::from([ecu]);
        for base in (0x00..=0xE0u8).step_by(0x20) {
            let request = service::freeze_frame_request(&[base], 0);
            let answers = self.request_from(request, &only, Some(1)).await?;
            let bitmap = answers.iter().find_map(|a| match a.data.as_slice() {
                [0x42, pid, 0x00, rest @ ..] if a.ecu == ecu && *pid == base => {
                    crate::obd::pid::decode_supported(base, rest).ok()
                }
                _ => None,
            });
            let Some(bitmap) = bitmap else { break };
            let more = bitmap.contains(&base.wrapping_add(0x20));
            pids.extend(bitmap.into_iter().filter(|p| p % 0x20 != 0 && *p != 0x02));
            if !more {
                break;
            }
        }
        Ok(pids)
    }

    /// Clears codes (service 04) and reads them back to see what is left.
    pub async fn clear(&mut self) -> Result<ClearOutcome, ReadError> {
        let answers = self.transport.request(&ObdRequest::new([0x04])).await?;
        let mut cleared_by = Vec::new();
        let mut refused_by = Vec::new();
        for answer in answers {
            match (answer.data.first(), negative(&answer.data)) {
                (Some(0x44), _) => cleared_by.push(answer.ecu),
                (_, Some(e)) => refused_by.push((answer.ecu, e.to_string())),
                _ => {}
            }
        }
        let remaining = self.all_dtcs().await?;
        Ok(ClearOutcome {
            cleared_by,
            refused_by,
            remaining,
        })
    }
}

/// CAN frames of one ECU's answer to a freeze-frame request for `pids` (each answered as PID,
/// frame number and data), when every length is known.
fn freeze_frame_frames(pids: &[u8]) -> Option<u8> {
    let mut len = 1; // 42
    for p in pids {
        let def = crate::obd::pid::pid_def(*p).filter(|d| d.has_fixed_len())?;
        len += 2 + def.len;
    }
    u8::try_from(super::can_frames(len)).ok()
}
