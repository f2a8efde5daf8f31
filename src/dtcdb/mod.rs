//! Placeholder: trouble-code knowledge embedded from dtc-db/.
