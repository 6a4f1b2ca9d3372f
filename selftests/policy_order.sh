#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The first matching policy in order governs; order=N inserts at a position,
# move reorders, del hands a connection to the next match.  One existing
# connection to port 5042 is watched from its server side (lport) while the
# table changes under it.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5042

setup
ktap_plan 9
unload_mod_if_loaded
load_mod
net_setup
server_start $S4 $PORT
client_start $S4 $PORT --wait 600

function idle_of_server() {
	settings server | cut -d' ' -f2
}

function orders() {
	local d
	for d in $(ls "$SYSFS_DIR/policies"); do
		echo "$d=$(cat "$SYSFS_DIR/policies/$d/order")"
	done | sort -t= -k2 -n | tr '\n' ' '
}

policy "add range lport=5000-5100 idle=10"
policy "add exact lport=$PORT idle=20"
expect_eq "range first: it governs" 10 "$(idle_of_server)"
expect_eq "orders: range=0 exact=1" "range=0 exact=1 " "$(orders)"
policy "move exact 0"
expect_eq "exact moved first: it governs the existing connection" 20 "$(idle_of_server)"
policy "add all family=4 idle=30 order=0"
expect_eq "a family policy inserted at 0 takes over" 30 "$(idle_of_server)"
expect_eq "orders: all=0 exact=1 range=2" "all=0 exact=1 range=2 " "$(orders)"
policy "add rp rport=$PORT idle=40 order=0"
expect_eq "a policy on the remote port does not match the server's side" 30 "$(idle_of_server)"
# the client's side (rport 5042, family 4): all, then rp took it over
expect_eq "sockets_governed by policy: range 1, exact 1, all 2, rp 1" "1 1 2 1" \
	"$(policy_stat range sockets_governed) $(policy_stat exact sockets_governed) $(policy_stat all sockets_governed) $(policy_stat rp sockets_governed)"
policy "del all"
expect_eq "del: the next match governs again" 20 "$(idle_of_server)"
policy "flush"
expect_eq "flush: the application's own value again (unset: 7200)" 7200 "$(idle_of_server)"

client_stop
server_stop
unload_mod
ktap_finish
