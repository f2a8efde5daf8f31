//! `obd-agent run` as the daemon tests start it: a config on a simulated car and a local
//! broker, and a process that is killed when the test lets go of it.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Writes `dir/config.toml` for `vehicle` on the simulated `scenario`, storing in
/// `dir/agent.db`, publishing to 127.0.0.1:`port`; `extra` is appended (further sections).
pub fn write_config(dir: &Path, vehicle: &str, port: u16, scenario: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        r#"vehicle_id = "{vehicle}"
[adapter]
sim = "{scenario}"
[poll]
dtc_interval = "5s"
pid_interval = "1s"
telemetry_interval = "1h"
[store]
path = "{db}"
[mqtt]
url = "mqtt://127.0.0.1:{port}"
keep_alive = "5s"
{extra}
"#,
        db = dir.join("agent.db").display(),
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running agent; SIGKILLed when dropped unless the test killed it first.
pub struct Agent(pub Child);

impl Agent {
    pub fn start(config: &Path) -> Agent {
        Agent(
            Command::new(env!("CARGO_BIN_EXE_obd-agent"))
                .args(["run", "--config"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start obd-agent"),
        )
    }

    /// A power cut, as far as the agent can tell.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A finished `obd-agent` command as an assertion message: exit code and both streams.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
