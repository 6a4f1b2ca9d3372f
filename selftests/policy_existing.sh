#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A policy added while 1000 connections are already established reaches all
# of them, in every network namespace (here each namespace has a hash table
# of its own: net.ipv4.tcp_child_ehash_entries); del reverts them as
# documented (keepalive off again, the values unset so the sysctls apply);
# unloading the module with a policy in force reverts them too.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

N=1000
PORT=5030
DEFAULT="0 7200 75 9 0"
GOVERNED="1 30 5 4 0"

setup
ktap_plan 12
ulimit -n 65536
unload_mod_if_loaded
old_ehash=$(sysctl -n net.ipv4.tcp_child_ehash_entries)
sysctl -qw net.ipv4.tcp_child_ehash_entries=1024
push_cleanup "sysctl -qw net.ipv4.tcp_child_ehash_entries=$old_ehash"
load_mod
net_setup

server_start $S4 $PORT
client_start $S4 $PORT --count $N --wait 600
expect_eq "$N connections, none with keepalive" $N "$(settings_count client "$DEFAULT")"

start=$(date +%s.%N)
policy "add ex rport=$PORT idle=30 intvl=5 cnt=4 keepalive=on"
took=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
log "applying the policy to $N existing connections took ${took}s (emulated CPU)"
expect_eq "the policy governs all $N" "$N $N" \
	"$(policy_stat ex sockets_governed) $(policy_stat ex keepalive_enabled)"
expect_eq "all $N read the policy's values" $N "$(settings_count client "$GOVERNED")"
expect_eq "ss -o shows $N keepalive timers" $N \
	"$(ss_keepalive $NS_C "( dport = :$PORT )" | wc -l)"
expect_eq "the server's side is untouched" $N "$(settings_count server "$DEFAULT")"

policy "del ex"
expect_eq "del: all $N back to their own values (keepalive off, sysctls)" $N \
	"$(settings_count client "$DEFAULT")"
expect_eq "del: ss -o shows no keepalive timer" 0 \
	"$(ss_keepalive $NS_C "( dport = :$PORT )" | wc -l)"

policy "add ex2 rport=$PORT idle=30 intvl=5 cnt=4 keepalive=on"
expect_eq "added again: all $N governed" $N "$(settings_count client "$GOVERNED")"
# Connections kapolicy did not see open are counted under their service
# port on both sides: the client's remote port, the server's local port.
policy "add srv lport=$PORT idle=31 intvl=5 cnt=4 keepalive=on"
expect_eq "the server's $N accepted connections are governed too" $N \
	"$(settings_count server "1 31 5 4 0")"
expect_eq "the ports file counts all under port $PORT (no ephemeral port)" \
	"$((3 * N)) 1" \
	"$(kap_port_stat $PORT sockets_governed) $(tail -n +2 $SYSFS_DIR/ports | wc -l)"
unload_mod
expect_eq "unload: all $N reverted" $N "$(settings_count client "$DEFAULT")"
expect_eq "unload: ss -o shows no keepalive timer" 0 \
	"$(ss_keepalive $NS_C "( dport = :$PORT )" | wc -l)"
client_stop
server_stop
ktap_finish
