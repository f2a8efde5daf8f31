//! The test plays systemd: it binds the datagram socket that `$NOTIFY_SOCKET` names and reads
//! what the agent sends. Variables come from a map, not the process environment, so tests run
//! in parallel without touching each other.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;

use super::*;

const OUR_PID: u32 = 4242;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, OsString> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect()
}

fn notifier(pairs: &[(&str, &str)]) -> Option<Notifier> {
    let vars = vars(pairs);
    Notifier::from_lookup(|name| vars.get(name).cloned(), OUR_PID)
}

/// systemd's side: a bound socket in a temp dir, and the notifier pointed at it.
fn systemd_socket(extra: &[(&str, &str)]) -> (tempfile::TempDir, UnixDatagram, Notifier) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let systemd = UnixDatagram::bind(&path).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let mut pairs = vec![("NOTIFY_SOCKET", path.to_str().unwrap())];
    pairs.extend_from_slice(extra);
    let notifier = notifier(&pairs).expect("a valid NOTIFY_SOCKET gives a notifier");
    (dir, systemd, notifier)
}

/// Every datagram waiting on the socket, each as text.
fn received(systemd: &UnixDatagram) -> Vec<String> {
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = systemd.recv(&mut buf) {
        messages.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    messages
}

#[test]
fn each_message_is_one_datagram_in_systemds_format() {
    let (_dir, systemd, notifier) = systemd_socket(&[]);
    notifier.ready();
    notifier.status("polling every 10s, adapter /dev/ttyUSB0");
    notifier.ping();
    notifier.stopping();
    assert_eq!(
        received(&systemd),
        [
            "READY=1",
            "STATUS=polling every 10s, adapter /dev/ttyUSB0",
            "WATCHDOG=1",
            "STOPPING=1",
        ]
    );
}

#[test]
fn a_status_stays_one_assignment() {
    // A newline would start a second KEY=value line, letting text like an adapter's banner
    // set arbitrary notification keys.
    let (_dir, systemd, notifier) = systemd_socket(&[]);
    notifier.status("link lost\nREADY=1\r\n");
    notifier.status(&"é".repeat(MAX_STATUS_BYTES));
    let messages = received(&systemd);
    assert_eq!(messages[0], "STATUS=link lost READY=1  ");
    let long = messages[1].strip_prefix("STATUS=").unwrap();
    assert!(long.len() <= MAX_STATUS_BYTES);
    assert!(
        long.chars().all(|c| c == 'é'),
        "cut on a character boundary"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn an_abstract_socket_is_reached_by_its_at_name() {
    use std::os::linux::net::SocketAddrExt;
    // Abstract names are global to the network namespace: make this one unique.
    let name = format!(
        "obd-agent-test-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let systemd =
        UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let notifier = notifier(&[("NOTIFY_SOCKET", &format!("@{name}"))]).unwrap();
    notifier.ready();
    assert_eq!(received(&systemd), ["READY=1"]);
}

#[test]
fn no_usable_notify_socket_means_no_notifier() {
    assert!(notifier(&[]).is_none(), "not started by systemd");
    for bad in ["", "@", "relative/notify", "vsock:2:1234"] {
        assert!(
            notifier(&[("NOTIFY_SOCKET", bad)]).is_none(),
            "NOTIFY_SOCKET={bad:?}"
        );
    }
    let too_long = format!("/{}", "x".repeat(200));
    assert!(notifier(&[("NOTIFY_SOCKET", &too_long)]).is_none());
}

#[test]
fn the_watchdog_is_pinged_at_half_its_timeout() {
    let (_dir, _systemd, notifier) = systemd_socket(&[("WATCHDOG_USEC", "60000000")]);
    assert_eq!(notifier.watchdog_interval(), Some(Duration::from_secs(30)));
    let pid = OUR_PID.to_string();
    let (_dir, _systemd, notifier) =
        systemd_socket(&[("WATCHDOG_USEC", "60000000"), ("WATCHDOG_PID", &pid)]);
    assert_eq!(notifier.watchdog_interval(), Some(Duration::from_secs(30)));
}

#[test]
fn a_watchdog_for_another_process_or_unreadable_is_not_ours() {
    for pairs in [
        vec![],
        vec![("WATCHDOG_USEC", "60000000"), ("WATCHDOG_PID", "1")],
        vec![("WATCHDOG_USEC", "60000000"), ("WATCHDOG_PID", "me")],
        vec![("WATCHDOG_USEC", "0")],
        vec![("WATCHDOG_USEC", "-5")],
        vec![("WATCHDOG_USEC", "60s")],
        vec![("WATCHDOG_PID", "4242")],
    ] {
        let (_dir, _systemd, notifier) = systemd_socket(&pairs);
        assert_eq!(notifier.watchdog_interval(), None, "{pairs:?}");
    }
}

#[test]
fn a_vanished_socket_is_survived_and_logged_once() {
    let (dir, _systemd, notifier) = systemd_socket(&[]);
    std::fs::remove_file(dir.path().join("notify")).unwrap();
    notifier.ready();
    assert!(notifier.warned.load(Ordering::Relaxed));
    notifier.ping();
    notifier.stopping();
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_task_pings_on_schedule_until_shutdown() {
    let (_dir, systemd, notifier) = systemd_socket(&[("WATCHDOG_USEC", "60000000")]);
    let (stop, shutdown) = watch::channel(false);
    let stop_later = async {
        tokio::time::sleep(Duration::from_secs(75)).await;
        let _ = stop.send(true);
    };
    // Pings at 0 s, 30 s and 60 s; the stop at 75 s ends the task.
    tokio::join!(watchdog(&notifier, shutdown), stop_later);
    assert_eq!(received(&systemd), ["WATCHDOG=1"; 3]);
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_task_ends_with_its_shutdown_sender() {
    let (_dir, systemd, notifier) = systemd_socket(&[("WATCHDOG_USEC", "60000000")]);
    let (stop, shutdown) = watch::channel(false);
    drop(stop);
    tokio::time::timeout(Duration::from_secs(1), watchdog(&notifier, shutdown))
        .await
        .expect("returns when nobody can signal shutdown any more");
    assert!(received(&systemd).len() <= 1);
}

#[tokio::test(start_paused = true)]
async fn without_a_watchdog_the_task_returns_at_once() {
    let (_dir, systemd, notifier) = systemd_socket(&[]);
    let (_stop, shutdown) = watch::channel(false);
    tokio::time::timeout(Duration::from_secs(1), watchdog(&notifier, shutdown))
        .await
        .expect("nothing to ping");
    assert!(received(&systemd).is_empty());
}
