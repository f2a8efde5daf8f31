#!/usr/bin/env bash
# Builds obd-agent for Raspberry Pi-class dongles. One command per target (cross/README.md):
#
#   cross/build.sh TARGET...       the binary, and the .deb where the target has one, into
#                                  target/dist/ (cargo profile `dongle`, no demo broker)
#   cross/build.sh all             every target below, one after the other
#   cross/build.sh --test TARGET   the library's unit tests for TARGET under qemu-user (dev
#                                  profile, dongle features); CI runs it for aarch64-gnu
#   cross/build.sh --list          the targets
#
# It installs what it needs and touches nothing that is already there: Debian packages (apt-get,
# through sudo when not root), rustup targets and rust-src, cargo-zigbuild and ziglang from PyPI
# into a venv under $OBD_CROSS_TOOLS (default ~/.cache/obd-agent/cross-tools), cargo-deb with
# `cargo install`. Each built binary is run once under qemu-user (--version, explain) as a smoke
# test, and its size and build time are appended to target/dist/builds.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/dist
TOOLS=${OBD_CROSS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/obd-agent/cross-tools}
PROFILE=dongle
# Versions the builds were made and measured with; bump deliberately.
ZIGBUILD_VERSION=0.24.0
ZIGLANG_VERSION=0.17.1
CARGO_DEB_VERSION=3.8.0

# name | Rust target | linker | .deb architecture (- none) | qemu-user command (- native)
# gcc: Debian's cross gcc (glibc of the build machine: Debian 12 / Pi OS Bookworm and later).
# zig: cargo-zigbuild. zig+std: cargo-zigbuild, std built from source (rustup has no prebuilt
# std for these targets).
TARGETS="
x86_64-gnu   x86_64-unknown-linux-gnu        host    amd64 -
aarch64-gnu  aarch64-unknown-linux-gnu       gcc     arm64 qemu-aarch64-static -L /usr/aarch64-linux-gnu
armv7-gnu    armv7-unknown-linux-gnueabihf   gcc     -     qemu-arm-static -L /usr/arm-linux-gnueabihf
aarch64-musl aarch64-unknown-linux-musl      zig     -     qemu-aarch64-static
armv7-musl   armv7-unknown-linux-musleabihf  zig+std -     qemu-arm-static -cpu cortex-a7
armv6-musl   arm-unknown-linux-musleabihf    zig+std armhf qemu-arm-static -cpu arm1176
"

say() { echo "cross: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Sets triple, linker, deb_arch and qemu (an array) for target name $1.
lookup() {
  local line
  line=$(printf '%s\n' "$TARGETS" | awk -v n="$1" '$1 == n')
  [ -n "$line" ] || die "unknown target '$1' (cross/build.sh --list)"
  read -r _ triple linker deb_arch qemu_line <<<"$line"
  read -r -a qemu <<<"$qemu_line"
  [ "${qemu[0]}" != - ] || qemu=()
}

install_apt() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_rust_target() {
  rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}

install_rust_src() {
  rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
}

install_zigbuild() {
  export PATH="$TOOLS/venv/bin:$PATH"
  if "$TOOLS/venv/bin/python3" -c 'import ziglang' 2>/dev/null &&
    [ "$(cargo-zigbuild --version 2>/dev/null | awk '{print $2}')" = "$ZIGBUILD_VERSION" ]; then
    return 0
  fi
  python3 -c 'import venv, ensurepip' 2>/dev/null || install_apt python3-venv
  say "installing cargo-zigbuild $ZIGBUILD_VERSION and ziglang $ZIGLANG_VERSION into $TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q "cargo-zigbuild==$ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION"
}

install_cargo_deb() {
  [ "$(cargo deb --version 2>/dev/null | awk '{print $NF}')" = "$CARGO_DEB_VERSION" ] && return 0
  say "installing cargo-deb $CARGO_DEB_VERSION (compiles for a few minutes, once)"
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
}

# Everything target $1 needs to build (and, with qemu set, to run).
prepare() {
  lookup "$1"
  local apt=()
  [ ${#qemu[@]} -eq 0 ] || apt+=(qemu-user-static)
  case $triple in
  aarch64-unknown-linux-gnu) apt+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
  armv7-unknown-linux-gnueabihf) apt+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
  esac
  [ ${#apt[@]} -eq 0 ] || install_apt "${apt[@]}"
  case $linker in
  host | gcc) install_rust_target "$triple" ;;
  zig) install_rust_target "$triple" && install_zigbuild ;;
  zig+std) install_rust_src && install_zigbuild ;;
  esac
}

# cargo with the subcommand ($1: build or test) and the flags target $triple needs.
cargo_for() {
  local cmd=$1
  shift
  case $linker in
  host | gcc) cargo "$cmd" --locked --target "$triple" "$@" ;;
  zig | zig+std)
    # cargo-zigbuild puts zig in as the C compiler and linker: `cargo zigbuild` builds,
    # `cargo-zigbuild test` tests.
    local sub=(cargo zigbuild)
    [ "$cmd" = build ] || sub=(cargo-zigbuild "$cmd")
    if [ "$linker" = zig+std ]; then
      # -Zbuild-std on the stable toolchain: RUSTC_BOOTSTRAP=1 unlocks it for this command
      # only; rustup's rust-src is the matching source. A nightly toolchain works the same.
      # Tests unwind and need the test crate: the default set of -Zbuild-std.
      local std=-Zbuild-std=std,panic_abort
      [ "$cmd" = build ] || std=-Zbuild-std
      # A std built from source comes without rustc's self-contained copies of musl's start
      # files (crt1.o, ...): zig's musl provides them. RUSTFLAGS, not the per-target variable:
      # cargo-zigbuild passes its flags in CARGO_ENCODED_RUSTFLAGS (built from RUSTFLAGS),
      # which cargo prefers over any per-target setting. With --target they reach the
      # target's crates only, not build scripts.
      RUSTC_BOOTSTRAP=1 RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C link-self-contained=no" \
        "${sub[@]}" --locked --target "$triple" "$std" "$@"
    else
      "${sub[@]}" --locked --target "$triple" "$@"
    fi
    ;;
  esac
}

build() {
  prepare "$1"
  local name=$1 start=$SECONDS bin
  mkdir -p "$OUT"
  say "building $name ($triple, profile $PROFILE, no demo broker)"
  cargo_for build --profile "$PROFILE" --no-default-features
  local secs=$((SECONDS - start))
  bin=$ROOT/target/$triple/$PROFILE/obd-agent
  [ -x "$bin" ] || die "no binary at $bin"
  cp "$bin" "$OUT/obd-agent-$name"
  # Smoke test on the target's CPU (qemu-user): starts, prints its version, decodes a code.
  "${qemu[@]}" "$OUT/obd-agent-$name" --version >/dev/null || die "$name: the binary does not run under ${qemu[*]:-the host}"
  "${qemu[@]}" "$OUT/obd-agent-$name" explain P0301 >/dev/null || die "$name: 'obd-agent explain P0301' failed"
  local size
  size=$(stat -c %s "$bin")
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$triple" "$size" "$secs" >>"$OUT/builds.tsv"
  say "$name: $OUT/obd-agent-$name, $(awk -v b="$size" 'BEGIN { printf "%.2f MB", b / 1e6 }') stripped, built in ${secs}s"
  if [ "$deb_arch" != - ]; then
    install_cargo_deb
    # Depends: the host's dpkg-shlibdeps for a host build; fixed lists (Cargo.toml) otherwise.
    local variant=()
    case $linker in
    gcc)
      variant=(--variant gnu-cross)
      check_glibc_deps "$bin"
      ;;
    zig*) variant=(--variant static) ;;
    esac
    # --no-build: the binary above is the one packaged. --no-strip: the profile stripped it.
    local deb
    deb=$(cargo deb --no-build --no-strip --locked --target "$triple" --profile "$PROFILE" \
      "${variant[@]}" --output "$OUT/" 2>&1 | tail -n 1)
    [ -f "$deb" ] || die "cargo deb made no package: $deb"
    local arch
    arch=$(dpkg-deb --field "$deb" Architecture)
    [ "$arch" = "$deb_arch" ] || die "$deb is for $arch, expected $deb_arch"
    say "$name: $deb ($(dpkg-deb --field "$deb" Depends))"
  fi
}

# The gnu-cross package declares libc6 (>= 2.34) and libgcc-s1: fail if the binary wants more.
check_glibc_deps() {
  local newest needed
  newest=$(readelf --version-info "$1" | grep -o 'GLIBC_2\.[0-9]*' | sort -uV | tail -n 1)
  needed=$(readelf --dynamic "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
  [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n 1)" = GLIBC_2.34 ] ||
    die "$1 needs $newest; raise libc6 in [package.metadata.deb.variants.gnu-cross] (Cargo.toml)"
  [ "$needed" = "libc.so.6 libgcc_s.so.1 libm.so.6 " ] ||
    die "$1 links $needed; the gnu-cross package's Depends (Cargo.toml) lists libc6 and libgcc-s1 only"
}

unit_tests() {
  prepare "$1"
  # The dongle's features (no demo broker), which also spares building rumqttd for the target.
  say "cargo test --lib --no-default-features for $1 ($triple) under ${qemu[*]:-the host}"
  cargo_for test --lib --no-default-features
}

[ $# -gt 0 ] || usage
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
case $1 in
--list)
  printf '%s\n' "$TARGETS" | awk 'NF { printf "%-13s %s\n", $1, $2 }'
  ;;
--test)
  [ $# -eq 2 ] || usage
  unit_tests "$2"
  ;;
-h | --help) usage ;;
*)
  names=("$@")
  [ "$*" != all ] || mapfile -t names < <(printf '%s\n' "$TARGETS" | awk 'NF { print $1 }')
  for name in "${names[@]}"; do build "$name"; done
  ;;
esac
