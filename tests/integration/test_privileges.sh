#!/usr/bin/env bash
# test_privileges.sh -- after attaching, the collector keeps exactly the capabilities its features need (in every
# thread, bounding set too, no new privileges) and still captures; run --user; check's capability lines;
# output files never through a symlink.
source "$(dirname "$0")/lib.sh"
need_root
SHIM=$ROOT/build/libobsshim.so

# capability bits (linux/capability.h)
DAC_OVERRIDE=1 DAC_READ_SEARCH=2 FOWNER=3 KILL=5 SYS_PTRACE=19 SYS_ADMIN=21 PERFMON=38 BPF=39
mask() { local m=0 c; for c in "$@"; do m=$((m | (1 << c))); done; printf '%016x' $m; }
# before Linux 6.5, with kernel.unprivileged_bpf_disabled set, every bpf() call on our own maps needs CAP_BPF
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
EBPF_BASE=()
[ "$kv" -lt 6005 ] && [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" != 0 ] && EBPF_BASE=($BPF)

# status_of PID KEY: one line of /proc/PID/status
status_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# assert_kept NAME PID MASK: CapEff, CapPrm and CapBnd are MASK in every thread; CapInh, CapAmb empty; NoNewPrivs
assert_kept() {
	local name=$1 pid=$2 want=$3 t bad_threads=0 n=0
	check "$name: CapEff" "$want" "$(status_of $pid CapEff)"
	check "$name: CapPrm" "$want" "$(status_of $pid CapPrm)"
	check "$name: CapBnd" "$want" "$(status_of $pid CapBnd)"
	check "$name: CapInh" 0000000000000000 "$(status_of $pid CapInh)"
	check "$name: CapAmb" 0000000000000000 "$(status_of $pid CapAmb)"
	check "$name: NoNewPrivs" 1 "$(status_of $pid NoNewPrivs)"
	for t in /proc/$pid/task/*; do
		n=$((n + 1))
		[ "$(awk '$1 == "CapEff:" { print $2 }' $t/status)" = "$want" ] &&
			[ "$(awk '$1 == "CapBnd:" { print $2 }' $t/status)" = "$want" ] &&
			[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' $t/status)" = 1 ] || bad_threads=$((bad_threads + 1))
	done
	[ $n -ge 2 ] && [ $bad_threads -eq 0 ] && ok "$name: all $n threads dropped (server threads too)" ||
		bad "$name: $bad_threads of $n threads kept other capabilities"
}

# start_obs NAME ARGS...: obsprobe in the background (stdin: $OBS_STDIN), waits for its start line; sets OPID
start_obs() {
	local name=$1
	shift
	"$OBSPROBE" "$@" <"${OBS_STDIN:-/dev/null}" >"$TMP/$name.out" 2>"$TMP/$name.err" 3>&- &
	OPID=$!
	PIDS+=($OPID)
	wait_for 20 grep -q "metrics at" "$TMP/$name.err" || { bad "$name: obsprobe did not start: $(cat "$TMP/$name.err")"; finish; }
}
stop_obs() { kill -INT $OPID; wait $OPID 2>/dev/null; }

# 1. attach without TLS probes: nothing kept; syscalls still counted after the drop
K=300 M=200
mkfifo "$TMP/in"
"$TARGETS/worker" 0 0 $K $M <"$TMP/in" >"$TMP/worker.out" &
WPID=$!
PIDS+=($WPID)
exec 3>"$TMP/in"
wait_for 5 grep -q ready "$TMP/worker.out" || { bad "worker did not start"; finish; }
P=$(free_port)
start_obs attach attach --no-tls --pid $WPID --listen 127.0.0.1:$P
assert_kept "attach --no-tls" $OPID "$(mask "${EBPF_BASE[@]}")"
printf g >&3
wait_for 30 grep -q done "$TMP/worker.out" || { bad "worker did not finish"; finish; }
sleep 0.5
scrape $P >"$TMP/m.attach"
check "attach: getppid counted after the drop (parent K + forked child M)" $((K + M)) \
	"$(metric "$TMP/m.attach" 'obsprobe_syscall_duration_seconds_count{service="worker",syscall="getppid"}')"
exec 3>&-
stop_obs

# 1b. attach with its defaults: TLS uprobes go on children forked later, which takes what --func keeps
sleep 60 &
SPID=$!
PIDS+=($SPID)
P=$(free_port)
start_obs attach_tls attach --pid $SPID --listen 127.0.0.1:$P
assert_kept "attach (TLS uprobes on)" $OPID "$(mask "${EBPF_BASE[@]}" $PERFMON $SYS_ADMIN $SYS_PTRACE $DAC_READ_SEARCH)"
stop_obs
kill $SPID 2>/dev/null

# 2. --func: uprobes on children forked after the drop (a prefork server's workers) still attach
P=$(free_port) HP=$(free_port)
start_obs func run --func handle_user --listen 127.0.0.1:$P -- "$TARGETS/httpd" $HP 2
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || bad "httpd did not start"
assert_kept "run --func" $OPID "$(mask "${EBPF_BASE[@]}" $PERFMON $SYS_ADMIN $SYS_PTRACE $DAC_READ_SEARCH)"
for i in 1 2 3 4 5 6; do curl -sf "http://127.0.0.1:$HP/api/users/$i" >/dev/null; done
sleep 0.5
scrape $P >"$TMP/m.func"
check "run --func: handle_user counted in workers forked after the drop" 6 \
	"$(metric "$TMP/m.func" 'obsprobe_function_duration_seconds_count{service="httpd",function="handle_user",object="httpd"}')"
grep -q "cannot attach" "$TMP/func.err" && bad "run --func: $(grep "cannot attach" "$TMP/func.err" | head -1)"
stop_obs

# 3. serve as root: reads (and retires) segments of other users after the drop
RT=$TMP/rt
mkdir -p "$RT"
chmod 1777 "$RT"
setpriv --reuid=65534 --regid=65534 --clear-groups env OBSPROBE_RUNTIME_DIR=$RT LD_PRELOAD=$SHIM \
	"$TARGETS/shim_writer" 1 321
check "a segment owned by nobody, mode 600" "65534 600" "$(stat -c '%u %a' "$RT"/obsprobe-*.seg 2>&1 | head -1)"
P=$(free_port)
OBSPROBE_RUNTIME_DIR=$RT start_obs serve serve --listen 127.0.0.1:$P
assert_kept "serve" $OPID "$(mask $DAC_OVERRIDE $FOWNER $SYS_PTRACE)"
sleep 0.5
scrape $P >"$TMP/m.serve"
# the writer exited before the collector came: its counts are its file owner's (the segment trust rule)
check "serve: nobody's segment read after the drop (as uid:65534)" 321 \
	"$(metric "$TMP/m.serve" 'obsprobe_syscall_duration_seconds_count{service="uid:65534",syscall="write"}')"
check "serve: nobody's segment of an exited process retired" 0 "$(ls "$RT" | grep -c '\.seg$')"
stop_obs

# 4. run --user: CMD runs as that user and is traced; the collector keeps CAP_KILL to pass signals on
check "run --user nobody -- id -u prints nobody's uid" 65534 \
	"$("$OBSPROBE" run -q --user nobody --listen 127.0.0.1:$(free_port) -- id -u 2>"$TMP/id.err")"
mkfifo "$TMP/in2"
exec 3<>"$TMP/in2" # read-write: opening it does not wait for the reader
P=$(free_port)
OBS_STDIN=$TMP/in2 start_obs user run --user nobody --no-tls --listen 127.0.0.1:$P -- "$TARGETS/worker" 0 0 $K $M
wait_for 5 grep -q ready "$TMP/user.out" || { bad "run --user: worker did not start"; finish; }
WPID=$(awk '/ready/ { print $2 }' "$TMP/user.out")
check "run --user: CMD's uid" 65534 "$(awk '$1 == "Uid:" { print $2 }' /proc/$WPID/status)"
assert_kept "run --user" $OPID "$(mask "${EBPF_BASE[@]}" $KILL)"
printf g >&3
wait_for 30 grep -q done "$TMP/user.out" || bad "run --user: worker did not finish"
sleep 0.5
scrape $P >"$TMP/m.user"
check "run --user: CMD's syscalls counted" $((K + M)) \
	"$(metric "$TMP/m.user" 'obsprobe_syscall_duration_seconds_count{service="worker",syscall="getppid"}')"
kill -TERM $OPID # passed on to CMD, which runs as nobody: needs the CAP_KILL kept
wait $OPID 2>/dev/null
check "run --user: SIGTERM passed on to CMD (exit 128+15)" 143 $?
exec 3>&-
"$OBSPROBE" run --user no-such-user-here -- id -u >"$TMP/nouser.out" 2>"$TMP/nouser.err"
check "run --user unknown: exit 2" 2 $?
check "run --user unknown: one clear line" "obsprobe: run: --user 'no-such-user-here': no such user (see getent passwd)" \
	"$(cat "$TMP/nouser.err")"

# 5. --log-file/--spans-file: never through a symlink (target untouched), new files 0600
ln -s "$TMP/victim" "$TMP/link.log"
"$OBSPROBE" run -q --log-file "$TMP/link.log" --listen 127.0.0.1:$(free_port) -- true 2>"$TMP/link.err"
check "--log-file symlink: exit 1" 1 $?
check "--log-file symlink: refused" \
	"obsprobe: --log-file $TMP/link.log: is a symbolic link: refused (obsprobe never writes through a link; give the real path)" \
	"$(cat "$TMP/link.err")"
[ -e "$TMP/victim" ] && bad "--log-file symlink: the link's target was created" || ok "--log-file symlink: target untouched"
echo keep >"$TMP/victim2"
ln -s "$TMP/victim2" "$TMP/link.spans"
"$OBSPROBE" run -q --spans-file "$TMP/link.spans" --listen 127.0.0.1:$(free_port) -- true 2>"$TMP/link2.err"
check "--spans-file symlink: exit 1" 1 $?
check "--spans-file symlink: target untouched" keep "$(cat "$TMP/victim2")"
(umask 022 && "$OBSPROBE" run -q --log-file "$TMP/new.log" --spans-file "$TMP/new.spans" \
	--listen 127.0.0.1:$(free_port) -- true)
check "new --log-file and --spans-file: mode 600" "600 600" "$(stat -c %a "$TMP/new.log" "$TMP/new.spans" | xargs)"

# 6. check: one line per capability, present or what its absence disables
"$OBSPROBE" check >"$TMP/check.all"
grep -qxF '  ok   CAP_PERFMON            attach tracepoints, uprobes (--func) and kprobes' "$TMP/check.all" &&
	ok "check: CAP_PERFMON present" || bad "check (all caps): $(grep CAP_PERFMON "$TMP/check.all")"
check "check: one line per capability" 12 "$(grep -c '^  \(ok\|--\)   CAP_' "$TMP/check.all")"
capsh --drop=cap_bpf,cap_perfmon,cap_kill -- -c "$OBSPROBE check" >"$TMP/check.drop"
for line in \
	'  --   CAP_BPF                missing, CAP_SYS_ADMIN stands in: load eBPF programs and maps (eBPF capture)' \
	'  --   CAP_PERFMON            missing, CAP_SYS_ADMIN stands in: attach tracepoints, uprobes (--func) and kprobes' \
	'  --   CAP_KILL               missing: run --user: signals are not passed on to CMD' \
	'  ok   CAP_SYS_ADMIN          mount tracefs; uprobes on processes found after the start (--func)'; do
	grep -qxF "$line" "$TMP/check.drop" && ok "check without bpf,perfmon,kill: '${line:7:20}'" ||
		bad "check: no line '$line' in: $(grep "${line:7:20}" "$TMP/check.drop")"
done
setpriv --inh-caps=-all --bounding-set=-bpf,-perfmon,-sys_admin capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin \
	-- -c "$OBSPROBE check" >"$TMP/check.none"
for line in \
	'  --   CAP_BPF                missing: eBPF capture (attach, run) cannot load its programs; the shim still works' \
	'  --   CAP_PERFMON            missing: no eBPF tracing programs: no syscalls, no --func, no --kfunc' \
	'  --   CAP_SYS_ADMIN          missing: tracefs must be mounted already; --func misses children and new images found later'; do
	grep -qxF "$line" "$TMP/check.none" && ok "check without bpf,perfmon,sys_admin: '${line:7:20}'" ||
		bad "check: no line '$line' in: $(grep "${line:7:20}" "$TMP/check.none")"
done
grep -q '^  --   syscall + sched BTF tracepoints' "$TMP/check.none" && ok "check: eBPF capture reported unusable" ||
	bad "check without bpf: $(grep tracepoints "$TMP/check.none")"
finish
