//! Placeholder: the in-process simulator transport.
