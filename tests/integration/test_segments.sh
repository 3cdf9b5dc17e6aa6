#!/usr/bin/env bash
# test_segments.sh -- the shim's segments as a trust boundary and a resource: a segment forged by another user is
# never its claimed process's (nor fools attach --pid); services, segments per uid and remembered files are
# bounded; a fork/exec storm leaves no segment once a collector read them, stays within the per-uid bound without
# one, and leaks no fd or mapping; a process that records nothing makes no segment.
source "$(dirname "$0")/lib.sh"
SHIM=$ROOT/build/libobsshim.so
[ -f "$SHIM" ] || { bad "build/libobsshim.so missing"; finish; }
need_root # forging as another user, reading every uid's segments
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"
shim() { OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM "$@"; }
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
start_time() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }
nseg() { ls "$RT" | grep -c '^obsprobe-.*\.seg$'; }

# forge.py FILE PID START SERVICE NEWNAME: rewrite a segment's header to claim another process (offsets: segment.h)
cat >"$TMP/forge.py" <<'EOF'
import os, struct, sys
f, pid, start, svc, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode(), sys.argv[5]
with open(f, 'r+b') as fh:
    fh.seek(24); fh.write(struct.pack('<i', pid))
    fh.seek(32); fh.write(struct.pack('<Q', start))
    fh.seek(64); fh.write(svc[:63].ljust(64, b'\0'))
os.rename(f, new)
EOF
chmod 644 "$TMP/forge.py"

serve_bg() { # PORT ARGS... -> $SP
	OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen 127.0.0.1:$1 -q "${@:2}" 2>>"$TMP/serve.err" &
	SP=$!
	PIDS+=($SP)
	wait_for 10 curl -sf "http://127.0.0.1:$1/health/ready"
}
# wait_metric PORT 'name{labels}' VALUE [SECONDS]: until the collector reports it (default 30 s)
wait_metric() {
	local i
	for i in $(seq 1 $((${4:-30} * 10))); do
		[ "$(scrape "$1" | awk -v k="$2" '$1 == k { print $2 }')" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# steady_fds PID: its open descriptors, the fewest of 5 looks 0.1 s apart: a leak stays, while a scrape's connection
# or a directory being scanned comes and goes (one counted at the first look made a 7-vs-6 failure)
steady_fds() {
	local i n m=
	for i in 1 2 3 4 5; do
		n=$(ls /proc/$1/fd | wc -l)
		[ -z "$m" ] || [ "$n" -lt "$m" ] && m=$n
		sleep 0.1
	done
	echo "$m"
}
stop_serve() { kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null; }
W='obsprobe_syscall_duration_seconds_count{service="%s",syscall="write"}'

# ---- 17: a process that records nothing makes no segment; one that does makes one --------------------------
shim /bin/true
check "/bin/true under the shim: no segment (made on the first recorded call)" 0 "$(nseg)"
shim "$TARGETS/shim_writer" 1 1
check "one write: one segment" 1 "$(nseg)"
# ... holding in the page cache what the shim touched, not its first fault's read-around: on a disk file system
# that was read_ahead_kb of zeroes (8 MiB on this VM's disk: the whole segment, 10-50 ms of system time per
# process). tmpfs (the default /dev/shm) has no read-ahead: there this only says the file is small.
res=$(fincore --bytes --noheadings -o RES "$RT"/obsprobe-*.seg 2>/dev/null | tr -d " ")
[ -n "$res" ] && [ "$res" -le 65536 ] && ok "one write: $res bytes of the segment cached ($(findmnt -no FSTYPE -T "$RT"))" ||
	bad "one write: '$res' bytes of the segment in the page cache (read-ahead?)"
rm -f "$RT"/obsprobe-*

# ---- 9: segments forged by another user -----------------------------------------------------------------------
# the victim: root, with the shim, has recorded one read and one write, then waits on a fifo
mkfifo "$TMP/v.fifo"
OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=victim LD_PRELOAD=$SHIM cat "$TMP/v.fifo" >/dev/null &
VP=$!
PIDS+=($VP)
exec 6>"$TMP/v.fifo"
echo hello >&6
wait_for 5 sh -c "ls $RT | grep -q '^obsprobe-$VP-'"
# a process that does not run the shim at all (not holding the victim's fifo open: its EOF ends the victim below)
sleep 300 6>&- &
NP=$!
PIDS+=($NP)
# nobody makes two real segments of its own (5000 writes each) and rewrites them to claim the two processes
for target in $VP $NP; do
	mkdir -p "$TMP/nb.$target" && chown nobody "$TMP/nb.$target"
	asnobody env OBSPROBE_RUNTIME_DIR="$TMP/nb.$target" LD_PRELOAD=$SHIM "$TARGETS/shim_writer" 1 5000
	f=$(ls "$TMP/nb.$target"/obsprobe-*.seg)
	asnobody mv "$f" "$RT/nobody-staging.$target"
	asnobody /usr/bin/python3 "$TMP/forge.py" "$RT/nobody-staging.$target" $target "$(start_time $target)" victim \
		"$RT/obsprobe-$target-$(start_time $target)-1.seg"
done
check "nobody forged two segments claiming root's processes" 2 "$(find "$RT" -name 'obsprobe-*.seg' -user nobody | wc -l)"
P=$(free_port)
serve_bg $P
wait_metric $P 'obsprobe_segments_rejected_total{reason="unverified"}' 2 || bad "the forged segments were not read as unverified"
scrape $P >"$TMP/m.forged"
check "the victim's counts are its own (one write), not the forger's" 1 "$(metric "$TMP/m.forged" "$(printf "$W" victim)")"
check "the forged counts are the forger's uid's" 10000 "$(metric "$TMP/m.forged" "$(printf "$W" uid:65534)")"
curl -sf "http://127.0.0.1:$P/api/v1/targets" >"$TMP/targets.json"
check "targets: the victim once" 1 "$(grep -o "\"pid\":$VP," "$TMP/targets.json" | wc -l)"
check "targets: not the process that does not run the shim" 0 "$(grep -o "\"pid\":$NP," "$TMP/targets.json" | wc -l)"
stop_serve
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" attach --preload --pid $NP --listen 127.0.0.1:$(free_port) --duration 1 -q 2>"$TMP/attach.err"
check "attach --preload to a process without the shim (a forged segment claims it): exit 1" 1 $?
grep -q "does not run with the shim" "$TMP/attach.err" && ok "attach says why" || bad "attach: $(cat "$TMP/attach.err")"
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" attach --preload --pid $VP --listen 127.0.0.1:$(free_port) --duration 1 -q 2>"$TMP/attach.err"
check "attach --preload to the victim, which runs the shim: exit 0" 0 $?
exec 6>&-
wait $VP 2>/dev/null
kill $NP 2>/dev/null
rm -f "$RT"/obsprobe-* "$RT"/nobody-*

# ---- 10: bounds -----------------------------------------------------------------------------------------------
# 20,000 segments of processes that are gone, each claiming its own service, one write each
shim "$TARGETS/shim_writer" 1 1
python3 - "$RT" 20000 <<'EOF'
import os, struct, sys
rt, n = sys.argv[1], int(sys.argv[2])
[tmpl] = [os.path.join(rt, f) for f in os.listdir(rt) if f.endswith('.seg')]
data = open(tmpl, 'rb').read(4096)
size = os.path.getsize(tmpl)
hs = struct.unpack_from('<I', data, 12)[0]
os.unlink(tmpl)
hdr = bytearray(data[:hs + 2 * 280])
hdr[hs:] = bytes(len(hdr) - hs)
struct.pack_into('<QQQ', hdr, hs + 280, 1, 1000, 1)  # hist[0][SEG_WRITE]: count 1, 1 us, bucket 0
for i in range(n):
    pid = 4194304 + i  # above any possible pid_max: gone
    struct.pack_into('<iiQ', hdr, 24, pid, 1, 1)
    hdr[64:128] = ('svc-%d' % i).encode().ljust(64, b'\0')
    with open(os.path.join(rt, 'obsprobe-%d-1-%d.seg' % (pid, i)), 'wb') as f:
        f.write(hdr)
        f.truncate(size)
EOF
P=$(free_port)
serve_bg $P --max-series 100
wait_metric $P 'obsprobe_segments_rejected_total{reason="unverified"}' 20000 120 || bad "20,000 segments not all read"
scrape $P >"$TMP/m.20k"
stop_serve
check "20,000 claimed services, --max-series 100: one service label, the owner's uid" "uid:0" \
	"$(grep -o 'service="[^"]*"' "$TMP/m.20k" | sort -u | sed 's/service="//;s/"//' | paste -sd,)"
check "... and every write counted under it" 20000 "$(metric "$TMP/m.20k" "$(printf "$W" uid:0)")"
check "... and the files of gone processes retired" 0 "$(nseg)"

# live processes with 8 services, --max-services 3; and --max-segments-per-uid 5
mkfifo "$TMP/hold.fifo"
exec 7<>"$TMP/hold.fifo"
for i in 1 2 3 4 5 6 7 8; do
	OBSPROBE_SERVICE=s$i shim sh -c 'echo x; read y' <"$TMP/hold.fifo" >/dev/null 2>&1 7>&- &
	PIDS+=($!)
done
wait_for 10 sh -c "[ \$(ls $RT | grep -c seg) -eq 8 ]"
P=$(free_port)
serve_bg $P --max-services 3
wait_metric $P 'obsprobe_segments_rejected_total{reason="services_limit"}' 5 || bad "services past --max-services not counted"
scrape $P >"$TMP/m.svc"
stop_serve
check "--max-services 3: three of the eight services keep their name" 3 \
	"$(grep -o 'service="s[0-9]"' "$TMP/m.svc" | sort -u | wc -l)"
check "... the others fold into __overflow__ (their 5 writes)" 5 "$(metric "$TMP/m.svc" "$(printf "$W" __overflow__)")"
P=$(free_port)
serve_bg $P --max-segments-per-uid 5
wait_metric $P 'obsprobe_segments_rejected_total{reason="segments_per_uid"}' 3 || bad "segments past --max-segments-per-uid not counted"
check "--max-segments-per-uid 5: five of root's eight processes read" 5 \
	"$(curl -sf "http://127.0.0.1:$P/api/v1/targets" | grep -o '"mode":"preload"' | wc -l)"
stop_serve
exec 7>&-
sleep 0.3
rm -f "$RT"/obsprobe-*

# --max-rejected-segments 10 with 30 garbage files: a bounded list, the oldest forgotten and counted
for i in $(seq 1 30); do head -c 8192 /dev/urandom >"$RT/obsprobe-$i-$i-$i.seg"; done
P=$(free_port)
serve_bg $P --max-rejected-segments 10
sleep 1
rm -f "$RT"/obsprobe-* # from now on nothing changes: the counts settle
sleep 0.5
scrape $P >"$TMP/m.rej"
stop_serve
inv=$(metric "$TMP/m.rej" 'obsprobe_segments_rejected_total{reason="invalid"}')
full=$(metric "$TMP/m.rej" 'obsprobe_segments_rejected_total{reason="rejected_list_full"}')
[ -n "$full" ] && [ "$full" -ge 20 ] && ok "--max-rejected-segments 10: forgetting counted ($full)" || bad "list full: '$full'"
check "... and it holds exactly 10: invalid - forgotten" 10 "$((inv - full))"
rm -f "$RT"/obsprobe-*

# ---- 15: a fork/exec storm: 1,000 processes, each with a forked child, one write each ---------------------------
# without a collector: at most OBSPROBE_SEGMENT_MAX_MB of dead segments per uid are kept
for i in $(seq 1 1000); do OBSPROBE_SEGMENT_MAX_MB=1 shim "$TARGETS/shim_writer" 1 1 1 || break; done
check "storm: every process ran" 1000 "$i"
left=$(nseg)
# allocated bytes of what is left, but the largest one (the last process's sweep ran before it exited)
excess=$(stat -c '%b %B' "$RT"/obsprobe-*.seg | awk '{ b = $1 * $2; t += b; if (b > m) m = b } END { print t - m - 1048576 }')
[ "$left" -lt 2000 ] && [ "$excess" -le 0 ] && ok "storm, no collector: $left of 2000 segments left, within 1 MiB" \
	|| bad "storm, no collector: $left segments left, $excess bytes over the 1 MiB bound"
# a collector comes: it reads what is left, retires it, and counts what the shims removed unread
P=$(free_port)
serve_bg $P
wait_for 20 sh -c "[ \$(ls $RT | grep -c seg) -eq 0 ]"
scrape $P >"$TMP/m.storm"
stop_serve
check "storm, then a collector: nothing left" 0 "$(nseg)"
check "storm: the segments the shims removed unread are counted" "$((2000 - left))" \
	"$(metric "$TMP/m.storm" 'obsprobe_segments_rejected_total{reason="expired"}')"
check "storm: the writes of what was left are read" "$left" "$(metric "$TMP/m.storm" "$(printf "$W" uid:0)")"
# with a collector running: nothing left once it has read them, every write read, its fds and maps flat
P=$(free_port)
serve_bg $P
fds0=$(steady_fds $SP)
for i in $(seq 1 1000); do shim "$TARGETS/shim_writer" 1 1 1 || break; done
wait_for 20 sh -c "[ \$(ls $RT | grep -c seg) -eq 0 ]"
scrape $P >"$TMP/m.storm2"
check "storm with a collector: nothing left once read" 0 "$(nseg)"
check "storm with a collector: every write read" 2000 \
	"$(awk '/^obsprobe_syscall_duration_seconds_count\{.*syscall="write"/ { t += $2 } END { print t }' "$TMP/m.storm2")"
check "storm with a collector: its fds before and after" "$fds0" "$(steady_fds $SP)"
check "storm with a collector: no segment left mapped in it" 0 "$(grep -c obsprobe- /proc/$SP/maps)"
stop_serve
finish
