//! Remote commands: validation outcome to agent request, agent answer to reply.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::command::{CommandError, CommandRequest, ParsedCommand};
use super::config::UplinkConfig;
use super::payload::{CommandReplyPayload, Header, ReplyError, ReplyErrorCode};
use super::session::IncomingPublish;
use super::topics::Topics;

/// Replies waiting for a connection, a few at most: a requester whose reply is older than that
/// has given up.
const HELD_REPLIES: usize = 32;
/// Request ids remembered to ignore QoS 1 redeliveries of a command already taken.
const RECENT_REQUESTS: usize = 64;

/// A reply ready to publish.
#[derive(Debug)]
pub(crate) struct PendingReply {
    pub topic: String,
    pub correlation_data: Option<Vec<u8>>,
    pub payload: CommandReplyPayload,
}

/// What became of one command message.
#[derive(Debug, Default)]
pub(crate) struct InboxOutcome {
    pub forwarded: bool,
    pub rejected: bool,
    /// An immediate (error) reply.
    pub reply: Option<PendingReply>,
}

pub(crate) struct Inbox {
    vehicle_id: String,
    topics: Topics,
    commands: mpsc::Sender<CommandRequest>,
    /// Answers from the agent come back to the run loop through here.
    replies: mpsc::Sender<PendingReply>,
    command_timeout: Duration,
    recent: VecDeque<String>,
    held: VecDeque<PendingReply>,
}

impl Inbox {
    pub fn new(
        config: &UplinkConfig,
        topics: Topics,
        commands: mpsc::Sender<CommandRequest>,
        replies: mpsc::Sender<PendingReply>,
    ) -> Self {
        Inbox {
            vehicle_id: config.vehicle_id.clone(),
            topics,
            commands,
            replies,
            command_timeout: config.command_timeout,
            recent: VecDeque::new(),
            held: VecDeque::new(),
        }
    }

    /// Takes one command message: errors are answered at once, valid commands go to the agent
    /// and are answered when it replies (or after the command timeout).
    pub fn on_command(
        &mut self,
        parsed: Result<ParsedCommand, CommandError>,
        publish: IncomingPublish,
    ) -> InboxOutcome {
        let request_id = match &parsed {
            Ok(p) => Some(p.request_id.as_str()),
            Err(e) => e.request_id.as_deref(),
        };
        // MQTT 5 requests name their response topic; otherwise the documented reply topic.
        let topic = match (publish.response_topic, request_id) {
            (Some(topic), _) if !topic.is_empty() => topic,
            (_, Some(id)) => self.topics.reply(id),
            (_, None) => self.topics.reply_unknown(),
        };
        let target = ReplyTarget {
            vehicle_id: self.vehicle_id.clone(),
            topic,
            correlation_data: publish.correlation_data,
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(code = ?error.code, error = %error, "command refused");
                return InboxOutcome {
                    rejected: true,
                    reply: Some(target.error(
                        error.request_id,
                        error.command,
                        error.code,
                        error.message,
                    )),
                    ..InboxOutcome::default()
                };
            }
        };
        if self.recent.contains(&parsed.request_id) {
            tracing::debug!(request_id = parsed.request_id, "duplicate command ignored");
            return InboxOutcome::default();
        }
        let name = parsed.command.name().to_string();
        let request_id = parsed.request_id.clone();
        let (reply_tx, reply_rx) = oneshot::channel();
        let request = CommandRequest {
            request_id: parsed.request_id,
            command: parsed.command,
            authentication: parsed.authentication,
            reply: reply_tx,
        };
        let refuse = |code, message: &str| InboxOutcome {
            rejected: true,
            reply: Some(target.error(
                Some(request_id.clone()),
                Some(name.clone()),
                code,
                message.into(),
            )),
            ..InboxOutcome::default()
        };
        match self.commands.try_send(request) {
            // Remembered only once taken: a command refused as busy may be sent again.
            Ok(()) => {
                if self.recent.len() >= RECENT_REQUESTS {
                    self.recent.pop_front();
                }
                self.recent.push_back(request_id.clone());
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                return refuse(
                    ReplyErrorCode::Busy,
                    "the agent is busy with other commands; retry later",
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return refuse(
                    ReplyErrorCode::Unavailable,
                    "the agent does not take commands now",
                );
            }
        }
        let replies = self.replies.clone();
        let timeout = self.command_timeout;
        tokio::spawn(async move {
            let reply = match tokio::time::timeout(timeout, reply_rx).await {
                Ok(Ok(Ok(result))) => target.ok(request_id, name, result),
                Ok(Ok(Err(message))) => target.error(
                    Some(request_id),
                    Some(name),
                    ReplyErrorCode::Failed,
                    message,
                ),
                Ok(Err(_)) => target.error(
                    Some(request_id),
                    Some(name),
                    ReplyErrorCode::Failed,
                    "the agent dropped the command without an answer".into(),
                ),
                Err(_) => target.error(
                    Some(request_id),
                    Some(name),
                    ReplyErrorCode::Timeout,
                    format!("no answer within {}", humantime::format_duration(timeout)),
                ),
            };
            // The run loop has ended if this fails; nobody is left to publish the reply.
            let _ = replies.send(reply).await;
        });
        InboxOutcome {
            forwarded: true,
            ..InboxOutcome::default()
        }
    }

    /// Keeps a reply for the next connection; true if an older one had to be dropped.
    pub fn hold(&mut self, reply: PendingReply) -> bool {
        let dropped = self.held.len() >= HELD_REPLIES;
        if dropped {
            self.held.pop_front();
        }
        self.held.push_back(reply);
        dropped
    }

    pub fn take_unsent(&mut self) -> Vec<PendingReply> {
        self.held.drain(..).collect()
    }
}

struct ReplyTarget {
    vehicle_id: String,
    topic: String,
    correlation_data: Option<Vec<u8>>,
}

impl ReplyTarget {
    fn reply(&self, payload: CommandReplyPayload) -> PendingReply {
        PendingReply {
            topic: self.topic.clone(),
            correlation_data: self.correlation_data.clone(),
            payload,
        }
    }

    fn ok(&self, request_id: String, command: String, result: serde_json::Value) -> PendingReply {
        self.reply(CommandReplyPayload {
            header: Header::new(&self.vehicle_id),
            request_id: Some(request_id),
            command: Some(command),
            ok: true,
            result: Some(result),
            error: None,
        })
    }

    fn error(
        &self,
        request_id: Option<String>,
        command: Option<String>,
        code: ReplyErrorCode,
        message: String,
    ) -> PendingReply {
        self.reply(CommandReplyPayload {
            header: Header::new(&self.vehicle_id),
            request_id,
            command,
            ok: false,
            result: None,
            error: Some(ReplyError { code, message }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::command::parse_command;

    fn publish(payload: &str) -> IncomingPublish {
        IncomingPublish {
            topic: "fleet/v1/cmd".into(),
            payload: payload.as_bytes().to_vec(),
            response_topic: None,
            correlation_data: None,
        }
    }

    fn offer(inbox: &mut Inbox, payload: &str) -> InboxOutcome {
        inbox.on_command(parse_command(payload.as_bytes(), 4096), publish(payload))
    }

    #[tokio::test]
    async fn a_busy_refusal_can_be_retried_and_a_redelivery_is_ignored() {
        let config = UplinkConfig::new("broker", 1883, "v1");
        let (commands_tx, mut commands) = mpsc::channel(1);
        let (replies_tx, _replies) = mpsc::channel(4);
        let mut inbox = Inbox::new(&config, Topics::new("v1"), commands_tx, replies_tx);
        let first = r#"{"schema":1,"request_id":"a","command":"vin"}"#;
        let second = r#"{"schema":1,"request_id":"b","command":"scan"}"#;
        assert!(offer(&mut inbox, first).forwarded);
        let busy = offer(&mut inbox, second);
        let reply = busy.reply.expect("an error reply");
        assert_eq!(reply.topic, "fleet/v1/cmd/reply/b");
        assert_eq!(
            reply.payload.error.map(|e| e.code),
            Some(ReplyErrorCode::Busy)
        );
        // The agent takes the first command; the retry of the second now goes through.
        let taken = commands.recv().await.expect("first command");
        assert_eq!(taken.request_id, "a");
        assert!(offer(&mut inbox, second).forwarded);
        let _ = commands.recv().await;
        // A QoS 1 redelivery of a command already taken is dropped silently.
        let again = offer(&mut inbox, first);
        assert!(!again.forwarded && !again.rejected && again.reply.is_none());
    }
}
