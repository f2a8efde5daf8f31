//! Placeholder: the ELM327 transport shell.
