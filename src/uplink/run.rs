//! The uplink task: a thin loop around rumqttc's event loop and [`DeliveryState`].

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::{self, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::UplinkError;
use super::command::{CommandRequest, parse_command};
use super::config::UplinkConfig;
use super::delivery::{AckOutcome, DeliveryState, DeliveryStats};
use super::ids::Backoff;
use super::inbox::{Inbox, PendingReply};
use super::outbox_handle::{AcknowledgeBatch, OutboxHandle};
use super::payload::{Header, Presence, StatusPayload, Timestamp};
use super::session::{Client, Events, SessionError, SessionEvent, new_session};
use super::topics::Topics;
use crate::outbox::Outbox;

/// What happened during [`Uplink::run`], for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UplinkReport {
    pub delivery: DeliveryStats,
    /// ConnAcks received.
    pub connections: u64,
    /// Connection attempts that failed and connections that broke.
    pub connection_errors: u64,
    /// Outbox reads or deletes that failed (retried later; nothing is lost).
    pub outbox_errors: u64,
    /// Commands handed to the agent.
    pub commands: u64,
    /// Commands answered with an error without reaching the agent.
    pub rejected_commands: u64,
    /// Replies dropped because the connection stayed down too long.
    pub dropped_replies: u64,
}

pub struct Uplink;

impl Uplink {
    /// Runs until `shutdown` completes: connects (and reconnects, with bounded jittered
    /// backoff), publishes the retained status, drains `outbox` and hands remote commands to
    /// `commands`. On shutdown it publishes the offline status and disconnects cleanly.
    ///
    /// Returns an error only for a configuration that can never work; network and outbox
    /// failures are logged, counted and retried.
    pub async fn run<O: Outbox + AcknowledgeBatch + 'static>(
        config: UplinkConfig,
        outbox: OutboxHandle<O>,
        commands: mpsc::Sender<CommandRequest>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<UplinkReport, UplinkError> {
        config.validate()?;
        let topics = Topics::new(&config.vehicle_id);
        let started = Timestamp::now();
        let will = status_payload(&config, Presence::Offline, started);
        let (client, mut events) =
            new_session(&config, &topics.status(), serde_json::to_vec(&will)?)?;
        let (replies_tx, replies_rx) = mpsc::channel(64);
        let mut runner = Runner {
            delivery: DeliveryState::new(config.window),
            inbox: Inbox::new(&config, topics.clone(), commands, replies_tx),
            backoff: Backoff::new(config.reconnect_initial, config.reconnect_max),
            topics,
            config,
            client,
            outbox,
            replies_rx,
            outbox_dirty: true,
            acked: Vec::new(),
            ack_due: None,
            report: UplinkReport::default(),
        };
        let mut shutdown = std::pin::pin!(shutdown);
        let mut poll_timer = time::interval(runner.config.outbox_poll);
        poll_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        'run: loop {
            runner.pump();
            // One poll future lives until it completes (see `Events`); meanwhile replies, new
            // outbox rows and the timer only queue publishes through the client.
            let event = {
                let poll = events.poll();
                tokio::pin!(poll);
                loop {
                    let ack_due = runner.ack_due;
                    let far = Instant::now() + runner.config.outbox_poll;
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break 'run,
                        event = &mut poll => break event,
                        () = time::sleep_until(ack_due.unwrap_or(far)), if ack_due.is_some() => {
                            runner.flush_acks();
                        }
                        Some(reply) = runner.replies_rx.recv() => runner.send_reply(reply),
                        () = runner.outbox.changed() => runner.outbox_dirty = true,
                        _ = poll_timer.tick() => runner.outbox_dirty = true,
                    }
                    runner.pump();
                }
            };
            match event {
                Ok(event) => runner.on_event(event),
                Err(error) => {
                    runner.on_connection_lost(&error);
                    events.drop_unacknowledged();
                    let delay = runner.backoff.next_delay();
                    tokio::select! {
                        () = &mut shutdown => break 'run,
                        () = time::sleep(delay) => {}
                    }
                }
            }
        }
        runner.shut_down(&mut events).await;
        runner.flush_acks();
        runner.report.delivery = runner.delivery.stats();
        Ok(runner.report)
    }
}

/// How long PubAcks are gathered before their rows are removed (a full window goes at once).
const ACK_DELAY: Duration = Duration::from_millis(20);

fn status_payload(config: &UplinkConfig, state: Presence, since: Timestamp) -> StatusPayload {
    StatusPayload {
        header: Header::new(&config.vehicle_id),
        state,
        agent_version: config.status.agent_version.clone(),
        adapter: config.status.adapter.clone(),
        vin: config.status.vin.clone(),
        since,
    }
}

struct Runner<O> {
    config: UplinkConfig,
    topics: Topics,
    client: Client,
    delivery: DeliveryState,
    outbox: OutboxHandle<O>,
    inbox: Inbox,
    replies_rx: mpsc::Receiver<PendingReply>,
    backoff: Backoff,
    /// The outbox may hold rows we have not fetched: set by a push, the poll timer, or a fetch
    /// that came back full; cleared by a fetch that came back short.
    outbox_dirty: bool,
    /// Seqs the broker acknowledged, not yet removed from the outbox (see [`AcknowledgeBatch`]).
    acked: Vec<i64>,
    /// When `acked` must be flushed at the latest.
    ack_due: Option<Instant>,
    report: UplinkReport,
}

impl<O: Outbox + AcknowledgeBatch> Runner<O> {
    /// Fetches from the outbox and hands messages to the client while the window has room.
    fn pump(&mut self) {
        if !self.delivery.is_connected() {
            return;
        }
        if self.outbox_dirty
            && let Some((after, limit)) = self.delivery.fetch_request()
        {
            match self.outbox.lock().pending(after, limit) {
                Ok(rows) => {
                    self.outbox_dirty = rows.len() == limit;
                    self.delivery.on_fetched(rows);
                }
                Err(error) => {
                    // Retried on the next poll tick.
                    self.outbox_dirty = false;
                    self.report.outbox_errors += 1;
                    warn!(error = %error, "cannot read the outbox");
                }
            }
        }
        while let Some(message) = self.delivery.next_to_send() {
            let queued = self
                .client
                .publish(&message.topic, message.payload, message.retain, None);
            if queued.is_err() {
                self.delivery.return_last_handed();
                break;
            }
        }
        for reply in self.inbox.take_unsent() {
            self.send_reply(reply);
        }
    }

    fn on_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::ConnAck { session_present } => self.on_connected(session_present),
            SessionEvent::PubAck { pkid, accepted } => {
                match self.delivery.on_puback(pkid, accepted) {
                    AckOutcome::Acknowledge(seq) => {
                        self.acked.push(seq);
                        if self.acked.len() >= self.config.window {
                            self.flush_acks();
                        } else if self.ack_due.is_none() {
                            self.ack_due = Some(Instant::now() + ACK_DELAY);
                        }
                    }
                    AckOutcome::Refused(seq) => {
                        warn!(
                            seq,
                            "the broker refused a message; it is sent again after a reconnect"
                        );
                    }
                    AckOutcome::Untracked => {}
                    AckOutcome::Unknown => debug!(pkid, "PubAck for no message in flight"),
                }
            }
            SessionEvent::OutgoingPublish(pkid) => self.delivery.on_outgoing_publish(pkid),
            SessionEvent::AwaitAck(pkid) => self.delivery.on_await_ack(pkid),
            SessionEvent::Publish(publish) if publish.topic == self.topics.commands() => {
                let parsed = parse_command(&publish.payload, self.config.max_command_bytes);
                let outcome = self.inbox.on_command(parsed, publish);
                self.report.commands += u64::from(outcome.forwarded);
                self.report.rejected_commands += u64::from(outcome.rejected);
                if let Some(reply) = outcome.reply {
                    self.send_reply(reply);
                }
            }
            SessionEvent::Publish(publish) => debug!(topic = publish.topic, "unexpected publish"),
            SessionEvent::DisconnectSent | SessionEvent::Other => {}
        }
    }

    /// Removes acknowledged rows from the outbox in one batch. Until then a crash only means
    /// the rows are sent again after the restart: duplicates, dropped by `message_id`.
    fn flush_acks(&mut self) {
        self.ack_due = None;
        if self.acked.is_empty() {
            return;
        }
        if let Err(error) = self.outbox.lock().acknowledge_batch(&self.acked) {
            self.report.outbox_errors += 1;
            warn!(count = self.acked.len(), error = %error, "cannot remove delivered messages");
        }
        self.acked.clear();
    }

    fn on_connected(&mut self, session_present: bool) {
        self.report.connections += 1;
        self.backoff.reset();
        self.delivery.on_connected();
        self.outbox_dirty = true;
        info!(
            session_present,
            pending = self.outbox.len().unwrap_or_default(),
            "connected to the broker"
        );
        // Subscribing again even when the session was resumed costs one packet and covers a
        // broker that lost its sessions.
        if self.client.subscribe(&self.topics.commands()).is_err() {
            warn!("cannot queue the command subscription");
        }
        let status = status_payload(&self.config, Presence::Online, Timestamp::now());
        self.publish_untracked(&self.topics.status(), &status, true, None);
    }

    /// The driver drops rumqttc's copies right after this (`Events::drop_unacknowledged`).
    fn on_connection_lost(&mut self, error: &SessionError) {
        self.report.connection_errors += 1;
        let unacknowledged = self.delivery.unacknowledged();
        warn!(error = %error, unacknowledged, "broker connection lost or refused; will retry");
        self.delivery.on_disconnect();
        self.flush_acks();
    }

    fn send_reply(&mut self, reply: PendingReply) {
        if !self.delivery.is_connected() {
            if self.inbox.hold(reply) {
                self.report.dropped_replies += 1;
            }
            return;
        }
        let PendingReply {
            topic,
            correlation_data,
            payload,
        } = reply;
        self.publish_untracked(&topic, &payload, false, correlation_data);
    }

    /// A QoS 1 publish that is not in the outbox; recorded so packet ids stay matched.
    fn publish_untracked<T: serde::Serialize>(
        &mut self,
        topic: &str,
        payload: &T,
        retain: bool,
        correlation_data: Option<Vec<u8>>,
    ) -> bool {
        let bytes = match serde_json::to_vec(payload) {
            Ok(bytes) => bytes,
            Err(error) => {
                warn!(error = %error, topic, "cannot serialize a payload");
                return false;
            }
        };
        match self.client.publish(topic, bytes, retain, correlation_data) {
            Ok(()) => {
                self.delivery.on_untracked_handed();
                true
            }
            Err(error) => {
                warn!(error = %error, topic, "publish not queued");
                false
            }
        }
    }

    /// Publishes the offline status, waits (bounded) for its PubAck, then disconnects cleanly.
    async fn shut_down(&mut self, events: &mut Events) {
        if !self.delivery.is_connected() {
            return;
        }
        let deadline = Instant::now() + self.config.shutdown_timeout;
        let status = status_payload(&self.config, Presence::Offline, Timestamp::now());
        self.publish_untracked(&self.topics.status(), &status, true, None);
        while self.delivery.untracked_outstanding() > 0 {
            match time::timeout_at(deadline, events.poll()).await {
                Ok(Ok(event)) => self.on_event(event),
                Ok(Err(_)) | Err(_) => return,
            }
        }
        if self.client.disconnect().is_err() {
            return;
        }
        while let Ok(Ok(event)) = time::timeout_at(deadline, events.poll()).await {
            if matches!(event, SessionEvent::DisconnectSent) {
                info!(at = %humantime::format_rfc3339_seconds(SystemTime::now()), "disconnected");
                return;
            }
            self.on_event(event);
        }
    }
}
