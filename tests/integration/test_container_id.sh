#!/usr/bin/env bash
# test_container_id.sh -- container identity: real processes placed in cgroups named the way docker (cgroupfs and
# systemd drivers), containerd and CRI-O under the kubelet, and podman name them (made in this test's own cgroup2
# subtree, found through obsprobe check --json, never assumed at /sys/fs/cgroup), traced by obsprobe attach:
# every span's resource carries the container.id / k8s.pod.uid its cgroup names and process.linux.cgroup, and
# /api/v1/targets shows the same. Metrics: without --container-labels no family has a container_id label; with it
# (and --max-containers 4), each server's requests are counted under its container_id / k8s_pod_uid, the two
# containers past the cap under __overflow__, each of their requests counted as a fold.
source "$(dirname "$0")/lib.sh"
need_root

"$OBSPROBE" check --json >"$TMP/check.json" 2>/dev/null
MNT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cgroup2_mount"] or "")' "$TMP/check.json")
[ -n "$MNT" ] || { echo "SKIP: no cgroup2 mount on this machine"; exit 77; }
check "cgroup2 mount agrees with findmnt" "$(findmnt -n -t cgroup2 -o TARGET | head -1)" "$MNT"
OWN=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
OWN=${OWN%/}
BASE="$MNT$OWN/obsprobe-test-$$"
mkdir "$BASE" || { echo "SKIP: cannot make a cgroup under $MNT$OWN"; exit 77; }
cleanup_cg() {
	cleanup
	# processes are gone (cleanup waited): remove the tree, deepest first
	[ -d "$BASE" ] && find "$BASE" -depth -type d -exec rmdir {} + 2>/dev/null
	[ -d "$BASE" ] && echo "WARN: could not remove $BASE"
}
trap cleanup_cg EXIT

id64() { printf '%s' "$1" | sha256sum | cut -c1-64; }
UID1=0a1b2c3d-4e5f-4789-abcd-ef0123456789
UID2=11111111-2222-4333-8444-555555555555
UID3=99999999-8888-4777-a666-555555555555
# name, cgroup path under BASE, expected container.id, expected k8s.pod.uid
CASES=(
	"docker-cgroupfs|docker/$(id64 a)|$(id64 a)|"
	"docker-systemd|system.slice/docker-$(id64 b).scope|$(id64 b)|"
	"k8s-cgroupfs|kubepods/besteffort/pod$UID1/$(id64 c)|$(id64 c)|$UID1"
	"k8s-containerd|kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID2//-/_}.slice/cri-containerd-$(id64 d).scope|$(id64 d)|$UID2"
	"k8s-crio|kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID3//-/_}.slice/crio-$(id64 e).scope|$(id64 e)|$UID3"
	"podman|machine.slice/libpod-$(id64 f).scope|$(id64 f)|"
	"none|user.slice/session-1.scope||"
)

LP=7910 # this test's ports: 7910-7920
declare -A PORT MASTER
args=()
p=7910
for c in "${CASES[@]}"; do
	IFS='|' read -r name path id uid <<<"$c"
	mkdir -p "$BASE/$path" || { bad "mkdir $BASE/$path"; finish; }
	p=$((p + 1))
	# the shell moves itself into the cgroup, then becomes httpd: master and workers start inside it
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" 1' sh "$BASE/$path" "$TARGETS/httpd" "$p" \
		>/dev/null 2>"$TMP/$name.err" &
	MASTER[$name]=$!
	PORT[$name]=$p
	PIDS+=($!)
	args+=(--pid "$!")
done
for c in "${CASES[@]}"; do
	IFS='|' read -r name _ <<<"$c"
	wait_for 5 curl -sf "http://127.0.0.1:${PORT[$name]}/" || { bad "httpd ($name) did not start"; finish; }
done

"$OBSPROBE" attach "${args[@]}" --service ctr --listen "127.0.0.1:$LP" --spans-file "$TMP/spans.jsonl" \
	--no-tls -q 2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs.err"; finish; }

# 3 requests to each, a route of its own (the index) so spans tell the servers apart
i=0
for c in "${CASES[@]}"; do
	IFS='|' read -r name _ <<<"$c"
	for k in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:${PORT[$name]}/api/users/$i$k"; done
	i=$((i + 1))
done
want=$((3 * ${#CASES[@]}))
_ready() { test "$(wc -l <"$TMP/spans.jsonl" 2>/dev/null)" -ge "$want"; }
wait_for 10 _ready
curl -sf "http://127.0.0.1:$LP/api/v1/targets" >"$TMP/targets.json"

# per server: the spans (by route prefix /api/users/<index>) and the resource attributes they carry
summary() { # INDEX -> "count|container.id|k8s.pod.uid|process.linux.cgroup|distinct resources"
	/usr/bin/python3 - "$TMP/spans.jsonl" "$1" <<'PY'
import json, sys
n, seen = 0, set()
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        attrs = {a["key"]: list(a["value"].values())[0] for a in rs["resource"]["attributes"]}
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                path = {a["key"]: list(a["value"].values())[0] for a in sp["attributes"]}.get("url.path", "")
                if path.startswith("/api/users/" + sys.argv[2]) and len(path) == len("/api/users/") + len(sys.argv[2]) + 1:
                    n += 1
                    seen.add((attrs.get("container.id", ""), attrs.get("k8s.pod.uid", ""), attrs.get("process.linux.cgroup", "")))
one = sorted(seen)[0] if seen else ("", "", "")
print("%d|%s|%s|%s|%d" % (n, one[0], one[1], one[2], len(seen)))
PY
}
row() { # PID -> "container_id|k8s_pod_uid|cgroup" of its /api/v1/targets row
	/usr/bin/python3 -c '
import json, sys
for t in json.load(open(sys.argv[1]))["targets"]:
    if t.get("pid") == int(sys.argv[2]):
        print("%s|%s|%s" % (t.get("container_id"), t.get("k8s_pod_uid"), t.get("cgroup")))
' "$TMP/targets.json" "$1"
}
i=0
for c in "${CASES[@]}"; do
	IFS='|' read -r name path id uid <<<"$c"
	line="0::$OWN/obsprobe-test-$$/$path"
	check "$name: the kernel's own line" "$line" "$(grep '^0::' /proc/${MASTER[$name]}/cgroup)"
	check "$name: 3 spans, one resource, its container.id, k8s.pod.uid, cgroup" "3|$id|$uid|$line|1" "$(summary $i)"
	check "$name: /api/v1/targets row" "$id|$uid|$line" "$(row "${MASTER[$name]}")"
	i=$((i + 1))
done
curl -sf "http://127.0.0.1:$LP/metrics" >"$TMP/metrics-off.txt"
check "without --container-labels: $want requests in /metrics, no container label" "$want 0" \
	"$(awk '/^http_server_request_duration_seconds_count/ { n += $2 } END { print n + 0 }' "$TMP/metrics-off.txt") $(
		grep -c 'container_id=\|k8s_pod_uid=' "$TMP/metrics-off.txt")"
kill -INT $OBS
wait $OBS
check "obsprobe exit status" 0 $?

# ---- --container-labels: the same servers, 2 requests each; the first 4 containers (in --pid order) get their
# labels, the 2 past --max-containers 4 fold into __overflow__, the process in no container has ""
"$OBSPROBE" attach "${args[@]}" --service ctr --listen "127.0.0.1:$LP" --container-labels --max-containers 4 \
	--no-tls -q 2>"$TMP/obs2.err" &
OBS=$!
PIDS+=($OBS)
wait_for 10 curl -sf "http://127.0.0.1:$LP/health/ready" || { bad "obsprobe not ready"; cat "$TMP/obs2.err"; finish; }
for c in "${CASES[@]}"; do
	IFS='|' read -r name _ <<<"$c"
	for k in 1 2; do curl -s -o /dev/null "http://127.0.0.1:${PORT[$name]}/api/users/$k"; done
done
want2=$((2 * ${#CASES[@]}))
count_where() { # FILE MATCH: the request count of the HTTP server series whose labels contain MATCH
	awk -v m="$2" '/^http_server_request_duration_seconds_count/ && index($0, m) { n += $2 } END { print n + 0 }' "$1"
}
_ready() { test "$(curl -s "http://127.0.0.1:$LP/metrics" | awk '/^http_server_request_duration_seconds_count/ { n += $2 } END { print n + 0 }')" -ge $want2; }
wait_for 10 _ready
curl -sf "http://127.0.0.1:$LP/metrics" >"$TMP/metrics-on.txt"
check "--container-labels: $want2 requests in /metrics" $want2 "$(count_where "$TMP/metrics-on.txt" 'service=')"
i=0
for c in "${CASES[@]}"; do
	IFS='|' read -r name path id uid <<<"$c"
	if [ $i -ge 4 ] && [ -n "$id" ]; then
		id=__overflow__ uid=__overflow__
	fi
	check "--container-labels: $name: its requests under container_id=\"$id\",k8s_pod_uid=\"$uid\"" \
		"$([ "$id" = __overflow__ ] && echo 4 || echo 2)" \
		"$(count_where "$TMP/metrics-on.txt" "container_id=\"$id\",k8s_pod_uid=\"$uid\"}")"
	i=$((i + 1))
done
check "--container-labels: the 4 requests past --max-containers counted as folds" 4 \
	"$(metric "$TMP/metrics-on.txt" 'obsprobe_series_overflow_total{metric="http_server_request_duration_seconds"}')"
check "--container-labels: only the RED families carry them (syscall, socket families do not)" 0 \
	"$(grep -c '^obsprobe_s[yo][a-z_]*{.*container_id=' "$TMP/metrics-on.txt")"
kill -INT $OBS
wait $OBS
check "obsprobe exit status (--container-labels)" 0 $?

# the shim path: an httpd with libobsshim.so in a CRI-O container's cgroup, read by obsprobe serve
RT=$TMP/rt
mkdir -p "$RT"
SID=$(id64 shim)
SPATH="kubepods.slice/kubepods-pod${UID1//-/_}.slice/crio-$SID.scope"
mkdir -p "$BASE/$SPATH"
OBSPROBE_RUNTIME_DIR=$RT OBSPROBE_SERVICE=shimctr LD_PRELOAD=$ROOT/build/libobsshim.so \
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" 1' sh "$BASE/$SPATH" "$TARGETS/httpd" 7919 \
	>/dev/null 2>"$TMP/shim.err" &
SHIMD=$!
PIDS+=($SHIMD)
wait_for 5 curl -sf "http://127.0.0.1:7919/" || { bad "shim httpd did not start"; finish; }
OBSPROBE_RUNTIME_DIR=$RT "$OBSPROBE" serve --listen 127.0.0.1:7920 --spans-file "$TMP/shim.jsonl" -q --container-labels \
	2>"$TMP/serve.err" &
SERVE=$!
PIDS+=($SERVE)
wait_for 10 curl -sf "http://127.0.0.1:7920/health" || { bad "serve not ready"; cat "$TMP/serve.err"; finish; }
for k in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:7919/api/users/9$k"; done
_ready() { test "$(grep -c 'api/users/9' "$TMP/shim.jsonl" 2>/dev/null)" -ge 3; }
wait_for 10 _ready
cp "$TMP/shim.jsonl" "$TMP/spans.jsonl"
line="0::$OWN/obsprobe-test-$$/$SPATH"
check "shim: 3 spans, one resource, its container.id, k8s.pod.uid, cgroup" "3|$SID|$UID1|$line|1" "$(summary 9)"
curl -sf "http://127.0.0.1:7920/api/v1/targets" >"$TMP/targets.json"
# the segment's process is the worker (the first to record), a child of the master
worker=$(pgrep -P "$SHIMD" | head -1)
check "shim: /api/v1/targets row" "$SID|$UID1|$line" "$(row "$worker")"
curl -sf "http://127.0.0.1:7920/metrics" >"$TMP/metrics-shim.txt"
# (its route's: the readiness probe's GET / is counted too, under the same labels)
check "shim: --container-labels: its 3 requests under its container_id, k8s_pod_uid" 3 \
	"$(count_where "$TMP/metrics-shim.txt" "http_route=\"/api/users/{id}\",container_id=\"$SID\",k8s_pod_uid=\"$UID1\"}")"
finish
