//! A sans-io ELM327: bytes in, timed bytes out.
//!
//! [`Elm327Emulator::feed`] takes whatever the host wrote and returns [`Chunk`]s: wait
//! `delay`, then write `bytes`. No clocks, no I/O; the shells in `serve.rs` sleep and write.
//!
//! Defaults after power-up, ATZ, ATWS and ATD (the datasheet's factory settings): echo on
//! (E1), spaces on (S1), headers off (H0), linefeeds off (L0, which the datasheet ties to pin
//! 7; adapters commonly strap it low), adaptive timing 1, timeout 32 (200 ms), CAN auto
//! formatting and flow control on. The protocol setting survives a reset (AT SP stores it, as
//! the chip writes it to EEPROM); a protocol found by an automatic search does not.
//!
//! Input: characters are echoed as they arrive (E1), so a command's own echo precedes its
//! answer even when that command is `AT E0`; the CR is echoed as the current line ending.
//! Spaces are echoed but otherwise ignored; LF and other control characters are neither
//! echoed nor stored. A line holds at most [`MAX_LINE`] significant characters (a size
//! chosen here; the datasheet gives none) and a longer one is answered with `?`.

mod bus;
mod command;
mod format;
mod request;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_robust;

use std::time::Duration;

use super::vehicle::SimVehicle;

pub use bus::{checksum, crc_j1850};

/// Which adapter to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A genuine ELM327 v2.1 command set.
    #[default]
    Genuine,
    /// The ubiquitous "ELM327 v1.5" clone: answers `?` to `AT AT2`, `AT CFC0/1`, `AT IGN`,
    /// `AT CSM0/1` and the four-byte `AT SH wwxxyyzz`, commands forum reports find missing
    /// on clones, so that the host's fall-backs get exercised.
    CloneV15,
}

impl Profile {
    pub fn banner(self) -> &'static str {
        match self {
            Profile::Genuine => "ELM327 v2.1",
            Profile::CloneV15 => "ELM327 v1.5",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Genuine => "genuine",
            Profile::CloneV15 => "clone",
        }
    }
}

/// How long things take. `zero()` makes every delay zero (unit tests, fast demos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimLatency {
    /// First CAN frame after the request (ECU processing plus bus time).
    pub ecu_can: Duration,
    /// First legacy message after the request (ISO 9141/KWP P2 is 25-50 ms).
    pub ecu_legacy: Duration,
    /// How much later each further ECU starts answering.
    pub ecu_spacing: Duration,
    /// Between two messages of the same ECU (legacy multi-message answers).
    pub message_gap: Duration,
    /// Between consecutive CAN frames once the adapter's flow control (block size 0, STmin
    /// 0) went out: the ECU's own turnaround.
    pub frame_gap: Duration,
    pub search_can: Duration,
    pub search_legacy: Duration,
    /// ISO 9141-2 / KWP 5-baud initialisation.
    pub slow_init: Duration,
    pub fast_init: Duration,
    /// ATZ (ATWS is a third of it).
    pub reset: Duration,
    /// Whether the adapter waits out its response timeout after the last frame (see
    /// `request.rs` for the model).
    pub timeouts: bool,
    /// The timeout [`crate::transport::sim::SimTransport`] waits when it cannot know that
    /// every answer is in (the emulator uses AT ST instead).
    pub response_timeout: Duration,
}

impl SimLatency {
    pub fn realistic() -> Self {
        SimLatency {
            ecu_can: Duration::from_millis(12),
            ecu_legacy: Duration::from_millis(50),
            ecu_spacing: Duration::from_millis(6),
            message_gap: Duration::from_millis(25),
            frame_gap: Duration::from_millis(1),
            search_can: Duration::from_millis(350),
            search_legacy: Duration::from_millis(4800),
            slow_init: Duration::from_millis(2600),
            fast_init: Duration::from_millis(150),
            reset: Duration::from_millis(800),
            timeouts: true,
            response_timeout: Duration::from_millis(200),
        }
    }

    pub fn zero() -> Self {
        SimLatency {
            ecu_can: Duration::ZERO,
            ecu_legacy: Duration::ZERO,
            ecu_spacing: Duration::ZERO,
            message_gap: Duration::ZERO,
            frame_gap: Duration::ZERO,
            search_can: Duration::ZERO,
            search_legacy: Duration::ZERO,
            slow_init: Duration::ZERO,
            fast_init: Duration::ZERO,
            reset: Duration::ZERO,
            timeouts: false,
            response_timeout: Duration::ZERO,
        }
    }
}

impl Default for SimLatency {
    fn default() -> Self {
        SimLatency::realistic()
    }
}

/// Deliberate misbehaviour, counted over OBD requests (the first is 1), for testing the
/// host's recovery paths.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Faults {
    /// Every n-th request's answer is preceded by `garbage` (line noise, a Bluetooth
    /// module's status text).
    pub garbage_every: Option<u32>,
    pub garbage: Vec<u8>,
    /// At this request the adapter browns out: it prints its power-up banner instead of an
    /// answer and forgets every setting.
    pub reset_at_request: Option<u32>,
    /// Every n-th request gets no answer at all, not even a prompt.
    pub drop_every: Option<u32>,
}

/// Wait `delay`, then write `bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub delay: Duration,
    pub bytes: Vec<u8>,
}

/// The ELM327 input buffer: lines with more significant characters than this get `?`.
pub const MAX_LINE: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub echo: bool,
    pub linefeed: bool,
    pub spaces: bool,
    pub headers: bool,
    pub adaptive: u8,
    /// AT ST value, in units of 4 ms.
    pub timeout: u8,
    pub auto_format: bool,
    pub flow_control: bool,
    pub show_dlc: bool,
    pub responses: bool,
    pub header: Option<Header>,
    /// AT CRA: the CAN receive address pattern, one hex digit or `X` per character.
    pub receive_filter: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            echo: true,
            linefeed: false,
            spaces: true,
            headers: false,
            adaptive: 1,
            timeout: 0x32,
            auto_format: true,
            flow_control: true,
            show_dlc: false,
            responses: true,
            header: None,
            receive_filter: None,
        }
    }
}

/// What AT SH set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    Can11(u16),
    Three([u8; 3]),
    Can29(u32),
}

pub struct Elm327Emulator {
    vehicle: SimVehicle,
    profile: Profile,
    latency: SimLatency,
    baud: Option<u32>,
    faults: Faults,
    settings: Settings,
    /// The AT SP number, 0 for automatic.
    protocol_setting: u8,
    auto: bool,
    /// The protocol in use once a search or first request succeeded.
    active: Option<crate::obd::protocol::Protocol>,
    /// Whether a 5-baud/fast initialisation is still needed (after AT PC).
    bus_ready: bool,
    vehicle_connected: bool,
    line: Vec<u8>,
    overflow: bool,
    last_command: Option<String>,
    monitoring: bool,
    requests: u32,
}

/// Collects output, folding serial transmission time into each chunk's delay.
pub(crate) struct Out {
    chunks: Vec<Chunk>,
    baud: Option<u32>,
    pub le: &'static str,
}

impl Out {
    pub fn emit(&mut self, wait: Duration, text: impl AsRef<[u8]>) {
        let bytes = text.as_ref();
        if bytes.is_empty() && wait.is_zero() {
            return;
        }
        // 8N1: ten bit times per byte.
        let serial = self.baud.filter(|b| *b > 0).map_or(Duration::ZERO, |baud| {
            Duration::from_micros(bytes.len() as u64 * 10_000_000 / u64::from(baud))
        });
        let delay = wait + serial;
        match self.chunks.last_mut() {
            Some(last) if delay.is_zero() => last.bytes.extend_from_slice(bytes),
            _ => self.chunks.push(Chunk {
                delay,
                bytes: bytes.to_vec(),
            }),
        }
    }

    pub fn line(&mut self, wait: Duration, text: &str) {
        let le = self.le;
        self.emit(wait, format!("{text}{le}"));
    }

    /// The blank line and prompt that end every answer.
    pub fn prompt(&mut self, wait: Duration) {
        let le = self.le;
        self.emit(wait, format!("{le}>"));
    }
}

impl Elm327Emulator {
    pub fn new(vehicle: SimVehicle, profile: Profile) -> Self {
        Elm327Emulator {
            vehicle,
            profile,
            latency: SimLatency::zero(),
            baud: None,
            faults: Faults::default(),
            settings: Settings::default(),
            protocol_setting: 0,
            auto: true,
            active: None,
            bus_ready: false,
            vehicle_connected: true,
            line: Vec::new(),
            overflow: false,
            last_command: None,
            monitoring: false,
            requests: 0,
        }
    }

    /// Serial transmission time at `baud` applies only with a non-zero latency model, so
    /// that `SimLatency::zero()` really means no delays.
    pub fn with_latency(mut self, latency: SimLatency, baud: Option<u32>) -> Self {
        self.baud = baud.filter(|_| latency != SimLatency::zero());
        self.latency = latency;
        self
    }

    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    pub fn vehicle(&self) -> &SimVehicle {
        &self.vehicle
    }

    pub fn vehicle_mut(&mut self) -> &mut SimVehicle {
        &mut self.vehicle
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Unplugs the car (or turns the ignition off): searches fail, requests get bus errors.
    pub fn set_vehicle_connected(&mut self, connected: bool) {
        self.vehicle_connected = connected;
        if !connected {
            self.active = None;
        }
    }

    fn out(&self) -> Out {
        Out {
            chunks: Vec::new(),
            baud: self.baud,
            le: if self.settings.linefeed { "\r\n" } else { "\r" },
        }
    }

    /// Handles bytes from the host. `now` is the simulated time since the vehicle started,
    /// which drives its live values.
    pub fn feed(&mut self, input: &[u8], now: Duration) -> Vec<Chunk> {
        let mut out = self.out();
        for &byte in input {
            if self.monitoring {
                // Any character stops a monitor and is itself discarded.
                self.monitoring = false;
                out.line(Duration::ZERO, "STOPPED");
                out.prompt(Duration::ZERO);
                continue;
            }
            match byte {
                b'\r' => {
                    if self.settings.echo {
                        out.emit(Duration::ZERO, out.le);
                    }
                    self.end_of_line(now, &mut out);
                    out.le = if self.settings.linefeed { "\r\n" } else { "\r" };
                }
                // "ignores space characters and all control characters": LF, NUL, tabs.
                0x00..=0x1F | 0x7F => {}
                b' ' => {
                    if self.settings.echo {
                        out.emit(Duration::ZERO, [byte]);
                    }
                }
                _ => {
                    if self.settings.echo {
                        out.emit(Duration::ZERO, [byte]);
                    }
                    if self.line.len() < MAX_LINE {
                        self.line.push(byte.to_ascii_uppercase());
                    } else {
                        self.overflow = true;
                    }
                }
            }
        }
        out.chunks
    }

    fn end_of_line(&mut self, now: Duration, out: &mut Out) {
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.overflow) {
            out.line(Duration::ZERO, "?");
            out.prompt(Duration::ZERO);
            return;
        }
        let command = if line.is_empty() {
            match self.last_command.clone() {
                Some(last) => last,
                None => {
                    out.emit(Duration::ZERO, ">");
                    return;
                }
            }
        } else {
            // Bytes outside ASCII can never form a command; lossy text keeps them invalid.
            String::from_utf8_lossy(&line).into_owned()
        };
        self.last_command = Some(command.clone());
        if let Some(at) = command.strip_prefix("AT") {
            self.at_command(at, now, out);
        } else {
            self.obd_request(&command, now, out);
        }
    }

    /// Back to the power-up state, keeping the stored protocol setting.
    fn reset_settings(&mut self) {
        self.settings = Settings::default();
        self.active = None;
        self.bus_ready = false;
        self.monitoring = false;
        self.auto = self.auto || self.protocol_setting == 0;
    }
}
