//! The embedded MQTT broker (rumqttd), present only with the `demo-broker` feature: host
//! builds have it so the demo needs nothing installed; the dongle build leaves it out.

#[cfg(feature = "demo-broker")]
mod embedded {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};

    use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

    use crate::cli::error::CliError;

    /// Starts a broker on a free loopback port and returns that address. It runs on its own
    /// threads until the process exits: rumqttd has no stop call, and the demo ends with the
    /// process anyway.
    pub fn start() -> Result<SocketAddr, CliError> {
        let failed = |what: String| CliError::Failed(format!("embedded MQTT broker: {what}"));
        // Ask the OS for a free port; loopback only, so nothing outside this machine sees it.
        let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| failed(format!("no free loopback port: {e}")))?;
        let server = ServerSettings {
            name: "demo-v4".into(),
            listen: addr,
            tls: None,
            next_connection_delay_ms: 1,
            connections: ConnectionSettings {
                connection_timeout_ms: 5000,
                max_payload_size: 256 * 1024,
                max_inflight_count: 100,
                auth: None,
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 16,
                max_outgoing_packet_count: 200,
                max_segment_size: 1 << 20,
                max_segment_count: 10,
                ..RouterConfig::default()
            },
            v4: Some(HashMap::from([("demo".to_string(), server)])),
            ..Config::default()
        };
        let mut broker = Broker::new(config);
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                // Returns only if a listener fails; the demo then reports the broker silent.
                if let Err(e) = broker.start() {
                    tracing::error!(error = %e, "embedded MQTT broker stopped");
                }
            })
            .map_err(|e| failed(format!("cannot start its thread: {e}")))?;
        Ok(addr)
    }
}

#[cfg(feature = "demo-broker")]
pub use embedded::start;

/// Without the feature there is nothing to start: say so, and how to get a broker.
#[cfg(not(feature = "demo-broker"))]
pub fn start() -> Result<std::net::SocketAddr, crate::cli::error::CliError> {
    Err(crate::cli::error::CliError::Usage(
        "this build of obd-agent has no embedded MQTT broker (built without the `demo-broker` \
         feature, as for the dongle). Use a broker of your own: `obd-agent demo --broker \
         mqtt://localhost:1883` (e.g. `apt-get install mosquitto`), or rebuild with the \
         feature: `cargo build --release --features demo-broker`"
            .into(),
    ))
}
