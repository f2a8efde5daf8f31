use std::path::PathBuf;

use crate::outbox::OutboxError;

/// Everything that can go wrong in the uplink layer.
///
/// Connection failures are not errors of [`crate::uplink::Uplink::run`]: it logs them and
/// reconnects. What reaches the caller is configuration that can never work, or an outbox that
/// cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("invalid uplink configuration: {field} {problem}")]
    InvalidConfig {
        field: &'static str,
        problem: &'static str,
    },
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no usable PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("TLS setup failed")]
    Tls(#[source] rustls::Error),
    #[error("outbox failed")]
    Outbox(#[from] OutboxError),
    #[error("payload could not be serialized")]
    Serialize(#[from] serde_json::Error),
}
