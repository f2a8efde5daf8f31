#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain (rustup).
# Installs what the tests need, then runs formatting, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. Install Rust with rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
}

install_apt() {
  # Debian packages the tests use; installed only when missing.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

need_cargo
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# (no Debian packages needed yet beyond the toolchain)

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== CAN tests on the real kernel stack (qemu guest)"
tests/guest/run.sh
echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee target/test.log
# Doc tests are cheap and keep examples honest.
cargo test --locked --doc
