//! Admission of remote commands: signature, freshness, replay, and the `clear` policy.
//!
//! Pure: the clock is passed in, so every rule is tested with fixed times. The scheme is
//! documented for the service centre in `docs/remote.md`.
//!
//! **Signature.** HMAC-SHA256 with the shared key (`remote.command_key_file`, its bytes as they
//! are), lower-case hex, over the canonical string
//!
//! ```text
//! obd-agent-cmd-v1\n<vehicle_id>\n<request_id>\n<issued_at as sent>\n<command>\n<arguments>
//! ```
//!
//! where `<arguments>` is the compact JSON of the parsed arguments ([`canonical_arguments`]).
//! Everything that decides what happens is covered: the vehicle (a command signed for one van
//! cannot be replayed to another sharing the key), the request id (the replay key), the time
//! (freshness), the command and its arguments. Only the signature itself and the JSON layout
//! are not, and the layout changes nothing (the uplink rejects unknown fields). No field can
//! hold a newline (request ids and vehicle ids are topic-level characters, `issued_at` is RFC
//! 3339), so the fields cannot be shifted into one another.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use ring::hmac;

use crate::config::RemoteConfig;
use crate::uplink::Command;
use crate::uplink::command::Authentication;

/// First line of the canonical string: names the scheme, so a signature made for anything
/// else with the same key (or a later version of this scheme) never verifies here.
pub const SIGNING_DOMAIN: &str = "obd-agent-cmd-v1";
/// How far `issued_at` may lie ahead of the vehicle's clock. The Pi has no RTC and follows
/// NTP over a mobile link; 30 s covers ordinary drift on both sides without letting a
/// command be prepared long in advance.
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(30);
/// Request ids remembered for replay checks. Each is kept only until its command would be
/// stale anyway; should this many be live at once, the oldest is dropped and commands issued
/// no later than it are refused from then on (see [`Admission`]), so memory stays bounded
/// without ever accepting a replay.
pub const REPLAY_CAPACITY: usize = 1024;

/// Why a command is refused before it reaches the vehicle. The reply's `error.code` is
/// `failed` (the uplink's codes have no "refused"); the message starts with
/// `refused (<reason>):`, where `<reason>` is [`Refusal::reason`], for the hotline's tools.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("refused (unsigned): this vehicle accepts signed commands only (see docs/remote.md)")]
    Unsigned,
    #[error(
        "refused (bad_signature): the signature does not match this command for vehicle {vehicle_id} (wrong key, or the command was changed)"
    )]
    BadSignature { vehicle_id: String },
    #[error("refused (missing_issued_at): {why} needs \"issued_at\" (RFC 3339 UTC)")]
    MissingIssuedAt { why: &'static str },
    #[error(
        "refused (stale): issued at {issued_at}, {age} before the vehicle's clock ({now}); the limit is {max} (check both clocks if this is unexpected)"
    )]
    Stale {
        issued_at: String,
        now: String,
        age: String,
        max: String,
    },
    #[error(
        "refused (future): issued at {issued_at}, {ahead} after the vehicle's clock ({now}); at most {skew} is allowed (check both clocks)"
    )]
    Future {
        issued_at: String,
        now: String,
        ahead: String,
        skew: String,
    },
    #[error("refused (replayed): request {request_id} was already accepted; send a new request_id")]
    Replayed { request_id: String },
    #[error(
        "refused (clear_disabled): clearing codes remotely is disabled on this vehicle (remote.allow_clear = false)"
    )]
    ClearDisabled,
}

impl Refusal {
    /// Stable machine-readable reason, also in the message.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Unsigned => "unsigned",
            Refusal::BadSignature { .. } => "bad_signature",
            Refusal::MissingIssuedAt { .. } => "missing_issued_at",
            Refusal::Stale { .. } => "stale",
            Refusal::Future { .. } => "future",
            Refusal::Replayed { .. } => "replayed",
            Refusal::ClearDisabled => "clear_disabled",
        }
    }
}

/// The arguments of a command as compact JSON with a fixed key order: what the signature
/// covers. PIDs are upper-case hex in the order sent, so `"0c"`, `"0C"` and `12` sign alike.
pub fn canonical_arguments(command: &Command) -> String {
    match command {
        Command::Scan | Command::Vin | Command::Appointment => "{}".to_string(),
        Command::ServiceDone { item, odometer_km } => match odometer_km {
            Some(km) => format!("{{\"item\":{},\"odometer_km\":{km}}}", json_string(item)),
            None => format!("{{\"item\":{}}}", json_string(item)),
        },
        Command::Live { pids } => {
            let list: Vec<String> = pids.iter().map(|p| format!("\"{p:02X}\"")).collect();
            format!("{{\"pids\":[{}]}}", list.join(","))
        }
        Command::Freeze { frame } => format!("{{\"frame\":{frame}}}"),
        Command::Clear => "{\"confirm\":true}".to_string(),
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The string that is signed (see the module docs).
pub fn canonical_string(
    vehicle_id: &str,
    request_id: &str,
    issued_at: &str,
    command: &Command,
) -> String {
    format!(
        "{SIGNING_DOMAIN}\n{vehicle_id}\n{request_id}\n{issued_at}\n{}\n{}",
        command.name(),
        canonical_arguments(command)
    )
}

/// Lower-case hex HMAC-SHA256 of `canonical` under `key`.
pub fn sign(key: &[u8], canonical: &str) -> String {
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        canonical.as_bytes(),
    );
    let mut hex = String::with_capacity(64);
    for byte in tag.as_ref() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Constant-time check of a hex signature (either case); malformed hex simply fails.
pub fn verify(key: &hmac::Key, canonical: &str, signature: &str) -> bool {
    match decode_hex(signature) {
        Some(tag) => hmac::verify(key, canonical.as_bytes(), &tag).is_ok(),
        None => false,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `issued_at` exactly as it appears in the payload: the signature covers the text, so the
/// sender never has to reproduce our formatting of a time.
fn issued_at_text(raw: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    value.get("issued_at")?.as_str().map(str::to_string)
}

/// What the handler knows of one command.
pub struct Candidate<'a> {
    pub request_id: &'a str,
    pub command: &'a Command,
    pub authentication: &'a Authentication,
}

/// Decides whether commands may run; remembers accepted request ids for replay checks.
pub struct Admission {
    vehicle_id: String,
    key: Option<hmac::Key>,
    require_signature: bool,
    allow_clear: bool,
    max_age: Duration,
    /// Accepted request ids and the time after which their command is stale anyway.
    seen: HashMap<String, SystemTime>,
    /// Commands issued at or before this are refused: ids this old may have been forgotten.
    floor: Option<SystemTime>,
}

impl Admission {
    pub fn new(vehicle_id: &str, remote: &RemoteConfig) -> Self {
        Admission {
            vehicle_id: vehicle_id.to_string(),
            key: remote
                .command_key
                .as_ref()
                .map(|k| hmac::Key::new(hmac::HMAC_SHA256, k)),
            require_signature: remote.require_signature,
            allow_clear: remote.allow_clear,
            max_age: remote.max_command_age,
            seen: HashMap::new(),
            floor: None,
        }
    }

    /// Checks, in order: signature, freshness, replay, then the `clear` policy. Authentication
    /// comes first so an unauthenticated sender learns nothing of the policy, and only
    /// authenticated, fresh commands are remembered (a forged command cannot burn a request
    /// id the centre will use).
    pub fn check(&mut self, candidate: &Candidate<'_>, now: SystemTime) -> Result<(), Refusal> {
        let auth = candidate.authentication;
        let is_clear = matches!(candidate.command, Command::Clear);
        // A signature we cannot check (no key configured) proves nothing: treated as absent.
        let signature = auth.signature.as_deref().filter(|_| self.key.is_some());
        if let (Some(signature), Some(key)) = (signature, &self.key) {
            // The text is what was signed; without it there is nothing to check against.
            let Some(issued_at) = issued_at_text(&auth.raw) else {
                return Err(Refusal::MissingIssuedAt {
                    why: "a signed command",
                });
            };
            let canonical = canonical_string(
                &self.vehicle_id,
                candidate.request_id,
                &issued_at,
                candidate.command,
            );
            if !verify(key, &canonical, signature) {
                return Err(Refusal::BadSignature {
                    vehicle_id: self.vehicle_id.clone(),
                });
            }
        } else if self.require_signature {
            return Err(Refusal::Unsigned);
        }
        let issued_at = match auth.issued_at {
            Some(t) => t,
            None if self.require_signature => {
                return Err(Refusal::MissingIssuedAt {
                    why: "a signed command",
                });
            }
            None if is_clear => return Err(Refusal::MissingIssuedAt { why: "clear" }),
            // Read-only and unsigned where that is allowed: judged by arrival time.
            None => now,
        };
        self.fresh(issued_at, now)?;
        self.remember(candidate.request_id, issued_at, now)?;
        if is_clear && !self.allow_clear {
            return Err(Refusal::ClearDisabled);
        }
        Ok(())
    }

    fn fresh(&self, issued_at: SystemTime, now: SystemTime) -> Result<(), Refusal> {
        let text = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
        let span = |d: Duration| humantime::format_duration(round_ms(d)).to_string();
        match now.duration_since(issued_at) {
            Ok(age) if age > self.max_age => Err(Refusal::Stale {
                issued_at: text(issued_at),
                now: text(now),
                age: span(age),
                max: span(self.max_age),
            }),
            Ok(_) => Ok(()),
            Err(ahead) if ahead.duration() > MAX_FUTURE_SKEW => Err(Refusal::Future {
                issued_at: text(issued_at),
                now: text(now),
                ahead: span(ahead.duration()),
                skew: span(MAX_FUTURE_SKEW),
            }),
            Err(_) => Ok(()),
        }
    }

    fn remember(
        &mut self,
        request_id: &str,
        issued_at: SystemTime,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let replayed = || Refusal::Replayed {
            request_id: request_id.to_string(),
        };
        self.seen.retain(|_, stale_after| *stale_after >= now);
        if self.seen.contains_key(request_id) || self.floor.is_some_and(|f| issued_at <= f) {
            return Err(replayed());
        }
        if self.seen.len() >= REPLAY_CAPACITY {
            let oldest = self
                .seen
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(id, t)| (id.clone(), *t));
            if let Some((id, stale_after)) = oldest {
                self.seen.remove(&id);
                let issued = stale_after.checked_sub(self.max_age).unwrap_or(stale_after);
                self.floor = Some(self.floor.map_or(issued, |f| f.max(issued)));
                if issued_at <= issued {
                    return Err(replayed());
                }
            }
        }
        let stale_after = issued_at.checked_add(self.max_age).unwrap_or(issued_at);
        self.seen.insert(request_id.to_string(), stale_after);
        Ok(())
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
