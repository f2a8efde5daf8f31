//! The `obd-agent` binary end to end against the simulator on a real pseudo-terminal, as a
//! technician runs it: scan, live, clear (confirmed and refused), and `sim` serving a scan.

mod e2e_common;

use std::collections::BTreeSet;
use std::process::{Output, Stdio};
use std::time::Duration;

use e2e_common::*;
use obd_agent::dtcdb::DtcDb;
use obd_agent::reader::{DtcKind, VehicleReader};
use obd_agent::sim::{Profile, PtyServer, Scenario, SimVehicle};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

fn obd_agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_obd-agent"));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn run(args: &[&str]) -> Output {
    bounded(
        &format!("obd-agent {args:?}"),
        obd_agent().args(args).output(),
    )
    .await
    .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The codes as the JSON names them: (kind, ECU, code).
fn model_codes_json(model: &SimVehicle) -> BTreeSet<(String, String, String)> {
    model_all_codes(model)
        .into_iter()
        .map(|(kind, ecu, code)| {
            let kind = serde_json::to_value(kind).unwrap();
            (
                kind.as_str().unwrap().to_string(),
                ecu.to_string(),
                code.to_string(),
            )
        })
        .collect()
}

fn json_codes(report: &Value) -> BTreeSet<(String, String, String)> {
    report["dtcs"]
        .as_array()
        .expect("dtcs is a list")
        .iter()
        .map(|d| {
            let field = |k: &str| {
                d[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {d}"))
                    .to_string()
            };
            (field("kind"), field("ecu"), field("code"))
        })
        .collect()
}

/// Checks a `scan --json` document against the scenario's model and the code database.
fn check_scan_json(stdout: &str, model: &SimVehicle) {
    let report: Value = serde_json::from_str(stdout.trim()).expect("scan --json is one document");
    assert_eq!(report["vin"], model.ecus[0].info.vin.as_deref().unwrap());
    assert_eq!(report["mil"], model.ecus.iter().any(|e| e.mil));
    assert_eq!(json_codes(&report), model_codes_json(model));

    let triage = &report["triage"];
    let findings = triage["findings"].as_array().expect("findings");
    let rank = |u: &Value| {
        ["low", "medium", "high", "critical"]
            .iter()
            .position(|n| u == n)
            .unwrap_or_else(|| panic!("unknown urgency {u}"))
    };
    let ranks: Vec<usize> = findings.iter().map(|f| rank(&f["urgency"])).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "most urgent first: {ranks:?}"
    );
    assert_eq!(triage["worst"], findings[0]["urgency"]);
    // Every code read is triaged, and what is said about it is the database's.
    let triaged: BTreeSet<String> = findings
        .iter()
        .flat_map(|f| f["codes"].as_array().unwrap())
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let read: BTreeSet<String> = json_codes(&report).into_iter().map(|(_, _, c)| c).collect();
    assert_eq!(triaged, read);
    for info in findings
        .iter()
        .flat_map(|f| f["knowledge"].as_array().unwrap())
    {
        let known = DtcDb::embedded().lookup(info["code"].as_str().unwrap().parse().unwrap());
        assert_eq!(info["description"], known.description);
        assert_eq!(
            info["urgency"],
            serde_json::to_value(known.urgency).unwrap()
        );
        assert!(!info["action"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn scan_json_reports_codes_vin_and_triage() {
    let scenario = Scenario::MultiEcu;
    let server = serve(settings(scenario, Profile::CloneV15)).await;
    let out = run(&["scan", "--port", &port_of(&server), "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check_scan_json(&text(&out.stdout), &scenario.build());
}

#[tokio::test]
async fn live_json_streams_one_value_per_line() {
    let server = serve(settings(Scenario::Healthy, Profile::Genuine)).await;
    let port = port_of(&server);
    let args = [
        "live",
        "--port",
        &port,
        "--pids",
        "rpm,speed",
        "--duration",
        "1",
        "--json",
    ];
    let out = run(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut seen = BTreeSet::new();
    for line in stdout.lines() {
        let sample: Value = serde_json::from_str(line).expect("one JSON object per line");
        let stamp = sample["timestamp"].as_str().expect("timestamp");
        humantime::parse_rfc3339(stamp).unwrap_or_else(|e| panic!("{stamp}: {e}"));
        let value = sample["value"].as_f64().expect("a number");
        match (
            sample["pid"].as_str().unwrap(),
            sample["unit"].as_str().unwrap(),
        ) {
            ("rpm", "rpm") => assert!((700.0..=800.0).contains(&value), "{line}"),
            ("speed", "km/h") => assert_eq!(value, 0.0, "{line}"),
            other => panic!("unexpected {other:?} in {line}"),
        }
        assert_eq!(sample["ecu"], "7E8");
        seen.insert(sample["pid"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 2, "{stdout}");
    assert!(
        stdout.lines().count() >= 4,
        "more than one round in a second: {stdout}"
    );
}

/// Reads the codes the pty server's vehicle holds now, through the library.
async fn codes_now(
    server: &PtyServer,
) -> BTreeSet<(
    DtcKind,
    obd_agent::transport::EcuAddress,
    obd_agent::obd::dtc::Dtc,
)> {
    let mut transport = open(server).await;
    let mut reader = VehicleReader::new(&mut transport);
    bounded("discovery", reader.discover()).await.unwrap();
    read_codes(&bounded("codes", reader.all_dtcs()).await.unwrap())
}

#[tokio::test]
async fn clear_with_yes_clears_and_keeps_permanent_codes() {
    let scenario = Scenario::AbsFault;
    let model = scenario.build();
    let server = serve(settings(scenario, Profile::Genuine)).await;
    let out = run(&["clear", "--port", &port_of(&server), "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for addr in model.addresses() {
        assert!(stdout.contains(&format!("ECU {addr}: cleared")), "{stdout}");
    }
    assert!(stdout.contains("C0035 (ECU 7EB): permanent"), "{stdout}");
    let permanent: BTreeSet<_> = model_codes(&model, DtcKind::Permanent)
        .into_iter()
        .map(|(ecu, code)| (DtcKind::Permanent, ecu, code))
        .collect();
    assert!(!permanent.is_empty());
    assert_eq!(codes_now(&server).await, permanent);
}

#[tokio::test]
async fn clear_answered_no_is_refused_and_nothing_is_cleared() {
    let scenario = Scenario::Misfire;
    let server = serve(settings(scenario, Profile::Genuine)).await;
    let mut child = obd_agent()
        .args(["clear", "--port", &port_of(&server)])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"n\n").await.unwrap();
    drop(stdin);
    let out = bounded("clear, answered no", child.wait_with_output())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Clear trouble codes now? [y/N]"),
        "{stderr}"
    );
    assert!(stderr.contains("not cleared"), "{stderr}");
    assert_eq!(codes_now(&server).await, model_all_codes(&scenario.build()));
}

#[tokio::test]
async fn sim_serves_a_pty_that_scan_reads() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("obd-sim");
    let link_arg = link.to_string_lossy().into_owned();
    let scenario = Scenario::HybridBattery;
    let mut sim = obd_agent()
        .args(["sim", "--scenario", scenario.name(), "--pty", &link_arg])
        .args(["--latency", "zero", "--profile", "clone"])
        .spawn()
        .unwrap();
    // The link appears once the child is serving; poll for it, within bounds.
    bounded("the sim's link", async {
        while !link.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let out = run(&["scan", "--port", &link_arg, "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check_scan_json(&text(&out.stdout), &scenario.build());
    sim.start_kill().unwrap();
    let status = bounded("the sim to stop", sim.wait()).await.unwrap();
    assert!(!status.success(), "killed, not finished");
}
