#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What shares the keepalive path but is not keepalive, and must not be
# counted or traced as keepalive activity:
#
#   busy         unacknowledged data keeps the keepalive timer from probing;
#                the peer is gone and the retransmission timeout ends the
#                connection (TcpExtTCPAbortOnTimeout) - not a keepalive
#                timeout
#   zero_window  the peer's receive window is closed: the sender's probes
#                are zero-window probes (TcpExtTCPWinProbe), sent by the
#                same function as keepalive probes with another counter
#   fin_wait2    an orphaned FIN_WAIT2 socket is reset by the keepalive
#                timer when its FIN timeout runs out (the RST is on the wire)
#
# Every client here has keepalive on with a short idle time (1 s; 4 s
# where a fault must come first).
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5002

setup
ktap_plan 15
unload_mod_if_loaded
load_mod
net_setup

function quiet_start() {
	log "---- scenario: $1 ----"
	STATS=$WORK/$1.stats
	EV=$WORK/$1.events
	kap_stats_snapshot "$STATS"
	trace_start
}

function quiet_end() {
	trace_stop "$EV"
	log "$1: events: $(wc -l < "$EV")"
	sed 's/^/# event: /' "$EV" | head -n 10
}

# (an idle_death event is not keepalive activity: busy's is checked apart)
function no_keepalive_activity() {
	local name=$1 c
	for c in probes_sent probes_answered probes_deferred peer_resets icmp_errors timeouts; do
		[ "$(kap_stat_delta "$STATS" $c)" -eq 0 ] || { log "$name: $c moved"; return 1; }
	done
	! grep -v ' idle_death: ' "$EV" | grep -q .
}

# ---- busy: data in flight, the peer gone, the RTO kills it -------------
in_ns $NS_C sysctl -qw net.ipv4.tcp_retries2=3
server_start $S4 $PORT
quiet_start busy
ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
abort0=$(nstat_get $NS_C TcpExtTCPAbortOnTimeout)
# the fault and the data must be in place before the first probe: the
# client switches keepalive on (idle 4) once the fault is there, then
# sends at once
client_start $S4 $PORT --wait 40 --keepalive --idle 4 --intvl 1 --cnt 3 \
	--setopts-after "$WORK/go" --send-after "$WORK/send"
fault_drop
touch "$WORK/send" "$WORK/go"
client_wait 60 || log "busy: the client did not report"
quiet_end busy
client_stop
server_stop
fault_clear
log "busy: client saw $(client_errors) after $(client_after 0)s"
expect_eq "busy: the retransmission timeout ends the connection (ETIMEDOUT)" \
	"1 ETIMEDOUT" "$(client_errors)"
expect_eq "busy: the kernel counts one abort on timeout" 1 \
	$(( $(nstat_get $NS_C TcpExtTCPAbortOnTimeout) - abort0 ))
expect_eq "busy: the kernel sent no keepalive probe" 0 \
	$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
check "busy: kapolicy counts and traces no keepalive activity" no_keepalive_activity busy
expect_eq "busy: one death after idle, kind retrans, ETIMEDOUT" 1 \
	"$(grep -c ' idle_death: .*kind=retrans idle_ms=[0-9]* err=110$' "$EV")"
in_ns $NS_C sysctl -qw net.ipv4.tcp_retries2=15

# ---- zero_window: the server never reads ------------------------------
server_start $S4 $PORT --no-read --rcvbuf 4096
quiet_start zero_window
ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
wp0=$(nstat_get $NS_C TcpExtTCPWinProbe)
capture_start c0
client_start $S4 $PORT --wait 6 --keepalive --idle 1 --intvl 1 --cnt 3 --fill
client_wait 30 || log "zero_window: the client did not report"
capture_stop
quiet_end zero_window
client_stop
server_stop
wp=$(( $(nstat_get $NS_C TcpExtTCPWinProbe) - wp0 ))
log "zero_window: TcpExtTCPWinProbe +$wp"
expect_eq "zero_window: the connection lives" "1 alive" "$(client_errors)"
if [ "$wp" -gt 0 ]; then
	ok "zero_window: the kernel sent zero-window probes ($wp)"
else
	fail "zero_window: the kernel sent zero-window probes" "TcpExtTCPWinProbe +0"
fi
expect_eq "zero_window: the kernel sent no keepalive probe" 0 \
	$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
check "zero_window: kapolicy counts and traces no keepalive activity" \
	no_keepalive_activity zero_window
expect_eq "zero_window: no death after idle" 0 "$(trace_count "$EV" idle_death)"

# ---- fin_wait2: the orphan's FIN timeout, run by the keepalive timer ----
# With tcp_fin_timeout above TCP_TIMEWAIT_LEN (60 s) close() leaves the
# orphan to the keepalive timer (for the difference: 10 s, longer on a
# slow kernel; 3 s were seen to pass before the orphan was looked at on a
# loaded machine); lowering it before the timer fires makes the timer
# reset the connection instead of moving it to TIME_WAIT.
server_start $S4 $PORT --no-read
quiet_start fin_wait2
in_ns $NS_C sysctl -qw net.ipv4.tcp_fin_timeout=$((60 + 10 * KAP_SLOW))
capture_start c0
client_start $S4 $PORT --keepalive --idle 1 --intvl 1 --cnt 3 --close
client_wait 10
in_ns $NS_C sysctl -qw net.ipv4.tcp_fin_timeout=1
state=$(in_ns $NS_C ss -Htn state fin-wait-2 | wc -l)
expect_eq "fin_wait2: the client's connection is an orphan in FIN_WAIT2" 1 "$state"
loop_until "[ \$(in_ns $NS_C ss -Htn state fin-wait-2 | wc -l) -eq 0 ]"
sleep 0.5
capture_stop
quiet_end fin_wait2
server_stop
in_ns $NS_C sysctl -qw net.ipv4.tcp_fin_timeout=60
expect_eq "fin_wait2: the keepalive timer reset it (one RST on the wire)" 1 \
	"$(wire_count $S4 $C4 rsts)"
check "fin_wait2: kapolicy counts and traces no keepalive activity" \
	no_keepalive_activity fin_wait2
expect_eq "fin_wait2: no death after idle" 0 "$(trace_count "$EV" idle_death)"

expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
unload_mod
ktap_finish
