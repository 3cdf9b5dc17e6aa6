#!/usr/bin/python3
"""promq.py -- one instant query against a Prometheus, its series one per line, sorted:

    promq.py URL EXPR LABEL...      ->  "VALUE1 VALUE2 ... = SAMPLE" (the named labels' values, then the number)
"""
import json
import sys
import urllib.parse
import urllib.request


def main():
    url, expr, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
    q = url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    r = json.load(urllib.request.urlopen(q, timeout=10))
    if r.get("status") != "success":
        sys.exit("query failed: %s" % r)
    out = []
    for s in r["data"]["result"]:
        v = float(s["value"][1])
        out.append(" ".join([s["metric"].get(k, "-") for k in labels] + ["=", "%g" % v]))
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    main()
