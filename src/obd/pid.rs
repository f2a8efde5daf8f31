//! Placeholder: filled in by the obd decoders work.
