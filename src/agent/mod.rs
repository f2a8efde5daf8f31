//! The daemon: tasks joined by channels (poller → diagnosis → store → uplink, commands back),
//! one shutdown signal.

pub mod auth;
pub mod commands;
pub mod diagnose;
pub mod jobs;
pub mod maintain;
pub mod notify;
pub mod poller;
pub mod power;
mod run;

pub use run::{AdapterConnector, AgentError, run, run_with, uplink_config};
