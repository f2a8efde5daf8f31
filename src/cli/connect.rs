//! Connection options shared by every command that talks to a vehicle.

use clap::Args;

use super::error::CliError;
use crate::obd::protocol::Protocol;
use crate::sim::{Scenario, SimLatency};
use crate::transport::Transport;
use crate::transport::elm327::{Elm327Options, Elm327Transport};
use crate::transport::sim::SimTransport;

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Adapter: serial device (/dev/ttyUSB0, /dev/rfcomm0) or host:port for WiFi (192.168.0.10:35000).
    #[arg(long, short, env = "OBD_AGENT_PORT")]
    pub port: Option<String>,
    /// Serial speed; by default the common rates are tried.
    #[arg(long)]
    pub baud: Option<u32>,
    /// Bus protocol: auto, or the ELM327 number 1-9/A-C (6 = CAN 11-bit 500k).
    #[arg(long, default_value = "auto", value_parser = parse_protocol)]
    pub protocol: ProtocolChoice,
    /// Use the built-in simulated vehicle instead of an adapter (e.g. healthy, misfire).
    #[arg(long, conflicts_with = "port", value_name = "SCENARIO")]
    pub sim: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct ProtocolChoice(pub Option<Protocol>);

fn parse_protocol(text: &str) -> Result<ProtocolChoice, String> {
    if text.eq_ignore_ascii_case("auto") || text == "0" {
        return Ok(ProtocolChoice(None));
    }
    u8::from_str_radix(text, 16)
        .ok()
        .and_then(Protocol::from_elm_number)
        .map(|p| ProtocolChoice(Some(p)))
        .ok_or_else(|| {
            "expected auto or an ELM327 protocol number 1-9 or A-C (6 = ISO 15765-4 CAN 11/500)"
                .into()
        })
}

impl ConnectArgs {
    pub async fn connect(&self) -> Result<Box<dyn Transport>, CliError> {
        if let Some(name) = &self.sim {
            let scenario: Scenario = name.parse().map_err(|e: crate::sim::SimError| {
                CliError::Usage(format!("{e}; known scenarios: {}", scenario_names()))
            })?;
            return Ok(Box::new(SimTransport::new(scenario, SimLatency::zero())));
        }
        let port = self
            .port
            .clone()
            .ok_or_else(|| CliError::Usage("no adapter given: pass --port (e.g. /dev/ttyUSB0 or 192.168.0.10:35000) or --sim SCENARIO".into()))?;
        let mut options = Elm327Options::new(port);
        options.baud = self.baud;
        options.protocol = self.protocol.0;
        Ok(Box::new(Elm327Transport::open(options).await?))
    }
}

pub fn scenario_names() -> String {
    Scenario::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}
