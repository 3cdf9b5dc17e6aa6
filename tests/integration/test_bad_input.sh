#!/usr/bin/env bash
# test_bad_input.sh -- every misuse gets one line "obsprobe: ..." and exit code 2 (usage) or 1 (runtime).
source "$(dirname "$0")/lib.sh"
need_root

# expect NAME CODE PATTERN -- cmd...: exit code, one stderr line, matching PATTERN
expect() {
	local name=$1 code=$2 pat=$3 rc lines
	shift 4
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	lines=$(grep -c . "$TMP/err")
	if [ $rc -ne "$code" ]; then bad "$name: exit $rc, want $code: $(head -2 "$TMP/err")"; return; fi
	if [ "$lines" -ne 1 ]; then bad "$name: $lines lines on stderr: $(head -3 "$TMP/err")"; return; fi
	if ! grep -qE "^obsprobe: .*$pat" "$TMP/err"; then bad "$name: '$(cat "$TMP/err")' lacks /$pat/"; return; fi
	ok "$name: $(cat "$TMP/err")"
}

sleep 300 &
SPID=$!
PIDS+=($SPID)
strip -o "$TMP/stripped" "$TARGETS/worker"
mkfifo "$TMP/fifo"
"$TMP/stripped" 1 1 1 1 <"$TMP/fifo" >/dev/null &   # waits for its go byte
STPID=$!
exec 4>"$TMP/fifo"
PIDS+=($STPID)
sleep 0.3
DEAD=$(( $(cat /proc/sys/kernel/pid_max) - 1 ))
kill -0 $DEAD 2>/dev/null && DEAD=999999

expect "pid that does not exist" 1 "no process with pid $DEAD" -- "$OBSPROBE" attach --pid $DEAD
expect "kernel thread" 1 "kernel thread" -- "$OBSPROBE" attach --pid 2
expect "pid not a number" 2 "'abc'" -- "$OBSPROBE" attach --pid abc
expect "attach without --pid" 2 "pid" -- "$OBSPROBE" attach
expect "glob matches nothing" 1 "no function matches 'nope_\*'.*obsprobe symbols" -- "$OBSPROBE" attach --pid $SPID --func 'nope_*' --duration 1
expect "stripped binary" 1 "stripped" -- "$OBSPROBE" attach --pid $STPID --func 'work_*' --duration 1
expect "unknown option" 2 "unknown option" -- "$OBSPROBE" attach --pid $SPID --frobnicate
expect "unknown command" 2 "" -- "$OBSPROBE" frobnicate
expect "bad --buckets" 2 "buckets" -- "$OBSPROBE" attach --pid $SPID --buckets 0.1,0.01
expect "bad --listen" 2 "listen" -- "$OBSPROBE" attach --pid $SPID --listen nonsense
expect "bad --listen port" 2 "listen" -- "$OBSPROBE" attach --pid $SPID --listen 127.0.0.1:70000
PORT=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$PORT)); s.listen(); time.sleep(30)" &
PIDS+=($!)
wait_for 10 bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." # bound (python starts slowly on a busy machine)
expect "listen port in use" 1 "in use" -- "$OBSPROBE" attach --pid $SPID --listen 127.0.0.1:$PORT --duration 1
expect "unreadable --config" 1 "config" -- "$OBSPROBE" attach --pid $SPID --config "$TMP/missing.json"
echo '{"func": ["a",' >"$TMP/bad.json"
expect "invalid --config" 2 "config" -- "$OBSPROBE" attach --pid $SPID --config "$TMP/bad.json"
echo '{"frobnicate": 1}' >"$TMP/unknown.json"
expect "unknown --config key" 2 "frobnicate" -- "$OBSPROBE" attach --pid $SPID --config "$TMP/unknown.json"
expect "kfunc on this kernel" 1 "kfunc" -- "$OBSPROBE" attach --pid $SPID --kfunc vfs_read --duration 1
expect "otlp endpoint not a URL" 2 "otlp-endpoint" -- "$OBSPROBE" attach --pid $SPID --otlp-endpoint foo
expect "run without a command" 2 "" -- "$OBSPROBE" run
expect "run a missing command" 1 "not an executable" -- "$OBSPROBE" run -- /nonexistent/cmd
expect "not root" 1 "root" -- setpriv --reuid=nobody --regid=nogroup --clear-groups "$OBSPROBE" attach --pid $SPID

# tracefs unmounted: obsprobe mounts it, as bpftrace does
if mountpoint -q /sys/kernel/tracing && umount /sys/kernel/tracing 2>/dev/null; then
	P2=$(free_port)
	"$OBSPROBE" attach --pid $SPID --listen 127.0.0.1:$P2 --duration 1 -q 2>"$TMP/tf.err"
	mountpoint -q /sys/kernel/tracing && ok "tracefs was mounted by obsprobe" || bad "tracefs not mounted: $(cat "$TMP/tf.err")"
fi

# --help works and shows examples
"$OBSPROBE" --help >"$TMP/help" 2>&1 && grep -q "attach --pid" "$TMP/help" && ok "--help with examples" || bad "--help"
"$OBSPROBE" version | grep -q "^obsprobe [0-9]" && ok "version" || bad "version"
finish
