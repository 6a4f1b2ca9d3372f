#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the benchmarks' baseline, the BPF sock_ops program of
# selftests/bench/sockops.bpf.c and its loader sockops.c, does what kapolicy
# does before its speed is compared: run as root in the test VM (through
# scripts/bench.sh: selftests/vm/vm.sh bench RELEASE).
#
# Builds both, sets up the benchmarks' two network namespaces joined by a
# veth pair (10.99.0.1 client, 10.99.0.2 server), attaches the program to
# the cgroup SOCKOPS_CGROUP (default the root, /sys/fs/cgroup, where every
# process of the VM is) with ports 7000-7999 mapped to keepalive 300/20/4,
# and checks with getsockopt() on both ends and with ss that a connection
# to port 7500 gets them (the server's end by its local port, the client's
# by its remote one) and one to port 9000 does not; then stops the loader,
# checks its count, and that a new connection to 7500 is no longer set.
# Prints ok/not ok lines; exits 1 if any check failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CG=${SOCKOPS_CGROUP:-/sys/fs/cgroup}
FIRST=7000 NPORTS=1000 IDLE=300 INTVL=20 CNT=4
IN=7500 OUT=9000
NS_C=sockops-c NS_S=sockops-s
C=10.99.0.1 S=10.99.0.2
W=$(mktemp -d /tmp/sockops.XXXXXX)
loader=
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n $*"; failed=1; }
check() {	# check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
not() { ! "$@"; }
die() { not_ok "$*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
	exec 2>/dev/null
	[ -n "$loader" ] && kill "$loader" && wait "$loader"
	for ns in $NS_C $NS_S; do
		ip netns pids "$ns" | xargs -r kill
	done
	wait
	for ns in $NS_C $NS_S; do
		ip netns del "$ns"
	done
	rm -rf "$W"
}
trap cleanup EXIT

# wait_for FILE PATTERN: until a line of FILE matches (10 s at most)
wait_for() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

clang -O2 -g -Wall -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
	-c "$here/sockops.bpf.c" -o "$W/sockops.bpf.o" ||
	die "clang builds sockops.bpf.c"
gcc -O2 -Wall -Wextra -o "$W/sockops" "$here/sockops.c" -lbpf ||
	die "gcc builds sockops.c"
ok "sockops.bpf.c and sockops.c build"

# server: listens on the ports of argv, prints "PORT keepalive=K idle=I
# intvl=N cnt=C" for each connection accepted and keeps it open.
# client ADDR PORT: connects, prints "keepalive=K ...", stays connected.
cat > "$W/peer.py" <<-'EOF'
	import selectors, socket, sys, time
	def opts(s):
	    return "keepalive=%d idle=%d intvl=%d cnt=%d" % (
	        s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
	        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
	        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
	        s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))
	if sys.argv[1] == "server":
	    sel, kept = selectors.DefaultSelector(), []
	    for port in sys.argv[3:]:
	        l = socket.socket()
	        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	        l.bind((sys.argv[2], int(port)))
	        l.listen(16)
	        sel.register(l, selectors.EVENT_READ)
	    print("listening", flush=True)
	    while True:
	        for key, _ in sel.select():
	            s, _ = key.fileobj.accept()
	            kept.append(s)
	            print(key.fileobj.getsockname()[1], opts(s), flush=True)
	else:
	    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), 5)
	    print(opts(s), flush=True)
	    time.sleep(600)
	EOF

modprobe -q veth
for ns in $NS_C $NS_S; do
	ip netns add $ns || die "ip netns add $ns"
	in_ns $ns ip link set lo up
done
ip link add c0 netns $NS_C type veth peer name s0 netns $NS_S || die "veth pair"
in_ns $NS_C ip addr add $C/24 dev c0
in_ns $NS_S ip addr add $S/24 dev s0
in_ns $NS_C ip link set c0 up
in_ns $NS_S ip link set s0 up
# (not through in_ns: a function in the background is a subshell, which
# would note on stderr the deaths of these by the cleanup's kill)
ip netns exec $NS_S python3 "$W/peer.py" server $S $IN $OUT > "$W/server" &
wait_for "$W/server" '^listening$' || die "the listeners on $IN and $OUT start"

"$W/sockops" "$W/sockops.bpf.o" "$CG" $FIRST $NPORTS $IDLE $INTVL $CNT \
	> "$W/loader.out" 2> "$W/loader.err" &
loader=$!
if ! wait_for "$W/loader.out" '^ready$'; then
	sed 's/^/# /' "$W/loader.err"
	die "sockops $CG $FIRST $NPORTS $IDLE $INTVL $CNT says ready"
fi
ok "sockops $CG $FIRST $NPORTS $IDLE $INTVL $CNT says ready"

set_to="keepalive=1 idle=$IDLE intvl=$INTVL cnt=$CNT"
unset_to="keepalive=0 idle=7200 intvl=75 cnt=9"	# a new netns's defaults

# connect TAG PORT: a client connection to PORT, its ends' options in
# $W/TAG.client and (the server's) in the variable server_opts
connect() {
	local tag=$1 port=$2 before i
	before=$(grep -c "^$port " "$W/server")
	ip netns exec $NS_C python3 "$W/peer.py" client $S "$port" > "$W/$tag.client" &
	wait_for "$W/$tag.client" '^keepalive=' || not_ok "$tag: connected to $port"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "^$port " "$W/server")" -gt "$before" ] && break
		sleep 0.1
	done
	server_opts=$(grep "^$port " "$W/server" | tail -n 1 | cut -d' ' -f2-)
}

# opts_are WANT GOT
opts_are() {
	[ "$1" = "$2" ] && return 0
	echo "# got:  $2"
	echo "# want: $1"
	return 1
}

# keepalive_timer NS FILTER: ss shows a keepalive timer of at most IDLE
# and more than IDLE-60 seconds on the connection
keepalive_timer() {
	local out
	out=$(in_ns "$1" ss -tnoi state established "$2")
	python3 - "$IDLE" "$out" <<-'EOF' || { echo "# ss: ${out//$'\n'/ }"; return 1; }
	import re, sys
	idle = int(sys.argv[1])
	m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+(?:\.\d+)?)sec)?(?:(\d+)ms)?", sys.argv[2])
	if not m:
	    sys.exit(1)
	secs = int(m[1] or 0) * 60 + float(m[2] or 0) + int(m[3] or 0) / 1000
	sys.exit(0 if idle - 60 < secs <= idle else 1)
	EOF
}

# no_keepalive_timer NS FILTER
no_keepalive_timer() {
	local out
	out=$(in_ns "$1" ss -tnoi state established "$2")
	grep -q "$S" <<< "$out" || { echo "# ss shows no connection"; return 1; }
	! grep -q 'timer:(keepalive' <<< "$out"
}

connect in $IN
check "port $IN (in the map): the client's end (remote port) has $set_to" \
	opts_are "$set_to" "$(cat "$W/in.client")"
check "port $IN (in the map): the server's end (local port) has $set_to" \
	opts_are "$set_to" "$server_opts"
check "port $IN: ss shows the client's keepalive timer at $IDLE s" \
	keepalive_timer $NS_C "( dport = :$IN )"
check "port $IN: ss shows the server's keepalive timer at $IDLE s" \
	keepalive_timer $NS_S "( sport = :$IN )"

connect out $OUT
check "port $OUT (not in the map): the client's end has $unset_to" \
	opts_are "$unset_to" "$(cat "$W/out.client")"
check "port $OUT (not in the map): the server's end has $unset_to" \
	opts_are "$unset_to" "$server_opts"
check "port $OUT: ss shows no keepalive timer on the client's end" \
	no_keepalive_timer $NS_C "( dport = :$OUT )"
check "port $OUT: ss shows no keepalive timer on the server's end" \
	no_keepalive_timer $NS_S "( sport = :$OUT )"

kill -TERM "$loader"
wait "$loader"
rc=$?
loader=
sed 's/^/# /' "$W/loader.err"
check "sockops exits 0 on SIGTERM" [ $rc -eq 0 ]
check "sockops reports 2 connections set (both ends of the one to $IN)" \
	grep -qx 'sockops: 2 connections set' "$W/loader.err"
check "sockops reports no setsockopt failure" \
	not grep -q 'failures' "$W/loader.err"

connect after $IN
check "after sockops ended: a new connection to $IN has $unset_to (client)" \
	opts_are "$unset_to" "$(cat "$W/after.client")"
check "after sockops ended: a new connection to $IN has $unset_to (server)" \
	opts_are "$unset_to" "$server_opts"

echo "# $n checks, $([ $failed -eq 0 ] && echo all passed || echo some failed)"
exit $failed
