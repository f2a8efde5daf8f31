//! Sorts one response's text into data lines and the adapter's status messages.
//!
//! The ELM327 mixes three kinds of line in a response: the echo of the command (when echo is
//! on, which it is after every reset until `ATE0` lands), progress notes (`SEARCHING...`,
//! `BUS INIT: ...OK`) and either data or one of its fixed status messages. Statuses are
//! matched as whole lines, because data lines are hex and never spell them.

use serde::Serialize;

/// A condition the adapter reported instead of (or after) data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AdapterStatus {
    /// No ECU answered within the adapter's timeout.
    NoData,
    /// The adapter did not understand the command (`?`).
    Unknown,
    /// Protocol search failed: no vehicle bus answered.
    UnableToConnect,
    /// Slow or fast init of ISO 9141-2 / ISO 14230 failed.
    BusInitError,
    /// The CAN controller could not send or saw bus errors (wrong bitrate, not connected).
    CanError,
    /// J1850/ISO bus stuck active or faulted.
    BusError,
    BusBusy,
    /// Feedback error: the adapter did not see its own transmission on the bus.
    FeedbackError,
    /// A message failed its checksum or framing (`DATA ERROR`, `<DATA ERROR`, `<RX ERROR`).
    DataError,
    /// The adapter's receive buffer overflowed; the answer is incomplete.
    BufferFull,
    /// A character arrived while the adapter was working and it gave up (`STOPPED`).
    Stopped,
    /// The adapter reset itself because its supply dipped (`LV RESET`).
    LowVoltageReset,
    /// A reset banner (`ELM327 v1.5`) appeared: settings are back to defaults.
    Reset(String),
    /// `ACT ALERT`: about to enter low-power mode for inactivity.
    ActivityAlert,
    /// `ERRnn`: an internal adapter error number.
    InternalError(String),
}

/// One response, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// Lines that are not echo, progress or status, in order, trimmed.
    pub lines: Vec<String>,
    pub statuses: Vec<AdapterStatus>,
    /// `SEARCHING...` was printed: the adapter was looking for the protocol.
    pub searched: bool,
    /// Data lines dropped because the adapter flagged them with `<DATA ERROR` / `<RX ERROR`.
    pub flagged_lines: usize,
}

impl Reply {
    pub fn has(&self, status: &AdapterStatus) -> bool {
        self.statuses.contains(status)
    }

    /// The first status that means the request did not get through, if any.
    pub fn failure(&self) -> Option<&AdapterStatus> {
        self.statuses
            .iter()
            .find(|s| !matches!(s, AdapterStatus::NoData))
    }

    /// The reset banner, if the adapter printed one.
    pub fn reset_banner(&self) -> Option<&str> {
        self.statuses.iter().find_map(|s| match s {
            AdapterStatus::Reset(banner) => Some(banner.as_str()),
            _ => None,
        })
    }
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn status_of(line: &str) -> Option<AdapterStatus> {
    let upper = line.to_ascii_uppercase();
    let squashed = squash(&upper);
    let status = match squashed.as_str() {
        "NODATA" => AdapterStatus::NoData,
        "?" => AdapterStatus::Unknown,
        "UNABLETOCONNECT" => AdapterStatus::UnableToConnect,
        "CANERROR" => AdapterStatus::CanError,
        "BUSERROR" => AdapterStatus::BusError,
        "BUSBUSY" => AdapterStatus::BusBusy,
        "FBERROR" => AdapterStatus::FeedbackError,
        "DATAERROR" => AdapterStatus::DataError,
        "BUFFERFULL" => AdapterStatus::BufferFull,
        "STOPPED" => AdapterStatus::Stopped,
        "LVRESET" => AdapterStatus::LowVoltageReset,
        "ACTALERT" => AdapterStatus::ActivityAlert,
        s if s.starts_with("BUSINIT") && s.contains("ERROR") => AdapterStatus::BusInitError,
        s if s.starts_with("ERR") && s.len() <= 5 && s[3..].chars().all(|c| c.is_ascii_digit()) => {
            AdapterStatus::InternalError(line.trim().to_string())
        }
        _ if upper.contains("ELM327") || upper.contains("ELM329") => {
            AdapterStatus::Reset(line.trim().to_string())
        }
        _ => return None,
    };
    Some(status)
}

/// Sorts the text of one response to `command` (as sent, without the CR).
pub fn classify(text: &str, command: &str) -> Reply {
    let mut reply = Reply::default();
    let echo = squash(command);
    let mut first = true;
    for line in text.split(['\r', '\n']).map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let is_echo = first && !echo.is_empty() && squash(line) == echo;
        first = false;
        if is_echo {
            continue;
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("SEARCHING") {
            reply.searched = true;
            continue;
        }
        if upper.starts_with("BUS INIT") && !upper.contains("ERROR") {
            continue;
        }
        if upper.contains("<DATA ERROR") || upper.contains("<RX ERROR") {
            reply.flagged_lines += 1;
            reply.statuses.push(AdapterStatus::DataError);
            continue;
        }
        match status_of(line) {
            Some(status) => reply.statuses.push(status),
            None => reply.lines.push(line.to_string()),
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_is_dropped_only_when_it_matches() {
        let reply = classify("ATE0\rOK\r\r", "ATE0");
        assert_eq!(reply.lines, vec!["OK"]);
        let reply = classify("010C\r41 0C 1A F8\r\r", "01 0C");
        assert_eq!(reply.lines, vec!["41 0C 1A F8"]);
        let reply = classify("41 0C 1A F8\r", "010C");
        assert_eq!(reply.lines, vec!["41 0C 1A F8"]);
    }

    #[test]
    fn progress_notes_are_not_data() {
        let reply = classify("SEARCHING...\r7E8064100BE3FA813\r\r", "0100");
        assert!(reply.searched);
        assert_eq!(reply.lines, vec!["7E8064100BE3FA813"]);
        let reply = classify("BUS INIT: ...OK\r486B104100BE3FA813CC\r", "0100");
        assert_eq!(reply.lines, vec!["486B104100BE3FA813CC"]);
    }

    #[test]
    fn every_status_message_is_recognised() {
        let cases = [
            ("NO DATA", AdapterStatus::NoData),
            ("?", AdapterStatus::Unknown),
            ("UNABLE TO CONNECT", AdapterStatus::UnableToConnect),
            ("BUS INIT: ...ERROR", AdapterStatus::BusInitError),
            ("BUS INIT: ERROR", AdapterStatus::BusInitError),
            ("CAN ERROR", AdapterStatus::CanError),
            ("BUS ERROR", AdapterStatus::BusError),
            ("BUS BUSY", AdapterStatus::BusBusy),
            ("FB ERROR", AdapterStatus::FeedbackError),
            ("DATA ERROR", AdapterStatus::DataError),
            ("BUFFER FULL", AdapterStatus::BufferFull),
            ("STOPPED", AdapterStatus::Stopped),
            ("LV RESET", AdapterStatus::LowVoltageReset),
            ("ACT ALERT", AdapterStatus::ActivityAlert),
            ("ERR94", AdapterStatus::InternalError("ERR94".into())),
            ("ELM327 v1.5", AdapterStatus::Reset("ELM327 v1.5".into())),
        ];
        for (text, status) in cases {
            let reply = classify(&format!("{text}\r\r"), "0100");
            assert_eq!(reply.statuses, vec![status], "{text}");
            assert!(reply.lines.is_empty(), "{text}");
        }
    }

    #[test]
    fn flagged_lines_are_dropped_and_counted() {
        let reply = classify(
            "7E8 06 41 0C 1A F8 <DATA ERROR\r7E9 04 41 0C 0B B8\r",
            "010C",
        );
        assert_eq!(reply.lines, vec!["7E9 04 41 0C 0B B8"]);
        assert_eq!(reply.flagged_lines, 1);
    }

    #[test]
    fn data_and_status_can_share_a_response() {
        let reply = classify("7E8 03 41 0D 00\rBUFFER FULL\r", "010D");
        assert_eq!(reply.lines.len(), 1);
        assert_eq!(reply.failure(), Some(&AdapterStatus::BufferFull));
    }
}
