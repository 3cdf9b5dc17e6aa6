#!/usr/bin/env bash
# test_alerts.sh -- promtool check rules and the rule unit tests (firing and not firing for every alert)
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { bad "promtool missing (scripts/install-deps.sh installs prometheus)"; finish; }
promtool check rules "$ROOT/alerts/obsprobe.rules.yml" >"$TMP/check" 2>&1 && ok "promtool check rules" || bad "promtool check rules: $(cat "$TMP/check")"
for t in "$ROOT"/alerts/tests/*.yml; do
	(cd "$ROOT/alerts/tests" && promtool test rules "$(basename "$t")") >"$TMP/t" 2>&1 && ok "promtool test rules $(basename "$t")" || { bad "$(basename "$t")"; cat "$TMP/t"; }
done
# every alert has a test that expects it to fire, a runbook, and the annotations the runbook link needs
for a in $(grep -oP '^\s*- alert: \K\w+' "$ROOT/alerts/obsprobe.rules.yml"); do
	grep -q "alertname: $a\$" "$ROOT"/alerts/tests/*.yml && ok "$a has tests" || bad "$a has no test"
	[ -s "$ROOT/alerts/runbooks/$a.md" ] && ok "$a has a runbook" || bad "$a has no runbook"
	grep -q "runbooks/$a.md" "$ROOT/alerts/obsprobe.rules.yml" && ok "$a links its runbook" || bad "$a: runbook_url"
done
for f in "$ROOT"/dashboards/*.json; do
	python3 -m json.tool "$f" >/dev/null && ok "$(basename "$f") is valid JSON" || bad "$(basename "$f") JSON"
done
finish
