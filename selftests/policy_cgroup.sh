#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A cgroup policy governs the sockets of processes in the cgroup's whole
# v2 subtree, and no others: a client moved into kaptest/a/sub is governed
# by a policy on kaptest/a; a client in the sibling kaptest/b is not.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5050
CG=/sys/fs/cgroup/kaptest-$$

setup
ktap_plan 6
unload_mod_if_loaded
load_mod
net_setup
mkdir -p $CG/a/sub $CG/b || skip_all "no cgroup v2 at /sys/fs/cgroup"
push_cleanup "rmdir $CG/a/sub $CG/a $CG/b $CG 2>/dev/null"
id_a=$(stat -c %i $CG/a)
log "cgroup $CG/a has id $id_a"

server_start $S4 $PORT
policy "add cg cgroup=$id_a idle=11 intvl=12 cnt=3 keepalive=on"
expect_eq "spec names the cgroup id" "cgroup=$id_a idle=11 intvl=12 cnt=3 keepalive=on mode=fill" \
	"$(cat $SYSFS_DIR/policies/cg/spec)"

CLIENT_CGROUP=$CG/a/sub client_start $S4 $PORT --wait 60
expect_eq "a client in a/sub (below a) is governed" "1 11 12 3 0" "$(settings client)"
expect_eq "the server (not in a) is not" "0 7200 75 9 0" "$(settings server)"
client_stop

CLIENT_CGROUP=$CG/b client_start $S4 $PORT --wait 60
expect_eq "a client in the sibling b is not governed" "0 7200 75 9 0" "$(settings client)"
client_stop

CLIENT_CGROUP=$CG/a client_start $S4 $PORT --wait 60
expect_eq "a client in a itself is governed" "1 11 12 3 0" "$(settings client)"
client_stop
expect_eq "the policy governed 2 connections" 2 "$(policy_stat cg sockets_governed)"

server_stop
policy "flush"
unload_mod
ktap_finish
