#!/usr/bin/env bash
# test_conn_reset_ebpf.sh -- eBPF path: TCP connection counts stay exact when a connection ends before the
# syscall that opened it returns to the program. A traced process accepts N connections its clients reset while
# they waited in the accept queue (the kernel moved them to TCP_CLOSE before accept's sys_exit could count them),
# and N ordinary ones: every one is counted opened and closed, none is left active, none counted lost.
source "$(dirname "$0")/lib.sh"
need_root
N=20

LP=$(free_port)
# the traced process: N reset-before-accept connections, then N ordinary ones, all from its own client sockets
/usr/bin/python3 -c '
import os, socket, struct, sys, time
n, go = int(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
end = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.05)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
for reset in (True, False):
    for _ in range(n):
        c = socket.create_connection(s.getsockname())
        if reset:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            time.sleep(0.01)  # the reset reaches the queued connection before accept takes it
        a, _ = s.accept()
        a.close()
        if not reset:
            c.close()
print("done", flush=True)
time.sleep(30)' $N "$TMP/go" >"$TMP/py.out" 2>"$TMP/py.err" &
P=$!
PIDS+=($P)
wait_for 5 grep -q ready "$TMP/py.out" || { bad "client/server did not start"; finish; }
"$OBSPROBE" attach --pid "$P" --listen "127.0.0.1:$LP" -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }
touch "$TMP/go"
wait_for 30 grep -q '^done' "$TMP/py.out" || { bad "the program did not finish"; cat "$TMP/py.err"; finish; }
# the last closes (FIN, then the peer's ACK) finish in the kernel shortly after: wait for them, bounded
wait_for 10 sh -c "curl -sf http://127.0.0.1:$LP/metrics | grep -q '^obsprobe_tcp_connections_active{.*outbound.*} 0'"
scrape "$LP" >"$TMP/m"
for d in inbound outbound; do
	check "$d connections counted" $((2 * N)) \
		"$(metric "$TMP/m" "obsprobe_tcp_connections_total{service=\"python3\",direction=\"$d\"}")"
	check "no $d connection left active" 0 \
		"$(metric "$TMP/m" "obsprobe_tcp_connections_active{service=\"python3\",direction=\"$d\"}")"
done
check "no events lost" 0 "$(awk '/^obsprobe_events_lost_total\{/ { s += $2 } END { print s + 0 }' "$TMP/m")"
kill -INT $OBS
wait $OBS
check "obsprobe exits 0" 0 "$?"
finish
