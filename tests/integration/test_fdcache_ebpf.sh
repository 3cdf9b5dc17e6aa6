#!/usr/bin/env bash
# test_fdcache_ebpf.sh -- eBPF path: the kernel's per-thread fd cache (bpf/sockio.bpf.h fd_lookup) never attributes
# bytes to a connection an fd number no longer holds: one traced client moves a single fd number between
# connections to two servers (dup2, close and reopen, close_range, another thread's close, a regular file in
# between); every request it made is a CLIENT span with the port of the server it really went to, and no other.
source "$(dirname "$0")/lib.sh"
need_root

P1=$(free_port) P2=$(free_port) LP=$(free_port)
mkdir -p "$TMP/www"
for p in $P1 $P2; do
	/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$p" >/dev/null 2>&1 &
	PIDS+=($!)
done
wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$P1/" && wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$P2/" ||
	{ bad "servers did not start"; finish; }
/usr/bin/python3 "$ROOT/tests/integration/fdreuse_client.py" "$P1" "$P2" "$TMP/go" >"$TMP/client.out" 2>"$TMP/client.err" &
C=$!
PIDS+=($C)
"$OBSPROBE" attach --pid "$C" --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.jsonl" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }
touch "$TMP/go"
wait_for 30 grep -q '^done' "$TMP/client.out" || { bad "client did not finish"; cat "$TMP/client.err"; finish; }
sleep 1
kill -INT $OBS
wait $OBS
check "client sent 7 requests" 7 "$(grep -c '^/' "$TMP/client.out")"
python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.jsonl" >"$TMP/spans" || bad "spans file decodes"
# "path port" of every CLIENT span, in the client's order
got=$(grep SPAN_KIND_CLIENT "$TMP/spans" | awk '{ p = ""; u = ""; for (i = 1; i <= NF; i++) {
	if ($i ~ /^url\.path=/) u = substr($i, 10); if ($i ~ /^server\.port=/) p = substr($i, 13) }; print u, p }' | sort)
check "every request on the connection its fd held then" "$(grep '^/' "$TMP/client.out" | sort | tr '\n' ' ')" \
	"$(echo "$got" | tr '\n' ' ')"
finish
