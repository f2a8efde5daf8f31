use super::*;

const MINIMAL: &str = r#"
vehicle_id = "VAN-042"
[adapter]
port = "/dev/ttyUSB0"
"#;

fn err(text: &str) -> String {
    parse_str(text, "test.toml").unwrap_err().to_string()
}

#[test]
fn a_minimal_config_gets_safe_defaults() {
    let config = parse_str(MINIMAL, "test.toml").unwrap();
    assert_eq!(config.vehicle_id, "VAN-042");
    assert_eq!(
        config.adapter,
        AdapterConfig::Elm327 {
            port: "/dev/ttyUSB0".into(),
            baud: None,
            protocol: None
        }
    );
    assert_eq!(config.poll.dtc_interval, Duration::from_secs(60));
    assert!(config.poll.pids.contains(&0x0C));
    assert!(config.battery.sleep_below < config.battery.wake_above);
    assert_eq!(config.store.max_bytes, 64 << 20);
    assert!(config.mqtt.is_none());
    assert!(
        !config.remote.allow_clear,
        "remote clear is off unless enabled"
    );
}

#[test]
fn a_full_config() {
    let text = r#"
vehicle_id = "truck.7"
[adapter]
sim = "misfire"
[poll]
dtc_interval = "30s"
pid_interval = "2s"
pids = ["rpm", "0D", "coolant_temp"]
[battery]
sleep_below = 12.0
wake_above = 13.4
[store]
path = "/tmp/x.db"
max_size = "8 MiB"
sample_retention = "7d"
[mqtt]
url = "mqtts://broker.example.com"
version = 3
username = "truck.7"
password = "secret"
[remote]
allow_clear = true
"#;
    let config = parse_str(text, "t").unwrap();
    assert_eq!(
        config.adapter,
        AdapterConfig::Simulator {
            scenario: "misfire".into()
        }
    );
    assert_eq!(config.poll.pids, vec![0x0C, 0x0D, 0x05]);
    let mqtt = config.mqtt.unwrap();
    assert_eq!(
        (mqtt.host.as_str(), mqtt.port, mqtt.tls),
        ("broker.example.com", 8883, true)
    );
    assert_eq!(mqtt.version, MqttVersion::V311);
    assert_eq!(mqtt.client_id, "obd-agent-truck.7");
    assert_eq!(config.store.max_bytes, 8 << 20);
    assert!(config.remote.allow_clear);
}

#[test]
fn errors_name_the_key_the_problem_and_an_example() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[adapter]\nport = \"/dev/ttyUSB0\"",
            &["vehicle_id", "is missing", "VAN-042"],
        ),
        (
            "vehicle_id = \"a/b\"\n[adapter]\nport = \"x\"",
            &["vehicle_id", "MQTT topics"],
        ),
        ("vehicle_id = \"v\"", &["adapter", "port, can or sim"]),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\ncan = \"can0\"",
            &["only one"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nsim = \"flying-car\"",
            &["adapter.sim", "flying-car"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\nprotocol = \"Z\"",
            &["adapter.protocol"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[poll]\npids = [\"warp\"]",
            &["poll.pids", "warp", "live --list"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[poll]\ndtc_interval = \"soon\"",
            &["poll.dtc_interval", "90s"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[poll]\ndtc_interval = \"1s\"",
            &["at least 5s"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[battery]\nsleep_below = 13.5",
            &["wake_above", "loop"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[store]\nmax_size = \"10 KiB\"",
            &["store.max_size", "1 MiB"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[mqtt]\nurl = \"http://x\"",
            &["mqtt.url", "http"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[mqtt]\nurl = \"mqtt://x\"\nca_file = \"/ca.pem\"",
            &["mqtts://"],
        ),
        (
            "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[remote]\nrequire_signature = true",
            &["command_key_file"],
        ),
    ];
    for (text, needles) in cases {
        let message = err(text);
        assert!(message.starts_with("test.toml: "), "{message}");
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{needle:?} missing from: {message}"
            );
        }
    }
}

#[test]
fn typos_and_syntax_errors_point_at_the_line() {
    let message = err("vehicle_id = \"v\"\n[adapter]\nprot = \"x\"");
    assert!(message.contains("prot"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    let message = err("vehicle_id = \"v\n");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn a_short_command_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, b"short").unwrap();
    let text = format!(
        "vehicle_id = \"v\"\n[adapter]\nport = \"x\"\n[remote]\ncommand_key_file = \"{}\"",
        key.display()
    );
    assert!(err(&text).contains("fewer than 16 bytes"));
    std::fs::write(&key, [7u8; 32]).unwrap();
    let config = parse_str(&text, "t").unwrap();
    assert!(
        config.remote.require_signature,
        "a key turns signatures on by default"
    );
}

#[test]
fn maintenance_intervals_are_overridden_per_item_and_checked() {
    let config = parse_str(MINIMAL, "t").unwrap();
    assert!(config.maintenance.enabled);
    assert_eq!(config.maintenance.lead_days, 5.0);
    let text = format!(
        "{MINIMAL}\n[maintenance]\nlead_days = 7\n[maintenance.items.oil]\nkm = 15000\nmonths = 0\n"
    );
    let config = parse_str(&text, "t").unwrap();
    let oil = config.maintenance.schedule.item("engine_oil").unwrap();
    assert_eq!((oil.km, oil.months), (Some(15000.0), None));
    assert_eq!(config.maintenance.lead_days, 7.0);
    let e = err(&format!("{MINIMAL}\n[maintenance]\nlead_days = 0\n"));
    assert!(
        e.contains("maintenance.lead_days") && e.contains("1-30"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}\n[maintenance.items.wipers]\nkm = 1\n"));
    assert!(
        e.contains("maintenance.items") && e.contains("wipers") && e.contains("engine_oil"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}\n[maintenance.items.oil]\nkm = -3\n"));
    assert!(e.contains("positive"), "{e}");
}
