//! python-OBD on the same simulated adapter, through `benches/python_obd_rate.py`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use obd_agent::sim::SimLatency;
use tokio::process::Command;

use super::wire::{Counter, counting_relay};
use super::{PerValue, Run};

/// Longest one python-OBD run may take before it is called stuck.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python with `obd` importable, creating the venv when missing.
pub async fn venv() -> Result<String, String> {
    let dir = root().join("target/bench-venv");
    let python = dir.join("bin/python");
    let python_text = python.to_string_lossy().into_owned();
    let has_obd = || async {
        Command::new(&python)
            .args(["-c", "import obd"])
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    };
    if has_obd().await {
        return Ok(python_text);
    }
    println!("setting up python-OBD in {} ...", dir.display());
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .await
        .map_err(|e| format!("cannot run python3 -m venv: {e}"))?;
    if !status.success() {
        return Err(format!("python3 -m venv failed ({status})"));
    }
    let out = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "obd"])
        .output()
        .await
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !out.status.success() || !has_obd().await {
        return Err(format!(
            "pip install obd failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(python_text)
}

/// Runs the script against `port` and reads its JSON line.
async fn script(python: &str, port: &str, rounds: u32, fast: bool) -> Result<Run, String> {
    let child = Command::new(python)
        .arg(root().join("benches/python_obd_rate.py"))
        .args([port, &rounds.to_string(), if fast { "1" } else { "0" }])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start python: {e}"))?;
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .map_err(|_| format!("no result within {RUN_LIMIT:?}"))?
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            format!(
                "no JSON from the script: {} {}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    if let Some(error) = json["error"].as_str() {
        return Err(error.to_string());
    }
    Ok(Run {
        values: json["values"].as_u64().ok_or("no values")?,
        seconds: json["seconds"].as_f64().ok_or("no seconds")?,
        sent: 0,
        received: 0,
        commands: 0,
    })
}

/// python-OBD's rate, talking to the simulator's pty directly.
pub async fn rate(
    python: &str,
    latency: &SimLatency,
    rounds: u32,
    fast: bool,
) -> Result<Run, String> {
    let server = super::simulator(latency).await;
    script(python, &server.path().to_string_lossy(), rounds, fast).await
}

/// Bytes per value (to the adapter, from it) and commands per value of python-OBD's workload:
/// two relayed runs of different lengths, so that start-up traffic cancels out.
pub async fn per_value(python: &str, latency: &SimLatency, fast: bool) -> Result<PerValue, String> {
    let mut counts = Vec::new();
    for rounds in [4, 14] {
        let server = super::simulator(latency).await;
        let counter = Counter::default();
        let (port, relay) = counting_relay(&server.path().to_string_lossy(), counter.clone()).await;
        let run = script(python, &port, rounds, fast).await;
        relay.abort();
        let run = run?;
        counts.push((run.values, counter.get()));
    }
    let (v1, (s1, r1, c1)) = counts[0];
    let (v2, (s2, r2, c2)) = counts[1];
    if v2 <= v1 {
        return Err(format!("no values counted ({v1} then {v2})"));
    }
    let values = (v2 - v1) as f64;
    Ok(PerValue {
        sent: (s2 - s1) as f64 / values,
        received: (r2 - r1) as f64 / values,
        commands: (c2 - c1) as f64 / values,
    })
}
