//! Recovery paths, against a scripted adapter that misbehaves the way real clones do.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;
use crate::transport::EcuAddress;

type Script = Box<dyn FnMut(&str) -> Option<String> + Send>;

/// Marks where a scripted answer pauses.
const PAUSE: &str = "<pause>";

/// Runs `script` as the adapter: each CR-terminated command gets its answer and a prompt
/// (`None` stays silent). Returns our end of the link and the log of commands received.
fn adapter(mut script: Script) -> (DuplexStream, Arc<Mutex<Vec<String>>>) {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = theirs.read(&mut buf).await {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if b != b'\r' {
                    line.push(b);
                    continue;
                }
                let command = String::from_utf8_lossy(&line).to_string();
                line.clear();
                seen.lock().unwrap().push(command.clone());
                if let Some(answer) = script(&command) {
                    // `PAUSE` splits an answer into writes 20 ms apart, as a slow bus does.
                    let text = format!("{answer}\r\r>");
                    for (i, part) in text.split(PAUSE).enumerate() {
                        if i > 0 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        if theirs.write_all(part.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    (ours, log)
}

/// A well-behaved adapter on CAN 11/500, with overrides for chosen commands.
fn elm(mut special: impl FnMut(&str) -> Option<Option<String>> + Send + 'static) -> Script {
    Box::new(move |command| {
        if let Some(answer) = special(command) {
            return answer;
        }
        let answer = match command {
            "ATZ" | "ATI" => "ELM327 v1.5",
            c if c.starts_with("AT") && c != "ATDPN" && c != "ATRV" => "OK",
            "ATDPN" => "A6",
            "ATRV" => "12.4V",
            "0100" | "01001" => "7E8064100BE3FA813",
            "010C" | "010C1" => "7E804410C1AF8",
            _ => "NO DATA",
        };
        Some(answer.to_string())
    })
}

fn options() -> Elm327Options {
    let mut options = Elm327Options::new("test");
    options.command_timeout = Duration::from_millis(500);
    options.search_timeout = Duration::from_millis(500);
    options.reset_timeout = Duration::from_millis(500);
    options
}

async fn connect(script: Script) -> (Elm327Transport<DuplexStream>, Arc<Mutex<Vec<String>>>) {
    let (link, log) = adapter(script);
    let mut transport = Elm327Transport::from_link(link, options());
    transport.initialise().await.expect("initialise");
    (transport, log)
}

fn rpm_request() -> ObdRequest {
    ObdRequest::new([0x01, 0x0C]).expecting(1)
}

fn rpm_answer() -> Vec<EcuResponse> {
    vec![EcuResponse {
        ecu: EcuAddress::Can11(0x7E8),
        data: vec![0x41, 0x0C, 0x1A, 0xF8],
    }]
}

#[tokio::test(start_paused = true)]
async fn initialises_and_finds_the_protocol() {
    let (mut transport, log) = connect(elm(|_| None)).await;
    assert_eq!(
        transport
            .request(&ObdRequest::new([0x01, 0x00]))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(transport.link().protocol, Some(Protocol::Can11_500));
    assert_eq!(transport.link().adapter, "ELM327 v1.5");
    assert!(transport.supports_multi_pid());
    assert_eq!(transport.battery_voltage().await.unwrap(), Some(12.4));
    let log = log.lock().unwrap();
    let start = log.iter().position(|c| c == "ATZ").unwrap();
    assert_eq!(
        log[start..start + 7],
        ["ATZ", "ATE0", "ATL0", "ATS0", "ATH1", "ATAT1", "ATSP0"]
    );
    assert!(
        !log.iter().any(String::is_empty),
        "never sends a bare CR: it repeats the last command"
    );
}

#[tokio::test(start_paused = true)]
async fn a_clone_without_adaptive_timing_still_works() {
    let (mut transport, _) = connect(elm(|c| (c == "ATAT1").then(|| Some("?".into())))).await;
    assert_eq!(transport.request(&rpm_request()).await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_adapter_refusing_echo_off_is_an_error() {
    let (link, _) = adapter(elm(|c| (c == "ATE0").then(|| Some("?".into()))));
    let mut transport = Elm327Transport::from_link(link, options());
    let err = transport.initialise().await.unwrap_err();
    assert!(
        matches!(err, TransportError::Rejected { ref command, .. } if command == "ATE0"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_count_digit_is_dropped_for_good() {
    let (mut transport, log) = connect(elm(|c| (c == "010C1").then(|| Some("?".into())))).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "010C1").count(), 1);
    assert_eq!(log.iter().filter(|c| *c == "010C").count(), 2);
}

#[tokio::test(start_paused = true)]
async fn no_data_only_with_the_count_digit_disables_it() {
    let (mut transport, _) = connect(elm(|c| (c == "010C1").then(|| Some("NO DATA".into())))).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    assert_eq!(transport.count_hint, CountHint::Broken);
}

#[tokio::test(start_paused = true)]
async fn an_adapter_reset_mid_session_is_recovered() {
    let mut resets = 1;
    let (mut transport, log) = connect(elm(move |c| {
        (c == "010C1" && resets > 0).then(|| {
            resets -= 1;
            Some("\r\rELM327 v1.5".into())
        })
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    let log = log.lock().unwrap();
    let after = log.iter().rposition(|c| c == "ATE0").unwrap();
    assert_eq!(
        log[after + 5],
        "ATSP6",
        "keeps the protocol it found: {log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_garbled_answer_is_asked_again() {
    let mut garbled = 1;
    let (mut transport, log) = connect(elm(move |c| {
        (c == "010C1" && garbled > 0).then(|| {
            garbled -= 1;
            Some("7E80441".into())
        })
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    // Asked again without the count digit: a count too small also cuts answers short.
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "010C1").count(), 1, "{log:?}");
    assert_eq!(log.iter().filter(|c| *c == "010C").count(), 1, "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn an_answer_to_another_request_is_not_returned() {
    let mut stale = 1;
    let (mut transport, _) = connect(elm(move |c| {
        (c == "010C1" && stale > 0).then(|| {
            stale -= 1;
            Some("7E8064100BE3FA813".into())
        })
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
}

#[tokio::test(start_paused = true)]
async fn response_pending_is_dropped_once_the_answer_arrives() {
    let (mut transport, _) = connect(elm(|c| {
        (c == "03").then(|| Some("7E8037F0378\r7E8044301 0300".into()))
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let answer = transport.request(&ObdRequest::new([0x03])).await.unwrap();
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].data, vec![0x43, 0x01, 0x03, 0x00]);
}

#[tokio::test(start_paused = true)]
async fn unable_to_connect_means_no_vehicle() {
    let (mut transport, _) = connect(elm(|c| {
        c.starts_with("01")
            .then(|| Some("SEARCHING...\rUNABLE TO CONNECT".into()))
    }))
    .await;
    let err = transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::NoVehicle { .. }), "{err}");
    assert!(err.to_string().contains("ignition"));
}

#[tokio::test(start_paused = true)]
async fn a_silent_adapter_times_out_instead_of_hanging() {
    let (mut transport, _) = connect(elm(|c| c.starts_with("01").then_some(None))).await;
    let err = transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    assert!(err.needs_reconnect());
}

#[tokio::test(start_paused = true)]
async fn something_that_is_not_an_elm327_is_named() {
    let (link, _) = adapter(Box::new(|_| Some("HELLO".into())));
    let mut transport = Elm327Transport::from_link(link, options());
    let err = transport.initialise().await.unwrap_err();
    assert!(matches!(err, TransportError::NotAnElm327 { .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_closed_link_is_a_disconnect() {
    let (mut transport, _) = connect(elm(|_| None)).await;
    // Swap in a link whose far end is already gone, as when the adapter is unplugged.
    let (ours, theirs) = tokio::io::duplex(64);
    drop(theirs);
    transport.session = session::Session::new(ours);
    let err = transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Disconnected), "{err}");
    assert!(err.needs_reconnect());
}

#[tokio::test(start_paused = true)]
async fn request_length_limits() {
    let (mut transport, _) = connect(elm(|_| None)).await;
    assert!(
        transport
            .request(&ObdRequest::new(Vec::<u8>::new()))
            .await
            .is_err()
    );
    assert!(
        transport
            .request(&ObdRequest::new([1, 2, 3, 4, 5, 6, 7, 8]))
            .await
            .is_err()
    );
}

mod faults;

/// The reader once put a frame count in the message count, which made SocketCAN wait out P2 on
/// every multi-frame answer. The ELM327 digit counts lines, so it takes the frame count.
#[tokio::test(start_paused = true)]
async fn regression_the_count_digit_is_the_frame_count_not_the_message_count() {
    let (mut transport, log) = connect(elm(|_| None)).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let request = ObdRequest::new([0x01, 0x05, 0x0C, 0x0D])
        .expecting(2)
        .in_frames(Some(3));
    let _ = transport.request(&request).await;
    assert!(
        log.lock().unwrap().iter().any(|c| c == "01050C0D3"),
        "{:?}",
        log.lock().unwrap()
    );
}
