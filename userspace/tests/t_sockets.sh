#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl sockets against real loopback connections of this network
# namespace (sock_diag), with policies from a fake sysfs tree:
#   idle  a connection without keepalive, quiet for a few seconds
#   ka    a connection whose client probes every second (answered)
# Both are IPv4; an IPv6 pair checks the other family.
. "$(dirname "$0")/lib.sh"
fake_module

if ! "$KAPCTL" sockets --port 1 > /dev/null 2>&1; then
	skip "sockets" "sock_diag is not available here: $("$KAPCTL" sockets --port 1 2>&1)"
	finish
fi

ports=$FAKE/ports.txt
python3 - "$ports" <<'EOF' &
import socket, sys, time
def pair(family, host, keepalive):
    l = socket.socket(family)
    l.bind((host, 0))
    l.listen()
    c = socket.socket(family)
    if keepalive:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.connect(l.getsockname()[:2])
    a, _ = l.accept()
    return l, c, a
idle = pair(socket.AF_INET, '127.0.0.1', False)
ka = pair(socket.AF_INET, '127.0.0.1', True)
six = pair(socket.AF_INET6, '::1', False)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write('%d %d %d %d %d\n' % (idle[0].getsockname()[1], idle[1].getsockname()[1],
                                  ka[0].getsockname()[1], ka[1].getsockname()[1],
                                  six[0].getsockname()[1]))
import os
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(60)
EOF
helper=$!
trap 'kill $helper 2>/dev/null; rm -rf "$FAKE"' EXIT
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
read -r IDLE_L IDLE_C KA_L KA_C SIX_L < "$ports"
sleep 3.5	# both connections idle for longer than --at-risk 2

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }
jsock() { json_get "$1" "$2"; }

out=$("$KAPCTL" -j sockets --port "$IDLE_L")
expect_eq "JSON: both ends of the idle connection, established" "2 ESTAB ESTAB" \
	"$(jsock "$out" '" ".join([str(len(d["sockets"]))] + [s["state"] for s in d["sockets"]])')"
expect_eq "JSON: keepalive off, no timer, idle for seconds" "False None True" \
	"$(jsock "$out" '" ".join(str(x) for x in [d["sockets"][0]["keepalive"], d["sockets"][0]["timer"], d["sockets"][0]["idle_ms"] >= 3000])')"
expect_eq "JSON: the settings in force come from the sysctl" \
	"$(cat /proc/sys/net/ipv4/tcp_keepalive_time) sysctl $(cat /proc/sys/net/ipv4/tcp_keepalive_probes)" \
	"$(jsock "$out" '" ".join(str(x) for x in [d["sockets"][0]["keepalive_settings"]["idle"]["value"], d["sockets"][0]["keepalive_settings"]["idle"]["source"], d["sockets"][0]["keepalive_settings"]["cnt"]["value"]])')"
expect_eq "JSON: no policy" "None None" "$(jsock "$out" '" ".join(str(s["policy"]) for s in d["sockets"])')"

out=$("$KAPCTL" -j sockets --port "$KA_C")
client='[s for s in d["sockets"] if s["src_port"] == '$KA_C'][0]'
expect_eq "JSON: the probing client has keepalive on, its timer pending" "True keepalive" \
	"$(jsock "$out" "' '.join(str(x) for x in [$client['keepalive'], $client['timer']['kind']])")"
expect_eq "JSON: answered probes keep it from being idle" "True" \
	"$(jsock "$out" "$client['idle_ms'] < 2500")"
run sockets --port "$KA_C"
expect_match "text: ss -o's timer vocabulary" "timer:\\(keepalive,[0-9.]+(ms|sec),0\\)" "$out"
run sockets --port "$IDLE_C"
expect_match "text: the idle time in the same vocabulary" \
	"^ESTAB +127\\.0\\.0\\.1:$IDLE_C +127\\.0\\.0\\.1:$IDLE_L +[0-9]+sec +off " "$out"

# --at-risk: the idle connection (both ends) and not the probing client
run sockets --at-risk 2
expect_match "--at-risk 2 lists the idle client, keepalive off" "127\\.0\\.0\\.1:$IDLE_C +127\\.0\\.0\\.1:$IDLE_L .*keepalive off$" "$out"
expect_match "--at-risk 2 lists the idle server end" "127\\.0\\.0\\.1:$IDLE_L +127\\.0\\.0\\.1:$IDLE_C .*keepalive off$" "$out"
if grep -qE "^ESTAB +127\\.0\\.0\\.1:$KA_C " <<< "$out"; then
	fail "--at-risk 2 does not list the probing client" "$out"
else
	ok "--at-risk 2 does not list the probing client"
fi
out=$("$KAPCTL" -j sockets --at-risk 2 --port "$IDLE_L")
expect_eq "--at-risk JSON: at_risk and the reason" "True keepalive off|True keepalive off" \
	"$(jsock "$out" '"|".join("%s %s" % (s["at_risk"], s["reason"]) for s in d["sockets"])')"
# the columns stand under their headings (Local Address:Port is wider
# than an IPv4 address:port; At risk follows the Timer column)
col() { awk -v s="$2" 'NR == 1 { print index($0, s) }' <<< "$1"; }
run sockets --port "$IDLE_L"
expect_eq "text: Peer Address:Port stands over the peer addresses" \
	"$(col "$out" "Peer Address:Port") $(col "$out" "Peer Address:Port")" \
	"$(tail -n +2 <<< "$out" | awk -v a="127.0.0.1:$IDLE_L" -v b="127.0.0.1:$IDLE_C" '{ print index($0, $3 == a ? a : b) }' | paste -sd ' ')"
run sockets --at-risk 2 --port "$IDLE_L"
expect_eq "text: At risk stands over the reasons" \
	"$(col "$out" "At risk") $(col "$out" "At risk")" \
	"$(tail -n +2 <<< "$out" | awk '{ print index($0, "keepalive off") }' | paste -sd ' ')"
run sockets --at-risk 600 --port "$IDLE_L"
expect_eq "--at-risk 600: not idle that long" "no connection at risk" "$out"

# policies from sysfs: the first match in order governs
fake_policy v6only 0 "family=6 idle=5 mode=fill"
fake_policy srv 1 "lport=$IDLE_L idle=1 intvl=2 cnt=3 mode=override"
fake_policy all 2 "idle=7000 mode=fill"
out=$("$KAPCTL" -j sockets --port "$IDLE_L")
server='[s for s in d["sockets"] if s["src_port"] == '$IDLE_L'][0]'
client='[s for s in d["sockets"] if s["src_port"] == '$IDLE_C'][0]'
expect_eq "policy: lport matches the server end, family=6 does not" "srv 1 policy 2 3" \
	"$(jsock "$out" "' '.join(str(x) for x in [$server['policy'], $server['keepalive_settings']['idle']['value'], $server['keepalive_settings']['idle']['source'], $server['keepalive_settings']['intvl']['value'], $server['keepalive_settings']['cnt']['value']])")"
expect_eq "policy: the client end falls to the catch-all" "all 7000 sysctl" \
	"$(jsock "$out" "' '.join(str(x) for x in [$client['policy'], $client['keepalive_settings']['idle']['value'], $client['keepalive_settings']['intvl']['source']])")"
out=$("$KAPCTL" -j sockets --port "$SIX_L")
expect_eq "policy: family=6 matches the IPv6 connection" "v6only v6only 6" \
	"$(jsock "$out" '" ".join([s["policy"] for s in d["sockets"]] + [str(d["sockets"][0]["family"])])')"
run sockets --policy srv
expect_eq "--policy: only the governed sockets" "127.0.0.1:$IDLE_L" "$(tail -n +2 <<< "$out" | awk '{ print $2 }' | paste -sd ' ')"
run sockets --policy nope
expect_eq "--policy of a missing policy: exit 1" "1 kapctl: policy 'nope' does not exist" "$rc $out"
run sockets --at-risk 2 --port "$IDLE_L"
expect_match "--at-risk: a policy with a short idle but keepalive off is still at risk" "srv .*keepalive off$" "$out"

rm -rf "$FAKE/policies"/*
cg=$("$KAPCTL" -j sockets --port "$IDLE_L" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sockets"][0]["cgroup"])')
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ "$cg" != None ] && [ -n "$cgroot" ]; then
	fake_policy cg 0 "cgroup=$(stat -c %i "$cgroot") idle=9 mode=fill"
	out=$("$KAPCTL" -j sockets --port "$IDLE_L")
	expect_eq "policy: a cgroup policy on the root covers every socket (id $cg)" "cg cg" \
		"$(jsock "$out" '" ".join(s["policy"] for s in d["sockets"])')"
	rm -rf "$FAKE/policies/cg"
	fake_policy cg 0 "cgroup=999999999 idle=9 mode=fill"
	out=$("$KAPCTL" -j sockets --port "$IDLE_L")
	expect_eq "policy: a cgroup policy elsewhere covers none" "None None" \
		"$(jsock "$out" '" ".join(str(s["policy"]) for s in d["sockets"])')"
else
	skip "policy: a cgroup policy on the root" "no cgroup id from sock_diag or no cgroup2 mount"
	skip "policy: a cgroup policy elsewhere" "no cgroup id from sock_diag or no cgroup2 mount"
fi

export KAPCTL_SYSFS=/nonexistent/kapolicy
out=$("$KAPCTL" -j sockets --port "$IDLE_L"); rc=$?
expect_eq "without the module: sockets still shown, no policies read" "0 2 False" \
	"$rc $(jsock "$out" '" ".join(str(x) for x in [len(d["sockets"]), d["policies_read"]])')"
run sockets --state listen --port "$IDLE_L"
expect_eq "--state listen: the listener" "LISTEN" "$(tail -n +2 <<< "$out" | awk '{ print $1 }')"
run sockets --state ESTAB --port "$IDLE_L"
expect_eq "--state takes the names the output shows (ESTAB)" "0 ESTAB ESTAB" \
	"$rc $(tail -n +2 <<< "$out" | awk '{ print $1 }' | paste -sd ' ')"
export KAPCTL_SYSFS=$FAKE

# --family, --cgroup, --sort, --netns
out=$("$KAPCTL" -j sockets --family 6 --state all)
expect_eq "--family 6: IPv6 sockets only" "6" \
	"$(jsock "$out" '" ".join(sorted(set(str(s["family"]) for s in d["sockets"])))')"
run sockets --family 4 --port "$SIX_L"
expect_match "--family 4 on the IPv6 pair: nothing matches" "^no TCP connection matches" "$out"
out=$("$KAPCTL" -j sockets --sort idle)
expect_eq "--sort idle: the longest idle first" "True" \
	"$(jsock "$out" 'all(a["idle_ms"] >= b["idle_ms"] for a, b in zip(d["sockets"], d["sockets"][1:]))')"
out=$("$KAPCTL" -j sockets --sort port)
expect_eq "--sort port: by local port" "True" \
	"$(jsock "$out" 'all(a["src_port"] <= b["src_port"] for a, b in zip(d["sockets"], d["sockets"][1:]))')"
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$cgroot" ] && [ "$(jsock "$("$KAPCTL" -j sockets --port "$IDLE_L")" 'd["sockets"][0].get("cgroup")')" != None ]; then
	out=$("$KAPCTL" -j sockets --cgroup / --port "$IDLE_L")
	expect_eq "--cgroup /: every socket is under the root" 2 "$(jsock "$out" 'len(d["sockets"])')"
	mine=$(sed -n 's/^0:://p' /proc/$helper/cgroup)
	other=$(find "$cgroot" -mindepth 1 -maxdepth 2 -type d | grep -vxF "$cgroot$mine" | head -n 1)
	if [ -n "$other" ] && [[ "$cgroot$mine" != "$other"/* ]]; then
		run sockets --cgroup "$other" --port "$IDLE_L"
		expect_match "--cgroup elsewhere: nothing matches" "^no TCP connection matches" "$out"
	else
		skip "--cgroup elsewhere: nothing matches" "no other cgroup here"
	fi
else
	skip "--cgroup /: every socket is under the root" "no cgroup id from sock_diag or no cgroup2 mount"
	skip "--cgroup elsewhere: nothing matches" "no cgroup id from sock_diag or no cgroup2 mount"
fi
ns=kapt-$$
if [ "$(id -u)" = 0 ] && ip netns add "$ns" 2>/dev/null; then
	out=$("$KAPCTL" -j sockets --netns "$ns" --state all); rc=$?
	expect_eq "--netns NAME: that namespace's sockets (none), its inode" \
		"0 0 $(stat -L -c %i /run/netns/$ns)" "$rc $(jsock "$out" 'str(len(d["sockets"])) + " " + str(d["netns"])')"
	ip netns del "$ns"
else
	skip "--netns NAME: that namespace's sockets" "needs root and ip netns"
fi

# a listener is never governed, though a policy matches its port
rm -rf "$FAKE/policies"/*
fake_policy lp 0 "lport=$IDLE_L idle=5 mode=fill"
out=$("$KAPCTL" -j sockets --state all --port "$IDLE_L")
expect_eq "a policy on the port: the connection governed, not the listener" "ESTAB:lp LISTEN:None" \
	"$(jsock "$out" '" ".join(sorted("%s:%s" % (s["state"], s["policy"]) for s in d["sockets"] if s["src_port"] == '"$IDLE_L"'))')"

# filters that match nothing say so, and how many there were
run sockets --policy lp --port "$KA_L"
expect_match "a filter that matches nothing says so" "^no TCP connection matches \(of [0-9]+\)$" "$out"

# a spec kapctl cannot read: a warning, not a silent "default"
fake_policy future 1 "lport=$KA_L idle=5 newkey=1 mode=fill"
run sockets --port "$KA_L"
expect_match "an unreadable spec is warned about" \
	"^kapctl: warning: policy 'future': its spec '.*newkey=1.*' is not understood by this kapctl" "$out"
rm -rf "$FAKE/policies"/*
finish
