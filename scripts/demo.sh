#!/usr/bin/env bash
# The main job with nothing but the Rust toolchain: the agent against the built-in simulated
# car whose faults develop, with an embedded MQTT broker, printing the alerts the service
# centre receives (about a minute; Ctrl-C stops it). Extra arguments go to `obd-agent demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
exec cargo run --release --locked -- demo "$@"
