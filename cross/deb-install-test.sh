#!/usr/bin/env bash
# Installs, reinstalls, removes and purges an obd-agent .deb inside a throwaway Debian 12 chroot
# and checks that each step leaves the system as it should be. The host is never touched.
#
#   cross/deb-install-test.sh PKG.deb     a package for this machine's architecture (amd64 here:
#                                         `cross/build.sh x86_64-gnu`); needs root
#
# The chroot (minbase + adduser, init-system-helpers) is made once with mmdebstrap from Debian's
# mirror and cached as target/cross-cache/chroot-bookworm.tar (about 170 MB); every run unpacks a
# fresh copy. No systemd runs in a chroot, so the maintainer scripts take their offline paths:
# deb-systemd-helper writes the enable links and its state, systemctl calls are skipped.
# Exit codes: 0 passed, 1 failed, 77 skipped (not root, or the package is for another arch).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/target/cross-cache/chroot-bookworm.tar

say() { echo "deb-install-test: $*" >&2; }
[ $# -eq 1 ] || {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
deb=$(realpath "$1")
if [ "$(id -u)" != 0 ]; then
  say "skipped: needs root (chroot)"
  exit 77
fi
arch=$(dpkg-deb --field "$deb" Architecture)
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
  say "skipped: $arch package on a $(dpkg --print-architecture) machine"
  exit 77
fi

if [ ! -s "$CACHE" ]; then
  command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  say "making the Debian 12 chroot (once): $CACHE"
  mkdir -p "$(dirname "$CACHE")"
  mmdebstrap --quiet --format=tar --variant=minbase --include=adduser,init-system-helpers bookworm "$CACHE.part"
  mv "$CACHE.part" "$CACHE"
fi

root=$(mktemp -d)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  # --one-file-system: never descend into a mount that is still there.
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -xf "$CACHE" -C "$root"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/obd-agent.deb"
in_root() { chroot "$root" "$@"; }

failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAIL: $what" >&2
    failed=1
  fi
}
# Every path on the system that mentions obd-agent, except the user's entries in /etc and
# dpkg's own records of the package.
leftovers() {
  (cd "$root" && find etc usr var -name '*obd-agent*' -not -path 'var/lib/dpkg/info/*' \
    -not -path 'var/cache/*' -not -path 'var/log/*' | sort)
}

say "install"
in_root dpkg -i /tmp/obd-agent.deb >"$root/tmp/log" 2>&1 || {
  cat "$root/tmp/log" >&2
  say "FAIL: dpkg -i"
  exit 1
}
check "the binary runs" in_root /usr/bin/obd-agent --version
check "the system user exists, no login shell, home /var/lib/obd-agent" \
  test "$(in_root getent passwd obd-agent | cut -d: -f6,7)" = /var/lib/obd-agent:/usr/sbin/nologin
check "the user is not in dialout (the unit gives the service that group)" \
  sh -c "! chroot '$root' id -nG obd-agent | grep -qw dialout"
check "the config is root:obd-agent 0640" \
  test "$(in_root stat -c '%U:%G %a' /etc/obd-agent/config.toml 2>/dev/null || true)" = "root:obd-agent 640"
check "the unit is enabled (multi-user.target.wants)" \
  test -L "$root/etc/systemd/system/multi-user.target.wants/obd-agent.service"
check "the packaged config passes obd-agent run --check" \
  in_root env STATE_DIRECTORY=/tmp obd-agent run --config /etc/obd-agent/config.toml --check
check "dpkg --audit is clean" test -z "$(in_root dpkg --audit)"

say "reinstall (the upgrade path: configure with the old version)"
echo '# edited by the admin' >>"$root/etc/obd-agent/config.toml"
check "dpkg -i again" in_root dpkg -i --force-confold /tmp/obd-agent.deb
check "the admin's edit to the config is kept" grep -q 'edited by the admin' "$root/etc/obd-agent/config.toml"
check "the config is still root:obd-agent 0640" \
  test "$(in_root stat -c '%U:%G %a' /etc/obd-agent/config.toml)" = "root:obd-agent 640"

# What the service leaves behind once it has run: its store.
mkdir -p "$root/var/lib/obd-agent"
touch "$root/var/lib/obd-agent/agent.db"
in_root chown -R obd-agent:obd-agent /var/lib/obd-agent

say "remove"
check "dpkg -r" in_root dpkg -r obd-agent
check "the binary is gone" test ! -e "$root/usr/bin/obd-agent"
check "the unit is gone" test ! -e "$root/usr/lib/systemd/system/obd-agent.service"
check "the config is kept" test -f "$root/etc/obd-agent/config.toml"
check "the store is kept" test -f "$root/var/lib/obd-agent/agent.db"
check "dpkg --audit is clean" test -z "$(in_root dpkg --audit)"

say "purge"
check "dpkg -P" in_root dpkg -P obd-agent
check "nothing named obd-agent is left in /etc, /usr, /var" test -z "$(leftovers)"
[ -z "$(leftovers)" ] || leftovers >&2
check "no stat override is left" test -z "$(in_root dpkg-statoverride --list '*obd-agent*')"
check "no dangling symlinks in /etc/systemd" \
  test -z "$(find "$root/etc/systemd" -xtype l 2>/dev/null)"
check "the package is gone from dpkg" sh -c "! chroot '$root' dpkg -s obd-agent >/dev/null 2>&1"
check "the system user is kept (Debian policy)" sh -c "chroot '$root' getent passwd obd-agent >/dev/null"

if [ "$failed" -eq 0 ]; then
  echo "deb-install-test: passed: install, reinstall, remove, purge of $(basename "$deb")"
fi
exit "$failed"
