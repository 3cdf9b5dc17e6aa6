#!/usr/bin/env bash
# test_exemplars.sh -- from a metric to its trace. A real Prometheus (--enable-feature=exemplar-storage) scrapes a
# collector that traces a python HTTP server (eBPF path, --spans-file). Requests carry known W3C traceparents, in
# two rounds, each followed by a scrape that has seen it; two of every round's requests are not sampled (flags 00).
# /api/v1/query_exemplars on the request-duration histogram must then return only the sampled requests' trace ids,
# each with the span id, the duration and the end time of its span in --spans-file, on the bucket its duration
# falls in; and, for every bucket a round filled, that round's latest span (the one the exposition held when the
# scrape came). The dashboards' latency targets, asked for exemplars as Grafana asks, find the same ones.
# Prometheus asks for OpenMetrics by itself: the Accept header it sends (recorded by a listener it also scrapes;
# this Prometheus, 2.42, has no scrape_protocols setting) gets the collector's OpenMetrics with exemplars.
# Ports: free ones, or PORT_BASE..PORT_BASE+3 when set.
source "$(dirname "$0")/lib.sh"
need_root
command -v prometheus >/dev/null || { bad "prometheus missing (scripts/install-deps.sh)"; finish; }
PY=/usr/bin/python3
if [ -n "${PORT_BASE:-}" ]; then
	SPORT=$PORT_BASE MPORT=$((PORT_BASE + 1)) PPORT=$((PORT_BASE + 2)) APORT=$((PORT_BASE + 3))
else
	SPORT=$(free_port) MPORT=$(free_port) PPORT=$(free_port) APORT=$(free_port)
fi

# the traced server: GET /sleep/MS answers after MS ms and logs the path and the traceparent it was sent
"$PY" - "$SPORT" "$TMP/server.log" <<'PY' 2>"$TMP/server.err" &
import http.server, sys, time
log = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(int(self.path.rsplit("/", 1)[1]) / 1000 if self.path.startswith("/sleep/") else 0)
        log.write(f"{self.path} {self.headers.get('traceparent', '-')}\n")
        log.flush()
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SPID=$!
PIDS+=($SPID)
wait_for 10 curl -sf "http://127.0.0.1:$SPORT/sleep/0" || { bad "python server did not start: $(cat "$TMP/server.err")"; finish; }
: >"$TMP/server.log"
# a listener Prometheus scrapes too: it records the Accept header of Prometheus' scrapes
"$PY" - "$APORT" "$TMP/accept.log" <<'PY' 2>"$TMP/accept.err" &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(sys.argv[2], "a").write(self.headers.get("Accept", "-") + "\n")
        body = b"# TYPE probe gauge\nprobe 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)

"$OBSPROBE" attach --pid $SPID --service exdemo --listen 127.0.0.1:$MPORT --spans-file "$TMP/spans.jsonl" -q \
	2>"$TMP/obs.err" &
OBS=$!
PIDS+=($OBS)
wait_for 30 curl -sf "http://127.0.0.1:$MPORT/health/ready" || { bad "obsprobe: $(cat "$TMP/obs.err")"; finish; }

mkdir -p "$TMP/prom"
cat >"$TMP/prom/prometheus.yml" <<Y
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: obsprobe
    static_configs: [ { targets: ['127.0.0.1:$MPORT'] } ]
  - job_name: accept
    static_configs: [ { targets: ['127.0.0.1:$APORT'] } ]
Y
prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" --enable-feature=exemplar-storage >"$TMP/prom/log" 2>&1 &
PIDS+=($!)
PROM=http://127.0.0.1:$PPORT
wait_for 30 curl -sf "$PROM/-/ready" || { bad "prometheus did not start: $(tail -3 "$TMP/prom/log")"; finish; }
grep -q 'exemplar storage enabled' "$TMP/prom/log" && ok "prometheus: exemplar storage enabled" || bad "prometheus: no exemplar storage"
up() { curl -sf "$PROM/api/v1/query" --data-urlencode "query=up{job=\"$1\"} == 1" | grep -q '"value"'; }
wait_for 20 up obsprobe && wait_for 20 up accept || { bad "prometheus never scraped the collector and the listener"; finish; }

# the checker: reads Prometheus' exemplars, the spans file and what was sent (a line per request:
# round trace_id parent_id ms flags)
cat >"$TMP/check.py" <<'PY'
import glob, json, re, sys, time, urllib.parse, urllib.request
prom, spans_file, sent_file, mode = sys.argv[1:5]
SEL = 'http_server_request_duration_seconds_bucket{service="exdemo"}'

def api(path, **q):
    r = json.load(urllib.request.urlopen(prom + path + "?" + urllib.parse.urlencode(q), timeout=10))
    assert r["status"] == "success", r
    return r["data"]

def exemplars(query):
    now = time.time()
    out = []
    for s in api("/api/v1/query_exemplars", query=query, start=now - 600, end=now + 60):
        for e in s["exemplars"]:
            out.append((s["seriesLabels"], e))
    return out

sent = [l.split() for l in open(sent_file)]
sampled = {t: (int(r), p) for r, t, p, ms, f in sent if f == "01"}
unsampled = {t for r, t, p, ms, f in sent if f == "00"}
spans = {}
for line in open(spans_file):
    for rs in json.loads(line)["resourceSpans"]:
        svc = [a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name"]
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                if sp["kind"] == 2 and svc == ["exdemo"]:
                    attrs = {a["key"]: list(a["value"].values())[0] for a in sp.get("attributes", [])}
                    spans[(sp["traceId"], sp["spanId"])] = dict(sp, route=attrs.get("http.route"),
                        dur=int(sp["endTimeUnixNano"]) - int(sp["startTimeUnixNano"]), end=int(sp["endTimeUnixNano"]))
les = sorted({s["le"] for s in api("/api/v1/series", **{"match[]": SEL})}, key=float)

def bucket(ns):
    return next((le for le in les if le != "+Inf" and ns <= round(float(le) * 1e9)), "+Inf")

def latest_per_bucket(rnd):
    """(route, le) -> the (trace, span) of round rnd's last span that fell in that bucket"""
    out = {}
    for k, sp in sorted(spans.items(), key=lambda kv: kv[1]["end"]):
        if k[0] in sampled and sampled[k[0]][0] == rnd:
            out[(sp["route"], bucket(sp["dur"]))] = k
    return out

if mode.startswith("round"):  # ready when the round's spans are written and Prometheus holds each bucket's latest
    rnd = int(mode[5:])
    want = sum(1 for t, (r, p) in sampled.items() if r == rnd)
    got = sum(1 for k in spans if k[0] in sampled and sampled[k[0]][0] == rnd)
    have = {(l.get("http_route"), l["le"], e["labels"].get("trace_id"), e["labels"].get("span_id"))
            for l, e in exemplars(SEL)}
    need = {(rt, le) + k for (rt, le), k in latest_per_bucket(rnd).items()}
    sys.exit(0 if want and got == want and need <= have else 1)

def check(name, want, got, what=None):  # what: the passing value, said briefly
    print(("PASS " if want == got else "FAIL ") + name + (f" ({what or got})" if want == got else f": expected {want!r}, got {got!r}"))

ex = exemplars(SEL)
print(("PASS " if ex else "FAIL ") + f"query_exemplars returns {len(ex)} exemplars for {SEL}")
check("spans file: one SERVER span per sampled request", len(sampled), len(spans))
check("spans file: their trace ids are the sent ones", sorted(sampled), sorted(t for t, s in spans), f"{len(spans)}")
check("spans file: each span's parent is the sent parent id", [],
      [t for (t, s), sp in spans.items() if sp.get("parentSpanId") != sampled.get(t, (0, None))[1]], "all")
problems = []
for l, e in ex:
    t, s = e["labels"].get("trace_id"), e["labels"].get("span_id")
    sp = spans.get((t, s))
    if t not in sampled:
        problems.append(f"trace {t}: not a sampled request's")
    elif not sp:
        problems.append(f"trace {t} span {s}: no such span in --spans-file")
    else:
        if round(float(e["value"]) * 1e9) != sp["dur"]:
            problems.append(f"{t}: value {e['value']} is not its span's duration {sp['dur']} ns")
        if l["le"] != bucket(sp["dur"]):
            problems.append(f"{t}: on bucket le={l['le']}, its duration {sp['dur']} ns belongs to le={bucket(sp['dur'])}")
        if abs(float(e["timestamp"]) - sp["end"] / 1e9) > 0.0011:
            problems.append(f"{t}: timestamp {e['timestamp']} is not its span's end {sp['end']}")
        if l.get("http_route") != sp["route"]:
            problems.append(f"{t}: on route {l.get('http_route')}, its span's is {sp['route']}")
check("every exemplar: a sampled request's trace id, its span's id, duration, end time, bucket and route", [], problems,
      f"{len(ex)} of {len(ex)}")
check("no exemplar, no span for the unsampled requests (flags 00)", [],
      sorted({e["labels"].get("trace_id") for l, e in ex} & unsampled | {t for t, s in spans} & unsampled),
      f"{len(unsampled)} requests")
have = {(l.get("http_route"), l["le"], e["labels"].get("trace_id"), e["labels"].get("span_id")) for l, e in ex}
for rnd in (1, 2):
    need = latest_per_bucket(rnd)
    check(f"round {rnd}: every bucket it filled holds its latest span as an exemplar",
          sorted(need), sorted(k for k, v in need.items() if k + v in have), "le=" + ",".join(le for rt, le in sorted(need)))
nb = len({l["le"] for l, e in ex})
print(("PASS " if nb >= 2 else "FAIL ") + f"exemplars on {nb} buckets (0 ms and 200 ms requests)")
# the dashboards' latency targets, as Grafana asks for their exemplars: every one evaluates; the overview's
# request latency finds exactly the exemplars above
ids = sorted((e["labels"]["trace_id"], e["labels"]["span_id"]) for l, e in ex)
errors, n = [], 0
for path in sorted(glob.glob(sys.argv[5] + "/*.json")):
    for p in json.load(open(path))["panels"]:
        for t in p.get("targets", []):
            if not t.get("exemplar"):
                continue
            q = re.sub(r'"\$\{?[A-Za-z]\w*\}?"', '".*"', t["expr"]).replace("$__rate_interval", "1m")
            n += 1
            try:
                got = sorted((e["labels"]["trace_id"], e["labels"]["span_id"]) for l, e in exemplars(q))
            except Exception as err:  # noqa
                errors.append(f"{path.rsplit('/', 1)[1]}: {p['title']}: {err}")
                continue
            if p["title"] == "Request latency p50 / p95 / p99" and got != ids:
                errors.append(f"{p['title']} {t['refId']}: {len(got)} exemplars, not the {len(ids)} above")
check(f"dashboards: the {n} latency targets' exemplar queries evaluate; the overview's request latency finds the same", [], errors,
      "ok")
PY

check "before any request: no exemplar" "0" "$("$PY" -c '
import json, sys, time, urllib.parse, urllib.request
q = {"query": "http_server_request_duration_seconds_bucket", "start": time.time() - 600, "end": time.time() + 60}
print(len(json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/query_exemplars?" + urllib.parse.urlencode(q)))["data"]))' "$PROM")"

# two rounds: per round, 2 sampled requests each answered after 0, 20 and 200 ms, and 2 unsampled ones;
# trace ids: this run's random prefix, the round, the request
RUN=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
n=0
send() { # round ms flags
	n=$((n + 1))
	local tid pid
	tid=$(printf '%s%024x' "$RUN" $(($1 * 1000 + n)))
	pid=$(printf '%016x' $((0xb0000 + n)))
	echo "$1 $tid $pid $2 $3" >>"$TMP/sent"
	curl -s -o /dev/null --max-time 10 -H "traceparent: 00-$tid-$pid-$3" "http://127.0.0.1:$SPORT/sleep/$2"
}
for round in 1 2; do
	for ms in 0 20 200 0 20 200; do send $round $ms 01; done
	send $round 0 00
	send $round 20 00
	wait_for 30 "$PY" "$TMP/check.py" "$PROM" "$TMP/spans.jsonl" "$TMP/sent" "round$round" ||
		bad "round $round: within 30 s, Prometheus did not hold each filled bucket's latest span"
done
if [ "$(awk '{ print "00-" $2 "-" $3 "-" $5 }' "$TMP/sent")" == "$(awk '{ print $2 }' "$TMP/server.log")" ]; then
	ok "server: the $(wc -l <"$TMP/sent") requests it answered carried the traceparents sent"
else
	bad "server: requests and traceparents: $(diff <(awk '{ print "00-" $2 "-" $3 "-" $5 }' "$TMP/sent") <(awk '{ print $2 }' "$TMP/server.log") | head -5)"
fi
while read -r line; do
	case $line in
	PASS*) ok "${line#PASS }" ;;
	*) bad "${line#FAIL }" ;;
	esac
done < <("$PY" "$TMP/check.py" "$PROM" "$TMP/spans.jsonl" "$TMP/sent" final "$ROOT/dashboards" 2>&1)

# what Prometheus asked for, and what the collector answers to that: OpenMetrics, with exemplars; the scrape parsed
accept=$(tail -1 "$TMP/accept.log")
case $accept in
application/openmetrics-text*) ok "prometheus asks for OpenMetrics first ($accept)" ;;
*) bad "prometheus' Accept header: $accept" ;;
esac
ctype=$(curl -s -o "$TMP/om" -w '%{content_type}' -H "Accept: $accept" "http://127.0.0.1:$MPORT/metrics")
case $ctype in
application/openmetrics-text*) ok "collector answers that Accept with $ctype" ;;
*) bad "collector answers that Accept with '$ctype'" ;;
esac
grep -q '^http_server_request_duration_seconds_bucket{service="exdemo".* # {trace_id="' "$TMP/om" &&
	ok "... whose buckets carry exemplars" || bad "no exemplar in the collector's OpenMetrics"
check "prometheus' scrape of the collector: healthy, no parse error" "up " "$(curl -sf "$PROM/api/v1/targets" | "$PY" -c '
import json, sys
t = [t for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"]["job"] == "obsprobe"][0]
print(t["health"], t["lastError"])')"
kill -INT $OBS
wait $OBS
check "obsprobe exit status" 0 "$?"
finish
