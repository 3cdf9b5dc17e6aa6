#!/usr/bin/env python3
"""check-queries.py -- evaluate every PromQL expression of the dashboards and rules on a live Prometheus.

usage: check-queries.py --prometheus http://127.0.0.1:9090 [--expect-nonempty FILE] [--rate-interval 1m]
Exit status 1 when any expression errors, or an expression listed in FILE (one panel title or rule name
per line) returns no data."""
import argparse, glob, json, os, re, sys, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def exprs():
    for path in sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json"))):
        d = json.load(open(path))
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if q and q.startswith("label_values("):
                # label_values(metric, label) -> the series it reads
                inner = q[len("label_values("):-1].rsplit(",", 1)[0]
                yield os.path.basename(path), "variable " + v["name"], inner
        for p in d.get("panels", []):
            if p.get("datasource", {}).get("type", "prometheus") != "prometheus":
                continue  # the Trace panel: a trace datasource's query, not PromQL
            for t in p.get("targets", []):
                yield os.path.basename(path), p["title"], t["expr"]
    import re
    rules = open(os.path.join(ROOT, "alerts", "obsprobe.rules.yml")).read()
    # a small reader for our own rules file: "- alert:/record: NAME" then "expr: ..." (single line or block)
    name, lines = None, rules.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"\s*- (alert|record): (\S+)", line)
        if m:
            name = m.group(2)
        m = re.match(r"(\s*)expr: (.*)", line)
        if m and name:
            if m.group(2).strip() == "|":
                ind, body = len(m.group(1)), []
                for nxt in lines[i + 1:]:
                    if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= ind:
                        break
                    body.append(nxt.strip())
                yield "obsprobe.rules.yml", name, " ".join(body)
            else:
                yield "obsprobe.rules.yml", name, m.group(2)


def substitute(expr, rate):
    for k, v in (("$__rate_interval", rate), ("$__interval", rate), ("$__range", "1h")):
        expr = expr.replace(k, v)
    # every template variable as its "All" (allValue ".*"): "$service", "$db_system", "${server_address}"
    return re.sub(r'"\$\{?[A-Za-z]\w*\}?"', '".*"', expr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090")
    ap.add_argument("--expect-nonempty")
    ap.add_argument("--rate-interval", default="1m")
    a = ap.parse_args()
    want = set()
    if a.expect_nonempty:
        want = {l.strip() for l in open(a.expect_nonempty) if l.strip() and not l.startswith("#")}
    bad = n = 0
    seen = set()
    for src, title, expr in exprs():
        q = substitute(expr, a.rate_interval)
        url = a.prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        n += 1
        try:
            r = json.load(urllib.request.urlopen(url, timeout=10))
        except urllib.error.HTTPError as e:
            r = json.load(e)
        except Exception as e:  # noqa
            r = {"status": "error", "error": str(e)}
        if r.get("status") != "success":
            print(f"ERROR {src}: {title}: {r.get('error')}\n      {q}")
            bad += 1
            continue
        rows = len(r["data"]["result"])
        if title in want:
            seen.add(title)
            if rows == 0:
                print(f"EMPTY {src}: {title}: no data\n      {q}")
                bad += 1
                continue
        print(f"ok    {src}: {title}: {rows} series")
    for t in sorted(want - seen):
        print(f"MISSING expected panel/rule '{t}' not found in dashboards or rules")
        bad += 1
    print(f"{n} expressions, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
