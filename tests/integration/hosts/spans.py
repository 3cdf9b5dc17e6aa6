#!/usr/bin/python3
"""spans.py -- every span an OTLP/JSON receiver directory holds (tests/otlp/receiver.py: K-traces.json), one line each:

    HOST INSTANCE SERVICE KIND TRACE SPAN PARENT PATH

HOST and INSTANCE are the resource's host.name and service.instance.id, SERVICE its service.name, KIND
SERVER/CLIENT/INTERNAL, PATH the span's url.path ("-" when absent or empty).
"""
import json
import os
import sys

KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT"}


def sval(v):
    for k in ("stringValue", "intValue"):
        if k in v:
            return str(v[k])
    return "-"


def main():
    d = sys.argv[1]
    for name in sorted(os.listdir(d), key=lambda n: (int(n.split("-")[0]) if n[0].isdigit() else 0, n)):
        if not name.endswith("-traces.json"):
            continue
        req = json.load(open(os.path.join(d, name)))
        for rs in req.get("resourceSpans", []):
            res = {a["key"]: sval(a["value"]) for a in rs.get("resource", {}).get("attributes", [])}
            for ss in rs.get("scopeSpans", []):
                for sp in ss.get("spans", []):
                    attrs = {a["key"]: sval(a["value"]) for a in sp.get("attributes", [])}
                    print(res.get("host.name", "-"), res.get("service.instance.id", "-"),
                          res.get("service.name", "-"), KINDS.get(sp.get("kind"), "?"), sp.get("traceId") or "-",
                          sp.get("spanId") or "-", sp.get("parentSpanId") or "-", attrs.get("url.path") or "-")


if __name__ == "__main__":
    main()
