#!/usr/bin/env bash
# test_stdio_shim.sh -- the shim's stdio capture: lines printed through printf/fprintf/puts/fputs/fwrite/putchar/
# putc/fputc/vfprintf/dprintf/perror (plain and _FORTIFY_SOURCE's __*_chk) become exactly the log records
# write(1/2) makes -- text, stream, count, the serving span -- while the program's own stdout/stderr bytes stay
# identical with and without the shim (stdout a pipe, a file, line-buffered); redis-server's startup log too.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
T=$TARGETS/stdio_lines
[ -f "$SHIM" ] && [ -x "$T" ] || { bad "build/libobsshim.so or $T missing (make)"; finish; }
# the target really calls each function (fortified calls and plain ones through pointers)
for f in printf vprintf fprintf vfprintf dprintf __printf_chk __fprintf_chk __vfprintf_chk puts fputs fwrite putchar \
	putc fputc perror warn warnx errx; do
	nm -D "$T" | grep -q " U $f@" || bad "$T does not call $f (its build changed?)"
done
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"
shim() { OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM "$@"; }

# 1. what the program writes is byte-identical with and without the shim: stdout a pipe and a file (both fully
# buffered), and line-buffered (stdbuf); stderr unbuffered
for mode in pipe file line; do
	for with in plain shim; do
		run=()
		[ $with = shim ] && run=(env OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM)
		[ $mode = line ] && run+=(stdbuf -oL)
		case $mode in
		pipe) timeout 20 "${run[@]}" "$T" errx 2>"$TMP/$mode.$with.err" | cat >"$TMP/$mode.$with.out"
			echo "${PIPESTATUS[0]}" >"$TMP/$mode.$with.rc" ;;
		*) timeout 20 "${run[@]}" "$T" errx >"$TMP/$mode.$with.out" 2>"$TMP/$mode.$with.err"
			echo $? >"$TMP/$mode.$with.rc" ;;
		esac
	done
	check "stdout as $mode: exit status (errx 3) with the shim" "3 3" "$(cat "$TMP/$mode.plain.rc") $(cat "$TMP/$mode.shim.rc")"
	cmp -s "$TMP/$mode.plain.out" "$TMP/$mode.shim.out" && cmp -s "$TMP/$mode.plain.err" "$TMP/$mode.shim.err" &&
		ok "stdout as $mode: stdout ($(wc -c <"$TMP/$mode.shim.out") bytes) and stderr ($(wc -c <"$TMP/$mode.shim.err") bytes) byte-identical with the shim" ||
		bad "stdout as $mode: output differs with the shim: $(diff <(cat "$TMP/$mode.plain.out" "$TMP/$mode.plain.err") <(cat "$TMP/$mode.shim.out" "$TMP/$mode.shim.err") | head -5)"
done
grep -q 'with percent n|' "$TMP/file.shim.out" && grep -q '^tail without newline$' <(tail -c 20 "$TMP/file.shim.out"; echo) &&
	ok "the program printed its %n line and its last line without newline" || bad "target output: $(tail -c 100 "$TMP/file.shim.out")"
ls "$RT" | grep -q '\.seg$' && ok "the shim recorded (segments made)" || bad "no segment made"
rm -f "$RT"/obsprobe-*

# 2. the log records a collector gets from one run: stdout a file, one HTTP request served with a known
# traceparent while the program prints
LP=$(free_port) HP=$(free_port)
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$LP" --log-file "$TMP/logs.jsonl" \
	--spans-file "$TMP/spans.jsonl" -q 2>"$TMP/serve.err" &
SP=$!
PIDS+=($SP)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe serve did not start"; finish; }
mkfifo "$TMP/in"
OBSPROBE_SERVICE=stdio shim "$T" "$HP" <"$TMP/in" >"$TMP/run.out" 2>"$TMP/run.err" &
TP=$!
PIDS+=($TP)
exec 5>"$TMP/in"
wait_for 10 grep -q '^listening$' "$TMP/run.out" || bad "target did not listen"
curl -s -o /dev/null -m 5 -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' \
	"http://127.0.0.1:$HP/stdio"
# the records of a process are read as its own while it runs: it exits once all are in the log file
wait_for 10 grep -q '"body":"tail without newline"' "$TMP/logs.jsonl" || bad "the last line (no newline) never came"
exec 5>&-
wait $TP
check "target exit status" 0 $?
# errx: its line is logged before the real call exits (read after the exit: as the uid's)
shim "$T" errx >/dev/null 2>"$TMP/errx.err"
check "errx: exit status" 3 $?
wait_for 10 grep -q '"body":"stdio_lines: errx exit"' "$TMP/logs.jsonl"
check "errx's line: one record, as printed" "$(cat "$TMP/errx.err" | tail -1) 1" \
	"$(jq -r 'select(.body | startswith("stdio_lines: errx")) | .body' "$TMP/logs.jsonl") $(grep -c '"stdio_lines: errx' "$TMP/logs.jsonl")"
kill $SP
wait $SP 2>/dev/null
recs() { jq -r "select(.service==\"stdio\") | $1" "$TMP/logs.jsonl"; }
MAIN=$(recs 'select(.body=="printf plain 1 two") | .tid')
[ -n "$MAIN" ] && [ "$MAIN" != 0 ] && ok "records carry the writing thread ($MAIN)" || bad "main thread's tid: '$MAIN'"
check "stdout records of the main thread, in order" "printf plain 1 two
printf fortified 2
puts line
fputs line
fwrite line
putchar line
vfprintf fortified seven
vprintf plain ff
split across 4 calls
dprintf line 14
fdopen stream line
LONG
after long
errno kept
listening
serving a request
tail without newline" "$(recs "select(.stream==\"stdout\" and .tid==$MAIN) | .body" | sed 's/^long x*.*/LONG/')"
check "stderr records, in order" "vfprintf plain stderr z
fprintf stderr line
fputs stderr
putc line
fputc line
perror line: No such file or directory
stdio_lines: warn line: Permission denied
stdio_lines: warnx 3
results -1/9 -1/9 0/9 -1/9 11/77
served 200" "$(recs 'select(.stream=="stderr") | .body')"
long=$(recs 'select(.body | startswith("long ")) | .body')
[[ "$long" =~ ^long\ x+\ \[truncated\]$ ]] && ok "a printf past the shim's 4096 bytes: its line logged truncated (${#long} bytes), the next line whole" ||
	bad "long line: '${long:0:40}...${long: -40}'"
for t in 0 1 2 3; do
	check "thread $t: 200 lines, each from three calls (printf, printf, putchar), in order" \
		"$(seq 0 199 | sed "s/^/thread $t line /" | md5sum)" "$(recs "select(.body | startswith(\"thread $t \")) | .body" | md5sum)"
	check "thread $t: its lines are one thread's" 1 "$(recs "select(.body | startswith(\"thread $t \")) | .tid" | sort -u | grep -vc "^$MAIN$")"
done
check "no record for a %n printf, a stream on /dev/null" 0 "$(recs '.body' | grep -c -e 'percent n' -e 'not a log')"
check "every record, exactly once" $((17 + 10 + 4 * 200)) "$(recs '.body' | wc -l)"
# the lines printed while serving carry the server span; the others none
python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/spans.jsonl" >"$TMP/spans.txt"
srv=$(grep SPAN_KIND_SERVER "$TMP/spans.txt" | grep '^0af7651916cd43dd8448eb211c80319c ' | head -1 | cut -d' ' -f2)
[ -n "$srv" ] && ok "the request's server span ($srv)" || bad "no server span: $(head -3 "$TMP/spans.txt")"
check "lines printed while serving: trace and span of the request" "0af7651916cd43dd8448eb211c80319c $srv serving a request
0af7651916cd43dd8448eb211c80319c $srv served 200" "$(recs 'select(.trace_id != "") | "\(.trace_id) \(.span_id) \(.body)"')"

# 3. redis-server logging to stdout (logfile ""): its lines arrive as log records, exactly the lines it printed
if command -v redis-server >/dev/null; then
	RP=$(free_port)
	OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$LP" --log-file "$TMP/redis.jsonl" -q \
		2>"$TMP/serve2.err" &
	SP=$!
	PIDS+=($SP)
	wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || bad "obsprobe serve did not start again"
	# env, not the shim() function: a function in the background runs in a subshell, whose pid $! would be,
	# and redis-server would outlive the kill below
	env OBSPROBE_RUNTIME_DIR="$RT" LD_PRELOAD="$SHIM" OBSPROBE_SERVICE=redis redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no \
		--logfile '' --daemonize no --dir "$TMP" >"$TMP/redis.out" 2>&1 &
	RPID=$!
	PIDS+=($RPID)
	wait_for 10 grep -q 'Ready to accept connections' "$TMP/redis.out" || bad "redis-server did not start"
	wait_for 10 grep -q 'Ready to accept connections' "$TMP/redis.jsonl" ||
		bad "redis's 'Ready to accept connections' never came as a log record"
	got=$(jq -r 'select(.service=="redis") | .body' "$TMP/redis.jsonl")
	check "redis-server: the log records are the lines it printed ($(grep -c . "$TMP/redis.out"))" \
		"$(grep . "$TMP/redis.out")" "$got"
	grep -q 'Ready to accept connections' <<<"$got" && ok "redis: '$(grep -o 'Ready to accept connections.*' <<<"$got")'" ||
		bad "redis: no ready line"
	kill $RPID
	wait $RPID 2>/dev/null
	kill $SP
	wait $SP 2>/dev/null
else
	echo "SKIP: redis-server not installed (the redis part)"
fi
finish
