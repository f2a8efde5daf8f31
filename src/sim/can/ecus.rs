//! The simulated vehicle's ECUs as CAN nodes, as pure state (the shell in `mod.rs` owns the
//! socket and the clock, like the ISO-TP core it builds on).
//!
//! Each ECU listens to the functional request id and to its own physical request id, answers
//! from its own response id, segments long answers and waits for the tester's flow control
//! like a real ECU. Per-ECU [`Quirk`]s make the awkward ones real ECUs have for tests.

use std::collections::VecDeque;
use std::time::Duration;

use tracing::{debug, warn};

use crate::isotp::{Addressing, CanFrame, CanId, Config, Pci, Receiver, RxEvent, Sender, TxStep};
use crate::obd::protocol::Protocol;
use crate::sim::SimVehicle;
use crate::transport::EcuAddress;

/// How an ECU misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quirk {
    /// Answers at once (after [`CanSimOptions::response_time`]).
    #[default]
    Prompt,
    /// Answers "response pending" (`7F sid 78`) at once and the real answer after this long,
    /// as ECUs busy computing (or slow gateways) do.
    PendingFirst(Duration),
    /// Never answers: a module that is asleep or not OBD-capable.
    Silent,
    /// Answers after this long; beyond P2 (50 ms) the tester has stopped listening.
    Late(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CanSimOptions {
    /// 29-bit ids (0x18DB33F1, 0x18DAxxF1 / 0x18DAF1xx) instead of 11-bit (0x7DF, 0x7Ex).
    pub extended: bool,
    /// Padding, and the flow control the ECUs announce for segmented physical requests.
    pub isotp: Config,
    /// How long every ECU takes to start answering.
    pub response_time: Duration,
    /// Quirks by position in `SimVehicle::ecus` (0 is the engine); others are prompt.
    pub quirks: Vec<(usize, Quirk)>,
}

impl Default for CanSimOptions {
    fn default() -> Self {
        CanSimOptions {
            extended: false,
            isotp: Config::default(),
            response_time: Duration::ZERO,
            quirks: Vec::new(),
        }
    }
}

/// What the shell should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcuStep {
    /// Put this frame on the bus, then poll again.
    Send(CanFrame),
    /// Wait for a frame or until this time (`None`: until a frame comes); poll again.
    WaitUntil(Option<Duration>),
}

/// One ECU's side of the bus.
#[derive(Debug)]
struct Port {
    /// The vehicle's address for it, to ask the vehicle for its answers.
    address: EcuAddress,
    /// Its physical request id, where the tester's flow control arrives too.
    request_id: CanId,
    response_id: CanId,
    quirk: Quirk,
    /// Answers not yet started, with when each is due, in the order they were scheduled.
    queue: VecDeque<(Duration, Vec<u8>)>,
    /// The answer on the bus now (one at a time, as an ECU has one ISO-TP sender).
    sending: Option<Sender>,
    /// Reassembles segmented physical requests (OBD ones fit a frame, UDS ones may not).
    receiver: Receiver,
}

/// Every ECU of a [`SimVehicle`] on one CAN bus.
#[derive(Debug)]
pub struct VirtualEcus {
    vehicle: SimVehicle,
    functional: CanId,
    ports: Vec<Port>,
    config: Config,
    response_time: Duration,
    /// Flow control owed to testers sending segmented physical requests.
    outbox: VecDeque<CanFrame>,
}

fn can_id(address: EcuAddress) -> Option<CanId> {
    match address {
        EcuAddress::Can11(id) => Some(CanId::Standard(id)),
        EcuAddress::Can29(id) => Some(CanId::Extended(id)),
        _ => None,
    }
}

impl VirtualEcus {
    /// Puts `vehicle` on CAN (11- or 29-bit as `options` say, whatever its own protocol).
    pub fn new(mut vehicle: SimVehicle, options: &CanSimOptions) -> VirtualEcus {
        vehicle.protocol = if options.extended {
            Protocol::Can29_500
        } else {
            Protocol::Can11_500
        };
        let protocol = vehicle.protocol;
        let ports = vehicle
            .ecus
            .iter()
            .enumerate()
            .filter_map(|(i, ecu)| {
                let address = ecu.address(protocol);
                let response_id = can_id(address)?;
                let request_id = match response_id {
                    CanId::Standard(id) => CanId::Standard(id - 8),
                    CanId::Extended(id) => CanId::Extended(0x18DA_00F1 | ((id & 0xFF) << 8)),
                };
                let quirk = options
                    .quirks
                    .iter()
                    .find(|(n, _)| *n == i)
                    .map_or(Quirk::Prompt, |(_, q)| *q);
                let addressing = Addressing::Fixed {
                    rx: request_id,
                    tx: response_id,
                };
                Some(Port {
                    address,
                    request_id,
                    response_id,
                    quirk,
                    queue: VecDeque::new(),
                    sending: None,
                    receiver: Receiver::new(addressing, options.isotp.clone()),
                })
            })
            .collect();
        VirtualEcus {
            vehicle,
            functional: if options.extended {
                CanId::OBD_FUNCTIONAL_29
            } else {
                CanId::OBD_FUNCTIONAL_11
            },
            ports,
            config: options.isotp.clone(),
            response_time: options.response_time,
            outbox: VecDeque::new(),
        }
    }

    pub fn vehicle(&self) -> &SimVehicle {
        &self.vehicle
    }

    /// Every id the ECUs must hear: the functional request id and each physical one.
    pub fn listen_ids(&self) -> Vec<CanId> {
        std::iter::once(self.functional)
            .chain(self.ports.iter().map(|p| p.request_id))
            .collect()
    }

    /// The ECUs' response ids, in vehicle order.
    pub fn response_ids(&self) -> Vec<CanId> {
        self.ports.iter().map(|p| p.response_id).collect()
    }

    /// Takes one frame from the bus (any id; others are ignored, as is anything malformed).
    pub fn on_frame(&mut self, now: Duration, id: CanId, data: &[u8]) {
        if id == self.functional {
            // ISO 15765-4: functional requests are single frames; anything else is not ours.
            if let Some(Pci::Single { data }) = Pci::parse(data) {
                let request = data.to_vec();
                for i in 0..self.ports.len() {
                    self.answer(i, now, &request);
                }
            }
            return;
        }
        for i in 0..self.ports.len() {
            if self.ports[i].request_id != id {
                continue;
            }
            if let Some(sender) = &mut self.ports[i].sending {
                sender.on_frame(now, id, data);
            }
            for event in self.ports[i].receiver.on_frame(now, id, data) {
                match event {
                    RxEvent::Send(frame) => self.outbox.push_back(frame),
                    RxEvent::Message { data, .. } => self.answer(i, now, &data),
                    RxEvent::Aborted(e) => debug!(%e, "physical request dropped"),
                }
            }
        }
    }

    /// Schedules ECU `i`'s answers to `request` according to its quirk.
    fn answer(&mut self, i: usize, now: Duration, request: &[u8]) {
        let port = &self.ports[i];
        if port.quirk == Quirk::Silent {
            return;
        }
        let address = port.address;
        let answers = self.vehicle.respond_from(address, request, now);
        let soon = now + self.response_time;
        let port = &mut self.ports[i];
        for (_, message) in answers {
            match port.quirk {
                Quirk::Prompt | Quirk::Silent => port.queue.push_back((soon, message)),
                Quirk::PendingFirst(after) => {
                    let service = request.first().copied().unwrap_or(0);
                    let pending = vec![0x7F, service, 0x78];
                    port.queue.push_back((soon, pending));
                    port.queue.push_back((now + after, message));
                }
                Quirk::Late(after) => port.queue.push_back((now + after, message)),
            }
        }
    }

    /// The next frame to send, or how long there is nothing to do.
    pub fn poll(&mut self, now: Duration) -> EcuStep {
        for port in &mut self.ports {
            for event in port.receiver.on_time(now) {
                if let RxEvent::Send(frame) = event {
                    self.outbox.push_back(frame);
                }
            }
        }
        if let Some(frame) = self.outbox.pop_front() {
            return EcuStep::Send(frame);
        }
        let mut next: Option<Duration> = None;
        let mut wake = |t: Duration| next = Some(next.map_or(t, |n| n.min(t)));
        for port in &mut self.ports {
            loop {
                if port.sending.is_none() {
                    match port.queue.front() {
                        Some(&(due, _)) if due <= now => {}
                        Some(&(due, _)) => {
                            wake(due);
                            break;
                        }
                        None => break,
                    }
                    let Some((_, message)) = port.queue.pop_front() else {
                        break;
                    };
                    match Sender::new(port.response_id, port.request_id, &message, &self.config) {
                        Ok(sender) => port.sending = Some(sender),
                        Err(e) => warn!(%e, "simulated answer cannot be sent"),
                    }
                    continue;
                }
                let Some(sender) = &mut port.sending else {
                    break;
                };
                match sender.poll(now) {
                    TxStep::Send(frame) => return EcuStep::Send(frame),
                    TxStep::WaitUntil(t) => {
                        wake(t);
                        break;
                    }
                    TxStep::Done => port.sending = None,
                    TxStep::Failed(e) => {
                        debug!(%e, "tester did not take a simulated answer");
                        port.sending = None;
                    }
                }
            }
            if let Some(t) = port.receiver.next_deadline() {
                wake(t);
            }
        }
        EcuStep::WaitUntil(next)
    }
}
