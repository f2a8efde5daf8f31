//! Properties: no frame sequence panics, and whatever the sender sends the receiver rebuilds.

use proptest::prelude::*;

use super::*;

fn any_id() -> impl Strategy<Value = CanId> {
    prop_oneof![
        (0x7DFu16..=0x7EF).prop_map(CanId::Standard),
        any::<u16>().prop_map(|id| CanId::Standard(id & 0x7FF)),
        (0u32..4).prop_map(|ecu| CanId::Extended(0x18DAF110 + ecu)),
        any::<u32>().prop_map(|id| CanId::Extended(id & 0x1FFF_FFFF)),
    ]
}

/// Mostly ISO-TP-looking frames (PCI nibble 0-3), some of any length up to CAN FD's 64.
fn any_frame() -> impl Strategy<Value = (u64, CanId, Vec<u8>)> {
    let data = prop_oneof![
        (0u8..0x40, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(pci, mut rest)| {
            rest.insert(0, pci);
            rest
        }),
        proptest::collection::vec(any::<u8>(), 0..64),
    ];
    (0u64..2000, any_id(), data)
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic(
        frames in proptest::collection::vec(any_frame(), 0..200),
        block_size in any::<u8>(),
        max_len in 0usize..5000,
    ) {
        let config = Config { block_size, max_message_len: max_len, ..Config::default() };
        let mut rx11 = Receiver::new(Addressing::Obd11, config.clone());
        let mut rx29 = Receiver::new(Addressing::Obd29, config.clone());
        let mut tx = Sender::new(TESTER, ECU, &[0x55; 300], &config).expect("valid");
        let mut ex = Exchange::new(CanId::OBD_FUNCTIONAL_11, Addressing::Obd11, &[9, 2], &config, None)
            .expect("valid");
        let mut now = Duration::ZERO;
        for (step_ms, id, data) in frames {
            now += Duration::from_millis(step_ms);
            for rx in [&mut rx11, &mut rx29] {
                for event in rx.on_frame(now, id, &data).into_iter().chain(rx.on_time(now)) {
                    if let RxEvent::Message { data, .. } = event {
                        prop_assert!(data.len() <= max_len.max(62));
                    }
                }
            }
            tx.on_frame(now, id, &data);
            let _ = tx.poll(now);
            ex.on_frame(now, id, &data);
            if let Step::WaitUntil(t) = ex.poll(now) {
                prop_assert!(t >= now);
            }
        }
    }

    #[test]
    fn sender_to_receiver_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 1..600),
        block_size in any::<u8>(),
        st_min in prop_oneof![0u8..=0x7F, 0xF1u8..=0xF9, Just(0x80u8)],
        padding in any::<u8>(),
    ) {
        let tx = Config { padding, ..Config::default() };
        let rx = Config { block_size, st_min: StMin::from_byte(st_min), ..Config::default() };
        let (got, wire) = transfer(&payload, &tx, rx);
        prop_assert_eq!(got, payload);
        let cfs: Vec<_> = wire.iter().filter(|(_, f)| f.id == ECU && f.data[0] >> 4 == 2).collect();
        for pair in cfs.windows(2) {
            prop_assert!(pair[1].0 - pair[0].0 >= StMin::from_byte(st_min).duration());
        }
    }
}

/// The frames an ECU at `id` puts on the bus for `payload`, answering its FF with FC CTS at
/// once; `unpadded` cuts each frame after its payload, as sloppy ECUs send them.
fn ecu_frames(id: CanId, payload: &[u8], unpadded: bool) -> Vec<Vec<u8>> {
    let fc_id = Addressing::Obd11.flow_control_id(id).expect("OBD id");
    let mut tx = Sender::new(id, fc_id, payload, &Config::default()).expect("valid");
    let mut frames = Vec::new();
    let mut left = payload.len();
    loop {
        match tx.poll(Duration::ZERO) {
            TxStep::Send(f) => {
                let used = match f.data[0] >> 4 {
                    0 => 1 + left,
                    1 => 8,
                    _ => 1 + left.min(7),
                };
                left -= used - if f.data[0] >> 4 == 1 { 2 } else { 1 };
                let len = if unpadded { used } else { 8 };
                frames.push(f.data[..len].to_vec());
                tx.on_frame(Duration::ZERO, fc_id, &[0x30, 0, 0]);
            }
            TxStep::Done => return frames,
            other => panic!("unexpected {other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn interleaved_answers_from_several_ecus_all_arrive(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..120), 1..=4),
        unpadded in any::<bool>(),
        order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..300),
    ) {
        let ecus: Vec<CanId> = (0..payloads.len()).map(|i| CanId::Standard(0x7E8 + i as u16)).collect();
        let mut queues: Vec<std::collections::VecDeque<Vec<u8>>> = ecus
            .iter()
            .zip(&payloads)
            .map(|(&id, p)| ecu_frames(id, p, unpadded).into())
            .collect();
        let mut rx = Receiver::new(Addressing::Obd11, Config::default());
        let mut got = std::collections::BTreeMap::new();
        let mut picks = order.into_iter();
        // Random interleaving that keeps each ECU's own frames in order.
        while queues.iter().any(|q| !q.is_empty()) {
            let busy: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
            let i = picks.next().map_or(busy[0], |ix| busy[ix.index(busy.len())]);
            let data = queues[i].pop_front().expect("non-empty queue");
            for event in rx.on_frame(Duration::ZERO, ecus[i], &data) {
                match event {
                    RxEvent::Message { from, data } => {
                        prop_assert!(got.insert(from, data).is_none(), "one message per ECU");
                    }
                    RxEvent::Send(fc) => prop_assert_eq!(Some(fc.id), Addressing::Obd11.flow_control_id(ecus[i])),
                    RxEvent::Aborted(e) => prop_assert!(false, "aborted: {}", e),
                }
            }
        }
        let want: std::collections::BTreeMap<_, _> = ecus.into_iter().zip(payloads).collect();
        prop_assert_eq!(got, want);
    }
}
