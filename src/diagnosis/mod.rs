//! Placeholder: fault classification.
