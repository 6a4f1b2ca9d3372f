#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl watch outside the VM: the trace text of the kapolicy events
# (sysfs/ABI/trace-events-kapolicy) read back with --file, its filters and
# JSON lines; and the tracefs instance handling against a fake tracefs.
# The live path with the module is tested in selftests/kapctl.sh.
. "$(dirname "$0")/lib.sh"
fake_module
trace=$FAKE/trace

cat > "$trace" <<'EOF'
# tracer: nop
#
#                                _-----=> irqs-off/BH-disabled
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
          <idle>-0       [001] ..s2.   100.000001: probe_sent: family=4 src=192.0.2.1:40312 dst=198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0
 kworker/u4:2 name-77     [000] ..s1.   101.250000: probe_answered: family=6 src=[2001:db8:1::1]:40313 dst=[2001:db8:2::2]:5432 cgroup=4711 netns=4026532000 policy=- probe=1 idle=1 intvl=1 cnt=3 user_timeout=0 rtt_us=412
CPU:1 [LOST 12 EVENTS]
          <idle>-0       [001] ..s2.   130.500000: timeout: family=4 src=192.0.2.1:40999 dst=198.51.100.2:80 cgroup=1 netns=4026531840 policy=- probe=3 idle=1 intvl=1 cnt=3 user_timeout=0 err=110 by=probes icmp_err=113
          <idle>-0       [000] ..s2.   131.000000: icmp_error: family=4 src=192.0.2.1:41000 dst=198.51.100.2:443 cgroup=1 netns=4026531840 policy=web probe=1 idle=5 intvl=1 cnt=3 user_timeout=0 err=113 type=3 code=1
          <idle>-0       [000] ..s2.   132.000000: sched_switch: prev_comm=x prev_pid=1
EOF

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }

run watch --file "$trace"
expect_eq "text: one line per kapolicy event and one for the loss, nothing else" "0 5" "$rc $(wc -l <<< "$out")"
expect_eq "text: time, event, src -> dst, the other fields" \
	"100.000001 probe_sent     192.0.2.1:40312 -> 198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0" \
	"$(head -n 1 <<< "$out")"
expect_eq "text: a task name with spaces does not confuse the parser" \
	"101.250000 probe_answered [2001:db8:1::1]:40313 -> [2001:db8:2::2]:5432 cgroup=4711 netns=4026532000 policy=- probe=1 idle=1 intvl=1 cnt=3 user_timeout=0 rtt_us=412" \
	"$(sed -n 2p <<< "$out")"
expect_eq "text: lost events are reported with their CPU" "lost 12 events on CPU 1: the trace buffer overflowed" \
	"$(sed -n 3p <<< "$out")"

out=$("$KAPCTL" -j watch --file "$trace"); rc=$?
expect_eq "JSON lines: each line parses, 5 documents" "5" \
	"$(python3 -c 'import json, sys; print(sum(1 for l in sys.stdin if json.loads(l)))' <<< "$out")"
expect_eq "JSON: typed fields, addresses split, no policy is null" "probe_answered 6 2001:db8:1::1 40313 5432 None 412 4711" \
	"$(json_get "$(sed -n 2p <<< "$out")" '" ".join(str(x) for x in [d["event"], d["family"], d["src_addr"], d["src_port"], d["dst_port"], d["policy"], d["rtt_us"], d["cgroup"]])')"
expect_eq "JSON: the loss" "lost 1 12" \
	"$(json_get "$(sed -n 3p <<< "$out")" '" ".join(str(x) for x in [d["event"], d["cpu"], d["count"]])')"
expect_eq "JSON: timeout's own fields" "110 probes 113" \
	"$(json_get "$(sed -n 4p <<< "$out")" '" ".join(str(x) for x in [d["err"], d["by"], d["icmp_err"]])')"

# a policy named with digits is still a name
out=$(grep -m1 probe_sent "$trace" | sed "s/policy=pg /policy=123 /" | "$KAPCTL" -j watch --file -)
expect_eq "JSON: a policy named 123 is the string \"123\"" "'123'" \
	"$(json_get "$out" 'repr(d["policy"])')"

events() { grep -v '^lost' <<< "$out" | awk '{ print $2 }' | paste -sd ' '; }
run watch --file "$trace" --port 5432
expect_eq "--port: local or remote port" "probe_sent probe_answered" "$(events)"
run watch --file "$trace" --port 40999
expect_eq "--port: the local port too" "timeout" "$(events)"
run watch --file "$trace" --port https
expect_eq "--port: a service name" "icmp_error" "$(events)"
run watch --file "$trace" --port 80-443
expect_eq "--port: a range" "timeout icmp_error" "$(events)"
run watch --file "$trace" --policy pg
expect_eq "--policy" "probe_sent" "$(events)"
run watch --file "$trace" --policy -
expect_eq "--policy -: the ungoverned" "probe_answered timeout" "$(events)"
run watch --file "$trace" --cgroup 4711
expect_eq "--cgroup ID" "probe_answered" "$(events)"
run watch --file "$trace" --event timeout --event icmp_error
expect_eq "--event, repeated" "timeout icmp_error" "$(events)"
run watch --file "$trace" --count 2
expect_eq "--count stops after N events" "probe_sent probe_answered" "$(events)"
run watch --file - --event probe_sent < "$trace"
expect_eq "--file - reads standard input" "probe_sent" "$(events)"
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$cgroot" ] && [ "$(stat -c %i "$cgroot")" = 1 ]; then
	run watch --file "$trace" --cgroup "$cgroot" --port 5432
	expect_eq "--cgroup PATH: the root cgroup covers every cgroup below it" "probe_sent" "$(events)"
else
	skip "--cgroup PATH: the root cgroup" "no cgroup2 mount with root id 1 here"
fi

run watch --event probe_lost
expect_eq "an unknown event kind: exit 2, the allowed kinds" \
	"2 kapctl: event: 'probe_lost' is not an event; allowed: policy_applied probe_sent probe_answered probe_deferred peer_reset icmp_error timeout idle_death" \
	"$rc $(head -n 1 <<< "$out")"
run watch --cgroup no/such/cgroup
expect_eq "a missing cgroup path: exit 2" 2 "$rc"
run watch --file /nonexistent/trace
expect_eq "a missing file: exit 1" "1 kapctl: cannot open /nonexistent/trace: No such file or directory" "$rc $out"

# ---- the tracefs instance, against a fake tracefs ----
tfs=$FAKE/tracefs
mkdir -p "$tfs/instances"
export KAPCTL_TRACEFS=$tfs
run watch --count 1
expect_eq "no kapolicy events in tracefs: exit 1, said so" \
	"1 kapctl: $tfs/events/kapolicy is missing: the kapolicy trace events are not available (is the module loaded?)" "$rc $out"
mkdir -p "$tfs/events/kapolicy/probe_sent"
run watch --event timeout
expect_eq "an event this module lacks: exit 1, said so" \
	"1 kapctl: event: this kapolicy module has no 'timeout' event ($tfs/events/kapolicy/timeout is missing)" "$rc $out"
run watch --count 1
expect_match "enabling fails in a fake instance: exit 1" "^kapctl: cannot enable the kapolicy events in $tfs/instances/kapctl-[0-9]+" "$out"
expect_eq "... and the instance is removed after the error" "" "$(ls "$tfs/instances")"
if command -v setpriv > /dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 0755 "$FAKE" "$tfs"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env KAPCTL_SYSFS="$FAKE" KAPCTL_TRACEFS="$tfs" "$KAPCTL" watch 2>&1); rc=$?
	expect_eq "not root: refused, and said so" "1 kapctl: watch needs root: it creates a tracefs instance in $tfs/instances" "$rc $out"
else
	skip "not root: refused" "needs root and setpriv"
fi
# --family and --netns (the events carry the namespace's inode)
run watch --file "$trace" --family 6
expect_eq "--family 6: the IPv6 event only" "0 probe_answered" "$rc $(grep -v '^lost ' <<< "$out" | awk '{ print $2 }')"
run watch --file "$trace" --netns 4026532000
expect_eq "--netns INODE: that namespace's event only" "0 probe_answered" "$rc $(grep -v '^lost ' <<< "$out" | awk '{ print $2 }')"
run watch --file "$trace" --netns /proc/self/ns/net
expect_eq "--netns PATH: this namespace's events" \
	"0 $(grep -c "netns=$(stat -L -c %i /proc/self/ns/net) " "$trace")" "$rc $(grep -vc '^lost ' <<< "$out")"
run watch --file "$trace" --family 5
expect_eq "--family 5: refused" "2 kapctl: family: '5' is not an address family; allowed: 4 or 6" "$rc $(head -n 1 <<< "$out")"

# a policy that does not exist, as sockets and stats say it
run watch --policy nosuch --duration 1
expect_eq "--policy of a policy that does not exist: exit 1, said so" \
	"1 kapctl: policy 'nosuch' does not exist" "$rc $out"
run watch --cgroup "" --duration 1
expect_eq "--cgroup '': refused, not the root cgroup" 2 "$rc"
expect_match "--cgroup '': says it is empty" "^kapctl: cgroup: '' is empty; allowed: " "$out"
export KAPCTL_SYSFS=/nonexistent/kapolicy
run watch
expect_eq "no module: exit 1, said so" "1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
finish
