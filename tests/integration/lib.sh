# lib.sh -- helpers for integration tests (sourced). Each test prints PASS/FAIL lines, exits 1 on failure, 77 to skip.
# pipefail is on: in `A | grep -q X` a failing A fails the check even when X was found (find over /proc/PID/fd while
# the process closes a descriptor; curl writing into a grep that has already exited). Keep A's output or use <(A).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OBSPROBE=$ROOT/build/obsprobe
TARGETS=$ROOT/build/targets
TMP=$(mktemp -d /tmp/obsprobe-test.XXXXXX)
chmod 755 "$TMP"
FAILS=0
PIDS=()

cleanup() {
	local p i
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# bounded: whatever has not exited after 3 s is killed
	for i in $(seq 1 30); do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

need_root() { [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (eBPF)"; exit 77; }; }
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; FAILS=$((FAILS + 1)); }
check() { # name expected actual
	if [ "$2" == "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}
finish() { [ $FAILS -eq 0 ] || exit 1; exit 0; }

# a free TCP port on loopback
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS CMD...: retry CMD every 0.1 s.  Its arguments are expanded once, when wait_for is called: a
# condition on "$(...)" goes in a function (the tests call theirs _ready), which runs it again on each try.
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

scrape() { curl -sf "http://127.0.0.1:$1/metrics"; }

# metric FILE 'name{labels}' -> value of the exact sample line (empty when absent)
metric() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
