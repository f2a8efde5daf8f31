//! Placeholder: reads a vehicle through a transport.
