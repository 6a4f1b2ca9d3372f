#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transactions (what kapctl apply uses) and enforce:
#   - begin ... commit replaces the table in one step; abort drops it;
#   - a committed table that keeps a policy unchanged (same name and spec)
#     keeps it: its connections are not reverted and re-applied;
#   - enforce=0 stops applying (new connections, setsockopt) while the
#     counters go on; enforce=1 applies the table to what is established.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5060

setup
ktap_plan 10
unload_mod_if_loaded
load_mod
net_setup

function names() {
	echo $(ls "$SYSFS_DIR/policies")
}

expect_eq "begin, add a, add b: nothing visible before commit" "OK OK OK " \
	"$(echo $(kap_ctl "begin" "add a lport=$PORT idle=11" "add b idle=12") "$(names)")"
# (each kaptool run is its own process: its transaction ends with it)
$KAPTOOL ctl "$SYSFS_DIR/control" "begin" "add a lport=$PORT idle=11" "add b idle=12" "commit" \
	> "$WORK/txn.out"
expect_eq "begin ... commit: both policies at once" "OK OK OK OK|a b" \
	"$(echo $(cat "$WORK/txn.out") | tr ' ' ' ')|$(names)"
$KAPTOOL ctl "$SYSFS_DIR/control" "begin" "flush" "add z idle=5" "abort" > "$WORK/txn.out"
expect_eq "begin ... abort: nothing changes" "a b" "$(names)"

server_start $S4 $PORT
client_start $S4 $PORT --wait 600
expect_eq "a governs the server's connection" "1" "$(policy_stat a sockets_governed)"
EV=$WORK/commit.events
trace_start
$KAPTOOL ctl "$SYSFS_DIR/control" "begin" "flush" "add a lport=$PORT idle=11" "add c idle=13" "commit" \
	> "$WORK/txn.out"
trace_stop "$EV"
expect_eq "a replacing table keeping a unchanged: committed" "a c" "$(names)"
expect_eq "... a's connection was neither reverted nor re-applied" "0 1" \
	"$(grep -c 'policy_applied: .*policy=a ' "$EV") $(policy_stat a sockets_governed)"
client_stop

policy "flush"
echo 0 > $SYSFS_DIR/enforce
policy "add e rport=$PORT idle=11 keepalive=on mode=override"
governed=$(kap_stat sockets_governed)
client_start $S4 $PORT --wait 600 --set-after --idle 600
expect_eq "enforce=0: a new connection is not governed" "0 600 75 9 0" "$(settings client)"
expect_eq "enforce=0: nothing applied, nothing overruled" "$governed 0" \
	"$(kap_stat sockets_governed) $(kap_stat app_overrides)"
echo 1 > $SYSFS_DIR/enforce
expect_eq "enforce=1: the established connection is governed" "1 11 75 9 0" "$(settings client)"
expect_eq "enforce reads 1" 1 "$(cat $SYSFS_DIR/enforce)"
client_stop
server_stop
unload_mod
ktap_finish
