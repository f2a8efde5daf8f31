//! The agent's configuration (`/etc/obd-agent/config.toml`), read in two steps: what the user
//! typed ([`raw`]), then validated values with units and bounds. Every error names the key,
//! what is wrong with it and an example of a good value, so a broken config is fixed from the
//! message alone. `parse_str` takes text, so tests need no files.

mod raw;
mod units;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::obd::pid;
use crate::obd::protocol::Protocol;
use raw::RawConfig;
pub use units::{parse_duration, parse_size};

pub const DEFAULT_PATH: &str = "/etc/obd-agent/config.toml";
const DEFAULT_STATE_DIR: &str = "/var/lib/obd-agent";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Names the vehicle in every MQTT topic and message.
    pub vehicle_id: String,
    pub adapter: AdapterConfig,
    pub poll: PollConfig,
    pub battery: BatteryConfig,
    pub store: StoreConfig,
    /// `None` runs without an uplink: faults are kept in the store only.
    pub mqtt: Option<MqttConfig>,
    pub remote: RemoteConfig,
    pub maintenance: MaintenanceConfig,
}

/// Predictive maintenance: the schedule (defaults with this vehicle's overrides) and when to
/// remind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaintenanceConfig {
    pub enabled: bool,
    /// Remind this many days before an item is due.
    pub lead_days: f64,
    #[serde(skip)]
    pub schedule: crate::maintenance::Schedule,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            enabled: true,
            lead_days: crate::maintenance::tracker::DEFAULT_LEAD_DAYS,
            schedule: crate::maintenance::Schedule::embedded().clone(),
        }
    }
}

impl MaintenanceConfig {
    pub fn tracker_settings(&self) -> crate::maintenance::TrackerSettings {
        crate::maintenance::TrackerSettings {
            schedule: self.schedule.clone(),
            lead_days: self.lead_days,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdapterConfig {
    Elm327 {
        port: String,
        baud: Option<u32>,
        protocol: Option<Protocol>,
    },
    SocketCan {
        interface: String,
    },
    Simulator {
        scenario: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollConfig {
    /// How often codes (03, 07, 0A) and monitor status are read.
    pub dtc_interval: Duration,
    /// How often the live PIDs are read.
    pub pid_interval: Duration,
    pub pids: Vec<u8>,
    /// Least time between two telemetry messages.
    pub telemetry_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatteryConfig {
    /// With the engine off, stop polling below this voltage so the 12 V battery is not drained.
    pub sleep_below: f32,
    /// Resume when the voltage rises above this: the alternator is charging, the engine runs.
    pub wake_above: f32,
    /// How often the voltage is checked while asleep.
    pub check_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub max_bytes: u64,
    pub sample_retention: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub version: MqttVersion,
    pub client_id: String,
    pub username: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub keep_alive: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MqttVersion {
    V311,
    V5,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteConfig {
    /// Whether a remote `clear` may run at all (and then only with the vehicle stationary).
    pub allow_clear: bool,
    /// Shared secret for command signatures, read from `command_key_file`.
    #[serde(skip)]
    pub command_key: Option<Vec<u8>>,
    pub require_signature: bool,
    /// Commands older than this are refused (replays, messages stuck in a queue).
    pub max_command_age: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: `{key}` {problem}; for example: {example}")]
    Invalid {
        origin: String,
        key: &'static str,
        problem: String,
        example: &'static str,
    },
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_str(&text, &path.display().to_string())
}

/// Validates configuration text; `origin` names it in errors (a path, or "<test>").
pub fn parse_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: origin.to_string(),
        message: e.to_string().trim_end().to_string(),
    })?;
    Validator { origin }.config(raw)
}

struct Validator<'a> {
    origin: &'a str,
}

impl Validator<'_> {
    fn invalid(
        &self,
        key: &'static str,
        problem: impl Into<String>,
        example: &'static str,
    ) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            key,
            problem: problem.into(),
            example,
        }
    }

    fn duration(
        &self,
        key: &'static str,
        value: Option<&str>,
        default: Duration,
        min: Duration,
        example: &'static str,
    ) -> Result<Duration, ConfigError> {
        let Some(text) = value else {
            return Ok(default);
        };
        let d = parse_duration(text).map_err(|e| self.invalid(key, e, example))?;
        if d < min {
            return Err(self.invalid(
                key,
                format!("must be at least {}", humantime::format_duration(min)),
                example,
            ));
        }
        Ok(d)
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let vehicle_id = raw
            .vehicle_id
            .ok_or_else(|| self.invalid("vehicle_id", "is missing", "vehicle_id = \"VAN-042\""))?;
        let valid_id = !vehicle_id.is_empty()
            && vehicle_id.len() <= 64
            && vehicle_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid_id {
            return Err(self.invalid(
                "vehicle_id",
                format!("'{vehicle_id}' must be 1-64 letters, digits, '-', '_' or '.' (it becomes part of MQTT topics)"),
                "vehicle_id = \"VAN-042\"",
            ));
        }
        Ok(Config {
            adapter: self.adapter(raw.adapter)?,
            poll: self.poll(raw.poll)?,
            battery: self.battery(raw.battery)?,
            store: self.store(raw.store)?,
            mqtt: raw.mqtt.map(|m| self.mqtt(m, &vehicle_id)).transpose()?,
            remote: self.remote(raw.remote)?,
            maintenance: self.maintenance(raw.maintenance)?,
            vehicle_id,
        })
    }

    fn adapter(&self, raw: raw::RawAdapter) -> Result<AdapterConfig, ConfigError> {
        const EXAMPLE: &str =
            "[adapter] port = \"/dev/ttyUSB0\" (or can = \"can0\", or sim = \"misfire\")";
        match (raw.port, raw.can, raw.sim) {
            (Some(port), None, None) => {
                let protocol = match raw.protocol.as_deref() {
                    None | Some("auto") | Some("0") => None,
                    Some(text) => Some(
                        u8::from_str_radix(text, 16)
                            .ok()
                            .and_then(Protocol::from_elm_number)
                            .ok_or_else(|| {
                                self.invalid(
                                    "adapter.protocol",
                                    format!("'{text}' is not auto or 1-9/A-C"),
                                    "protocol = \"6\"",
                                )
                            })?,
                    ),
                };
                Ok(AdapterConfig::Elm327 {
                    port,
                    baud: raw.baud,
                    protocol,
                })
            }
            (None, Some(interface), None) => Ok(AdapterConfig::SocketCan { interface }),
            (None, None, Some(scenario)) => {
                scenario
                    .parse::<crate::sim::Scenario>()
                    .map_err(|e| self.invalid("adapter.sim", e.to_string(), EXAMPLE))?;
                Ok(AdapterConfig::Simulator { scenario })
            }
            (None, None, None) => {
                Err(self.invalid("adapter", "needs one of port, can or sim", EXAMPLE))
            }
            _ => Err(self.invalid("adapter", "takes only one of port, can or sim", EXAMPLE)),
        }
    }

    fn poll(&self, raw: raw::RawPoll) -> Result<PollConfig, ConfigError> {
        let names = raw.pids.unwrap_or_else(|| {
            [
                "rpm",
                "speed",
                "coolant_temp",
                "engine_load",
                "control_module_voltage",
            ]
            .map(String::from)
            .to_vec()
        });
        let mut pids = Vec::with_capacity(names.len());
        for name in &names {
            let def = pid::pid_by_key(name).ok_or_else(|| {
                self.invalid(
                    "poll.pids",
                    format!("'{name}' is not a PID name (see `obd-agent live --list`)"),
                    "pids = [\"rpm\", \"speed\"]",
                )
            })?;
            pids.push(def.pid);
        }
        Ok(PollConfig {
            dtc_interval: self.duration(
                "poll.dtc_interval",
                raw.dtc_interval.as_deref(),
                Duration::from_secs(60),
                Duration::from_secs(5),
                "dtc_interval = \"60s\"",
            )?,
            pid_interval: self.duration(
                "poll.pid_interval",
                raw.pid_interval.as_deref(),
                Duration::from_secs(10),
                Duration::from_millis(200),
                "pid_interval = \"10s\"",
            )?,
            pids,
            telemetry_interval: self.duration(
                "poll.telemetry_interval",
                raw.telemetry_interval.as_deref(),
                Duration::from_secs(60),
                Duration::from_secs(1),
                "telemetry_interval = \"1m\"",
            )?,
        })
    }

    fn battery(&self, raw: raw::RawBattery) -> Result<BatteryConfig, ConfigError> {
        let sleep_below = raw.sleep_below.unwrap_or(12.2) as f32;
        let wake_above = raw.wake_above.unwrap_or(13.2) as f32;
        for (key, v) in [
            ("battery.sleep_below", sleep_below),
            ("battery.wake_above", wake_above),
        ] {
            if !(9.0..=16.0).contains(&v) {
                return Err(self.invalid(
                    key,
                    format!("{v} V is outside 9-16 V (a 12 V system)"),
                    "sleep_below = 12.2",
                ));
            }
        }
        if sleep_below >= wake_above {
            return Err(self.invalid(
                "battery.wake_above",
                format!("({wake_above} V) must be above sleep_below ({sleep_below} V), or the agent would wake and sleep in a loop"),
                "sleep_below = 12.2, wake_above = 13.2",
            ));
        }
        Ok(BatteryConfig {
            sleep_below,
            wake_above,
            check_interval: self.duration(
                "battery.check_interval",
                raw.check_interval.as_deref(),
                Duration::from_secs(60),
                Duration::from_secs(5),
                "check_interval = \"1m\"",
            )?,
        })
    }

    fn store(&self, raw: raw::RawStore) -> Result<StoreConfig, ConfigError> {
        // systemd's StateDirectory= tells the service where its state lives.
        let state_dir =
            std::env::var("STATE_DIRECTORY").unwrap_or_else(|_| DEFAULT_STATE_DIR.to_string());
        let path = raw
            .path
            .map_or_else(|| Path::new(&state_dir).join("agent.db"), PathBuf::from);
        let max_bytes = match raw.max_size.as_deref() {
            None => 64 << 20,
            Some(text) => parse_size(text)
                .map_err(|e| self.invalid("store.max_size", e, "max_size = \"64 MiB\""))?,
        };
        if max_bytes < 1 << 20 {
            return Err(self.invalid(
                "store.max_size",
                "must be at least 1 MiB",
                "max_size = \"64 MiB\"",
            ));
        }
        Ok(StoreConfig {
            path,
            max_bytes,
            sample_retention: self.duration(
                "store.sample_retention",
                raw.sample_retention.as_deref(),
                Duration::from_secs(30 * 86400),
                Duration::from_secs(3600),
                "sample_retention = \"30d\"",
            )?,
        })
    }

    fn mqtt(&self, raw: raw::RawMqtt, vehicle_id: &str) -> Result<MqttConfig, ConfigError> {
        const URL_EXAMPLE: &str = "url = \"mqtts://broker.example.com:8883\"";
        let url = raw
            .url
            .ok_or_else(|| self.invalid("mqtt.url", "is missing", URL_EXAMPLE))?;
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            self.invalid("mqtt.url", format!("'{url}' has no scheme"), URL_EXAMPLE)
        })?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" | "tls" => true,
            _ => {
                return Err(self.invalid(
                    "mqtt.url",
                    format!("scheme '{scheme}' is not mqtt or mqtts"),
                    URL_EXAMPLE,
                ));
            }
        };
        let default_port = if tls { 8883 } else { 1883 };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => match p.parse::<u16>() {
                Ok(port) => (
                    h.trim_start_matches('[').trim_end_matches(']').to_string(),
                    port,
                ),
                Err(_) => {
                    return Err(self.invalid(
                        "mqtt.url",
                        format!("port '{p}' is not a number"),
                        URL_EXAMPLE,
                    ));
                }
            },
            _ => (rest.to_string(), default_port),
        };
        if host.is_empty() {
            return Err(self.invalid("mqtt.url", "has no host", URL_EXAMPLE));
        }
        let version = match raw.version.unwrap_or(5) {
            3 | 4 => MqttVersion::V311,
            5 => MqttVersion::V5,
            v => {
                return Err(self.invalid(
                    "mqtt.version",
                    format!("{v} is not 3 (3.1.1) or 5"),
                    "version = 5",
                ));
            }
        };
        let password = match (raw.password, raw.password_file) {
            (Some(_), Some(_)) => {
                return Err(self.invalid(
                    "mqtt.password",
                    "and password_file are both set; keep one",
                    "password_file = \"/etc/obd-agent/mqtt-password\"",
                ));
            }
            (Some(p), None) => Some(p),
            (None, Some(file)) => Some(
                std::fs::read_to_string(&file)
                    .map_err(|e| {
                        self.invalid(
                            "mqtt.password_file",
                            format!("cannot read {file}: {e}"),
                            "password_file = \"/etc/obd-agent/mqtt-password\"",
                        )
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        if raw.client_cert.is_some() != raw.client_key.is_some() {
            return Err(self.invalid("mqtt.client_cert", "and client_key go together", "client_cert = \"/etc/obd-agent/client.pem\", client_key = \"/etc/obd-agent/client.key\""));
        }
        if !tls && (raw.ca_file.is_some() || raw.client_cert.is_some()) {
            return Err(self.invalid(
                "mqtt.url",
                "uses plain mqtt:// but TLS files are set; use mqtts://",
                URL_EXAMPLE,
            ));
        }
        Ok(MqttConfig {
            host,
            port,
            tls,
            version,
            client_id: raw
                .client_id
                .unwrap_or_else(|| format!("obd-agent-{vehicle_id}")),
            username: raw.username,
            password,
            ca_file: raw.ca_file.map(PathBuf::from),
            client_cert: raw.client_cert.map(PathBuf::from),
            client_key: raw.client_key.map(PathBuf::from),
            keep_alive: self.duration(
                "mqtt.keep_alive",
                raw.keep_alive.as_deref(),
                Duration::from_secs(30),
                Duration::from_secs(5),
                "keep_alive = \"30s\"",
            )?,
        })
    }

    fn maintenance(&self, raw: raw::RawMaintenance) -> Result<MaintenanceConfig, ConfigError> {
        let lead_days = raw
            .lead_days
            .unwrap_or(crate::maintenance::tracker::DEFAULT_LEAD_DAYS);
        if !(1.0..=30.0).contains(&lead_days) {
            return Err(self.invalid(
                "maintenance.lead_days",
                format!("must be 1-30 days (3-7 is the usual reminder), got {lead_days}"),
                "lead_days = 5",
            ));
        }
        let limit = |v: Option<f64>| v.map(|v| (v != 0.0).then_some(v));
        let overrides: Vec<crate::maintenance::schedule::Override> = raw
            .items
            .into_iter()
            .map(|(item, i)| crate::maintenance::schedule::Override {
                item,
                km: limit(i.km),
                months: limit(i.months),
            })
            .collect();
        let schedule = crate::maintenance::Schedule::embedded()
            .with_overrides(&overrides)
            .map_err(|e| {
                self.invalid(
                    "maintenance.items",
                    e.to_string(),
                    "[maintenance.items.engine_oil] km = 15000, months = 24",
                )
            })?;
        Ok(MaintenanceConfig {
            enabled: raw.enabled.unwrap_or(true),
            lead_days,
            schedule,
        })
    }

    fn remote(&self, raw: raw::RawRemote) -> Result<RemoteConfig, ConfigError> {
        const KEY_EXAMPLE: &str = "command_key_file = \"/etc/obd-agent/command.key\"";
        let command_key = match raw.command_key_file {
            Some(file) => {
                let key = std::fs::read(&file).map_err(|e| {
                    self.invalid(
                        "remote.command_key_file",
                        format!("cannot read {file}: {e}"),
                        KEY_EXAMPLE,
                    )
                })?;
                if key.len() < 16 {
                    return Err(self.invalid(
                        "remote.command_key_file",
                        "holds fewer than 16 bytes; use a random key of 32 bytes",
                        KEY_EXAMPLE,
                    ));
                }
                Some(key)
            }
            None => None,
        };
        let require_signature = raw.require_signature.unwrap_or(command_key.is_some());
        if require_signature && command_key.is_none() {
            return Err(self.invalid(
                "remote.require_signature",
                "needs command_key_file",
                KEY_EXAMPLE,
            ));
        }
        Ok(RemoteConfig {
            allow_clear: raw.allow_clear.unwrap_or(false),
            command_key,
            require_signature,
            max_command_age: self.duration(
                "remote.max_command_age",
                raw.max_command_age.as_deref(),
                Duration::from_secs(60),
                Duration::from_secs(1),
                "max_command_age = \"60s\"",
            )?,
        })
    }
}

#[cfg(test)]
mod tests;
