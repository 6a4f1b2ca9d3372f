#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Policies applied without the applications' help, checked as the
# application sees them (getsockopt) and as ss -o shows them, for each match
# kind and each mode, IPv4 and IPv6, active and passive opens:
#
#   rport   governs the client's connection (active open)
#   lport   governs the server's accepted connection (passive open)
#   netns   governs the sockets of the client's namespace only
#   family  governs the sockets of one address family only
#
# Each application set TCP_KEEPIDLE=100 itself and nothing else; the policy
# gives idle=11 intvl=12 cnt=3 keepalive=on.  fill keeps the application's
# 100 and fills the rest; override writes 11.  The side no policy matches
# keeps what it had: keepalive off, the sysctls' 75 s and 9 probes.
#
# Then the behaviour: a dead peer is detected at the policy's timing (idle 1,
# intvl 1, cnt 2: 3 s), not the system's 7200/75/9, on the client (active,
# rport) and on the server (passive, lport, seen in the policy's counters).
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5010
UNGOVERNED="0 100 75 9 0"
KILL_SLACK=2.5

setup
ktap_plan 49
unload_mod_if_loaded
load_mod
net_setup

# check_matrix(family, server-addr, match, governed-side)
function check_matrix() {
	local fam=$1 s=$2 match=$3 side=$4 other mode want got filter ns
	[ "$side" = client ] && other=server || other=client
	for mode in fill override; do
		log "---- $match, mode=$mode, IPv$fam: the $side is governed ----"
		policy "add m $match idle=11 intvl=12 cnt=3 keepalive=on mode=$mode"
		server_start "$s" $PORT --idle 100
		client_start "$s" $PORT --idle 100 --wait 60
		[ $mode = fill ] && want="1 100 12 3 0" || want="1 11 12 3 0"
		expect_eq "$match/$mode/ipv$fam: the $side's settings (getsockopt)" \
			"$want" "$(settings $side)"
		expect_eq "$match/$mode/ipv$fam: the $other is untouched" \
			"$UNGOVERNED" "$(settings $other)"
		if [ $side = client ]; then
			ns=$NS_C
			filter="( dport = :$PORT )"
		else
			ns=$NS_S
			filter="( sport = :$PORT )"
		fi
		got=$(ss_keepalive $ns "$filter")
		log "ss -o on the $side: ${got:-no keepalive timer}"
		if [ $(wc -l <<< "$got") -eq 1 ] && [[ $got == keepalive,* ]]; then
			ok "$match/$mode/ipv$fam: ss -o shows the $side's keepalive timer"
		else
			fail "$match/$mode/ipv$fam: ss -o shows the $side's keepalive timer" "'$got'"
		fi
		client_stop
		server_stop
		policy "del m"
	done
}

for fam in 4 6; do
	[ $fam = 4 ] && s=$S4 || s=$S6
	[ $fam = 4 ] && other_fam=6 || other_fam=4
	check_matrix $fam "$s" "rport=$PORT" client
	check_matrix $fam "$s" "lport=$PORT" server
	check_matrix $fam "$s" "netns=$(netns_cookie $NS_C)" client
	# family alone governs both sides; the other family neither
	policy "add f family=$fam idle=11 intvl=12 cnt=3 keepalive=on mode=override"
	policy "add g family=$other_fam idle=21 intvl=22 cnt=5 keepalive=on mode=override"
	server_start "$s" $PORT --idle 100
	client_start "$s" $PORT --idle 100 --wait 60
	expect_eq "family=$fam/ipv$fam: both sides governed by the matching family" \
		"1 11 12 3 0|1 11 12 3 0" "$(settings client)|$(settings server)"
	client_stop
	server_stop
	policy "flush"
done

# ---- behaviour: the policy's timing ------------------------------------------
# idle 3 x KAP_SLOW: under emulation the fault may take a second or more to
# be in place, and it must come before the first probe (on the debug kernel
# nft took more than 3 s: the first probe was answered, the death came a
# round later).  Detected at idle + intvl * cnt.
IDLE=$((3 * KAP_SLOW))
DEAD_AT=$((IDLE + 2))
for fam in 4 6; do
	[ $fam = 4 ] && s=$S4 || s=$S6
	log "---- a dead server, the client governed (rport), IPv$fam ----"
	policy "add dead rport=$PORT idle=$IDLE intvl=1 cnt=2 keepalive=on"
	server_start "$s" $PORT
	client_start "$s" $PORT --wait $((DEAD_AT + 15))
	fault_drop
	client_wait 40
	client_stop
	server_stop
	fault_clear
	expect_eq "dead/ipv$fam: the application, which never asked for keepalive, gets ETIMEDOUT" \
		"1 ETIMEDOUT" "$(client_errors)"
	after=$(client_after 0)
	if python3 -c "import sys; sys.exit(not $DEAD_AT - 0.5 <= $after <= $DEAD_AT + $KILL_SLACK)"; then
		ok "dead/ipv$fam: detected at idle + intvl * cnt = ${DEAD_AT}s (after ${after}s)"
	else
		fail "dead/ipv$fam: detected at idle + intvl * cnt = ${DEAD_AT}s" "after ${after}s"
	fi
	expect_eq "dead/ipv$fam: the policy counts 2 probes and 1 timeout" "2 1" \
		"$(policy_stat dead probes_sent) $(policy_stat dead timeouts)"
	policy "del dead"
done

log "---- without a policy: the system's 7200/75/9 (no keepalive at all) ----"
server_start $S4 $PORT
client_start $S4 $PORT --wait 6
fault_drop
client_wait 40
client_stop
server_stop
fault_clear
expect_eq "no policy: the dead server goes unnoticed" "1 alive" "$(client_errors)"

log "---- a dead client, the server's connection governed (lport) ----"
policy "add srv lport=$PORT idle=$IDLE intvl=1 cnt=2 keepalive=on"
server_start $S4 $PORT
client_start $S4 $PORT --wait 60
expect_eq "passive: the accepted connection is governed" "1" \
	"$(policy_stat srv sockets_governed)"
fault_drop
loop_until "[ \$(policy_stat srv timeouts) -eq 1 ]"
expect_eq "passive: the server's connection times out at the policy's timing" "2 1" \
	"$(policy_stat srv probes_sent) $(policy_stat srv timeouts)"
expect_eq "passive: the server no longer has the connection" 0 \
	"$(in_ns $NS_S ss -Htn state established | wc -l)"
client_stop
server_stop
fault_clear
policy "del srv"

expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
unload_mod
ktap_finish
