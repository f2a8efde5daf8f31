//! The AT commands. Anything not listed here, or listed with a malformed argument, gets `?`
//! as the chip answers it.

use std::time::Duration;

use crate::obd::protocol::Protocol;

use super::{Elm327Emulator, Header, Out, Profile};

enum Reply {
    Ok,
    Text(String),
    Unknown,
    /// Power-up banner after a (warm) reset, taking this long.
    Banner(Duration),
    /// Nothing until the host sends a character (AT MA).
    Silent,
}

fn flag(arg: &str) -> Option<bool> {
    match arg {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn hex(arg: &str, digits: usize) -> Option<u32> {
    (arg.len() == digits && arg.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(arg, 16).ok())
        .flatten()
}

/// `h` or `Ah` for AT SP / AT TP: (protocol number, automatic).
fn protocol_arg(arg: &str) -> Option<(u8, bool)> {
    let (auto, digit) = match arg.len() {
        1 => (false, arg),
        2 => (true, arg.strip_prefix('A')?),
        _ => return None,
    };
    let n = u8::from_str_radix(digit, 16).ok()?;
    (n <= 0x0C).then_some((n, auto || n == 0))
}

/// Commands the v1.5 clone profile does not know.
fn clone_lacks(cmd: &str) -> bool {
    matches!(cmd, "AT2" | "CFC0" | "CFC1" | "IGN" | "CSM0" | "CSM1")
        || (cmd.starts_with("SH") && cmd.len() == 10)
}

impl Elm327Emulator {
    pub(super) fn at_command(&mut self, cmd: &str, now: Duration, out: &mut Out) {
        let reply = if self.profile == Profile::CloneV15 && clone_lacks(cmd) {
            Reply::Unknown
        } else {
            self.execute(cmd, now)
        };
        // Settings such as AT L1 apply to their own answer.
        out.le = if self.settings.linefeed { "\r\n" } else { "\r" };
        match reply {
            Reply::Ok => out.line(Duration::ZERO, "OK"),
            Reply::Text(text) => out.line(Duration::ZERO, &text),
            Reply::Unknown => out.line(Duration::ZERO, "?"),
            Reply::Banner(wait) => {
                out.emit(wait, "\r\r");
                out.line(Duration::ZERO, self.profile.banner());
            }
            Reply::Silent => return,
        }
        out.prompt(Duration::ZERO);
    }

    fn execute(&mut self, cmd: &str, now: Duration) -> Reply {
        // Every AT command is ASCII; this also keeps the slicing below on char boundaries.
        if !cmd.is_ascii() {
            return Reply::Unknown;
        }
        let set = |target: &mut bool, arg: &str| match flag(arg) {
            Some(v) => {
                *target = v;
                Reply::Ok
            }
            None => Reply::Unknown,
        };
        match cmd {
            "Z" => {
                self.reset_settings();
                return Reply::Banner(self.latency.reset);
            }
            "WS" => {
                self.reset_settings();
                return Reply::Banner(self.latency.reset / 3);
            }
            "D" => {
                self.reset_settings();
                return Reply::Ok;
            }
            "I" => return Reply::Text(self.profile.banner().to_string()),
            "@1" => return Reply::Text("OBDII to RS232 Interpreter".into()),
            "DP" => return Reply::Text(self.describe_protocol()),
            "DPN" => return Reply::Text(self.describe_protocol_number()),
            "RV" => return Reply::Text(format!("{:.1}V", self.vehicle.battery_voltage(now))),
            "IGN" => return Reply::Text("ON".into()),
            "PC" => {
                self.bus_ready = false;
                return Reply::Ok;
            }
            "MA" => {
                // The simulated bus carries no traffic of its own, so there is nothing to
                // print until the host interrupts.
                self.monitoring = true;
                return Reply::Silent;
            }
            "AL" | "NL" | "BI" => return Reply::Ok,
            _ => {}
        }
        let split = |prefix: &str| cmd.strip_prefix(prefix);
        let s = &mut self.settings;
        if let Some(arg) = split("CAF") {
            return set(&mut s.auto_format, arg);
        }
        if let Some(arg) = split("CFC") {
            return set(&mut s.flow_control, arg);
        }
        if let Some(arg) = split("CSM") {
            return flag(arg).map_or(Reply::Unknown, |_| Reply::Ok);
        }
        if let Some(arg) = split("AT") {
            return match arg {
                "0" | "1" | "2" => {
                    s.adaptive = arg.as_bytes()[0] - b'0';
                    Reply::Ok
                }
                _ => Reply::Unknown,
            };
        }
        if let Some(arg) = split("ST") {
            return match hex(arg, 2) {
                // 00 restores the default rather than meaning "no time at all".
                Some(v) => {
                    s.timeout = if v == 0 { 0x32 } else { v as u8 };
                    Reply::Ok
                }
                None => Reply::Unknown,
            };
        }
        if let Some(arg) = split("CP") {
            return hex(arg, 2).map_or(Reply::Unknown, |_| Reply::Ok);
        }
        if let Some(arg) = split("SP").or_else(|| split("TP")) {
            return match protocol_arg(arg) {
                Some((n, auto)) => {
                    self.protocol_setting = n;
                    self.auto = auto;
                    self.active = None;
                    self.bus_ready = false;
                    Reply::Ok
                }
                None => Reply::Unknown,
            };
        }
        if let Some(arg) = split("CRA") {
            let pattern_ok = matches!(arg.len(), 0 | 3 | 8)
                && arg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'X');
            if !pattern_ok {
                return Reply::Unknown;
            }
            s.receive_filter = (!arg.is_empty()).then(|| arg.to_string());
            return Reply::Ok;
        }
        if let Some(arg) = split("SH") {
            let header = match arg.len() {
                3 => hex(arg, 3).map(|v| Header::Can11(v as u16)),
                6 => hex(arg, 6).map(|v| {
                    let [_, a, b, c] = v.to_be_bytes();
                    Header::Three([a, b, c])
                }),
                8 => hex(arg, 8).filter(|v| *v < 1 << 29).map(Header::Can29),
                _ => None,
            };
            return match header {
                Some(h) => {
                    s.header = Some(h);
                    Reply::Ok
                }
                None => Reply::Unknown,
            };
        }
        let (name, arg) = cmd.split_at(cmd.len().min(1));
        match name {
            "E" => set(&mut s.echo, arg),
            "L" => set(&mut s.linefeed, arg),
            "S" => set(&mut s.spaces, arg),
            "H" => set(&mut s.headers, arg),
            "R" => set(&mut s.responses, arg),
            "D" => set(&mut s.show_dlc, arg),
            "M" | "V" => flag(arg).map_or(Reply::Unknown, |_| Reply::Ok),
            _ => Reply::Unknown,
        }
    }

    /// The protocol to show: the one in use, else the one set.
    fn shown_protocol(&self) -> Option<Protocol> {
        self.active
            .or_else(|| Protocol::from_elm_number(self.protocol_setting))
    }

    fn describe_protocol(&self) -> String {
        match (self.auto, self.shown_protocol()) {
            (true, Some(p)) => format!("AUTO, {}", p.name()),
            (true, None) => "AUTO".into(),
            (false, Some(p)) => p.name().into(),
            (false, None) => "AUTO".into(),
        }
    }

    fn describe_protocol_number(&self) -> String {
        let n = self.shown_protocol().map_or(0, Protocol::elm_number);
        if self.auto {
            format!("A{n:X}")
        } else {
            format!("{n:X}")
        }
    }
}
