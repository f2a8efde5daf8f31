//! Remote commands arriving on `fleet/<vehicle_id>/cmd`: strict parsing into [`Command`].
//!
//! Anything that is not exactly a known command (too large, not JSON, unknown name, a wrong or
//! extra argument) becomes a [`CommandError`] that the uplink answers with an error reply; it
//! never reaches the agent and never stops the uplink.

use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::config::is_topic_level;
use super::payload::{ReplyErrorCode, SCHEMA_VERSION};

/// Longest list of PIDs one `live` command may ask for (a few ELM327 batches).
pub const MAX_LIVE_PIDS: usize = 16;

/// A validated remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Read trouble codes (pending, stored, permanent) from every ECU.
    Scan,
    /// Read these service 01 PIDs once.
    Live { pids: Vec<u8> },
    /// Read freeze frame `frame` (0: the one stored with the MIL).
    Freeze { frame: u8 },
    /// Read the VIN (service 09).
    Vin,
    /// Clear trouble codes (service 04). Erases freeze frames and readiness monitors, so the
    /// request must say `"confirm": true`.
    Clear,
    /// Record a maintenance item as done (resets its interval), at the given odometer reading
    /// or the agent's current estimate.
    ServiceDone {
        item: String,
        odometer_km: Option<u32>,
    },
    /// The current appointment suggestion and maintenance status.
    Appointment,
}

/// Largest odometer reading a command may carry, km.
pub const MAX_ODOMETER_KM: u32 = 4_000_000;

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Scan => "scan",
            Command::Live { .. } => "live",
            Command::Freeze { .. } => "freeze",
            Command::Vin => "vin",
            Command::Clear => "clear",
            Command::ServiceDone { .. } => "service_done",
            Command::Appointment => "appointment",
        }
    }
}

/// Names accepted in `command`, for error messages and the docs.
pub const COMMAND_NAMES: &[&str] = &[
    "scan",
    "live",
    "freeze",
    "vin",
    "clear",
    "service_done",
    "appointment",
];

/// Envelope fields the uplink passes on unchecked: verifying them is the agent's command
/// handler's job (its `remote` settings: shared key, whether a signature is required, maximum
/// command age).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authentication {
    /// When the centre issued the command (RFC 3339), to refuse replays and stale commands.
    pub issued_at: Option<std::time::SystemTime>,
    /// The centre's signature, as sent (e.g. hex HMAC-SHA256).
    pub signature: Option<String>,
    /// The payload exactly as received, for signature checks.
    pub raw: Vec<u8>,
}

/// A command as parsed from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    pub request_id: String,
    pub command: Command,
    pub authentication: Authentication,
}

/// A command that cannot be run, with what is known of it for the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub request_id: Option<String>,
    pub command: Option<String>,
    pub code: ReplyErrorCode,
    pub message: String,
}

/// The agent's answer to a command: a JSON result, or a failure message.
pub type CommandResult = Result<Value, String>;

/// A command handed to the agent; it answers through `reply`. Dropping `reply` unanswered is
/// reported to the requester as a failure.
#[derive(Debug)]
pub struct CommandRequest {
    pub request_id: String,
    pub command: Command,
    pub authentication: Authentication,
    pub reply: oneshot::Sender<CommandResult>,
}

/// Parses one command payload of at most `max_bytes`.
pub fn parse_command(payload: &[u8], max_bytes: usize) -> Result<ParsedCommand, CommandError> {
    let fail = |request_id: Option<&str>, command: Option<&str>, code, message: String| {
        Err(CommandError {
            request_id: request_id.map(str::to_string),
            command: command.map(str::to_string),
            code,
            message,
        })
    };
    if payload.len() > max_bytes {
        return fail(
            None,
            None,
            ReplyErrorCode::PayloadTooLarge,
            format!(
                "payload is {} bytes, the limit is {max_bytes}",
                payload.len()
            ),
        );
    }
    let mut object = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            let msg = "payload must be a JSON object".to_string();
            return fail(None, None, ReplyErrorCode::Malformed, msg);
        }
        Err(e) => {
            let msg = format!("payload is not valid JSON: {e}");
            return fail(None, None, ReplyErrorCode::Malformed, msg);
        }
    };
    // The request id first: every later error can then be correlated by the requester.
    let request_id = match object.remove("request_id") {
        Some(Value::String(id)) if is_topic_level(&id) => id,
        _ => {
            let msg =
                "request_id must be a string of 1-64 characters A-Z a-z 0-9 - _ .".to_string();
            return fail(None, None, ReplyErrorCode::Malformed, msg);
        }
    };
    let rid = Some(request_id.as_str());
    let name = match object.remove("command") {
        Some(Value::String(name)) => name,
        _ => {
            let msg = "command must be a string".to_string();
            return fail(rid, None, ReplyErrorCode::Malformed, msg);
        }
    };
    let cmd = Some(name.as_str());
    match object.remove("schema") {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        other => {
            let msg = format!("schema must be {SCHEMA_VERSION}, got {other:?}");
            return fail(rid, cmd, ReplyErrorCode::UnsupportedSchema, msg);
        }
    }
    let mut authentication = Authentication {
        raw: payload.to_vec(),
        ..Authentication::default()
    };
    match object.remove("issued_at") {
        None => {}
        Some(Value::String(text)) if humantime::parse_rfc3339(&text).is_ok() => {
            authentication.issued_at = humantime::parse_rfc3339(&text).ok();
        }
        Some(_) => {
            let msg = "issued_at must be an RFC 3339 UTC time".to_string();
            return fail(rid, cmd, ReplyErrorCode::Malformed, msg);
        }
    }
    match object.remove("signature") {
        None => {}
        Some(Value::String(signature)) if (1..=512).contains(&signature.len()) => {
            authentication.signature = Some(signature);
        }
        Some(_) => {
            let msg = "signature must be a string of 1-512 characters".to_string();
            return fail(rid, cmd, ReplyErrorCode::Malformed, msg);
        }
    }
    let command = match parse_arguments(&name, object) {
        Ok(command) => command,
        Err((code, message)) => return fail(rid, cmd, code, message),
    };
    Ok(ParsedCommand {
        request_id,
        command,
        authentication,
    })
}

type ArgError = (ReplyErrorCode, String);

fn parse_arguments(name: &str, mut args: Map<String, Value>) -> Result<Command, ArgError> {
    let command = match name {
        "scan" => Command::Scan,
        "vin" => Command::Vin,
        "appointment" => Command::Appointment,
        "service_done" => parse_service_done(&mut args)?,
        "live" => Command::Live {
            pids: parse_pids(args.remove("pids"))?,
        },
        "freeze" => {
            let frame = match args.remove("frame") {
                None => 0,
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| invalid("frame must be an integer 0-255".into()))?,
                Some(_) => return Err(invalid("frame must be an integer 0-255".into())),
            };
            Command::Freeze { frame }
        }
        "clear" => match args.remove("confirm") {
            Some(Value::Bool(true)) => Command::Clear,
            _ => {
                return Err(invalid(
                    "clear erases freeze frames and readiness monitors: send \"confirm\": true"
                        .into(),
                ));
            }
        },
        other => {
            return Err((
                ReplyErrorCode::UnknownCommand,
                format!(
                    "unknown command {other:?}; supported: {}",
                    COMMAND_NAMES.join(", ")
                ),
            ));
        }
    };
    if let Some(extra) = args.keys().next() {
        return Err(invalid(format!("{name} takes no argument {extra:?}")));
    }
    Ok(command)
}

/// `item`: a schedule item id or alias; `odometer_km`: optional whole km.
fn parse_service_done(args: &mut Map<String, Value>) -> Result<Command, ArgError> {
    let schedule = crate::maintenance::Schedule::embedded();
    let item = match args.remove("item") {
        Some(Value::String(name)) => schedule
            .item(&name)
            .map_err(|e| invalid(e.to_string()))?
            .id
            .clone(),
        _ => {
            return Err(invalid(format!(
                "service_done needs \"item\": one of {}",
                schedule
                    .items()
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let odometer_km = match args.remove("odometer_km") {
        None => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= MAX_ODOMETER_KM)
                .ok_or_else(|| {
                    invalid(format!(
                        "odometer_km must be a whole number of km, 0-{MAX_ODOMETER_KM}"
                    ))
                })?,
        ),
        Some(_) => {
            return Err(invalid(format!(
                "odometer_km must be a whole number of km, 0-{MAX_ODOMETER_KM}"
            )));
        }
    };
    Ok(Command::ServiceDone { item, odometer_km })
}

fn invalid(message: String) -> ArgError {
    (ReplyErrorCode::InvalidArguments, message)
}

/// PIDs as two-digit hex strings ("0C") or integers, 1 to [`MAX_LIVE_PIDS`] of them.
fn parse_pids(value: Option<Value>) -> Result<Vec<u8>, ArgError> {
    let Some(Value::Array(items)) = value else {
        return Err(invalid(
            "live needs \"pids\": a list like [\"0C\", \"0D\"]".into(),
        ));
    };
    if items.is_empty() || items.len() > MAX_LIVE_PIDS {
        return Err(invalid(format!("pids must list 1-{MAX_LIVE_PIDS} PIDs")));
    }
    let mut pids = Vec::with_capacity(items.len());
    for item in items {
        let pid = match &item {
            Value::String(s) if s.len() == 2 => u8::from_str_radix(s, 16).ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            _ => None,
        };
        match pid {
            Some(pid) if !pids.contains(&pid) => pids.push(pid),
            Some(_) => return Err(invalid(format!("PID {item} is listed twice"))),
            None => return Err(invalid(format!("{item} is not a PID (\"00\"-\"FF\")"))),
        }
    }
    Ok(pids)
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
