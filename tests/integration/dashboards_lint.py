#!/usr/bin/env python3
"""dashboards_lint.py -- what the dashboards promise besides "every query evaluates" (test_dashboards.sh does that
part on a live Prometheus):

  - an `instance` variable (label_values(...), All = ".*", multi) on every dashboard, and every series selector of
    every panel query and of every other label_values() variable filtered by instance=~"$instance";
  - every latency target (one that reads a histogram's _bucket series) has exemplars on, and no other target does;
  - a dashboard with latency panels declares the DS_TRACES input (a trace datasource) and uses it;
  - the provisioning example's Prometheus datasource links the exemplars' trace_id label to that trace datasource.

usage: dashboards_lint.py DASHBOARD_DIR    prints one line per problem and "N dashboards, M problems"; exit 1 on any.
"""
import glob
import json
import os
import re
import sys

import yaml

INST = 'instance=~"$instance"'
# a PromQL expression as tokens: strings, {matchers}, [ranges], identifiers, anything else one character at a time
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\}|\[[^\]]*\]|[A-Za-z_:][A-Za-z0-9_:]*|\S')
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
            "inf", "nan",
            # aggregation operators: their grouping may come before the parenthesis ("sum by (le) (...)")
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
            "quantile"}
LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}  # followed by a (label, ...) list


def selectors(expr):
    """the series selectors of a PromQL expression: (start, end, metric name, "{matchers}" or None)"""
    toks = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(expr)]
    out, i = [], 0
    while i < len(toks):
        s, e, t = toks[i]
        nxt = toks[i + 1][2] if i + 1 < len(toks) else ""
        if t in LISTS:
            i += 1
            if i < len(toks) and toks[i][2] == "(":  # skip the label list
                while i < len(toks) and toks[i][2] != ")":
                    i += 1
            i += 1
            continue
        if re.match(r"[A-Za-z_:]", t) and t not in KEYWORDS and nxt != "(":
            if nxt.startswith("{"):
                out.append((s, toks[i + 1][1], t, nxt))
                i += 2
                continue
            out.append((s, e, t, None))
        elif t.startswith("{"):
            out.append((s, e, "", t))
        i += 1
    return out


def main(d):
    bad, n = [], 0
    prov = yaml.safe_load(open(os.path.join(d, "provisioning", "datasources.yml")))
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        n += 1
        name = os.path.basename(path)
        dash = json.load(open(path))
        variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
        inst = variables.get("instance")
        if not inst:
            bad.append(f"{name}: no instance variable")
        else:
            q = inst["query"]["query"] if isinstance(inst["query"], dict) else inst["query"]
            if not (q.startswith("label_values(") and q.rstrip(")").endswith(", instance")):
                bad.append(f"{name}: instance variable query is not label_values(..., instance): {q}")
            if not (inst.get("includeAll") and inst.get("multi") and inst.get("allValue") == ".*"):
                bad.append(f"{name}: instance variable is not multi-value with All = .*")
        queries = []
        for v in variables.values():
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if v["name"] != "instance" and isinstance(q, str) and q.startswith("label_values("):
                queries.append(("variable " + v["name"], q[len("label_values("):-1].rsplit(",", 1)[0], None))
        latency = traces_used = 0
        for p in dash["panels"]:
            ds = p.get("datasource", {}).get("uid")
            if ds == "${DS_TRACES}":
                traces_used += 1
                continue
            for t in p.get("targets", []):
                queries.append((p["title"] + " " + t["refId"], t["expr"], t))
        for title, expr, t in queries:
            sels = selectors(expr)
            if not sels:
                bad.append(f"{name}: {title}: no series selector found in {expr}")
            for _, _, metric, m in sels:
                if not m or INST not in m:
                    bad.append(f"{name}: {title}: {metric or '{...}'} not filtered by {INST}")
            if t is None:
                continue
            hist = any(metric.endswith("_bucket") for _, _, metric, _ in sels)
            latency += hist
            if hist != bool(t.get("exemplar")):
                bad.append(f"{name}: {title}: exemplar is {t.get('exemplar')} on a {'latency' if hist else 'non-latency'} target")
        if latency:
            inputs = {i["name"]: i for i in dash.get("__inputs", [])}
            tr = inputs.get("DS_TRACES")
            if not tr or tr.get("type") != "datasource" or tr.get("pluginId") not in ("tempo", "jaeger"):
                bad.append(f"{name}: latency panels but no DS_TRACES datasource input (tempo or jaeger)")
            if variables.get("DS_TRACES", {}).get("type") != "datasource":
                bad.append(f"{name}: no DS_TRACES datasource variable (file-provisioned dashboards resolve ${{DS_TRACES}} by it)")
            if not traces_used:
                bad.append(f"{name}: DS_TRACES declared but no panel uses it")
        if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
            bad.append(f"{name}: no DS_PROMETHEUS datasource variable")
    # the provisioning example: Prometheus' exemplars' trace_id label links to the trace datasource of the same file
    dss = {x.get("uid"): x for x in prov.get("datasources", [])}
    prom = [x for x in dss.values() if x.get("type") == "prometheus"]
    dest = (prom[0].get("jsonData") or {}).get("exemplarTraceIdDestinations") if prom else None
    if not dest:
        bad.append("provisioning/datasources.yml: the Prometheus datasource has no exemplarTraceIdDestinations")
    else:
        for x in dest:
            if x.get("name") != "trace_id":
                bad.append(f"provisioning/datasources.yml: exemplar label {x.get('name')} (obsprobe's is trace_id)")
            target = dss.get(x.get("datasourceUid"), {})
            if target.get("type") not in ("tempo", "jaeger"):
                bad.append(f"provisioning/datasources.yml: datasourceUid {x.get('datasourceUid')} is no tempo/jaeger datasource of the file")
    for b in bad:
        print("LINT " + b)
    print(f"{n} dashboards, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
