//! The configuration file exactly as the user typed it: every field optional where a default
//! exists, unknown keys rejected (a typo must not silently fall back to a default).

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub vehicle_id: Option<String>,
    #[serde(default)]
    pub adapter: RawAdapter,
    #[serde(default)]
    pub poll: RawPoll,
    #[serde(default)]
    pub battery: RawBattery,
    #[serde(default)]
    pub store: RawStore,
    pub mqtt: Option<RawMqtt>,
    #[serde(default)]
    pub remote: RawRemote,
    #[serde(default)]
    pub maintenance: RawMaintenance,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdapter {
    pub port: Option<String>,
    pub can: Option<String>,
    pub sim: Option<String>,
    pub baud: Option<u32>,
    pub protocol: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoll {
    pub dtc_interval: Option<String>,
    pub pid_interval: Option<String>,
    pub pids: Option<Vec<String>>,
    pub telemetry_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBattery {
    pub sleep_below: Option<f64>,
    pub wake_above: Option<f64>,
    pub check_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub path: Option<String>,
    pub max_size: Option<String>,
    pub sample_retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    pub url: Option<String>,
    pub version: Option<u8>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub ca_file: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub keep_alive: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRemote {
    pub allow_clear: Option<bool>,
    pub command_key_file: Option<String>,
    pub require_signature: Option<bool>,
    pub max_command_age: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaintenance {
    pub enabled: Option<bool>,
    pub lead_days: Option<f64>,
    #[serde(default)]
    pub items: std::collections::BTreeMap<String, RawItemInterval>,
}

/// `0` removes that limit (a time-only or distance-only item).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItemInterval {
    pub km: Option<f64>,
    pub months: Option<f64>,
}
