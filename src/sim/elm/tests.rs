//! Transcripts, byte for byte. Expected strings come from the ELM327 datasheet's examples
//! where it has one, otherwise from the rules quoted in `format.rs`.

use std::time::Duration;

use super::*;
use crate::sim::Scenario;

const T: Duration = Duration::from_secs(1);

fn emu(scenario: Scenario) -> Elm327Emulator {
    Elm327Emulator::new(scenario.build(), Profile::Genuine)
}

fn text(chunks: &[Chunk]) -> String {
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.clone()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn send(e: &mut Elm327Emulator, cmd: &str) -> String {
    text(&e.feed(format!("{cmd}\r").as_bytes(), T))
}

/// An emulator with echo off, as hosts run it.
fn quiet(scenario: Scenario) -> Elm327Emulator {
    let mut e = emu(scenario);
    assert_eq!(
        send(&mut e, "ATE0"),
        "ATE0\rOK\r\r>",
        "the command itself is still echoed"
    );
    e
}

fn quiet_on(scenario: Scenario, setup: &[&str]) -> Elm327Emulator {
    let mut e = quiet(scenario);
    for cmd in setup {
        assert_eq!(send(&mut e, cmd), "OK\r\r>", "{cmd}");
    }
    e
}

#[test]
fn reset_prints_the_banner_and_restores_defaults() {
    let mut e = quiet_on(Scenario::Healthy, &["ATH1", "ATS0", "ATSP6"]);
    assert_eq!(send(&mut e, "ATL1"), "OK\r\n\r\n>");
    assert_eq!(send(&mut e, "ATZ"), "\r\rELM327 v2.1\r\r>");
    assert_eq!(
        send(&mut e, "ATI"),
        "ATI\rELM327 v2.1\r\r>",
        "echo back on, L0"
    );
    assert_eq!(send(&mut e, "ATE0"), "ATE0\rOK\r\r>");
    assert_eq!(
        send(&mut e, "0100"),
        "41 00 BE 3F 80 13 \r\r>",
        "H0 S1, SP6 kept"
    );
    assert_eq!(send(&mut e, "ATDPN"), "6\r\r>");
    assert_eq!(send(&mut e, "ATD"), "OK\r\r>");
    assert_eq!(send(&mut e, "ATWS"), "ATWS\r\r\rELM327 v2.1\r\r>");
}

#[test]
fn the_input_rules_of_the_datasheet() {
    let mut e = quiet(Scenario::Healthy);
    assert_eq!(send(&mut e, "  a     T i"), "ELM327 v2.1\r\r>");
    assert_eq!(
        send(&mut e, ""),
        "ELM327 v2.1\r\r>",
        "an empty line repeats"
    );
    assert_eq!(
        text(&e.feed(b"A\0T\tI\n\r", T)),
        "ELM327 v2.1\r\r>",
        "control chars ignored"
    );
    assert_eq!(send(&mut e, "AT@1"), "OBDII to RS232 Interpreter\r\r>");
    for bad in [
        "ATCATHAT",
        "01 00 00 00 00 00 00 00",
        "01 GZ",
        "ATSPD",
        "ATE2",
        "ATST",
        "0",
    ] {
        assert_eq!(send(&mut e, bad), "?\r\r>", "{bad}");
    }
    assert_eq!(
        text(&e.feed(b"\xff\xfeAT\xc3I\r", T)),
        "?\r\r>",
        "not UTF-8"
    );
    let long = "0".repeat(MAX_LINE + 1);
    assert_eq!(
        send(&mut e, &long),
        "?\r\r>",
        "longer than the input buffer"
    );
    assert_eq!(send(&mut e, "ATI"), "ELM327 v2.1\r\r>", "and it recovers");
    let mut fresh = emu(Scenario::Healthy);
    assert_eq!(send(&mut fresh, ""), "\r>", "nothing to repeat yet");
}

#[test]
fn protocol_setting_and_description() {
    let mut e = quiet(Scenario::Healthy);
    let ask = |e: &mut Elm327Emulator| (send(e, "ATDP"), send(e, "ATDPN"));
    assert_eq!(ask(&mut e), ("AUTO\r\r>".into(), "A0\r\r>".into()));
    assert_eq!(send(&mut e, "ATSP6"), "OK\r\r>");
    assert_eq!(
        ask(&mut e),
        ("ISO 15765-4 (CAN 11/500)\r\r>".into(), "6\r\r>".into())
    );
    assert_eq!(send(&mut e, "ATSPA6"), "OK\r\r>");
    let auto6 = (
        "AUTO, ISO 15765-4 (CAN 11/500)\r\r>".into(),
        "A6\r\r>".into(),
    );
    assert_eq!(ask(&mut e), auto6);
    assert_eq!(send(&mut e, "ATSP0"), "OK\r\r>");
    assert_eq!(
        send(&mut e, "0100"),
        "SEARCHING...\r41 00 BE 3F 80 13 \r\r>"
    );
    assert_eq!(
        send(&mut e, "0100"),
        "41 00 BE 3F 80 13 \r\r>",
        "searches once"
    );
    assert_eq!(ask(&mut e), auto6);
    assert_eq!(send(&mut e, "ATTP7"), "OK\r\r>");
    assert_eq!(
        send(&mut e, "0100"),
        "NO DATA\r\r>",
        "29-bit on an 11-bit car"
    );
    assert_eq!(send(&mut e, "ATSP8"), "OK\r\r>");
    assert_eq!(
        send(&mut e, "0100"),
        "CAN ERROR\r\r>",
        "250 kbit/s on a 500 kbit/s bus"
    );
}

#[test]
fn without_a_car_nothing_connects() {
    let mut e = quiet(Scenario::Healthy);
    e.set_vehicle_connected(false);
    assert_eq!(send(&mut e, "0100"), "SEARCHING...\rUNABLE TO CONNECT\r\r>");
    for (sp, answer) in [
        ("ATSP1", "NO DATA"),
        ("ATSP3", "BUS INIT: ...ERROR"),
        ("ATSP4", "BUS INIT: ...ERROR"),
        ("ATSP5", "BUS INIT: ERROR"),
        ("ATSP6", "CAN ERROR"),
    ] {
        assert_eq!(send(&mut e, sp), "OK\r\r>");
        assert_eq!(send(&mut e, "0100"), format!("{answer}\r\r>"), "{sp}");
    }
}

#[test]
fn the_datasheet_vin_in_every_format() {
    let mut e = quiet_on(Scenario::Healthy, &["ATSP6"]);
    assert_eq!(
        send(&mut e, "0902"),
        "014 \r0: 49 02 01 31 44 34 \r1: 47 50 30 30 52 35 35 \r2: 42 31 32 33 34 35 36 \r\r>"
    );
    send(&mut e, "ATS0");
    assert_eq!(
        send(&mut e, "0902"),
        "014\r0:490201314434\r1:47503030523535\r2:42313233343536\r\r>"
    );
    send(&mut e, "ATH1");
    assert_eq!(
        send(&mut e, "0902"),
        "7E81014490201314434\r7E82147503030523535\r7E82242313233343536\r\r>"
    );
    send(&mut e, "ATS1");
    assert_eq!(
        send(&mut e, "0902"),
        "7E8 10 14 49 02 01 31 44 34 \r7E8 21 47 50 30 30 52 35 35 \r7E8 22 42 31 32 33 34 35 36 \r\r>"
    );
}

#[test]
fn single_frames_with_headers_show_pci_and_padding() {
    let mut e = quiet_on(Scenario::Healthy, &["ATSP6", "ATH1"]);
    assert_eq!(send(&mut e, "0900"), "7E8 06 49 00 54 40 00 00 00 \r\r>");
    send(&mut e, "ATS0");
    assert_eq!(send(&mut e, "0900"), "7E80649005440000000\r\r>");
    send(&mut e, "ATH0");
    assert_eq!(send(&mut e, "0900"), "490054400000\r\r>");
    send(&mut e, "ATCAF0");
    assert_eq!(
        send(&mut e, "020900"),
        "0649005440000000\r\r>",
        "raw frame, own PCI"
    );
    assert_eq!(
        send(&mut e, "0900"),
        "NO DATA\r\r>",
        "PCI 09 is no single frame"
    );
}

#[test]
fn twenty_nine_bit_ids() {
    let mut e = quiet_on(Scenario::Can29, &["ATH1"]);
    assert_eq!(
        send(&mut e, "0100"),
        "SEARCHING...\r18 DA F1 10 06 41 00 BE 3F 80 13 00 \r\r>"
    );
    assert_eq!(send(&mut e, "ATDPN"), "A7\r\r>");
    assert_eq!(send(&mut e, "ATSH DA10F1"), "OK\r\r>");
    assert!(
        send(&mut e, "0100").starts_with("18 DA F1 10 06"),
        "physical 18DA10F1"
    );
    assert_eq!(send(&mut e, "ATSH DA20F1"), "OK\r\r>");
    assert_eq!(send(&mut e, "0100"), "NO DATA\r\r>");
}

#[test]
fn pids_services_and_multi_pid() {
    let mut e = quiet_on(Scenario::Healthy, &["ATSP6"]);
    let answer = send(&mut e, "01 0C 0D 99");
    let bytes: Vec<&str> = answer
        .trim_end_matches("\r\r>")
        .split_whitespace()
        .collect();
    assert_eq!(bytes.len(), 6, "{answer}");
    assert_eq!(
        (bytes[0], bytes[1], bytes[4]),
        ("41", "0C", "0D"),
        "unsupported 99 left out"
    );
    assert_eq!(
        send(&mut e, "0199"),
        "NO DATA\r\r>",
        "unsupported PID: silence"
    );
    assert_eq!(
        send(&mut e, "0600"),
        "7F 06 11 \r\r>",
        "unsupported service"
    );
    assert_eq!(
        send(&mut e, "0120"),
        "41 20 80 03 A0 01 \r\r>",
        "21 2F 30 31 33 and 40"
    );
}

#[test]
fn several_ecus_and_the_response_count_hint() {
    let mut e = quiet_on(Scenario::MultiEcu, &["ATSP6", "ATH1"]);
    let both = "7E8 10 0A 43 04 01 71 01 74 \r7E8 21 03 00 03 02 00 00 00 \r\
                7E9 04 43 01 07 15 00 00 00 \r\r>";
    assert_eq!(send(&mut e, "03"), both);
    assert_eq!(
        send(&mut e, "031"),
        "7E8 10 0A 43 04 01 71 01 74 \r7E8 21 03 00 03 02 00 00 00 \r\r>",
        "one message, however many frames"
    );
    send(&mut e, "ATH0");
    assert_eq!(
        send(&mut e, "03"),
        "00A \r0: 43 04 01 71 01 74 \r1: 03 00 03 02 \r43 01 07 15 \r\r>"
    );
    send(&mut e, "ATSH7E1");
    assert_eq!(send(&mut e, "07"), "47 00 \r\r>", "only the transmission");
    send(&mut e, "ATSH7E5");
    assert_eq!(send(&mut e, "07"), "NO DATA\r\r>");
    send(&mut e, "ATSH7DF");
    assert_eq!(send(&mut e, "07"), "47 01 04 20 \r47 00 \r\r>");
    assert_eq!(send(&mut e, "ATCRA 7E9"), "OK\r\r>");
    assert_eq!(send(&mut e, "07"), "47 00 \r\r>", "receive filter");
    assert_eq!(send(&mut e, "ATCRA7EX"), "OK\r\r>");
    assert_eq!(send(&mut e, "07"), "47 01 04 20 \r47 00 \r\r>");
    assert_eq!(send(&mut e, "ATCRA7G8"), "?\r\r>");
    assert_eq!(send(&mut e, "ATCRA"), "OK\r\r>");
    assert_eq!(send(&mut e, "ATSH 00 07 E1"), "OK\r\r>");
    assert_eq!(
        send(&mut e, "07"),
        "47 00 \r\r>",
        "three bytes, rightmost 11 bits"
    );
}

#[test]
fn flow_control_off_leaves_only_the_first_frame() {
    let mut e = quiet_on(Scenario::Healthy, &["ATSP6", "ATCFC0"]);
    assert_eq!(send(&mut e, "0902"), "014 \r0: 49 02 01 31 44 34 \r\r>");
    let mut clone = Elm327Emulator::new(Scenario::Healthy.build(), Profile::CloneV15);
    assert_eq!(send(&mut clone, "ATI"), "ATI\rELM327 v1.5\r\r>");
    for cmd in ["ATCFC0", "ATAT2", "ATIGN", "ATSH18DB33F1"] {
        assert_eq!(send(&mut clone, cmd), format!("{cmd}\r?\r\r>"), "{cmd}");
        assert_ne!(send(&mut e, cmd), "?\r\r>", "genuine knows {cmd}");
    }
    assert_eq!(send(&mut clone, "ATAT1"), "ATAT1\rOK\r\r>");
}

#[test]
fn legacy_headers_and_checksums() {
    let mut e = quiet_on(Scenario::LegacyIso9141, &["ATSP3", "ATH1"]);
    // 48+6B+10+43+01+33+01+35+01+41 = 1B2 -> B2; 48+6B+10+43+04+20 = 12A -> 2A.
    assert_eq!(
        send(&mut e, "03"),
        "BUS INIT: ...OK\r48 6B 10 43 01 33 01 35 01 41 B2 \r48 6B 10 43 04 20 00 00 00 00 2A \r\r>"
    );
    assert_eq!(send(&mut e, "0902").lines().count(), 1, "no second init");
    send(&mut e, "ATH0");
    assert_eq!(
        send(&mut e, "03"),
        "43 01 33 01 35 01 41 \r43 04 20 00 00 00 00 \r\r>"
    );
    assert_eq!(
        send(&mut e, "010C0D"),
        "NO DATA\r\r>",
        "one PID per request here"
    );
    assert_eq!(send(&mut e, "ATPC"), "OK\r\r>");
    assert!(send(&mut e, "0100").starts_with("BUS INIT: ...OK\r41 00 "));

    let mut kwp = quiet_on(Scenario::LegacyKwp, &["ATSP5", "ATH1"]);
    // 86+F1+10+41+00+BE+3F+80+13 = 358 -> 58.
    assert_eq!(
        send(&mut kwp, "0100"),
        "BUS INIT: OK\r86 F1 10 41 00 BE 3F 80 13 58 \r\r>"
    );
    let mut auto = quiet(Scenario::LegacyIso9141);
    assert!(send(&mut auto, "0100").starts_with("SEARCHING...\r41 00 "));
    assert_eq!(send(&mut auto, "ATDPN"), "A3\r\r>");
}

#[test]
fn legacy_vin_comes_in_five_numbered_messages() {
    let mut e = quiet_on(Scenario::LegacyJ1850, &["ATSP2"]);
    assert_eq!(
        send(&mut e, "0902"),
        "49 02 01 00 00 00 31 \r49 02 02 44 34 47 50 \r49 02 03 30 30 52 35 \r\
         49 02 04 35 42 31 32 \r49 02 05 33 34 35 36 \r\r>",
        "the datasheet's J1850 example"
    );
    send(&mut e, "ATH1");
    let line = send(&mut e, "0902");
    let first: Vec<u8> = line
        .split('\r')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    assert_eq!(first[..3], [0x48, 0x6B, 0x10]);
    assert_eq!(crc_j1850(&first[..first.len() - 1]), first[first.len() - 1]);
}

#[test]
fn clearing_codes_through_the_adapter() {
    let mut e = quiet_on(Scenario::MultiEcu, &["ATSP6"]);
    assert_eq!(send(&mut e, "04"), "44 \r44 \r\r>");
    assert_eq!(send(&mut e, "03"), "43 00 \r43 00 \r\r>");
    assert_eq!(
        send(&mut e, "0A"),
        "4A 01 03 00 \r4A 00 \r\r>",
        "permanent codes stay"
    );
}

#[test]
fn monitor_stops_on_any_character() {
    let mut e = quiet(Scenario::Healthy);
    assert_eq!(send(&mut e, "ATMA"), "");
    assert_eq!(text(&e.feed(b"x", T)), "STOPPED\r\r>");
    let rv = send(&mut e, "ATRV");
    let volts: f32 = rv.trim_end_matches("V\r\r>").parse().unwrap_or(0.0);
    assert!((13.5..14.5).contains(&volts), "{rv}");
    e.vehicle_mut().set_engine_running(false);
    assert_eq!(send(&mut e, "ATRV"), "12.4V\r\r>");
}
