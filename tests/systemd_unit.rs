//! The service unit is checked by `systemd/check.sh`: `systemd-analyze verify` prints nothing and
//! `systemd-analyze security --offline=yes` rates the exposure at or below 2.0. The check needs
//! systemd-analyze (Debian package `systemd`, which `scripts/test.sh` installs); without it the
//! test says it was skipped. The settings the agent's code relies on are checked here directly,
//! with or without systemd.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../systemd/obd-agent.service");

fn has_systemd_analyze() -> bool {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn the_unit_passes_verify_and_the_security_check() {
    if !has_systemd_analyze() {
        eprintln!(
            "SKIPPED the_unit_passes_verify_and_the_security_check: systemd-analyze not found \
             (Debian: apt-get install systemd; scripts/test.sh installs it)"
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/check.sh");
    let out = Command::new("bash").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture, and in the failure message below.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "systemd/check.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Every `Key=value` line of the unit, comments left out.
fn settings() -> Vec<(&'static str, &'static str)> {
    UNIT.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(['#', ';', '[']))
        .filter_map(|line| line.split_once('='))
        .collect()
}

fn value(key: &str) -> &'static str {
    let values: Vec<_> = settings()
        .into_iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values.len(), 1, "{key}= set once in the unit");
    values[0]
}

#[test]
fn the_unit_runs_the_agent_as_a_notify_service_with_a_watchdog() {
    // src/agent/notify.rs sends READY=1 and pings at half of WATCHDOG_USEC.
    assert_eq!(value("Type"), "notify");
    let watchdog = humantime::parse_duration(value("WatchdogSec")).unwrap();
    assert!(
        watchdog.as_secs() >= 30,
        "an SD-card stall must not look like a hang"
    );
    assert_eq!(
        value("ExecStart"),
        "/usr/bin/obd-agent run --config /etc/obd-agent/config.toml"
    );
    assert_eq!(value("Restart"), "on-failure");
    // The CLI's exit code for a usage or config error: restarting cannot fix it.
    assert_eq!(value("RestartPreventExitStatus"), "2");
}

#[test]
fn the_unit_gives_the_agent_its_state_dir_and_its_serial_devices() {
    // src/config reads STATE_DIRECTORY, which StateDirectory= sets.
    assert_eq!(value("StateDirectory"), "obd-agent");
    assert_eq!(value("User"), "obd-agent");
    assert_eq!(value("SupplementaryGroups"), "dialout");
    assert_eq!(value("DevicePolicy"), "closed");
    let allowed: Vec<_> = settings()
        .into_iter()
        .filter(|(k, _)| *k == "DeviceAllow")
        .map(|(_, v)| v)
        .collect();
    for class in ["char-ttyUSB rw", "char-ttyACM rw", "char-rfcomm rw"] {
        assert!(allowed.contains(&class), "DeviceAllow={class}");
    }
    let families = value("RestrictAddressFamilies");
    for family in ["AF_UNIX", "AF_INET", "AF_INET6", "AF_CAN"] {
        assert!(families.split_whitespace().any(|f| f == family), "{family}");
    }
}
