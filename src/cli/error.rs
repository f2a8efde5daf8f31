//! Errors as a technician reads them: what went wrong, with the port or code, and what to do.

use std::process::ExitCode;

use crate::obd::DecodeError;
use crate::reader::ReadError;
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{input}: {source}")]
    Decode {
        input: String,
        #[source]
        source: DecodeError,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
    /// No answer in time (`obd-agent remote`): distinct from a refusal or a broken setup.
    #[error("{0}")]
    NoReply(String),
}

impl CliError {
    /// Exit codes: 2 usage, 3 adapter or link, 4 no vehicle, 5 the vehicle refused, 6 no reply
    /// (remote), 1 other.
    pub fn exit_code(&self) -> ExitCode {
        let transport = match self {
            CliError::Transport(e) | CliError::Read(ReadError::Transport(e)) => Some(e),
            _ => None,
        };
        let code = match (self, transport) {
            (CliError::Usage(_) | CliError::Decode { .. }, _) => 2,
            (CliError::Read(ReadError::UnknownPid(_)), _) => 2,
            (_, Some(TransportError::NoVehicle { .. })) | (CliError::Read(ReadError::NoEcu), _) => {
                4
            }
            (_, Some(_)) => 3,
            (CliError::Failed(_), _) => 5,
            (CliError::NoReply(_), _) => super::remote::NO_REPLY_EXIT,
            _ => 1,
        };
        ExitCode::from(code)
    }
}

/// Prints the error and its causes once each, as `error: outer: inner`.
pub fn report(error: &CliError) {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    eprintln!("error: {text}");
}
