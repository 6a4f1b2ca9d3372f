#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kapolicy trace events are ordinary trace events: perf and trace-cmd
# record and decode them (their format files parse, addresses print), as
# the documentation shows (sysfs/ABI/trace-events-kapolicy).
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5004

setup
ktap_plan 6
unload_mod_if_loaded
load_mod
net_setup

for ev in probe_sent probe_answered probe_deferred peer_reset icmp_error timeout idle_death; do
	[ -e /sys/kernel/tracing/events/kapolicy/$ev/format ] || fail "event $ev exists"
done

# One tool at a time: each enables the events, which patches kernel text.
# with_tool READY TOOL...: TOOL records for as long as its workload
# ("sleep 119") lives; once READY (a shell condition) says it records, the
# client probes, closes (where a last answer is counted), and only then the
# workload ends: every event kapolicy counts falls in the tool's window,
# however slow the emulation.
function with_tool() {
	local ready=$1
	shift
	"$@" &
	local pid=$!
	loop_until "$ready" || log "the tool did not say it was recording"
	sleep 1
	client_start $S4 $PORT --wait 4 --keepalive --idle 1 --intvl 1 --cnt 3
	client_wait 30
	client_stop
	sleep 1
	pkill -x -f "sleep 119"
	wait $pid
}

server_start $S4 $PORT
log "perf stat"
# perf stat says nothing when it starts counting: give it 3 s
with_tool "sleep 3" perf stat -a -x, -o "$WORK/perf.txt" \
	-e kapolicy:probe_sent -e kapolicy:probe_answered -- sleep 119
sent_perf=$(kap_stat probes_sent)
log "trace-cmd record"
with_tool "grep -qx 1 /sys/kernel/tracing/events/kapolicy/probe_sent/enable" \
	trace-cmd record -q -e kapolicy -o "$WORK/trace.dat" sleep 119
sent_tc=$(( $(kap_stat probes_sent) - sent_perf ))
server_stop

sed 's/^/# perf: /' "$WORK/perf.txt"
trace-cmd report -i "$WORK/trace.dat" > "$WORK/tc.txt" 2> "$WORK/tc.err"
sed "s/^/# trace-cmd: /" "$WORK/tc.txt" | grep -m 4 "probe_"

re="probe_sent: +family=4 src=$C4:[0-9]+ dst=$S4:$PORT cgroup=[0-9]+ netns=[0-9]+ policy=- probe=1 idle=1 intvl=1 cnt=3"
perf_count() {
	awk -F, -v e="$1" '$3 == e { print $1 }' "$WORK/perf.txt"
}
expect_eq "perf stat counts probe_sent as kapolicy does" "$sent_perf" \
	"$(perf_count kapolicy:probe_sent)"
expect_eq "perf stat counts probe_answered as kapolicy does" \
	"$(kap_stat probes_answered)" "$(( $(perf_count kapolicy:probe_answered) + $(grep -c "probe_answered:" "$WORK/tc.txt") ))"
if grep -qE "$re" "$WORK/tc.txt"; then
	ok "trace-cmd report decodes probe_sent"
else
	fail "trace-cmd report decodes probe_sent" "$(head -c 600 "$WORK/tc.txt" "$WORK/tc.err")"
fi
if grep -qE "probe_answered: .* rtt_us=[0-9]+$" "$WORK/tc.txt"; then
	ok "trace-cmd report decodes probe_answered with rtt_us"
else
	fail "trace-cmd report decodes probe_answered with rtt_us"
fi
expect_eq "trace-cmd saw as many probes as kapolicy counted" "$sent_tc" \
	"$(grep -c "probe_sent:" "$WORK/tc.txt")"
check "the format of every event is readable" \
	grep -q "print fmt" /sys/kernel/tracing/events/kapolicy/timeout/format

unload_mod
ktap_finish
