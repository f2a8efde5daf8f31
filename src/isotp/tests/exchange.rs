//! Request/response timing of a whole OBD exchange.

use super::*;

fn functional(payload: &str, expected: Option<usize>) -> Exchange {
    Exchange::new(
        CanId::OBD_FUNCTIONAL_11,
        Addressing::Obd11,
        &hex(payload),
        &Config::default(),
        expected,
    )
    .expect("valid request")
}

fn sent(ex: &mut Exchange, now: Duration) -> CanFrame {
    match ex.poll(now) {
        Step::Send(f) => f,
        other => panic!("expected a frame to send, got {other:?}"),
    }
}

#[test]
fn functional_request_collects_answers_until_p2() {
    let mut ex = functional("01 0C", None);
    assert_eq!(
        sent(&mut ex, ms(0)),
        frame(CanId::OBD_FUNCTIONAL_11, "02 01 0C CC CC CC CC CC")
    );
    assert_eq!(ex.poll(ms(0)), Step::WaitUntil(ms(50)));
    ex.on_frame(ms(8), ECU, &hex("04 41 0C 1A F8 00 00 00"));
    ex.on_frame(ms(9), CanId::Standard(0x7E9), &hex("04 41 0C 1A F0"));
    assert_eq!(ex.poll(ms(9)), Step::WaitUntil(ms(50)));
    assert_eq!(ex.poll(ms(50)), Step::Finished);
    let outcome = ex.finish().expect("request was sent");
    assert_eq!(
        outcome.responses,
        vec![
            (ECU, hex("41 0C 1A F8")),
            (CanId::Standard(0x7E9), hex("41 0C 1A F0"))
        ]
    );
    assert!(outcome.problems.is_empty());
}

#[test]
fn no_answer_is_an_empty_outcome() {
    let mut ex = functional("01 A6", None);
    sent(&mut ex, ms(0));
    assert_eq!(ex.poll(ms(60)), Step::Finished);
    assert_eq!(ex.finish(), Ok(ExchangeOutcome::default()));
}

#[test]
fn expected_count_ends_early() {
    let mut ex = functional("01 0D", Some(1));
    sent(&mut ex, ms(0));
    ex.on_frame(ms(3), ECU, &hex("03 41 0D 32"));
    assert_eq!(ex.poll(ms(3)), Step::Finished);
}

#[test]
fn segmented_answers_keep_the_exchange_open_and_get_flow_control() {
    let mut ex = functional("09 02", None);
    sent(&mut ex, ms(0));
    ex.on_frame(ms(10), ECU, &hex("10 14 49 02 01 31 44 34"));
    assert_eq!(
        sent(&mut ex, ms(10)),
        frame(TESTER, "30 00 00 CC CC CC CC CC")
    );
    ex.on_frame(ms(40), ECU, &hex("21 47 50 30 30 52 35 35"));
    // P2 is over but the message is still coming: wait for it up to N_Cr.
    assert_eq!(ex.poll(ms(60)), Step::WaitUntil(ms(1040)));
    ex.on_frame(ms(70), ECU, &hex("22 42 31 32 33 34 35 36"));
    assert_eq!(ex.poll(ms(70)), Step::Finished);
    let outcome = ex.finish().expect("sent");
    assert_eq!(outcome.responses.len(), 1);
    assert_eq!(outcome.responses[0].1.len(), 20);
}

#[test]
fn stalled_segmented_answer_is_reported_not_fatal() {
    let mut ex = functional("09 02", None);
    sent(&mut ex, ms(0));
    ex.on_frame(ms(10), ECU, &hex("10 14 49 02 01 31 44 34"));
    sent(&mut ex, ms(10));
    assert_eq!(ex.poll(ms(1010)), Step::Finished);
    let outcome = ex.finish().expect("sent");
    assert!(outcome.responses.is_empty());
    assert!(matches!(
        outcome.problems[..],
        [IsoTpError::ConsecutiveFrameTimeout { .. }]
    ));
}

#[test]
fn response_pending_extends_to_p2_star_and_is_dropped() {
    let mut ex = functional("04", None);
    sent(&mut ex, ms(0));
    ex.on_frame(ms(20), ECU, &hex("03 7F 04 78"));
    assert_eq!(ex.poll(ms(50)), Step::WaitUntil(ms(5020)));
    ex.on_frame(ms(2000), ECU, &hex("03 7F 04 78"));
    assert_eq!(ex.poll(ms(2000)), Step::WaitUntil(ms(7000)));
    ex.on_frame(ms(3000), ECU, &hex("01 44"));
    assert_eq!(ex.poll(ms(3000)), Step::Finished);
    assert_eq!(ex.finish().expect("sent").responses, vec![(ECU, hex("44"))]);

    let mut ex = functional("04", None);
    sent(&mut ex, ms(0));
    ex.on_frame(ms(20), ECU, &hex("03 7F 04 78"));
    assert_eq!(ex.poll(ms(5020)), Step::Finished);
    let outcome = ex.finish().expect("sent");
    assert_eq!(
        outcome.problems,
        vec![IsoTpError::ResponsePendingTimeout {
            from: ECU,
            after: ms(5000)
        }]
    );
}

#[test]
fn physical_multi_frame_request_waits_for_flow_control() {
    let payload = hex("2E F1 90 31 44 34 47 50 30 30");
    let mut ex = Exchange::new(
        TESTER,
        Addressing::Obd11,
        &payload,
        &Config::default(),
        Some(1),
    )
    .expect("valid");
    assert_eq!(
        sent(&mut ex, ms(0)),
        frame(TESTER, "10 0A 2E F1 90 31 44 34")
    );
    assert_eq!(ex.poll(ms(1)), Step::WaitUntil(ms(1000)));
    ex.on_frame(ms(5), ECU, &hex("30 00 00 00 00 00 00 00"));
    assert_eq!(
        sent(&mut ex, ms(5)),
        frame(TESTER, "21 47 50 30 30 CC CC CC")
    );
    assert_eq!(ex.poll(ms(5)), Step::WaitUntil(ms(55)));
    ex.on_frame(ms(30), ECU, &hex("03 6E F1 90"));
    assert_eq!(ex.poll(ms(30)), Step::Finished);

    // 29-bit physical request: flow control comes from 0x18DAF110.
    let mut ex = Exchange::new(
        CanId::Extended(0x18DA10F1),
        Addressing::Obd29,
        &payload,
        &Config::default(),
        None,
    )
    .expect("valid");
    sent(&mut ex, ms(0));
    ex.on_frame(ms(1), CanId::Extended(0x18DAF110), &hex("30 00 00"));
    assert!(matches!(ex.poll(ms(1)), Step::Send(f) if f.data[0] == 0x21));
}

#[test]
fn request_failures() {
    let long = hex("01 00 20 40 60 80 A0 C0");
    assert_eq!(
        Exchange::new(
            CanId::OBD_FUNCTIONAL_11,
            Addressing::Obd11,
            &long,
            &Config::default(),
            None
        )
        .err(),
        Some(IsoTpError::FunctionalTooLong { len: 8 })
    );
    let mut ex =
        Exchange::new(TESTER, Addressing::Obd11, &long, &Config::default(), None).expect("valid");
    sent(&mut ex, ms(0));
    ex.on_frame(ms(1), ECU, &hex("32"));
    assert_eq!(ex.poll(ms(1)), Step::Finished);
    assert_eq!(ex.finish(), Err(IsoTpError::Overflow { from: ECU, len: 8 }));
}
