//! Uplink settings, validated before anything connects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::UplinkError;

/// Which MQTT protocol to speak. Both go through rumqttc; MQTT 5 adds session expiry, reason
/// codes on PubAck and response topics with correlation data for command replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum ProtocolVersion {
    #[serde(rename = "3.1.1")]
    V311,
    #[default]
    #[serde(rename = "5")]
    V5,
}

/// TLS with the broker's CA and, optionally, a client certificate (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file with the CA certificate(s) that signed the broker's certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate chain and its key, for brokers that authenticate devices by
    /// certificate.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// What the retained status message says about this agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusInfo {
    pub agent_version: String,
    /// Adapter description, e.g. "ELM327 v1.5 on /dev/ttyUSB0" or "socketcan can0".
    pub adapter: Option<String>,
    pub vin: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub host: String,
    pub port: u16,
    pub protocol: ProtocolVersion,
    /// Identifies the vehicle in every topic (`fleet/<vehicle_id>/...`).
    pub vehicle_id: String,
    /// Defaults to `obd-agent-<vehicle_id>`: unique per vehicle, stable across restarts so the
    /// broker can resume the persistent session.
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<TlsConfig>,
    pub keep_alive: Duration,
    /// Ask for a persistent session (clean_session=false, or clean_start=false with a session
    /// expiry in MQTT 5) so commands sent while the vehicle is offline are queued by the broker.
    pub persistent_session: bool,
    /// MQTT 5 session expiry interval; brokers may lower it.
    pub session_expiry: Duration,
    /// First reconnect delay; doubles per failure up to `reconnect_max`, with jitter.
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// How long one connection attempt (TCP, TLS, CONNECT/CONNACK) may take.
    pub connect_timeout: Duration,
    /// Outbox messages in flight at once (handed to the client, not yet acknowledged).
    pub window: usize,
    /// How often the outbox is looked at when nobody signals new messages.
    pub outbox_poll: Duration,
    /// Larger command payloads are refused with an error reply without being parsed.
    pub max_command_bytes: usize,
    /// A command the agent has not answered by then gets a "timeout" error reply.
    pub command_timeout: Duration,
    /// On shutdown, how long to wait for the offline status to be acknowledged.
    pub shutdown_timeout: Duration,
    pub status: StatusInfo,
}

impl UplinkConfig {
    /// Defaults suited to a vehicle on a mobile link.
    pub fn new(host: impl Into<String>, port: u16, vehicle_id: impl Into<String>) -> Self {
        UplinkConfig {
            host: host.into(),
            port,
            protocol: ProtocolVersion::V5,
            vehicle_id: vehicle_id.into(),
            client_id: None,
            username: None,
            password: None,
            tls: None,
            keep_alive: Duration::from_secs(60),
            persistent_session: true,
            session_expiry: Duration::from_secs(7 * 24 * 3600),
            reconnect_initial: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
            window: 32,
            outbox_poll: Duration::from_secs(5),
            max_command_bytes: 4096,
            command_timeout: Duration::from_secs(120),
            shutdown_timeout: Duration::from_secs(5),
            status: StatusInfo {
                agent_version: env!("CARGO_PKG_VERSION").to_string(),
                ..StatusInfo::default()
            },
        }
    }

    pub fn client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("obd-agent-{}", self.vehicle_id))
    }

    /// Checks what would otherwise fail later, or silently publish to the wrong topics.
    pub fn validate(&self) -> Result<(), UplinkError> {
        let bad = |field, problem| Err(UplinkError::InvalidConfig { field, problem });
        if self.host.is_empty() {
            return bad("host", "is empty");
        }
        if !is_topic_level(&self.vehicle_id) {
            return bad(
                "vehicle_id",
                "must be 1-64 characters of A-Z a-z 0-9 - _ . (it is a topic level)",
            );
        }
        if self.client_id().is_empty() || self.client_id().len() > 128 {
            return bad("client_id", "must be 1-128 bytes");
        }
        if self.password.is_some() && self.username.is_none() {
            return bad(
                "password",
                "needs a username (MQTT sends no password alone)",
            );
        }
        if self.keep_alive < Duration::from_secs(5) {
            return bad("keep_alive", "must be at least 5 s");
        }
        if self.window == 0 || self.window > 1000 {
            return bad("window", "must be 1-1000");
        }
        if self.reconnect_initial.is_zero() || self.reconnect_max < self.reconnect_initial {
            return bad("reconnect", "needs 0 < initial <= max");
        }
        if self.connect_timeout < Duration::from_secs(1) {
            return bad("connect_timeout", "must be at least 1 s");
        }
        if self.max_command_bytes < 64 {
            return bad("max_command_bytes", "must be at least 64");
        }
        Ok(())
    }

    /// The rustls client configuration, built with the ring provider so the build needs no
    /// C toolchain beyond ring's (aws-lc is rumqttc's default and heavy to cross-compile).
    pub fn rustls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, UplinkError> {
        let Some(tls) = &self.tls else {
            return Ok(None);
        };
        let mut roots = rustls::RootCertStore::empty();
        let ca = read(&tls.ca_file)?;
        for cert in CertificateDer::pem_slice_iter(&ca).flatten() {
            roots.add(cert).map_err(UplinkError::Tls)?;
        }
        if roots.is_empty() {
            return Err(UplinkError::Pem {
                path: tls.ca_file.clone(),
                what: "CA certificate",
            });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(UplinkError::Tls)?
            .with_root_certificates(roots);
        let config = match &tls.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_file, key_file)) => {
                let pem = read(cert_file)?;
                let chain: Vec<_> = CertificateDer::pem_slice_iter(&pem).flatten().collect();
                if chain.is_empty() {
                    return Err(UplinkError::Pem {
                        path: cert_file.clone(),
                        what: "certificate",
                    });
                }
                let key = PrivateKeyDer::from_pem_slice(&read(key_file)?).map_err(|_| {
                    UplinkError::Pem {
                        path: key_file.clone(),
                        what: "private key",
                    }
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(UplinkError::Tls)?
            }
        };
        Ok(Some(Arc::new(config)))
    }
}

/// The system's CA bundle on Debian and Raspberry Pi OS (package ca-certificates), used when the
/// agent's `[mqtt]` settings ask for TLS without naming a CA file.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl UplinkConfig {
    /// From the agent's validated `[mqtt]` settings; everything else keeps its default.
    pub fn from_agent(vehicle_id: &str, mqtt: &crate::config::MqttConfig) -> Self {
        let mut config = UplinkConfig::new(&mqtt.host, mqtt.port, vehicle_id);
        config.protocol = match mqtt.version {
            crate::config::MqttVersion::V311 => ProtocolVersion::V311,
            crate::config::MqttVersion::V5 => ProtocolVersion::V5,
        };
        config.client_id = Some(mqtt.client_id.clone()).filter(|id| !id.is_empty());
        config.username = mqtt.username.clone();
        config.password = mqtt.password.clone();
        config.keep_alive = mqtt.keep_alive;
        if mqtt.tls {
            config.tls = Some(TlsConfig {
                ca_file: mqtt
                    .ca_file
                    .clone()
                    .unwrap_or_else(|| SYSTEM_CA_BUNDLE.into()),
                client_cert: mqtt.client_cert.clone().zip(mqtt.client_key.clone()),
            });
        }
        config
    }
}

fn read(path: &Path) -> Result<Vec<u8>, UplinkError> {
    std::fs::read(path).map_err(|source| UplinkError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

/// A string safe as one topic level and in ACL patterns: no `/`, wildcards, `$` or spaces.
pub fn is_topic_level(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_vehicle_ids_do_not() {
        assert!(
            UplinkConfig::new("broker", 1883, "VAN-042")
                .validate()
                .is_ok()
        );
        for id in ["", "a/b", "a+b", "#", "a b", "$SYS"] {
            let config = UplinkConfig::new("broker", 1883, id);
            assert!(config.validate().is_err(), "{id:?}");
        }
        let mut config = UplinkConfig::new("broker", 1883, "v1");
        config.password = Some("secret".into());
        assert!(config.validate().is_err());
    }

    #[test]
    fn the_agents_mqtt_settings_carry_over() {
        let text = "vehicle_id = \"truck.7\"\n[adapter]\nport = \"/dev/ttyUSB0\"\n\
                    [mqtt]\nurl = \"mqtts://broker.example.com\"\nversion = 3\n\
                    username = \"truck.7\"\npassword = \"secret\"\n";
        let agent = crate::config::parse_str(text, "test.toml").unwrap();
        let mqtt = agent.mqtt.as_ref().unwrap();
        let config = UplinkConfig::from_agent(&agent.vehicle_id, mqtt);
        assert_eq!(config.protocol, ProtocolVersion::V311);
        assert_eq!(
            (config.host.as_str(), config.port),
            ("broker.example.com", 8883)
        );
        assert_eq!(config.password.as_deref(), Some("secret"));
        let tls = config.tls.as_ref().unwrap();
        assert_eq!(tls.ca_file, PathBuf::from(SYSTEM_CA_BUNDLE));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_missing_ca_file_is_named_in_the_error() {
        let mut config = UplinkConfig::new("broker", 8883, "v1");
        config.tls = Some(TlsConfig {
            ca_file: "/nonexistent/ca.pem".into(),
            client_cert: None,
        });
        let err = config.rustls_config().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
