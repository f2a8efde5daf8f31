//! Placeholder: ELM327 line protocol (sans-io).
