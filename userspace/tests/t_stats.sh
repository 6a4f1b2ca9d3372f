#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl status and stats against a fake sysfs tree: text, JSON (parsed by
# python3), Prometheus (checked by promtool), sorting and filtering.
. "$(dirname "$0")/lib.sh"
fake_module
fake_policy pg 1 "lport=5432 idle=60 mode=fill" 12
fake_policy web 0 "rport=80-443 idle=30 mode=override" 30

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }

# ---- status ----
run status
expect_match "status: enforce" '^enforce: on' "$out"
expect_match "status: number of policies" '^policies: 2$' "$out"
expect_match "status: a counter" '^  probes_sent +30$' "$out"
expect_match "status: a limit" '^  sockets_max +65536$' "$out"
out=$("$KAPCTL" -j status)
expect_eq "status JSON: enforce, policies, counters, limits" "True 2 30 65536" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["enforce"], d["policies"], d["stats"]["probes_sent"], d["limits"]["sockets_max"]])')"
rm "$FAKE/stats/app_overrides" "$FAKE/limits/hooks_missed"
out=$("$KAPCTL" -j status)
expect_eq "status JSON: missing files are left out" "False False 8" \
	"$(json_get "$out" '" ".join(str(x) for x in ["app_overrides" in d["stats"], "hooks_missed" in d["limits"], len(d["stats"])])')"
echo 90 > "$FAKE/stats/app_overrides"
echo 3 > "$FAKE/limits/hooks_missed"

# ---- global ----
run stats
expect_eq "stats: the global view by default" "probes_sent 30" "$(grep '^probes_sent' <<< "$out" | tr -s ' ')"
run stats global
expect_eq "stats global: every counter, then the limits" "9 8" \
	"$(sed -n '1,/^$/p' <<< "$out" | grep -c '^[a-z]') $(sed -n '/^limits:/,$p' <<< "$out" | grep -c '^[a-z]*_[a-z]* ')"
out=$("$KAPCTL" -j stats global)
expect_eq "stats global JSON" "10 90 3" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["stats"]["sockets_governed"], d["stats"]["app_overrides"], d["limits"]["ports_max"]])')"
expect_eq "--format json equals -j" "$out" "$("$KAPCTL" stats global --format json)"
expect_eq "stats global JSON: enforce and the number of policies, as Prometheus has them" \
	"True $(ls "$FAKE/policies" | wc -l)" \
	"$(json_get "$out" '" ".join(str(d.get(k)) for k in ["enforce", "policies"])')"

# ---- ports ----
run stats ports
expect_eq "stats ports: header and lines in port order" "PORT GOVERNED KA_ON SENT ANSWERED DEFERRED RESETS ICMP TIMEOUTS OVERRIDES|22 0 0 4 4 0 0 0 0 0|443 2 2 30 25 1 2 1 3 0|5432 5 5 12 12 0 0 0 0 1" \
	"$(tr -s ' ' <<< "$out" | paste -sd '|')"
run stats ports --sort probes_sent
expect_eq "stats ports --sort probes_sent: largest first" "443 5432 22" "$(tail -n +2 <<< "$out" | awk '{ print $1 }' | paste -sd ' ')"
run stats ports --sort app_overrides
expect_eq "stats ports --sort app_overrides" "5432" "$(tail -n +2 <<< "$out" | awk 'NR == 1 { print $1 }')"
run stats --port 443
expect_eq "stats --port: the ports view, one line" "443 2 2 30 25 1 2 1 3 0" "$(tail -n +2 <<< "$out" | tr -s ' ')"
run stats ports --port https
expect_eq "stats ports --port takes a service name" "443" "$(tail -n +2 <<< "$out" | awk '{ print $1 }')"
run stats ports --port 1-1000
expect_eq "stats ports --port takes a range" "22 443" "$(tail -n +2 <<< "$out" | awk '{ print $1 }' | paste -sd ' ')"
run stats ports --port 9999
expect_eq "stats ports --port without activity" "no activity on these ports" "$out"
out=$("$KAPCTL" -j stats ports --sort timeouts)
expect_eq "stats ports JSON: sorted, typed" "443 3 3 False" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["ports"][0]["port"], d["ports"][0]["timeouts"], len(d["ports"]), "other" in d])')"
echo "other 1 0 7 7 0 0 0 0 0" >> "$FAKE/ports"
out=$("$KAPCTL" -j stats ports)
expect_eq "stats ports JSON: the other line apart" "7 3" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["other"]["probes_sent"], len(d["ports"])])')"
run stats ports --sort probes_sent
expect_eq "stats ports: other stays last when sorting" "other" "$(tail -n 1 <<< "$out" | awk '{ print $1 }')"

# ---- policies ----
run stats policies
expect_eq "stats policies: in match order" "0 web|1 pg" "$(tail -n +2 <<< "$out" | awk '{ print $1, $2 }' | paste -sd '|')"
run stats --policy pg
expect_eq "stats --policy: the policies view, one policy" "1 pg 12" "$(tail -n +2 <<< "$out" | awk '{ print $1, $2, $5 }')"
run stats policies --policy nope
expect_eq "stats --policy of a missing policy: exit 1" "1 kapctl: policy 'nope' does not exist" "$rc $out"
out=$("$KAPCTL" -j stats policies --sort probes_sent)
expect_eq "stats policies JSON, sorted" "web pg" \
	"$(json_get "$out" '" ".join(p["name"] for p in d["policies"])')"

# ---- errors ----
run stats global --port 22
expect_eq "--port is not an option of the global view" "2 kapctl: stats global: unknown option '--port'" "$rc $(head -n 1 <<< "$out")"
run stats --port 22 --policy pg
expect_eq "--port and --policy together: exit 2, said so" \
	"2 kapctl: stats: --port and --policy cannot be combined (--port is for the ports view, --policy for the policies view)" \
	"$rc $(head -n 1 <<< "$out")"
run stats --sort probes_sent
expect_eq "--sort with the global view: exit 2" 2 "$rc"
run stats ports --policy pg
expect_eq "--policy with the ports view: unknown option" "2 kapctl: stats ports: unknown option '--policy'" "$rc $(head -n 1 <<< "$out")"
save=$KAPCTL_SYSFS
export KAPCTL_SYSFS=/nonexistent/kapolicy
run stats
expect_eq "stats without the module: exit 1" "1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
out=$("$KAPCTL" -j stats ports 2>/dev/null); rc=$?
expect_eq "... JSON error" "1 the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $(json_get "$out" 'd["error"]')"
export KAPCTL_SYSFS=$save

# ---- Prometheus ----
prom_ok() {
	local desc=$1 text=$2 res
	if ! command -v promtool > /dev/null; then
		skip "$desc" "promtool (Debian package prometheus) is not installed"
		return
	fi
	res=$(promtool check metrics <<< "$text" 2>&1)
	if [ $? -eq 0 ]; then
		ok "$desc"
	else
		fail "$desc" "$res"
	fi
}
out=$("$KAPCTL" stats --format prometheus)
prom_ok "prometheus global: promtool check metrics passes" "$out"
expect_eq "prometheus global: a counter" "kapolicy_probes_sent_total 30" "$(grep '^kapolicy_probes_sent_total ' <<< "$out")"
expect_eq "prometheus global: HELP and TYPE" "# TYPE kapolicy_timeouts_total counter" "$(grep '^# TYPE kapolicy_timeouts_total' <<< "$out")"
expect_eq "prometheus global: a limit as a gauge" "# TYPE kapolicy_sockets_tracked gauge" "$(grep '^# TYPE kapolicy_sockets_tracked ' <<< "$out")"
expect_eq "prometheus global: policies and enforce" "kapolicy_policies 2|kapolicy_enforce 1" \
	"$(grep -E '^kapolicy_(policies|enforce) ' <<< "$out" | paste -sd '|')"
out=$("$KAPCTL" stats ports --format prometheus)
prom_ok "prometheus ports: promtool check metrics passes" "$out"
expect_eq "prometheus ports: labelled by port, other included" \
	'kapolicy_port_probes_sent_total{port="22"} 4|kapolicy_port_probes_sent_total{port="443"} 30|kapolicy_port_probes_sent_total{port="5432"} 12|kapolicy_port_probes_sent_total{port="other"} 7' \
	"$(grep '^kapolicy_port_probes_sent_total' <<< "$out" | paste -sd '|')"
out=$("$KAPCTL" stats policies --format prometheus)
prom_ok "prometheus policies: promtool check metrics passes" "$out"
expect_eq "prometheus policies: labelled by policy" \
	'kapolicy_policy_probes_sent_total{policy="web"} 30|kapolicy_policy_probes_sent_total{policy="pg"} 12' \
	"$(grep '^kapolicy_policy_probes_sent_total' <<< "$out" | paste -sd '|')"
out=$( "$KAPCTL" stats global --format prometheus; "$KAPCTL" stats ports --format prometheus; "$KAPCTL" stats policies --format prometheus)
prom_ok "prometheus: the three views together pass too (one textfile)" "$out"
# ---- stats all, --output, the module's state ----
out=$("$KAPCTL" stats all --format prometheus)
prom_ok "stats all --format prometheus: one scrape, promtool passes" "$out"
expect_eq "stats all: every view, the module loaded, both versions" "1 1 1 1 1" \
	"$(grep -c '^kapolicy_probes_sent_total ' <<< "$out") $(grep -c '^kapolicy_port_probes_sent_total{port="443"}' <<< "$out") $(grep -c '^kapolicy_policy_probes_sent_total{policy="pg"}' <<< "$out") $(grep -c '^kapolicy_module_loaded 1$' <<< "$out") $(grep -cE '^kapolicy_build_info\{kapctl="[0-9.]+",module="9.8.7"\} 1$' <<< "$out")"
out=$("$KAPCTL" stats all -j)
expect_eq "stats all -j: one document, a key per view" "global policies ports" \
	"$(json_get "$out" '" ".join(sorted(k for k in d if k != "format_version"))')"
expect_eq "stats global -j (after the command) is JSON" "30" \
	"$(json_get "$("$KAPCTL" stats global -j)" 'd["stats"]["probes_sent"]')"
run stats all --format prometheus --output "$FAKE/kapolicy.prom"
expect_eq "--output: exit 0, nothing on stdout, the file written, no temporary left" \
	"0 |$("$KAPCTL" stats all --format prometheus | md5sum)|kapolicy.prom" \
	"$rc $out|$(md5sum < "$FAKE/kapolicy.prom")|$(cd "$FAKE" && ls | grep kapolicy.prom | paste -sd ' ')"
echo old > "$FAKE/kept.prom"
run stats policies --policy nosuch --format prometheus --output "$FAKE/kept.prom"
expect_eq "--output: a failure leaves the old file and no temporary" "1 old kept.prom" \
	"$rc $(cat "$FAKE/kept.prom") $(cd "$FAKE" && ls | grep kept.prom | paste -sd ' ')"
out=$(KAPCTL_SYSFS=/nonexistent "$KAPCTL" stats all --format prometheus); rc=$?
expect_eq "prometheus without the module: exit 0 and kapolicy_module_loaded 0" "0 kapolicy_module_loaded 0" \
	"$rc $(grep '^kapolicy_module_loaded' <<< "$out")"
prom_ok "prometheus without the module: promtool passes" "$out"

if command -v promtool > /dev/null; then
	res=$(printf '# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n' | promtool check metrics 2>&1)
	[ $? -ne 0 ] && ok "promtool refuses bad input here (the check can fail)" ||
		fail "promtool refuses bad input here (the check can fail)" "$res"
fi
finish
