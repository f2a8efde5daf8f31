//! The ELM327 transport: serial or TCP link, initialisation, and requests with recovery.
//!
//! Real adapters, clones above all, bend the datasheet: some lack commands, some ignore the
//! response-count digit, some reset when the vehicle cranks, some garble a frame now and
//! then. Each of those is detected here and handled by falling back or asking again, never by
//! passing a doubtful answer up.

mod answers;
pub mod link;
pub mod session;

use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

use crate::elm327::commands::{self, AdapterVersion, Need, SETTINGS};
use crate::elm327::frames::decode_lines;
use crate::elm327::reply::{AdapterStatus, Reply, classify};
use crate::obd::protocol::Protocol;
use crate::transport::{EcuResponse, LinkInfo, ObdRequest, Transport, TransportError};

use crate::obd::service::answers_request;
use answers::drop_superseded_pending;
use link::{BAUD_RATES, Link, PortSpec};
use session::Session;

/// How often one request is tried before its failure is reported.
const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct Elm327Options {
    /// Serial device path or `host:port`.
    pub port: String,
    /// Serial speed; `None` probes the common rates.
    pub baud: Option<u32>,
    /// Bus protocol; `None` lets the adapter search.
    pub protocol: Option<Protocol>,
    /// Longest wait for an answer once the protocol is known. The adapter's own timeout is at
    /// most about a second, so a missing prompt after this means the link is in trouble.
    pub command_timeout: Duration,
    /// Longest wait while the adapter searches protocols (slow K-line inits take seconds each).
    pub search_timeout: Duration,
    /// Longest wait for the reset banner after `ATZ`.
    pub reset_timeout: Duration,
}

impl Elm327Options {
    pub fn new(port: impl Into<String>) -> Self {
        Elm327Options {
            port: port.into(),
            baud: None,
            protocol: None,
            command_timeout: Duration::from_secs(5),
            search_timeout: Duration::from_secs(25),
            reset_timeout: Duration::from_secs(5),
        }
    }
}

/// Whether the adapter honours the response-count digit after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountHint {
    Untested,
    Works,
    Broken,
}

pub struct Elm327Transport<L = Link> {
    session: Session<L>,
    options: Elm327Options,
    version: Option<AdapterVersion>,
    /// The protocol the vehicle answered on; `None` until the first answer after a search.
    protocol: Option<Protocol>,
    count_hint: CountHint,
}

impl Elm327Transport<Link> {
    /// Opens the port, finds the baud rate if needed, resets and configures the adapter.
    /// The vehicle is not contacted yet: the first request does that.
    pub async fn open(options: Elm327Options) -> Result<Self, TransportError> {
        let spec = PortSpec::parse(&options.port);
        let first_baud = options.baud.unwrap_or(BAUD_RATES[0]);
        let link = Link::open(&spec, first_baud).await?;
        let probe = link.is_serial() && options.baud.is_none();
        let mut transport = Elm327Transport::from_link(link, options);
        if probe {
            transport.find_baud_rate().await?;
        }
        transport.initialise().await?;
        Ok(transport)
    }

    async fn find_baud_rate(&mut self) -> Result<(), TransportError> {
        for baud in BAUD_RATES {
            self.session.link_mut().set_baud(baud)?;
            // A first ATI ends any half-received command (never a lone CR: an idle adapter
            // repeats its last command, maybe an earlier tool's 04); the second proves the rate.
            self.session.write_raw(b"ATI\r").await?;
            let first = self.session.listen(Duration::from_millis(300)).await?;
            self.session.write_raw(b"ATI\r").await?;
            let second = self.session.listen(Duration::from_millis(800)).await?;
            let answer = first + &second;
            if answer.to_ascii_uppercase().contains("ELM") {
                debug!(baud, "adapter answered");
                return Ok(());
            }
        }
        Err(TransportError::AdapterSilent {
            port: self.options.port.clone(),
            tried: BAUD_RATES.map(|b| b.to_string()).join(", "),
        })
    }
}

impl<L: AsyncRead + AsyncWrite + Unpin + Send> Elm327Transport<L> {
    pub fn from_link(link: L, options: Elm327Options) -> Self {
        Elm327Transport {
            session: Session::new(link),
            options,
            version: None,
            protocol: None,
            count_hint: CountHint::Untested,
        }
    }

    /// Resets the adapter and applies our settings and protocol.
    pub async fn initialise(&mut self) -> Result<(), TransportError> {
        // Whatever state an earlier user left the adapter in, start from an idle prompt.
        self.session.abort().await;
        let raw = self
            .session
            .command("ATZ", self.options.reset_timeout)
            .await;
        let banner = match raw {
            Ok(raw) => raw.text,
            Err(TransportError::Timeout { .. }) => String::new(),
            Err(e) => return Err(e),
        };
        let version = match AdapterVersion::parse(&banner) {
            Some(v) => v,
            None => {
                let ati = self
                    .session
                    .command("ATI", self.options.command_timeout)
                    .await?;
                AdapterVersion::parse(&ati.text).ok_or_else(|| TransportError::NotAnElm327 {
                    answer: banner.trim().to_string(),
                })?
            }
        };
        debug!(banner = %version.banner, "adapter reset");
        self.version = Some(version);
        self.count_hint = CountHint::Untested;
        self.configure(self.options.protocol).await
    }

    /// Applies the settings after a reset; with a known protocol, selects it directly so no
    /// search is needed.
    async fn configure(&mut self, protocol: Option<Protocol>) -> Result<(), TransportError> {
        for &(command, need) in SETTINGS {
            let reply = self.at(command).await?;
            if reply.has(&AdapterStatus::Unknown) {
                if need == Need::Required {
                    return Err(TransportError::Rejected {
                        command: command.to_string(),
                        reason: "the adapter does not support it; it may not be an ELM327".into(),
                    });
                }
                warn!(command, "adapter lacks this command, continuing without it");
            }
        }
        let select = commands::protocol_command(protocol);
        let reply = self.at(&select).await?;
        if reply.has(&AdapterStatus::Unknown) {
            return Err(TransportError::Rejected {
                command: select,
                reason: "the adapter does not support this protocol".into(),
            });
        }
        self.protocol = protocol;
        Ok(())
    }

    async fn at(&mut self, command: &str) -> Result<Reply, TransportError> {
        let raw = self
            .session
            .command(command, self.options.command_timeout)
            .await?;
        Ok(classify(&raw.text, command))
    }

    /// The adapter reset itself (brown-out while cranking, or a clone's watchdog): settings
    /// are back to defaults, so apply ours again, keeping the protocol already found.
    async fn recover_from_reset(&mut self) -> Result<(), TransportError> {
        warn!("adapter reset itself; restoring settings");
        self.count_hint = CountHint::Untested;
        self.configure(self.protocol.or(self.options.protocol))
            .await
    }

    async fn read_protocol(&mut self) -> Result<Protocol, TransportError> {
        let reply = self.at("ATDPN").await?;
        let protocol = reply
            .lines
            .first()
            .and_then(|l| commands::parse_protocol_number(l))
            .ok_or_else(|| {
                TransportError::Bus("the adapter did not say which protocol it found".into())
            })?;
        debug!(%protocol, "protocol found");
        self.protocol = Some(protocol);
        Ok(protocol)
    }

    fn hint_for(&self, request: &ObdRequest) -> Option<u8> {
        let supported = self
            .version
            .as_ref()
            .is_some_and(AdapterVersion::has_response_count);
        match self.count_hint {
            CountHint::Broken => None,
            _ if !supported || self.protocol.is_none() => None,
            // The adapter counts lines, so multi-frame answers count by their frames.
            _ => request.expected_frames,
        }
    }

    /// One request with retries; see the module docs for what is recovered from.
    async fn exchange(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        let mut last_problem = String::new();
        let mut use_hint = true;
        let mut timed_out = false;
        // Set once an answer to a request with the count digit came back unclean: a count too
        // small cuts a multi-frame answer short, so the retries go without it.
        let mut hint_unclean = false;
        for attempt in 1..=ATTEMPTS {
            let hint = self.hint_for(request).filter(|_| use_hint && !hint_unclean);
            let command = commands::obd_command(&request.data, hint);
            let timeout = if self.protocol.is_none() {
                self.options.search_timeout
            } else {
                self.options.command_timeout
            };
            let raw = match self.session.command(&command, timeout).await {
                Ok(raw) => raw,
                // One lost answer is a glitch (a radio link dropping a packet, a clone's
                // hiccup) and the session has already brought the adapter back to its prompt,
                // so ask once more. Two in a row mean the link is in trouble: say so.
                Err(TransportError::Timeout { .. }) if !timed_out && attempt < ATTEMPTS => {
                    warn!(command, "no answer; asking again");
                    timed_out = true;
                    last_problem = "no answer".into();
                    continue;
                }
                Err(e) => return Err(e),
            };
            let reply = classify(&raw.text, &command);
            if reply.reset_banner().is_some() || reply.has(&AdapterStatus::LowVoltageReset) {
                self.recover_from_reset().await?;
                last_problem = "the adapter reset itself".into();
                continue;
            }
            match reply.failure() {
                None => {}
                Some(AdapterStatus::Unknown) if hint.is_some() => {
                    warn!("adapter rejects the response-count digit; not using it again");
                    self.count_hint = CountHint::Broken;
                    continue;
                }
                Some(AdapterStatus::Unknown) => {
                    return Err(TransportError::Rejected {
                        command,
                        reason: "the adapter answered '?'".into(),
                    });
                }
                Some(AdapterStatus::UnableToConnect) => {
                    return Err(TransportError::NoVehicle {
                        detail: "UNABLE TO CONNECT".into(),
                    });
                }
                Some(AdapterStatus::BusInitError) => {
                    return Err(TransportError::NoVehicle {
                        detail: "BUS INIT: ERROR".into(),
                    });
                }
                Some(status) => {
                    warn!(?status, attempt, "adapter reported a problem; asking again");
                    last_problem = format!("{status:?}");
                    continue;
                }
            }
            let protocol = match self.protocol {
                Some(p) => p,
                None => self.read_protocol().await?,
            };
            if reply.lines.is_empty() {
                if hint.is_some() && self.count_hint == CountHint::Untested {
                    // Some clones answer NO DATA whenever the digit is present: check once.
                    use_hint = false;
                    continue;
                }
                return Ok(Vec::new());
            }
            if hint.is_none() && !use_hint && self.count_hint == CountHint::Untested {
                warn!("adapter answers only without the response-count digit; not using it");
                self.count_hint = CountHint::Broken;
            } else if hint.is_some() {
                self.count_hint = CountHint::Works;
            }
            let decoded = decode_lines(&reply.lines, protocol);
            let foreign = decoded
                .responses
                .iter()
                .filter(|r| !answers_request(&request.data, &r.data))
                .count();
            if foreign > 0 || !decoded.anomalies.is_empty() {
                // A garbled line may hide an ECU's answer; an answer to another request means
                // we are out of step. Either way the rest may be incomplete and the real answer
                // may still be coming: let the line go quiet, ask again, never return this.
                last_problem = if foreign > 0 {
                    format!("{foreign} answer(s) to another request")
                } else {
                    format!("{:?}", decoded.anomalies)
                };
                warn!(%last_problem, "unclean answer; asking again");
                hint_unclean |= hint.is_some();
                self.session.resync().await?;
                continue;
            }
            return Ok(drop_superseded_pending(decoded.responses));
        }
        Err(TransportError::Bus(format!(
            "no clean answer to {} after {ATTEMPTS} attempts ({last_problem})",
            commands::obd_command(&request.data, None)
        )))
    }
}

#[async_trait]
impl<L: AsyncRead + AsyncWrite + Unpin + Send> Transport for Elm327Transport<L> {
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        if request.data.is_empty() || request.data.len() > 7 {
            return Err(TransportError::Rejected {
                command: commands::obd_command(&request.data, None),
                reason: "an OBD request is 1 to 7 bytes".into(),
            });
        }
        self.exchange(request).await
    }

    fn link(&self) -> LinkInfo {
        LinkInfo {
            adapter: self
                .version
                .as_ref()
                .map_or_else(|| "ELM327".to_string(), |v| v.banner.clone()),
            port: self.options.port.clone(),
            protocol: self.protocol,
        }
    }

    fn supports_multi_pid(&self) -> bool {
        self.protocol.is_some_and(Protocol::is_can)
    }

    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError> {
        let reply = self.at("ATRV").await?;
        Ok(reply.lines.first().and_then(|l| commands::parse_voltage(l)))
    }
}

#[cfg(test)]
mod tests;
