use super::*;
use crate::uplink::command::parse_command;

/// The worked example of docs/remote.md; the signatures were computed independently
/// (Python's hmac module), so these are test vectors, not round trips.
const KEY: &[u8] = b"obd-agent example key 0123456789";
const CLEAR_CANONICAL: &str =
    "obd-agent-cmd-v1\nVAN-042\ndesk7-000125\n2026-11-23T11:10:00.000Z\nclear\n{\"confirm\":true}";
const CLEAR_SIGNATURE: &str = "8c5b98d1de8f4078e7e813add10b10601add30acf9f1a72e474aa16387dbfde7";
const LIVE_SIGNATURE: &str = "2ab63119fa1b5a4522b68294ae12294014a1d17e9fa65a8e6f67e8f3d5ad06d8";

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).expect("test time")
}

fn remote(key: bool, require: bool, allow_clear: bool) -> RemoteConfig {
    RemoteConfig {
        allow_clear,
        command_key: key.then(|| KEY.to_vec()),
        require_signature: require,
        max_command_age: Duration::from_secs(60),
    }
}

/// Parses a payload the way the uplink does and runs it through `admission` at `now`.
fn offer(admission: &mut Admission, payload: &str, now: &str) -> Result<(), Refusal> {
    let parsed = parse_command(payload.as_bytes(), 4096).expect("valid command");
    admission.check(
        &Candidate {
            request_id: &parsed.request_id,
            command: &parsed.command,
            authentication: &parsed.authentication,
        },
        at(now),
    )
}

fn signed(request_id: &str, issued_at: &str, command: &str, args: &str) -> String {
    let parsed = parse_command(
        format!(r#"{{"schema":1,"request_id":"{request_id}","command":"{command}"{args}}}"#)
            .as_bytes(),
        4096,
    )
    .expect("valid command");
    let canonical = canonical_string("VAN-042", request_id, issued_at, &parsed.command);
    format!(
        r#"{{"schema":1,"request_id":"{request_id}","command":"{command}"{args},"issued_at":"{issued_at}","signature":"{}"}}"#,
        sign(KEY, &canonical)
    )
}

#[test]
fn documented_vectors() {
    let canonical = canonical_string(
        "VAN-042",
        "desk7-000125",
        "2026-11-23T11:10:00.000Z",
        &Command::Clear,
    );
    assert_eq!(canonical, CLEAR_CANONICAL);
    assert_eq!(sign(KEY, &canonical), CLEAR_SIGNATURE);
    let live = Command::Live {
        pids: vec![0x0C, 0x0D, 0x05],
    };
    let canonical = canonical_string("VAN-042", "desk7-000123", "2026-11-23T11:10:00.000Z", &live);
    assert!(canonical.ends_with("live\n{\"pids\":[\"0C\",\"0D\",\"05\"]}"));
    assert_eq!(sign(KEY, &canonical), LIVE_SIGNATURE);
    let key = hmac::Key::new(hmac::HMAC_SHA256, KEY);
    assert!(verify(&key, CLEAR_CANONICAL, CLEAR_SIGNATURE));
    assert!(verify(
        &key,
        CLEAR_CANONICAL,
        &CLEAR_SIGNATURE.to_uppercase()
    ));
    for bad in [
        "",
        "8c",
        &CLEAR_SIGNATURE[1..],
        "zz",
        &CLEAR_SIGNATURE.replace('8', "9"),
    ] {
        assert!(!verify(&key, CLEAR_CANONICAL, bad), "{bad:?}");
    }
}

#[test]
fn arguments_are_canonical_whatever_the_spelling() {
    let a = parse_command(
        br#"{"schema":1,"request_id":"a","command":"live","pids":["0c",13]}"#,
        4096,
    )
    .expect("valid");
    assert_eq!(canonical_arguments(&a.command), r#"{"pids":["0C","0D"]}"#);
    assert_eq!(canonical_arguments(&Command::Scan), "{}");
    assert_eq!(
        canonical_arguments(&Command::Freeze { frame: 0 }),
        r#"{"frame":0}"#
    );
}

#[test]
fn the_documented_clear_is_admitted_once() {
    let mut admission = Admission::new("VAN-042", &remote(true, true, true));
    let payload = format!(
        r#"{{"schema":1,"request_id":"desk7-000125","command":"clear","confirm":true,"issued_at":"2026-11-23T11:10:00.000Z","signature":"{CLEAR_SIGNATURE}"}}"#
    );
    assert_eq!(
        offer(&mut admission, &payload, "2026-11-23T11:10:02Z"),
        Ok(())
    );
    let again = offer(&mut admission, &payload, "2026-11-23T11:10:03Z");
    assert_eq!(again.map_err(|r| r.reason()), Err("replayed"));
}

#[test]
fn anything_an_attacker_changes_breaks_the_signature() {
    let good = signed(
        "r1",
        "2026-11-23T11:10:00.000Z",
        "live",
        r#","pids":["0C"]"#,
    );
    let now = "2026-11-23T11:10:01Z";
    let tampered = [
        good.replace(r#""0C""#, r#""0D""#),
        good.replace("\"r1\"", "\"r2\""),
        good.replace("11:10:00.000Z", "11:10:00Z"),
        good.replace("\"live\"", "\"freeze\"")
            .replace(r#","pids":["0C"]"#, ""),
    ];
    for payload in &tampered {
        let mut admission = Admission::new("VAN-042", &remote(true, true, false));
        let refusal = offer(&mut admission, payload, now).expect_err(payload);
        assert_eq!(refusal.reason(), "bad_signature", "{payload}");
    }
    // Signed for VAN-042, replayed to another vehicle sharing the key.
    let mut other = Admission::new("VAN-043", &remote(true, true, false));
    assert_eq!(
        offer(&mut other, &good, now).map_err(|r| r.reason()),
        Err("bad_signature")
    );
    let mut admission = Admission::new("VAN-042", &remote(true, true, false));
    assert_eq!(offer(&mut admission, &good, now), Ok(()));
}

#[test]
fn signatures_required() {
    let mut admission = Admission::new("VAN-042", &remote(true, true, true));
    let unsigned =
        r#"{"schema":1,"request_id":"u","command":"vin","issued_at":"2026-11-23T11:10:00Z"}"#;
    let refusal = offer(&mut admission, unsigned, "2026-11-23T11:10:00Z").expect_err("unsigned");
    assert_eq!(refusal.reason(), "unsigned");
    assert!(
        refusal.to_string().starts_with("refused (unsigned):"),
        "{refusal}"
    );
    let no_time = r#"{"schema":1,"request_id":"u","command":"vin","signature":"00"}"#;
    let refusal = offer(&mut admission, no_time, "2026-11-23T11:10:00Z").expect_err("no time");
    assert_eq!(refusal.reason(), "missing_issued_at");
}

#[test]
fn freshness_window_and_skew() {
    let payload = |id: &str| signed(id, "2026-11-23T11:10:00.000Z", "vin", "");
    let cases = [
        ("2026-11-23T11:11:00Z", Ok(())),            // exactly max age
        ("2026-11-23T11:11:00.001Z", Err("stale")),  // just past it
        ("2026-11-23T11:09:30Z", Ok(())),            // 30 s ahead: the allowed skew
        ("2026-11-23T11:09:29.999Z", Err("future")), // beyond it
    ];
    for (i, (now, expected)) in cases.into_iter().enumerate() {
        let mut admission = Admission::new("VAN-042", &remote(true, true, false));
        let got = offer(&mut admission, &payload(&format!("f{i}")), now).map_err(|r| r.reason());
        assert_eq!(got, expected, "now {now}");
    }
    let mut admission = Admission::new("VAN-042", &remote(true, true, false));
    let stale = offer(&mut admission, &payload("s"), "2026-11-23T12:10:00Z").expect_err("stale");
    let text = stale.to_string();
    assert!(
        text.contains("2026-11-23T11:10:00.000Z") && text.contains("1h"),
        "{text}"
    );
}

#[test]
fn unsigned_setup_read_only_commands_pass_and_clear_needs_time_and_permission() {
    let mut admission = Admission::new("VAN-042", &remote(false, false, false));
    let now = "2026-11-23T11:10:00Z";
    assert_eq!(
        offer(
            &mut admission,
            r#"{"schema":1,"request_id":"a","command":"scan"}"#,
            now
        ),
        Ok(())
    );
    let clear = r#"{"schema":1,"request_id":"c","command":"clear","confirm":true}"#;
    let refusal = offer(&mut admission, clear, now).expect_err("no time");
    assert_eq!(refusal.reason(), "missing_issued_at");
    let timed = r#"{"schema":1,"request_id":"c2","command":"clear","confirm":true,"issued_at":"2026-11-23T11:09:59Z"}"#;
    assert_eq!(
        offer(&mut admission, timed, now).map_err(|r| r.reason()),
        Err("clear_disabled")
    );
    let mut allowed = Admission::new("VAN-042", &remote(false, false, true));
    assert_eq!(offer(&mut allowed, timed, now), Ok(()));
    // A stale unsigned clear is refused even where signatures are not required.
    let mut allowed = Admission::new("VAN-042", &remote(false, false, true));
    let late = offer(&mut allowed, timed, "2026-11-23T11:20:00Z").map_err(|r| r.reason());
    assert_eq!(late, Err("stale"));
}

#[test]
fn a_wrong_signature_is_refused_even_when_not_required() {
    let mut admission = Admission::new("VAN-042", &remote(true, false, false));
    let payload = signed("w", "2026-11-23T11:10:00.000Z", "vin", "").replace("\"w\"", "\"x\"");
    let refusal = offer(&mut admission, &payload, "2026-11-23T11:10:00Z").expect_err("forged");
    assert_eq!(refusal.reason(), "bad_signature");
}

#[test]
fn forged_commands_do_not_burn_request_ids() {
    let mut admission = Admission::new("VAN-042", &remote(true, true, false));
    let good = signed("id-1", "2026-11-23T11:10:00.000Z", "vin", "");
    let forged = good.replace(&good[good.len() - 66..good.len() - 2], &"0".repeat(64));
    let now = "2026-11-23T11:10:00Z";
    assert_eq!(
        offer(&mut admission, &forged, now).map_err(|r| r.reason()),
        Err("bad_signature")
    );
    assert_eq!(offer(&mut admission, &good, now), Ok(()));
}

#[test]
fn replay_memory_is_bounded_and_never_accepts_a_replay() {
    let mut admission = Admission::new("VAN-042", &remote(false, false, false));
    let base = at("2026-11-23T11:10:00Z");
    let now = humantime::format_rfc3339_millis(base + Duration::from_secs(1)).to_string();
    let command = |i: usize| {
        let t = humantime::format_rfc3339_millis(base + Duration::from_millis(i as u64));
        format!(r#"{{"schema":1,"request_id":"r{i}","command":"vin","issued_at":"{t}"}}"#)
    };
    for i in 0..=REPLAY_CAPACITY {
        assert_eq!(offer(&mut admission, &command(i), &now), Ok(()), "r{i}");
    }
    assert!(admission.seen.len() <= REPLAY_CAPACITY);
    // r0 was forgotten to make room, but the floor still refuses it; a recent one is known.
    for i in [0, REPLAY_CAPACITY] {
        let again = offer(&mut admission, &command(i), &now).map_err(|r| r.reason());
        assert_eq!(again, Err("replayed"), "r{i}");
    }
    // Once stale, ids are dropped: memory does not grow with time.
    let later = humantime::format_rfc3339_millis(base + Duration::from_secs(120)).to_string();
    let fresh = r#"{"schema":1,"request_id":"late","command":"vin"}"#;
    assert_eq!(offer(&mut admission, fresh, &later), Ok(()));
    assert_eq!(admission.seen.len(), 1);
}

#[test]
fn maintenance_commands_sign_their_item_by_id() {
    let done = Command::ServiceDone {
        item: "engine_oil".into(),
        odometer_km: Some(52_000),
    };
    assert_eq!(
        canonical_arguments(&done),
        "{\"item\":\"engine_oil\",\"odometer_km\":52000}"
    );
    let bare = Command::ServiceDone {
        item: "battery".into(),
        odometer_km: None,
    };
    assert_eq!(canonical_arguments(&bare), "{\"item\":\"battery\"}");
    assert_eq!(canonical_arguments(&Command::Appointment), "{}");
}
