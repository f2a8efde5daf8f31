//! ISO 15765-4 framing rules checked on a capture of the bus between the tester (the agent)
//! and the ECUs (the simulator), as a third raw socket sees it.

use std::collections::BTreeSet;

use obd_agent::isotp::CanId;

const PAD: u8 = 0xCC;

/// The ECU response id a tester's physical id (where FC goes) belongs to.
fn ecu_of_tester_id(id: CanId, extended: bool) -> Option<CanId> {
    match (extended, id) {
        (false, CanId::Standard(id @ 0x7E0..=0x7E7)) => Some(CanId::Standard(id + 8)),
        (true, CanId::Extended(id)) if id & 0x1FFF_00FF == 0x18DA_00F1 => {
            Some(CanId::Extended(0x18DA_F100 | ((id >> 8) & 0xFF)))
        }
        _ => None,
    }
}

fn is_response_id(id: CanId, extended: bool) -> bool {
    match (extended, id) {
        (false, CanId::Standard(id)) => (0x7E8..=0x7EF).contains(&id),
        (true, CanId::Extended(id)) => id & 0x1FFF_FF00 == 0x18DA_F100,
        _ => false,
    }
}

/// What a capture contained, for tests to check further.
#[derive(Debug, Default)]
pub struct Census {
    pub requests: usize,
    pub first_frames: usize,
    pub flow_controls: usize,
}

/// Checks every frame: DLC 8; requests only on the functional ids, as single frames, padded;
/// from the tester on physical ids nothing but flow control, padded, each to an ECU whose
/// first frame is waiting for it; no consecutive frame before its flow control.
pub fn check_iso15765_4(frames: &[(CanId, Vec<u8>)], extended: bool) -> Census {
    let functional = if extended {
        CanId::OBD_FUNCTIONAL_29
    } else {
        CanId::OBD_FUNCTIONAL_11
    };
    let mut census = Census::default();
    let mut awaiting_fc: BTreeSet<CanId> = BTreeSet::new();
    for (id, data) in frames {
        let at = format!("{id} {data:02X?}");
        assert_eq!(data.len(), 8, "{at}: ISO 15765-4 wants DLC 8");
        // Discovery may probe the other format first: its request obeys the same rules.
        if *id == functional || *id == CanId::OBD_FUNCTIONAL_11 {
            let len = usize::from(data[0]);
            assert!(
                (1..=7).contains(&len),
                "{at}: a functional request is a single frame"
            );
            assert!(data[1 + len..].iter().all(|&b| b == PAD), "{at}: padding");
            census.requests += 1;
        } else if is_response_id(*id, extended) {
            match data[0] >> 4 {
                0 => {
                    let len = usize::from(data[0] & 0x0F);
                    assert!(data[1 + len..].iter().all(|&b| b == PAD), "{at}: padding");
                }
                1 => {
                    census.first_frames += 1;
                    awaiting_fc.insert(*id);
                }
                2 => assert!(!awaiting_fc.contains(id), "{at}: CF before our FC"),
                _ => panic!("{at}: an ECU sent flow control to the tester"),
            }
        } else if let Some(ecu) = ecu_of_tester_id(*id, extended) {
            assert_eq!(
                data[0] >> 4,
                3,
                "{at}: tester sends only FC on physical ids"
            );
            assert!(
                awaiting_fc.remove(&ecu),
                "{at}: FC to {ecu}, which sent no FF"
            );
            assert_eq!(
                data[..3],
                [0x30, 0, 0],
                "{at}: CTS, no block limit, no STmin"
            );
            assert!(data[3..].iter().all(|&b| b == PAD), "{at}: padding");
            census.flow_controls += 1;
        } else {
            panic!("{at}: an id that has no business on an OBD bus");
        }
    }
    assert!(awaiting_fc.is_empty(), "FF without FC from {awaiting_fc:?}");
    census
}
