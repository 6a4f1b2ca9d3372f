#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unload under load: CYCLES rounds of insmod, policies, rmmod while 1000
# connections probe every second (KAP_SLOW) to four kinds of peer (alive; dead: the
# router drops; ICMP: the router answers host unreachable; reset: the
# router answers with a TCP reset), connections open and close with
# setsockopt after connect (what override mode overrules), a process sets
# keepalive options in a loop, a writer adds, commits and deletes policies
# twice a second, and readers run "kapctl watch", "kapctl stats" and read
# the ports and deaths tables.
#
# Each cycle, the kernel's own count of keepalive probes in the client's
# namespace (TcpExtTCPKeepAlive) read just after insmod and just before
# the counters are read must be at most kapolicy's probes_sent +
# probes_deferred, and the kernel's count from before insmod to after the
# read at least that.  After the last unload no live connection keeps a
# value kapolicy wrote, and vmalloc and unreclaimable slab are back to
# what they were before the first load (within a margin far below what a
# leak per socket or per cycle would leave).  The harness fails the run on
# any oops, WARN, lockup or unexpected taint.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

# 20 in the test command (about 12 s each under emulation, with this load);
# 50 by hand: CYCLES=50 selftests/unload_load.sh in "make vm"
CYCLES=${CYCLES:-20}
N=1000
PORT=5090		# PORT alive, +1 dead, +2 ICMP, +3 reset
# what the client sets: keepalive idle intvl cnt user_timeout; a probe a
# second each, fewer on a slow kernel (KAP_SLOW: a debug kernel cannot
# send and answer 1000 a second, and its timer softirq locks up)
IV=$KAP_SLOW
APP="1 $IV $IV 100 0"

setup
ktap_plan 13
ulimit -n 65536
unload_mod_if_loaded
net_setup

# meminfo(field) - kB
function meminfo() {
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# keepalives - TcpExtTCPKeepAlive of the client's namespace, read through
# the client's /proc (no process to start in the namespace: cycles are
# short under emulation)
function keepalives() {
	awk '/^TcpExt:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "TCPKeepAlive") c = i }
		else print $c }' "/proc/$CLIENT_PID/net/netstat"
}

# control(command) - a write that waits while another writer's transaction
# is open (EBUSY)
function control() {
	local i
	for ((i = 0; i < 50; i++)); do
		echo "$1" 2>/dev/null > "$SYSFS_DIR/control" && return 0
		sleep 0.1
	done
	log "control '$1' failed"
	return 1
}

# counted - kapolicy's probes_sent + probes_deferred
function counted() {
	local s d
	read -r s < "$SYSFS_DIR/stats/probes_sent" || return 1
	read -r d < "$SYSFS_DIR/stats/probes_deferred" || return 1
	echo $((s + d))
}

# slab(file) - bytes in use per cache
function slab() {
	awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo | sort > "$1"
}

# the kernel's memory before anything of this test exists
sync
echo 2 > /proc/sys/vm/drop_caches
VMALLOC0=$(meminfo VmallocUsed)
SUNRECL0=$(meminfo SUnreclaim)
slab "$WORK/slab0"

# no TIME_WAIT sockets: they would hold memory past the end
in_ns $NS_C sysctl -qw net.ipv4.tcp_max_tw_buckets=0
server_start $S4 $PORT --ports 4
# keepalive on once all are connected: on a slow kernel the first ones
# would otherwise probe every second while the rest connect
touch "$WORK/go"
client_start $S4 $PORT --ports 4 --count $N --wait 3600 --hold \
	--keepalive --idle $IV --intvl $IV --cnt 100 --setopts-after "$WORK/go"
in_ns $NS_R nft add rule inet kap kapfwd tcp dport $((PORT + 1)) drop
in_ns $NS_R nft add rule inet kap kapfwd tcp sport $((PORT + 1)) drop
in_ns $NS_R nft add rule inet kap kapfwd tcp dport $((PORT + 2)) \
	reject with icmp type host-unreachable
in_ns $NS_R nft add rule inet kap kapfwd tcp dport $((PORT + 3)) reject with tcp reset

# the load: each loop ends when $WORK/stop exists
loops=()
ip netns exec $NS_C $KAPTOOL churn $S4 $PORT --seconds 100000 --keepalive \
	--result "$WORK/churn.result" &
churn=$!
ip netns exec $NS_C $KAPTOOL storm --result "$WORK/storm" &
storm=$!
(
	n=0
	while [ ! -e "$WORK/stop" ]; do
		n=$((n + 1))
		r=$(kap_ctl "add w$n lport=$((20000 + n % 100)) idle=5" "begin" \
			"add t$n rport=$((30000 + n % 100)) idle=6 mode=override" "commit" \
			"del w$n" "del t$n" 2>/dev/null | tr '\n' ' ')
		[ "$r" = "OK OK OK OK OK OK " ] && echo ok >> "$WORK/writer"
		sleep 0.5
	done
) &
loops+=($!)
(
	while [ ! -e "$WORK/stop" ]; do
		kapctl -j watch --duration $((3 * KAP_SLOW)) >> "$WORK/watch" 2>/dev/null
		sleep 0.5
	done
) &
loops+=($!)
(
	while [ ! -e "$WORK/stop" ]; do
		kapctl -j stats all > /dev/null 2>&1 && echo ok >> "$WORK/stats"
		cat "$SYSFS_DIR/ports" "$SYSFS_DIR/deaths" > /dev/null 2>&1
		sleep 0.5
	done
) &
loops+=($!)

loads=0 unloads=0 bad=0 counted=0
t0=$(date +%s)
for c in $(seq "$CYCLES"); do
	n0=$(keepalives)
	insmod "$KAP_MODULE" && loads=$((loads + 1))
	n1=$(keepalives)
	control "add ov rport=$PORT-$((PORT + 3)) idle=$((2 * IV)) intvl=$IV cnt=120 mode=override"
	control "add ka rport=$PORT keepalive=on idle=$((3 * IV))"
	sleep "$IV"
	n2=$(keepalives)
	k=$(counted)
	n3=$(keepalives)
	rmmod kapolicy && unloads=$((unloads + 1))
	[ "$k" -gt 0 ] && counted=$((counted + 1))
	if [ $((n2 - n1)) -gt "$k" ] || [ "$k" -gt $((n3 - n0)) ]; then
		bad=$((bad + 1))
		log "cycle $c: kernel $((n2 - n1)) .. $((n3 - n0)), kapolicy $k"
	fi
	[ $((c % 10)) -eq 0 ] &&
		log "cycle $c: kernel $((n2 - n1)) .. $((n3 - n0)), kapolicy $k"
done
log "$CYCLES cycles in $(( $(date +%s) - t0 )) s"
touch "$WORK/stop"
wait "${loops[@]}"
kill -TERM "$storm" "$churn"
wait "$storm" "$churn"

expect_eq "$CYCLES loads under load" "$CYCLES" "$loads"
expect_eq "$CYCLES unloads under load" "$CYCLES" "$unloads"
expect_eq "every cycle counted probes" "$CYCLES" "$counted"
expect_eq "every cycle: TcpExtTCPKeepAlive inside <= kapolicy <= TcpExtTCPKeepAlive around" \
	0 "$bad"
n=$(wc -l < "$WORK/writer" 2>/dev/null || echo 0)
check "the writer's transactions went through ($n)" [ "${n:-0}" -gt 0 ]
n=$(grep -c '"event"' "$WORK/watch" 2>/dev/null)
check "kapctl watch saw events throughout ($n)" [ "${n:-0}" -gt 0 ]
n=$(wc -l < "$WORK/stats" 2>/dev/null || echo 0)
check "kapctl stats read the counters ($n)" [ "${n:-0}" -gt 0 ]
log "churn: $(cat "$WORK/churn.result")"
n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$WORK/churn.result")
check "connections kept opening and closing ($n)" [ "$n" -gt 100 ]

# what each connection holds, as the application sees it
peer_report client > "$WORK/report"
python3 -c '
import json, sys
live = mine = others = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    if "error" in d:
        continue
    live += 1
    v = "%d %d %d %d %d" % (d["keepalive"], d["idle"], d["intvl"], d["cnt"], d["user_timeout"])
    if v == sys.argv[2]:
        mine += 1
    else:
        others += 1
        print(v, file=sys.stderr)
print(live, mine, others)' "$WORK/report" "$APP" > "$WORK/values" 2> "$WORK/others"
read -r live mine others < "$WORK/values"
log "after the last unload: $live live connections, $mine with the application's values"
[ "$others" -gt 0 ] && log "other values: $(sort "$WORK/others" | uniq -c | head -n 5 | tr '\n' ';')"
expect_eq "the alive peers' connections lived throughout" $((N / 4)) \
	"$(in_ns $NS_C ss -Htn state established "( dport = :$PORT )" | wc -l)"
expect_eq "after the last unload, every live connection holds the application's values" \
	"$live 0" "$mine $others"

# the memory: sockets gone, then the kernel's count again
client_stop
server_stop
# the server's side of the dead, ICMP and reset paths never hears the end
in_ns $NS_S ss -HK -tna > /dev/null
in_ns $NS_C ss -HK -tna > /dev/null
loop_until "[ \$(in_ns $NS_C ss -Htna | wc -l) -eq 0 ] && [ \$(in_ns $NS_S ss -Htna | wc -l) -eq 0 ]"
sync
echo 2 > /proc/sys/vm/drop_caches
vmalloc=$(meminfo VmallocUsed)
sunrecl=$(meminfo SUnreclaim)
log "vmalloc: ${VMALLOC0} kB before, ${vmalloc} kB after; unreclaimable slab ${SUNRECL0} kB, ${sunrecl} kB"
slab "$WORK/slab1"
log "slab caches that grew most (bytes): $(join "$WORK/slab0" "$WORK/slab1" |
	awk '{ print $3 - $2, $1 }' | sort -rn | head -n 8 | tr '\n' ';')"
log "sockets left: client $(in_ns $NS_C ss -Htna | wc -l), server $(in_ns $NS_S ss -Htna | wc -l)"
check "vmalloc is back to what it was (within 256 kB)" [ "$vmalloc" -le $((VMALLOC0 + 256)) ]
# KASAN keeps freed objects in its quarantine (up to 1/32 of memory): on
# such a kernel slab does not come back, and kmemleak checks for leaks
if grep -qw kasan_save_stack /proc/kallsyms; then
	skip "unreclaimable slab is back to what it was (within 4096 kB)" \
		"KASAN's quarantine holds freed objects; kmemleak checks this kernel"
else
	check "unreclaimable slab is back to what it was (within 4096 kB)" \
		[ "$sunrecl" -le $((SUNRECL0 + 4096)) ]
fi
check "the module and its sysfs directory are gone" \
	sh -c "! [ -e $SYSFS_DIR ] && ! grep -q '^kapolicy ' /proc/modules"
ktap_finish
