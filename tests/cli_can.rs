//! `--can` on the command line, where the host has no CAN: the options and the advice when the
//! interface is missing. The CAN path itself runs in the qemu guest (tests/can_guest.rs).

use std::process::{Command, Output};

fn obd_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obd-agent"))
        .args(args)
        .env_remove("OBD_AGENT_PORT")
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn can_excludes_port_and_sim() {
    for other in [["--port", "/dev/ttyUSB0"], ["--sim", "healthy"]] {
        let out = obd_agent(&["scan", "--can", "vcan0", other[0], other[1]]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
    let out = obd_agent(&["sim", "--extended"]);
    assert_eq!(out.status.code(), Some(2), "--extended needs --can");
}

#[test]
fn a_missing_interface_says_how_to_make_one() {
    let out = obd_agent(&["scan", "--can", "nocan9"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no CAN interface nocan9"), "{err}");
    assert!(err.contains("ip link add nocan9 type vcan"), "{err}");
    let out = obd_agent(&["sim", "--can", "nocan9"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no CAN interface nocan9"),
        "{}",
        stderr(&out)
    );
}
