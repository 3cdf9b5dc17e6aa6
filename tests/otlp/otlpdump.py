#!/usr/bin/env python3
"""otlpdump.py -- print the spans or log records obsprobe emitted, one per line, from any of its outputs.

    otlpdump.py spans DIR|FILE    DIR: a receiver.py directory (protobuf decoded with protoc against the
                                  OpenTelemetry schema in tests/otlp, or OTLP/JSON); FILE: a --spans-file
    otlpdump.py logs DIR|FILE     FILE: a --log-file

Span lines:  trace_id span_id parent_id kind name status attr=value ...
Log lines:   trace_id span_id severity_text body
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


def main():
    what, path = sys.argv[1], sys.argv[2]
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
