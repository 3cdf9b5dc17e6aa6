#!/usr/bin/env bash
# test_shim_safety.sh -- the shim never harms its host (issue 10, defects 1-7): a long tagged log line, the h2c
# preface and requests after a parse error left byte-exact, bad pointers and MSG_TRUNC as without the shim, a cut
# IPv6 peer address, fds closed without close(), a request the socket takes only part of.  Peers read with raw
# system calls, so what they report is what went on the wire.  SHIM=path tests another build (the unfixed one).
source "$(dirname "$0")/lib.sh"
SHIM=${SHIM:-$ROOT/build/libobsshim.so}
T=$TARGETS/shim_safety
[ -f "$SHIM" ] && [ -x "$T" ] || { bad "build/libobsshim.so or build/targets/shim_safety missing"; finish; }
RT=$TMP/rt
mkdir -p "$RT"
shim() { OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM "$@"; }
status() { # name expected-exit actual-exit
	if [ "$3" -gt 128 ]; then bad "$1: killed by signal $(($3 - 128))"; else check "$1: exit status" "$2" "$3"; fi
}

# 1. OBSPROBE_LOG_TAG=1: a line is tagged only when the tagged line fits one atomic pipe write (4096 bytes);
#    4094-4096-byte lines (which overran a 4160-byte stack buffer) go out as written
shim env OBSPROBE_LOG_TAG=1 "$T" logtag >"$TMP/lt.out" 2>"$TMP/lt.err"
status "log tag" 0 $?
check "log tag: write() returns the program's counts" \
	"logtag n=100 ret=100 logtag n=4029 ret=4029 logtag n=4030 ret=4030 logtag n=4094 ret=4094 logtag n=4095 ret=4095 logtag n=4096 ret=4096" \
	"$(tr '\n' ' ' <"$TMP/lt.err" | sed 's/ $//')"
check "log tag: line lengths (100 and 4029 tagged, +67; the rest as written)" "166 4095 4029 4093 4094 4095" \
	"$(awk '{ print length($0) }' "$TMP/lt.out" | tr '\n' ' ' | sed 's/ $//')"
check "log tag: the tag carries the served request's trace" 2 \
	"$(grep -cE ' trace_id=0af7651916cd43dd8448eb211c80319c span_id=[0-9a-f]{16}$' "$TMP/lt.out")"
check "log tag: untagged lines byte-exact" "$(printf '%4029s\n%4093s\n%4094s\n%4095s\n' | tr ' ' x | md5sum)" \
	"$(sed -n '3,6p' "$TMP/lt.out" | tr 'a-z' x | md5sum)"

# 2. injection only into HTTP/1.0 and HTTP/1.1 request heads on a connection that has parsed as HTTP/1 so far
shim "$T" h2c >"$TMP/h2.out" 2>"$TMP/h2.err"
status "h2c" 0 $?
check "h2c preface reaches the peer byte-exact" "h2c-preface sent=24 got=24 same=1 traceparent=0" \
	"$(grep '^h2c-preface' "$TMP/h2.out")"
check "a request after garbage on the connection: untouched" "after-garbage sent=41 got=41 same=1 traceparent=0" \
	"$(grep '^after-garbage' "$TMP/h2.out")"
check "a request after the h2c preface: untouched" "after-h2c sent=58 got=58 same=1 traceparent=0" \
	"$(grep '^after-h2c' "$TMP/h2.out")"
check "a request with bare LF line ends: untouched" "bare-lf sent=29 got=29 same=1 traceparent=0" \
	"$(grep '^bare-lf' "$TMP/h2.out")"
check "HTTP/1.0 request: traceparent added (70 bytes)" "http10 sent=19 got=89 same=0 traceparent=1" \
	"$(grep '^http10' "$TMP/h2.out")"
check "HTTP/1.1 request: traceparent added (70 bytes)" "http11 sent=34 got=104 same=0 traceparent=1" \
	"$(grep '^http11' "$TMP/h2.out")"

# 3. bad and NULL pointers, MSG_TRUNC: the same return values and errno as without the shim, no signal
"$T" ptrs >"$TMP/p.all" 2>/dev/null
status "pointers without the shim" 0 $?
: >"$TMP/p.plain"
: >"$TMP/p.shim"
while read -r c; do # each case in its own process: one crash hides no other
	"$T" ptrs "$c" >>"$TMP/p.plain" 2>/dev/null
	echo "$c: exit $?" >>"$TMP/p.plain"
	shim env OBSPROBE_LOG_TAG=1 "$T" ptrs "$c" >>"$TMP/p.shim" 2>/dev/null
	echo "$c: exit $?" >>"$TMP/p.shim"
done < <(sed -n 's/ *ret=.*//p' "$TMP/p.all")
check "pointers: $(grep -c ret= "$TMP/p.all") calls, each as without the shim (return value, errno, exit status)" "" \
	"$(diff "$TMP/p.plain" "$TMP/p.shim" | grep '^>' | head -8)"
check "recv(fd, NULL, n, MSG_TRUNC) on TCP discards" "recv NULL MSG_TRUNC          ret=4 errno=4242" \
	"$(grep '^recv NULL MSG_TRUNC  *ret=' "$TMP/p.shim")"
check "recv MSG_TRUNC leaves the buffer unwritten" "buffer after MSG_TRUNC: untouched" \
	"$(grep '^buffer after' "$TMP/p.shim")"
check "recvmsg(fd, NULL, 0) is EFAULT" "recvmsg NULL                 ret=-1 errno=14" "$(grep '^recvmsg NULL  *ret=' "$TMP/p.shim")"
check "writev with a bad iovec array while serving is EFAULT" "writev bad iov               ret=-1 errno=14" \
	"$(grep '^writev bad iov  *ret=' "$TMP/p.shim")"
check "bad-pointer calls that fail with EFAULT (writes to /dev/null read nothing)" 12 "$(grep -c 'ret=-1 errno=14$' "$TMP/p.shim")"

#    bytes discarded by MSG_TRUNC are not parsed (the buffer holds an old request; a collector counts requests)
shim env OBSPROBE_SERVICE=phantom "$T" phantom >"$TMP/ph.out" 2>&1
status "phantom" 0 $?
check "phantom: the calls' results" "phantom discarded=35 read=22" "$(cat "$TMP/ph.out")"
chmod 1777 "$RT"
# serve_scrape OUT: a collector started now reads the segments in $RT, one scrape into OUT, stopped
serve_scrape() {
	local lp obs
	lp=$(free_port)
	OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen "127.0.0.1:$lp" -q 2>"$1.err" &
	obs=$!
	PIDS+=($obs)
	wait_for 10 curl -sf "http://127.0.0.1:$lp/health/ready"
	sleep 0.5
	scrape "$lp" >"$1"
	kill $obs
	wait $obs 2>/dev/null
}
serve_scrape "$TMP/ph.m"
# the phantom process exited before the collector came: its segment is read as its file owner's (uid:N)
PSVC="uid:$(id -u)"
ph() { metric "$TMP/ph.m" "http_server_request_duration_seconds_count{service=\"$PSVC\",http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"$1\"}"; }
check "phantom: the request read is counted" 1 "$(ph /real)"
check "phantom: nothing parsed from the discarded bytes (routes seen)" "/real" \
	"$(grep -o "service=\"$PSVC\"[^}]*http_route=\"[^\"]*\"" "$TMP/ph.m" | sed 's/.*http_route="//;s/"$//' | sort -u | tr '\n' ' ' | sed 's/ $//')"

# 4. accept: an IPv6 peer cut into a sockaddr_in that ends at an unmapped page: no read past the caller's buffer
shim "$T" accept6 >"$TMP/a6.out" 2>&1
status "accept6" 0 $?
check "accept6: the caller gets the kernel's answer" "accept6 ok=1 addrlen=28 family=1" "$(cat "$TMP/a6.out")"

# 5. fds closed without close(): what reuses the number is not the old connection (no injection, no parse)
shim "$T" dup >"$TMP/dup.out" 2>&1
status "dup" 0 $?
for how in dup2 dup3 close_range fclose closefrom; do
	check "$how: the new socket's peer gets the bytes as written" "$how got=34 same=1" "$(grep "^$how " "$TMP/dup.out")"
done

# 6 and 7. a request written when the socket takes only part of it (TCP_NOTSENT_LOWAT=1, the peer not reading,
#    room growing by 8 bytes per trial across the request line and header): never a cut traceparent on the wire,
#    never a wait (the program's nonblocking send returns what the kernel took)
shim "$T" split >"$TMP/split.out" 2>&1
status "split" 0 $?
check "split: 24 trials, each request whole and unchanged on the wire" "split plain=24 injected=0 bad=0" \
	"$(tail -1 "$TMP/split.out")"
# ... and each one counted as not injected for lack of room (read by a collector that comes afterwards)
serve_scrape "$TMP/split.m"
check "split: each write of a whole request sent unchanged is counted (no_room)" \
	"$(sed -n 's/^split whole-request writes=//p' "$TMP/split.out")" \
	"$(metric "$TMP/split.m" "obsprobe_context_injections_total{service=\"$PSVC\",outcome=\"no_room\"}")"
check "split: none counted injected or cut" "" \
	"$(grep -E 'obsprobe_context_injections_total\{[^}]*outcome="(injected|cut)"' "$TMP/split.m")"
finish
