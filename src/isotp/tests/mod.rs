//! Vectors and scenarios for the ISO-TP core; `prop` holds the property tests.

mod exchange;
mod prop;
mod rxtx;

use std::time::Duration;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("test vector is hex"))
        .collect()
}

fn frame(id: CanId, s: &str) -> CanFrame {
    let v = hex(s);
    let mut data = [0u8; 8];
    data.copy_from_slice(&v);
    CanFrame { id, data }
}

const TESTER: CanId = CanId::Standard(0x7E0);
const ECU: CanId = CanId::Standard(0x7E8);

/// Runs a Sender against a Receiver until the message is through; returns the message and
/// every frame on the wire with the time it went out.
fn transfer(payload: &[u8], tx: &Config, rx: Config) -> (Vec<u8>, Vec<(Duration, CanFrame)>) {
    let mut sender = Sender::new(ECU, TESTER, payload, tx).expect("payload size is valid");
    let mut receiver = Receiver::new(
        Addressing::Fixed {
            rx: ECU,
            tx: TESTER,
        },
        rx,
    );
    let mut now = Duration::ZERO;
    let mut wire = Vec::new();
    let mut got = None;
    for _ in 0..100_000 {
        match sender.poll(now) {
            TxStep::Send(f) => {
                wire.push((now, f));
                for event in receiver.on_frame(now, f.id, &f.data) {
                    match event {
                        RxEvent::Send(fc) => {
                            wire.push((now, fc));
                            sender.on_frame(now, fc.id, &fc.data);
                        }
                        RxEvent::Message { from, data } => {
                            assert_eq!(from, ECU);
                            got = Some(data);
                        }
                        RxEvent::Aborted(e) => panic!("transfer aborted: {e}"),
                    }
                }
            }
            TxStep::WaitUntil(t) => {
                assert!(t > now, "WaitUntil must move time forward");
                now = t;
            }
            TxStep::Done => break,
            TxStep::Failed(e) => panic!("transfer failed: {e}"),
        }
    }
    (got.expect("message reassembled"), wire)
}

#[test]
fn st_min_codes() {
    assert_eq!(StMin::from_byte(0x00).duration(), Duration::ZERO);
    assert_eq!(StMin::from_byte(0x0A).duration(), ms(10));
    assert_eq!(StMin::from_byte(0x7F).duration(), ms(127));
    assert_eq!(
        StMin::from_byte(0xF1).duration(),
        Duration::from_micros(100)
    );
    assert_eq!(
        StMin::from_byte(0xF9).duration(),
        Duration::from_micros(900)
    );
    for reserved in [0x80, 0xF0, 0xFA, 0xFF] {
        assert_eq!(
            StMin::from_byte(reserved).duration(),
            ms(127),
            "{reserved:#x}"
        );
    }
    assert_eq!(StMin::at_least(Duration::from_micros(250)).byte(), 0xF3);
    assert_eq!(StMin::at_least(Duration::from_micros(1500)).byte(), 2);
    assert_eq!(StMin::at_least(ms(500)).byte(), 0x7F);
    assert_eq!(StMin::at_least(Duration::ZERO).byte(), 0);
}

#[test]
fn pci_parsing_is_lenient_but_not_gullible() {
    assert_eq!(
        Pci::parse(&hex("02 41 0D FF 55 AA 00 12")),
        Some(Pci::Single {
            data: &[0x41, 0x0D]
        })
    );
    // DLC shorter than 8 from a sloppy ECU.
    assert_eq!(
        Pci::parse(&hex("03 41 0D 32")),
        Some(Pci::Single {
            data: &[0x41, 0x0D, 0x32]
        })
    );
    // A length beyond the frame is a truncated frame, not a message.
    assert_eq!(Pci::parse(&hex("05 41 0D")), None);
    assert_eq!(Pci::parse(&hex("00")), None);
    assert_eq!(Pci::parse(&[]), None);
    assert_eq!(Pci::parse(&hex("40 00 00")), None);
    assert_eq!(
        Pci::parse(&hex("10 14 49 02 01 31 44 34")),
        Some(Pci::First {
            len: 20,
            data: &hex("49 02 01 31 44 34")
        })
    );
    assert_eq!(
        Pci::parse(&hex("10 00 00 01 00 00 62 F1")),
        Some(Pci::First {
            len: 65536,
            data: &[0x62, 0xF1]
        })
    );
    assert_eq!(
        Pci::parse(&hex("30")),
        Some(Pci::FlowControl {
            status: FlowStatus::ContinueToSend,
            block_size: 0,
            st_min: StMin::ZERO
        })
    );
    assert_eq!(
        Pci::parse(&hex("35 02 0A")),
        Some(Pci::FlowControl {
            status: FlowStatus::Reserved(5),
            block_size: 2,
            st_min: StMin::from_byte(10)
        })
    );
}

#[test]
fn can_ids_print_as_on_the_bus() {
    assert_eq!(CanId::Standard(0x7E8).to_string(), "7E8");
    assert_eq!(CanId::Extended(0x18DAF110).to_string(), "18DAF110");
    assert_eq!(
        frame(ECU, "02 41 0D 32 CC CC CC CC").to_string(),
        "7E8 02 41 0D 32 CC CC CC CC"
    );
}

#[test]
fn obd_addressing_maps_answers_to_physical_request_ids() {
    assert_eq!(
        Addressing::Obd11.flow_control_id(CanId::Standard(0x7E8)),
        Some(CanId::Standard(0x7E0))
    );
    assert_eq!(
        Addressing::Obd11.flow_control_id(CanId::Standard(0x7EF)),
        Some(CanId::Standard(0x7E7))
    );
    assert_eq!(
        Addressing::Obd11.flow_control_id(CanId::Standard(0x7E7)),
        None
    );
    assert_eq!(
        Addressing::Obd11.flow_control_id(CanId::Extended(0x7E8)),
        None
    );
    assert_eq!(
        Addressing::Obd29.flow_control_id(CanId::Extended(0x18DAF110)),
        Some(CanId::Extended(0x18DA10F1))
    );
    assert_eq!(
        Addressing::Obd29.flow_control_id(CanId::Extended(0x18DAF210)),
        None
    );
    assert_eq!(
        Addressing::Obd29.flow_control_id(CanId::Standard(0x7E8)),
        None
    );
}
