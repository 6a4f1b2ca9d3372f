#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The problem kapolicy solves, and its fix, shown by real programs ("make
# demo" runs this inside a VM: it needs root, network namespaces, nftables
# and the kapolicy module at $KAP_MODULE).
#
#   demo-client 192.0.2.1 ---- demo-fw ---- 198.51.100.1 demo-server
#   nc (netcat)                nftables       redis-server --tcp-keepalive 0
#                              conntrack
#
# The firewall forgets an established flow after FW_TIMEOUT seconds without
# a packet, as a cloud NAT gateway or load balancer does, and answers a
# packet of a flow it no longer knows with a TCP reset (as AWS's NAT
# gateway does).  Neither program turns keepalive on (redis-cli would: it
# sets its own 15 s keepalive, so the client is netcat speaking Redis's
# inline protocol).
#
#   1. Without a policy (kapolicy loaded, only watching): the client holds
#      one connection, is quiet for QUIET seconds (longer than the
#      firewall's timeout), then sends PING: the connection is reset.
#   2. kapctl doctor names the port, the idle time after which its
#      connections die, and the policy that fixes it.
#   3. With that policy: the same quiet period; PING is answered.  kapctl
#      shows the probes, their answers and the port's counters.
#
# Exits 0 only if all three behaved so.  FW_TIMEOUT (at least 10) and
# QUIET can be set when it is run by hand (in "make vm": scripts/demo.sh);
# doctor's fix probes at half the one idle time it saw, so QUIET must stay
# below twice FW_TIMEOUT.
set -uo pipefail

FW_TIMEOUT=${FW_TIMEOUT:-20}
QUIET=${QUIET:-$((FW_TIMEOUT * 5 / 4))}
PORT=6379
NS_C=demo-client NS_F=demo-fw NS_S=demo-server
C=192.0.2.1 S=198.51.100.1
W=$(mktemp -d /tmp/kapdemo.XXXXXX)
cli_pid= srv_pid= watch_pid= loaded=

say() { printf '%s\n' "$*"; }
step() { printf '\n%s\n' "$*"; }
# shows a command, then its output indented
show() {
	printf '   $ %s\n' "$*"
	"$@" 2>&1 | sed 's/^/     /'
}
die() { say "demo: $*" >&2; exit 2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	[ -n "$loaded" ] && [ -d /sys/module/kapolicy ] && rmmod kapolicy 2>/dev/null
	for ns in $NS_C $NS_F $NS_S; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	wait 2>/dev/null
	for ns in $NS_C $NS_F $NS_S; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT

network() {
	modprobe -q veth
	for ns in $NS_C $NS_F $NS_S; do
		ip netns add "$ns" || die "ip netns add $ns"
		in_ns "$ns" ip link set lo up
	done
	ip link add c0 netns $NS_C type veth peer name fw-c netns $NS_F || die "veth"
	ip link add s0 netns $NS_S type veth peer name fw-s netns $NS_F || die "veth"
	in_ns $NS_C ip addr add $C/24 dev c0
	in_ns $NS_C ip link set c0 up
	in_ns $NS_C ip route add default via 192.0.2.254
	in_ns $NS_S ip addr add $S/24 dev s0
	in_ns $NS_S ip link set s0 up
	in_ns $NS_S ip route add default via 198.51.100.254
	in_ns $NS_F ip addr add 192.0.2.254/24 dev fw-c
	in_ns $NS_F ip addr add 198.51.100.254/24 dev fw-s
	in_ns $NS_F ip link set fw-c up
	in_ns $NS_F ip link set fw-s up
	in_ns $NS_F sysctl -qw net.ipv4.ip_forward=1
	# Only the client opens connections; a flow the firewall does not know
	# (any more) gets a reset.
	in_ns $NS_F nft -f - <<-EOF || die "nft"
		table inet fw {
			chain forward {
				type filter hook forward priority filter; policy drop;
				ct state established,related accept
				iifname "fw-c" tcp flags & (syn | ack | fin | rst) == syn ct state new accept
				iifname "fw-c" icmp type echo-request accept
				iifname "fw-c" meta l4proto tcp reject with tcp reset
			}
		}
	EOF
	# conntrack is loaded now: its idle timeout for established flows, and
	# no adoption of a flow seen mid-stream (a NAT cannot: the mapping is gone)
	in_ns $NS_F sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established="$FW_TIMEOUT" \
		net.netfilter.nf_conntrack_tcp_loose=0 || die "conntrack sysctls"
	in_ns $NS_C ping -q -c 1 -W 5 $S > /dev/null || die "no path from the client to the server"
}

# The firewall's entry for the flow of the client's connection, or nothing.
fw_flow() {
	in_ns $NS_F cat /proc/net/nf_conntrack 2>/dev/null |
		grep -E "tcp .* dport=$PORT " | grep -v TIME_WAIT | head -n 1 |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(ESTABLISHED|SYN_SENT|SYN_RECV|CLOSE|FIN_WAIT|LAST_ACK|CLOSE_WAIT)$/) st = $i;
		       print st ", forgotten in " $5 " s" }'
}

server_start() {
	# Debian's redis-server is redis-check-rdb started under that name.
	ip netns exec $NS_S bash -c "exec -a redis-server /usr/bin/redis-check-rdb --bind $S --port $PORT \
		--tcp-keepalive 0 --save '' --appendonly no --protected-mode no --daemonize no \
		--dir $W --logfile $W/redis.log" < /dev/null > /dev/null 2>&1 &
	srv_pid=$!
	for _ in $(seq 50); do
		in_ns $NS_C redis-cli -h $S -p $PORT PING 2>/dev/null | grep -q PONG && return 0
		sleep 0.2
	done
	die "redis-server did not start: $(tail -n 5 "$W/redis.log" 2>/dev/null)"
}

# client_start: nc holding one connection, its input a FIFO
client_start() {
	rm -f "$W/cmd" "$W/out" "$W/err"
	mkfifo "$W/cmd"
	ip netns exec $NS_C nc $S $PORT < "$W/cmd" > "$W/out" 2> "$W/err" &
	cli_pid=$!
	exec 3> "$W/cmd"
}

client_stop() {
	exec 3>&-
	kill "$cli_pid" 2>/dev/null
	wait "$cli_pid" 2>/dev/null
	cli_pid=
}

# request: sends PING, prints the answer, or why there is none (waits 10 s)
request() {
	local before
	before=$(wc -l < "$W/out")
	# a client gone (reset) makes this write fail: EPIPE, not SIGPIPE
	(trap '' PIPE; printf 'PING\r\n' >&3) 2>/dev/null
	for _ in $(seq 100); do
		[ "$(wc -l < "$W/out")" -gt "$before" ] && break
		sleep 0.1
	done
	sed -n "$((before + 1)),\$p" "$W/out" | head -n 1 | tr -d '\r' | grep . ||
		echo "(no answer in 10 s)"
}

# The client's established connections to the server, and the resets its
# kernel counted on established connections.
client_conns() { in_ns $NS_C ss -Htn state established "( dport = :$PORT )" | wc -l; }
client_resets() {
	in_ns $NS_C nstat -saz TcpEstabResets | awk '$1 == "TcpEstabResets" { n = $2 } END { print n + 0 }'
}

# sleep_until T: until the epoch time T (seconds, with a fraction)
sleep_until() {
	sleep "$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
}

# QUIET seconds from now, whatever the commands meanwhile take
quiet() {
	local t0 f
	t0=$(date +%s.%N)
	say "   ... quiet for $QUIET s (the firewall forgets a flow after $FW_TIMEOUT s) ..."
	sleep_until "$(awk -v t="$t0" -v q="$QUIET" 'BEGIN { printf "%.3f", t + q - 2 }')"
	f=$(fw_flow)
	say "   after $((QUIET - 2)) s the firewall's conntrack entry for the flow: ${f:-none: the flow is forgotten}"
	sleep_until "$(awk -v t="$t0" -v q="$QUIET" 'BEGIN { printf "%.3f", t + q }')"
}

[ "$(id -u)" -eq 0 ] || die "run as root (inside the VM: make demo)"
command -v redis-cli > /dev/null || die "redis-cli is missing (apt-get install redis-tools)"
command -v nc > /dev/null || die "nc is missing (apt-get install netcat-openbsd)"
[ -n "${KAP_MODULE:-}" ] && [ -e "$KAP_MODULE" ] || die "no kapolicy module at KAP_MODULE='${KAP_MODULE:-}'"
[ -d /sys/kernel/kapolicy ] && { rmmod kapolicy || die "kapolicy is loaded; the demo starts without it"; }

say "kapolicy demo: an idle connection through a stateful firewall"
say
say "   nc (demo-client, $C), holding one connection"
say "      |"
say "   firewall (demo-fw): nftables with conntrack; forgets an established flow"
say "      |    after $FW_TIMEOUT s without a packet and resets the next one, as a cloud NAT does"
say "   redis-server (demo-server, $S:$PORT), with tcp-keepalive 0"
say
say "Neither program turns keepalive on (like most programs): Linux never"
say "probes the connection, and with its defaults would wait 7200 s anyway."
network
server_start

# ---- 1. without a policy ----
step "1. Without a policy (kapolicy is loaded with none: it changes nothing, it only watches)"
show insmod "$KAP_MODULE"
[ -d /sys/module/kapolicy ] || die "insmod $KAP_MODULE failed"
loaded=1
resets0=$(client_resets)
client_start
r1=$(request)
say "   client> PING      $r1"
quiet
r2=$(request)
say "   client> PING      $r2"
conns=$(client_conns)
resets=$(( $(client_resets) - resets0 ))
say "   the client's connections to the server now: $conns; resets its kernel received: $resets"
client_stop
part1=fail
if [ "$r1" = +PONG ] && [ "$r2" != +PONG ] && [ "$conns" -eq 0 ] && [ "$resets" -ge 1 ]; then
	part1=ok
	say "   The first request after a quiet period fails: the firewall forgot the"
	say "   flow and answered it with a reset. This is the problem."
else
	say "   (unexpected: the request after the quiet period did not fail)"
fi

# ---- 2. the diagnosis ----
step "2. Which middlebox kills idle connections, and after how long? (one death is enough here)"
show kapctl doctor --min-count 1
fix=$(kapctl -j doctor --min-count 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["ports"]:
    if p["port"] == int(sys.argv[1]) and p["kind"] == "reset" and p.get("fix"):
        print(p["fix"])' $PORT)
POLICY=doctor-$PORT
part_doc=fail
case "$fix" in
"kapctl policy add $POLICY rport=$PORT "*) part_doc=ok ;;
*) say "   (unexpected: doctor suggested '${fix}')" ;;
esac

# ---- 3. with the policy doctor printed ----
step "3. With the policy doctor printed"
# shellcheck disable=SC2086 # the fix is words
[ -n "$fix" ] && show ${fix}
show kapctl policy list
trace_out=$W/watch
kapctl watch --policy $POLICY --duration $((QUIET + 8)) > "$trace_out" 2>&1 &
watch_pid=$!
sleep 2
resets0=$(client_resets)
client_start
r3=$(request)
say "   client> PING      $r3"
quiet
show kapctl sockets --netns $NS_C --policy $POLICY
r4=$(request)
say "   client> PING      $r4"
resets=$(( $(client_resets) - resets0 ))
say
say "   what kapolicy saw (kapctl watch --policy $POLICY):"
sleep 1
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=
sed 's/^/     /' "$trace_out" | head -n 12
show kapctl stats --port $PORT
client_stop
# a counter of the port's row, by its column's name
port_counter() {
	awk -v p=$PORT -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
		$1 == p && col { print $col }' /sys/kernel/kapolicy/ports
}
sent=$(port_counter probes_sent)
answered=$(port_counter probes_answered)
part2=fail
if [ "$r3" = +PONG ] && [ "$r4" = +PONG ] && [ "${sent:-0}" -ge 1 ] &&
   [ "${answered:-0}" -ge 1 ] && [ "$resets" -eq 0 ] && grep -q probe_answered "$trace_out"; then
	part2=ok
	idle=$(sed -n 's/.* idle=\([0-9]*\) .*/\1/p' /sys/kernel/kapolicy/policies/$POLICY/spec)
	say "   The same quiet period, the same programs: a keepalive probe from the"
	say "   client after each $idle s of silence kept the firewall's entry alive"
	say "   ($sent probes sent, $answered answered), and the request after it is answered."
else
	say "   (unexpected: PING '$r3' then '$r4'; probes sent ${sent:-0}, answered ${answered:-0}; resets $resets)"
fi
kapctl policy del $POLICY > /dev/null
rmmod kapolicy && loaded=

if [ "$part1" = ok ] && [ "$part_doc" = ok ] && [ "$part2" = ok ]; then
	step "Result: as expected. Without a policy the request after $QUIET quiet seconds failed;"
	say "kapctl doctor named the port and the fix; with that one policy, and no change"
	say "to either program, the request was answered."
	exit 0
fi
step "Result: NOT as expected (without a policy: $part1, doctor: $part_doc, with the policy: $part2)"
exit 1
