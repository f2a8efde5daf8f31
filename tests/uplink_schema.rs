//! Code, JSON Schemas (`docs/schema/`) and the examples in `docs/mqtt.md` agree.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use obd_agent::uplink::command::parse_command;
use obd_agent::uplink::payload::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs")
}

fn schema(name: &str) -> Value {
    let text = std::fs::read_to_string(docs().join("schema").join(name)).expect(name);
    serde_json::from_str(&text).expect(name)
}

fn check(name: &str, instance: &Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{instance:#}");
}

/// Serializes, validates, and checks the schema names no property the full example lacks.
fn round_trip<P: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str, full: &P) {
    let value = serde_json::to_value(full).unwrap();
    check(name, &value);
    let listed = schema(name)["properties"].as_object().unwrap().clone();
    for key in listed.keys() {
        assert!(
            value.get(key).is_some(),
            "{name} lists {key}, which the code never sends"
        );
    }
    let back: P = serde_json::from_value(value).unwrap();
    assert_eq!(&back, full);
}

fn at(secs: u64) -> Timestamp {
    Timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + 123))
}

fn header() -> Header {
    Header {
        timestamp: at(1_795_000_000),
        ..Header::new("VAN-042")
    }
}

fn values() -> Vec<PidValue> {
    vec![PidValue {
        pid: "0C".into(),
        name: "Engine speed".into(),
        value: 812.5,
        unit: "rpm".into(),
    }]
}

#[test]
fn status_matches_its_schema() {
    let mut status = StatusPayload {
        header: header(),
        state: Presence::Online,
        agent_version: "0.1.0".into(),
        adapter: Some("ELM327 v1.5".into()),
        vin: Some("WVWZZZ1JZXW000001".into()),
        since: at(1_795_000_000),
    };
    round_trip("status.json", &status);
    status.adapter = None;
    status.vin = None;
    status.state = Presence::Offline;
    check("status.json", &serde_json::to_value(&status).unwrap());
}

#[test]
fn alert_matches_its_schema() {
    let mut alert = AlertPayload {
        header: header(),
        alert_id: "a-1".into(),
        event: AlertEvent::Cleared,
        code: "P0301".into(),
        description: "Cylinder 1 misfire detected".into(),
        system: "powertrain".into(),
        urgency: Urgency::Critical,
        reasons: vec!["MIL flashing".into()],
        status: CodeStatus::Permanent,
        ecu: Some("7E8".into()),
        vin: Some("WVWZZZ1JZXW000001".into()),
        freeze_frame: Some(FreezeFrame {
            frame: 0,
            code: "P0301".into(),
            values: values(),
        }),
        first_seen: at(1_795_000_000),
        last_seen: at(1_795_000_100),
        cleared_at: Some(at(1_795_000_200)),
    };
    round_trip("alert.json", &alert);
    (alert.ecu, alert.vin, alert.freeze_frame, alert.cleared_at) = (None, None, None, None);
    check("alert.json", &serde_json::to_value(&alert).unwrap());
}

#[test]
fn telemetry_maintenance_and_appointments_match_their_schemas() {
    round_trip(
        "telemetry.json",
        &TelemetryPayload {
            header: header(),
            values: values(),
        },
    );
    let item = MaintenanceItem {
        item: "engine_oil".into(),
        name: Some("Engine oil and filter".into()),
        state: DueState::DueSoon,
        due_km: Some(85_000.0),
        remaining_km: Some(790.0),
        due_date: Some(at(1_796_000_000)),
        predicted_due: Some(at(1_795_500_000)),
        last_done: Some(at(1_780_000_000)),
    };
    let trend = TrendAlert {
        rule: "battery_cranking_weak".into(),
        urgency: Urgency::High,
        item: Some("battery".into()),
        code: Some("P0301".into()),
        value: 9.8,
        threshold: 10.0,
        since: at(1_795_000_000),
        explanation: "The voltage sags.".into(),
    };
    let maintenance = MaintenancePayload {
        header: header(),
        odometer_km: Some(84_210.5),
        km_per_day: Some(52.3),
        items: vec![item],
        trends: vec![trend],
    };
    round_trip("maintenance.json", &maintenance);
    let appointment = AppointmentPayload {
        header: header(),
        appointment_id: "ap-1".into(),
        urgency: Urgency::High,
        window_start: at(1_795_000_000),
        window_end: at(1_795_200_000),
        skills: vec!["engine".into()],
        items: vec!["engine_oil".into()],
        codes: vec!["P0301".into()],
        trends: vec!["fuel_trim_lean".into()],
        ride_along: vec!["engine_oil".into()],
        labour_hours: Some(1.5),
        parts: vec!["spark plug".into()],
        summary: "Book a visit within two days.".into(),
    };
    round_trip("appointment.json", &appointment);
}

#[test]
fn command_replies_match_their_schema() {
    let ok = CommandReplyPayload {
        header: header(),
        request_id: Some("r-1".into()),
        command: Some("vin".into()),
        ok: true,
        result: Some(json!({ "vin": "WVWZZZ1JZXW000001" })),
        error: Some(ReplyError {
            code: ReplyErrorCode::Failed,
            message: "x".into(),
        }),
    };
    round_trip("command-reply.json", &ok);
    let bare = CommandReplyPayload {
        request_id: None,
        command: None,
        result: None,
        ..ok
    };
    check("command-reply.json", &serde_json::to_value(&bare).unwrap());
}

#[test]
fn the_command_schema_and_the_parser_agree() {
    let cases = [
        json!({ "schema": 1, "request_id": "r", "command": "scan" }),
        json!({ "schema": 1, "request_id": "r", "command": "vin" }),
        json!({ "schema": 1, "request_id": "r", "command": "live", "pids": ["0C", 13] }),
        json!({ "schema": 1, "request_id": "r", "command": "freeze", "frame": 1 }),
        json!({ "schema": 1, "request_id": "r", "command": "clear", "confirm": true }),
        json!({ "schema": 1, "request_id": "r", "command": "clear" }),
        json!({ "schema": 1, "request_id": "r", "command": "scan", "extra": 1 }),
        json!({ "schema": 1, "request_id": "r", "command": "live", "pids": [] }),
        json!({ "schema": 1, "request_id": "r", "command": "live", "pids": ["0C", "0C"] }),
        json!({ "schema": 1, "request_id": "r/x", "command": "scan" }),
        json!({ "schema": 2, "request_id": "r", "command": "scan" }),
        json!({ "schema": 1, "request_id": "r", "command": "reboot" }),
        json!({ "schema": 1, "command": "scan" }),
        json!({ "schema": 1, "request_id": "r", "command": "appointment" }),
        json!({ "schema": 1, "request_id": "r", "command": "appointment", "item": "oil" }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "oil" }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "brake_fluid", "odometer_km": 52000 }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done" }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "wipers" }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "oil", "odometer_km": -1 }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "oil", "odometer_km": 1.5 }),
        json!({ "schema": 1, "request_id": "r", "command": "service_done", "item": "oil", "odometer_km": 4000001 }),
    ];
    let validator = jsonschema::validator_for(&schema("command.json")).unwrap();
    for case in cases {
        let by_schema = validator.is_valid(&case);
        let by_parser = parse_command(case.to_string().as_bytes(), 4096).is_ok();
        assert_eq!(by_schema, by_parser, "{case}");
    }
}

#[test]
fn the_command_schema_lists_every_maintenance_item_name() {
    let command = schema("command.json");
    let variant = command["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["properties"]["command"]["const"] == "service_done")
        .expect("a service_done variant");
    let mut listed: Vec<String> = variant["properties"]["item"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut names: Vec<String> = obd_agent::maintenance::Schedule::embedded()
        .items()
        .iter()
        .flat_map(|i| std::iter::once(i.id.clone()).chain(i.aliases.iter().cloned()))
        .collect();
    listed.sort();
    names.sort();
    assert_eq!(
        listed, names,
        "docs/schema/command.json and maintenance-db/schedule.toml"
    );
}

#[test]
fn every_example_in_the_docs_is_valid() {
    let text = std::fs::read_to_string(docs().join("mqtt.md")).unwrap();
    let mut count = 0;
    for (i, part) in text.split("<!-- example: ").enumerate().skip(1) {
        let (name, rest) = part.split_once(" -->").expect("example marker");
        let body = rest
            .split("```json")
            .nth(1)
            .and_then(|b| b.split("```").next());
        let value: Value = serde_json::from_str(body.expect("a json block")).expect(name);
        check(name, &value);
        fn parses<P: DeserializeOwned>(v: &Value) -> bool {
            serde_json::from_value::<P>(v.clone()).is_ok()
        }
        let ok = match name {
            "status.json" => parses::<StatusPayload>(&value),
            "alert.json" => parses::<AlertPayload>(&value),
            "telemetry.json" => parses::<TelemetryPayload>(&value),
            "maintenance.json" => parses::<MaintenancePayload>(&value),
            "appointment.json" => parses::<AppointmentPayload>(&value),
            "command-reply.json" => parses::<CommandReplyPayload>(&value),
            "command.json" => parse_command(value.to_string().as_bytes(), 4096).is_ok(),
            other => panic!("example {i} names an unknown schema {other}"),
        };
        assert!(
            ok,
            "example {i} ({name}) does not parse into the code's type"
        );
        count += 1;
    }
    assert!(count >= 8, "only {count} examples found");
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema() {
    for entry in std::fs::read_dir(docs().join("schema")).unwrap() {
        let path = entry.unwrap().path();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(jsonschema::meta::is_valid(&value), "{}", path.display());
    }
}
