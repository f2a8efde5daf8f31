//! The ELM327 transport's serial path on a real pseudo-terminal, with a scripted adapter on
//! the other end recording every command it receives.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use obd_agent::transport::elm327::{Elm327Options, Elm327Transport};
use obd_agent::transport::{ObdRequest, Transport};

/// A pty whose master end runs `answer` for each CR-terminated command, on a thread.
fn scripted_adapter(
    mut answer: impl FnMut(&str) -> String + Send + 'static,
) -> (String, Arc<Mutex<Vec<String>>>, OwnedFd) {
    let pty = openpty(None, None).expect("openpty");
    let mut attrs = tcgetattr(&pty.slave).expect("tcgetattr");
    cfmakeraw(&mut attrs);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &attrs).expect("raw mode");
    let path = nix::unistd::ttyname(&pty.slave)
        .expect("ttyname")
        .display()
        .to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let mut master = std::fs::File::from(pty.master);
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                return;
            }
            for &b in &buf[..n] {
                if b != b'\r' {
                    line.push(b);
                    continue;
                }
                let command = String::from_utf8_lossy(&line).to_string();
                line.clear();
                seen.lock().unwrap().push(command.clone());
                let text = format!("{}\r\r>", answer(&command));
                if master.write_all(text.as_bytes()).is_err() {
                    return;
                }
            }
        }
    });
    // The slave stays open here so the pty is not hung up between client opens.
    (path, log, pty.slave)
}

#[tokio::test]
async fn baud_probing_never_sends_a_bare_cr() {
    let mut probes = 0;
    let (path, log, _slave) = scripted_adapter(move |command| {
        match command {
            // The first probe lands on noise left by an earlier rate, as on a real line.
            "ATI" if probes == 0 => {
                probes += 1;
                "?".into()
            }
            "ATI" | "ATZ" => "ELM327 v1.5".into(),
            "ATDPN" => "A6".into(),
            c if c.starts_with("AT") => "OK".into(),
            "0100" => "SEARCHING...\r7E8064100BE3FA813".into(),
            _ => "NO DATA".into(),
        }
    });
    let mut options = Elm327Options::new(path);
    options.command_timeout = Duration::from_secs(2);
    let mut transport = Elm327Transport::open(options)
        .await
        .expect("opens and probes");
    let answers = transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .expect("0100");
    assert_eq!(answers.len(), 1);
    let log = log.lock().unwrap();
    assert!(
        !log.iter().any(String::is_empty),
        "a bare CR repeats the last command: {log:?}"
    );
    let first_reset = log.iter().position(|c| c == "ATZ").expect("resets");
    assert!(log[..first_reset].iter().all(|c| c == "ATI"), "{log:?}");
}

#[tokio::test]
async fn a_silent_adapter_is_named_with_the_rates_tried() {
    // A pty with nobody answering on the master end: what an unpowered adapter looks like.
    let pty = openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(&pty.slave)
        .expect("ttyname")
        .display()
        .to_string();
    let err = match Elm327Transport::open(Elm327Options::new(path.clone())).await {
        Ok(_) => panic!("a silent line must not open"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&path), "{err}");
    assert!(err.contains("38400") && err.contains("9600"), "{err}");
    drop(pty);
}
