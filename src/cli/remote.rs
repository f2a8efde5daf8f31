//! `obd-agent remote`: the hotline's client. Sends one command to a vehicle over MQTT, waits
//! for the reply and prints it. Signing and payloads are the agent's own (`agent::auth`,
//! `uplink::payload`), so the client cannot drift from what the vehicle checks.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use rumqttc::v5 as mqtt5;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::{self as mqtt4, QoS};
use serde_json::{Value, json};

use super::error::CliError;
use crate::agent::auth;
use crate::reader::VehicleReader;
use crate::uplink::Command;
use crate::uplink::ids::new_message_id;
use crate::uplink::payload::{CommandReplyPayload, SCHEMA_VERSION};
use crate::uplink::topics::Topics;

#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Broker URL, mqtt://host[:port] (default port 1883).
    #[arg(long)]
    pub broker: String,
    /// The vehicle's id, as in its topics (fleet/<vehicle>/cmd).
    #[arg(long)]
    pub vehicle: String,
    /// Shared command key (the same file as the vehicle's remote.command_key_file): signs the
    /// command.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// How long to wait for the reply.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the reply as received (JSON).
    #[arg(long)]
    pub json: bool,
    /// MQTT version: 5 (response topic + correlation data) or 3 (3.1.1, reply topic
    /// fleet/<vehicle>/cmd/reply/<request_id>).
    #[arg(long, default_value = "5", value_parser = ["3", "5"])]
    pub mqtt: String,
    #[command(subcommand)]
    pub command: RemoteCommand,
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Trouble codes of every ECU, with urgency and description.
    Scan,
    /// One reading of each PID.
    Live {
        /// PIDs by name or hex number, comma-separated (rpm,speed or 0C,0D).
        #[arg(long, value_delimiter = ',', required = true)]
        pids: Vec<String>,
    },
    /// The freeze frame.
    Freeze,
    /// The VIN.
    Vin,
    /// Clear trouble codes (the vehicle must allow it and be stationary with the engine off).
    Clear,
    /// Record a maintenance item as done (oil, brake_fluid, ...), resetting its interval.
    ServiceDone {
        /// The item (see `obd-agent service status`).
        item: String,
        /// The odometer reading at the service, km (default: the agent's current estimate).
        #[arg(long)]
        odometer: Option<u32>,
    },
    /// The appointment suggestion: faults and maintenance due, folded into one visit.
    Appointment,
}

/// Exit code when no reply came in time: the vehicle may just be offline, which the hotline
/// handles differently from a refusal (5) or a broken setup (1, 2).
pub const NO_REPLY_EXIT: u8 = 6;

pub async fn run(args: &RemoteArgs, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let (host, port) = parse_broker(&args.broker)?;
    let command = match &args.command {
        RemoteCommand::Scan => Command::Scan,
        RemoteCommand::Live { pids } => Command::Live {
            pids: VehicleReader::resolve_pids(pids)?,
        },
        RemoteCommand::Freeze => Command::Freeze { frame: 0 },
        RemoteCommand::Vin => Command::Vin,
        RemoteCommand::Clear => Command::Clear,
        RemoteCommand::ServiceDone { item, odometer } => Command::ServiceDone {
            item: crate::maintenance::Schedule::embedded()
                .item(item)
                .map_err(|e| CliError::Usage(e.to_string()))?
                .id
                .clone(),
            odometer_km: *odometer,
        },
        RemoteCommand::Appointment => Command::Appointment,
    };
    let key = match &args.key_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| CliError::Io {
            what: format!("cannot read the key file {}", path.display()),
            source,
        })?),
        None => None,
    };
    let request_id = format!("hotline-{}", new_message_id());
    let payload = command_payload(
        &args.vehicle,
        &request_id,
        SystemTime::now(),
        &command,
        key.as_deref(),
    );
    let topics = Topics::new(&args.vehicle);
    let reply = if args.mqtt == "3" {
        exchange_v4(&host, port, &topics, &request_id, payload, args.timeout).await?
    } else {
        exchange_v5(&host, port, &topics, &request_id, payload, args.timeout).await?
    };
    let Some(reply) = reply else {
        return Err(CliError::NoReply(format!(
            "no reply from vehicle {} via {} within {}: it may be offline or not subscribed. \
             The broker keeps the command for the vehicle's session; a command older than the \
             vehicle's remote.max_command_age when it arrives is refused there.",
            args.vehicle,
            args.broker,
            humantime::format_duration(args.timeout)
        )));
    };
    let io = |source| CliError::Io {
        what: "stdout".into(),
        source,
    };
    let parsed: Result<CommandReplyPayload, _> = serde_json::from_slice(&reply);
    if args.json {
        out.write_all(&reply).map_err(io)?;
        writeln!(out).map_err(io)?;
    }
    let parsed = parsed.map_err(|e| {
        CliError::Failed(format!("the vehicle's reply is not a command reply: {e}"))
    })?;
    match (&parsed.result, &parsed.error) {
        (Some(result), _) if parsed.ok => {
            if !args.json {
                out.write_all(super::remote_format::render(&command, result).as_bytes())
                    .map_err(io)?;
            }
            Ok(())
        }
        (_, Some(error)) => Err(CliError::Failed(format!(
            "vehicle {} answered {}: {}",
            args.vehicle,
            serde_json::to_value(error.code).unwrap_or(Value::Null),
            error.message
        ))),
        _ => Err(CliError::Failed(format!(
            "vehicle {} answered without a result",
            args.vehicle
        ))),
    }
}

/// The command as published: envelope, arguments, `issued_at`, and the signature when a key
/// is given (over exactly the `issued_at` text sent).
pub fn command_payload(
    vehicle_id: &str,
    request_id: &str,
    now: SystemTime,
    command: &Command,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let issued_at = humantime::format_rfc3339_millis(now).to_string();
    let mut object = json!({
        "schema": SCHEMA_VERSION,
        "request_id": request_id,
        "command": command.name(),
        "issued_at": issued_at,
    });
    match command {
        Command::Live { pids } => {
            object["pids"] = pids.iter().map(|p| format!("{p:02X}")).collect();
        }
        Command::Freeze { frame } => object["frame"] = json!(frame),
        Command::Clear => object["confirm"] = json!(true),
        Command::ServiceDone { item, odometer_km } => {
            object["item"] = json!(item);
            if let Some(km) = odometer_km {
                object["odometer_km"] = json!(km);
            }
        }
        Command::Scan | Command::Vin | Command::Appointment => {}
    }
    if let Some(key) = key {
        let canonical = auth::canonical_string(vehicle_id, request_id, &issued_at, command);
        object["signature"] = Value::String(auth::sign(key, &canonical));
    }
    object.to_string().into_bytes()
}

fn parse_broker(url: &str) -> Result<(String, u16), CliError> {
    let usage = || CliError::Usage(format!("--broker {url:?}: expected mqtt://host[:port]"));
    let rest = match url.split_once("://") {
        Some(("mqtt" | "tcp", rest)) => rest,
        Some((scheme, _)) => {
            return Err(CliError::Usage(format!(
                "--broker {url:?}: scheme {scheme:?} is not supported (mqtt:// only; TLS is not \
                 implemented in the remote client yet)"
            )));
        }
        None => url,
    };
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().map_err(|_| usage())?)),
        None if !rest.is_empty() => Ok((rest.to_string(), 1883)),
        None => Err(usage()),
    }
}

fn client_id() -> String {
    // Unique per run: two desks must not kick each other off the broker.
    format!("obd-remote-{}", &new_message_id()[..18])
}

fn broker_error(host: &str, port: u16, e: impl std::fmt::Display) -> CliError {
    // Exit 1 (not 5): the setup is broken, the vehicle has not refused anything.
    CliError::Io {
        what: format!("cannot talk to the broker {host}:{port}"),
        source: std::io::Error::other(e.to_string()),
    }
}

/// MQTT 5: the reply comes on our own response topic, matched by correlation data.
async fn exchange_v5(
    host: &str,
    port: u16,
    topics: &Topics,
    request_id: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<Option<Vec<u8>>, CliError> {
    use mqtt5::mqttbytes::v5::{Packet, PublishProperties};
    let mut options = mqtt5::MqttOptions::new(client_id(), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = mqtt5::AsyncClient::new(options, 16);
    // Under the vehicle's reply subtree, so the documented broker ACL already allows the
    // vehicle to publish there; unique per request, so no other desk's replies arrive.
    let response_topic = format!("{}-v5", topics.reply(request_id));
    let correlation = request_id.as_bytes().to_vec();
    let err = |e: mqtt5::ClientError| broker_error(host, port, e);
    client
        .subscribe(&response_topic, QoS5::AtLeastOnce)
        .await
        .map_err(err)?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut sent = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.poll()).await {
            Err(_) => return Ok(None),
            Ok(event) => event.map_err(|e| broker_error(host, port, e))?,
        };
        match event {
            mqtt5::Event::Incoming(Packet::SubAck(_)) if !sent => {
                sent = true;
                let properties = PublishProperties {
                    payload_format_indicator: Some(1),
                    content_type: Some("application/json".into()),
                    response_topic: Some(response_topic.clone()),
                    correlation_data: Some(correlation.clone().into()),
                    ..Default::default()
                };
                client
                    .publish_with_properties(
                        topics.commands(),
                        QoS5::AtLeastOnce,
                        false,
                        payload.clone(),
                        properties,
                    )
                    .await
                    .map_err(err)?;
            }
            mqtt5::Event::Incoming(Packet::Publish(publish)) => {
                let matches = publish
                    .properties
                    .as_ref()
                    .and_then(|p| p.correlation_data.as_ref())
                    .is_some_and(|c| c.as_ref() == correlation.as_slice());
                if matches {
                    let _ = client.try_disconnect();
                    return Ok(Some(publish.payload.to_vec()));
                }
            }
            _ => {}
        }
    }
}

/// MQTT 3.1.1: the reply comes on fleet/<vehicle>/cmd/reply/<request_id>.
async fn exchange_v4(
    host: &str,
    port: u16,
    topics: &Topics,
    request_id: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<Option<Vec<u8>>, CliError> {
    use mqtt4::{Event, Packet};
    let mut options = mqtt4::MqttOptions::new(client_id(), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = mqtt4::AsyncClient::new(options, 16);
    let reply_topic = topics.reply(request_id);
    let err = |e: mqtt4::ClientError| broker_error(host, port, e);
    client
        .subscribe(&reply_topic, QoS::AtLeastOnce)
        .await
        .map_err(err)?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut sent = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.poll()).await {
            Err(_) => return Ok(None),
            Ok(event) => event.map_err(|e| broker_error(host, port, e))?,
        };
        match event {
            Event::Incoming(Packet::SubAck(_)) if !sent => {
                sent = true;
                client
                    .publish(topics.commands(), QoS::AtLeastOnce, false, payload.clone())
                    .await
                    .map_err(err)?;
            }
            Event::Incoming(Packet::Publish(publish)) if publish.topic == reply_topic => {
                let _ = client.try_disconnect();
                return Ok(Some(publish.payload.to_vec()));
            }
            _ => {}
        }
    }
}
