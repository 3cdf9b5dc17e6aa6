#!/usr/bin/python3
"""deploy_check.py -- deploy/ against what obsprobe says it needs (`obsprobe check --json`'s "deploy").

    deploy_check.py CHECK_JSON DEPLOY_DIR

Prints PASS/FAIL lines (as lib.sh does) and exits 1 when one failed.  The systemd unit is read with a small
parser of its own (sections, Key=Value, comments); the manifests with PyYAML (there is no kubectl here).
"""
import json
import os
import re
import sys

import yaml

fails = 0


def check(name, want, got):
    global fails
    if want == got:
        print("PASS %s (%s)" % (name, got))
    else:
        print("FAIL %s: expected %r, got %r" % (name, want, got))
        fails += 1


def unit_file(path):
    """{section: {key: [values in order]}}; an empty assignment resets the list, as systemd does"""
    out, sec = {}, None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            sec = out.setdefault(line[1:-1], {})
            continue
        key, _, val = line.partition("=")
        vals = sec.setdefault(key.strip(), [])
        if val.strip():
            vals.append(val.strip())
        else:
            vals.clear()
    return out


def words(vals):
    return [w for v in vals for w in v.split()]


need = json.load(open(sys.argv[1]))["deploy"]
deploy = sys.argv[2]
agent = need["node_agent"]
caps = set(agent["capabilities"]) | set(agent["optional"])
paths = {p["path"]: p["access"] for p in agent["paths"]}
not_needed = {p["path"] for p in need["not_needed"]}
check("check --json: the node agent needs CAP_BPF and CAP_PERFMON", True,
      {"CAP_BPF", "CAP_PERFMON"} <= set(agent["capabilities"]))
check("check --json: kept is within what it starts with", True, set(agent["kept"]) <= set(agent["capabilities"]))

# ---- systemd ----
u = unit_file(os.path.join(deploy, "systemd/obsprobe.service"))
svc = u.get("Service", {})
check("unit: CapabilityBoundingSet = the node agent's capabilities + optional", sorted(caps),
      sorted(words(svc.get("CapabilityBoundingSet", []))))
check("unit: no ambient capabilities", [], words(svc.get("AmbientCapabilities", [])))
check("unit: runs as uid 0 (capabilities, not root's all)", ["root"], svc.get("User", ["root"]))
check("unit: NoNewPrivileges", ["yes"], svc.get("NoNewPrivileges"))
exec_start = svc.get("ExecStart", [""])[-1].split()
check("unit: ExecStart is obsprobe attach --config", ["/usr/local/bin/obsprobe", "attach", "--config"],
      exec_start[:3])
envsel = [l.split("=", 1)[1].split() for l in open(os.path.join(deploy, "systemd/obsprobe.env"))
          if l.startswith("OBSPROBE_SELECTORS=")]
check("unit: its env file's default selectors are discovery options", True,
      len(envsel) == 1 and len(envsel[0]) >= 2 and all(o in ("--exe", "--port", "--cgroup", "--pid") for o in envsel[0][::2]))
breaks = []
for key, bad in (("ProtectProc", {"invisible", "noaccess"}), ("ProcSubset", {"pid"}), ("PrivateUsers", {"yes", "true"}),
                 ("PrivateNetwork", {"yes", "true"})):
    for v in svc.get(key, []):
        if v in bad:
            breaks.append("%s=%s" % (key, v))
if svc.get("SystemCallFilter"):
    breaks.append("SystemCallFilter")
for key in ("InaccessiblePaths", "TemporaryFileSystem"):
    for p in words(svc.get(key, [])):
        if any(n == p.lstrip("-") or n.startswith(p.lstrip("-").rstrip("/") + "/") for n in paths):
            breaks.append("%s=%s" % (key, p))
rw = words(svc.get("ReadWritePaths", []))
for p, access in paths.items():
    if access == "rw" and p not in rw:
        breaks.append("%s not in ReadWritePaths" % p)
check("unit: no sandboxing directive hides or blocks a path the agent needs", [], breaks)
check("unit: [Install] WantedBy", ["multi-user.target"], u.get("Install", {}).get("WantedBy"))
conf = json.load(open(os.path.join(deploy, "systemd/obsprobe.json")))
check("unit: its config listens on loopback (scrape it locally, or add --web-config)", True,
      conf["listen"].startswith("127.0.0.1:"))

# ---- kubernetes ----
docs = []
for name in sorted(os.listdir(os.path.join(deploy, "kubernetes"))):
    if name.endswith(".yaml"):
        docs += [d for d in yaml.safe_load_all(open(os.path.join(deploy, "kubernetes", name))) if d]
kinds = {}
for d in docs:
    kinds.setdefault(d["kind"], []).append(d)
check("manifests: kinds", ["ConfigMap", "DaemonSet", "Namespace", "PodMonitor", "Service", "ServiceAccount"],
      sorted(kinds))
ds = kinds["DaemonSet"][0]
pod = ds["spec"]["template"]["spec"]
ctr = pod["containers"][0]
sc = ctr["securityContext"]
check("DaemonSet: hostPID (the node's /proc)", True, pod.get("hostPID") is True and "/proc" in paths)
check("DaemonSet: selector matches the pod's labels", True,
      ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items())
check("DaemonSet: capabilities add = the node agent's + optional", sorted(caps),
      sorted("CAP_" + c for c in sc["capabilities"]["add"]))
check("DaemonSet: capabilities drop ALL", ["ALL"], sc["capabilities"]["drop"])
check("DaemonSet: not privileged, uid 0, read-only root", (False, 0, True),
      (sc.get("privileged"), sc.get("runAsUser"), sc.get("readOnlyRootFilesystem")))
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
for p, access in sorted(paths.items()):
    if p == "/proc":
        continue
    m = mounts.get(p)
    host = vols.get(m["name"], {}).get("hostPath", {}).get("path") if m else None
    check("DaemonSet: %s is the host's, %s" % (p, access), (p, access == "ro"),
          (host, bool(m.get("readOnly"))) if m else None)
check("DaemonSet: mounts nothing the agent does not need", [],
      sorted(p for p in mounts if p in not_needed or any(p.startswith(n + "/") for n in not_needed)))
cm = {c["metadata"]["name"]: c for c in kinds["ConfigMap"]}
config_vol = [v for v in pod["volumes"] if "configMap" in v][0]
data = cm[config_vol["configMap"]["name"]]["data"]
kconf = json.loads(data["obsprobe.json"])
port = int(kconf["listen"].rsplit(":", 1)[1])
check("DaemonSet: listens on every address of the node", "0.0.0.0", kconf["listen"].rsplit(":", 1)[0])
cport = {p["name"]: p["containerPort"] for p in ctr["ports"]}
check("DaemonSet: the metrics port is the config's", port, cport.get("metrics"))
cmd = ctr["command"]
config_mount = [m for m, v in mounts.items() if v["name"] == config_vol["name"]][0]
check("DaemonSet: runs the ConfigMap's entrypoint", True,
      cmd[-1].startswith(config_mount + "/") and os.path.basename(cmd[-1]) in data)
check("DaemonSet: the entrypoint's --config is the ConfigMap's", True,
      (config_mount + "/obsprobe.json") in data[os.path.basename(cmd[-1])])
for e in ctr.get("env", []):
    ref = e.get("valueFrom", {}).get("configMapKeyRef")
    if ref:
        check("DaemonSet: env %s's key is in the ConfigMap" % e["name"], True, ref["key"] in cm[ref["name"]]["data"])
sel = data.get("selectors", "").split()
check("ConfigMap: selectors are discovery options, each with a value", True,
      len(sel) >= 2 and len(sel) % 2 == 0 and all(o in ("--exe", "--port", "--cgroup", "--pid") for o in sel[::2]))
check("DaemonSet: the entrypoint execs obsprobe with the selectors (obsprobe follows new processes itself)", True,
      any(line.startswith("exec /usr/local/bin/obsprobe attach ") and line.endswith(" $OBSPROBE_SELECTORS")
          for line in data[os.path.basename(cmd[-1])].splitlines()) and
      any(e.get("valueFrom", {}).get("configMapKeyRef", {}).get("key") == "selectors" for e in ctr.get("env", [])))
ann = ds["spec"]["template"]["metadata"]["annotations"]
check("DaemonSet: prometheus.io annotations", ("true", str(port), "/metrics"),
      (ann.get("prometheus.io/scrape"), ann.get("prometheus.io/port"), ann.get("prometheus.io/path")))
svc_k = kinds["Service"][0]
check("Service: headless, selects the agents, port metrics -> %d" % port, (None, True, "metrics", port),
      (svc_k["spec"]["clusterIP"] if svc_k["spec"]["clusterIP"] != "None" else None,
       svc_k["spec"]["selector"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
       svc_k["spec"]["ports"][0]["targetPort"], svc_k["spec"]["ports"][0]["port"]))
pm = kinds["PodMonitor"][0]
check("PodMonitor: selects the agents and their metrics port", (True, True),
      (pm["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
       pm["spec"]["podMetricsEndpoints"][0]["port"] in cport))
check("every object in the obsprobe namespace", {"obsprobe"},
      {d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs})
check("DaemonSet: its ServiceAccount exists", True,
      pod["serviceAccountName"] in {s["metadata"]["name"] for s in kinds["ServiceAccount"]})

# ---- the other side ----
scrape = yaml.safe_load(open(os.path.join(deploy, "prometheus/kubernetes-scrape.yml")))["scrape_configs"][0]
keys = {r.get("source_labels", [None])[-1] for r in scrape["relabel_configs"]}
check("kubernetes-scrape.yml: reads the annotations the DaemonSet sets", True,
      all("__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", a) in keys
          for a in ann if a.startswith("prometheus.io/")))
check("DaemonSet: AppArmor off both ways (field, pre-1.30 annotation)", ("Unconfined", "unconfined"),
      (sc.get("appArmorProfile", {}).get("type"),
       ann.get("container.apparmor.security.beta.kubernetes.io/" + ctr["name"])))
otel = yaml.safe_load(open(os.path.join(deploy, "otelcol/otelcol.yaml")))
oport = otel["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1]
check("otelcol: its OTLP/HTTP port is the one both configs export to", [oport, oport],
      [re.search(r":(\d+)", c["otlp_endpoint"]).group(1) for c in (conf, kconf)])
check("otelcol: associates pods by k8s.pod.uid (the attribute obsprobe sets)", "k8s.pod.uid",
      otel["processors"]["k8sattributes"]["pod_association"][0]["sources"][0]["name"])
sys.exit(1 if fails else 0)
