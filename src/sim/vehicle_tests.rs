//! The vehicle model on its own: what each ECU answers, and what a clear does.

use std::time::Duration;

use crate::obd::dtc::{Dtc, DtcFraming, decode_dtc_list};
use crate::obd::protocol::Protocol;
use crate::transport::EcuAddress;

use super::Scenario;
use super::vehicle::SimVehicle;

const T: Duration = Duration::from_secs(30);

fn dtc(s: &str) -> Dtc {
    s.parse().unwrap()
}

fn only(v: &mut SimVehicle, request: &[u8], now: Duration) -> Vec<u8> {
    let mut answers = v.respond(request, now);
    assert_eq!(answers.len(), 1, "{request:02X?}: {answers:02X?}");
    answers.remove(0).1
}

fn engine(v: &mut SimVehicle, request: &[u8], now: Duration) -> Vec<u8> {
    let mut answers = v.respond_from(EcuAddress::Can11(0x7E8), request, now);
    assert_eq!(answers.len(), 1, "{request:02X?}: {answers:02X?}");
    answers.remove(0).1
}

#[test]
fn bitmaps_follow_what_each_ecu_serves() {
    let mut v = Scenario::MultiEcu.build();
    let answers = v.respond(&[0x01, 0x00], T);
    assert_eq!(answers.len(), 2);
    assert_eq!(
        answers[0],
        (
            EcuAddress::Can11(0x7E8),
            vec![0x41, 0x00, 0xBE, 0x3F, 0x80, 0x13]
        )
    );
    // Transmission: 01, 0D, 1C and nothing past 0x20, so no 20 bit.
    assert_eq!(
        answers[1],
        (
            EcuAddress::Can11(0x7E9),
            vec![0x41, 0x00, 0x80, 0x08, 0x00, 0x10]
        )
    );
    assert_eq!(
        v.respond(&[0x01, 0x20], T).len(),
        1,
        "only the engine announced 20"
    );
    assert!(
        v.respond(&[0x01, 0x60], T).is_empty(),
        "nobody serves past 0x5F"
    );
}

#[test]
fn multi_pid_answers_carry_only_supported_pids() {
    let mut v = Scenario::Healthy.build();
    let a = only(&mut v, &[0x01, 0x0C, 0x0D, 0x99, 0x05], T);
    assert_eq!(a[0], 0x41);
    assert_eq!((a[1], a[4], a[6], a.len()), (0x0C, 0x0D, 0x05, 8));
    assert!(
        v.respond(&[0x01, 1, 3, 4, 5, 6, 7, 0x0C], T).is_empty(),
        "seven PIDs"
    );
    assert!(v.respond(&[0x01], T).is_empty());
}

#[test]
fn live_values_decode_to_their_scenario() {
    let mut misfire = Scenario::Misfire.build();
    let rpms: Vec<f64> = (0..40)
        .map(|i| {
            let a = only(&mut misfire, &[0x01, 0x0C], Duration::from_millis(100 * i));
            f64::from(u16::from_be_bytes([a[2], a[3]])) / 4.0
        })
        .collect();
    let spread = rpms.iter().cloned().fold(f64::MIN, f64::max)
        - rpms.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread > 40.0 && rpms.iter().all(|r| (600.0..800.0).contains(r)),
        "{rpms:?}"
    );

    let mut hot = Scenario::Overheating.build();
    let coolant =
        |v: &mut SimVehicle, s| i32::from(only(v, &[0x01, 0x05], Duration::from_secs(s))[2]) - 40;
    assert!(coolant(&mut hot, 0) < 30);
    assert!((115..=119).contains(&coolant(&mut hot, 3600)));

    let mut hybrid = Scenario::HybridBattery.build();
    let answers = hybrid.respond(&[0x01, 0x5B], T);
    assert_eq!(answers.len(), 2, "engine and hybrid ECU both report 5B");
    assert_eq!(answers[1].0, EcuAddress::Can11(0x7EA));
    assert_eq!(answers[1].1, vec![0x41, 0x5B, 56], "22 % of 255");
    let codes = hybrid.respond(&[0x03], T);
    assert_eq!(codes[1].1, vec![0x43, 0x01, 0x0A, 0x80]);
}

#[test]
fn freeze_frame_names_its_code_and_keeps_its_moment() {
    let mut v = Scenario::Misfire.build();
    assert_eq!(
        only(&mut v, &[0x02, 0x02, 0x00], T),
        vec![0x42, 0x02, 0x00, 0x03, 0x00]
    );
    let early = only(&mut v, &[0x02, 0x05, 0x00], Duration::ZERO);
    let late = only(&mut v, &[0x02, 0x05, 0x00], Duration::from_secs(5000));
    assert_eq!(early, late, "stored values do not move with time");
    assert!(early[3] >= 120, "taken warm: {}", i32::from(early[3]) - 40);
    assert!(
        v.respond(&[0x02, 0x05, 0x01], T).is_empty(),
        "only frame 0 exists"
    );
    let two = only(&mut v, &[0x02, 0x0C, 0x00, 0x0D, 0x00], T);
    assert_eq!((two[1], two[2], two[5], two[6]), (0x0C, 0x00, 0x0D, 0x00));
}

#[test]
fn clear_keeps_permanent_codes_and_restarts_readiness() {
    let mut v = Scenario::MultiEcu.build();
    let pid01 = engine(&mut v, &[0x01, 0x01], T);
    assert_eq!(pid01[2], 0x80 | 4, "MIL and four stored codes");
    let km = |v: &mut SimVehicle, now| {
        let a = engine(v, &[0x01, 0x31], now);
        u16::from_be_bytes([a[2], a[3]])
    };
    assert!(km(&mut v, T) >= 1532);
    assert_eq!(v.respond(&[0x04], T).len(), 2, "both ECUs acknowledge");
    let after = engine(&mut v, &[0x01, 0x01], T);
    assert_eq!(after[2], 0, "MIL off, no codes");
    assert_eq!(after[5], after[4], "every supported monitor incomplete");
    for service in [0x03, 0x07] {
        assert!(v.respond(&[service], T).iter().all(|(_, m)| m[1] == 0));
    }
    assert_eq!(
        engine(&mut v, &[0x02, 0x02, 0x00], T),
        vec![0x42, 0x02, 0x00, 0x00, 0x00]
    );
    let perm = v.respond(&[0x0A], T);
    assert_eq!(
        decode_dtc_list(&perm[0].1[1..], DtcFraming::Counted).codes,
        vec![dtc("P0300")]
    );
    assert_eq!(km(&mut v, T), 0);
    assert!(
        km(&mut v, Duration::from_secs(400)) > 0,
        "counts again from the clear"
    );
    let minutes = engine(&mut v, &[0x01, 0x4E], T + Duration::from_secs(120));
    assert_eq!(minutes[2..], [0, 2]);
}

#[test]
fn can_lists_are_counted_and_legacy_lists_padded() {
    let mut can = Scenario::MultiEcu.build();
    let engine = &can.respond(&[0x03], T)[0].1;
    assert_eq!(engine[..2], [0x43, 4]);
    let pending = can.respond(&[0x07], T);
    assert_eq!(pending[0].1, vec![0x47, 0x01, 0x04, 0x20]);
    let mut legacy = Scenario::LegacyIso9141.build();
    assert_eq!(legacy.protocol, Protocol::Iso9141);
    let messages = legacy.respond(&[0x03], T);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].1, vec![0x43, 0x04, 0x20, 0, 0, 0, 0]);
    assert_eq!(messages[0].0, EcuAddress::Legacy(0x10));
    assert!(
        legacy.respond(&[0x03, 0x00], T).is_empty(),
        "malformed for the service"
    );
}

#[test]
fn unsupported_services_are_refused_and_abs_has_no_freeze_frames() {
    let mut v = Scenario::AbsFault.build();
    let answers = v.respond(&[0x06, 0x00], T);
    assert!(answers.iter().all(|(_, m)| m == &vec![0x7F, 0x06, 0x11]));
    let abs = EcuAddress::Can11(0x7EB);
    assert_eq!(
        v.respond_from(abs, &[0x02, 0x00, 0x00], T),
        vec![(abs, vec![0x7F, 0x02, 0x11])]
    );
    let codes = v.respond_from(abs, &[0x03], T);
    assert_eq!(codes[0].1, vec![0x43, 0x01, 0x40, 0x35], "C0035");
    assert!(v.respond(&[], T).is_empty());
}

#[test]
fn service_09_on_both_kinds_of_bus() {
    let mut v = Scenario::MultiEcu.build();
    let names = v.respond(&[0x09, 0x0A], T);
    assert_eq!(names.len(), 2);
    assert_eq!(&names[1].1[..3], &[0x49, 0x0A, 0x01]);
    assert_eq!(&names[1].1[3..22], b"TCM-TransmissionCtl");
    assert_eq!(names[1].1.len(), 23);
    assert_eq!(
        v.respond(&[0x09, 0x02], T).len(),
        1,
        "only the engine has a VIN"
    );
    let cvn = v.respond(&[0x09, 0x06], T);
    assert_eq!(cvn[0].1, vec![0x49, 0x06, 0x01, 0x1A, 0x2B, 0x3C, 0x4D]);
    let mut legacy = Scenario::LegacyKwp.build();
    assert_eq!(only(&mut legacy, &[0x09, 0x01], T), vec![0x49, 0x01, 0x05]);
    assert_eq!(
        legacy.respond(&[0x09, 0x04], T).len(),
        4,
        "16-byte CALID, 4 per message"
    );
    assert!(legacy.respond(&[0x09, 0x0A], T).is_empty());
}
