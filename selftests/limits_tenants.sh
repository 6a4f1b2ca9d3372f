#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An unprivileged user (nobody) fills kapolicy's bounded tables with
# ungoverned keepalive connections: 1100 of them, probing every second (every
# KAP_SLOW s on a slow kernel: 1100 a second soft-lock a debug kernel), on
# 20 service ports, against max_sockets=1024 and max_ports=16.  Then root's
# new connection on a policy's port is still governed (it takes the place
# of an ungoverned socket: limits/sockets_evicted), and that port still
# gets its own line in the ports file (ungoverned ports get at most
# ports_max / 2 lines).
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=6100
SVC=$((PORT + 20))

setup
ktap_plan 8
ulimit -n 65536
unload_mod_if_loaded
net_setup
load_mod max_sockets=1024 max_ports=16
echo "add svc rport=$SVC idle=30 keepalive=on" > "$SYSFS_DIR/control"

server_start $S4 $PORT --ports 21
OUT=$(mktemp -d /tmp/kapnobody.XXXXXX)	# $WORK is root's alone
chmod 0777 "$OUT"
push_cleanup "rm -rf $OUT"
log "nobody opens 1100 keepalive connections on 20 ports"
ip netns exec $NS_C setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	$KAPTOOL client $S4 $PORT --ports 20 --count 1100 --keepalive --idle $KAP_SLOW \
	--intvl $KAP_SLOW --cnt 9 --wait 600 --hold --ready "$OUT/ready" --result "$OUT/result" &
NOBODY=$!
push_cleanup "kill $NOBODY 2>/dev/null"
wait_file "$OUT/ready" 120 || die "nobody's client did not connect"
loop_until "[ \$(awk 'NR > 1' $SYSFS_DIR/ports | wc -l) -ge 9 ]" ||
	log "the ports file has $(awk 'NR > 1' $SYSFS_DIR/ports | wc -l) lines"
log "tracked $(cat $SYSFS_DIR/limits/sockets_tracked), overflow $(cat $SYSFS_DIR/limits/sockets_overflow)"
expect_eq "nobody's sockets fill the table" 1024 "$(cat $SYSFS_DIR/limits/sockets_tracked)"
expect_eq "ungoverned ports have ports_max / 2 lines, the rest is 'other'" "8 1" \
	"$(awk 'NR > 1 && $1 != "other"' "$SYSFS_DIR/ports" | wc -l) $(grep -c '^other ' "$SYSFS_DIR/ports")"

log "root connects to the policy's port $SVC"
client_start $S4 $SVC --wait 600
expect_eq "root's connection is governed (keepalive on, idle 30)" "1 30" \
	"$(settings client | cut -d' ' -f1-2)"
expect_eq "the policy counts it" 1 "$(policy_stat svc sockets_governed)"
if [ "$(cat $SYSFS_DIR/limits/sockets_evicted)" -ge 1 ]; then
	ok "it took an ungoverned socket's place (limits/sockets_evicted)"
else
	fail "it took an ungoverned socket's place (limits/sockets_evicted)" \
		"sockets_evicted $(cat $SYSFS_DIR/limits/sockets_evicted)"
fi
expect_eq "the policy's port has its own line" 1 "$(grep -c "^$SVC " "$SYSFS_DIR/ports")"
sums=$(awk 'NR == 1 { for (i = 2; i <= NF; i++) name[i] = $i; n = NF; next }
	{ for (i = 2; i <= n; i++) s[i] += $i }
	END { for (i = 2; i <= n; i++) printf "%s=%d ", name[i], s[i] }' "$SYSFS_DIR/ports")
want=$(for c in $(head -n 1 "$SYSFS_DIR/ports" | cut -d' ' -f2-); do
	printf "%s=%d " "$c" "$(kap_stat "$c")"; done)
# probes keep coming: compare the columns that no longer move
expect_eq "sockets_governed and keepalive_enabled sum to stats/" \
	"$(cut -d' ' -f1-2 <<< "$want")" "$(cut -d' ' -f1-2 <<< "$sums")"

client_stop
kill $NOBODY 2>/dev/null
wait $NOBODY 2>/dev/null
server_stop
expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
unload_mod
ktap_finish
