use super::*;

fn parse(json: &str) -> Result<ParsedCommand, CommandError> {
    parse_command(json.as_bytes(), 4096)
}

fn code_of(json: &str) -> ReplyErrorCode {
    parse(json).unwrap_err().code
}

#[test]
fn every_command_parses() {
    let cases = [
        (
            r#"{"schema":1,"request_id":"r1","command":"scan"}"#,
            Command::Scan,
        ),
        (
            r#"{"schema":1,"request_id":"r1","command":"vin"}"#,
            Command::Vin,
        ),
        (
            r#"{"schema":1,"request_id":"r1","command":"live","pids":["0C","0d",5]}"#,
            Command::Live {
                pids: vec![0x0C, 0x0D, 5],
            },
        ),
        (
            r#"{"schema":1,"request_id":"r1","command":"freeze"}"#,
            Command::Freeze { frame: 0 },
        ),
        (
            r#"{"schema":1,"request_id":"r1","command":"freeze","frame":2}"#,
            Command::Freeze { frame: 2 },
        ),
        (
            r#"{"schema":1,"request_id":"r1","command":"clear","confirm":true}"#,
            Command::Clear,
        ),
    ];
    for (json, command) in cases {
        let parsed = parse(json).unwrap();
        assert_eq!(parsed.request_id, "r1");
        assert_eq!(parsed.command, command, "{json}");
    }
}

#[test]
fn errors_carry_what_could_be_read() {
    let err = parse(r#"{"schema":1,"request_id":"r9","command":"reboot"}"#).unwrap_err();
    assert_eq!(err.code, ReplyErrorCode::UnknownCommand);
    assert_eq!(err.request_id.as_deref(), Some("r9"));
    assert_eq!(err.command.as_deref(), Some("reboot"));
    assert!(err.message.contains("scan, live"), "{}", err.message);
}

#[test]
fn malformed_and_oversized_payloads_are_refused() {
    assert_eq!(code_of("{not json"), ReplyErrorCode::Malformed);
    assert_eq!(code_of("[1,2]"), ReplyErrorCode::Malformed);
    assert_eq!(
        code_of(r#"{"schema":1,"command":"scan"}"#),
        ReplyErrorCode::Malformed
    );
    assert_eq!(
        code_of(r#"{"schema":1,"request_id":"a/b","command":"scan"}"#),
        ReplyErrorCode::Malformed
    );
    assert_eq!(
        code_of(r#"{"schema":1,"request_id":"r","command":7}"#),
        ReplyErrorCode::Malformed
    );
    assert_eq!(
        code_of(r#"{"schema":2,"request_id":"r","command":"scan"}"#),
        ReplyErrorCode::UnsupportedSchema
    );
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(5000));
    assert_eq!(code_of(&big), ReplyErrorCode::PayloadTooLarge);
}

#[test]
fn arguments_are_checked_strictly() {
    for json in [
        r#"{"schema":1,"request_id":"r","command":"scan","extra":1}"#,
        r#"{"schema":1,"request_id":"r","command":"live"}"#,
        r#"{"schema":1,"request_id":"r","command":"live","pids":[]}"#,
        r#"{"schema":1,"request_id":"r","command":"live","pids":["ZZ"]}"#,
        r#"{"schema":1,"request_id":"r","command":"live","pids":[256]}"#,
        r#"{"schema":1,"request_id":"r","command":"live","pids":["0C","0C"]}"#,
        r#"{"schema":1,"request_id":"r","command":"freeze","frame":-1}"#,
        r#"{"schema":1,"request_id":"r","command":"clear"}"#,
        r#"{"schema":1,"request_id":"r","command":"clear","confirm":"yes"}"#,
    ] {
        assert_eq!(code_of(json), ReplyErrorCode::InvalidArguments, "{json}");
    }
    let many: Vec<String> = (0..17).map(|p| format!("\"{p:02X}\"")).collect();
    let json = format!(
        r#"{{"schema":1,"request_id":"r","command":"live","pids":[{}]}}"#,
        many.join(",")
    );
    assert_eq!(code_of(&json), ReplyErrorCode::InvalidArguments);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = parse_command(&bytes, 256);
    }
}

#[test]
fn issued_at_and_signature_are_passed_on_for_the_agent_to_check() {
    let json = r#"{"schema":1,"request_id":"r","command":"vin","issued_at":"2026-11-23T10:00:00Z","signature":"ab12"}"#;
    let parsed = parse(json).unwrap();
    let auth = parsed.authentication;
    assert_eq!(auth.signature.as_deref(), Some("ab12"));
    assert_eq!(
        auth.issued_at,
        humantime::parse_rfc3339("2026-11-23T10:00:00Z").ok()
    );
    assert_eq!(auth.raw, json.as_bytes());
    for bad in [
        r#"{"schema":1,"request_id":"r","command":"vin","issued_at":"yesterday"}"#,
        r#"{"schema":1,"request_id":"r","command":"vin","signature":7}"#,
    ] {
        assert_eq!(code_of(bad), ReplyErrorCode::Malformed, "{bad}");
    }
}
