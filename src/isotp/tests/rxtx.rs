//! Sender and Receiver scenarios.

use super::*;

const ECU2: CanId = CanId::Standard(0x7E9);

fn obd11() -> Receiver {
    Receiver::new(Addressing::Obd11, Config::default())
}

fn feed(rx: &mut Receiver, now: Duration, id: CanId, s: &str) -> Vec<RxEvent> {
    rx.on_frame(now, id, &hex(s))
}

fn message(from: CanId, s: &str) -> RxEvent {
    RxEvent::Message { from, data: hex(s) }
}

const VIN: &str = "49 02 01 31 44 34 47 50 30 30 52 35 35 42 31 32 33 34 35 36";

#[test]
fn vin_answer_is_reassembled_and_flow_control_goes_to_7e0() {
    let mut rx = obd11();
    let fc = feed(&mut rx, ms(0), ECU, "10 14 49 02 01 31 44 34");
    assert_eq!(
        fc,
        vec![RxEvent::Send(frame(TESTER, "30 00 00 CC CC CC CC CC"))]
    );
    assert_eq!(rx.next_deadline(), Some(ms(1000)));
    assert!(feed(&mut rx, ms(5), ECU, "21 47 50 30 30 52 35 35").is_empty());
    assert_eq!(rx.next_deadline(), Some(ms(1005)));
    assert_eq!(
        feed(&mut rx, ms(6), ECU, "22 42 31 32 33 34 35 36"),
        vec![message(ECU, VIN)]
    );
    assert!(!rx.is_busy());
}

#[test]
fn two_ecus_interleaved() {
    let mut rx = obd11();
    let fc1 = feed(&mut rx, ms(0), ECU, "10 14 49 02 01 31 44 34");
    let fc2 = feed(&mut rx, ms(1), ECU2, "10 0A 49 02 01 57 30 4C");
    assert_eq!(
        fc1,
        vec![RxEvent::Send(frame(TESTER, "30 00 00 CC CC CC CC CC"))]
    );
    assert_eq!(
        fc2,
        vec![RxEvent::Send(frame(
            CanId::Standard(0x7E1),
            "30 00 00 CC CC CC CC CC"
        ))]
    );
    assert!(feed(&mut rx, ms(2), ECU, "21 47 50 30 30 52 35 35").is_empty());
    assert_eq!(
        feed(&mut rx, ms(3), ECU2, "21 30 30 30 30 AA AA AA"),
        vec![message(ECU2, "49 02 01 57 30 4C 30 30 30 30")]
    );
    assert!(rx.is_receiving_from(ECU) && !rx.is_receiving_from(ECU2));
    assert_eq!(
        feed(&mut rx, ms(4), ECU, "22 42 31 32 33 34 35 36"),
        vec![message(ECU, VIN)]
    );
}

#[test]
fn wrong_sequence_number_aborts_only_that_ecu() {
    let mut rx = obd11();
    feed(&mut rx, ms(0), ECU, "10 14 49 02 01 31 44 34");
    feed(&mut rx, ms(0), ECU2, "10 0A 49 02 01 57 30 4C");
    assert_eq!(
        feed(&mut rx, ms(1), ECU, "22 42 31 32 33 34 35 36"),
        vec![RxEvent::Aborted(IsoTpError::WrongSequence {
            from: ECU,
            expected: 1,
            got: 2
        })]
    );
    // The rest of the broken message is ignored, the other ECU carries on.
    assert!(feed(&mut rx, ms(2), ECU, "21 47 50 30 30 52 35 35").is_empty());
    assert_eq!(
        feed(&mut rx, ms(3), ECU2, "21 30 30 30 30"),
        vec![message(ECU2, "49 02 01 57 30 4C 30 30 30 30")]
    );
}

#[test]
fn missing_consecutive_frame_times_out_after_n_cr() {
    let mut rx = obd11();
    feed(&mut rx, ms(100), ECU, "10 14 49 02 01 31 44 34");
    assert!(rx.on_time(ms(1099)).is_empty());
    assert_eq!(
        rx.on_time(ms(1100)),
        vec![RxEvent::Aborted(IsoTpError::ConsecutiveFrameTimeout {
            from: ECU,
            received: 6,
            len: 20,
            after: ms(1000)
        })]
    );
    assert_eq!(rx.next_deadline(), None);
}

#[test]
fn sloppy_frames_are_accepted_and_strangers_ignored() {
    let mut rx = obd11();
    assert_eq!(
        feed(&mut rx, ms(0), ECU, "03 41 0D 32"),
        vec![message(ECU, "41 0D 32")]
    );
    assert_eq!(
        feed(&mut rx, ms(0), ECU, "02 41 00 FF 55 AA 00 12"),
        vec![message(ECU, "41 00")]
    );
    assert!(feed(&mut rx, ms(0), CanId::Standard(0x123), "02 41 00").is_empty());
    assert!(feed(&mut rx, ms(0), CanId::Standard(0x7DF), "02 01 00").is_empty());
    // CF without FF, and flow control aimed at someone else's sender.
    assert!(feed(&mut rx, ms(0), ECU, "21 00 00 00 00 00 00 00").is_empty());
    assert!(feed(&mut rx, ms(0), ECU, "30 00 00").is_empty());
    // Last CF with DLC < 8.
    feed(&mut rx, ms(0), ECU, "10 0A 49 02 01 57 30 4C");
    assert_eq!(
        feed(&mut rx, ms(1), ECU, "21 30 30 30 30"),
        vec![message(ECU, "49 02 01 57 30 4C 30 30 30 30")]
    );
}

#[test]
fn new_first_frame_interrupts_the_previous_message() {
    let mut rx = obd11();
    feed(&mut rx, ms(0), ECU, "10 14 49 02 01 31 44 34");
    let events = feed(&mut rx, ms(1), ECU, "02 41 00");
    assert_eq!(
        events,
        vec![
            RxEvent::Aborted(IsoTpError::Interrupted {
                from: ECU,
                received: 6,
                len: 20
            }),
            message(ECU, "41 00"),
        ]
    );
}

#[test]
fn too_long_message_gets_overflow() {
    let config = Config {
        max_message_len: 100,
        ..Config::default()
    };
    let mut rx = Receiver::new(Addressing::Obd11, config);
    assert_eq!(
        feed(&mut rx, ms(0), ECU, "12 00 49 02 01 31 44 34"),
        vec![
            RxEvent::Send(frame(TESTER, "32 00 00 CC CC CC CC CC")),
            RxEvent::Aborted(IsoTpError::TooLong {
                from: ECU,
                len: 0x200,
                max: 100
            }),
        ]
    );
    assert!(!rx.is_busy());
}

#[test]
fn escape_first_frame_with_32_bit_length() {
    let mut rx = obd11();
    assert_eq!(
        feed(&mut rx, ms(0), ECU, "10 00 00 00 00 0A 49 02").len(),
        1
    );
    assert_eq!(
        feed(&mut rx, ms(1), ECU, "21 01 31 44 34 47 50 30 30"),
        vec![message(ECU, "49 02 01 31 44 34 47 50 30 30")]
    );
}

#[test]
fn extended_ids_29_bit() {
    let mut rx = Receiver::new(
        Addressing::Obd29,
        Config {
            padding: 0x00,
            ..Config::default()
        },
    );
    let ecu = CanId::Extended(0x18DAF110);
    assert_eq!(
        feed(&mut rx, ms(0), ecu, "10 14 49 02 01 31 44 34"),
        vec![RxEvent::Send(frame(
            CanId::Extended(0x18DA10F1),
            "30 00 00 00 00 00 00 00"
        ))]
    );
    feed(&mut rx, ms(1), ecu, "21 47 50 30 30 52 35 35");
    assert_eq!(
        feed(&mut rx, ms(2), ecu, "22 42 31 32 33 34 35 36"),
        vec![message(ecu, VIN)]
    );
    assert!(feed(&mut rx, ms(3), ECU, "02 41 00").is_empty());
}

#[test]
fn our_block_size_asks_for_flow_control_again() {
    let config = Config {
        block_size: 2,
        st_min: StMin::from_byte(5),
        ..Config::default()
    };
    let payload: Vec<u8> = (0..=99).collect();
    let (got, wire) = transfer(&payload, &Config::default(), config);
    assert_eq!(got, payload);
    let fcs: Vec<_> = wire.iter().filter(|(_, f)| f.id == TESTER).collect();
    // 100 bytes = FF + 14 CF, so FC after FF and after every 2nd CF but the last block.
    assert_eq!(fcs.len(), 1 + 6);
    assert!(fcs.iter().all(|(_, f)| f.data[..3] == [0x30, 2, 5]));
    let cfs: Vec<_> = wire
        .iter()
        .filter(|(_, f)| f.id == ECU && f.data[0] >> 4 == 2)
        .collect();
    for pair in cfs.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= ms(5), "STmin kept");
    }
}

#[test]
fn sequence_numbers_wrap_and_every_frame_is_8_bytes() {
    let payload: Vec<u8> = (0..200u32).map(|i| i as u8).collect();
    let (got, wire) = transfer(
        &payload,
        &Config {
            padding: 0xAA,
            ..Config::default()
        },
        Config::default(),
    );
    assert_eq!(got, payload);
    let sns: Vec<u8> = wire
        .iter()
        .filter(|(_, f)| f.data[0] >> 4 == 2)
        .map(|(_, f)| f.data[0] & 0xF)
        .collect();
    assert_eq!(
        &sns[..17],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1]
    );
    let (_, last) = wire.last().expect("frames were sent");
    // 200 = 6 + 27*7 + 5: the last CF carries 5 bytes and two padding bytes.
    assert_eq!(last.data[6..], [0xAA, 0xAA]);
}

#[test]
fn single_frame_request_is_padded() {
    let mut tx = Sender::new(
        CanId::OBD_FUNCTIONAL_11,
        TESTER,
        &[0x01, 0x0C],
        &Config::default(),
    )
    .expect("valid");
    assert_eq!(
        tx.poll(ms(0)),
        TxStep::Send(frame(CanId::Standard(0x7DF), "02 01 0C CC CC CC CC CC"))
    );
    assert_eq!(tx.poll(ms(0)), TxStep::Done);
    assert!(Sender::new(TESTER, ECU, &[], &Config::default()).is_err());
}

fn started(payload_len: usize) -> Sender {
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let mut tx = Sender::new(TESTER, ECU, &payload, &Config::default()).expect("valid");
    let TxStep::Send(ff) = tx.poll(ms(0)) else {
        panic!("first frame expected")
    };
    assert_eq!(ff.data[..2], [0x10, payload_len as u8]);
    tx
}

#[test]
fn sender_obeys_block_size_and_st_min() {
    let mut tx = started(40);
    assert_eq!(tx.poll(ms(10)), TxStep::WaitUntil(ms(1000)));
    // Flow control from a stranger, or something that is not FC, changes nothing.
    tx.on_frame(ms(10), ECU2, &hex("30 00 00"));
    tx.on_frame(ms(10), ECU, &hex("21 00 00"));
    assert_eq!(tx.poll(ms(10)), TxStep::WaitUntil(ms(1000)));
    tx.on_frame(ms(10), ECU, &hex("30 02 14 00 00 00 00 00"));
    assert!(matches!(tx.poll(ms(10)), TxStep::Send(f) if f.data[0] == 0x21));
    assert_eq!(tx.poll(ms(15)), TxStep::WaitUntil(ms(30)));
    // An FC while we are sending is not ours to obey.
    tx.on_frame(ms(16), ECU, &hex("32"));
    assert!(matches!(tx.poll(ms(30)), TxStep::Send(f) if f.data[0] == 0x22));
    assert_eq!(tx.poll(ms(31)), TxStep::WaitUntil(ms(1030)));
    tx.on_frame(ms(40), ECU, &hex("30 00 F5"));
    for sn in 3..=5 {
        assert!(matches!(tx.poll(ms(40 + sn)), TxStep::Send(f) if f.data[0] == 0x20 | sn as u8));
    }
    assert_eq!(tx.poll(ms(50)), TxStep::Done);
}

#[test]
fn sender_wait_overflow_reserved_and_timeout() {
    let mut tx = started(20);
    for i in 1..=10 {
        tx.on_frame(ms(i * 100), ECU, &hex("31 00 00"));
        assert_eq!(
            tx.poll(ms(i * 100)),
            TxStep::WaitUntil(ms(i * 100 + 1000)),
            "wait {i}"
        );
    }
    tx.on_frame(ms(1100), ECU, &hex("31 00 00"));
    assert_eq!(
        tx.poll(ms(1100)),
        TxStep::Failed(IsoTpError::TooManyWaits { from: ECU, max: 10 })
    );

    let mut tx = started(20);
    tx.on_frame(ms(1), ECU, &hex("32 00 00"));
    assert_eq!(
        tx.poll(ms(1)),
        TxStep::Failed(IsoTpError::Overflow { from: ECU, len: 20 })
    );
    assert!(tx.is_finished());

    let mut tx = started(20);
    tx.on_frame(ms(1), ECU, &hex("3F 00 00"));
    assert_eq!(
        tx.poll(ms(1)),
        TxStep::Failed(IsoTpError::InvalidFlowStatus {
            from: ECU,
            status: 0xF
        })
    );

    let mut tx = started(20);
    assert_eq!(
        tx.poll(ms(1000)),
        TxStep::Failed(IsoTpError::FlowControlTimeout {
            from: ECU,
            after: ms(1000)
        })
    );
}

#[test]
fn long_messages_use_the_escape_first_frame() {
    let payload = vec![0x5A; 5000];
    let mut tx = Sender::new(TESTER, ECU, &payload, &Config::default()).expect("valid");
    assert_eq!(
        tx.poll(ms(0)),
        TxStep::Send(frame(TESTER, "10 00 00 00 13 88 5A 5A"))
    );
    let rx_config = Config {
        max_message_len: 10_000,
        ..Config::default()
    };
    let (got, _) = transfer(&payload, &Config::default(), rx_config);
    assert_eq!(got, payload);
}
