#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A burst: 1000 connections whose keepalive probes fall due together, first
# with the server alive, then with the server gone.  Every counter must be
# exact: compared with the namespace's TcpExtTCPKeepAlive, with the events
# in the trace buffer, and with what the application saw.  Meanwhile one
# process per CPU sets keepalive options in a loop: softirqs that interrupt
# kapolicy's setsockopt hooks must not lose keepalive events.
# Last, 10,000 answered probes: probes_answered equals the answers seen
# on the wire (the server's pure ACKs, counted by nftables in the client's
# namespace), so that no answer is lost between tcp_ack() and the timer.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

N=1000
PORT=5003

setup
ktap_plan 15
ulimit -n 65536
unload_mod_if_loaded
load_mod
net_setup

# burst(name fault wait idle): $N connections probing every INTVL seconds
# (default 1) after idle seconds, held wait seconds after keepalive is on
function burst() {
	local name=$1 fault=$2 wait=$3 idle=$4 i
	log "---- burst: $name, $N connections ----"
	STATS=$WORK/$name.stats
	EV=$WORK/$name.events
	server_start $S4 $PORT
	ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
	kap_stats_snapshot "$STATS"
	trace_start
	# with CLIENT_GO, the client sets its options (and so starts its
	# keepalive timers) only once the fault is in place
	client_start $S4 $PORT --count $N --wait "$wait" --keepalive --idle "$idle" \
		--intvl "${INTVL:-1}" --cnt 3 ${CLIENT_HOLD:-} \
		${CLIENT_GO:+--setopts-after "$WORK/$name.go"}
	[ "$fault" != none ] && $fault
	# the setsockopt storms start with the probes, once each is ready
	# (ip netns exec execs kaptool: $! is the process to stop)
	storm_pids=()
	for i in $(seq "$(nproc)"); do
		ip netns exec $NS_C $KAPTOOL storm --result "$WORK/$name.storm$i.rounds" \
			--ready "$WORK/$name.storm$i.ready" --go "$WORK/$name.go" &
		storm_pids+=($!)
	done
	for i in $(seq "$(nproc)"); do
		wait_file "$WORK/$name.storm$i.ready" 30 || die "setsockopt storm $i did not start"
	done
	touch "$WORK/$name.go"
	client_wait 120 || log "$name: the client did not report"
	kill -TERM "${storm_pids[@]}"
	wait "${storm_pids[@]}"
	log "$name: setsockopt rounds meanwhile: $(cat "$WORK/$name".storm*.rounds | paste -sd' ')"
	${BEFORE_STOP:-true}
	client_stop
	server_stop
	fault_clear
	# every socket closed: every answer seen
	loop_until "[ \$(in_ns $NS_C ss -Htn state established | wc -l) -eq 0 ]"
	trace_stop "$EV"
	KA=$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
	SENT=$(kap_stat_delta "$STATS" probes_sent)
	DEFERRED=$(kap_stat_delta "$STATS" probes_deferred)
	log "$name: client saw: $(client_errors)"
	log "$name: TcpExtTCPKeepAlive +$KA; kapolicy sent +$SENT deferred +$DEFERRED" \
		"answered +$(kap_stat_delta "$STATS" probes_answered)" \
		"timeouts +$(kap_stat_delta "$STATS" timeouts)"
}

# Keepalive is switched on once all are connected (CLIENT_GO): opening
# 1000 connections takes seconds, on a debug kernel a minute, and the
# first ones would probe all along.  On a slow kernel (KAP_SLOW) probes
# fall due less often: a debug kernel's timer softirq cannot send and
# answer 1000 a second (a soft lockup), and answers must come back within
# cnt intervals.
INTVL=$KAP_SLOW CLIENT_GO=1 burst alive none "$(slow 4.5)" \
	$((2 * KAP_SLOW))
if [ "$SENT" -ge $N ]; then
	ok "alive: every connection probed ($SENT probes)"
else
	fail "alive: every connection probed" "$SENT probes"
fi
expect_eq "alive: every connection lives" "$N alive" "$(client_errors)"
# a probe the device drops is in TcpExtTCPKeepAlive and probes_deferred
expect_eq "alive: probes_sent + probes_deferred equals TcpExtTCPKeepAlive" "$KA" \
	$((SENT + DEFERRED))
expect_eq "alive: probes_answered equals probes_sent" "$SENT" \
	"$(kap_stat_delta "$STATS" probes_answered)"
expect_eq "alive: the events match the counters" "$SENT $SENT" \
	"$(trace_count "$EV" probe_sent) $(trace_count "$EV" probe_answered)"

# The fault must be in place before the first of them probes: the client
# switches keepalive on only after it (opening 1000 connections under
# emulation takes seconds, and a probe answered before the fault makes a
# fourth one)
CLIENT_GO=1 burst dead fault_drop 30 5
expect_eq "dead: every connection ends with ETIMEDOUT" "$N ETIMEDOUT" "$(client_errors)"
expect_eq "dead: cnt probes each: probes_sent = 3 x $N" $((3 * N)) "$SENT"
expect_eq "dead: TcpExtTCPKeepAlive agrees (sent + deferred)" "$KA" $((SENT + DEFERRED))
expect_eq "dead: one timeout each" $N "$(kap_stat_delta "$STATS" timeouts)"
expect_eq "dead: the events match the counters" "$((3 * N)) $N" \
	"$(trace_count "$EV" probe_sent) $(trace_count "$EV" timeout)"

# ---- 10,000 answered probes, each answer seen on the wire -------------------
# The connections open with idle 600, so that none probes yet (opening
# them takes a minute on a debug kernel); once all
# are connected (after their one-byte echo), the wire count starts and a
# policy gives them idle 1 (applied to established connections at once):
# from then on the only pure ACKs from the server are keepalive answers.
function answers_count() {
	in_ns $NS_C nft -f - <<-EOF || die "nft"
		table inet kapans {
			chain in {
				type filter hook input priority 0; policy accept;
				tcp sport $PORT tcp flags == ack counter
			}
		}
	EOF
	policy "add answers rport=$PORT idle=$KAP_SLOW intvl=$KAP_SLOW cnt=3 mode=override"
}
# the answers stop (the router drops all) before anything is read: the
# last answers are counted at the timer's next run, an interval later
function answers_freeze() {
	fault_drop
	sleep $((3 * KAP_SLOW))
	WIRE=$(in_ns $NS_C nft list chain inet kapans in | awk '/counter packets/ {
		for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
	ANSWERED=$(kap_stat_delta "$STATS" probes_answered)
}
BEFORE_STOP=answers_freeze CLIENT_HOLD=--hold burst answers answers_count $((13 * KAP_SLOW)) 600
BEFORE_STOP=
log "answers: on the wire $WIRE, probes_answered $ANSWERED, sent $SENT"
if [ "$ANSWERED" -ge 10000 ]; then
	ok "answers: at least 10,000 probes answered ($ANSWERED)"
else
	fail "answers: at least 10,000 probes answered" "$ANSWERED"
fi
expect_eq "answers: probes_answered equals the answers on the wire" "$WIRE" "$ANSWERED"
# every answer counted by the freeze was traced; after it, connections
# that close may still see one, counted and traced around trace_stop
EVA=$(trace_count "$EV" probe_answered)
if [ "$EVA" -ge "$ANSWERED" ] && [ "$EVA" -le "$(kap_stat_delta "$STATS" probes_answered)" ]; then
	ok "answers: every answer counted was traced ($EVA events)"
else
	fail "answers: every answer counted was traced" \
		"$EVA events; $ANSWERED counted at the freeze, $(kap_stat_delta "$STATS" probes_answered) at the end"
fi

expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
storms=$(cat "$WORK"/*.storm*.rounds | awk '{ s += $1 } END { print s + 0 }')
if [ "$storms" -gt 0 ]; then
	ok "setsockopt ran meanwhile ($storms rounds of 3 calls)"
else
	fail "setsockopt ran meanwhile" "$storms rounds"
fi
unload_mod
ktap_finish
