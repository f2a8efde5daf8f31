#!/usr/bin/env bash
# Runs the CAN tests (tests/can_guest.rs) on a real Linux CAN stack: a qemu guest booting
# Debian's stock kernel with vcan, can-raw and can-isotp loaded, because the host kernel of CI
# and dev machines has no CAN. See tests/guest/README.md.
#
# Exit codes: 0 tests passed, 1 tests failed, 2 setup failed on the host (install, download,
# build), 3 the guest did not boot or gave no test summary.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${OBD_GUEST_DIR:-$ROOT/target/guest}
TIMEOUT=${OBD_GUEST_TIMEOUT:-180}
MODULES="can-dev vcan can can-raw can-isotp"

say() { echo "guest: $*" >&2; }
die() { say "FAILED ($1): $2"; exit "$3"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs qemu and xz when missing; touches apt only if something is.
install_tools() {
    local need=()
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    command -v xz >/dev/null || need+=(xz-utils)
    if [ ${#need[@]} -gt 0 ]; then
        say "installing ${need[*]}"
        as_root apt-get update -qq || return 1
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || return 1
    fi
}

# Downloads a package into $WORK/dl without installing it, refreshing stale apt lists once.
download() {
    mkdir -p "$WORK/dl"
    (cd "$WORK/dl" && apt-get download "$1" 2>/dev/null) && return 0
    as_root apt-get update -qq && (cd "$WORK/dl" && apt-get download "$1" 2>/dev/null)
}

# Static busybox for the guest (and its cpio for packing), unpacked rather than installed:
# busybox-static conflicts with the busybox package a host may need.
fetch_busybox() {
    [ -x "$WORK/busybox/busybox" ] && return 0
    say "fetching busybox-static"
    rm -rf "$WORK/dl" "$WORK/busybox" && mkdir -p "$WORK/busybox" || return 1
    download busybox-static || return 1
    dpkg-deb -x "$WORK"/dl/busybox-static_*.deb "$WORK/dl/x" || return 1
    cp "$WORK/dl/x/bin/busybox" "$WORK/busybox/busybox" || return 1
    rm -rf "$WORK/dl"
}

# Debian's generic kernel (the -cloud flavour has no CAN), uncompressed so qemu boots it
# through the PVH entry (about twice as fast as the bzImage), and the five modules we need.
fetch_kernel() {
    local kdir=$WORK/kernel
    if [ -s "$kdir/vmlinux" ] && [ -s "$kdir/can-isotp.ko" ]; then
        return 0
    fi
    local pkg
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$pkg" ]; then
        as_root apt-get update -qq || return 1
        pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$pkg" ] || { say "no linux-image-amd64 in the apt lists"; return 1; }
    say "fetching $pkg"
    rm -rf "$kdir" "$WORK/dl" && mkdir -p "$kdir" "$WORK/dl/x" || return 1
    if ! download "$pkg"; then
        # Stale lists named a version the mirror dropped; download() refreshed them.
        pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        download "$pkg" || return 1
    fi
    dpkg-deb --fsys-tarfile "$WORK"/dl/"$pkg"_*.deb |
        tar -x -C "$WORK/dl/x" --wildcards './boot/vmlinuz-*' '*/kernel/net/can/*' '*/kernel/drivers/net/can/*' || return 1
    local vmlinuz off m
    vmlinuz=$(ls "$WORK"/dl/x/boot/vmlinuz-*)
    # The bzImage wraps an xz stream; its magic marks where the ELF kernel starts.
    off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$vmlinuz" | head -1 | cut -d: -f1)
    [ -n "$off" ] || { say "no xz stream in $vmlinuz"; return 1; }
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$kdir/vmlinux" 2>/dev/null || true
    [ "$(head -c 4 "$kdir/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || { say "extracted kernel is not ELF"; return 1; }
    for m in $MODULES; do
        find "$WORK/dl/x" -name "$m.ko" -exec cp {} "$kdir/" \;
        [ -s "$kdir/$m.ko" ] || { say "module $m.ko not in $pkg"; return 1; }
    done
    echo "$pkg" >"$kdir/VERSION"
    rm -rf "$WORK/dl"
}

# The can_guest test binary and the CLI, built exactly as `cargo test` builds them (same
# profile, features and flags), so scripts/test.sh compiles nothing twice; build_initramfs gives
# the guest the host's shared libraries they load.
build_tests() {
    local out
    # Once for the diagnostics on stderr, once (a no-op by then) for the path in JSON.
    (cd "$ROOT" && cargo test --test can_guest --no-run) || return 1
    out=$(cd "$ROOT" && cargo test --test can_guest --no-run --message-format=json 2>/dev/null) || return 1
    TEST_BIN=$(printf '%s\n' "$out" | grep -o '"executable":"[^"]*can_guest[^"]*"' | tail -1 | cut -d'"' -f4)
    [ -x "$TEST_BIN" ] || { say "no test executable in cargo's output"; return 1; }
    # The CLI too, for the tests that run `obd-agent sim --can` and `scan --can` as a user would.
    (cd "$ROOT" && cargo build --bin obd-agent) || return 1
    AGENT_BIN=$ROOT/target/debug/obd-agent
}

# Copies the dynamic loader and every library `bin` needs to the same paths under `dir`.
copy_libraries() {
    local bin=$1 dir=$2 lib
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        mkdir -p "$dir$(dirname "$lib")" && cp -L "$lib" "$dir$lib" || return 1
    done
}

# Every step checks itself: errexit is off inside a function called as `f || die`.
build_initramfs() {
    local dir=$WORK/initramfs
    rm -rf "$dir" && mkdir -p "$dir"/{bin,modules,proc,sys,dev,tmp} || return 1
    cp "$WORK/busybox/busybox" "$dir/bin/busybox" || return 1
    cp "$WORK"/kernel/*.ko "$dir/modules/" || return 1
    # Debug info is most of the binary's size; symbols stay for backtraces.
    objcopy --strip-debug "$TEST_BIN" "$dir/can_guest" 2>/dev/null || cp "$TEST_BIN" "$dir/can_guest" || return 1
    objcopy --strip-debug "$AGENT_BIN" "$dir/obd-agent" 2>/dev/null || cp "$AGENT_BIN" "$dir/obd-agent" || return 1
    copy_libraries "$TEST_BIN" "$dir" || return 1
    copy_libraries "$AGENT_BIN" "$dir" || return 1
    cp "$ROOT/tests/guest/init" "$dir/init" || return 1
    chmod +x "$dir/init" "$dir/can_guest" "$dir/obd-agent" || return 1
    # shellcheck disable=SC2086 # one module name per line
    printf '%s\n' $MODULES >"$dir/modules/order" || return 1
    (cd "$dir" && find . | "$WORK/busybox/busybox" cpio -o -H newc 2>/dev/null) >"$WORK/initramfs.cpio" || return 1
}

boot() {
    local accel=(-accel tcg -cpu max)
    # /dev/kvm can exist without hardware virtualisation (nested setups); KVM needs vmx/svm.
    if [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then
        accel=(-accel kvm -cpu host)
    fi
    say "booting (${accel[*]}, limit ${TIMEOUT}s)"
    rm -f "$WORK/qemu.rc"
    {
        rc=0
        timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -m 512 -smp 1 \
            -nodefaults -display none -no-reboot -serial stdio -monitor none \
            -kernel "$WORK/kernel/vmlinux" -initrd "$WORK/initramfs.cpio" \
            -append "console=ttyS0 panic=-1 loglevel=3 rdinit=/init" \
            </dev/null 2>&1 || rc=$?
        echo "$rc" >"$WORK/qemu.rc"
    } | tr -d '\r' | tee "$WORK/console.log"
    QEMU_RC=$(cat "$WORK/qemu.rc" 2>/dev/null || echo "?")
}

main() {
    mkdir -p "$WORK"
    local t0 t1
    install_tools || die setup "could not install qemu-system-x86 / xz-utils" 2
    fetch_busybox || die setup "could not fetch busybox-static" 2
    fetch_kernel || die setup "could not fetch and unpack the Debian kernel" 2
    build_tests || die setup "could not build the can_guest test binary" 2
    build_initramfs || die setup "could not build the initramfs" 2
    t0=$(date +%s.%N)
    boot
    t1=$(date +%s.%N)
    local log=$WORK/console.log secs summary
    secs=$(awk "BEGIN {printf \"%.1f\", $t1 - $t0}")
    summary=$(grep -E '^test result: ' "$log" | tail -1 || true)
    if ! grep -q '^GUEST-BOOTED' "$log"; then
        [ "$QEMU_RC" = 124 ] && die boot "the guest did not boot within ${TIMEOUT}s (console: $log)" 3
        die boot "the guest did not boot, qemu exited $QEMU_RC (console: $log)" 3
    fi
    grep '^GUEST-ERROR' "$log" >&2 || true
    if [ -z "$summary" ]; then
        [ "$QEMU_RC" = 124 ] && die tests "the guest booted but the tests did not finish within ${TIMEOUT}s (console: $log)" 3
        die tests "the guest booted but printed no test summary (console: $log)" 3
    fi
    say "boot to result: ${secs}s (guest $(grep '^GUEST-UPTIME' "$log" | tr '\n' ' '))"
    # Figures printed by the benchmark test (tests/can_guest/bench.rs).
    grep '^GUEST-BENCH ' "$log" | sed 's/^GUEST-BENCH /guest: bench: /' >&2 || true
    say "$summary"
    case "$summary" in
        "test result: ok."*) exit 0 ;;
        *) die tests "CAN guest tests failed" 1 ;;
    esac
}

main "$@"
