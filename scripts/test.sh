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
# systemd-analyze checks the service unit offline (tests/systemd_unit.rs, systemd/check.sh);
# Mosquitto is the real broker of the uplink and agent tests.
# lintian and mmdebstrap: cross/check-deb.sh and cross/deb-install-test.sh check the .deb.
install_apt systemd mosquitto mosquitto-clients lintian mmdebstrap

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo clippy --no-default-features (the dongle build: no demo broker)"
cargo clippy --all-targets --locked --no-default-features -- -D warnings
echo "== CAN tests on the real kernel stack (qemu guest)"
tests/guest/run.sh
echo "== library unit tests on aarch64, under qemu-user (cross/build.sh --test aarch64-gnu)"
# The sans-io cores (ELM327, ISO-TP, OBD codecs, diagnosis, config) on a 64-bit ARM CPU, as on
# the dongle: catches byte-order, alignment and integer-width slips. Installs the aarch64 cross
# gcc, qemu-user-static and the rustup target when missing.
cross/build.sh --test aarch64-gnu
echo "== the .deb (cross/check-deb.sh, cross/deb-install-test.sh)"
cross/check-deb.sh
# Install, upgrade, remove and purge in a Debian 12 chroot; 77: skipped (not root).
rc=0
cross/deb-install-test.sh target/dist/check/obd-agent_*.deb || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit "$rc"
echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee target/test.log
# Doc tests are cheap and keep examples honest.
cargo test --locked --doc
