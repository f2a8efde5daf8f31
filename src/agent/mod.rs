//! The daemon: tasks joined by channels (poller → diagnosis → store → uplink, commands back),
//! one shutdown signal.

pub mod jobs;
pub mod poller;
pub mod power;
