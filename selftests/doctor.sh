#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapctl doctor finds the middlebox that kills idle connections, from the
# connections it kills.  The router between client and server is a
# stateful firewall (nftables with conntrack, tcp_loose off) that forgets an
# established flow after FW_TIMEOUT seconds without a packet, as a NAT
# gateway or load balancer does, and then either drops a packet of the
# flow it no longer knows or answers it with a TCP reset.
#
# The client (kaptool.py idlers) opens one connection per idle time, stays
# quiet that long, then sends a byte: below the timeout it is answered,
# above it the connection dies.  One more connection is closed normally,
# and one is held idle (the living at risk).
#
#   drop   port PORT_DROP: the first segment after idle is retransmitted
#          until tcp_retries2 (3) ends the connection: deaths of kind
#          retrans, as many as TcpExtTCPAbortOnTimeout counted
#   reset  port PORT_RST: the firewall answers it with a reset: deaths of
#          kind reset, as many as the connections the client saw reset on
#          the wire
#   fixed  the policy doctor suggests, then the same workload: no death
#
# In each, doctor names the port and estimates the timeout within 20 %,
# connections idle less than the timeout and the normal close are not
# reported, and the module's memory does not grow.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT_DROP=5010
PORT_RST=5011
FW_TIMEOUT=20
IDLES=6,14,22,23,25,28
SURVIVORS="6:DATA 14:DATA"

setup
ktap_plan 24
unload_mod_if_loaded
load_mod
net_setup

# fw(action): the firewall, the action for a packet of an unknown flow
function fw() {
	in_ns $NS_R nft delete table inet kapfw 2>/dev/null
	in_ns $NS_R nft -f - <<-EOF || die "nft"
		table inet kapfw {
			chain forward {
				type filter hook forward priority -1; policy drop;
				ct state established,related accept
				iifname "r0" tcp flags & (syn | ack | fin | rst) == syn ct state new accept
				iifname "r0" icmp type echo-request accept
				iifname "r0" meta l4proto tcp $1
			}
		}
	EOF
	in_ns $NS_R sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=$FW_TIMEOUT \
		net.netfilter.nf_conntrack_tcp_loose=0 || die "conntrack sysctls"
}

# the module's vmalloc'd memory, bytes
function kap_vmalloc() {
	awk '/\[kapolicy\]/ { n += $2 } END { print n + 0 }' /proc/vmallocinfo
}

# idlers(name, port, extra...): the workload; waits for its result
function idlers() {
	local name=$1 port=$2
	shift 2
	rm -f "$WORK/idlers.ready"
	# not in_ns (a function: $! would be a subshell's, not the client's)
	ip netns exec $NS_C $KAPTOOL idlers $S4 "$port" --idle $IDLES --close-after 4 \
		--ready "$WORK/idlers.ready" --result "$WORK/$name.result" "$@" &
	IDLERS_PID=$!
	wait_file "$WORK/idlers.ready" 60 || die "$name: the client did not connect"
	wait_file "$WORK/$name.result" 120 || die "$name: the client did not report"
	RESULT=$(python3 -c '
import json, sys
print(" ".join("%g:%s" % (d["idle"], d["error"]) for d in map(json.loads, open(sys.argv[1]))))' \
		"$WORK/$name.result")
	log "$name: client: $RESULT"
}

# death(port, kind, column): a column of the port's row in the deaths file
function death() {
	awk -v p="$1" -v k="$2" -v c="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == p && $2 == k { print $col[c] }' "$SYSFS_DIR/deaths"
}

# the rows of a port in the deaths file: "kind side count" each
function death_rows() {
	awk -v p="$1" 'NR > 1 && $1 == p { printf "%s%s %s %s", s, $2, $3, $4; s = ", " }' \
		"$SYSFS_DIR/deaths"
}

# doctor_field(port, kind, field): from kapctl doctor -j, run where the
# client's connections live
function doctor_field() {
	in_ns $NS_C "$KAP_KAPCTL" -j doctor | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["ports"]:
    if p["port"] == int(sys.argv[1]) and p["kind"] == sys.argv[2]:
        print(p[sys.argv[3]])' "$@"
}

function within() {	# within(value, low, high)
	python3 -c 'import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(not lo <= v <= hi)' "$@"
}

mem0=$(kap_vmalloc)
server_start $S4 $PORT_DROP --ports 2
dmesg_mark

# ---- drop ----------------------------------------------------------------
log "---- drop: the firewall drops what it does not know ----"
fw drop
in_ns $NS_C sysctl -qw net.ipv4.tcp_retries2=3
abort0=$(nstat_get $NS_C TcpExtTCPAbortOnTimeout)
trace_start
idlers drop $PORT_DROP
trace_stop "$WORK/drop.events"
in_ns $NS_C sysctl -qw net.ipv4.tcp_retries2=15
kill $IDLERS_PID 2>/dev/null; wait $IDLERS_PID 2>/dev/null
cat "$SYSFS_DIR/deaths" | sed 's/^/# deaths: /'
expect_eq "drop: idle past the timeout, the connections time out" \
	"4:closed $SURVIVORS 22:ETIMEDOUT 23:ETIMEDOUT 25:ETIMEDOUT 28:ETIMEDOUT" "$RESULT"
expect_eq "drop: one row, retrans, remote service, 4 deaths" "retrans remote 4" \
	"$(death_rows $PORT_DROP)"
expect_eq "drop: deaths agree with TcpExtTCPAbortOnTimeout" \
	"$(( $(nstat_get $NS_C TcpExtTCPAbortOnTimeout) - abort0 ))" "$(death $PORT_DROP retrans count)"
check "drop: the least idle time is that of the 22 s connection" \
	within "$(death $PORT_DROP retrans min_ms)" 21500 24000
expect_eq "drop: four idle_death events, kind retrans" 4 \
	"$(grep -c "idle_death: .*dst=$S4:$PORT_DROP .*kind=retrans" "$WORK/drop.events")"
est=$(doctor_field $PORT_DROP retrans estimate_s)
log "drop: doctor estimates ${est}s"
check "drop: doctor estimates the timeout within 20 % ($FW_TIMEOUT s)" \
	within "${est:-0}" $((FW_TIMEOUT * 8 / 10)) $((FW_TIMEOUT * 12 / 10))
in_ns $NS_C "$KAP_KAPCTL" doctor | sed 's/^/# doctor: /'
check "drop: doctor names the port" sh -c "'$KAP_KAPCTL' doctor | grep -q 'port $PORT_DROP'"

# ---- reset ---------------------------------------------------------------
log "---- reset: the firewall answers what it does not know with a reset ----"
fw "reject with tcp reset"
capture_start c0
idlers reset $PORT_RST --hold 1
sleep 1
capture_stop
expect_eq "reset: idle past the timeout, the connections are reset" \
	"4:closed $SURVIVORS 22:ECONNRESET 23:ECONNRESET 25:ECONNRESET 28:ECONNRESET" "$RESULT"
expect_eq "reset: one row, reset, remote service, 4 deaths" "reset remote 4" \
	"$(death_rows $PORT_RST)"
# connections, not RSTs: a segment the client sent again before the reset
# came back (a tail loss probe, a retransmission on a loaded machine) got
# one more, as the debug kernel showed (5 RSTs for 4 connections)
log "reset: the client received $(wire_count $C4 $S4 rsts) RSTs"
expect_eq "reset: deaths agree with the connections the client saw reset (tcpdump)" \
	"$(wire_count $C4 $S4 reset_conns)" "$(death $PORT_RST reset count)"
check "reset: the least idle time is that of the 22 s connection" \
	within "$(death $PORT_RST reset min_ms)" 21500 24000
expect_eq "reset: buckets: none up to 15 s, 4 in 15-30 s, none in 30-45 s" "0 4 0" \
	"$(death $PORT_RST reset 15) $(death $PORT_RST reset 30) $(death $PORT_RST reset 45)"
in_ns $NS_C "$KAP_KAPCTL" doctor | sed 's/^/# doctor: /'
est=$(doctor_field $PORT_RST reset estimate_s)
check "reset: doctor estimates the timeout within 20 % ($FW_TIMEOUT s)" \
	within "${est:-0}" $((FW_TIMEOUT * 8 / 10)) $((FW_TIMEOUT * 12 / 10))
fix=$(doctor_field $PORT_RST reset fix)
log "reset: doctor's fix: $fix"
check "reset: the fix is a policy for the remote port" \
	sh -c "echo '$fix' | grep -q 'policy add .*rport=$PORT_RST '"
at_risk=$(doctor_field $PORT_RST reset at_risk)
expect_eq "reset: doctor counts the held idle connection at risk" 1 "${at_risk:-none}"
expect_eq "drop: still one row for its port" "retrans remote 4" "$(death_rows $PORT_DROP)"

# the held connection's FIN is reset too: one more death
kill $IDLERS_PID 2>/dev/null; wait $IDLERS_PID 2>/dev/null
loop_until "[ \"\$(death $PORT_RST reset count)\" = 5 ]"
expect_eq "reset: the held connection's close after idle is one more death" 5 \
	"$(death $PORT_RST reset count)"

# ---- fixed: doctor's policy, the same workload -------------------------
log "---- fixed: $fix ----"
eval "$fix"	# kapctl is functions.sh's function
name=$(kapctl policy list -j | python3 -c 'import json, sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["policies"]))')
expect_eq "fixed: the policy is in the table" "doctor-$PORT_RST" "$name"
idlers fixed $PORT_RST
kill $IDLERS_PID 2>/dev/null; wait $IDLERS_PID 2>/dev/null
expect_eq "fixed: every connection is answered" "4:closed $SURVIVORS 22:DATA 23:DATA 25:DATA 28:DATA" \
	"$RESULT"
expect_eq "fixed: no new death" 5 "$(death $PORT_RST reset count)"
check "fixed: the policy's probes were answered" \
	test "$(cat "$SYSFS_DIR/policies/doctor-$PORT_RST/stats/probes_answered")" -gt 0
kapctl policy del "doctor-$PORT_RST"

# ---- what is not a death, and memory -----------------------------------
expect_eq "no row for any other port" "$PORT_DROP $PORT_RST" \
	"$(awk 'NR > 1 { print $1 }' "$SYSFS_DIR/deaths" | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the module's vmalloc memory did not grow" "$mem0" "$(kap_vmalloc)"
expect_eq "the kernel log has no warning" "" \
	"$(dmesg_since_mark | grep -E 'WARNING|BUG|kapolicy:.*(error|fail)')"
server_stop
unload_mod
ktap_finish
