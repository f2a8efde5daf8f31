//! A real Mosquitto broker for integration tests, on a free loopback port.
//!
//! `Mosquitto::start()` returns `None` (after a loud message) only when the `mosquitto` binary is
//! missing; the CI script installs the Debian packages `mosquitto` and `mosquitto-clients`.
//! The broker is killed on drop and can be stopped and restarted on the same port. With
//! `start_tls()` it also listens with TLS, using a CA and server certificate generated per test.
//!
//! `Subscriber` runs `mosquitto_sub -v` as an independent client and collects its lines.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a broker or subscriber may take to come up.
const READY: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Files of a generated TLS setup.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub struct Mosquitto {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    tls_port: Option<u16>,
    tls: Option<TlsFiles>,
    /// Keep sessions and queued messages across a graceful restart.
    persistent: bool,
    acl: Option<PathBuf>,
    child: Option<Child>,
}

impl Mosquitto {
    /// A plain listener, or `None` if mosquitto is not installed.
    pub fn start() -> Option<Mosquitto> {
        Self::start_with(false, false)
    }

    /// A plain listener plus a TLS listener that requires a client certificate.
    pub fn start_tls() -> Option<Mosquitto> {
        Self::start_with(true, false)
    }

    /// With persistence on: sessions and queued messages survive [`Mosquitto::stop_gracefully`].
    pub fn start_persistent() -> Option<Mosquitto> {
        Self::start_with(false, false)
            .map(|mut broker| {
                broker.persistent = true;
                broker
            })
            .map(Self::reconfigured)
    }

    /// With a Mosquitto ACL file (`topic read|write|readwrite <filter>` lines apply to
    /// anonymous clients); MQTT 5 clients get "not authorized" PubAcks for denied publishes.
    pub fn start_with_acl(acl: &str) -> Option<Mosquitto> {
        Self::start_with(false, false)
            .map(|mut broker| {
                let path = broker.dir.path().join("acl");
                std::fs::write(&path, acl).expect("write ACL");
                broker.acl = Some(path);
                broker
            })
            .map(Self::reconfigured)
    }

    fn reconfigured(mut self) -> Mosquitto {
        self.write_config();
        self.restart();
        self
    }

    fn start_with(tls: bool, persistent: bool) -> Option<Mosquitto> {
        let Some(binary) = find_binary("mosquitto") else {
            eprintln!(
                "\n!!!!!!!! SKIPPED: the mosquitto binary is not installed \
                 (apt-get install -y mosquitto mosquitto-clients) !!!!!!!!\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        // Started as root, mosquitto drops to its own user: it must still be able to write its
        // log and persistence file here.
        {
            use std::os::unix::fs::PermissionsExt;
            let open = std::fs::Permissions::from_mode(0o777);
            std::fs::set_permissions(dir.path(), open).expect("chmod test directory");
        }
        let port = free_port();
        let (tls_port, tls_files) = if tls {
            (Some(free_port()), Some(generate_tls(dir.path())))
        } else {
            (None, None)
        };
        let mut broker = Mosquitto {
            binary,
            dir,
            port,
            tls_port,
            tls: tls_files,
            persistent,
            acl: None,
            child: None,
        };
        broker.write_config();
        broker.restart();
        Some(broker)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The broker's log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    fn write_config(&self) {
        let mut config = format!(
            "per_listener_settings false\n\
             allow_anonymous true\n\
             persistence {persistent}\n\
             persistence_location {dir}/\n\
             log_dest file {log}\n\
             log_type all\n\
             max_queued_messages 100000\n\
             listener {port} 127.0.0.1\n",
            log = self.dir.path().join("mosquitto.log").display(),
            port = self.port,
            persistent = self.persistent,
            dir = self.dir.path().display(),
        );
        if let Some(acl) = &self.acl {
            config.push_str(&format!("acl_file {}\n", acl.display()));
        }
        if let (Some(port), Some(tls)) = (self.tls_port, &self.tls) {
            let dir = self.dir.path();
            config.push_str(&format!(
                "listener {port} 127.0.0.1\n\
                 cafile {ca}\n\
                 certfile {cert}\n\
                 keyfile {key}\n\
                 require_certificate true\n",
                ca = tls.ca.display(),
                cert = dir.join("server.pem").display(),
                key = dir.join("server.key").display(),
            ));
        }
        std::fs::write(self.dir.path().join("mosquitto.conf"), config).expect("write config");
    }

    /// Stops the broker (as a crash would: clients see the connection drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker with SIGTERM, so a persistent one saves its sessions first.
    pub fn stop_gracefully(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + READY;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts (again) on the same port(s) and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + READY;
        let ports = [Some(self.port), self.tls_port];
        for port in ports.into_iter().flatten() {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "mosquitto did not listen on {port}:\n{}",
                    self.log()
                );
                std::thread::sleep(POLL);
            }
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM files.
fn generate_tls(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "obd-agent test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("certificate");
        (cert.pem(), key.serialize_pem())
    };
    let (server_pem, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_pem, client_key) = leaf(vec!["vehicle-tls".into()]);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path
    };
    write("server.pem", &server_pem);
    write("server.key", &server_key);
    TlsFiles {
        ca: write("ca.pem", &ca_cert.pem()),
        client_cert: write("client.pem", &client_pem),
        client_key: write("client.key", &client_key),
    }
}

/// `mosquitto_sub -v` on a topic filter: an independent client that sees what the broker
/// delivers, one `topic payload` line per message.
pub struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Subscriber {
    /// Subscribes with QoS 1 and waits until the subscription is in place.
    pub fn start(broker: &Mosquitto, filter: &str) -> Subscriber {
        Self::spawn(broker, filter, None)
    }

    /// With a persistent session under `client_id`: after a broker restart it resumes and
    /// receives what was queued for it meanwhile.
    pub fn start_persistent(broker: &Mosquitto, filter: &str, client_id: &str) -> Subscriber {
        Self::spawn(broker, filter, Some(client_id))
    }

    fn spawn(broker: &Mosquitto, filter: &str, client_id: Option<&str>) -> Subscriber {
        static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let probe = format!(
            "probe/{}-{}",
            std::process::id(),
            PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let binary = find_binary("mosquitto_sub").expect("mosquitto_sub (mosquitto-clients)");
        let port = broker.port().to_string();
        let mut command = Command::new(binary);
        command
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(["-t", filter, "-t", &probe, "-q", "1", "-v"]);
        if let Some(id) = client_id {
            command.args(["-c", "-i", id]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto_sub");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut subscriber = Subscriber {
            child,
            lines,
            seen: Vec::new(),
        };
        // Ready once a probe published after the subscription comes back (mosquitto_sub
        // flushes each message, not its debug lines).
        let publisher = find_binary("mosquitto_pub").expect("mosquitto_pub (mosquitto-clients)");
        let deadline = Instant::now() + READY;
        loop {
            let _ = Command::new(&publisher)
                .args(["-h", "127.0.0.1", "-p", &port, "-t", &probe, "-m", "ready"])
                .status();
            if subscriber.wait_raw(|line| line.starts_with(&probe), POLL * 10) {
                break;
            }
            assert!(Instant::now() < deadline, "mosquitto_sub did not subscribe");
        }
        subscriber
    }

    fn wait_raw(&mut self, done: impl Fn(&str) -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(POLL * 10)) {
                Ok(line) => {
                    let hit = done(&line);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) if Instant::now() >= deadline => return false,
                Err(_) => {}
            }
        }
    }

    /// Messages received so far as `(topic, payload)`, debug lines left out.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.seen
            .iter()
            .filter(|line| !line.starts_with("probe/"))
            .filter_map(|line| line.split_once(' '))
            .map(|(t, p)| (t.to_string(), p.to_string()))
            .collect()
    }

    /// Waits until `done` holds for the messages received, or `limit` passes.
    pub fn wait_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&[(String, String)]) -> bool,
    ) -> Vec<(String, String)> {
        let deadline = Instant::now() + limit;
        while !done(&self.messages()) && Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(POLL * 5) {
                self.seen.push(line);
                // Take everything already there before checking again.
                self.seen.extend(self.lines.try_iter());
            }
        }
        self.messages()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
