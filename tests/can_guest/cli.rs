//! The command line in the guest, as a user runs it: `obd-agent sim --can` in one process
//! serving the ECUs, `obd-agent scan --can` and `live --can` in others reading them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::{IFACE, in_guest};

/// The CLI binary run.sh put in the guest, if it did.
fn agent_binary(test: &str) -> Option<std::ffi::OsString> {
    let bin = std::env::var_os("OBD_AGENT_BIN");
    if bin.is_none() {
        eprintln!("{test}: skipped, OBD_AGENT_BIN does not name the obd-agent binary");
    }
    bin
}

/// Starts `obd-agent sim --can` and waits until it says it is on the bus. Its stdout comes
/// back too: dropping it would close the pipe and end the simulator at its next line.
fn start_sim(bin: &std::ffi::OsStr, extended: bool) -> (Child, impl BufRead) {
    let mut args = vec!["sim", "--can", IFACE, "--scenario", "multi-ecu"];
    if extended {
        args.push("--extended");
    }
    let mut sim = Command::new(bin)
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start obd-agent sim");
    let mut line = String::new();
    let mut stdout = BufReader::new(sim.stdout.take().expect("piped"));
    stdout.read_line(&mut line).expect("sim says where it is");
    let ids = if extended {
        "18DAF110, 18DAF118"
    } else {
        "7E8, 7E9"
    };
    assert!(
        line.starts_with(&format!("ECUs {ids} on {IFACE}")),
        "{line}"
    );
    (sim, stdout)
}

#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn cli_scan_and_live_read_the_cli_simulator() {
    let test = "cli_scan_and_live_read_the_cli_simulator";
    if !in_guest(test) {
        return;
    }
    let Some(bin) = agent_binary(test) else {
        return;
    };
    for (extended, protocol) in [(false, "CAN 11/500"), (true, "CAN 29/500")] {
        let (mut sim, _sim_stdout) = start_sim(&bin, extended);
        let scan = Command::new(&bin)
            .args(["scan", "--can", IFACE])
            .output()
            .expect("run obd-agent scan");
        let live = Command::new(&bin)
            .args([
                "live",
                "--can",
                IFACE,
                "--pids",
                "rpm,speed",
                "--duration",
                "0.3",
            ])
            .output()
            .expect("run obd-agent live");
        sim.kill().expect("stop the simulator");
        let _ = sim.wait();
        let text = String::from_utf8_lossy(&scan.stdout);
        let err = String::from_utf8_lossy(&scan.stderr);
        assert!(scan.status.success(), "{text}\n{err}");
        assert!(
            text.contains(&format!("SocketCAN on {IFACE}, ISO 15765-4 ({protocol})")),
            "{text}"
        );
        for code in ["P0171", "P0174", "P0300", "P0302", "P0715", "P0420"] {
            assert!(text.contains(code), "{code} missing:\n{text}");
        }
        assert!(text.contains("1D4GP00R55B123456"), "{text}");
        let live_text = String::from_utf8_lossy(&live.stdout);
        assert!(
            live.status.success(),
            "{}",
            String::from_utf8_lossy(&live.stderr)
        );
        assert!(live_text.lines().count() >= 2, "{live_text}");
    }
}

/// `obd-agent run` (the daemon) with `[adapter] can = "vcan0"`: the same poller, diagnosis and
/// store as over ELM327. Without an `[mqtt]` section the faults land in the store only, which
/// is read back here.
#[test]
#[ignore = "needs vcan0: run tests/guest/run.sh"]
fn the_daemon_runs_unchanged_over_socketcan() {
    let test = "the_daemon_runs_unchanged_over_socketcan";
    if !in_guest(test) {
        return;
    }
    let Some(bin) = agent_binary(test) else {
        return;
    };
    let (mut sim, _sim_stdout) = start_sim(&bin, false);
    let dir = std::env::temp_dir().join("obd-agent-run-can");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("state directory");
    let db = dir.join("agent.db");
    let config = dir.join("config.toml");
    let text = format!(
        "vehicle_id = \"CAN-1\"\n[adapter]\ncan = \"{IFACE}\"\n[poll]\ndtc_interval = \"5s\"\npid_interval = \"1s\"\n[store]\npath = \"{}\"\n",
        db.display()
    );
    std::fs::write(&config, text).expect("config");
    let mut agent = Command::new(&bin)
        .args(["run", "--log", "info", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start obd-agent run");
    // Its log, kept for the failure message; read on a thread so a full pipe never stalls it.
    let mut log_pipe = agent.stderr.take().expect("piped");
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut log_pipe, &mut text);
        text
    });
    // Wait until the first full read of the codes is in the store, at most 20 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let codes = loop {
        let found: Vec<String> = rusqlite::Connection::open(&db)
            .and_then(|c| {
                let mut q = c.prepare("SELECT code FROM fault_events ORDER BY code")?;
                let rows = q.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect()
            })
            .unwrap_or_default();
        if found.len() >= 6 || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // SIGTERM, as systemd stops it: the daemon must exit cleanly.
    let _ = Command::new("kill").arg(agent.id().to_string()).status();
    let status = agent.wait().expect("agent exits");
    sim.kill().expect("stop the simulator");
    let _ = sim.wait();
    let log = log.join().unwrap_or_default();
    for code in ["P0171", "P0174", "P0300", "P0302", "P0420", "P0715"] {
        assert!(
            codes.iter().any(|c| c == code),
            "{code} missing from the store: {codes:?}\nthe daemon's log:\n{log}"
        );
    }
    assert!(
        status.success(),
        "the daemon exits 0 on SIGTERM: {status:?}\n{log}"
    );
}
