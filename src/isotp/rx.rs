//! Receiving: reassembly of messages from several ECUs at once, one channel per CAN id.

use std::collections::BTreeMap;
use std::time::Duration;

use super::frame::{self, FlowStatus, Pci};
use super::{CanFrame, CanId, Config, IsoTpError};

/// Which ids we listen to, and where each one's flow control goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// 11-bit OBD: answers from 0x7E8-0x7EF, flow control to the physical request id 8 below.
    Obd11,
    /// 29-bit OBD: answers from 0x18DAF1xx, flow control to 0x18DAxxF1.
    Obd29,
    /// One peer with fixed ids, e.g. a UDS session or a test.
    Fixed { rx: CanId, tx: CanId },
}

impl Addressing {
    /// The id to send flow control to for a frame from `from`, or `None` when `from` is not a
    /// peer of ours and the frame must be ignored.
    pub fn flow_control_id(self, from: CanId) -> Option<CanId> {
        match (self, from) {
            (Addressing::Obd11, CanId::Standard(id @ 0x7E8..=0x7EF)) => {
                Some(CanId::Standard(id - 8))
            }
            (Addressing::Obd29, CanId::Extended(id)) if id & 0x1FFF_FF00 == 0x18DA_F100 => {
                Some(CanId::Extended(0x18DA_00F1 | ((id & 0xFF) << 8)))
            }
            (Addressing::Fixed { rx, tx }, from) if from == rx => Some(tx),
            _ => None,
        }
    }
}

/// Something the shell must act on after feeding a frame or a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxEvent {
    /// Put this flow control frame on the bus now.
    Send(CanFrame),
    /// A complete message from `from`, PCI stripped.
    Message { from: CanId, data: Vec<u8> },
    /// A message from `from` was dropped (and why); others are unaffected.
    Aborted(IsoTpError),
}

/// A segmented message under reassembly.
#[derive(Debug, Clone)]
struct Channel {
    /// Length announced by the first frame.
    len: usize,
    buf: Vec<u8>,
    next_sn: u8,
    /// CFs left until we owe the sender another FC; `None` with block size 0.
    block_left: Option<u8>,
    /// N_Cr: when the next CF must have arrived.
    deadline: Duration,
}

/// Reassembles ISO-TP messages from every peer that [`Addressing`] admits.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Decides whose frames we take and where their flow control goes.
    addressing: Addressing,
    /// Our BS/STmin to announce, padding, N_Cr and the size limit.
    config: Config,
    /// Messages in progress; ECUs answer concurrently, so one per sender id.
    channels: BTreeMap<CanId, Channel>,
}

impl Receiver {
    pub fn new(addressing: Addressing, config: Config) -> Receiver {
        Receiver {
            addressing,
            config,
            channels: BTreeMap::new(),
        }
    }

    /// Whether some ECU is in the middle of a segmented message.
    pub fn is_busy(&self) -> bool {
        !self.channels.is_empty()
    }

    /// Whether `from` is in the middle of a segmented message.
    pub fn is_receiving_from(&self, from: CanId) -> bool {
        self.channels.contains_key(&from)
    }

    /// The earliest N_Cr deadline; call [`Receiver::on_time`] then.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.channels.values().map(|c| c.deadline).min()
    }

    /// Feeds one received frame. Frames from other ids, flow control (ours to obey is the
    /// sender's business), unexpected consecutive frames and malformed frames yield nothing.
    pub fn on_frame(&mut self, now: Duration, from: CanId, data: &[u8]) -> Vec<RxEvent> {
        let Some(fc_id) = self.addressing.flow_control_id(from) else {
            return Vec::new();
        };
        let Some(pci) = Pci::parse(data) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        match pci {
            Pci::Single { data } => {
                // ISO 15765-2: a new SF or FF during reception ends the old message.
                self.interrupt(from, &mut events);
                events.push(RxEvent::Message {
                    from,
                    data: data.to_vec(),
                });
            }
            Pci::First { len, data } => {
                self.interrupt(from, &mut events);
                self.first_frame(now, from, fc_id, len, data, &mut events);
            }
            Pci::Consecutive { sn, data } => {
                self.consecutive(now, from, fc_id, sn, data, &mut events)
            }
            Pci::FlowControl { .. } => {}
        }
        events
    }

    /// Drops every message whose next consecutive frame is overdue at `now`.
    pub fn on_time(&mut self, now: Duration) -> Vec<RxEvent> {
        let n_cr = self.config.n_cr;
        let overdue: Vec<CanId> = self
            .channels
            .iter()
            .filter(|(_, c)| now >= c.deadline)
            .map(|(&id, _)| id)
            .collect();
        overdue
            .into_iter()
            .filter_map(|from| {
                let c = self.channels.remove(&from)?;
                Some(RxEvent::Aborted(IsoTpError::ConsecutiveFrameTimeout {
                    from,
                    received: c.buf.len(),
                    len: c.len,
                    after: n_cr,
                }))
            })
            .collect()
    }

    fn interrupt(&mut self, from: CanId, events: &mut Vec<RxEvent>) {
        if let Some(c) = self.channels.remove(&from) {
            events.push(RxEvent::Aborted(IsoTpError::Interrupted {
                from,
                received: c.buf.len(),
                len: c.len,
            }));
        }
    }

    fn first_frame(
        &mut self,
        now: Duration,
        from: CanId,
        fc_id: CanId,
        len: usize,
        data: &[u8],
        events: &mut Vec<RxEvent>,
    ) {
        if len == 0 {
            return;
        }
        let max = self.config.max_message_len;
        if len > max {
            events.push(self.flow_control(fc_id, FlowStatus::Overflow));
            events.push(RxEvent::Aborted(IsoTpError::TooLong { from, len, max }));
            return;
        }
        if data.len() >= len {
            // A first frame that holds the whole message should have been a single frame;
            // the content is intact, so take it rather than lose the answer.
            events.push(RxEvent::Message {
                from,
                data: data.to_vec(),
            });
            return;
        }
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(data);
        let bs = self.config.block_size;
        self.channels.insert(
            from,
            Channel {
                len,
                buf,
                next_sn: 1,
                block_left: (bs != 0).then_some(bs),
                deadline: now + self.config.n_cr,
            },
        );
        events.push(self.flow_control(fc_id, FlowStatus::ContinueToSend));
    }

    fn consecutive(
        &mut self,
        now: Duration,
        from: CanId,
        fc_id: CanId,
        sn: u8,
        data: &[u8],
        events: &mut Vec<RxEvent>,
    ) {
        let Some(c) = self.channels.get_mut(&from) else {
            return;
        };
        if sn != c.next_sn {
            let expected = c.next_sn;
            self.channels.remove(&from);
            events.push(RxEvent::Aborted(IsoTpError::WrongSequence {
                from,
                expected,
                got: sn,
            }));
            return;
        }
        let take = data.len().min(c.len - c.buf.len());
        c.buf.extend_from_slice(&data[..take]);
        c.next_sn = (c.next_sn + 1) & 0x0F;
        c.deadline = now + self.config.n_cr;
        if c.buf.len() == c.len {
            if let Some(c) = self.channels.remove(&from) {
                events.push(RxEvent::Message { from, data: c.buf });
            }
            return;
        }
        c.block_left = c.block_left.map(|n| n.saturating_sub(1));
        if c.block_left == Some(0) {
            c.block_left = Some(self.config.block_size);
            events.push(self.flow_control(fc_id, FlowStatus::ContinueToSend));
        }
    }

    fn flow_control(&self, to: CanId, status: FlowStatus) -> RxEvent {
        let data = frame::flow_control(
            status,
            self.config.block_size,
            self.config.st_min,
            self.config.padding,
        );
        RxEvent::Send(CanFrame { id: to, data })
    }
}
