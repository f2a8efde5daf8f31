//! Maintenance end to end: the daemon on a simulated car and a real Mosquitto, the `service`
//! CLI on its database while it runs, and the hotline's `service-done` and `appointment`.
//! Messages go out once per change: not per poll, not per restart.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/mosquitto.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use agent::{Agent, text, write_config};
use serde_json::Value;
use support::{Mosquitto, Subscriber};

const VEHICLE: &str = "TEST-M";

fn config(dir: &Path, port: u16, scenario: &str) -> PathBuf {
    write_config(dir, VEHICLE, port, scenario, "")
}

fn start(config: &Path) -> Agent {
    Agent::start(config)
}

fn obd_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(args)
        .output()
        .expect("run obd-agent")
}

fn on(messages: &[(String, String)], kind: &str) -> Vec<Value> {
    let topic = format!("fleet/{VEHICLE}/{kind}");
    messages
        .iter()
        .filter(|(t, _)| *t == topic)
        .map(|(_, p)| serde_json::from_str(p).expect("JSON payload"))
        .collect()
}

fn item<'a>(maintenance: &'a Value, id: &str) -> &'a Value {
    maintenance["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["item"] == id)
        .unwrap_or_else(|| panic!("no {id} in {maintenance}"))
}

#[test]
fn an_oil_change_due_is_published_once_reset_remotely_and_not_resent_after_a_restart() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), broker.port(), "oil-due");
    let cfg_s = cfg.display().to_string();
    // Intake: the last oil change was at 39,000 km; the car's odometer (PID A6) reads 48,950.
    let out = obd_agent(&[
        "service",
        "-c",
        &cfg_s,
        "done",
        "oil",
        "--odometer",
        "39000",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Bad input: clear errors, exit 2, nothing recorded.
    for bad in [
        &["service", "-c", &cfg_s, "done", "wipers"][..],
        &["service", "-c", &cfg_s, "odometer", "-5"][..],
        &[
            "service",
            "-c",
            &cfg_s,
            "done",
            "oil",
            "--odometer",
            "38000",
        ][..],
        &[
            "service",
            "-c",
            &cfg_s,
            "done",
            "oil",
            "--date",
            "2026-03-02",
        ][..],
        &[
            "service",
            "-c",
            &cfg_s,
            "done",
            "oil",
            "--odometer",
            "1",
            "--date",
            "2099-01-01",
        ][..],
        &[
            "service",
            "-c",
            &cfg_s,
            "done",
            "oil",
            "--odometer",
            "1",
            "--date",
            "March",
        ][..],
    ] {
        let out = obd_agent(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            [
                "known items",
                "0 or more",
                "do not run backwards",
                "needs --odometer",
                "future",
                "not a date"
            ]
            .iter()
            .any(|e| err.contains(e)),
            "{err}"
        );
    }

    let mut subscriber = Subscriber::start(&broker, &format!("fleet/{VEHICLE}/#"));
    let agent = start(&cfg);
    let oil_due = |m: &[(String, String)]| {
        on(m, "maintenance")
            .iter()
            .position(|p| item(p, "engine_oil")["state"] == "due_soon")
    };
    let messages = subscriber.wait_until(Duration::from_secs(60), |m| {
        oil_due(m).is_some() && !on(m, "appointments").is_empty()
    });
    // Before the first reading of the car's odometer the agent may publish the intake picture
    // (odometer unknown); then the reading makes the oil change due soon.
    let index = oil_due(&messages).expect("oil due soon");
    assert!(index <= 1, "{messages:?}");
    let maintenance = on(&messages, "maintenance");
    let due = &maintenance[index];
    assert_eq!(item(due, "engine_oil")["due_km"], 49_000.0, "{due}");
    assert!(due["odometer_km"].as_f64().unwrap() >= 48_950.0, "{due}");
    let appointment = &on(&messages, "appointments")[0];
    assert_eq!(appointment["urgency"], "low", "{appointment}");
    assert_eq!(appointment["items"][0], "engine_oil", "{appointment}");
    assert!(
        appointment["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("Engine oil and filter is due in")),
        "{appointment}"
    );
    // Many polls later: nothing more.
    std::thread::sleep(Duration::from_secs(8));
    let messages = subscriber.messages();
    assert_eq!(
        on(&messages, "maintenance").len(),
        index + 1,
        "{messages:?}"
    );
    assert_eq!(on(&messages, "appointments").len(), 1, "{messages:?}");

    // The hotline asks for the suggestion, then records the oil change.
    let broker_url = format!("mqtt://127.0.0.1:{}", broker.port());
    let remote = |args: &[&str]| {
        let mut all = vec!["remote", "--broker", &broker_url, "--vehicle", VEHICLE];
        all.extend_from_slice(args);
        obd_agent(&all)
    };
    let out = remote(&["appointment"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Engine oil and filter is due in"),
        "{}",
        text(&out)
    );
    let out = remote(&["service-done", "wipers"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = remote(&["service-done", "oil"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Recorded: engine_oil done at"),
        "{}",
        text(&out)
    );
    let messages = subscriber.wait_until(Duration::from_secs(30), |m| {
        on(m, "maintenance").len() > index + 1
    });
    let second = &on(&messages, "maintenance")[index + 1];
    assert_eq!(item(second, "engine_oil")["state"], "ok", "{second}");
    assert!(
        item(second, "engine_oil")["last_done"].is_string(),
        "{second}"
    );
    let out = remote(&["appointment"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No visit needed"),
        "{}",
        text(&out)
    );
    // The CLI reads the same database while the daemon runs.
    let out = obd_agent(&["service", "-c", &cfg_s, "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(item(&status["maintenance"], "engine_oil")["state"], "ok");
    assert!(status["suggestion"].is_null(), "{status}");

    // A restart publishes nothing new: the last state sent is remembered.
    drop(agent);
    let before = subscriber.messages().len();
    let _agent = start(&cfg);
    std::thread::sleep(Duration::from_secs(8));
    let after = subscriber.messages();
    let republished: Vec<_> = after[before..]
        .iter()
        .filter(|(t, _)| t.ends_with("/maintenance") || t.ends_with("/appointments"))
        .collect();
    assert!(republished.is_empty(), "{republished:?}");
}

#[test]
fn a_misfire_becomes_a_high_urgency_visit_with_its_codes() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), broker.port(), "misfire");
    let mut subscriber = Subscriber::start(&broker, &format!("fleet/{VEHICLE}/appointments"));
    let _agent = start(&cfg);
    let messages = subscriber.wait_until(Duration::from_secs(60), |m| {
        !on(m, "appointments").is_empty()
    });
    let appointment = &on(&messages, "appointments")[0];
    assert_eq!(appointment["urgency"], "high", "{appointment}");
    let codes: Vec<&str> = appointment["codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(codes, ["P0300", "P0301"], "{appointment}");
    assert_eq!(appointment["skills"][0], "engine");
    assert!(
        appointment["summary"]
            .as_str()
            .is_some_and(|s| s.contains("within two days")),
        "{appointment}"
    );
}
