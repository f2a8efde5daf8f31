#!/usr/bin/env bash
# Checks systemd/obd-agent.service offline, with no running systemd:
#   1. `systemd-analyze verify` must print nothing at all. It exits 0 on unknown keys and many
#      other mistakes and only warns, so any output counts as a failure.
#   2. `systemd-analyze security --offline=yes` must rate the exposure at or below MAX_EXPOSURE.
# The unit is checked inside a throwaway root holding the unit, a stub /usr/bin/obd-agent (verify
# checks that ExecStart= exists) and stub targets for the dependencies systemd adds or the unit
# names, so the result does not depend on what the machine has installed.
#
# Usage: systemd/check.sh [path/to/obd-agent.service]
# Exit codes: 0 passed, 1 failed (the reason is on stderr), 77 systemd-analyze is not installed.
set -euo pipefail

MAX_EXPOSURE=2.0
here="$(cd "$(dirname "$0")" && pwd)"
unit_path="${1:-$here/obd-agent.service}"
unit="$(basename "$unit_path")"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "skipped: systemd-analyze not found (Debian: apt-get install systemd)" >&2
  exit 77
fi
if [ ! -f "$unit_path" ]; then
  echo "error: no unit file at $unit_path" >&2
  exit 1
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd/system"
printf '#!/bin/sh\nexit 0\n' >"$root/usr/bin/obd-agent"
chmod 0755 "$root/usr/bin/obd-agent"
cp "$unit_path" "$root/etc/systemd/system/$unit"
# Implicit dependencies of a service (sysinit, basic, shutdown) and the ones the unit names.
for target in sysinit basic shutdown network bluetooth multi-user; do
  printf '[Unit]\nDescription=stub %s\n' "$target" >"$root/usr/lib/systemd/system/$target.target"
done

# No colours, no pager: the output is parsed and may land in a CI log.
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat SYSTEMD_LOG_COLOR=0

failed=0

echo "== systemd-analyze verify $unit"
verify_out="$(systemd-analyze verify --root="$root" "$unit" 2>&1)" && verify_rc=0 || verify_rc=$?
if [ "$verify_rc" -ne 0 ] || [ -n "$verify_out" ]; then
  echo "FAIL: systemd-analyze verify (exit $verify_rc) printed:" >&2
  printf '%s\n' "$verify_out" >&2
  failed=1
else
  echo "ok: no output"
fi

echo "== systemd-analyze security --offline=yes $unit"
security_out="$(systemd-analyze security --offline=yes --root="$root" "$unit" 2>&1)" || true
# The last line reads: "→ Overall exposure level for obd-agent.service: 1.7 OK 🙂"
exposure="$(printf '%s\n' "$security_out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*/\1/p' | tail -n 1)"
if [ -z "$exposure" ]; then
  echo "FAIL: no exposure level in the output of systemd-analyze security:" >&2
  printf '%s\n' "$security_out" >&2
  failed=1
else
  # The settings that cost exposure, so a CI log says where a rise came from.
  printf '%s\n' "$security_out" | grep -E '^✗|Overall' || true
  if awk -v e="$exposure" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(e > max) }'; then
    echo "FAIL: exposure $exposure is above $MAX_EXPOSURE" >&2
    failed=1
  else
    echo "ok: exposure $exposure (at most $MAX_EXPOSURE)"
  fi
fi

exit "$failed"
