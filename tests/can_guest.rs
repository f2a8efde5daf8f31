//! Tests on the real Linux CAN stack (vcan0, raw sockets, kernel ISO-TP).
//!
//! They need a kernel with CAN modules and a vcan0 interface, which CI machines and laptops
//! rarely have, so they are `#[ignore]`d and `tests/guest/run.sh` runs them with
//! `--include-ignored` inside a small qemu guest that sets `OBD_AGENT_CAN_GUEST=1`. Run anywhere
//! else with `--include-ignored`, they skip with a message instead of failing.

#[path = "can_guest/sock.rs"]
mod sock;

use std::time::{Duration, Instant};

use obd_agent::isotp::{
    Addressing, CanId, Config, Exchange, ExchangeOutcome, Receiver, RxEvent, Sender, StMin, Step,
    TxStep,
};
use sock::{Fc, KernelIsoTp, RawCan};

const IFACE: &str = "vcan0";
const TESTER: CanId = CanId::Standard(0x7E0);
const ECU: CanId = CanId::Standard(0x7E8);
const WAIT: Duration = Duration::from_secs(2);
const VIN_ANSWER: &[u8] = b"\x49\x02\x011D4GP00R55B123456";

/// Whether we are in the guest; elsewhere says why the test does nothing.
fn in_guest(test: &str) -> bool {
    let yes = std::env::var_os("OBD_AGENT_CAN_GUEST").is_some();
    if !yes {
        eprintln!("{test}: skipped, needs vcan0 and kernel CAN modules: run tests/guest/run.sh");
    }
    yes
}

/// Frames seen on the bus, collected by an observer socket opened before the traffic.
fn drain(observer: &RawCan) -> Vec<(CanId, Vec<u8>)> {
    let mut frames = Vec::new();
    while let Some(f) = observer
        .recv(Duration::from_millis(100))
        .expect("observer reads")
    {
        frames.push(f);
    }
    frames
}

fn assert_all_dlc_8(frames: &[(CanId, Vec<u8>)]) {
    for (id, data) in frames {
        assert_eq!(data.len(), 8, "frame {id} {data:02X?} is not DLC 8");
    }
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn raw_frame_crosses_vcan0() {
    if !in_guest("raw_frame_crosses_vcan0") {
        return;
    }
    let a = RawCan::open(IFACE).expect("raw socket a");
    let b = RawCan::open(IFACE).expect("raw socket b");
    a.send(CanId::Standard(0x123), &[1, 2, 3]).expect("send");
    a.send(CanId::Extended(0x18DAF110), &[4, 5]).expect("send");
    assert_eq!(
        b.recv(WAIT).expect("recv"),
        Some((CanId::Standard(0x123), vec![1, 2, 3]))
    );
    assert_eq!(
        b.recv(WAIT).expect("recv"),
        Some((CanId::Extended(0x18DAF110), vec![4, 5]))
    );
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn kernel_isotp_pair_pads_frames_and_sends_flow_control() {
    if !in_guest("kernel_isotp_pair_pads_frames_and_sends_flow_control") {
        return;
    }
    let observer = RawCan::open(IFACE).expect("observer");
    let tester = KernelIsoTp::open(IFACE, ECU, TESTER, None).expect("tester socket");
    let ecu = KernelIsoTp::open(IFACE, TESTER, ECU, None).expect("ecu socket");
    ecu.send(VIN_ANSWER).expect("ecu sends");
    assert_eq!(
        tester.recv(WAIT).expect("recv").as_deref(),
        Some(VIN_ANSWER)
    );
    let frames = drain(&observer);
    assert_all_dlc_8(&frames);
    assert_eq!(frames.len(), 4, "FF, FC, 2 CF: {frames:02X?}");
    assert_eq!(frames[0].0, ECU);
    assert_eq!(frames[0].1[..2], [0x10, 20]);
    assert_eq!(frames[1].0, TESTER);
    assert_eq!(frames[1].1[0], 0x30, "flow control");
}

/// Feeds raw frames to `on_frame` until `done` says stop or `limit` passes.
fn pump(
    raw: &RawCan,
    start: Instant,
    limit: Duration,
    mut on_frame: impl FnMut(Duration, CanId, &[u8]) -> bool,
) {
    while start.elapsed() < limit {
        if let Some((id, data)) = raw.recv(Duration::from_millis(20)).expect("raw recv")
            && on_frame(start.elapsed(), id, &data)
        {
            return;
        }
    }
    panic!("nothing conclusive within {limit:?}");
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn core_reassembles_what_kernel_isotp_sends() {
    if !in_guest("core_reassembles_what_kernel_isotp_sends") {
        return;
    }
    let raw = RawCan::open(IFACE).expect("raw socket");
    let observer = RawCan::open(IFACE).expect("observer");
    let ecu = KernelIsoTp::open(IFACE, TESTER, ECU, None).expect("ecu socket");
    // A block size makes the kernel wait for our FC mid-message, and STmin makes it pace.
    let config = Config {
        block_size: 4,
        st_min: StMin::at_least(Duration::from_millis(2)),
        ..Config::default()
    };
    let mut receiver = Receiver::new(Addressing::Obd11, config);
    let message: Vec<u8> = (0..100u8).collect();
    ecu.send(&message).expect("ecu sends");
    let start = Instant::now();
    let mut got = None;
    pump(&raw, start, WAIT, |now, id, data| {
        for event in receiver.on_frame(now, id, data) {
            match event {
                RxEvent::Send(fc) => raw.send(fc.id, &fc.data).expect("send FC"),
                RxEvent::Message { from, data } => got = Some((from, data)),
                RxEvent::Aborted(e) => panic!("aborted: {e}"),
            }
        }
        got.is_some()
    });
    assert_eq!(got, Some((ECU, message)));
    let frames = drain(&observer);
    assert_all_dlc_8(&frames);
    let fcs = frames.iter().filter(|(id, _)| *id == TESTER).count();
    assert_eq!(
        fcs,
        1 + 3,
        "FC after FF and after CF 4, 8, 12 of 14: {frames:02X?}"
    );
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn kernel_isotp_reassembles_what_core_sends() {
    if !in_guest("kernel_isotp_reassembles_what_core_sends") {
        return;
    }
    let raw = RawCan::open(IFACE).expect("raw socket");
    let observer = RawCan::open(IFACE).expect("observer");
    let fc = Fc {
        block_size: 3,
        st_min: 1,
    };
    let ecu = KernelIsoTp::open(IFACE, TESTER, ECU, Some(fc)).expect("ecu socket");
    let message: Vec<u8> = (0..60u8).rev().collect();
    let mut sender = Sender::new(TESTER, ECU, &message, &Config::default()).expect("valid payload");
    let start = Instant::now();
    loop {
        let now = start.elapsed();
        assert!(now < WAIT, "sender stuck");
        match sender.poll(now) {
            TxStep::Send(f) => raw.send(f.id, &f.data).expect("send"),
            TxStep::WaitUntil(t) => {
                if let Some((id, data)) = raw.recv(t.saturating_sub(now)).expect("recv") {
                    sender.on_frame(start.elapsed(), id, &data);
                }
            }
            TxStep::Done => break,
            TxStep::Failed(e) => panic!("send failed: {e}"),
        }
    }
    assert_eq!(ecu.recv(WAIT).expect("recv"), Some(message));
    let frames = drain(&observer);
    assert_all_dlc_8(&frames);
    // 60 bytes = FF + 8 CF; the kernel asks for FC after the FF and after CF 3 and 6.
    let fcs: Vec<_> = frames.iter().filter(|(id, _)| *id == ECU).collect();
    assert_eq!(fcs.len(), 3, "{frames:02X?}");
    assert!(fcs.iter().all(|(_, data)| data[..3] == [0x30, 3, 1]));
}

/// Drives an exchange over a raw socket the way the SocketCAN transport will.
fn run_exchange(raw: &RawCan, mut exchange: Exchange) -> ExchangeOutcome {
    let start = Instant::now();
    loop {
        let now = start.elapsed();
        assert!(now < WAIT * 3, "exchange never finished");
        match exchange.poll(now) {
            Step::Send(f) => raw.send(f.id, &f.data).expect("send"),
            Step::WaitUntil(t) => {
                if let Some((id, data)) = raw.recv(t.saturating_sub(now)).expect("recv") {
                    exchange.on_frame(start.elapsed(), id, &data);
                }
            }
            Step::Finished => return exchange.finish().expect("request sent"),
        }
    }
}

/// Two kernel ISO-TP "ECUs" answer a functional VIN request at once with segmented answers.
fn two_ecus_answer(functional: CanId, addressing: Addressing, ecus: [(CanId, CanId); 2]) {
    let raw = RawCan::open(IFACE).expect("raw socket");
    let ecu_threads: Vec<_> = ecus
        .iter()
        .enumerate()
        .map(|(i, &(request, answer))| {
            let listen =
                KernelIsoTp::open(IFACE, functional, answer, None).expect("functional socket");
            let reply = KernelIsoTp::open(IFACE, request, answer, None).expect("physical socket");
            std::thread::spawn(move || {
                let got = listen.recv(WAIT).expect("ecu recv");
                assert_eq!(got.as_deref(), Some(&[0x09, 0x02][..]));
                let mut vin = VIN_ANSWER.to_vec();
                vin[19] = b'0' + i as u8;
                reply.send(&vin).expect("ecu answers");
            })
        })
        .collect();
    // TCG guests are slow to schedule the ECU threads; the standard 50 ms is for real ECUs.
    let config = Config {
        p2: Duration::from_millis(500),
        ..Config::default()
    };
    let exchange =
        Exchange::new(functional, addressing, &[0x09, 0x02], &config, None).expect("valid");
    let outcome = run_exchange(&raw, exchange);
    for t in ecu_threads {
        t.join().expect("ecu thread");
    }
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    let mut answers = outcome.responses;
    answers.sort();
    assert_eq!(answers.len(), 2, "{answers:02X?}");
    for (i, (from, data)) in answers.iter().enumerate() {
        assert_eq!(*from, ecus[i].1);
        assert_eq!(data[..19], VIN_ANSWER[..19]);
        assert_eq!(data[19], b'0' + i as u8);
    }
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn exchange_collects_two_segmented_answers_11_bit() {
    if !in_guest("exchange_collects_two_segmented_answers_11_bit") {
        return;
    }
    let ecus = [
        (TESTER, ECU),
        (CanId::Standard(0x7E1), CanId::Standard(0x7E9)),
    ];
    two_ecus_answer(CanId::OBD_FUNCTIONAL_11, Addressing::Obd11, ecus);
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn exchange_collects_two_segmented_answers_29_bit() {
    if !in_guest("exchange_collects_two_segmented_answers_29_bit") {
        return;
    }
    let ecus = [
        (CanId::Extended(0x18DA10F1), CanId::Extended(0x18DAF110)),
        (CanId::Extended(0x18DA18F1), CanId::Extended(0x18DAF118)),
    ];
    two_ecus_answer(CanId::OBD_FUNCTIONAL_29, Addressing::Obd29, ecus);
}
