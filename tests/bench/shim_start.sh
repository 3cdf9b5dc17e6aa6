#!/usr/bin/env bash
# shim_start.sh -- what libobsshim.so adds to a process start: N starts of /bin/true (the shim makes no segment)
# and of a program that writes once (it makes one), without the shim and with it, runtime dir on tmpfs and on a
# disk dir, interleaved start by start in one run (build/bench/spawn_time). Prints the added ms per start and the
# ratio. No thresholds: make bench reports, never fails.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
SHIM=$B/libobsshim.so
N=${NSTART:-1000}
SHM=$(mktemp -d /dev/shm/obsprobe-startbench.XXXXXX)
DISK=$(mktemp -d "${DISK_DIR:-/var/tmp}/obsprobe-startbench.XXXXXX")
trap 'rm -rf "$SHM" "$DISK"' EXIT
for f in "$SHIM" "$B/bench/spawn_time"; do [ -x "$f" ] || { echo "shim_start: $f missing (make bench builds it)" >&2; exit 1; }; done

measure() { # LABEL CMD...
	local label=$1
	shift
	"$B/bench/spawn_time" "$N" - "OBSPROBE_RUNTIME_DIR=$SHM,LD_PRELOAD=$SHIM" "OBSPROBE_RUNTIME_DIR=$DISK,LD_PRELOAD=$SHIM" \
		-- "$@" | awk -v l="$label" '{ m[NR] = $3 } END {
		printf "| %s | %.3f | %+.3f (%.2fx) | %+.3f (%.2fx) |\n", l, m[1], m[2] - m[1], m[2] / m[1], m[3] - m[1], m[3] / m[1] }'
	rm -f "$SHM"/obsprobe-* "$DISK"/obsprobe-*
}

printf 'shim start cost: median of %d starts each (posix_spawn + waitpid), %s, disk dir %s (%s)\n' "$N" \
	"$(date -u +%F)" "$DISK" "$(stat -f -c %T "$DISK")"
printf '| program | no shim ms/start | shim, /dev/shm: added ms (ratio) | shim, disk dir: added ms (ratio) |\n|---|---|---|---|\n'
measure "/bin/true (records nothing)" /bin/true
measure "one write(2) (makes its segment)" "$B/targets/shim_writer" 1 1
exit 0
