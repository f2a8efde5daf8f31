//! A fault's lifecycle, as pure functions; `fault_rows` is the SQL shell around them.
//!
//! A fault is identified by vehicle, code, ECU and which memory reported it (stored, pending,
//! permanent are read by different services and tracked separately; the diagnosis layer
//! decides what a code moving from pending to stored means). Its state:
//!
//! ```text
//!   (none) --seen--> new --seen--> persisting --seen--> persisting
//!                     |               |
//!                     +--missing------+--> cleared --seen--> new (returned)
//! ```
//!
//! "Missing" means the ECU answered the read and did not list the code; an ECU that did not
//! answer (a flaky adapter, an ECU asleep) proves nothing, so its faults stay open.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::dtcdb::Urgency;
use crate::reader::{DtcKind, ReportedDtc};
use crate::transport::EcuAddress;

/// Where a fault is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultState {
    /// Seen in the latest read for the first time (or again after being cleared).
    New,
    /// Seen again in a later read.
    Persisting,
    /// No longer reported by its ECU.
    Cleared,
}

/// What one observation of a code means, for the alert it triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observation {
    /// Never seen before.
    New,
    /// Still there since the last read.
    Persisting,
    /// Seen before, cleared, and back: worth an alert of its own (a repair that did not hold).
    Returned,
}

/// The transition for "the code was reported": what it means and the state to store.
pub fn observe(previous: Option<FaultState>) -> (Observation, FaultState) {
    match previous {
        None => (Observation::New, FaultState::New),
        Some(FaultState::New | FaultState::Persisting) => {
            (Observation::Persisting, FaultState::Persisting)
        }
        Some(FaultState::Cleared) => (Observation::Returned, FaultState::New),
    }
}

/// Which open faults a read shows to be gone: on an ECU that answered, of the kind that was
/// read, and not in the answer.
pub fn to_clear<'a>(
    open: &'a [ReportedDtc],
    kind: DtcKind,
    answered: &[EcuAddress],
    reported: &[ReportedDtc],
) -> Vec<&'a ReportedDtc> {
    let answered: BTreeSet<_> = answered.iter().collect();
    let reported: BTreeSet<_> = reported
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.code, r.ecu))
        .collect();
    open.iter()
        .filter(|f| f.kind == kind && answered.contains(&f.ecu))
        .filter(|f| !reported.contains(&(f.code, f.ecu)))
        .collect()
}

/// One reading of a code, as the agent hands it to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultObservation {
    pub vehicle_id: String,
    pub dtc: ReportedDtc,
    pub urgency: Urgency,
    /// Freeze frame, classification, context: whatever the agent wants kept with the fault.
    pub detail: serde_json::Value,
}

/// A fault as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRecord {
    pub vehicle_id: String,
    pub dtc: ReportedDtc,
    pub state: FaultState,
    /// Start of the current episode (reset when a cleared fault returns).
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    pub cleared_at: Option<SystemTime>,
    /// How many times the fault appeared: 1, plus one per return after a clear.
    pub episodes: u32,
    pub urgency: Urgency,
    pub detail: serde_json::Value,
}

impl FaultState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FaultState::New => "new",
            FaultState::Persisting => "persisting",
            FaultState::Cleared => "cleared",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [FaultState::New, FaultState::Persisting, FaultState::Cleared]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

pub(crate) fn kind_str(kind: DtcKind) -> &'static str {
    match kind {
        DtcKind::Stored => "stored",
        DtcKind::Pending => "pending",
        DtcKind::Permanent => "permanent",
    }
}

pub(crate) fn parse_kind(text: &str) -> Option<DtcKind> {
    DtcKind::ALL.into_iter().find(|k| kind_str(*k) == text)
}

pub(crate) fn parse_urgency(text: &str) -> Option<Urgency> {
    Urgency::ALL.into_iter().find(|u| u.as_str() == text)
}

/// The store writes an ECU the way `EcuAddress` displays it; the digit count tells the
/// variants apart (3: 11-bit CAN, 8: 29-bit CAN, 2: legacy source address, `?`: unknown).
pub(crate) fn parse_ecu(text: &str) -> Option<EcuAddress> {
    match text.len() {
        1 if text == "?" => Some(EcuAddress::Unknown),
        2 => u8::from_str_radix(text, 16).ok().map(EcuAddress::Legacy),
        3 => u16::from_str_radix(text, 16).ok().map(EcuAddress::Can11),
        8 => u32::from_str_radix(text, 16).ok().map(EcuAddress::Can29),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obd::dtc::Dtc;

    #[test]
    fn lifecycle_vectors() {
        use FaultState as S;
        use Observation as O;
        let cases = [
            (None, O::New, S::New),
            (Some(S::New), O::Persisting, S::Persisting),
            (Some(S::Persisting), O::Persisting, S::Persisting),
            (Some(S::Cleared), O::Returned, S::New),
        ];
        for (previous, meaning, next) in cases {
            assert_eq!(observe(previous), (meaning, next), "from {previous:?}");
        }
    }

    fn dtc(code: &str, kind: DtcKind, ecu: u16) -> ReportedDtc {
        ReportedDtc {
            code: code.parse::<Dtc>().expect("test code"),
            kind,
            ecu: EcuAddress::Can11(ecu),
        }
    }

    #[test]
    fn only_codes_missing_from_an_answering_ecu_of_the_read_kind_clear() {
        let open = [
            dtc("P0301", DtcKind::Stored, 0x7E8),  // still reported
            dtc("P0420", DtcKind::Stored, 0x7E8),  // gone
            dtc("P0700", DtcKind::Stored, 0x7E9),  // ECU did not answer
            dtc("P0171", DtcKind::Pending, 0x7E8), // another kind
            dtc("P0301", DtcKind::Stored, 0x7EA),  // same code, other ECU, gone
        ];
        let reported = [
            dtc("P0301", DtcKind::Stored, 0x7E8),
            dtc("P0420", DtcKind::Pending, 0x7E8),
        ];
        let answered = [EcuAddress::Can11(0x7E8), EcuAddress::Can11(0x7EA)];
        let cleared = to_clear(&open, DtcKind::Stored, &answered, &reported);
        assert_eq!(cleared, vec![&open[1], &open[4]]);
        assert!(to_clear(&open, DtcKind::Stored, &[], &[]).is_empty());
    }

    #[test]
    fn ecu_text_round_trips() {
        for ecu in [
            EcuAddress::Can11(0x7E8),
            EcuAddress::Can11(0x001),
            EcuAddress::Can29(0x18DA_F110),
            EcuAddress::Legacy(0x10),
            EcuAddress::Unknown,
        ] {
            assert_eq!(parse_ecu(&ecu.to_string()), Some(ecu));
        }
        assert_eq!(parse_ecu("7E"), Some(EcuAddress::Legacy(0x7E)));
        assert_eq!(parse_ecu("xyz"), None);
        assert_eq!(parse_ecu(""), None);
    }

    #[test]
    fn names_round_trip() {
        for kind in DtcKind::ALL {
            assert_eq!(parse_kind(kind_str(kind)), Some(kind));
        }
        for urgency in Urgency::ALL {
            assert_eq!(parse_urgency(urgency.as_str()), Some(urgency));
        }
        for state in [FaultState::New, FaultState::Persisting, FaultState::Cleared] {
            assert_eq!(FaultState::parse(state.as_str()), Some(state));
        }
    }
}
