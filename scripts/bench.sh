#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks, run inside the VM ("make bench": selftests/vm/vm.sh bench).
# Under software emulation only ratios mean something, so each ratio row
# compares two configurations side by side in one boot: BENCH_ROUNDS
# rounds, each measuring A then B or B then A (alternating, so that a drift
# of the host favours neither), BENCH_SECONDS seconds each; the row gives
# the median of the per-round ratios A/B and their spread (least-greatest).
#
# Loads (selftests/bench/), over a veth pair between two namespaces:
#   churn     connect, one byte, close; 2 client threads, 2 server threads
#   churn rst the same, the server closing with a RST
#   bulk      one connection, 64 KiB writes, MB/s received
#   sockopt   setsockopt() calls in a loop, ns per call (no network)
#   probes    10,000 idle connections probing every second (idle=1
#             intvl=1): system + softirq CPU time per keepalive probe
#
# Configurations:
#   none      the module not loaded, no BPF program
#   on        the module loaded, no policy
#   kap1100   the module with 1000 port policies (lport=7000-7999, one
#             each: idle=60 intvl=10 cnt=5 keepalive=on) and 100 cgroup
#             policies (cgroups that the loads are not in)
#   kap1000   the module with the 1000 port policies
#   kapboth   what the BPF program does: for each of the 1000 ports 7000-
#             7999 an lport=P and an rport=P policy (2000), so that both
#             ends of a connection are governed
#   bpf       no module; a BPF sock_ops program on the root cgroup setting
#             the same values from a map of the same 1000 ports, on the
#             local port or else the remote one: both ends
#             (selftests/bench/sockops.bpf.c)
#   pN        the module with N policies: lport=7000 and N-1 others
#             (port policies, and 100 cgroup ones when N > 200)
#   gov       the module with one fill policy governing the probing
#             connections (their own values win: same behaviour)
#
# Then, not ratios: a policy applied to 10,000 established connections and
# removed (ms, each checked with ss), kapctl watch against the probes, and
# the module's memory with 0, 10,000 and BENCH_MEM_CONNS connections.
#
# BENCH_ONLY: a regex over section names (churn bulk sockopt scaling probes
# apply memory) to run only some.  Needs root, network namespaces, cgroup
# v2, gcc, clang, libbpf, and the module at $KAP_MODULE.
set -uo pipefail

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-3}
ONLY=${BENCH_ONLY:-.}
MEM_CONNS=${BENCH_MEM_CONNS:-100000}
THREADS=2
top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/selftests/bench
W=$(mktemp -d /tmp/kapbench.XXXXXX)
K=/sys/kernel/kapolicy
PARAM=/sys/module/kapolicy/parameters/idle_deaths
NS_C=bench-c NS_S=bench-s
C=10.99.0.1 S=10.99.0.2
CG=/sys/fs/cgroup/kapbench
KAPCTL=${KAPCTL:-$(command -v kapctl || echo "$top/userspace/kapctl")}

die() { echo "bench: $*" >&2; exit 2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
want() { [[ $1 =~ $ONLY ]]; }

cleanup() {
	exec 2>/dev/null	# not the shell's notes on the servers it kills
	bpf_stop
	for ns in $NS_C $NS_S; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	wait 2>/dev/null
	for ns in $NS_C $NS_S; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -d /sys/module/kapolicy ] && rmmod kapolicy
	rmdir "$CG"/g* "$CG" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

for t in churn bulk sockopt conns; do
	gcc -O2 -Wall -pthread -o "$W/$t" "$bench/$t.c" || die "cannot build $t"
done
if want churn; then
	clang -O2 -g -Wall -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$bench/sockops.bpf.c" -o "$W/sockops.bpf.o" || die "cannot build sockops.bpf.o"
	gcc -O2 -Wall -Wextra -o "$W/sockops" "$bench/sockops.c" -lbpf || die "cannot build sockops"
fi

modprobe -q veth
for ns in $NS_C $NS_S; do
	ip netns add $ns || die "ip netns add $ns"
	in_ns $ns ip link set lo up
	# short-lived ports are reused at once; room for 100,000 connections
	in_ns $ns sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.ipv4.ip_local_port_range="10000 60999" \
		net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done
ip link add c0 netns $NS_C type veth peer name s0 netns $NS_S || die veth
in_ns $NS_C ip addr add $C/24 dev c0
in_ns $NS_S ip addr add $S/24 dev s0
in_ns $NS_C ip link set c0 up
in_ns $NS_S ip link set s0 up
in_ns $NS_S "$W/churn" server $S 7000 $THREADS &
in_ns $NS_S "$W/churn" server $S 7001 $THREADS rst &
in_ns $NS_S "$W/bulk" server $S 7002 &
sleep 1

# 100 cgroups that no load runs in, for the cgroup policies
mkdir -p "$CG" || die "no cgroup v2 at /sys/fs/cgroup"
for ((i = 0; i < 100; i++)); do
	mkdir -p "$CG/g$i"
done

# ---- configurations ------------------------------------------------------

# policies N: the commands of a table of N policies, lport=7000 first
policies() {
	local n=$1 i ids
	echo begin
	echo flush
	echo "add p7000 lport=7000 idle=60 intvl=10 cnt=5 keepalive=on"
	ids=($(stat -c %i "$CG"/g*))
	if ((n > 200)); then
		for ((i = 1; i < n - 100; i++)); do
			echo "add p$((7000 + i)) lport=$((7000 + i)) idle=60 intvl=10 cnt=5 keepalive=on"
		done
		for ((i = 0; i < 100; i++)); do
			echo "add g$i cgroup=${ids[i]} idle=60 intvl=10 cnt=5 keepalive=on"
		done
	else
		for ((i = 1; i < n; i++)); do
			echo "add p$((7000 + i)) lport=$((7000 + i)) idle=60 intvl=10 cnt=5 keepalive=on"
		done
	fi
	echo commit
}

load() {	# the module, with the table of the commands on stdin
	[ -d /sys/module/kapolicy ] || insmod "$KAP_MODULE" || die "insmod"
	echo 1 > $PARAM
	python3 "$top/selftests/kaptool.py" ctl $K/control - > /dev/null || die "policies"
}

bpf_pid=
bpf_stop() {
	[ -n "$bpf_pid" ] || return 0
	kill "$bpf_pid"
	wait "$bpf_pid" 2>/dev/null
	bpf_pid=
}

bpf_start() {
	"$W/sockops" "$W/sockops.bpf.o" /sys/fs/cgroup 7000 1000 60 10 5 \
		> "$W/bpf.ready" 2> "$W/bpf.log" &
	bpf_pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q ready "$W/bpf.ready" && return 0
		sleep 0.1
	done
	cat "$W/bpf.log" >&2
	die "the BPF program did not attach"
}

current=
config() {	# config NAME: put the host in configuration NAME
	[ "$1" = "$current" ] && return 0
	bpf_stop
	case $1 in
	none)	[ -d /sys/module/kapolicy ] && { rmmod kapolicy || die "rmmod"; } ;;
	on)	echo flush | load ;;
	kap1100) policies 1100 | load ;;
	kap1000) policies 1100 | sed '/cgroup=/d' | load ;;
	kapboth) policies 1100 | sed '/cgroup=/d; s/^add p\([0-9]*\) lport=\([0-9]*\)\(.*\)/&\nadd r\1 rport=\2\3/' | load ;;
	p*)	policies "${1#p}" | load ;;
	gov)	printf '%s\n' flush "add gov rport=7100-7109 idle=1 intvl=1 cnt=100 keepalive=on" | load ;;
	bpf)	[ -d /sys/module/kapolicy ] && rmmod kapolicy; bpf_start ;;
	*)	die "no configuration $1" ;;
	esac
	current=$1
	sleep 0.5
}

# ---- measurements: each prints one number --------------------------------

m_churn() { in_ns $NS_C "$W/churn" client $S 7000 $THREADS "$SECS"; }
m_churn_rst() { in_ns $NS_C "$W/churn" client $S 7001 $THREADS "$SECS"; }
m_bulk() { in_ns $NS_C "$W/bulk" client $S 7002 "$SECS"; }
m_sockopt() { "$W/sockopt" "$1" 1; }

cpu_ticks() {	# system + softirq ticks of all CPUs
	awk '/^cpu /{ print $4 + $8 }' /proc/stat
}

probes_sent() {	# TcpExtTCPKeepAlive of the client namespace
	in_ns $NS_C awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "TCPKeepAlive") c = i; h = 1 } else print $c }' /proc/net/netstat
}

m_probe() {	# microseconds of system + softirq CPU per keepalive probe
	local t0 p0 t1 p1 secs=$((SECS * 3))
	sleep "$SECS"	# what loading or unloading left behind settles
	t0=$(cpu_ticks); p0=$(probes_sent)
	sleep "$secs"
	t1=$(cpu_ticks); p1=$(probes_sent)
	echo "$current $(((p1 - p0) / secs))" >> "$W/probe.rates"
	python3 -c "import os; print('%.2f' % ((($t1 - $t0) / os.sysconf('SC_CLK_TCK')) * 1e6 / max(1, $p1 - $p0)))"
}

# ---- rows -----------------------------------------------------------------

# row TITLE MEASURE A B: A/B over ROUNDS alternating rounds
row() {
	local title=$1 m=$2 a=$3 b=$4 r ra rb
	: > "$W/ratios"
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2 == 0)); then
			config "$a"; ra=$($m)
			config "$b"; rb=$($m)
		else
			config "$b"; rb=$($m)
			config "$a"; ra=$($m)
		fi
		echo "$ra $rb" >> "$W/ratios"
	done
	python3 - "$title" "$a" "$b" "$W/ratios" <<-'EOF'
	import statistics, sys
	title, a, b, path = sys.argv[1:]
	rounds = [tuple(map(float, l.split())) for l in open(path)]
	ratios = sorted(x / y for x, y in rounds)
	print("| %s | %s vs %s | %.3f | %.3f-%.3f | %.1f | %.1f | %d |" % (
	    title, a, b, statistics.median(ratios), ratios[0], ratios[-1],
	    statistics.median(x for x, _ in rounds),
	    statistics.median(y for _, y in rounds), len(rounds)))
	EOF
}

header() {
	echo
	echo "$1"
	echo
	echo "| benchmark | A vs B | median A/B | spread | A | B | rounds |"
	echo "|---|---|---|---|---|---|---|"
}

echo "kernel $(uname -r), $(nproc) vCPUs, $ROUNDS rounds of $SECS s, $THREADS client threads"

if want churn; then
	header "Connection churn (conn/s; higher is better)"
	row "churn" m_churn none none
	row "churn" m_churn kap1100 none
	row "churn (rst)" m_churn_rst kap1100 none
	row "churn" m_churn kapboth bpf
	row "churn" m_churn bpf none
	row "churn" m_churn on none
fi

if want scaling; then
	header "Lookup scaling (conn/s; higher is better)"
	row "churn" m_churn p100 p1
	row "churn" m_churn p4096 p1
fi

if want bulk; then
	header "Bulk throughput (MB/s; higher is better)"
	row "bulk" m_bulk none none
	row "bulk" m_bulk kap1000 none
fi

if want sockopt; then
	header "setsockopt (ns per call; lower is better)"
	for k in tcp-nodelay udp-rcvbuf unix-rcvbuf tcp-keepidle tcp-keepalive; do
		row "$k" "m_sockopt $k" on none
	done
	# with policies that give TCP values the tcp_setsockopt() probe is armed
	for k in tcp-nodelay tcp-keepidle; do
		row "$k" "m_sockopt $k" kap1000 none
	done
fi
config none

# ---- many connections -------------------------------------------------------

# conns N PORT [IDLE INTVL CNT]: N connections to PORT..PORT+9, held
conns_pid=
conns_open() {
	local n=$1 port=$2; shift 2
	rm -f "$W/conns.ready"
	# not through in_ns: $! is then conns itself (ip netns exec execs it)
	ip netns exec $NS_C "$W/conns" client $S "$port" 10 "$n" "$W/conns.ready" "$@" &
	conns_pid=$!
	while [ ! -s "$W/conns.ready" ]; do
		kill -0 $conns_pid 2>/dev/null || die "conns client failed"
		sleep 1
	done
	[ "$(cat "$W/conns.ready")" = "$n" ] || die "only $(cat "$W/conns.ready") of $n connections"
}

conns_close() {
	{ kill $conns_pid; wait $conns_pid; } 2>/dev/null
	conns_pid=
	# until the client's sockets are gone
	while [ "$(in_ns $NS_C ss -tnH state established | wc -l)" -gt 0 ]; do
		sleep 1
	done
}

timed_write() {	# timed_write CMD: ms that writing CMD to control took
	python3 - "$K/control" "$1" <<-'EOF'
	import os, sys, time
	fd = os.open(sys.argv[1], os.O_WRONLY)
	t = time.monotonic()
	os.write(fd, sys.argv[2].encode())
	print("%.0f" % ((time.monotonic() - t) * 1000))
	EOF
}

keepalive_timers() {	# connections to PORT..PORT+9 with a keepalive timer
	in_ns $NS_C ss -tnoH state established "( dport >= :$1 and dport <= :$(($1 + 9)) )" |
		grep -c 'timer:(keepalive'
}

in_ns $NS_S "$W/conns" server $S 7100 10 &
in_ns $NS_S "$W/conns" server $S 7200 10 &
sleep 1

if want probes; then
	header "Keepalive probes (us of system + softirq CPU per probe; lower is better)"
	conns_open 10000 7100 1 1 100
	sleep 3
	row "probe, 10,000 conns" m_probe gov none
	python3 - "$W/probe.rates" <<-'EOF'
	import statistics, sys
	rates = {}
	for line in open(sys.argv[1]):
	    name, rate = line.split()
	    rates.setdefault(name, []).append(int(rate))
	print()
	print("probes per second (median of the rounds): " + ", ".join(
	      "%s %d" % (n, statistics.median(r)) for n, r in sorted(rates.items())))
	EOF
	# kapctl watch against what the kernel sent
	config gov
	p0=$(probes_sent)
	timeout -s INT 10 "$KAPCTL" -j watch > "$W/watch.json" 2> "$W/watch.err"
	p1=$(probes_sent)
	python3 - "$W/watch.json" $((p1 - p0)) <<-'EOF'
	import json, sys
	sent = lost = 0
	for line in open(sys.argv[1]):
	    e = json.loads(line)
	    if e.get('event') == 'probe_sent':
	        sent += 1
	    elif e.get('event') == 'lost':
	        lost += int(e['count'])
	print()
	print("kapctl watch -j, 10 s: %d probe_sent events for %d probes the kernel "
	      "counted (TcpExtTCPKeepAlive), %d events reported lost" % (
	      sent, int(sys.argv[2]), lost))
	EOF
	config none
	conns_close
fi

if want apply; then
	echo
	echo "Retroactive apply: a policy added while 10,000 connections are established, and deleted"
	echo
	conns_open 10000 7200
	insmod "$KAP_MODULE" || die insmod
	echo "| round | add ms | with keepalive after add | del ms | with keepalive after del |"
	echo "|---|---|---|---|---|"
	for r in 1 2 3 4 5; do
		add=$(timed_write "add retro rport=7200-7209 idle=600 intvl=60 cnt=5 keepalive=on")
		nadd=$(keepalive_timers 7200)
		del=$(timed_write "del retro"); ndel=$(keepalive_timers 7200)
		echo "| $r | $add | $nadd | $del | $ndel |"
	done
	rmmod kapolicy
	conns_close
fi

if want memory; then
	echo
	echo "Memory: the module's own (vmalloc: /proc/vmallocinfo callers in kapolicy;"
	echo "slab: SUnreclaim of /proc/meminfo, loaded minus not loaded, same connections)"
	echo
	echo "| connections | policies | module text+data kB | vmalloc kB | slab kB | sockets tracked | overflow |"
	echo "|---|---|---|---|---|---|---|"
	meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
	memrow() {	# memrow CONNS POLICIES
		local s0 s1 vm core
		sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1
		s0=$(meminfo SUnreclaim)
		insmod "$KAP_MODULE" || die insmod
		if (($2 > 0)); then
			policies "$2" | sed 's/lport=7000 /rport=7100-7109 /' |
				python3 "$top/selftests/kaptool.py" ctl $K/control - > /dev/null || die policies
		fi
		sleep 2
		sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1
		s1=$(meminfo SUnreclaim)
		vm=$(awk '/\[kapolicy\]/ { s += $2 } END { print int(s / 1024) }' /proc/vmallocinfo)
		core=$(( $(cat /sys/module/kapolicy/coresize) / 1024 ))
		echo "| $1 | $2 | $core | $vm | $((s1 - s0)) | $(cat $K/limits/sockets_tracked) | $(cat $K/limits/sockets_overflow) |"
		rmmod kapolicy
	}
	memrow 0 0
	memrow 0 4096
	conns_open 10000 7100
	memrow 10000 4096
	conns_close
	conns_open "$MEM_CONNS" 7100
	memrow "$MEM_CONNS" 4096
	conns_close
fi
exit 0
