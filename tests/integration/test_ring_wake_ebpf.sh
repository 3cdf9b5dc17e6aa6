#!/usr/bin/env bash
# test_ring_wake_ebpf.sh -- eBPF path: a burst of payload faster than the collector's 20 ms drains wakes it early.
# A traced client sends N pipelined HTTP requests of ~1.9 KB each (one write each, ~9.5 MB in all) as fast as an
# untraced reader takes them, into a 1 MB payload ring: more than half the ring arrives between two timer drains,
# so the record that crosses the half puts an event on the process ring and the collector drains at once
# (obsprobe_ring_wakeups_total{ring="payload"} counts it). What the ring still could not hold is counted, not
# asserted (it depends on this machine's speed).
source "$(dirname "$0")/lib.sh"
need_root
N=5000

LP=$(free_port)
# the reader: takes whatever comes, answers nothing
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
while c.recv(1 << 20):
    pass' >"$TMP/srv.out" 2>"$TMP/srv.err" &
PIDS+=($!)
wait_for 5 test -s "$TMP/srv.out" || { bad "reader did not start"; finish; }
SP=$(head -1 "$TMP/srv.out")
# the traced client: N requests, one write each, once told
/usr/bin/python3 -c '
import os, socket, sys, time
n, port, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
end = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.05)
c = socket.create_connection(("127.0.0.1", port))
pad = "p" * 1800
for i in range(n):
    c.sendall(("GET /burst/%d HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (i, pad)).encode())
print("done", flush=True)
time.sleep(30)' $N "$SP" "$TMP/go" >"$TMP/py.out" 2>"$TMP/py.err" &
P=$!
PIDS+=($P)
wait_for 5 grep -q ready "$TMP/py.out" || { bad "client did not start"; finish; }
"$OBSPROBE" attach --pid "$P" --payload-ring-mb 1 --listen "127.0.0.1:$LP" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }
touch "$TMP/go"
wait_for 30 grep -q '^done' "$TMP/py.out" || { bad "the client did not finish"; cat "$TMP/py.err"; finish; }
sleep 0.5
scrape "$LP" >"$TMP/m"
wakeups=$(metric "$TMP/m" 'obsprobe_ring_wakeups_total{ring="payload"}')
test "${wakeups:-0}" -ge 1 && ok "the payload ring woke the collector early ($wakeups times)" ||
	bad "the payload ring never woke the collector: ${wakeups:-no obsprobe_ring_wakeups_total}"
kill -INT $OBS
wait $OBS
check "obsprobe exits 0" 0 "$?"
finish
