//! The virtual ECUs against the ISO-TP exchange the SocketCAN transport runs, on a bus made
//! of a queue and a simulated clock: every frame either side sends reaches the other.

use std::time::Duration;

use super::{CanSimOptions, EcuStep, Quirk, VirtualEcus};
use crate::isotp::{Addressing, CanFrame, CanId, Config, Exchange, ExchangeOutcome, Step};
use crate::sim::Scenario;

const MS: Duration = Duration::from_millis(1);

/// Runs one functional request against `ecus` from time `start`; returns the outcome, every
/// frame on the bus, and the time it ended.
fn exchange(
    ecus: &mut VirtualEcus,
    start: Duration,
    extended: bool,
    request: &[u8],
    expected: Option<usize>,
) -> (ExchangeOutcome, Vec<CanFrame>, Duration) {
    let (id, addressing) = if extended {
        (CanId::OBD_FUNCTIONAL_29, Addressing::Obd29)
    } else {
        (CanId::OBD_FUNCTIONAL_11, Addressing::Obd11)
    };
    let mut ex = Exchange::new(id, addressing, request, &Config::default(), expected).unwrap();
    let mut now = start;
    let mut bus = Vec::new();
    loop {
        assert!(now < start + Duration::from_secs(20), "exchange never ends");
        let sent = bus.len();
        let tester_wait = loop {
            match ex.poll(now) {
                Step::Send(f) => {
                    bus.push(f);
                    ecus.on_frame(now, f.id, &f.data);
                }
                Step::WaitUntil(t) => break t,
                Step::Finished => return (ex.finish().unwrap(), bus, now),
            }
        };
        let ecu_wait = loop {
            match ecus.poll(now) {
                EcuStep::Send(f) => {
                    bus.push(f);
                    ex.on_frame(now, f.id, &f.data);
                }
                EcuStep::WaitUntil(t) => break t,
            }
        };
        // Time moves only once neither side has anything more to say now.
        if bus.len() == sent {
            now = ecu_wait
                .map_or(tester_wait, |t| t.min(tester_wait))
                .max(now);
        }
    }
}

#[test]
fn two_ecus_answer_a_long_code_list_with_flow_control() {
    let mut ecus = VirtualEcus::new(Scenario::MultiEcu.build(), &CanSimOptions::default());
    assert_eq!(
        ecus.listen_ids(),
        [0x7DF, 0x7E0, 0x7E1].map(CanId::Standard)
    );
    let (outcome, bus, _) = exchange(&mut ecus, Duration::ZERO, false, &[0x03], None);
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    let mut answers = outcome.responses;
    answers.sort();
    assert_eq!(answers[0].0, CanId::Standard(0x7E8));
    assert_eq!(answers[0].1[..2], [0x43, 4], "four codes, counted");
    assert_eq!(answers[1].0, CanId::Standard(0x7E9));
    assert!(
        bus.iter().all(|f| f.id != CanId::Standard(0x7E1)),
        "no FC for a SF"
    );
    let fc: Vec<_> = bus.iter().filter(|f| f.data[0] == 0x30).collect();
    assert_eq!(fc.len(), 1);
    assert_eq!(
        fc[0].id,
        CanId::Standard(0x7E0),
        "FC to the engine's request id"
    );
    assert_eq!(fc[0].data, [0x30, 0, 0, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC]);
}

#[test]
fn service_06_misfire_data_is_a_multi_frame_answer_the_codec_reads() {
    use crate::obd::test_results::{decode_supported_mids, decode_test_results};
    let mut ecus = VirtualEcus::new(Scenario::CatalystAgeing.build(), &CanSimOptions::default());
    let (outcome, _, end) = exchange(&mut ecus, Duration::ZERO, false, &[0x06, 0x00], Some(1));
    assert_eq!(outcome.responses.len(), 1);
    let bitmap = &outcome.responses[0].1;
    assert_eq!(
        decode_supported_mids(&bitmap[1..]).unwrap(),
        vec![0x01, 0x20]
    );
    // 46 A2 and two records of eight bytes: 18 bytes, a first frame and two more.
    let (outcome, bus, _) = exchange(&mut ecus, end + MS, false, &[0x06, 0xA2], Some(1));
    let answer = &outcome.responses[0].1;
    assert_eq!(answer.len(), 18);
    assert!(bus.iter().any(|f| f.data[0] == 0x30), "flow control sent");
    let tests = decode_test_results(&answer[1..]).unwrap();
    assert_eq!(
        tests.iter().map(|t| (t.tid, t.value)).collect::<Vec<_>>(),
        [(0x0B, 0.0), (0x0C, 0.0)]
    );
}

#[test]
fn extended_ids_and_a_multi_frame_vin() {
    let options = CanSimOptions {
        extended: true,
        ..CanSimOptions::default()
    };
    let mut ecus = VirtualEcus::new(Scenario::Healthy.build(), &options);
    assert_eq!(ecus.response_ids(), [CanId::Extended(0x18DA_F110)]);
    let (outcome, bus, _) = exchange(&mut ecus, Duration::ZERO, true, &[0x09, 0x02], Some(1));
    assert_eq!(outcome.responses.len(), 1);
    assert_eq!(&outcome.responses[0].1[3..], b"1D4GP00R55B123456");
    assert!(bus.contains(&CanFrame {
        id: CanId::Extended(0x18DA_10F1),
        data: [0x30, 0, 0, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC],
    }));
}

#[test]
fn response_pending_then_the_answer() {
    let options = CanSimOptions {
        quirks: vec![(0, Quirk::PendingFirst(300 * MS))],
        ..CanSimOptions::default()
    };
    let mut ecus = VirtualEcus::new(Scenario::Healthy.build(), &options);
    let (outcome, bus, end) = exchange(&mut ecus, Duration::ZERO, false, &[0x01, 0x0D], None);
    assert_eq!(bus[1].data[..4], [0x03, 0x7F, 0x01, 0x78]);
    assert_eq!(outcome.responses.len(), 1);
    assert_eq!(outcome.responses[0].1[..2], [0x41, 0x0D]);
    assert!(end >= 300 * MS && end < 400 * MS, "{end:?}");
}

#[test]
fn a_silent_ecu_costs_p2_and_a_late_one_is_not_heard() {
    let options = CanSimOptions {
        quirks: vec![(0, Quirk::Late(120 * MS)), (1, Quirk::Silent)],
        ..CanSimOptions::default()
    };
    let mut ecus = VirtualEcus::new(Scenario::MultiEcu.build(), &options);
    let (outcome, _, end) = exchange(&mut ecus, Duration::ZERO, false, &[0x01, 0x00], Some(2));
    assert!(outcome.responses.is_empty(), "{:?}", outcome.responses);
    assert_eq!(end, 50 * MS, "P2");
    // The late answer is on its way when the next request starts; the tester sees it arrive.
    let (outcome, _, _) = exchange(&mut ecus, 110 * MS, false, &[0x01, 0x0D], Some(1));
    assert_eq!(outcome.responses.len(), 1);
    assert_eq!(
        outcome.responses[0].1[..2],
        [0x41, 0x00],
        "stale, for the transport to drop"
    );
}

proptest::proptest! {
    /// Whatever a tester (or noise) puts on the bus, the ECUs neither panic nor stall.
    #[test]
    fn any_frames_leave_the_ecus_working(
        frames in proptest::collection::vec(
            (0usize..5, proptest::collection::vec(proptest::num::u8::ANY, 0..9)),
            0..40,
        )
    ) {
        let ids = [0x7DF, 0x7E0, 0x7E1, 0x7E8, 0x123].map(CanId::Standard);
        let mut ecus = VirtualEcus::new(Scenario::MultiEcu.build(), &CanSimOptions::default());
        let mut now = Duration::ZERO;
        for (id, data) in frames {
            now += MS;
            ecus.on_frame(now, ids[id], &data);
            let mut sent = 0;
            while let EcuStep::Send(f) = ecus.poll(now) {
                sent += 1;
                proptest::prop_assert!(sent < 1000, "runaway sending");
                proptest::prop_assert!(f.id == CanId::Standard(0x7E8) || f.id == CanId::Standard(0x7E9));
            }
        }
        // Afterwards they still answer a plain request.
        let (outcome, _, _) = exchange(&mut ecus, now + Duration::from_secs(5), false, &[0x01, 0x0D], Some(2));
        proptest::prop_assert_eq!(outcome.responses.len(), 2);
    }
}
