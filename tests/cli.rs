//! The command line as a technician uses it: output, exit codes and advice on errors.

use std::process::{Command, Output};

fn obd_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn decode_several_responses_as_text() {
    let out = obd_agent(&["decode", "41 0C 1A F8", "4301430196", "43 02 01 43 01 96"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Engine speed: 1726 rpm"), "{text}");
    assert_eq!(
        text.matches("stored codes: P0143, P0196").count(),
        2,
        "{text}"
    );
}

#[test]
fn decode_json_has_the_values() {
    let out = obd_agent(&["decode", "--json", "410D32", "4A0101430000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["data"][0]["values"][0]["value"], 50.0);
    assert_eq!(lines[1]["data"]["codes"][0], "P0143");
}

#[test]
fn decode_rejects_bad_input_with_the_accepted_form() {
    let out = obd_agent(&["decode", "41 0C 1A F8", "41 0G"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("1726"),
        "good inputs are still decoded"
    );
    assert!(
        stderr(&out).contains("'41 0G' is not hex"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("41 0C 1A F8"),
        "names the accepted form"
    );
}

#[test]
fn decode_names_a_refusal() {
    let out = obd_agent(&["decode", "7F 04 22"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("conditions not correct"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_port_says_where_to_look() {
    let out = obd_agent(&["scan", "--port", "/dev/ttyUSB-does-not-exist"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("/dev/ttyUSB-does-not-exist"), "{err}");
    assert!(err.contains("plugged in"), "{err}");
}

#[test]
fn an_unknown_pid_name_is_a_usage_error() {
    let out = obd_agent(&["live", "--port", "/dev/null", "--pids", "rpm,warp_speed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("warp_speed"), "{}", stderr(&out));
}

#[test]
fn live_lists_pid_names() {
    let out = obd_agent(&["live", "--list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("0C  rpm"), "{text}");
    assert!(text.contains("coolant_temp"), "{text}");
}

#[test]
fn no_adapter_given_is_a_usage_error_with_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(["scan"])
        .env_remove("OBD_AGENT_PORT")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--port"), "{}", stderr(&out));
}

#[test]
fn permission_denied_points_to_the_dialout_group() {
    // Needs root to create a port another user cannot open; CI runs as root.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--version").output().is_err()
    {
        eprintln!("skipped: needs root and setpriv to run as an unprivileged user");
        return;
    }
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_obd-agent"))
        .args(["scan", "--port"])
        .arg(&path)
        .output()
        .expect("setpriv runs");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("dialout"), "{}", stderr(&out));
}

#[test]
fn a_broken_config_names_the_key_and_the_fix_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "vehicle_id = \"V1\"\n[adapter]\nsim = \"healthy\"\n[poll]\ndtc_interval = \"fast\"\n",
    )
    .unwrap();
    let out = obd_agent(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("dtc_interval"), "{text}");
    assert!(text.contains("\"fast\"") || text.contains("fast"), "{text}");
    assert!(text.contains("for example"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
