#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "A session", from a real run ("make session" runs this in a
# VM; it needs root, network namespaces, nftables and the kapolicy module
# at $KAP_MODULE).  The selftests' network (selftests/net_lib.sh):
#
#   kap-c (client) ---- kap-r (router) ---- kap-s (servers on 5432, 8080)
#
# Two quiet connections to port 5432 and one to 8080 are opened, none with
# keepalive; then the commands below run as root, each shown with its
# output.  Midway the router starts dropping the path to port 8080.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../selftests/functions.sh"
. "$here/../selftests/net_lib.sh"

function log() { :; }	# the transcript only
function show() {
	printf '$ %s\n' "$*"
	eval "$@" 2>&1
	printf '\n'
}

setup
load_mod
net_setup
start_pair() {	# start_pair(port, connections)
	ip netns exec $NS_S $KAPTOOL server $S4 "$1" --ready "$WORK/s$1" &
	wait_file "$WORK/s$1" 30 || die "no server on $1"
	ip netns exec $NS_C $KAPTOOL client $S4 "$1" --count "$2" --wait 3600 \
		--hold --ready "$WORK/c$1" &
	wait_file "$WORK/c$1" 60 || die "no client on $1"
}
start_pair 5432 2
start_pair 8080 1
sleep 3

show kapctl status
show kapctl policy add pg lport=postgresql idle=60 intvl=10 cnt=5 keepalive=on
show kapctl policy add api rport=8000-8999 idle=2 intvl=1 cnt=3 keepalive=on mode=override
show kapctl policy
show kapctl sockets --netns kap-s
show kapctl watch --duration 5
# the fault comes while watch runs: shown as one command
kapctl watch --event probe_sent --event timeout --duration 7 > "$WORK/watch" 2>&1 &
wpid=$!
sleep 1
in_ns $NS_R nft add rule inet kap kapfwd tcp dport 8080 drop
in_ns $NS_R nft add rule inet kap kapfwd tcp sport 8080 drop
wait $wpid
printf '# (the path to port 8080 starts dropping packets)\n'
printf '$ %s\n' "kapctl watch --event probe_sent --event timeout --duration 7"
cat "$WORK/watch"
printf '\n'
show kapctl stats ports
show 'kapctl stats --format prometheus | head -n 6'
show kapctl stats all --format prometheus --output /tmp/kapolicy.prom
show kapctl policy add bad lport=80 idle=0
