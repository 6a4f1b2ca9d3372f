#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks, run inside the VM ("make bench": selftests/vm/vm.sh bench).
# Under software emulation only ratios mean something, so each row compares
# two configurations side by side in one boot: BENCH_ROUNDS rounds, each
# measuring A then B or B then A (alternating, so that a drift of the host
# does not favour one), BENCH_SECONDS seconds each; the row gives the
# median of the per-round ratios A/B and their spread (least-greatest).
#
#   churn        connect, one byte, close, over veth, 2 client threads
#                against 2 server threads (selftests/bench/churn.c)
#   churn (rst)  the same, the server closing with a RST
#
#   on vs off    module loaded, recording deaths after idle (idle_deaths=1)
#                vs loaded with the recording off (idle_deaths=0)
#   on vs none   module loaded (idle_deaths=1) vs not loaded
#   none vs none the control: the same configuration twice, whose spread
#                is the noise of the method on this machine
#
# Needs root, network namespaces, gcc, and the module at $KAP_MODULE.
set -uo pipefail

ROUNDS=${BENCH_ROUNDS:-15}
SECS=${BENCH_SECONDS:-3}
THREADS=2
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/kapbench.XXXXXX)
PARAM=/sys/module/kapolicy/parameters/idle_deaths
NS_C=bench-c NS_S=bench-s
C=10.99.0.1 S=10.99.0.2

die() { echo "bench: $*" >&2; exit 2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
	exec 2>/dev/null	# not the shell's notes on the servers it kills
	for ns in $NS_C $NS_S; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	wait 2>/dev/null
	for ns in $NS_C $NS_S; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -d /sys/module/kapolicy ] && rmmod kapolicy
	rm -rf "$W"
}
trap cleanup EXIT

gcc -O2 -Wall -pthread -o "$W/churn" "$top/selftests/bench/churn.c" || die "cannot build churn"
modprobe -q veth
for ns in $NS_C $NS_S; do
	ip netns add $ns || die "ip netns add $ns"
	in_ns $ns ip link set lo up
	# short-lived ports are reused at once
	in_ns $ns sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 60999"
done
ip link add c0 netns $NS_C type veth peer name s0 netns $NS_S || die veth
in_ns $NS_C ip addr add $C/24 dev c0
in_ns $NS_S ip addr add $S/24 dev s0
in_ns $NS_C ip link set c0 up
in_ns $NS_S ip link set s0 up
in_ns $NS_S "$W/churn" server $S 7000 $THREADS &
in_ns $NS_S "$W/churn" server $S 7001 $THREADS rst &
sleep 1
insmod "$KAP_MODULE" || die "insmod $KAP_MODULE"

# config NAME: put the host in configuration NAME
config() {
	case $1 in
	on)	[ -d /sys/module/kapolicy ] || insmod "$KAP_MODULE"; echo 1 > $PARAM ;;
	off)	[ -d /sys/module/kapolicy ] || insmod "$KAP_MODULE"; echo 0 > $PARAM ;;
	none)	[ -d /sys/module/kapolicy ] && rmmod kapolicy ;;
	esac
	sleep 0.5
}

rate() {	# rate PORT: connections per second
	in_ns $NS_C "$W/churn" client $S "$1" $THREADS "$SECS"
}

# row TITLE PORT A B: A/B over ROUNDS alternating rounds
row() {
	local title=$1 port=$2 a=$3 b=$4 r ra rb
	: > "$W/ratios"
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2 == 0)); then
			config "$a"; ra=$(rate "$port")
			config "$b"; rb=$(rate "$port")
		else
			config "$b"; rb=$(rate "$port")
			config "$a"; ra=$(rate "$port")
		fi
		echo "$ra $rb" >> "$W/ratios"
	done
	python3 - "$title" "$a" "$b" "$W/ratios" <<-'EOF'
	import statistics, sys
	title, a, b, path = sys.argv[1:]
	rounds = [tuple(map(float, l.split())) for l in open(path)]
	ratios = sorted(x / y for x, y in rounds)
	print("| %s | %s vs %s | %.3f | %.3f-%.3f | %.0f | %.0f | %d |" % (
	    title, a, b, statistics.median(ratios), ratios[0], ratios[-1],
	    statistics.median(x for x, _ in rounds),
	    statistics.median(y for _, y in rounds), len(rounds)))
	EOF
}

echo "kernel $(uname -r), $(nproc) vCPUs, $ROUNDS rounds of $SECS s, $THREADS client threads"
echo
echo "| benchmark | A vs B | median A/B | spread | A conn/s | B conn/s | rounds |"
echo "|---|---|---|---|---|---|---|"
row "churn" 7000 none none
row "churn" 7000 on off
row "churn (rst)" 7001 on off
row "churn" 7000 on none
row "churn (rst)" 7001 on none
