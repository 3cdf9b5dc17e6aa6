#!/usr/bin/env python3
"""otlpdump.py -- print the spans or log records obsprobe emitted, one per line, from any of its outputs.

    otlpdump.py spans DIR|FILE    DIR: a receiver.py directory (protobuf decoded with protoc against the
                                  OpenTelemetry schema in tests/otlp, or OTLP/JSON); FILE: a --spans-file
    otlpdump.py logs DIR|FILE     FILE: a --log-file
    otlpdump.py metrics FILE      FILE: one /v1/metrics request body a receiver.py stored (K-metrics.bin/.json)

Span lines:  trace_id span_id parent_id kind name status attr=value ...
Log lines:   trace_id span_id severity_text body
Metric lines: the samples a Prometheus exposition of the request would have, read back by the OpenTelemetry
  compatibility rules (unit "s" adds "_seconds", a monotonic cumulative Sum "_total", histogram buckets become
  cumulative "le" samples, "_sum", "_count"):  name{k="v",...} value;  then one line per exemplar:
  "# exemplar name{k="v",...} trace_id span_id value".  A data point whose "service" attribute is not its
  resource's service.name, or a Sum/Histogram that is not cumulative, is an error (exit 1).
Ids are lowercase hex ("-" when empty).  Exits 1 when a payload does not decode.
"""
import codecs
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MSG = {
    "spans": ("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
              "opentelemetry/proto/collector/trace/v1/trace_service.proto", "traces"),
    "logs": ("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
             "opentelemetry/proto/collector/logs/v1/logs_service.proto", "logs"),
    "metrics": ("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
                "opentelemetry/proto/collector/metrics/v1/metrics_service.proto", "metrics"),
}


def unescape(s):
    """a protoc text-format bytes literal (without quotes) -> hex"""
    return codecs.escape_decode(s.encode("latin-1"))[0].hex() or "-"


def parse_text(text):
    """protoc --decode output -> nested dicts/lists (repeated fields become lists)"""
    root = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.endswith("{"):
            key = line[:-1].strip()
            child = {}
            stack[-1].setdefault(key, []).append(child)
            stack.append(child)
        elif line == "}":
            stack.pop()
        else:
            key, _, val = line.partition(":")
            val = val.strip()
            if val.startswith('"'):
                val = ("bytes", val[1:-1])
            stack[-1].setdefault(key.strip(), []).append(val)
    return root


def text_value(v):
    """an AnyValue block -> python value"""
    for k in ("string_value", "int_value", "bool_value", "double_value"):
        if k in v:
            x = v[k][0]
            if isinstance(x, tuple):
                return codecs.escape_decode(x[1].encode("latin-1"))[0].decode("utf-8", "replace")
            return x
    return ""


def first(d, k, default=""):
    v = d.get(k, [default])[0]
    return v


def spans_from_pb(data):
    out = subprocess.run(["protoc", "--decode", MSG["spans"][0], "-I", HERE, MSG["spans"][1]], input=data,
                         capture_output=True, check=True).stdout.decode("latin-1")
    req = parse_text(out)
    for rs in req.get("resource_spans", []):
        for ss in rs.get("scope_spans", []):
            for sp in ss.get("spans", []):
                attrs = {first(a, "key")[1]: text_value(first(a, "value")) for a in sp.get("attributes", [])}
                st = sp.get("status", [{}])[0]
                yield dict(trace=unescape(first(sp, "trace_id", ("", ""))[1]),
                           span=unescape(first(sp, "span_id", ("", ""))[1]),
                           parent=unescape(first(sp, "parent_span_id", ("", ""))[1]),
                           kind=str(first(sp, "kind", "SPAN_KIND_UNSPECIFIED")),
                           name=text_value({"string_value": sp.get("name", [("", "")])}),
                           status=str(first(st, "code", "STATUS_CODE_UNSET")), attrs=attrs)


KINDS = {1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT"}
CODES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def json_value(v):
    for k in ("stringValue", "intValue", "boolValue", "doubleValue"):
        if k in v:
            return v[k]
    return ""


def spans_from_json(req):
    for rs in req.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                yield dict(trace=sp.get("traceId") or "-", span=sp.get("spanId") or "-",
                           parent=sp.get("parentSpanId") or "-", kind=KINDS.get(sp.get("kind"), "?"),
                           name=sp.get("name", ""), status=CODES.get(sp.get("status", {}).get("code", 0)),
                           attrs={a["key"]: json_value(a["value"]) for a in sp.get("attributes", [])})


def logs_from_pb(data):
    out = subprocess.run(["protoc", "--decode", MSG["logs"][0], "-I", HERE, MSG["logs"][1]], input=data,
                         capture_output=True, check=True).stdout.decode("latin-1")
    req = parse_text(out)
    for rl in req.get("resource_logs", []):
        for sl in rl.get("scope_logs", []):
            for r in sl.get("log_records", []):
                yield dict(trace=unescape(first(r, "trace_id", ("", ""))[1]),
                           span=unescape(first(r, "span_id", ("", ""))[1]),
                           severity=text_value({"string_value": r.get("severity_text", [("", "")])}),
                           body=text_value(first(r, "body", {})))


def logs_from_json(req):
    for rl in req.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for r in sl.get("logRecords", []):
                yield dict(trace=r.get("traceId") or "-", span=r.get("spanId") or "-",
                           severity=r.get("severityText", ""), body=json_value(r.get("body", {})))


def pb_metrics_to_json(data):
    """protoc --decode of a metrics request -> the OTLP/JSON shape (the subset obsprobe writes)"""
    out = subprocess.run(["protoc", "--decode", MSG["metrics"][0], "-I", HERE, MSG["metrics"][1]], input=data,
                         capture_output=True, check=True).stdout.decode("latin-1")
    req = parse_text(out)

    def attrs(lst):
        return [{"key": text_value({"string_value": [a["key"][0]]}), "value": {"stringValue": text_value(a["value"][0])}}
                for a in lst]

    def point(dp):
        d = {"attributes": attrs(dp.get("attributes", []))}
        for k, j in (("as_int", "asInt"), ("as_double", "asDouble"), ("count", "count"), ("sum", "sum")):
            if k in dp:
                d[j] = dp[k][0]
        if "bucket_counts" in dp:
            d["bucketCounts"] = dp["bucket_counts"]
            d["explicitBounds"] = [float(x) for x in dp.get("explicit_bounds", [])]
        d["exemplars"] = [{"traceId": unescape(e["trace_id"][0][1]), "spanId": unescape(e["span_id"][0][1]),
                           "asDouble": float(e["as_double"][0])} for e in dp.get("exemplars", [])]
        return d

    temporality = {"AGGREGATION_TEMPORALITY_CUMULATIVE": 2, "AGGREGATION_TEMPORALITY_DELTA": 1}
    res = []
    for rm in req.get("resource_metrics", []):
        r = {"resource": {"attributes": attrs(rm.get("resource", [{}])[0].get("attributes", []))}, "scopeMetrics": []}
        for sm in rm.get("scope_metrics", []):
            ms = []
            for m in sm.get("metrics", []):
                j = {"name": text_value({"string_value": m["name"]}),
                     "unit": text_value({"string_value": m.get("unit", [("", "")])})}
                for kind in ("sum", "gauge", "histogram"):
                    if kind in m:
                        body = m[kind][0]
                        j[kind] = {"dataPoints": [point(dp) for dp in body.get("data_points", [])],
                                   "aggregationTemporality": temporality.get(first(body, "aggregation_temporality"), 0),
                                   "isMonotonic": first(body, "is_monotonic") == "true"}
                ms.append(j)
            r["scopeMetrics"].append({"metrics": ms})
        res.append(r)
    return {"resourceMetrics": res}


def metrics_lines(req):
    """an OTLP/JSON metrics request -> exposition sample lines, and exemplar lines"""
    lines, exemplars = [], []

    def labels(dp, extra=()):
        kv = [(a["key"], json_value(a["value"])) for a in dp.get("attributes", [])] + list(extra)
        return "{" + ",".join('%s="%s"' % (k, v) for k, v in kv) + "}" if kv else ""

    for rm in req.get("resourceMetrics", []):
        service = {a["key"]: json_value(a["value"]) for a in rm["resource"]["attributes"]}.get("service.name")
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                name = m["name"] + ("_seconds" if m.get("unit") == "s" else "")
                for kind in ("sum", "gauge", "histogram"):
                    body = m.get(kind)
                    if body is None:
                        continue
                    if kind != "gauge" and body.get("aggregationTemporality") != 2:
                        sys.exit("%s is not cumulative" % name)
                    if kind == "sum" and not body.get("isMonotonic"):
                        sys.exit("%s is not a monotonic sum" % name)
                    for dp in body.get("dataPoints", []):
                        attrs = {a["key"]: json_value(a["value"]) for a in dp.get("attributes", [])}
                        if "service" in attrs and attrs["service"] != service:
                            sys.exit("%s: service %s under resource %s" % (name, attrs["service"], service))
                        if kind == "sum":
                            lines.append("%s_total%s %d" % (name, labels(dp), int(dp["asInt"])))
                        elif kind == "gauge":
                            lines.append("%s%s %r" % (name, labels(dp), float(dp["asDouble"])))
                        else:
                            cum = 0
                            bounds = [repr(float(b)) for b in dp["explicitBounds"]] + ["+Inf"]
                            for le, c in zip(bounds, dp["bucketCounts"]):
                                cum += int(c)
                                lines.append("%s_bucket%s %d" % (name, labels(dp, [("le", le)]), cum))
                            lines.append("%s_sum%s %r" % (name, labels(dp), float(dp.get("sum", 0))))
                            lines.append("%s_count%s %d" % (name, labels(dp), int(dp["count"])))
                            for e in dp.get("exemplars", []):
                                exemplars.append("# exemplar %s%s %s %s %r" % (name, labels(dp), e["traceId"],
                                                                               e["spanId"], float(e["asDouble"])))
    return lines + exemplars


def main():
    what, path = sys.argv[1], sys.argv[2]
    if what == "metrics":
        if path.endswith(".json"):
            req = json.load(open(path))
        else:
            req = pb_metrics_to_json(open(path, "rb").read())
        for line in metrics_lines(req):
            print(line)
        return
    items = []
    if os.path.isdir(path):
        suffix = MSG[what][2]
        names = sorted(os.listdir(path), key=lambda n: (int(n.split("-")[0]) if n[0].isdigit() else 0, n))
        for n in names:
            p = os.path.join(path, n)
            if n.endswith("-%s.bin" % suffix):
                data = open(p, "rb").read()
                items += list((spans_from_pb if what == "spans" else logs_from_pb)(data))
            elif n.endswith("-%s.json" % suffix):
                req = json.load(open(p))
                items += list((spans_from_json if what == "spans" else logs_from_json)(req))
    else:
        for line in open(path):
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            if what == "spans":
                items += list(spans_from_json(d))
            else:
                items.append(dict(trace=d["trace_id"] or "-", span=d["span_id"] or "-", severity=d["severity"],
                                  body=d["body"]))
    for it in items:
        if what == "spans":
            attrs = " ".join("%s=%s" % (k, str(v).replace(" ", "_")) for k, v in sorted(it["attrs"].items()))
            print(it["trace"], it["span"], it["parent"], it["kind"], it["name"].replace(" ", "_"), it["status"], attrs)
        else:
            print(it["trace"], it["span"], it["severity"] or "-", it["body"])


if __name__ == "__main__":
    main()
