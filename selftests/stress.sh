#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load and unload under load: five rounds of loading the module, changing
# the policy table, and unloading it while connections open and close
# (with setsockopt after connect, which the override policy overrules),
# 200 connections probe every second and a faulty path makes some of them
# time out.  The kernel must stay clean (the VM harness fails the run on
# any oops, WARN or unexpected taint); every load and unload must succeed;
# the traffic must go on unharmed.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5070
ROUNDS=5

setup
ktap_plan $((ROUNDS * 2 + 3))
ulimit -n 65536
unload_mod_if_loaded
net_setup
server_start $S4 $PORT
server_start_extra() {
	ip netns exec $NS_S $KAPTOOL server $S6 $PORT &
	EXTRA_SERVER=$!
	push_cleanup "kill $EXTRA_SERVER 2>/dev/null"
}
server_start_extra
client_start $S4 $PORT --count 200 --wait 600 --keepalive --idle 1 --intvl 1 --cnt 100
ip netns exec $NS_C $KAPTOOL churn $S4 $PORT --seconds $((ROUNDS * 6)) --keepalive \
	--result "$WORK/churn4.result" &
churn4=$!
ip netns exec $NS_C $KAPTOOL churn $S6 $PORT --seconds $((ROUNDS * 6)) \
	--result "$WORK/churn6.result" &
churn6=$!

for round in $(seq $ROUNDS); do
	log "---- round $round ----"
	if insmod "$KAP_MODULE"; then
		ok "round $round: loaded under load"
	else
		fail "round $round: loaded under load"
	fi
	kap_ctl "add ov rport=$PORT idle=2 intvl=1 cnt=3 keepalive=on mode=override" \
		"add all family=6 idle=3 keepalive=on" \
		"add srv lport=$PORT idle=1 intvl=1 cnt=2 keepalive=on" > /dev/null
	sleep 1
	# a path that drops packets for a moment: probes go unanswered
	fault_drop
	sleep 1.5
	fault_clear
	kap_ctl "move all 0" "del ov" "begin" "add x idle=7" "commit" > /dev/null
	sleep 1
	if rmmod kapolicy; then
		ok "round $round: unloaded under load"
	else
		fail "round $round: unloaded under load"
	fi
	sleep 0.5
done

wait $churn4 $churn6
log "churn: IPv4 $(cat "$WORK/churn4.result") IPv6 $(cat "$WORK/churn6.result")"
c4=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$WORK/churn4.result")
c6=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$WORK/churn6.result")
if [ "$c4" -gt 100 ] && [ "$c6" -gt 100 ]; then
	ok "connections kept opening and closing throughout ($c4 + $c6)"
else
	fail "connections kept opening and closing throughout" "$c4 + $c6"
fi
check "the kernel log has no warning or bug" \
	sh -c "! dmesg | grep -qE 'WARNING:|BUG:|Oops|general protection'"
check "the module is gone and so is its sysfs directory" sh -c "! [ -e $SYSFS_DIR ]"
client_stop
ktap_finish
