#!/usr/bin/env bash
# test_deploy.sh -- deploy/: the systemd unit and the Kubernetes manifests against what `obsprobe check --json`
# says the node agent needs (capabilities, host paths, host PID namespace; tests/integration/deploy_check.py),
# the unit through systemd-analyze verify, the Prometheus config through promtool; then the unit's ExecStart and
# the DaemonSet's entrypoint each run for real with exactly their capability bounding set, trace an httpd, export
# its spans to an OTLP receiver, keep only the capabilities check --json says, and stop cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh"
need_root
PY=/usr/bin/python3
DEPLOY=$ROOT/deploy
$PY -c 'import yaml' 2>/dev/null || { bad "python3-yaml missing (scripts/install-deps.sh)"; finish; }

"$OBSPROBE" check --json >"$TMP/check.json" 2>"$TMP/check.err" || { bad "obsprobe check --json"; cat "$TMP/check.err"; }
$PY "$ROOT/tests/integration/deploy_check.py" "$TMP/check.json" "$DEPLOY" || FAILS=$((FAILS + 1))

# ---- systemd-analyze verify: the unit as installed, but ExecStart's binary is this build's (verify checks it exists)
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/unit"
	sed "s|/usr/local/bin/obsprobe|$OBSPROBE|" "$DEPLOY/systemd/obsprobe.service" >"$TMP/unit/obsprobe.service"
	systemd-analyze verify --man=no "$TMP/unit/obsprobe.service" >"$TMP/verify.out" 2>&1
	rc=$?
	# it warns (unknown keys, bad values) with status 0: any output fails
	check "systemd-analyze verify: status, output" "0|" "$rc|$(cat "$TMP/verify.out")"
else
	echo "SKIP systemd-analyze verify: systemd-analyze is not installed (package systemd)"
fi

# ---- promtool: the Prometheus side for systemd hosts, with obsprobe's rules next to it
if command -v promtool >/dev/null; then
	cp "$DEPLOY/prometheus/prometheus.yml" "$ROOT/alerts/obsprobe.rules.yml" "$TMP/"
	promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.out" 2>&1
	check "promtool check config deploy/prometheus/prometheus.yml" 0 $?
else
	bad "promtool missing (scripts/install-deps.sh)"
fi

# the capabilities of the unit's bounding set, for setpriv: +bpf,+perfmon,...
BOUND=$($PY -c '
import json, sys
a = json.load(open(sys.argv[1]))["deploy"]["node_agent"]
print(",".join("+" + c[4:].lower() for c in a["capabilities"] + a["optional"]))' "$TMP/check.json")
KEPT=$($PY -c '
import json, sys
bits = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21, "CAP_PERFMON": 38, "CAP_BPF": 39}
a = json.load(open(sys.argv[1]))["deploy"]["node_agent"]
print("%016x" % sum(1 << bits[c] for c in a["kept"]))' "$TMP/check.json")

HP=7905
"$TARGETS/httpd" $HP 1 >/dev/null 2>"$TMP/httpd.err" &
HTTPD=$!
PIDS+=($HTTPD)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start"; finish; }

# agent_run NAME LISTEN_PORT RECEIVER_PORT CMD...: run an agent (CMD, under the bounding set), 5 requests to httpd,
# then SIGTERM; checks readiness, the capabilities it kept, its spans at the receiver, its exit status
agent_run() {
	local name=$1 lp=$2 rp=$3
	shift 3
	mkdir -p "$TMP/rcv-$name"
	python3 "$ROOT/tests/otlp/receiver.py" --dir "$TMP/rcv-$name" --port "$rp" --port-file "$TMP/$name.rport" \
		--max-seconds 90 &
	PIDS+=($!)
	wait_for 10 test -s "$TMP/$name.rport" || { bad "$name: receiver did not start"; return; }
	setpriv --bounding-set "-all,$BOUND" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	local agent=$!
	PIDS+=($agent)
	if ! wait_for 20 curl -sf "http://127.0.0.1:$lp/health/ready"; then
		bad "$name: not ready"
		cat "$TMP/$name.err"
		return
	fi
	local obs
	obs=$(pgrep -f -n "obsprobe attach --config $TMP/$name.json")
	for i in 1 2 3 4 5; do curl -s -o /dev/null "http://127.0.0.1:$HP/api/users/$name$i"; done
	check "$name: capabilities kept after the start (CapEff, CapBnd)" "$KEPT $KEPT" \
		"$(awk '/^CapEff/ { e = $2 } /^CapBnd/ { b = $2 } END { print e, b }' /proc/$obs/status)"
	wait_for 10 test "$(curl -s "http://127.0.0.1:$lp/metrics" |
		awk '/^http_server_request_duration_seconds_count/ { n += $2 } END { print n + 0 }')" -ge 5
	check "$name: 5 requests in /metrics" 5 "$(curl -s "http://127.0.0.1:$lp/metrics" |
		awk '/^http_server_request_duration_seconds_count/ { n += $2 } END { print n + 0 }')"
	kill -TERM "$obs"
	wait "$agent"
	check "$name: exit status on SIGTERM (the unit's KillSignal, the kubelet's)" 0 $?
	check "$name: the 5 spans reached the OTLP receiver" 5 \
		"$(python3 "$ROOT/tests/otlp/otlpdump.py" spans "$TMP/rcv-$name" | grep -c "url.path=/api/users/$name")"
}

# a copy of CONFIG listening on loopback:LP, exporting to the receiver on RP
config_copy() { # SRC DST LP RP
	$PY -c '
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = "127.0.0.1:" + sys.argv[3]
c["otlp_endpoint"] = "http://127.0.0.1:" + sys.argv[4]
json.dump(c, open(sys.argv[2], "w"))' "$@"
}

# ---- the unit's ExecStart, as systemd would run it: its EnvironmentFile's variable, the config it names
config_copy "$DEPLOY/systemd/obsprobe.json" "$TMP/unit.json" 7901 7902
read -ra EXEC <<<"$(sed -n 's/^ExecStart=//p' "$DEPLOY/systemd/obsprobe.service" | tail -1)"
[ ${#EXEC[@]} -gt 0 ] || { bad "cannot read ExecStart"; finish; }
OBSPROBE_TARGETS="--pid $HTTPD"
argv=()
for w in "${EXEC[@]}"; do
	case "$w" in
	/usr/local/bin/obsprobe) argv+=("$OBSPROBE") ;;
	/etc/obsprobe/obsprobe.json) argv+=("$TMP/unit.json") ;;
	'$OBSPROBE_TARGETS') read -ra t <<<"$OBSPROBE_TARGETS" && argv+=("${t[@]}") ;;
	*) argv+=("$w") ;;
	esac
done
agent_run unit 7901 7902 "${argv[@]}"

# ---- the DaemonSet's entrypoint from the ConfigMap: finds the targets by comm in /proc, execs obsprobe
$PY -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        open(sys.argv[2] + "/entrypoint.sh", "w").write(d["data"]["entrypoint.sh"])
        open(sys.argv[2] + "/ds-src.json", "w").write(d["data"]["obsprobe.json"])' \
	"$DEPLOY/kubernetes/configmap.yaml" "$TMP"
config_copy "$TMP/ds-src.json" "$TMP/ds.json" 7903 7904
sed -i "s|/usr/local/bin/obsprobe|$OBSPROBE|; s|/etc/obsprobe/obsprobe.json|$TMP/ds.json|" "$TMP/entrypoint.sh"
# an httpd of a name no other test runs, so that the scan finds only it (master and worker)
cp "$TARGETS/httpd" "$TMP/dpl-httpd$$"
kill "$HTTPD"
wait "$HTTPD" 2>/dev/null
"$TMP/dpl-httpd$$" $HP 1 >/dev/null 2>"$TMP/httpd.err" &
HTTPD=$!
PIDS+=($HTTPD)
wait_for 5 curl -sf "http://127.0.0.1:$HP/" || { bad "httpd did not start again"; finish; }
# the entrypoint's obsprobe is found by its --config: give it the name agent_run looks for
cp "$TMP/ds.json" "$TMP/daemonset.json"
sed -i "s|$TMP/ds.json|$TMP/daemonset.json|" "$TMP/entrypoint.sh"
OBSPROBE_EXE="dpl-httpd$$ no-such-program" agent_run daemonset 7903 7904 sh "$TMP/entrypoint.sh"
finish
