#!/usr/bin/env bash
# The main job with nothing but the Rust toolchain: the built-in simulated vehicle behind an
# emulated ELM327, read by obd-agent exactly as it reads a real adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
exec cargo run --release --locked -- demo "$@"
