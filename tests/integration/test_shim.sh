#!/usr/bin/env bash
# test_shim.sh -- libobsshim.so: exact counts, host safety (errno, EINTR, fork, exec, threads, no or killed
# collector, OBSPROBE_DISABLE, silence), segments validated, and the non-root path run as nobody.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
[ -f "$SHIM" ] || { bad "build/libobsshim.so missing"; finish; }
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"
shim() { OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM "$@"; }

# serve_scrape: a collector reads what the segments hold (the processes may have exited), one scrape
serve_scrape() { # OUT
	local p=$(free_port)
	OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen 127.0.0.1:$p -q 2>"$TMP/serve.err" &
	local sp=$!
	wait_for 10 curl -sf "http://127.0.0.1:$p/health/ready"
	sleep 0.5
	curl -sf "http://127.0.0.1:$p/metrics" >"$1"
	kill $sp; wait $sp 2>/dev/null
}
wcount() { metric "$1" "obsprobe_syscall_duration_seconds_count{service=\"$2\",syscall=\"write\"}"; }
# a collector started after a process exited cannot tell who wrote its segment: it is read as the file owner's uid
GONE="uid:$(id -u)"

# 1. errno and return values are the real call's; EINTR stays EINTR
"$TARGETS/shim_errno" >"$TMP/e.plain"
shim "$TARGETS/shim_errno" >"$TMP/e.shim"
diff "$TMP/e.plain" "$TMP/e.shim" >/dev/null && ok "every wrapper: same return values and errno as without the shim ($(wc -l <"$TMP/e.shim") calls)" || bad "errno differs: $(diff "$TMP/e.plain" "$TMP/e.shim" | head -4)"
grep -q 'read EINTR *ret=-1 errno=4$' "$TMP/e.shim" && ok "a signal interrupting a blocking read gives EINTR" || bad "EINTR: $(grep EINTR "$TMP/e.shim")"
serve_scrape "$TMP/m.errno"
for sc in read write readv writev pread64 pwrite64 sendto recvfrom sendmsg recvmsg accept accept4 close; do
	v=$(metric "$TMP/m.errno" "obsprobe_syscall_errors_total{service=\"$GONE\",syscall=\"$sc\",errno=\"EBADF\"}")
	[ -n "$v" ] && [ "$v" -ge 1 ] || { bad "EBADF of $sc not counted"; continue; }
done
check "errors by errno: connect ECONNREFUSED" 1 "$(metric "$TMP/m.errno" "obsprobe_syscall_errors_total{service=\"$GONE\",syscall=\"connect\",errno=\"ECONNREFUSED\"}")"
check "errors by errno: pwrite64 ESPIPE" 1 "$(metric "$TMP/m.errno" "obsprobe_syscall_errors_total{service=\"$GONE\",syscall=\"pwrite64\",errno=\"ESPIPE\"}")"
ls "$RT"/obsprobe-* >/dev/null 2>&1 && bad "segments of exited processes were not retired" || ok "segments of exited processes retired"

# 2. 8 threads hammering write, and a forked child with its own segment: exact counts, no collector running
shim "$TARGETS/shim_writer" 8 20000 777 >"$TMP/w.out" 2>"$TMP/w.err"
check "no collector running: the program runs normally" 0 $?
[ ! -s "$TMP/w.out" ] && [ ! -s "$TMP/w.err" ] && ok "the shim wrote nothing to stdout/stderr" || bad "output: $(cat "$TMP/w.out" "$TMP/w.err")"
check "fork: parent and child each have a segment" 2 "$(ls "$RT" | grep -c '^obsprobe-.*\.seg$')"
serve_scrape "$TMP/m.w"
check "8 threads x 20000 writes + 777 in the forked child, exact" $((8 * 20000 + 777)) "$(wcount "$TMP/m.w" "$GONE")"

# 3. exec: the shim stays preloaded and starts a fresh segment in the new image (same pid); env itself records
# nothing before its exec, so it makes no segment (segments are made on the first recorded call)
shim env "$TARGETS/shim_writer" 1 77
check "exec: one segment, the new image's (env recorded nothing)" 1 "$(ls "$RT" | grep -c '^obsprobe-.*\.seg$')"
serve_scrape "$TMP/m.exec"
check "exec: the new image's writes counted once" 77 "$(wcount "$TMP/m.exec" "$GONE")"

# 4. OBSPROBE_DISABLE=1 is a pass-through; an unusable runtime dir gives one obsshim: line
OBSPROBE_DISABLE=1 shim "$TARGETS/shim_writer" 1 10
check "OBSPROBE_DISABLE=1: no segment" 0 "$(ls "$RT" | grep -c seg)"
OBSPROBE_RUNTIME_DIR=/nonexistent LD_PRELOAD=$SHIM "$TARGETS/shim_writer" 1 10 2>"$TMP/nodir.err"
check "unusable runtime dir: the program still succeeds" 0 $?
[ "$(grep -c . "$TMP/nodir.err")" = 1 ] && grep -q '^obsshim: ' "$TMP/nodir.err" && ok "one obsshim: line when it cannot start" || bad "nodir stderr: $(cat "$TMP/nodir.err")"

# 5. the collector SIGKILLed mid-run: the program is unaffected
P=$(free_port)
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen 127.0.0.1:$P -q 2>/dev/null &
SP=$!
wait_for 10 curl -sf "http://127.0.0.1:$P/health/ready"
shim "$TARGETS/shim_writer" 2 5000000 &
WP=$!
sleep 0.3
kill -9 $SP
wait $WP
check "collector killed mid-run: the program exits 0" 0 $?
serve_scrape "$TMP/m.kill"
check "collector killed mid-run: nothing lost, a new collector reads it all" 10000000 "$(wcount "$TMP/m.kill" "$GONE")"

# 6. garbage in the runtime dir: a warning, not a crash
head -c 4096 /dev/urandom >"$RT/obsprobe-1-1-1.seg"
printf 'short' >"$RT/obsprobe-2-2-2.seg"
serve_scrape "$TMP/m.garbage"
[ -s "$TMP/m.garbage" ] && ok "garbage segments: the collector keeps serving" || bad "no scrape with garbage present"
grep -q 'ignoring .*obsprobe-1-1-1.seg' "$TMP/serve.err" && ok "garbage segment: one warning ($(grep -m1 1-1-1 "$TMP/serve.err"))" || bad "no warning: $(cat "$TMP/serve.err")"
rm -f "$RT"/obsprobe-*

# 7. run --preload on a static binary: a clear error
"$OBSPROBE" run --preload -- "$TARGETS/static_hello" 2>"$TMP/static.err"
check "static binary: exit 1" 1 $?
grep -q "statically linked" "$TMP/static.err" && ok "static binary: says why" || bad "static: $(cat "$TMP/static.err")"

# 8. the no-root promise, tested as nobody
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	NB=$TMP/nobody
	mkdir -p "$NB" && chown nobody "$NB"
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env OBSPROBE_RUNTIME_DIR=$NB "$@"; }
	asnobody "$OBSPROBE" run --preload --listen 127.0.0.1:$(free_port) -- "$TARGETS/shim_writer" 4 2500 2>"$TMP/nb.err"
	check "nobody: run --preload exits with CMD's status" 0 $?
	grep -q 'write .*count 10000 ' "$TMP/nb.err" && ok "nobody: exact write count in the summary" || bad "nobody summary: $(grep write "$TMP/nb.err")"
	# attach without root to a process that runs with the shim
	mkfifo "$TMP/nb.fifo" && chmod 666 "$TMP/nb.fifo"
	# not through the function: $! must be the worker's own pid
	setpriv --reuid=nobody --regid=nogroup --clear-groups env OBSPROBE_RUNTIME_DIR=$NB LD_PRELOAD=$SHIM \
		"$TARGETS/worker" 1 1 1 1 <"$TMP/nb.fifo" >/dev/null &
	NBP=$!
	PIDS+=($NBP)
	exec 5>"$TMP/nb.fifo"
	wait_for 5 sh -c "ls $NB | grep -q obsprobe-$NBP-"
	P=$(free_port)
	setpriv --reuid=nobody --regid=nogroup --clear-groups env OBSPROBE_RUNTIME_DIR=$NB \
		"$OBSPROBE" attach --pid $NBP --listen 127.0.0.1:$P --duration 30 -q 2>"$TMP/nba.err" &
	PIDS+=($!)
	wait_for 10 curl -sf "http://127.0.0.1:$P/health/ready" && \
		curl -sf "http://127.0.0.1:$P/api/v1/targets" | grep -q '"mode":"preload"' && ok "nobody: attach --pid to a shim process, mode preload" \
		|| bad "nobody attach: $(cat "$TMP/nba.err")"
	exec 5>&-
fi

# 9. both paths at once (root): eBPF and the shim count the same writes
if [ "$(id -u)" -eq 0 ]; then
	# the shim in the traced command only (in the collector too, its own writes would join the same uid's)
	"$OBSPROBE" run --listen 127.0.0.1:$(free_port) -- env OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM \
		"$TARGETS/shim_writer" 4 5000 2>"$TMP/both.err"
	e=$(grep -E '^  write ' "$TMP/both.err" | awk '{print $3}')
	serve_scrape "$TMP/m.both"
	check "eBPF and the shim agree on the write count" "$e" "$(wcount "$TMP/m.both" "$GONE")"
fi
finish
