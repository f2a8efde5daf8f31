//! Placeholder: the simulated vehicle and its ELM327 emulator.
