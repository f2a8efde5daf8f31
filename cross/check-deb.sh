#!/usr/bin/env bash
# Checks an obd-agent .deb: what it installs, its control data, its maintainer scripts, the unit
# and the config inside it.
#
#   cross/check-deb.sh                 packages the host's debug binary (target/debug/obd-agent,
#                                      built if missing) the way cross/build.sh packages a dongle
#                                      build, into target/dist/check/, and checks that package
#                                      (CI does this)
#   cross/check-deb.sh PKG.deb         checks a package cross/build.sh made (any architecture)
#
# Checked: the files, owners and modes; the conffile; Depends; that each maintainer script passes
# `sh -n` and had cargo-deb's systemd snippet put in; that the packaged unit is systemd/ and
# passes systemd/check.sh (verify prints nothing, exposure at most 2.0); that the packaged
# config passes `obd-agent run --check` when the binary runs here; lintian, if installed, finds
# no error outside the list below. Exit codes: 0 passed, 1 failed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "check-deb: $*" >&2; }
failed=0
fail() {
  say "FAIL: $*"
  failed=1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ $# -ge 1 ]; then
  deb=$(realpath "$1")
else
  [ -x target/debug/obd-agent ] || cargo build --locked --bin obd-agent
  if ! command -v cargo-deb >/dev/null; then
    # cross/build.sh installs the pinned cargo-deb; reuse its pin.
    version=$(sed -n 's/^CARGO_DEB_VERSION=//p' cross/build.sh)
    say "installing cargo-deb $version (compiles for a few minutes, once)"
    cargo install --locked --quiet cargo-deb --version "$version"
  fi
  # The dev profile's binary (stripped by cargo-deb, demo broker included): the files around
  # it are what is checked here, and they are the same for every target. Kept in
  # target/dist/check/ for cross/deb-install-test.sh.
  rm -rf target/dist/check
  cargo deb --no-build --fast --locked --profile dev --output target/dist/check/ >"$work/cargo-deb.log" 2>&1 || {
    cat "$work/cargo-deb.log" >&2
    say "FAIL: cargo deb"
    exit 1
  }
  deb=$(realpath target/dist/check/obd-agent_*.deb)
fi
say "checking $deb"
arch=$(dpkg-deb --field "$deb" Architecture)

# --- control data
[ "$(dpkg-deb --field "$deb" Package)" = obd-agent ] || fail "Package is not obd-agent"
depends=$(dpkg-deb --field "$deb" Depends)
case ", $depends," in *", adduser,"* | *", adduser ("*) ;; *) fail "Depends lacks adduser: $depends" ;; esac
mkdir -p "$work/control" "$work/root"
dpkg-deb --control "$deb" "$work/control"
dpkg-deb --extract "$deb" "$work/root"
[ "$(cat "$work/control/conffiles" 2>/dev/null)" = /etc/obd-agent/config.toml ] ||
  fail "conffiles should list /etc/obd-agent/config.toml alone, has: $(cat "$work/control/conffiles" 2>/dev/null)"

for script in preinst postinst prerm postrm; do
  f=$work/control/$script
  [ -f "$f" ] || continue
  sh -n "$f" || fail "$script: sh -n"
  ! grep -q '#DEBHELPER#' "$f" || fail "$script: #DEBHELPER# left unreplaced"
done
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "no executable $script"
done
grep -q 'deb-systemd-helper.*enable' "$work/control/postinst" 2>/dev/null || fail "postinst does not enable the unit"
grep -q 'adduser --system' "$work/control/postinst" 2>/dev/null || fail "postinst does not create the user"
grep -q 'deb-systemd-invoke stop' "$work/control/prerm" 2>/dev/null || fail "prerm does not stop the service"
grep -q 'rm -rf /var/lib/obd-agent' "$work/control/postrm" 2>/dev/null || fail "postrm purge leaves the state"

# --- files: path, mode and owner as dpkg will install them
expect="\
-rwxr-xr-x 0/0 ./usr/bin/obd-agent
-rw-r--r-- 0/0 ./etc/obd-agent/config.toml
-rw-r--r-- 0/0 ./usr/lib/systemd/system/obd-agent.service
-rw-r--r-- 0/0 ./usr/lib/modules-load.d/obd-agent.conf
-rw-r--r-- 0/0 ./usr/share/doc/obd-agent/copyright
-rw-r--r-- 0/0 ./usr/share/doc/obd-agent/deployment.md
-rw-r--r-- 0/0 ./usr/share/doc/obd-agent/README.md"
files=$(dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort)
if [ "$files" != "$(printf '%s\n' "$expect" | sort)" ]; then
  fail "the package's files differ from the expected list"
  diff <(printf '%s\n' "$expect" | sort) <(printf '%s\n' "$files") >&2 || true
fi
# Nothing of ours under /var: the state directory is StateDirectory='s to create.
! dpkg-deb --contents "$deb" | grep -q ' \./var/' || fail "the package ships files under /var"

cmp -s "$work/root/usr/lib/systemd/system/obd-agent.service" systemd/obd-agent.service ||
  fail "the packaged unit is not systemd/obd-agent.service"
cmp -s "$work/root/etc/obd-agent/config.toml" systemd/config.toml.example ||
  fail "the packaged config is not systemd/config.toml.example"

# --- the unit inside the package, offline
if systemd/check.sh "$work/root/usr/lib/systemd/system/obd-agent.service" >"$work/check.log" 2>&1; then
  grep '^ok' "$work/check.log" | sed 's/^/check-deb: unit: /' >&2
else
  rc=$?
  if [ "$rc" -eq 77 ]; then
    say "skipped the unit check: systemd-analyze not installed"
  else
    cat "$work/check.log" >&2
    fail "systemd/check.sh on the packaged unit"
  fi
fi

# --- the config inside the package, with the packaged binary when it runs here
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
  if STATE_DIRECTORY="$work/state" "$work/root/usr/bin/obd-agent" run \
    --config "$work/root/etc/obd-agent/config.toml" --check >"$work/run-check.log" 2>&1; then
    say "config: obd-agent run --check accepts the packaged config"
  else
    cat "$work/run-check.log" >&2
    fail "obd-agent run --check rejects the packaged config"
  fi
fi

# --- lintian errors. Accepted: no Debian changelog (the version comes from Cargo.toml) and a
# static binary for the musl builds (deliberate). Warnings are counted, not failed.
if command -v lintian >/dev/null; then
  accepted='no-changelog|statically-linked-binary'
  lintian --no-tag-display-limit "$deb" >"$work/lintian.log" 2>&1 || true
  errors=$(grep -E '^E: ' "$work/lintian.log" | grep -vE ": ($accepted)( |$)" || true)
  if [ -n "$errors" ]; then
    printf '%s\n' "$errors" >&2
    fail "lintian errors"
  fi
  say "lintian: $(grep -c '^E: ' "$work/lintian.log" || true) error(s), $(grep -c '^W: ' "$work/lintian.log" || true) warning(s), accepted: $accepted"
fi

if [ "$failed" -eq 0 ]; then
  say "ok: $(basename "$deb") ($arch, Depends: $depends)"
fi
exit "$failed"
