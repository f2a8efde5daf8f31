//! obd-agent: reads a vehicle's trouble codes and live data through an ELM327 adapter or
//! SocketCAN, classifies faults, and reports them to the service centre.
//!
//! Protocol cores (`elm327`, `obd`, `dtcdb`, `diagnosis`) are pure code over bytes and values;
//! `transport`, `reader`, `sim` and `cli` are the shells that do I/O.

pub mod agent;
pub mod cli;
pub mod config;
pub mod diagnosis;
pub mod dtcdb;
pub mod elm327;
pub mod isotp;
pub mod maintenance;
pub mod obd;
pub mod outbox;
pub mod reader;
pub mod sim;
pub mod store;
pub mod transport;
pub mod triage;
pub mod uplink;
