#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapolicy's memory is bounded and what does not fit is counted, never lost
# silently:
#   - max_ports=16 with activity on 20 service ports no policy governs: 8
#     lines of their own (half the lines are kept for governed sockets'
#     ports), the rest in "other", limits/ports_overflow counts it, and
#     every column of the ports file still sums to the host-wide counter;
#   - max_sockets=1024 with 1100 keepalive connections: the table fills,
#     limits/sockets_overflow counts the sockets left out, and the probe
#     counters stay exact;
#   - the ports file read while 2000 ports gain rows and counts: every
#     read is one table (a header, each port once and in order, whole
#     lines), and once all is quiet its columns sum to stats/;
#   - out-of-range parameters refuse to load.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=6000

setup
ktap_plan 15
ulimit -n 65536
unload_mod_if_loaded

for bad in "max_ports=15" "max_ports=65537" "max_sockets=1023" "max_sockets=99999999"; do
	if insmod "$KAP_MODULE" $bad 2>/dev/null; then
		fail "$bad is refused"
		unload_mod
	else
		ok "$bad is refused"
	fi
done

net_setup

# ---- ports -------------------------------------------------------------
load_mod max_ports=16
server_start $S4 $PORT --ports 20
client_start $S4 $PORT --ports 20 --count 20 --wait 3.5 --keepalive --idle 1 \
	--intvl 1 --cnt 3
client_wait 60
client_stop
server_stop
loop_until "[ \$(in_ns $NS_C ss -Htn state established | wc -l) -eq 0 ]"
sed 's/^/# ports: /' "$SYSFS_DIR/ports"
expect_eq "8 ports have a line of their own, the rest is 'other'" "8 1" \
	"$(awk 'NR > 1 && $1 != "other"' "$SYSFS_DIR/ports" | wc -l) $(grep -c '^other ' "$SYSFS_DIR/ports")"
expect_eq "limits/ports_tracked is 8" 8 "$(cat $SYSFS_DIR/limits/ports_tracked)"
if [ "$(cat $SYSFS_DIR/limits/ports_overflow)" -gt 0 ]; then
	ok "limits/ports_overflow counts the events of the ports left out"
else
	fail "limits/ports_overflow counts the events of the ports left out"
fi
expect_ports_sum "every column of the ports file sums to stats/"
unload_mod

# ---- ports read while they change ----------------------------------------
# kernfs hands the file out a page per read(): a reader must still see one
# table, not pages of tables made at different times.
load_mod max_ports=4096
server_start $S4 $PORT --ports 2000
# keepalive is switched on once all are connected (the go file exists):
# on a slow kernel the first ones would probe all along, and with idle=1
# a probe answered late by an overloaded machine ends a connection.  The
# probes come every KAP_SLOW s: 2000 a second soft-lock a debug kernel's
# timer softirq.
touch "$WORK/go"
# The client probes until stopped; ports is read until a read has the 2000
# rows and three reads found the table changed since the one before (by
# the clock, not by the client's run: on a debug kernel under emulation
# one read of 2000 rows while they probe took longer than a run of 6 s).
client_start $S4 $PORT --ports 2000 --count 2000 --wait 100000 --keepalive \
	--idle $KAP_SLOW --intvl $KAP_SLOW --cnt 3 --setopts-after "$WORK/go"
reads=0 bad=0 changed=0 seen=0
end=$(( $(date +%s) + 100 * KAP_SLOW ))
while [ $changed -lt 3 ] || [ $seen -lt 2000 ]; do
	[ $(date +%s) -lt $end ] && [ $reads -lt 400 ] || break
	cat "$SYSFS_DIR/ports" > "$WORK/ports.read" || die "ports: read failed"
	reads=$((reads + 1))
	why=$(awk 'NR == 1 { if ($1 != "port") { print "no header"; exit } n = NF; next }
		$1 == "port" { print "a second header at line " NR; exit }
		NF != n { print "line " NR " has " NF " fields, not " n; exit }
		$1 != "other" && prev != "" && $1 + 0 <= prev + 0 {
			print "port " $1 " after " prev " (line " NR ")"; exit }
		{ prev = $1 }' "$WORK/ports.read")
	[ -n "$(tail -c 1 "$WORK/ports.read")" ] && why="${why:-the last line is cut}"
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		[ $bad -le 3 ] && log "ports read $reads: $why ($(wc -l < "$WORK/ports.read") lines)"
	fi
	[ $reads -gt 1 ] && ! cmp -s "$WORK/ports.read" "$WORK/ports.prev" &&
		changed=$((changed + 1))
	seen=$(($(wc -l < "$WORK/ports.read") - 1))
	mv "$WORK/ports.read" "$WORK/ports.prev"
done
client_stop
server_stop
loop_until "[ \$(in_ns $NS_C ss -Htn state established | wc -l) -eq 0 ]"
rows=$(($(wc -l < "$SYSFS_DIR/ports") - 1))
log "ports: $reads reads, $changed of them of a changed table, while the rows grew to $rows"
if [ $changed -ge 3 ] && [ "$rows" -ge 2000 ]; then
	ok "ports read $reads times while 2000 ports gained rows ($changed changes seen)"
else
	fail "ports read while 2000 ports gained rows" "$reads reads, $changed changes seen, $rows rows"
fi
expect_eq "every read of ports is one whole table" "0 of $reads" "$bad of $reads"
expect_ports_sum "2000 ports: every column sums to stats/"
unload_mod

# ---- sockets -------------------------------------------------------------
load_mod max_sockets=1024
ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
server_start $S4 $PORT
client_start $S4 $PORT --count 1100 --wait "$(slow 3.5)" \
	--keepalive --idle $KAP_SLOW --intvl $KAP_SLOW --cnt 3 --hold --setopts-after "$WORK/go"
client_wait 120
log "sockets: tracked $(cat $SYSFS_DIR/limits/sockets_tracked), overflow $(cat $SYSFS_DIR/limits/sockets_overflow)"
expect_eq "the table is full: 1024 sockets tracked" 1024 "$(cat $SYSFS_DIR/limits/sockets_tracked)"
if [ "$(cat $SYSFS_DIR/limits/sockets_overflow)" -gt 0 ]; then
	ok "limits/sockets_overflow counts the sockets left out"
else
	fail "limits/sockets_overflow counts the sockets left out"
fi
client_stop
server_stop
# The kernel counts a probe in TcpExtTCPKeepAlive once its buffer exists,
# also when the device then drops it (1100 probes at once can overflow the
# veth backlog) and the timer retries it: kapolicy counts those in
# probes_deferred, not against cnt.
ka=$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
log "TcpExtTCPKeepAlive +$ka; kapolicy: sent $(kap_stat probes_sent), deferred $(kap_stat probes_deferred), hooks missed $(cat $SYSFS_DIR/limits/hooks_missed)"
expect_eq "probes_sent + probes_deferred stays exact (TcpExtTCPKeepAlive)" "$ka" \
	"$(( $(kap_stat probes_sent) + $(kap_stat probes_deferred) ))"
expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
unload_mod
ktap_finish
