#!/usr/bin/env bash
# spine_timing.sh -- make bench: how far above its known duration a traced 1.5 ms spin is measured.
# The upper bounds test_ebpf_spine.sh used to assert (it keeps the exact counts and the lower bounds): of N calls
# of work_1ms, at most one above the 2.5 ms bucket bound, and the _sum under N x 2.5 ms. On a busy machine the
# spin itself takes longer, so these are reported here, never asserted in make test. Exits 0 unless it cannot run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
N=${SPIN_CALLS:-20}
TMP=$(mktemp -d /tmp/obsprobe-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitgrep() { local i; for i in $(seq 1 300); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
metric() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

P=$(port)
mkfifo "$TMP/in"
"$B/targets/worker" "$N" 1 1 1 <"$TMP/in" >"$TMP/worker.out" &
WPID=$!
exec 3>"$TMP/in"
waitgrep ready "$TMP/worker.out" || { echo "spine_timing: the worker did not start" >&2; exit 1; }
"$B/obsprobe" attach --pid $WPID --func work_1ms --no-syscalls --listen 127.0.0.1:$P -q >"$TMP/obs.out" 2>&1 3>&- &
OPID=$!
for i in $(seq 1 300); do curl -sf "http://127.0.0.1:$P/health/ready" >/dev/null && break; sleep 0.1; done
printf g >&3
waitgrep done "$TMP/worker.out" || { echo "spine_timing: the worker did not finish" >&2; exit 1; }
curl -sf "http://127.0.0.1:$P/metrics" >"$TMP/m"
exec 3>&-
kill -INT $OPID 2>/dev/null
wait $OPID 2>/dev/null

k='obsprobe_function_duration_seconds_%s{service="worker",function="work_1ms",object="worker"%s}'
count=$(metric "$TMP/m" "$(printf "$k" count "")")
le1=$(metric "$TMP/m" "$(printf "$k" bucket ',le="0.001"')")
le25=$(metric "$TMP/m" "$(printf "$k" bucket ',le="0.0025"')")
sum=$(metric "$TMP/m" "$(printf "$k" sum "")")
[ -n "$count" ] && [ -n "$le25" ] && [ -n "$sum" ] || { echo "spine_timing: no work_1ms histogram" >&2; exit 1; }
python3 - "$N" "$count" "${le1:-0}" "$le25" "$sum" <<'PY'
import sys
n, count, le1, le25, s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
above = count - le25
print(f"timing of a known 1.5 ms spin under --func (work_1ms, {n} calls; counts and lower bounds are make test's):")
print(f"| measure | value | bound (reported, not asserted) | within |")
print(f"|---|---|---|---|")
print(f"| calls counted | {count} | {n} (exact) | {'yes' if count == n else 'NO'} |")
print(f"| calls at or under 1 ms | {le1} | 0 | {'yes' if le1 == 0 else 'NO'} |")
print(f"| calls above 2.5 ms | {above} | at most 1 | {'yes' if above <= 1 else 'no (a busy machine?)'} |")
print(f"| _sum | {s:.4f} s (mean {s / max(count, 1) * 1e3:.3f} ms) | under {n * 0.0025:.3f} s | "
      f"{'yes' if s < n * 0.0025 else 'no (a busy machine?)'} |")
PY
exit 0
