#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The four kinds of peer a keepalive probe can meet, told apart by kapolicy
# and checked against independent witnesses: the namespace's own counters
# (nstat), the packets on the wire (tcpdump) and what the application saw
# (errno).
#
#   alive      each probe is answered; the connection lives
#   dead       the router drops everything: cnt probes, then ETIMEDOUT at
#              idle + cnt * intvl
#   rebooted   the server lost the connection: the probe meets a RST,
#              ECONNRESET
#   icmp       the router answers each probe with host unreachable; TCP
#              drops those as out of window (TcpExtOutOfWindowIcmps), so the
#              end is ETIMEDOUT, but kapolicy reports each answer
#   user_timeout  TCP_USER_TIMEOUT ends the probing before cnt is reached
#
# IPv4 for all, IPv6 for alive, dead, rebooted and icmp.  Keepalive is set
# by the application (no policy); short timers (1-2 s) with a tolerance of
# KILL_SLACK seconds for the emulated machine.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

KILL_EARLY=0.5	# the kill may come this much before idle + cnt * intvl
KILL_SLACK=2.5	# ... and this much after (timer slack, emulation)
PORT=5001

setup
ktap_plan 64
unload_mod_if_loaded
load_mod
net_setup

# scenario(name, server-addr, fault, client-wait, client-options...)
# Runs one connection from kap-c to kap-s under the fault and leaves the
# witnesses in: EV (trace file), KA (TcpExtTCPKeepAlive delta), OOW
# (TcpExtOutOfWindowIcmps delta), STATS (kapolicy snapshot before), and the
# capture in $WORK/capture.txt.
function scenario() {
	local name=$1 addr=$2 fault=$3 wait=$4
	shift 4
	log "---- scenario: $name ($addr) ----"
	EV=$WORK/$name.events
	STATS=$WORK/$name.stats
	server_start "$addr" $PORT
	local ka0 oow0
	ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
	oow0=$(nstat_get $NS_C TcpExtOutOfWindowIcmps)
	kap_stats_snapshot "$STATS"
	PORT_SENT0=$(kap_port_stat $PORT probes_sent)
	trace_start
	capture_start c0
	if [ "$fault" = none ]; then
		client_start "$addr" $PORT --wait "$wait" "$@"
	else
		# the client sets its options (and so starts its keepalive
		# timer) once the fault is in place: however slow the kernel,
		# no probe is answered before it
		client_start "$addr" $PORT --wait "$wait" "$@" --setopts-after "$WORK/$name.go"
		$fault
		touch "$WORK/$name.go"
	fi
	client_wait $((${wait%.*} + 30)) || log "the client did not report"
	client_stop
	server_stop
	fault_clear
	capture_stop
	trace_stop "$EV"
	KA=$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
	OOW=$(( $(nstat_get $NS_C TcpExtOutOfWindowIcmps) - oow0 ))
	log "$name: client saw: $(client_errors) after $(client_after 0)s"
	log "$name: events: $(grep -oE ' [a-z_]+: family=' "$EV" | cut -d: -f1 | sort | uniq -c | tr -s ' \n' ' ')"
	log "$name: TcpExtTCPKeepAlive +$KA, TcpExtOutOfWindowIcmps +$OOW"
	log "$name: tcpdump on the client's link: $($KAPTOOL wire "$WORK/capture.pcap" \
		"$(in_ns $NS_C ip -$(ipfam "$addr") -o addr show dev c0 scope global | awk '{ sub(/\/.*/, "", $4); print $4 }')" "$addr")"
	log "$name: kapolicy: sent +$(kap_stat_delta "$STATS" probes_sent)" \
		"answered +$(kap_stat_delta "$STATS" probes_answered)" \
		"resets +$(kap_stat_delta "$STATS" peer_resets)" \
		"icmp +$(kap_stat_delta "$STATS" icmp_errors)" \
		"timeouts +$(kap_stat_delta "$STATS" timeouts)"
	sed 's/^/# event: /' "$EV" | head -n 20
}

function ipfam() {
	[[ $1 == *:* ]] && echo 6 || echo 4
}

# kill_time_ok(expected) - the client's connection ended near expected s
function kill_time_ok() {
	local after
	after=$(client_after 0)
	python3 -c "import sys; a, e = float(sys.argv[1]), float(sys.argv[2]); \
		sys.exit(0 if e - $KILL_EARLY <= a <= e + $KILL_SLACK else 1)" "$after" "$1"
}

# event_field(event, field, n) - the field of the n-th event of a kind
function event_field() {
	grep " $1: " "$EV" | sed -n "${3:-1}p" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

function check_alive() {
	local fam=$1 c=$2 s=$3 sent
	scenario "alive-ipv$fam" "$s" none 5.5 --keepalive --idle 1 --intvl 1 --cnt 3
	sent=$(kap_stat_delta "$STATS" probes_sent)
	expect_eq "alive/ipv$fam: the connection lives" "1 alive" "$(client_errors)"
	if [ "$sent" -ge 3 ]; then
		ok "alive/ipv$fam: probes were sent ($sent)"
	else
		fail "alive/ipv$fam: probes were sent" "probes_sent +$sent"
	fi
	expect_eq "alive/ipv$fam: probes_sent equals TcpExtTCPKeepAlive" "$KA" "$sent"
	expect_eq "alive/ipv$fam: probes_sent equals the probes on the wire" \
		"$(wire_count "$c" "$s" probes)" "$sent"
	expect_eq "alive/ipv$fam: probes_answered equals probes_sent" "$sent" \
		"$(kap_stat_delta "$STATS" probes_answered)"
	expect_eq "alive/ipv$fam: the answers on the wire match" "$sent" \
		"$(wire_count "$c" "$s" answers)"
	expect_eq "alive/ipv$fam: probe_sent and probe_answered events match" \
		"$sent $sent" "$(trace_count "$EV" probe_sent) $(trace_count "$EV" probe_answered)"
	expect_eq "alive/ipv$fam: no timeout, reset or ICMP" "0 0 0" \
		"$(kap_stat_delta "$STATS" timeouts) $(kap_stat_delta "$STATS" peer_resets) $(kap_stat_delta "$STATS" icmp_errors)"
	expect_eq "alive/ipv$fam: the service port's line counts the probes" "$sent" \
		"$(( $(kap_port_stat $PORT probes_sent) - ${PORT_SENT0:-0} ))"
	local rtt
	rtt=$(event_field probe_answered rtt_us)
	if [ -n "$rtt" ] && [ "$rtt" -lt 1000000 ]; then
		ok "alive/ipv$fam: probe_answered carries the answer time (${rtt}us)"
	else
		fail "alive/ipv$fam: probe_answered carries the answer time" "rtt_us='$rtt'"
	fi
}

function check_dead() {
	local fam=$1 c=$2 s=$3
	# idle 3: under emulation the fault takes up to a second or more to be
	# in place, and it must be before the first probe
	scenario "dead-ipv$fam" "$s" fault_drop 20 --keepalive --idle 3 --intvl 1 --cnt 3
	expect_eq "dead/ipv$fam: the application gets ETIMEDOUT" "1 ETIMEDOUT" "$(client_errors)"
	expect_eq "dead/ipv$fam: exactly cnt probes" 3 "$(kap_stat_delta "$STATS" probes_sent)"
	expect_eq "dead/ipv$fam: TcpExtTCPKeepAlive agrees" 3 "$KA"
	expect_eq "dead/ipv$fam: the wire agrees" 3 "$(wire_count "$c" "$s" probes)"
	expect_eq "dead/ipv$fam: one timeout, nothing answered" "1 0" \
		"$(kap_stat_delta "$STATS" timeouts) $(kap_stat_delta "$STATS" probes_answered)"
	expect_eq "dead/ipv$fam: events: 3 probe_sent, 1 timeout" "3 1" \
		"$(trace_count "$EV" probe_sent) $(trace_count "$EV" timeout)"
	expect_eq "dead/ipv$fam: the timeout says ETIMEDOUT, by probes, probe 3" \
		"110 probes 3" "$(event_field timeout err) $(event_field timeout by) $(event_field timeout probe)"
	if kill_time_ok 6; then
		ok "dead/ipv$fam: killed at idle + cnt * intvl = 6s (after $(client_after 0)s)"
	else
		fail "dead/ipv$fam: killed at idle + cnt * intvl = 6s" "after $(client_after 0)s"
	fi
}

function check_rebooted() {
	local fam=$1 c=$2 s=$3
	function reboot_server() {
		fault_drop_server
		server_forget
		fault_clear
	}
	# idle 5: the reboot (drop, forget, clear) must be over before the
	# first probe, or that probe is dropped and the second meets the RST
	scenario "rebooted-ipv$fam" "$s" reboot_server 20 --keepalive --idle 5 --intvl 1 --cnt 5
	expect_eq "rebooted/ipv$fam: the application gets ECONNRESET" "1 ECONNRESET" "$(client_errors)"
	expect_eq "rebooted/ipv$fam: one peer_reset, no timeout" "1 0" \
		"$(kap_stat_delta "$STATS" peer_resets) $(kap_stat_delta "$STATS" timeouts)"
	expect_eq "rebooted/ipv$fam: the probe met a RST on the wire" "1 1" \
		"$(wire_count "$c" "$s" probes) $(wire_count "$c" "$s" rsts)"
	expect_eq "rebooted/ipv$fam: peer_reset event for probe 1" "1 1" \
		"$(trace_count "$EV" peer_reset) $(event_field peer_reset probe)"
}

function check_icmp() {
	local fam=$1 c=$2 s=$3 want_err=113
	scenario "icmp-ipv$fam" "$s" fault_reject 20 --keepalive --idle 3 --intvl 1 --cnt 3
	expect_eq "icmp/ipv$fam: the application still gets ETIMEDOUT" "1 ETIMEDOUT" "$(client_errors)"
	expect_eq "icmp/ipv$fam: TCP dropped the ICMP errors as out of window" 3 "$OOW"
	expect_eq "icmp/ipv$fam: icmp_errors counts each answer" 3 \
		"$(kap_stat_delta "$STATS" icmp_errors)"
	expect_eq "icmp/ipv$fam: icmp_error events: EHOSTUNREACH, probes 1 2 3" \
		"3 $want_err 1 2 3" "$(trace_count "$EV" icmp_error) $(event_field icmp_error err) \
$(event_field icmp_error probe 1) $(event_field icmp_error probe 2) $(event_field icmp_error probe 3)"
	expect_eq "icmp/ipv$fam: the timeout says the peer was reported unreachable" \
		"110 probes $want_err" "$(event_field timeout err) $(event_field timeout by) $(event_field timeout icmp_err)"
}

check_alive 4 $C4 $S4
check_dead 4 $C4 $S4
check_rebooted 4 $C4 $S4
check_icmp 4 $C4 $S4

# TCP_USER_TIMEOUT: 3 s ends the probing long before cnt (20) is reached:
# the first probe at idle (3 s), and at the next timer (4 s) the connection
# has been silent for over 3 s with a probe out.
scenario "user-timeout" $S4 fault_drop 20 --keepalive --idle 3 --intvl 1 --cnt 20 --user-timeout 3000
expect_eq "user_timeout: the application gets ETIMEDOUT" "1 ETIMEDOUT" "$(client_errors)"
expect_eq "user_timeout: the timeout event says user_timeout (3000 ms)" "user_timeout 3000" \
	"$(event_field timeout by) $(event_field timeout user_timeout)"
if kill_time_ok 4; then
	ok "user_timeout: killed at the first timer after 3s: 4s (after $(client_after 0)s)"
else
	fail "user_timeout: killed at the first timer after 3s: 4s" "after $(client_after 0)s"
fi

# Local congestion: the probe cannot leave (the device drops it), the timer
# retries every 500 ms without counting it against cnt: deferred, never a
# timeout.  The kernel counts each attempt in TcpExtTCPKeepAlive.
scenario "deferred" $S4 fault_local_drop 6 --keepalive --idle 3 --intvl 1 --cnt 2
deferred=$(kap_stat_delta "$STATS" probes_deferred)
expect_eq "deferred: the connection lives (nothing counts against cnt)" "1 alive" "$(client_errors)"
if [ "$deferred" -ge 3 ]; then
	ok "deferred: the probes are deferred, every 500 ms ($deferred)"
else
	fail "deferred: the probes are deferred, every 500 ms" "probes_deferred +$deferred"
fi
expect_eq "deferred: none sent, no timeout" "0 0" \
	"$(kap_stat_delta "$STATS" probes_sent) $(kap_stat_delta "$STATS" timeouts)"
expect_eq "deferred: TcpExtTCPKeepAlive counts the attempts" "$deferred" "$KA"
expect_eq "deferred: one probe_deferred event each" "$deferred" "$(trace_count "$EV" probe_deferred)"

check_alive 6 $C6 $S6
check_dead 6 $C6 $S6
check_rebooted 6 $C6 $S6
check_icmp 6 $C6 $S6

expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"

# No kernel address in what kapolicy shows: its files (as root), the trace
# events of every kind above, its log lines.
leaks=$({ find "$SYSFS_DIR" -type f -perm /444 -exec cat {} + 2>/dev/null
	  cat "$WORK"/*.events; dmesg | grep -i kapolicy; } |
	grep -Eio '(0x)?ffff[0-9a-f]{12}' | sort -u | head -n 3 | tr '\n' ' ')
expect_eq "no kernel address in sysfs, trace events or the kernel log" "" "$leaks"
unload_mod
ktap_finish
