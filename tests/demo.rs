//! `obd-agent demo` end to end: the binary with its embedded broker, sped up, must show the
//! developing car's faults in the order they develop and exit cleanly.

#![cfg(feature = "demo-broker")]

use std::process::Command;

/// The index of the first alert line with this event and code (and status, if given).
fn position(lines: &[&str], event: &str, code: &str, status: &str) -> Option<usize> {
    lines.iter().position(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.get(1) == Some(&"alert")
            && words.get(2) == Some(&event)
            && words.get(4) == Some(&code)
            && l.contains(&format!("({status}"))
    })
}

#[test]
fn the_developing_faults_arrive_in_order_and_the_demo_exits_cleanly() {
    // 100 simulated seconds at 8x: the whole timeline in 12.5 s, with time to spare.
    let output = Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(["demo", "--speed", "8", "--duration", "16s"])
        .output()
        .expect("run obd-agent demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let steps = [
        ("new", "P0301", "pending"),
        ("persisting", "P0301", "stored"),
        ("new", "P0217", "stored"),
        ("cleared", "P0217", "stored"),
    ];
    let mut last = 0;
    for (event, code, status) in steps {
        let at = position(&lines, event, code, status)
            .unwrap_or_else(|| panic!("no {event} {code} ({status}) alert:\n{stdout}"));
        assert!(at >= last, "{event} {code} out of order:\n{stdout}");
        last = at;
    }
    let online = lines.iter().position(|l| l.contains("status     online"));
    let offline = lines.iter().rposition(|l| l.contains("status     offline"));
    assert!(
        matches!((online, offline), (Some(a), Some(b)) if a < b && b + 1 == lines.len()),
        "online first, offline (the clean shutdown) last:\n{stdout}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("cleared") && l.contains("P0301")),
        "the misfire stays:\n{stdout}"
    );
}

#[test]
fn json_lines_carry_topic_and_payload() {
    let output = Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(["demo", "--json", "--speed", "20", "--duration", "3s"])
        .output()
        .expect("run obd-agent demo --json");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m["topic"] == "fleet/DEMO-001/alerts" && m["payload"]["code"] == "P0301"),
        "{stdout}"
    );
    assert!(
        messages
            .iter()
            .all(|m| m["payload"]["vehicle_id"] == "DEMO-001")
    );
}
