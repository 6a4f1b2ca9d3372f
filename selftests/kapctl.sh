#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapctl against the real module: every command, its text and its JSON
# (read by python3's json), Prometheus output (promtool check metrics), and
# what it shows checked against the module's own files and the witnesses of
# net_lib.sh.
#
#   status    loaded/not loaded, version, enforce, counters
#   policy    add (service names, cgroup paths), del, move, list, show,
#             enforce; refusals before the kernel (exit 2) and by the
#             kernel (exit 1: exists, no such cgroup, busy, not root)
#   apply     a file becomes the table; a file with one bad line, and one
#             whose line the kernel refuses (transaction aborted), change
#             nothing; applying the same file again keeps the policies
#   stats     the three views against sysfs, Prometheus
#   watch     sees the probes of a live connection (client keepalive
#             idle=1 intvl=1) and a policy's own events; leaves no tracefs
#             instance behind after SIGINT, SIGTERM or --count
#   sockets   --at-risk finds an idle connection without keepalive (IPv4
#             and IPv6) and not one a policy covers; policy and timer of
#             a governed connection
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5070	# the watch scenario
PA=5071		# sockets: a server port no policy covers
PB=5072		# sockets: a server port the "cover" policy covers
CG=/sys/fs/cgroup/kapctl-$$
TRACEFS=/sys/kernel/tracing

setup
ktap_plan 61
unload_mod_if_loaded
load_mod
net_setup
mkdir -p $CG/a || die "no cgroup v2 at /sys/fs/cgroup"
push_cleanup "rmdir $CG/a $CG 2>/dev/null"
push_cleanup "rm -f $WORK/*.conf"

# py(json, expression on d) - a value of a JSON document, read by python3
function py() {
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

# run(args...) - kapctl; leaves OUT (stdout and stderr) and RC
function run() {
	log "% kapctl $*"
	OUT=$(kapctl "$@" 2>&1)
	RC=$?
}

# table - the policy table as sysfs shows it: "name order spec" lines
function table() {
	local p
	for p in "$SYSFS_DIR"/policies/*; do
		[ -d "$p" ] && echo "$(basename "$p") $(cat "$p/order") $(cat "$p/spec")"
	done | sort -k2n
}

function no_instance_left() {
	! ls "$TRACEFS/instances" | grep -q '^kapctl-'
}

# watch_ready(pid) - the watch of pid (started as "$KAP_KAPCTL" ... &, so that
# $! is kapctl itself) has enabled its events
WATCHES_SEEN=0
function watch_ready() {
	if loop_until "grep -q '[1X]' $TRACEFS/instances/kapctl-$1/events/kapolicy/enable 2>/dev/null"; then
		WATCHES_SEEN=$((WATCHES_SEEN + 1))
	else
		log "watch $1 did not enable its events"
	fi
}

# ---- status ----------------------------------------------------------------
run status
expect_eq "status: loaded, the module's version, exit 0" "0 loaded $(cat $SYSFS_DIR/version)" \
	"$RC $(awk '/^module:/ { m = $2 } /^version:/ { v = $2 } END { print m, v }' <<< "$OUT")"
J=$(kapctl -j status)
expect_eq "status JSON: loaded, enforce on, no policies, the 9 counters as in sysfs" \
	"True True 0 9 $(kap_stat probes_sent)" \
	"$(py "$J" '" ".join(str(x) for x in [d["loaded"], d["enforce"], d["policies"], len(d["stats"]), d["stats"]["probes_sent"]])')"

# ---- policy ----------------------------------------------------------------
run policy add pg lport=postgresql idle=11 intvl=12 cnt=3 keepalive=on
expect_eq "policy add: a service name becomes its port in the kernel's spec" \
	"0 lport=5432 idle=11 intvl=12 cnt=3 keepalive=on mode=fill" "$RC $(cat $SYSFS_DIR/policies/pg/spec)"
id_a=$(stat -c %i $CG/a)
run policy add cg cgroup=$CG/a idle=5
expect_eq "policy add: a cgroup path becomes its id" "0 cgroup=$id_a idle=5 mode=fill" \
	"$RC $(cat $SYSFS_DIR/policies/cg/spec)"
run policy add cg2 cgroup=kapctl-$$/a idle=6 mode=override
expect_eq "policy add: a path relative to the cgroup2 mount" "0 cgroup=$id_a idle=6 mode=override" \
	"$RC $(cat $SYSFS_DIR/policies/cg2/spec)"
before=$(table)
run policy add pg idle=30
expect_eq "policy add of an existing name: exit 1, said plainly" "1 kapctl: policy 'pg' already exists" "$RC $OUT"
run policy add bad idle=0
expect_eq "policy add with idle=0: exit 2 with the parser's message" \
	"2 kapctl: idle: '0' is out of range; allowed: 1-32767 (seconds)" "$RC $(head -n 1 <<< "$OUT")"
run policy add nocg cgroup=999999999 idle=5
expect_eq "policy add of a cgroup id that does not exist: exit 1, said plainly" \
	"1 kapctl: cannot add policy 'nocg': no cgroup with id 999999999 exists" "$RC $OUT"
run policy del nope
expect_eq "policy del of a missing policy: exit 1" "1 kapctl: policy 'nope' does not exist" "$RC $OUT"
expect_eq "the refused commands changed nothing" "$before" "$(table)"

run policy move cg2 0
expect_eq "policy move: cg2 first" "0 0" "$RC $(cat $SYSFS_DIR/policies/cg2/order)"
J=$(kapctl -j policy list)
expect_eq "policy list JSON: match order as sysfs has it" "cg2:0 pg:1 cg:2" \
	"$(py "$J" '" ".join("%s:%s" % (p["name"], p["order"]) for p in d["policies"])')"
expect_eq "policy list JSON: specs as sysfs has them" "$(table | cut -d' ' -f3- | paste -sd '|')" \
	"$(py "$J" '"|".join(p["spec"] for p in d["policies"])')"
run policy list
expect_eq "policy list text: header and one line per policy, in order" "ORDER NAME|0 cg2|1 pg|2 cg" \
	"$(awk '{ print $1, $2 }' <<< "$OUT" | paste -sd '|')"
J=$(kapctl -p policy show pg)
expect_eq "policy show JSON: typed keys and counters" "pg 5432 5432 12 True 9" \
	"$(py "$J" '" ".join(str(x) for x in [d["name"], d["keys"]["lport"]["from"], d["keys"]["lport"]["to"], d["keys"]["intvl"], d["keys"]["keepalive"] is True, len(d["stats"])])')"

run policy enforce off
expect_eq "policy enforce off: sysfs enforce is 0, status says off" "0 0 False" \
	"$RC $(cat $SYSFS_DIR/enforce) $(py "$(kapctl -j status)" 'd["enforce"]')"
run policy enforce on
expect_eq "policy enforce on: sysfs enforce is 1" "0 1 on" "$RC $(cat $SYSFS_DIR/enforce) $(kapctl policy enforce)"

# another process holds a transaction: the kernel says EBUSY
$KAPTOOL ctl --hold 8 "$SYSFS_DIR/control" begin > "$WORK/hold.out" &
HOLD=$!
loop_until "grep -q OK $WORK/hold.out" || log "the transaction did not open"
run policy add busy idle=5
expect_eq "policy add during another's transaction: exit 1, said plainly" \
	"1 kapctl: cannot add policy 'busy': another process has a policy transaction open; try again when it has finished" \
	"$RC $OUT"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null

OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KAP_KAPCTL" policy add nobody idle=5 2>&1)
RC=$?
expect_eq "policy add as a user: refused before writing, said plainly" \
	"1 kapctl: permission denied: changing the policy table needs root ($SYSFS_DIR/control is writable by root only)" \
	"$RC $OUT"
run policy del pg
expect_eq "policy del" "0 cg2 cg" "$RC $(echo $(table | cut -d' ' -f1))"
run -j policy flush
expect_eq "policy flush, JSON" "0 flush " "$RC $(py "$OUT" 'd["command"]') $(table)"

# ---- apply -----------------------------------------------------------------
cat > "$WORK/good.conf" <<EOF
# the boot-time file
web     rport=http-https idle=30 intvl=5 cnt=4 keepalive=on
cg      cgroup=$CG/a idle=5        # a cgroup path
ka      rport=$PORT idle=1 intvl=1 cnt=3 keepalive=on
EOF
run apply "$WORK/good.conf"
expect_eq "apply: the file becomes the table, in file order" \
	"0|web 0 rport=80-443 idle=30 intvl=5 cnt=4 keepalive=on mode=fill|cg 1 cgroup=$id_a idle=5 mode=fill|ka 2 rport=$PORT idle=1 intvl=1 cnt=3 keepalive=on mode=fill" \
	"$RC|$(table | paste -sd '|')"
before=$(table)
sed "s|^cg .*|cg      cgroup=$CG/a idle=0|" "$WORK/good.conf" > "$WORK/bad.conf"
run apply "$WORK/bad.conf"
expect_eq "apply of a file with one bad line: exit 1, its line number" \
	"1 kapctl: $WORK/bad.conf:3: idle: '0' is out of range; allowed: 1-32767 (seconds)" "$RC $(head -n 1 <<< "$OUT")"
expect_eq "... and the table is exactly as before" "$before" "$(table)"
printf 'x1 idle=7\nx2 cgroup=999999999 idle=7\nx3 idle=7\n' > "$WORK/refused.conf"
run apply "$WORK/refused.conf"
expect_eq "apply of a file whose line the kernel refuses: exit 1, the line and why" \
	"1 kapctl: $WORK/refused.conf:2: cannot add policy 'x2': no cgroup with id 999999999 exists; nothing was changed" \
	"$RC $OUT"
expect_eq "... the transaction was aborted: the table is as before" "$before" "$(table)"
expect_eq "... and no transaction is left open" "OK" "$(kap_ctl 'add probe idle=5' && kap_ctl 'del probe' > /dev/null)"
run apply --check "$WORK/bad.conf"
expect_eq "apply --check of the bad file: exit 1, nothing changed" "1 $before" "$RC $(table)"
J=$(kapctl -j apply - < "$WORK/good.conf")
expect_eq "apply - (stdin), JSON: applied, the names" "True web,cg,ka" \
	"$(py "$J" 'str(d["applied"]) + " " + ",".join(d["policies"])')"

# ---- watch: a live connection --------------------------------------------
log "---- watch: a client with keepalive idle=1 intvl=1 on port $PORT ----"
policy "del ka"
server_start $S4 $PORT
"$KAP_KAPCTL" -j watch --port $PORT --duration 60 > "$WORK/watch.json" 2> "$WORK/watch.err" &
W1=$!
"$KAP_KAPCTL" watch --port $((PORT + 100)) --duration 60 > "$WORK/watch.other" 2>&1 &
W2=$!
"$KAP_KAPCTL" watch --port $PORT --event probe_sent --count 2 --duration 60 > "$WORK/watch.count" 2>&1 &
W3=$!
watch_ready $W1
watch_ready $W2
watch_ready $W3
sent0=$(kap_stat probes_sent)
client_start $S4 $PORT --wait 5 --keepalive --idle 1 --intvl 1 --cnt 3
client_wait 30
loop_until "[ \$(grep -c '\"probe_sent\"' $WORK/watch.json) -ge \$(( \$(kap_stat probes_sent) - sent0 )) ]" ||
	log "watch did not see every probe"
client_stop
kill -INT $W1
wait $W1
rc1=$?
kill -TERM $W2
wait $W2
rc2=$?
wait $W3
rc3=$?
sent=$(( $(kap_stat probes_sent) - sent0 ))
log "probes sent: $sent; watch saw: $(grep -c '"probe_sent"' "$WORK/watch.json")"
sed 's/^/# watch: /' "$WORK/watch.json" | head -n 8
if [ "$sent" -ge 3 ] &&
   [ "$(grep -c '"probe_sent"' "$WORK/watch.json")" -eq "$sent" ]; then
	ok "watch -j sees every probe the module counted ($sent)"
else
	fail "watch -j sees every probe the module counted" "sent $sent, seen $(grep -c '"probe_sent"' "$WORK/watch.json")"
fi
expect_eq "watch -j: every line is JSON, every event on port $PORT, answers too" "ok True" \
	"$(python3 -c '
import json, sys
port = int(sys.argv[2]); evs = [json.loads(l) for l in open(sys.argv[1])]
bad = [e for e in evs if e["event"] != "lost" and port not in (e["src_port"], e["dst_port"])]
print("ok" if evs and not bad else "bad %s" % bad[:1], any(e["event"] == "probe_answered" for e in evs))' \
	"$WORK/watch.json" $PORT 2>&1)"
expect_eq "watch -j: the event names the client and server, keepalive in force" "4 $C4 $S4 $PORT 1 1 3 None" \
	"$(python3 -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if "probe_sent" in l][0]
print(e["family"], e["src_addr"], e["dst_addr"], e["dst_port"], e["idle"], e["intvl"], e["cnt"], e["policy"])' "$WORK/watch.json" 2>&1)"
expect_eq "watch ends with exit 0 on SIGINT and on SIGTERM" "0 0" "$rc1 $rc2"
expect_eq "watch --port of another port saw nothing" "" "$(cat "$WORK/watch.other")"
expect_eq "watch --count 2 --event probe_sent: exactly 2 lines, exit 0" "0 2 2" \
	"$rc3 $(wc -l < "$WORK/watch.count") $(grep -cE "^[0-9:.]+ probe_sent +$C4:[0-9]+ -> $S4:$PORT cgroup=[0-9]+ netns=[0-9]+ policy=- probe=[0-9]+ idle=1 intvl=1 cnt=3 user_timeout=0$" "$WORK/watch.count")"
expect_eq "the 3 watches had their instances, none is left (SIGINT, SIGTERM, --count)" "3 0" \
	"$WATCHES_SEEN $(ls "$TRACEFS/instances" | grep -c '^kapctl-')"
expect_eq "watch wrote no error" "" "$(cat "$WORK/watch.err")"

# a policy's own events: policy_applied, then its probes carry its name
log "---- watch: a policy switches keepalive on ----"
policy "add ka rport=$PORT idle=1 intvl=1 cnt=3 keepalive=on"
"$KAP_KAPCTL" -j watch --policy ka --count 3 --duration 60 > "$WORK/watch.policy" 2>&1 &
W4=$!
watch_ready $W4
client_start $S4 $PORT --wait 60
wait $W4
rc4=$?
client_stop
expect_eq "watch --policy ka: policy_applied (connect), then probes, all of ka" \
	"0 policy_applied:connect:ka probe_sent:ka" \
	"$rc4 $(python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
print(":".join([evs[0]["event"], evs[0].get("trigger", "?"), evs[0]["policy"]]),
      ":".join([evs[1]["event"], evs[1]["policy"]]))' "$WORK/watch.policy" 2>&1)"
server_stop

run watch --event nosuch
expect_eq "watch --event of an unknown kind: exit 2" 2 "$RC"
OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KAP_KAPCTL" watch --count 1 2>&1)
RC=$?
expect_eq "watch as a user: exit 1, said plainly" "1 kapctl: watch needs root: it creates a tracefs instance in $TRACEFS/instances" \
	"$RC $OUT"
check "still no tracefs instance left" no_instance_left

# ---- stats -----------------------------------------------------------------
J=$(kapctl -j stats)
expect_eq "stats JSON: each counter as in stats/, no more, no less" \
	"$(for c in $(ls "$SYSFS_DIR/stats" | LC_ALL=C sort); do echo -n "$c=$(kap_stat $c) "; done)" \
	"$(py "$J" '"".join("%s=%d " % (c, d["stats"][c]) for c in sorted(d["stats"]))')"
J=$(kapctl -j stats ports --port $PORT)
expect_eq "stats ports --port JSON: the port's line of the ports file" \
	"$PORT $(kap_port_stat $PORT probes_sent) $(kap_port_stat $PORT probes_answered)" \
	"$(py "$J" '" ".join(str(x) for x in [d["ports"][0]["port"], d["ports"][0]["probes_sent"], d["ports"][0]["probes_answered"]])')"
J=$(kapctl -j stats ports --sort probes_sent)
expect_eq "stats ports --sort probes_sent: as many lines as the ports file, largest first" \
	"$(( $(grep -cv '^port\|^other' $SYSFS_DIR/ports) )) True" \
	"$(py "$J" '" ".join(str(x) for x in [len(d["ports"]), all(a["probes_sent"] >= b["probes_sent"] for a, b in zip(d["ports"], d["ports"][1:]))])')"
J=$(kapctl -j stats --policy ka)
expect_eq "stats --policy ka JSON: its counters as in policies/ka/stats" \
	"ka $(policy_stat ka sockets_governed) $(policy_stat ka keepalive_enabled) $(policy_stat ka probes_sent)" \
	"$(py "$J" '" ".join(str(x) for x in [d["policies"][0]["name"], d["policies"][0]["stats"]["sockets_governed"], d["policies"][0]["stats"]["keepalive_enabled"], d["policies"][0]["stats"]["probes_sent"]])')"
expect_eq "the policy governed the connection and switched keepalive on" "1 1" \
	"$(policy_stat ka sockets_governed) $(policy_stat ka keepalive_enabled)"
if command -v promtool > /dev/null; then
	for view in global ports policies; do
		kapctl stats $view --format prometheus > "$WORK/$view.prom"
		res=$(promtool check metrics < "$WORK/$view.prom" 2>&1)
		if [ $? -eq 0 ] && [ -s "$WORK/$view.prom" ]; then
			ok "stats $view --format prometheus passes promtool check metrics"
		else
			fail "stats $view --format prometheus passes promtool check metrics" "$res"
		fi
	done
else
	for view in global ports policies; do
		skip "stats $view --format prometheus passes promtool check metrics" "no promtool"
	done
fi
expect_eq "prometheus: the port's probes and the policy's" \
	"kapolicy_port_probes_sent_total{port=\"$PORT\"} $(kap_port_stat $PORT probes_sent)|kapolicy_policy_probes_sent_total{policy=\"ka\"} $(policy_stat ka probes_sent)" \
	"$(grep -h "^kapolicy_port_probes_sent_total{port=\"$PORT\"}\|^kapolicy_policy_probes_sent_total{policy=\"ka\"}" "$WORK/ports.prom" "$WORK/policies.prom" | paste -sd '|')"

# apply the same file again: ka kept, with its counters and its connection
governed=$(policy_stat ka sockets_governed)
printf 'ka rport=%s idle=1 intvl=1 cnt=3 keepalive=on\n' $PORT > "$WORK/ka.conf"
run apply "$WORK/ka.conf"
run apply "$WORK/ka.conf"
expect_eq "apply of the same file twice: the policy is kept with its counters" "0 ka $governed" \
	"$RC $(ls $SYSFS_DIR/policies) $(policy_stat ka sockets_governed)"
policy "flush"

# ---- sockets ---------------------------------------------------------------
log "---- sockets: idle without keepalive vs covered by a policy ----"
policy "add cover rport=$PB idle=1 intvl=1 cnt=5 keepalive=on"
server_start $S6 $PA
SA6=$SERVER_PID
server_start $S4 $PA --ports 2
client_start $S4 $PA --wait 120
CA=$CLIENT_PID
client_start $S6 $PA --wait 120
C6=$CLIENT_PID
client_start $S4 $PB --wait 120
CB=$CLIENT_PID
sleep 4		# the connections on $PA idle for longer than --at-risk 3
J=$(in_ns $NS_C "$KAP_KAPCTL" -j sockets --at-risk 3)
log "at risk: $(py "$J" '" ".join("%s>%s(%s)" % (s["src"], s["dst"], s["reason"]) for s in d["sockets"])')"
expect_eq "sockets --at-risk 3 lists the idle IPv4 and IPv6 connections, keepalive off" \
	"4:$PA:keepalive off 6:$PA:keepalive off" \
	"$(py "$J" '" ".join(sorted("%d:%d:%s" % (s["family"], s["dst_port"], s["reason"]) for s in d["sockets"]))')"
expect_eq "... and not the one the policy covers" "0" \
	"$(py "$J" 'sum(1 for s in d["sockets"] if s["dst_port"] == '$PB')')"
J=$(in_ns $NS_C "$KAP_KAPCTL" -j sockets --port $PB)
expect_eq "sockets: the covered connection: policy, keepalive on, its timer, idle from the policy" \
	"cover True keepalive 1 policy 5" \
	"$(py "$J" '" ".join(str(x) for x in [d["sockets"][0]["policy"], d["sockets"][0]["keepalive"], d["sockets"][0]["timer"]["kind"], d["sockets"][0]["keepalive_settings"]["idle"]["value"], d["sockets"][0]["keepalive_settings"]["idle"]["source"], d["sockets"][0]["keepalive_settings"]["cnt"]["value"]])')"
OUT=$(in_ns $NS_C "$KAP_KAPCTL" sockets --port $PB)
if grep -qE "^ESTAB +$C4:[0-9]+ +$S4:$PB .* cover +timer:\(keepalive,[0-9.]+(ms|sec),0\)$" <<< "$OUT"; then
	ok "sockets text: ss -o's timer vocabulary"
else
	fail "sockets text: ss -o's timer vocabulary" "$OUT"
fi
policy "add nsp netns=$(netns_cookie $NS_S) idle=2 mode=fill"
J=$(in_ns $NS_S "$KAP_KAPCTL" -j sockets --port $PA)
expect_eq "sockets: a netns policy governs the server's namespace's connections" "nsp nsp" \
	"$(py "$J" '" ".join(str(s["policy"]) for s in d["sockets"])')"
J=$(in_ns $NS_C "$KAP_KAPCTL" -j sockets --port $PA)
expect_eq "... and not the client's" "None None" "$(py "$J" '" ".join(str(s["policy"]) for s in d["sockets"])')"
for pid in $CA $C6 $CB $SA6; do
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
done
server_stop
policy "flush"

# ---- without the module ----------------------------------------------------
unload_mod
run status
expect_eq "status without the module: exit 1, says so" "1 module:  not loaded (load it with 'modprobe kapolicy')" "$RC $OUT"
run -j stats
expect_eq "stats without the module: exit 1, a JSON error" \
	"1 the kapolicy module is not loaded (try 'modprobe kapolicy')" "$RC $(py "$OUT" 'd["error"]')"
run watch --count 1
expect_eq "watch without the module: exit 1, says so" \
	"1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$RC $OUT"
run apply "$WORK/good.conf"
expect_eq "apply without the module: exit 1" 1 "$RC"
ktap_finish
