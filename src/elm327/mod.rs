//! The ELM327 line protocol, as pure code over text and bytes.
//!
//! The adapter speaks ASCII: a command ends with CR, the answer ends with a `>` prompt. This
//! module frames the byte stream ([`framer`]), sorts an answer into data and status lines
//! ([`reply`]), reassembles the data into per-ECU messages ([`frames`]) and knows the commands
//! and answers of the initialisation ([`commands`]). The serial/TCP shell that drives it is
//! `transport::elm327`.

pub mod commands;
pub mod framer;
pub mod frames;
pub mod reply;
