//! Telling systemd how the agent is doing (`sd_notify`), without libsystemd: one datagram per
//! message to the unix socket named by `$NOTIFY_SOCKET`, each message one or more `KEY=value`
//! lines. The unit (`systemd/obd-agent.service`) is `Type=notify` with `WatchdogSec=`, so:
//!
//! - `READY=1` ends the start-up: until it arrives the unit is "activating", and if it never
//!   arrives within `TimeoutStartSec=` systemd kills and restarts the agent.
//! - `WATCHDOG=1` must arrive at least every `WatchdogSec=`; systemd passes that time in
//!   `$WATCHDOG_USEC` and we ping at half of it, so one late ping is not fatal.
//! - `STATUS=...` is the line `systemctl status obd-agent` shows.
//! - `STOPPING=1` says the shutdown is deliberate and under way.
//!
//! Invariants: nothing here can stop or block the agent for long. Outside systemd (a shell, the
//! tests, `scan`) there is no `$NOTIFY_SOCKET` and [`Notifier::from_env`] returns `None`. A send
//! that fails is logged once at `warn` (then at `debug`, so a vanished socket cannot flood the
//! journal) and otherwise ignored: a missed `READY=1` or ping is systemd's to act on, and
//! stopping the agent would lose more than it saves. Sends have a short timeout, because the
//! agent runs on a single-threaded runtime and PID 1 is normally quick to read.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, warn};

/// Longest a send may block. systemd reads its notification socket promptly; if it does not, a
/// dropped ping is better than a runtime stalled behind it.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest `STATUS=` text sent. systemd reads notifications into a buffer of a few KiB and drops
/// longer ones whole; a status line is meant to fit on one terminal line anyway.
const MAX_STATUS_BYTES: usize = 512;

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    /// Unbound datagram socket the messages are sent from; created once, not per message.
    socket: UnixDatagram,
    /// Where `$NOTIFY_SOCKET` points: a path, or an abstract name (`@name`).
    addr: SocketAddr,
    /// Half of `$WATCHDOG_USEC`, when the watchdog is on and meant for this process.
    watchdog_interval: Option<Duration>,
    /// Whether a failed send was already logged at `warn`.
    warned: AtomicBool,
}

impl Notifier {
    /// Connects to the socket systemd named in `$NOTIFY_SOCKET`; `None` when not started by
    /// systemd as a notify service, or when the variable is unusable (then logged).
    pub fn from_env() -> Option<Notifier> {
        Self::from_lookup(|name| std::env::var_os(name), std::process::id())
    }

    /// [`Notifier::from_env`] over any source of variables, for tests; `pid` is this process's.
    fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>, pid: u32) -> Option<Notifier> {
        let socket_var = lookup("NOTIFY_SOCKET")?;
        let addr = match socket_addr(&socket_var) {
            Ok(addr) => addr,
            Err(e) => {
                warn!(
                    "NOTIFY_SOCKET={}: {e}; not notifying systemd",
                    socket_var.to_string_lossy()
                );
                return None;
            }
        };
        let socket = match UnixDatagram::unbound() {
            Ok(socket) => socket,
            Err(e) => {
                warn!("cannot create a socket to notify systemd: {e}");
                return None;
            }
        };
        if let Err(e) = socket.set_write_timeout(Some(SEND_TIMEOUT)) {
            // Sends may then block longer than intended; still better than no notifications.
            debug!("cannot set a send timeout on the notify socket: {e}");
        }
        let watchdog_interval = watchdog_interval(
            lookup("WATCHDOG_USEC").as_deref(),
            lookup("WATCHDOG_PID").as_deref(),
            pid,
        );
        Some(Notifier {
            socket,
            addr,
            watchdog_interval,
            warned: AtomicBool::new(false),
        })
    }

    /// Start-up is done: the config is valid and the store is open. Not tied to a vehicle
    /// answering, which may not happen for days.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// One line for `systemctl status`; line breaks become spaces (each line would otherwise
    /// be read as a separate assignment) and long text is cut.
    pub fn status(&self, text: &str) {
        let mut line: String = text
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        if line.len() > MAX_STATUS_BYTES {
            let mut end = MAX_STATUS_BYTES;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
        }
        self.send(&format!("STATUS={line}"));
    }

    /// The agent is shutting down on purpose; sent before the (possibly slow) cleanup.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// How often to [`ping`](Self::ping): half the watchdog timeout, or `None` when systemd
    /// runs no watchdog for this process.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_interval
    }

    /// Tells the watchdog the agent is alive.
    pub fn ping(&self) {
        self.send("WATCHDOG=1");
    }

    fn send(&self, message: &str) {
        match self.socket.send_to_addr(message.as_bytes(), &self.addr) {
            Ok(_) => {}
            Err(e) => self.failed(message, &e),
        }
    }

    fn failed(&self, message: &str, error: &io::Error) {
        let key = message.split('=').next().unwrap_or(message);
        if self.warned.swap(true, Ordering::Relaxed) {
            debug!("cannot notify systemd ({key}): {error}");
        } else {
            warn!(
                "cannot notify systemd ({key}): {error}; carrying on (further failures are logged at debug level)"
            );
        }
    }
}

/// Pings the watchdog every [`Notifier::watchdog_interval`] until `shutdown` turns true (or its
/// sender goes away); returns at once when there is no watchdog.
///
/// Run it as its own task on the agent's runtime. The runtime is single-threaded, so a ping
/// that arrives proves the runtime still schedules tasks: a blocking call or a busy loop
/// elsewhere starves this task, the pings stop, and systemd restarts the agent. It proves
/// nothing about the vehicle link, which may legitimately be idle for hours (battery guard,
/// reconnect backoff).
pub async fn watchdog(notifier: &Notifier, mut shutdown: watch::Receiver<bool>) {
    let Some(period) = notifier.watchdog_interval() else {
        return;
    };
    let mut ticks = tokio::time::interval(period);
    // After a stall, ping once and carry on at the normal rate rather than in a burst.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            _ = ticks.tick() => notifier.ping(),
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// `$NOTIFY_SOCKET` as an address: an absolute path, or `@name` for Linux's abstract namespace.
fn socket_addr(value: &std::ffi::OsStr) -> io::Result<SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(value),
        Some(b'@') if bytes.len() > 1 => abstract_addr(&bytes[1..]),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is neither an absolute path nor an @abstract name",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names exist only on Linux",
    ))
}

/// Half the watchdog timeout, if there is one and it is for `pid`. systemd sets
/// `WATCHDOG_PID` so that a child which inherits the environment does not think the
/// watchdog is its own; when absent the watchdog is ours.
fn watchdog_interval(
    usec: Option<&std::ffi::OsStr>,
    watchdog_pid: Option<&std::ffi::OsStr>,
    pid: u32,
) -> Option<Duration> {
    let usec: u64 = usec?.to_str()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(owner) = watchdog_pid {
        let owner: u32 = owner.to_str()?.trim().parse().ok()?;
        if owner != pid {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests;
