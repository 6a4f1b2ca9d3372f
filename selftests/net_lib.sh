#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A small network of namespaces for the keepalive scenarios, and the
# independent witnesses the tests compare kapolicy with.  Source after
# functions.sh.
#
#   kap-c (client) c0 ---- r0 kap-r (router) r1 ---- s0 kap-s (server)
#     192.0.2.1/24            192.0.2.254   198.51.100.254   198.51.100.2/24
#     2001:db8:1::1/64        2001:db8:1::fe 2001:db8:2::fe  2001:db8:2::2/64
#
# Faults are nftables rules in the router's forward chain, applied only
# after the client said it is connected:
#   fault_drop         every TCP packet between client and server vanishes
#   fault_drop_server  only the server's packets vanish
#   fault_reject       the router answers the client's packets with ICMP
#                      host unreachable (ICMPv6 address unreachable)
#   fault_clear        the path works again
# Witnesses: nstat in a namespace (nstat_get), tcpdump on the client's
# interface (capture_start/capture_stop), the kapolicy trace events in a
# private tracefs instance (trace_start/trace_stop) and what the client
# application saw (client_result).

NS_C=kap-c
NS_R=kap-r
NS_S=kap-s
C4=192.0.2.1
S4=198.51.100.2
C6=2001:db8:1::1
S6=2001:db8:2::2
KAPTOOL="python3 $(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kaptool.py"
WORK=$(mktemp -d /tmp/kapsel.XXXXXX)
TRACE_INSTANCE=kapolicy-selftest-$$

function in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

function net_cleanup() {
	local ns pid
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	for ns in $NS_C $NS_R $NS_S; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -d "/sys/kernel/tracing/instances/$TRACE_INSTANCE" ] &&
		rmdir "/sys/kernel/tracing/instances/$TRACE_INSTANCE"
	rm -rf "$WORK"
	return 0
}

function net_setup() {
	log "network: $NS_C -- $NS_R -- $NS_S"
	net_cleanup
	WORK=$(mktemp -d /tmp/kapsel.XXXXXX)
	push_cleanup net_cleanup
	modprobe -q veth
	ip netns add $NS_C && ip netns add $NS_R && ip netns add $NS_S || die "ip netns add"
	ip link add c0 netns $NS_C type veth peer name r0 netns $NS_R || die "veth"
	ip link add s0 netns $NS_S type veth peer name r1 netns $NS_R || die "veth"
	for ns in $NS_C $NS_R $NS_S; do
		in_ns $ns ip link set lo up
	done
	in_ns $NS_C ip addr add $C4/24 dev c0
	in_ns $NS_C ip addr add $C6/64 dev c0 nodad
	in_ns $NS_C ip link set c0 up
	in_ns $NS_C ip route add default via 192.0.2.254
	in_ns $NS_C ip -6 route add default via 2001:db8:1::fe
	in_ns $NS_S ip addr add $S4/24 dev s0
	in_ns $NS_S ip addr add $S6/64 dev s0 nodad
	in_ns $NS_S ip link set s0 up
	in_ns $NS_S ip route add default via 198.51.100.254
	in_ns $NS_S ip -6 route add default via 2001:db8:2::fe
	in_ns $NS_R ip addr add 192.0.2.254/24 dev r0
	in_ns $NS_R ip addr add 2001:db8:1::fe/64 dev r0 nodad
	in_ns $NS_R ip addr add 198.51.100.254/24 dev r1
	in_ns $NS_R ip addr add 2001:db8:2::fe/64 dev r1 nodad
	in_ns $NS_R ip link set r0 up
	in_ns $NS_R ip link set r1 up
	in_ns $NS_R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	in_ns $NS_R nft -f - <<-EOF || die "nft"
		table inet kap {
			chain kapfwd {
				type filter hook forward priority 0; policy accept;
			}
		}
	EOF
	in_ns $NS_C ping -q -c 1 -W 5 $S4 > /dev/null || die "no IPv4 path from client to server"
	in_ns $NS_C ping -q -c 1 -W 5 $S6 > /dev/null || die "no IPv6 path from client to server"
}

function fault_drop() {
	log "fault: the router drops every TCP packet"
	in_ns $NS_R nft add rule inet kap kapfwd meta l4proto tcp drop
}

function fault_drop_server() {
	log "fault: the router drops the server's packets"
	in_ns $NS_R nft add rule inet kap kapfwd ip saddr $S4 drop
	in_ns $NS_R nft add rule inet kap kapfwd ip6 saddr $S6 drop
}

function fault_reject() {
	log "fault: the router answers the client with ICMP unreachable"
	in_ns $NS_R nft add rule inet kap kapfwd ip saddr $C4 meta l4proto tcp \
		reject with icmp type host-unreachable
	in_ns $NS_R nft add rule inet kap kapfwd ip6 saddr $C6 meta l4proto tcp \
		reject with icmpv6 type addr-unreachable
}

# fault_local_drop - the client's own link drops every packet it sends
# (a qdisc that holds nothing): local congestion.  The router's neighbour
# entries are pinned meanwhile: once one is stale (a slow kernel takes long
# enough), resolving it queues the packet in the neighbour table and
# reports it sent, and TCP counts a probe that waits there as sent.
function fault_local_drop() {
	local mac
	log "fault: the client's qdisc drops every packet"
	mac=$(in_ns $NS_R cat /sys/class/net/r0/address)
	in_ns $NS_C ip neigh replace 192.0.2.254 lladdr "$mac" dev c0 nud permanent
	in_ns $NS_C ip -6 neigh replace 2001:db8:1::fe lladdr "$mac" dev c0 nud permanent
	in_ns $NS_C tc qdisc add dev c0 root pfifo limit 0
}

function fault_clear() {
	log "fault: cleared"
	in_ns $NS_R nft flush chain inet kap kapfwd
	if in_ns $NS_C tc qdisc del dev c0 root 2>/dev/null; then
		in_ns $NS_C ip neigh del 192.0.2.254 dev c0 2>/dev/null
		in_ns $NS_C ip -6 neigh del 2001:db8:1::fe dev c0 2>/dev/null
	fi
	return 0
}

# wait_file(path, seconds) - poll for a file to appear
# (by the clock, times KAP_SLOW: on a debug kernel, starting sleep alone
# can take most of a second)
function wait_file() {
	local end=$((SECONDS + $2 * KAP_SLOW))
	until [ -e "$1" ]; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# server_start(addr, port, kaptool-options...) - server in kap-s
function server_start() {
	local addr=$1 port=$2
	shift 2
	rm -f "$WORK/server.ready" "$WORK/server.forgotten"
	# (not in_ns: $! must be the process itself, not a subshell)
	ip netns exec $NS_S $KAPTOOL server "$addr" "$port" --ready "$WORK/server.ready" \
		--forgotten "$WORK/server.forgotten" --report "$WORK/server.report" "$@" &
	SERVER_PID=$!
	wait_file "$WORK/server.ready" 30 || die "the server did not start"
}

function server_stop() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	return 0
}

# server_forget - the server loses its connections silently (a reboot)
function server_forget() {
	log "the server forgets its connections"
	kill -USR1 "$SERVER_PID"
	wait_file "$WORK/server.forgotten" 30 || die "the server did not forget"
}

# client_start(addr, port, kaptool-options...) - client in kap-c; returns
# once it is connected; its report goes to $WORK/client.result
function client_start() {
	local addr=$1 port=$2
	shift 2
	rm -f "$WORK/client.ready" "$WORK/client.result"
	# in CLIENT_CGROUP (a cgroup v2 directory) if set; $! is the client
	sh -c '[ -z "$1" ] || echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"' \
		sh "${CLIENT_CGROUP:-}" \
		ip netns exec $NS_C $KAPTOOL client "$addr" "$port" --ready "$WORK/client.ready" \
		--result "$WORK/client.result" --report "$WORK/client.report" "$@" &
	CLIENT_PID=$!
	wait_file "$WORK/client.ready" 60 || die "the client did not connect"
	CLIENT_T0=$(date +%s.%N)
}

# client_wait(seconds) - wait for the client's report
function client_wait() {
	wait_file "$WORK/client.result" "$1" || return 1
	return 0
}

function client_stop() {
	kill "$CLIENT_PID" 2>/dev/null
	wait "$CLIENT_PID" 2>/dev/null
	return 0
}

# client_errors - the distinct outcomes, with counts ("1000 ETIMEDOUT")
function client_errors() {
	python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l)["error"] for l in open(sys.argv[1]) if l.strip())
print(" ".join("%d %s" % (n, e) for e, n in sorted(c.items())))' "$WORK/client.result"
}

# client_after(conn) - seconds from "connected" to the end of connection conn
function client_after() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["conn"] == int(sys.argv[2]):
        print(d["after"])' "$WORK/client.result" "${1:-0}"
}

# nstat_get(ns, counter) - the namespace's absolute counter value
function nstat_get() {
	in_ns "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2 }'
}

function kap_stat() {
	cat "$SYSFS_DIR/stats/$1"
}

# kap_stats_snapshot(file) / kap_stat_delta(file, name)
function kap_stats_snapshot() {
	local f
	for f in "$SYSFS_DIR"/stats/*; do
		echo "$(basename "$f") $(cat "$f")"
	done > "$1"
}

function kap_stat_delta() {
	local before
	before=$(awk -v n="$2" '$1 == n { print $2 }' "$1")
	echo $(( $(kap_stat "$2") - before ))
}

# expect_ports_sum(description) - each column of the ports file sums to
# its stats/ counter
function expect_ports_sum() {
	local sums want c
	sums=$(awk 'NR == 1 { for (i = 2; i <= NF; i++) name[i] = $i; n = NF; next }
		{ for (i = 2; i <= n; i++) s[i] += $i }
		END { for (i = 2; i <= n; i++) printf "%s=%d ", name[i], s[i] }' "$SYSFS_DIR/ports")
	want=$(for c in $(head -n 1 "$SYSFS_DIR/ports" | cut -d' ' -f2-); do
		printf "%s=%d " "$c" "$(kap_stat "$c")"; done)
	expect_eq "$1" "$want" "$sums"
}

# kap_port_stat(port, counter) - a counter of the ports file ("" if absent)
function kap_port_stat() {
	awk -v p="$1" -v c="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == p { print $col[c] }' "$SYSFS_DIR/ports"
}

function trace_start() {
	local t=/sys/kernel/tracing/instances/$TRACE_INSTANCE
	mkdir "$t" || die "cannot create tracefs instance"
	echo 8192 > "$t/buffer_size_kb"
	echo 1 > "$t/events/kapolicy/enable" || die "no kapolicy trace events"
	echo 1 > "$t/tracing_on"
}

# trace_stop(file) - the events recorded since trace_start
function trace_stop() {
	local t=/sys/kernel/tracing/instances/$TRACE_INSTANCE
	echo 0 > "$t/tracing_on"
	grep -v '^#' "$t/trace" > "$1"
	rmdir "$t"
}

# trace_count(file, event) - how many events of a kind
function trace_count() {
	grep -c " $2: " "$1"
}

# capture_start(iface-in-client-ns) / capture_stop(): tcpdump in kap-c
function capture_start() {
	rm -f "$WORK/capture.pcap" "$WORK/capture.log"
	ip netns exec $NS_C tcpdump -i "$1" -nn -U --immediate-mode -w "$WORK/capture.pcap" tcp \
		> "$WORK/capture.log" 2>&1 &
	CAPTURE_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "listening on" "$WORK/capture.log" 2>/dev/null && return 0
		sleep 0.05
	done
	die "tcpdump did not start"
}

function capture_stop() {
	sleep 0.3
	kill -TERM "$CAPTURE_PID" 2>/dev/null
	wait "$CAPTURE_PID" 2>/dev/null
	return 0
}

# wire_count(src, dst, kind) - in the capture, from the point of view of the
# keepalive of src towards dst (kaptool.py wire decodes the packets):
#   probes    segments from src with no data and seq = snd_nxt - 1
#   answers   empty ACKs from dst that follow a probe
#   rsts      RSTs from dst
#   reset_conns  connections that got one or more of them (a segment sent
#             again before the first RST arrived gets one more)
function wire_count() {
	$KAPTOOL wire "$WORK/capture.pcap" "$1" "$2" | python3 -c \
		'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"
}

# ---- policies ---------------------------------------------------------------

# kap_ctl(command...) - each command in its own write to control; prints
# OK or the errno name (EINVAL, ...) for each
function kap_ctl() {
	$KAPTOOL ctl "$SYSFS_DIR/control" "$@"
}

# policy(command) - a control command that must succeed
function policy() {
	local r
	log "% echo '$*' > $SYSFS_DIR/control"
	r=$(kap_ctl "$*")
	[ "$r" = OK ] || die "control '$*': $r"
}

# peer_report(client|server) - JSON lines: the settings of each connection
# as the application sees them (getsockopt)
function peer_report() {
	local who=$1 pid
	[ "$who" = client ] && pid=$CLIENT_PID || pid=$SERVER_PID
	rm -f "$WORK/$who.report"
	kill -USR2 "$pid"
	wait_file "$WORK/$who.report" 20 || die "no report from the $who"
	cat "$WORK/$who.report"
}

# settings(client|server [conn]) - "keepalive idle intvl cnt user_timeout"
# of one connection, as the application sees them
function settings() {
	peer_report "$1" | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if d["conn"] == int(sys.argv[1]):
        print(d["keepalive"], d["idle"], d["intvl"], d["cnt"], d["user_timeout"])' "${2:-0}"
}

# settings_count(client|server, "keepalive idle intvl cnt user_timeout") -
# how many connections have exactly these settings
function settings_count() {
	peer_report "$1" | python3 -c '
import json, sys
n = 0
for l in sys.stdin:
    d = json.loads(l)
    n += "%s %s %s %s %s" % (d["keepalive"], d["idle"], d["intvl"], d["cnt"], d["user_timeout"]) == sys.argv[1]
print(n)' "$2"
}

# ss_keepalive(ns, filter) - the keepalive timers ss -o shows, one per line
# ("keepalive,1.2sec,0"); nothing for a connection without one
function ss_keepalive() {
	in_ns "$1" ss -Htno state established "$2" | grep -o 'timer:(keepalive,[^)]*)' |
		sed 's/^timer:(//; s/)$//'
}

# netns_cookie(ns) - what a netns policy matches (SO_NETNS_COOKIE)
function netns_cookie() {
	in_ns "$1" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'
}

# policy_stat(name, counter)
function policy_stat() {
	cat "$SYSFS_DIR/policies/$1/stats/$2"
}
