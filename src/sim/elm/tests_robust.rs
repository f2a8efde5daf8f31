//! Flag combinations, fault injection, the timing model, and arbitrary input.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::sim::Scenario;

const T: Duration = Duration::from_secs(1);

fn text(chunks: &[Chunk]) -> String {
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.clone()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn send(e: &mut Elm327Emulator, cmd: &str) -> String {
    text(&e.feed(format!("{cmd}\r").as_bytes(), T))
}

fn quiet_on(scenario: Scenario, setup: &[&str]) -> Elm327Emulator {
    let mut e = Elm327Emulator::new(scenario.build(), Profile::Genuine);
    send(&mut e, "ATE0");
    for cmd in setup {
        assert_eq!(send(&mut e, cmd), "OK\r\r>", "{cmd}");
    }
    e
}

#[test]
fn injected_faults() {
    let faults = Faults {
        garbage_every: Some(3),
        garbage: b"\x00\xffAT+".to_vec(),
        reset_at_request: Some(2),
        drop_every: Some(4),
    };
    let mut e = quiet_on(Scenario::Healthy, &["ATSP6"]).with_faults(faults);
    assert_eq!(send(&mut e, "0900"), "49 00 54 40 00 00 \r\r>");
    assert_eq!(send(&mut e, "0900"), "\r\rELM327 v2.1\r\r>", "brown-out");
    assert_eq!(
        send(&mut e, "0900"),
        "0900\r\u{0}\u{FFFD}AT+49 00 54 40 00 00 \r\r>"
    );
    assert_eq!(send(&mut e, "0900"), "0900\r", "dropped: not even a prompt");
}

fn total(chunks: &[Chunk]) -> Duration {
    chunks.iter().map(|c| c.delay).sum()
}

#[test]
fn the_timing_model() {
    let mut e = Elm327Emulator::new(Scenario::Healthy.build(), Profile::Genuine)
        .with_latency(SimLatency::realistic(), Some(38400));
    e.feed(b"ATE0\rATSP6\r", T);
    let hinted = total(&e.feed(b"010C1\r", T));
    let plain = total(&e.feed(b"010C\r", T));
    // 12 ms ECU, ~4 ms of serial text at 38400 baud; adaptive timing adds 24 ms.
    assert!(
        hinted >= Duration::from_millis(14) && hinted < Duration::from_millis(20),
        "{hinted:?}"
    );
    assert!(plain >= hinted + Duration::from_millis(24), "{plain:?}");
    let none = total(&e.feed(b"0199\r", T));
    assert!(
        none >= Duration::from_millis(200),
        "NO DATA after the full timeout: {none:?}"
    );
    e.feed(b"ATST19\rATAT0\r", T);
    let st = total(&e.feed(b"010C\r", T));
    assert!(
        st >= Duration::from_millis(112) && st < Duration::from_millis(120),
        "{st:?}"
    );
    let reset = total(&e.feed(b"ATZ\r", T));
    assert!(reset >= SimLatency::realistic().reset);
}

proptest! {
    /// Whatever arrives, the emulator answers every line with a prompt and never panics.
    #[test]
    fn any_bytes_get_an_answer(lines in proptest::collection::vec(
        proptest::collection::vec(any::<u8>().prop_filter("no CR", |b| *b != b'\r'), 0..200),
        1..6,
    )) {
        let mut e = Elm327Emulator::new(Scenario::MultiEcu.build(), Profile::Genuine);
        for line in lines {
            let mut input = line.clone();
            input.push(b'\r');
            let out = text(&e.feed(&input, T));
            if !out.is_empty() {
                prop_assert!(out.ends_with('>') || out.ends_with("STOPPED\r\r>") || out.ends_with('\r'), "{out:?}");
            }
            // Leave a monitor so the next line is a command again.
            e.feed(b"x", T);
        }
    }

    #[test]
    fn any_command_text_is_handled(cmd in "[ -~]{0,40}") {
        let mut e = Elm327Emulator::new(Scenario::LegacyKwp.build(), Profile::CloneV15);
        let out = send(&mut e, &cmd);
        e.feed(b"x", T);
        prop_assert!(out.is_empty() || out.ends_with('>') || out.ends_with('\r') , "{cmd:?}: {out:?}");
    }
}

#[test]
fn non_ascii_after_at_is_a_question_mark() {
    let mut e = quiet_on(Scenario::Healthy, &[]);
    assert_eq!(text(&e.feed(b"AT\xff\xfe\r", T)), "?\r\r>");
    assert_eq!(text(&e.feed(b"at\xc3\xa9\r", T)), "?\r\r>");
}

#[test]
fn every_flag_combination_on_one_frame() {
    let cases = [
        // (H, S, CAF, L, expected answer line)
        (0, 1, 1, 0, "49 00 54 40 00 00 "),
        (0, 0, 1, 0, "490054400000"),
        (1, 1, 1, 0, "7E8 06 49 00 54 40 00 00 00 "),
        (1, 0, 1, 0, "7E80649005440000000"),
        (1, 1, 0, 0, "7E8 06 49 00 54 40 00 00 00 "),
        (1, 0, 0, 0, "7E80649005440000000"),
        (0, 1, 0, 0, "06 49 00 54 40 00 00 00 "),
        (0, 0, 0, 0, "0649005440000000"),
        (0, 1, 1, 1, "49 00 54 40 00 00 "),
        (1, 0, 1, 1, "7E80649005440000000"),
    ];
    for (h, s, caf, l, expected) in cases {
        let setup = [format!("ATH{h}"), format!("ATS{s}"), format!("ATCAF{caf}")];
        let mut e = quiet_on(Scenario::Healthy, &["ATSP6"]);
        for cmd in &setup {
            assert_eq!(send(&mut e, cmd), "OK\r\r>");
        }
        let le = if l == 1 { "\r\n" } else { "\r" };
        assert_eq!(send(&mut e, &format!("ATL{l}")), format!("OK{le}{le}>"));
        let request = if caf == 1 { "0900" } else { "020900" };
        assert_eq!(
            send(&mut e, request),
            format!("{expected}{le}{le}>"),
            "H{h} S{s} CAF{caf} L{l}"
        );
    }
}
