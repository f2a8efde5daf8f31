//! Sending one message: segmentation and obedience to the receiver's flow control.

use std::time::Duration;

use super::frame::{self, CF_DATA, FlowStatus, Pci, SF_MAX};
use super::{CanFrame, CanId, Config, IsoTpError};

/// What the shell should do next for a message being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStep {
    /// Put this frame on the bus now, then poll again.
    Send(CanFrame),
    /// Nothing to send before this time unless a frame arrives (feed it to
    /// [`Sender::on_frame`] first); poll again then.
    WaitUntil(Duration),
    /// The whole message is on the bus.
    Done,
    /// The transmission was abandoned; nothing more will be sent.
    Failed(IsoTpError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Nothing sent yet.
    Start,
    /// First frame or a full block sent; the receiver must tell us how to go on.
    AwaitFlowControl {
        deadline: Duration,
        waits: u8,
    },
    /// Sending consecutive frames.
    Sending {
        /// When the next CF may go out (STmin after the previous one).
        not_before: Duration,
        /// CFs left in this block; `None` when the receiver set no block size.
        block_left: Option<u8>,
        st_min: Duration,
    },
    Done,
    Failed(IsoTpError),
}

/// Segments one message and sends it frame by frame as flow control allows.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Where our frames go.
    tx_id: CanId,
    /// The only id whose flow control we obey; FC from anyone else is someone else's.
    fc_id: CanId,
    /// Our own copy: the caller's buffer need not outlive a transmission spread over time.
    payload: Vec<u8>,
    /// Bytes of `payload` already on the bus.
    sent: usize,
    /// Sequence number of the next consecutive frame.
    next_sn: u8,
    /// When the last CF went out: STmin holds across block boundaries too, since a receiver
    /// that asked for it may still be busy with the previous block.
    last_cf_at: Option<Duration>,
    /// The parts of [`Config`] a sender needs, copied so it owns no borrowed config.
    padding: u8,
    n_bs: Duration,
    max_waits: u8,
    state: State,
}

impl Sender {
    /// Prepares `payload` for sending from `tx_id`, taking flow control from `fc_id`.
    pub fn new(
        tx_id: CanId,
        fc_id: CanId,
        payload: &[u8],
        config: &Config,
    ) -> Result<Sender, IsoTpError> {
        // The 32-bit escape form could carry more, but nothing on an OBD bus needs it and a
        // bound keeps a bogus caller from queueing gigabytes.
        let max = u32::MAX as usize;
        if payload.is_empty() || payload.len() > max {
            return Err(IsoTpError::PayloadSize {
                len: payload.len(),
                max,
            });
        }
        Ok(Sender {
            tx_id,
            fc_id,
            payload: payload.to_vec(),
            sent: 0,
            next_sn: 1,
            last_cf_at: None,
            padding: config.padding,
            n_bs: config.n_bs,
            max_waits: config.max_wait_frames,
            state: State::Start,
        })
    }

    /// Whether the message fits one single frame (functional OBD requests must).
    pub fn is_single_frame(&self) -> bool {
        self.payload.len() <= SF_MAX
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done | State::Failed(_))
    }

    /// What to do next; a `Send` means the frame is taken as sent at `now`.
    pub fn poll(&mut self, now: Duration) -> TxStep {
        match self.state.clone() {
            State::Start => {
                if self.is_single_frame() {
                    self.sent = self.payload.len();
                    self.state = State::Done;
                    return self.frame(frame::single(&self.payload, self.padding));
                }
                let total = self.payload.len();
                let n = frame::first_frame_capacity(total);
                self.sent = n;
                self.state = State::AwaitFlowControl {
                    deadline: now + self.n_bs,
                    waits: 0,
                };
                self.frame(frame::first(total, &self.payload[..n], self.padding))
            }
            State::AwaitFlowControl { deadline, .. } if now >= deadline => {
                self.fail(IsoTpError::FlowControlTimeout {
                    from: self.fc_id,
                    after: self.n_bs,
                })
            }
            State::AwaitFlowControl { deadline, .. } => TxStep::WaitUntil(deadline),
            State::Sending { not_before, .. } if now < not_before => TxStep::WaitUntil(not_before),
            State::Sending {
                block_left, st_min, ..
            } => {
                let end = (self.sent + CF_DATA).min(self.payload.len());
                let data =
                    frame::consecutive(self.next_sn, &self.payload[self.sent..end], self.padding);
                self.sent = end;
                self.last_cf_at = Some(now);
                self.next_sn = (self.next_sn + 1) & 0x0F;
                let block_left = block_left.map(|n| n.saturating_sub(1));
                self.state = if self.sent == self.payload.len() {
                    State::Done
                } else if block_left == Some(0) {
                    State::AwaitFlowControl {
                        deadline: now + self.n_bs,
                        waits: 0,
                    }
                } else {
                    State::Sending {
                        not_before: now + st_min,
                        block_left,
                        st_min,
                    }
                };
                self.frame(data)
            }
            State::Done => TxStep::Done,
            State::Failed(e) => TxStep::Failed(e),
        }
    }

    /// Takes a received frame; everything but flow control from our peer while we wait for it
    /// is ignored, as ISO 15765-2 asks of a sender.
    pub fn on_frame(&mut self, now: Duration, id: CanId, data: &[u8]) {
        if id != self.fc_id {
            return;
        }
        let State::AwaitFlowControl { waits, .. } = self.state else {
            return;
        };
        let Some(Pci::FlowControl {
            status,
            block_size,
            st_min,
        }) = Pci::parse(data)
        else {
            return;
        };
        self.state = match status {
            FlowStatus::ContinueToSend => State::Sending {
                not_before: self
                    .last_cf_at
                    .map_or(now, |t| now.max(t + st_min.duration())),
                block_left: (block_size != 0).then_some(block_size),
                st_min: st_min.duration(),
            },
            FlowStatus::Wait if waits >= self.max_waits => {
                State::Failed(IsoTpError::TooManyWaits {
                    from: self.fc_id,
                    max: self.max_waits,
                })
            }
            FlowStatus::Wait => State::AwaitFlowControl {
                deadline: now + self.n_bs,
                waits: waits + 1,
            },
            FlowStatus::Overflow => State::Failed(IsoTpError::Overflow {
                from: self.fc_id,
                len: self.payload.len(),
            }),
            FlowStatus::Reserved(status) => State::Failed(IsoTpError::InvalidFlowStatus {
                from: self.fc_id,
                status,
            }),
        };
    }

    fn frame(&self, data: [u8; 8]) -> TxStep {
        TxStep::Send(CanFrame {
            id: self.tx_id,
            data,
        })
    }

    fn fail(&mut self, e: IsoTpError) -> TxStep {
        self.state = State::Failed(e.clone());
        TxStep::Failed(e)
    }
}
