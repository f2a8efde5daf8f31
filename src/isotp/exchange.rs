//! One OBD request and every answer to it, with the ISO 15765-4 response timing.
//!
//! The request goes out (segmented if it is a physical request longer than a single frame);
//! from the moment it is on the bus, ECUs have P2CAN to answer. An ECU that answers "response
//! pending" (`7F sid 78`) gets P2* from that answer for its final one, and is not counted as
//! having answered. A segmented answer in progress keeps the exchange open as long as its
//! consecutive frames keep coming within N_Cr. The exchange ends when all of that has run out,
//! or earlier once the expected number of answers arrived and nothing is in progress.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::rx::{Addressing, Receiver, RxEvent};
use super::tx::{Sender, TxStep};
use super::{CanFrame, CanId, Config, IsoTpError};

/// What the shell should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Put this frame on the bus now, then poll again.
    Send(CanFrame),
    /// Wait for a frame (feed it to [`Exchange::on_frame`]) or until this time; poll again.
    WaitUntil(Duration),
    /// Nothing more to do: take the result with [`Exchange::finish`].
    Finished,
}

/// Every answer, in arrival order, and what went wrong on the way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExchangeOutcome {
    /// Final answers (response-pending ones dropped), service byte first.
    pub responses: Vec<(CanId, Vec<u8>)>,
    /// Answers lost to bad sequence numbers, timeouts and the like; worth logging, not fatal.
    pub problems: Vec<IsoTpError>,
}

/// One request and its answers; see the module docs of [`crate::isotp`] for the shell loop.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request on its way out.
    sender: Sender,
    /// Every ECU's answer on its way in.
    receiver: Receiver,
    p2: Duration,
    p2_star: Duration,
    /// When the last request frame went out; the P2 window starts there.
    sent_at: Option<Duration>,
    /// Flow control owed to ECUs, sent before anything else.
    outbox: VecDeque<CanFrame>,
    /// ECUs that answered "response pending", and when their final answer is due.
    pending: BTreeMap<CanId, Duration>,
    /// Stop early once this many final answers arrived.
    expected: Option<usize>,
    /// What `finish` hands back, filled as answers complete.
    outcome: ExchangeOutcome,
    /// Set when the request itself could not be sent.
    failed: Option<IsoTpError>,
}

/// Whether `data` is a negative response "request correctly received, response pending".
fn is_response_pending(data: &[u8]) -> bool {
    matches!(data, [0x7F, _, 0x78, ..])
}

/// The id a physically addressed ECU answers from, for the flow control our request needs.
fn physical_response_id(request: CanId, addressing: Addressing) -> Option<CanId> {
    match (addressing, request) {
        (Addressing::Fixed { rx, tx }, req) if req == tx => Some(rx),
        (_, CanId::Standard(id @ 0x7E0..=0x7E7)) => Some(CanId::Standard(id + 8)),
        (_, CanId::Extended(id)) if id & 0x1FFF_00FF == 0x18DA_00F1 => {
            Some(CanId::Extended(0x18DA_F100 | ((id >> 8) & 0xFF)))
        }
        _ => None,
    }
}

impl Exchange {
    /// Prepares a request sent from `request_id` (0x7DF / 0x18DB33F1 functional, or an ECU's
    /// physical id) whose answers are admitted by `addressing`.
    pub fn new(
        request_id: CanId,
        addressing: Addressing,
        payload: &[u8],
        config: &Config,
        expected: Option<usize>,
    ) -> Result<Exchange, IsoTpError> {
        let fc_from = match physical_response_id(request_id, addressing) {
            Some(id) => id,
            // Nobody sends flow control for a broadcast, so it cannot be segmented.
            None if payload.len() > 7 => {
                return Err(IsoTpError::FunctionalTooLong { len: payload.len() });
            }
            None => request_id,
        };
        Ok(Exchange {
            sender: Sender::new(request_id, fc_from, payload, config)?,
            receiver: Receiver::new(addressing, config.clone()),
            p2: config.p2,
            p2_star: config.p2_star,
            sent_at: None,
            outbox: VecDeque::new(),
            pending: BTreeMap::new(),
            expected: expected.filter(|&n| n > 0),
            outcome: ExchangeOutcome::default(),
            failed: None,
        })
    }

    /// Feeds one received frame (any id: unrelated ones are ignored).
    pub fn on_frame(&mut self, now: Duration, id: CanId, data: &[u8]) {
        self.sender.on_frame(now, id, data);
        for event in self.receiver.on_frame(now, id, data) {
            self.take(now, event);
        }
    }

    /// What to do next.
    pub fn poll(&mut self, now: Duration) -> Step {
        if let Some(frame) = self.outbox.pop_front() {
            return Step::Send(frame);
        }
        if self.failed.is_some() {
            return Step::Finished;
        }
        let mut sender_wait = None;
        if !self.sender.is_finished() || self.sent_at.is_none() {
            match self.sender.poll(now) {
                TxStep::Send(frame) => {
                    if self.sender.is_finished() {
                        self.sent_at = Some(now);
                    }
                    return Step::Send(frame);
                }
                TxStep::WaitUntil(t) => sender_wait = Some(t),
                TxStep::Done => self.sent_at = Some(now),
                TxStep::Failed(e) => {
                    self.failed = Some(e);
                    return Step::Finished;
                }
            }
        }
        for event in self.receiver.on_time(now) {
            self.take(now, event);
        }
        let p2_star = self.p2_star;
        let overdue: Vec<CanId> = self
            .pending
            .iter()
            .filter(|&(_, &t)| now >= t)
            .map(|(&id, _)| id)
            .collect();
        for from in overdue {
            self.pending.remove(&from);
            self.outcome
                .problems
                .push(IsoTpError::ResponsePendingTimeout {
                    from,
                    after: p2_star,
                });
        }
        if let Some(frame) = self.outbox.pop_front() {
            return Step::Send(frame);
        }
        let settled = !self.receiver.is_busy() && self.pending.is_empty();
        let p2_end = self.sent_at.map(|t| t + self.p2);
        let enough = self
            .expected
            .is_some_and(|n| self.outcome.responses.len() >= n);
        if sender_wait.is_none() && settled && (enough || p2_end.is_some_and(|end| now >= end)) {
            return Step::Finished;
        }
        let deadline = [
            sender_wait,
            p2_end.filter(|&end| end > now),
            self.receiver.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .chain(self.pending.values().copied())
        .min();
        // Every open state above carries a deadline; `now` only guards against a logic slip.
        Step::WaitUntil(deadline.unwrap_or(now))
    }

    /// The answers, or why the request itself could not be sent.
    pub fn finish(self) -> Result<ExchangeOutcome, IsoTpError> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.outcome),
        }
    }

    fn take(&mut self, now: Duration, event: RxEvent) {
        match event {
            RxEvent::Send(frame) => self.outbox.push_back(frame),
            RxEvent::Message { from, data } if is_response_pending(&data) => {
                self.pending.insert(from, now + self.p2_star);
            }
            RxEvent::Message { from, data } => {
                self.pending.remove(&from);
                self.outcome.responses.push((from, data));
            }
            RxEvent::Aborted(e) => self.outcome.problems.push(e),
        }
    }
}
