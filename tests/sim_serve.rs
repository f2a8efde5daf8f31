//! The simulator as a host sees it: a real pseudo-terminal opened with tokio-serial, and a
//! TCP port like a WiFi adapter's.

use std::time::Duration;

use obd_agent::sim::{Scenario, SimLatency, SimSettings, serve_pty, serve_tcp};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_serial::SerialPortBuilderExt;

fn settings(scenario: Scenario) -> SimSettings {
    SimSettings {
        latency: SimLatency::zero(),
        baud: None,
        ..SimSettings::new(scenario)
    }
}

/// Sends one command and reads up to the prompt, as host code does.
async fn ask<S: AsyncRead + AsyncWrite + Unpin>(port: &mut S, command: &str) -> String {
    port.write_all(format!("{command}\r").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    let read = async {
        while !answer.ends_with(b">") {
            let n = port.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {answer:?}");
            answer.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("no prompt after {command}"));
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_pseudo_terminal_behaves_like_a_serial_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("elm327");
    let server = serve_pty(settings(Scenario::Healthy), Some(&link))
        .await
        .unwrap();
    assert_eq!(server.path(), link);
    assert!(server.device().starts_with("/dev/"));

    let path = link.to_string_lossy().into_owned();
    let mut port = tokio_serial::new(&path, 38400).open_native_async().unwrap();
    assert_eq!(ask(&mut port, "ATZ").await, "ATZ\r\r\rELM327 v2.1\r\r>");
    assert_eq!(ask(&mut port, "ATE0").await, "ATE0\rOK\r\r>");
    assert_eq!(
        ask(&mut port, "0100").await,
        "SEARCHING...\r41 00 BE 3F 80 13 \r\r>"
    );
    drop(port);

    // A host that closes and opens the port again finds the adapter as it left it.
    let mut port = tokio_serial::new(&path, 38400).open_native_async().unwrap();
    assert_eq!(ask(&mut port, "ATDPN").await, "A6\r\r>");
    drop(port);

    drop(server);
    assert!(
        link.symlink_metadata().is_err(),
        "the link goes with the server"
    );
}

#[tokio::test]
async fn a_tcp_port_behaves_like_a_wifi_adapter() {
    let server = serve_tcp(settings(Scenario::MultiEcu), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(ask(&mut conn, "ATE0").await, "ATE0\rOK\r\r>");
    assert_eq!(ask(&mut conn, "ATSP6").await, "OK\r\r>");
    assert_eq!(ask(&mut conn, "04").await, "44 \r44 \r\r>");
    drop(conn);
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        ask(&mut conn, "07").await,
        "47 00 \r47 00 \r\r>",
        "the clear stuck"
    );
}
