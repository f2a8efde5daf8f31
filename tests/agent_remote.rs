//! Remote diagnosis end to end: `obd-agent run` against the simulated vehicle and a real
//! Mosquitto, driven by the `obd-agent remote` binary (MQTT 5 and 3.1.1) and by mosquitto_pub
//! (an independent MQTT 3.1.1 client) for payloads the remote client would never send.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/mosquitto.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use agent::{Agent, text, write_config};
use obd_agent::agent::auth;
use obd_agent::uplink::Command as Cmd;
use serde_json::Value;
use support::{Mosquitto, Subscriber, find_binary};

const VEHICLE: &str = "TEST-R";
const KEY: &[u8] = b"integration test key, 32 bytes!!";

struct Setup {
    broker: Mosquitto,
    dir: tempfile::TempDir,
    _agent: Agent,
}

/// Starts a broker and an agent on `scenario` with this `[remote]` section, and waits until
/// the agent answers commands.
fn setup(scenario: &str, remote: &str) -> Option<Setup> {
    let broker = Mosquitto::start()?;
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("command.key"), KEY).expect("key file");
    std::fs::write(dir.path().join("wrong.key"), [7u8; 32]).expect("key file");
    let remote = remote.replace(
        "KEYFILE",
        &dir.path().join("command.key").display().to_string(),
    );
    let config = write_config(
        dir.path(),
        VEHICLE,
        broker.port(),
        scenario,
        &format!("[remote]\n{remote}"),
    );
    let agent = Agent::start(&config);
    let setup = Setup {
        broker,
        dir,
        _agent: agent,
    };
    // Ready once a command comes back (the agent subscribes after its first connect).
    let deadline = Instant::now() + Duration::from_secs(60);
    let key = setup.key_path();
    loop {
        let out = setup.remote(&["--timeout", "3s", "--key-file", &key, "vin"]);
        if out.status.code() != Some(6) {
            break;
        }
        assert!(Instant::now() < deadline, "the agent never answered");
    }
    Some(setup)
}

impl Setup {
    fn key_path(&self) -> String {
        self.dir.path().join("command.key").display().to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `obd-agent remote --broker … --vehicle … <args>`.
    fn remote(&self, args: &[&str]) -> Output {
        let broker = format!("mqtt://127.0.0.1:{}", self.broker.port());
        Command::new(env!("CARGO_BIN_EXE_obd-agent"))
            .args(["remote", "--broker", &broker, "--vehicle", VEHICLE])
            .args(args)
            .output()
            .expect("run obd-agent remote")
    }

    /// Publishes `payload` with mosquitto_pub (MQTT 3.1.1) and returns the reply from the
    /// documented reply topic (`_invalid` when no request id can be read).
    fn raw(&self, subscriber: &mut Subscriber, reply_to: &str, payload: &[u8]) -> Value {
        let file = self.path("payload.json");
        std::fs::write(&file, payload).expect("payload file");
        let topic = format!("fleet/{VEHICLE}/cmd/reply/{reply_to}");
        let before = subscriber.messages().len();
        let status = Command::new(find_binary("mosquitto_pub").expect("mosquitto_pub"))
            .args(["-h", "127.0.0.1", "-p", &self.broker.port().to_string()])
            .args(["-q", "1", "-t", &format!("fleet/{VEHICLE}/cmd"), "-f"])
            .arg(&file)
            .status()
            .expect("mosquitto_pub");
        assert!(status.success());
        let messages = subscriber.wait_until(Duration::from_secs(30), |m| {
            m[before..].iter().any(|(t, _)| *t == topic)
        });
        let (_, reply) = messages[before..]
            .iter()
            .find(|(t, _)| *t == topic)
            .unwrap_or_else(|| panic!("no reply on {topic}: {messages:?}"));
        serde_json::from_str(reply).expect("reply JSON")
    }
}

fn error_code(reply: &Value) -> &str {
    assert_eq!(reply["ok"], false, "{reply}");
    reply["error"]["code"].as_str().unwrap_or("")
}

/// A signed command as the centre would send it, issued at `issued_at`.
fn signed(request_id: &str, issued_at: SystemTime, command: &Cmd, args: &str) -> Vec<u8> {
    let issued_at = humantime::format_rfc3339_millis(issued_at).to_string();
    let canonical = auth::canonical_string(VEHICLE, request_id, &issued_at, command);
    format!(
        r#"{{"schema":1,"request_id":"{request_id}","command":"{}"{args},"issued_at":"{issued_at}","signature":"{}"}}"#,
        command.name(),
        auth::sign(KEY, &canonical)
    )
    .into_bytes()
}

#[test]
fn hotline_reads_the_vehicle_and_bad_commands_do_not_stop_the_agent() {
    let Some(setup) = setup("misfire", "allow_clear = false") else {
        return;
    };
    // scan over MQTT 5 (response topic + correlation data), readable.
    let out = setup.remote(&["scan"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("VIN: 1D4GP00R55B123456"), "{stdout}");
    assert!(stdout.contains("MIL: ON"), "{stdout}");
    assert!(
        stdout.contains("P0301") && stdout.contains("urgency high"),
        "{stdout}"
    );
    assert!(stdout.contains("Cylinder 1 Misfire Detected"), "{stdout}");
    // scan over MQTT 3.1.1 (reply topic), raw JSON.
    let out = setup.remote(&["--mqtt", "3", "--json", "scan"]);
    assert!(out.status.success(), "{}", text(&out));
    let reply: Value = serde_json::from_slice(&out.stdout).expect("reply JSON");
    assert_eq!(reply["ok"], true);
    assert_eq!(reply["command"], "scan");
    let codes: Vec<&str> = reply["result"]["report"]["dtcs"]
        .as_array()
        .expect("dtcs")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"P0300") && codes.contains(&"P0301"),
        "{reply}"
    );

    let out = setup.remote(&["live", "--pids", "rpm,speed"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("rpm") && stdout.contains("km/h"),
        "{stdout}"
    );
    let out = setup.remote(&["vin"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1D4GP00R55B123456"),
        "{}",
        text(&out)
    );
    // Clearing is disabled here.
    let out = setup.remote(&["clear"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("refused (clear_disabled)"),
        "{}",
        text(&out)
    );

    // Payloads no client of ours sends, from an independent 3.1.1 client.
    let mut replies = Subscriber::start(&setup.broker, &format!("fleet/{VEHICLE}/cmd/reply/#"));
    let reply = setup.raw(&mut replies, "_invalid", b"{ not json");
    assert_eq!(error_code(&reply), "malformed");
    let unknown = br#"{"schema":1,"request_id":"u1","command":"reboot"}"#;
    assert_eq!(
        error_code(&setup.raw(&mut replies, "u1", unknown)),
        "unknown_command"
    );
    let mut big = br#"{"schema":1,"request_id":"big","command":"vin","pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 8000));
    big.extend(b"\"}");
    let reply = setup.raw(&mut replies, "_invalid", &big);
    assert_eq!(error_code(&reply), "payload_too_large");
    // The agent is still there.
    let ok = setup.raw(
        &mut replies,
        "after",
        br#"{"schema":1,"request_id":"after","command":"vin"}"#,
    );
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["result"]["vin"], "1D4GP00R55B123456");
}

#[test]
fn clear_is_refused_while_the_engine_runs() {
    let Some(setup) = setup("misfire", "allow_clear = true") else {
        return;
    };
    let out = setup.remote(&["clear"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("stationary with the engine off"),
        "{}",
        text(&out)
    );
}

#[test]
fn signed_setup_refuses_everything_not_correctly_signed_fresh_and_new() {
    let remote = "allow_clear = true\ncommand_key_file = \"KEYFILE\"\nmax_command_age = \"60s\"";
    let Some(setup) = setup("parked", remote) else {
        return;
    };
    let key = setup.key_path();
    let wrong = setup.path("wrong.key").display().to_string();
    let out = setup.remote(&["vin"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("refused (unsigned)"), "{}", text(&out));
    let out = setup.remote(&["--key-file", &wrong, "vin"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("refused (bad_signature)"),
        "{}",
        text(&out)
    );

    let mut replies = Subscriber::start(&setup.broker, &format!("fleet/{VEHICLE}/cmd/reply/#"));
    let now = SystemTime::now();
    let stale = signed("stale-1", now - Duration::from_secs(600), &Cmd::Vin, "");
    let reply = setup.raw(&mut replies, "stale-1", &stale);
    assert_eq!(error_code(&reply), "failed");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("refused (stale)"),
        "{reply}"
    );
    let future = signed("future-1", now + Duration::from_secs(600), &Cmd::Vin, "");
    let reply = setup.raw(&mut replies, "future-1", &future);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("refused (future)"),
        "{reply}"
    );

    // A captured, correctly signed command, replayed once the uplink's own memory of the
    // last 64 request ids (which drops redeliveries silently) has moved on.
    let original = signed("replay-1", now, &Cmd::Vin, "");
    assert_eq!(setup.raw(&mut replies, "replay-1", &original)["ok"], true);
    for i in 0..64 {
        let id = format!("filler-{i}");
        let filler = format!(r#"{{"schema":1,"request_id":"{id}","command":"vin"}}"#);
        setup.raw(&mut replies, &id, filler.as_bytes());
    }
    let reply = setup.raw(&mut replies, "replay-1", &original);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("refused (replayed)"),
        "{reply}"
    );

    // Correctly signed, fresh and new, engine off and stationary: the codes are cleared.
    let out = setup.remote(&["--key-file", &key, "--json", "clear"]);
    assert!(out.status.success(), "{}", text(&out));
    let reply: Value = serde_json::from_slice(&out.stdout).expect("reply JSON");
    assert_eq!(reply["ok"], true, "{reply}");
    let out = setup.remote(&["--key-file", &key, "--mqtt", "3", "scan"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No trouble codes"),
        "{}",
        text(&out)
    );
}

#[test]
fn no_reply_names_the_vehicle_and_broker_and_exits_6() {
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let url = format!("mqtt://127.0.0.1:{}", broker.port());
    let out = Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args([
            "remote",
            "--broker",
            &url,
            "--vehicle",
            "NOBODY",
            "--timeout",
            "1s",
            "vin",
        ])
        .output()
        .expect("run obd-agent remote");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NOBODY") && stderr.contains(&url),
        "{stderr}"
    );
}
