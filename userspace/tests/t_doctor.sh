#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl doctor against a fake deaths file (sysfs/ABI/sysfs-kernel-kapolicy):
# the diagnosis of reset and retrans deaths (estimate, range, consistency,
# presets, the fix and its sides), keepalive and "other" lines as
# information, what is skipped, the JSON; the same file as the Prometheus
# histogram of stats ports; the idle_death event in watch; malformed files.
# The at-risk count uses real loopback connections (as t_sockets.sh).
. "$(dirname "$0")/lib.sh"
fake_module
# presets: only the named ones, whatever this host's conntrack says
export KAPCTL_CONNTRACK_TIMEOUT_FILE=$FAKE/no-conntrack

BOUNDS="1 2 4 8 15 30 45 60 90 120 180 240 300 360 450 600 900 1200 1800 3600 7200 14400 86400 +Inf"

# row PORT KIND SIDE SUM_MS MIN_MS MAX_MS [LE:N...]: a line of the deaths
# file with N deaths in the bucket LE; count is the buckets' sum
row() {
	local port=$1 kind=$2 side=$3 sum=$4 min=$5 max=$6 b kv n out= total=0
	shift 6
	for b in $BOUNDS; do
		n=0
		for kv in "$@"; do [ "${kv%%:*}" = "$b" ] && n=${kv#*:}; done
		out="$out $n"
		total=$((total + n))
	done
	echo "$port $kind $side $total $sum $min $max$out"
}
# deaths: the header and standard input as the deaths file
deaths() { { echo "port kind side count sum_ms min_ms max_ms $BOUNDS"; cat; } > "$FAKE/deaths"; }
run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }

# ---- one port reset after 21-34 s idle: the story of the README ----
deaths <<EOF
$(row 6379 reset remote 130512 21034 34100 30:2 45:3)
EOF
run doctor
expect_eq "reset: exit 0, five lines" "0 5" "$rc $(wc -l <<< "$out")"
expect_eq "reset: names the port, the side, the deaths and the range" \
	"port 6379 (remote service): 5 connections reset on first use after 21-34 s idle; none after less than 21 s idle." \
	"$(sed -n 1p <<< "$out")"
expect_eq "reset: the histogram cut to the range, and its consistency" \
	"  idle times: 2 in 21-30 s, 3 in 30-34 s; consistent: 5 of 5 within 21-42 s" "$(sed -n 2p <<< "$out")"
expect_eq "reset: the estimate is the shortest idle time" \
	"  likely: a NAT, firewall or load balancer idle timeout of at most 21 s" "$(sed -n 3p <<< "$out")"
expect_eq "reset: no preset near 21 s, the fix with timeout:21 and rport= (remote)" \
	"  fix: kapctl policy add doctor-6379 rport=6379 preset=timeout:21" "$(sed -n 4p <<< "$out")"
expect_match "reset: the living at risk, and the sockets command that lists them" \
	"^  at risk now: [0-9]+ connections? idle longer than 21 s without keepalive in time \\(kapctl sockets --at-risk 21 --port 6379\\)$" \
	"$(sed -n 5p <<< "$out")"
# the fix is a command kapctl itself takes
fix=$(sed -n 's/^  fix: kapctl //p' <<< "$out")
: > "$FAKE/control"
"$KAPCTL" $fix > /dev/null 2>&1
expect_eq "the fix runs: policy add writes the preset's keys" \
	"add doctor-6379 rport=6379 idle=10 intvl=2 cnt=5 user_timeout=auto keepalive=on" "$(control_log)"

# ---- a preset's timeout just below the shortest idle time ----
deaths <<EOF
$(row 443 reset remote 1100000 352000 410000 360:2 450:1)
EOF
run doctor
expect_eq "min 352 s: aws-nlb and aws-nat (350 s) match" "  matches aws-nlb / aws-nat (350 s)" \
	"$(grep '^  matches' <<< "$out")"
expect_eq "min 352 s: the fix names the preset" "  fix: kapctl policy add doctor-443 rport=443 preset=aws-nlb" \
	"$(grep '^  fix' <<< "$out")"
deaths <<EOF
$(row 443 reset remote 1100000 450000 500000 450:2 600:1)
EOF
run doctor
expect_eq "min 450 s: 350 s is below 0.8 x 450, no preset matches" "0 timeout:450" \
	"$(grep -c '^  matches' <<< "$out") $(grep -o 'timeout:[0-9]*' <<< "$out")"
echo 300 > "$FAKE/conntrack"
deaths <<EOF
$(row 443 reset remote 700000 320000 380000 360:1 450:1)
EOF
out=$(KAPCTL_CONNTRACK_TIMEOUT_FILE=$FAKE/conntrack "$KAPCTL" doctor 2>&1)
expect_eq "conntrack matches with this host's sysctl (300 s for min 320 s)" "  matches conntrack (300 s)" \
	"$(grep '^  matches' <<< "$out")"

# ---- retrans, keepalive, brief deaths, --min-count, other ----
deaths <<EOF
$(row 22 reset local 1200 100 900 1:4)
$(row 5432 keepalive local 21700000 7205000 7260000 7200:3)
$(row 5432 retrans local 70000 30500 40000 45:2)
$(row 9000 retrans remote 5000 5000 5000 8:1)
$(row other reset - 100000 21000 40000 30:2 45:2)
EOF
run doctor
expect_eq "retrans: its own wording" \
	"port 5432 (local service): 2 connections timed out (first segment after idle never acknowledged) after 30-40 s idle; none after less than 30 s idle." \
	"$(grep '^port 5432 (local service): 2 ' <<< "$out")"
expect_eq "retrans of a local service: lport=" "  fix: kapctl policy add doctor-5432 lport=5432 preset=timeout:30" \
	"$(grep '^  fix' <<< "$out")"
expect_eq "keepalive: one line of information, no fix" \
	"port 5432 (local service): 3 connections killed by keepalive after at least 7205 s idle: the peer or the path was gone|1" \
	"$(grep 'keepalive after' <<< "$out")|$(grep -c 'fix:' <<< "$out")"
expect_eq "deaths after 1 s or less are not idle deaths: port 22 is not named" "0" "$(grep -c 'port 22 ' <<< "$out")"
expect_eq "one death is fewer than --min-count 2: port 9000 is not named" "0" "$(grep -c 'port 9000 ' <<< "$out")"
expect_eq "the other line: reported, not diagnosed" \
	"other ports: 4 connections reset on first use after 21-40 s idle, on ports beyond the module's port table (limits/ports_max): not diagnosed" \
	"$(grep '^other' <<< "$out")"
run doctor --min-count 1
expect_eq "--min-count 1 diagnoses the single death (estimate 5 s: keys, not timeout:)" \
	"  fix: kapctl policy add doctor-9000 rport=9000 idle=2 intvl=1 cnt=5 user_timeout=auto keepalive=on" \
	"$(grep 'doctor-9000' <<< "$out")"
: > "$FAKE/control"
"$KAPCTL" $(grep 'doctor-9000' <<< "$out" | sed 's/^  fix: kapctl //') > /dev/null 2>&1
expect_eq "... and that fix runs" "add doctor-9000 rport=9000 idle=2 intvl=1 cnt=5 user_timeout=auto keepalive=on" "$(control_log)"
run doctor --min-count 3
expect_eq "--min-count 3: nothing to fix, the information stays" \
	"2 no connection was reset or timed out after idle: nothing to fix" \
	"$(grep -c '^port 5432 (local service): 3 connections killed\|^other ports' <<< "$out") $(tail -n 1 <<< "$out")"
run doctor --port 22
expect_eq "only brief deaths: nothing to fix, exit 0" "0 no idle connection deaths: nothing to fix" "$rc $out"
run doctor --port postgresql
expect_eq "--port takes a service name" "2 0" \
	"$(grep -c '^port 5432' <<< "$out") $(grep -c '^port 9000\|^other' <<< "$out")"
run doctor --min-count 0
expect_eq "--min-count 0: usage error naming the range" "2 kapctl: min-count: '0' is out of range; allowed: 1-4294967295" \
	"$rc $(head -n 1 <<< "$out")"

out=$("$KAPCTL" -j doctor)
expect_eq "-j: one document with format_version" "1" "$(json_get "$out" 'd["format_version"]')"
expect_eq "-j: the diagnosed port, its kind, side, estimate and fix" \
	"5432 retrans local 30 True kapctl policy add doctor-5432 lport=5432 preset=timeout:30 []" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["ports"][0]["port"], d["ports"][0]["kind"], d["ports"][0]["side"], d["ports"][0]["estimate_s"], d["ports"][0]["consistent"], d["ports"][0]["fix"], d["ports"][0]["presets"]])')"
expect_eq "-j: keepalive and other apart, skipped with the reason" \
	"5432 keepalive|reset 4 False|22:not_idle 9000:min_count" \
	"$(json_get "$out" '"%s %s|%s %s %s|%s" % (d["keepalive"][0]["port"], d["keepalive"][0]["kind"], d["other"][0]["kind"], d["other"][0]["idle_count"], "port" in d["other"][0], " ".join("%s:%s" % (s["port"], s["reason"]) for s in d["skipped"]))')"
expect_eq "-j: the idle times are the buckets, with their bounds" "[{'from_s': 30, 'to_s': 45, 'count': 2}]" \
	"$(json_get "$out" 'd["ports"][0]["idle_times"]')"
if python3 -m json.tool <<< "$("$KAPCTL" -p doctor)" > /dev/null 2>&1; then
	ok "-p: pretty JSON parses"
else
	fail "-p: pretty JSON parses"
fi

# ---- sides: both gives one policy per side; one fix for reset and retrans ----
deaths <<EOF
$(row 8080 reset both 100000 25000 40000 30:1 45:2)
$(row 8080 retrans remote 80000 22000 30000 30:3)
EOF
run doctor
expect_eq "both: two policies, lport= and rport=, for the smaller estimate (22 s)" \
	"  fix: kapctl policy add doctor-8080-local lport=8080 preset=timeout:22|       kapctl policy add doctor-8080-remote rport=8080 preset=timeout:22|  fix: as above" \
	"$(grep -A1 '^  fix' <<< "$out" | grep -v '^  at risk\|^--' | paste -sd '|')"
expect_eq "both: the side in words" "1" "$(grep -c '^port 8080 (local and remote service): 3 connections reset' <<< "$out")"
out=$("$KAPCTL" -j doctor)
expect_eq "both -j: fix is one command line, fix_commands one each" \
	"kapctl policy add doctor-8080-local lport=8080 preset=timeout:22 && kapctl policy add doctor-8080-remote rport=8080 preset=timeout:22|2" \
	"$(json_get "$out" '"%s|%d" % (d["ports"][0]["fix"], len(d["ports"][0]["fix_commands"]))')"
: > "$FAKE/control"
eval "$(json_get "$out" 'd["ports"][0]["fix"]' | sed "s|^kapctl |\"\$KAPCTL\" |; s|&& kapctl |\&\& \"\$KAPCTL\" |")" > /dev/null 2>&1
expect_eq "both -j: the fix line runs as it is (eval), both policies added" \
	"add doctor-8080-local lport=8080 idle=11 intvl=2 cnt=5 user_timeout=auto keepalive=on|add doctor-8080-remote rport=8080 idle=11 intvl=2 cnt=5 user_timeout=auto keepalive=on" \
	"$(control_log | paste -sd '|')"
fake_policy doctor-8080-local 0 "lport=8080 idle=11 mode=fill"
fake_policy doctor-8080-remote 1 "rport=8080 idle=11 mode=fill"
run doctor
expect_match "policies of the fix's names exist: the fix is in place" \
	"^  fix: in place \\(policies doctor-8080-local, doctor-8080-remote\\); these deaths may predate it" "$out"
rm -r "$FAKE/policies/doctor-8080-local" "$FAKE/policies/doctor-8080-remote"

# ---- spread deaths; brief deaths mixed with idle ones ----
deaths <<EOF
$(row 3306 reset remote 9000000 20000 3000000 30:2 600:3 3600:5)
$(row 5672 reset remote 200000 400 60000 1:3 8:2 60:2)
EOF
run doctor
expect_eq "spread: fewer than 80 % within twice the shortest" \
	"  idle times: 2 in 20-30 s, 3 in 450-600 s, 5 in 1800-3000 s; spread: only 2 of 10 within 20-40 s, the timeout may be well below 20 s" \
	"$(grep -A1 '^port 3306' <<< "$out" | tail -n 1)"
expect_eq "brief deaths are set apart; the shortest idle one is known to its bucket" \
	"port 5672 (remote service): 4 connections reset on first use after 4-60 s idle (and 3 after 1 s or less: not idle deaths).|  likely: a NAT, firewall or load balancer idle timeout of at most 8 s" \
	"$(grep -A2 '^port 5672' <<< "$out" | sed -n '1p;3p' | paste -sd '|')"

# ---- nothing ----
deaths < /dev/null
run doctor
expect_eq "a header and no line: nothing to fix, exit 0" "0 no idle connection deaths: nothing to fix" "$rc $out"
expect_eq "... in JSON: empty lists" "0 0 0" "$(json_get "$("$KAPCTL" -j doctor)" '" ".join(str(len(d[k])) for k in ["ports", "keepalive", "other"])')"

# ---- malformed files: one line, exit 1, no crash ----
bad() {
	local desc=$1 want=$2
	printf '%b' "$3" > "$FAKE/deaths"
	run doctor
	if [ $rc -eq 1 ] && [ "$(wc -l <<< "$out")" = 1 ] && grep -qF -- "$want" <<< "$out"; then
		ok "malformed: $desc"
	else
		fail "malformed: $desc" "rc=$rc: $out"
	fi
}
hdr="port kind side count sum_ms min_ms max_ms 1 2 +Inf"
bad "a wrong header" "header column 2 is 'kinds'; expected: port kind side count" \
	"port kinds side count sum_ms min_ms max_ms 1 +Inf\n"
bad "no +Inf bucket" "the header's last bucket is '30'; expected: +Inf" \
	"port kind side count sum_ms min_ms max_ms 1 30\n"
bad "bounds not increasing" "bucket bound '1' in the header is out of range; allowed: seconds greater than the bound before it, 2" \
	"port kind side count sum_ms min_ms max_ms 2 1 +Inf\n"
bad "no bucket column" "the header has no bucket columns" "port kind side count sum_ms min_ms max_ms\n"
bad "a line with a column missing" "line 2 has 9 fields; the header has 10" "$hdr\n80 reset remote 1 5000 5000 5000 0 1\n"
bad "a line with a column too many" "line 3 has 11 fields; the header has 10" \
	"$hdr\n80 reset remote 1 5000 5000 5000 0 0 1\n81 reset remote 1 5000 5000 5000 0 0 1 7\n"
bad "a count that is not a number" "line 2: count 'x' is not a number; allowed: 0-18446744073709551615" \
	"$hdr\n80 reset remote x 5000 5000 5000 0 0 1\n"
bad "a bucket that is not a number" "line 2: bucket 2 '-1' is not a number" "$hdr\n80 reset remote 1 5000 5000 5000 0 -1 1\n"
bad "a port out of range" "line 2: port '70000' is out of range; allowed: 1-65535 or other" \
	"$hdr\n70000 reset remote 1 5000 5000 5000 0 0 1\n"
bad "a side that is none" "line 2: side 'up' is not a side; allowed: local, remote, both or -" \
	"$hdr\n80 reset up 1 5000 5000 5000 0 0 1\n"
bad "an empty file" "is empty; expected a header line" ""
bad "a NUL byte" "a NUL byte" "$hdr\n\0\n"
printf '%s\n' "$hdr" "80 reset remote 3 15000 5000 5000 0 0 3" "80 future_kind remote 1 5000 5000 5000 0 0 1" > "$FAKE/deaths"
run doctor
expect_eq "another header (3 buckets) and a kind kapctl does not know: read, the kind left out" \
	"0 1 0" "$rc $(grep -c '^port 80 (remote service): 3 connections reset' <<< "$out") $(grep -c future <<< "$out")"

# ---- not root: the file is CAP_NET_ADMIN's ----
if command -v setpriv > /dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 0755 "$FAKE"
	chmod 0400 "$FAKE/deaths"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env KAPCTL_SYSFS="$FAKE" "$KAPCTL" doctor 2>&1); rc=$?
	expect_eq "not root: exit 1, said so" \
		"1 kapctl: permission denied: $FAKE/deaths is readable with CAP_NET_ADMIN only (run doctor as root)" "$rc $out"
else
	skip "not root: refused" "needs root and setpriv"
fi

# ---- no file, no module ----
rm "$FAKE/deaths"
run doctor
expect_eq "no deaths file: the module is too old, exit 1" \
	"1 kapctl: this kapolicy module has no $FAKE/deaths: it is older than kapctl $("$KAPCTL" -V 2>/dev/null | sed -n 's/^kapctl //p') and does not record idle deaths; update the module" \
	"$rc $out"
out=$(KAPCTL_SYSFS=/nonexistent "$KAPCTL" doctor 2>&1); rc=$?
expect_eq "no module: the usual error" "1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"

# ---- stats ports: the Prometheus histogram and JSON ----
out=$("$KAPCTL" stats ports --format prometheus)
expect_eq "prometheus: no deaths file, no histogram" "0" "$(grep -c idle_death <<< "$out")"
deaths <<EOF
$(row 6379 reset remote 130512 21034 34100 30:2 45:3)
$(row other retrans - 50000 25000 25000 30:2)
EOF
out=$("$KAPCTL" stats ports --format prometheus)
expect_eq "prometheus: a histogram family" "# TYPE kapolicy_idle_death_seconds histogram" "$(grep '^# TYPE kapolicy_idle_death' <<< "$out")"
expect_eq "prometheus: cumulative buckets with the header's le, +Inf last" \
	"0 0 0 0 0 2 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5|$BOUNDS" \
	"$(grep '^kapolicy_idle_death_seconds_bucket{port="6379",kind="reset",side="remote",le=' <<< "$out" | awk '{ print $2 }' | paste -sd ' ')|$(grep -o '^kapolicy_idle_death_seconds_bucket{port="6379"[^}]*' <<< "$out" | sed 's/.*le="//; s/"$//' | paste -sd ' ')"
expect_eq "prometheus: _sum in seconds, _count the +Inf bucket" \
	'kapolicy_idle_death_seconds_sum{port="6379",kind="reset",side="remote"} 130.512|kapolicy_idle_death_seconds_count{port="6379",kind="reset",side="remote"} 5' \
	"$(grep -E '^kapolicy_idle_death_seconds_(sum|count)\{port="6379"' <<< "$out" | paste -sd '|')"
expect_eq "prometheus: the other line" 'kapolicy_idle_death_seconds_count{port="other",kind="retrans",side="-"} 2' \
	"$(grep '^kapolicy_idle_death_seconds_count{port="other"' <<< "$out")"
bad_count=$(python3 -c '
import re, sys
series = {}
for l in sys.stdin:
    m = re.match(r"kapolicy_idle_death_seconds_(bucket|count)\{(.*?)(?:,le=\"([^\"]+)\")?\} (\d+)$", l.strip())
    if not m:
        continue
    kind, labels, le, v = m.groups()
    s = series.setdefault(labels, {"b": [], "count": None})
    if kind == "bucket":
        s["b"].append((le, int(v)))
    else:
        s["count"] = int(v)
bad = 0
for labels, s in series.items():
    vals = [v for _, v in s["b"]]
    if vals != sorted(vals) or s["b"][-1][0] != "+Inf" or s["b"][-1][1] != s["count"]:
        bad += 1
print("%d of %d" % (bad, len(series)))' <<< "$out")
expect_eq "prometheus: every series is cumulative and _count equals +Inf" "0 of 2" "$bad_count"
if command -v promtool > /dev/null; then
	res=$("$KAPCTL" stats all --format prometheus | promtool check metrics 2>&1)
	[ $? -eq 0 ] && ok "prometheus: stats all with the histogram passes promtool" ||
		fail "prometheus: stats all with the histogram passes promtool" "$res"
else
	skip "prometheus: promtool" "promtool (Debian package prometheus) is not installed"
fi
out=$("$KAPCTL" stats ports --format prometheus --port 22)
expect_eq "prometheus --port: only that port's deaths (none)" "0" "$(grep -c idle_death <<< "$out")"
out=$("$KAPCTL" -j stats ports)
expect_eq "stats ports -j: deaths with the bounds (null: +Inf), lines and other" \
	"24 None 6379 reset [0, 0, 0, 0, 0, 2, 3] 2" \
	"$(json_get "$out" '" ".join(str(x) for x in [len(d["deaths"]["le"]), d["deaths"]["le"][-1], d["deaths"]["lines"][0]["port"], d["deaths"]["lines"][0]["kind"], d["deaths"]["lines"][0]["buckets"][:7], d["deaths"]["other"][0]["count"]])')"
printf 'port kind\n' > "$FAKE/deaths"
out=$("$KAPCTL" stats ports --format prometheus 2>"$FAKE/err"); rc=$?
expect_eq "prometheus: a malformed deaths file is said on stderr, the counters still go out" \
	"0 1 1 0" \
	"$rc $(grep -c 'header column 3' "$FAKE/err") $(grep -c '^kapolicy_port_probes_sent_total{port="443"}' <<< "$out") $(grep -c idle_death <<< "$out")"

# ---- watch: the idle_death event ----
cat > "$FAKE/trace" <<'EOF'
          <idle>-0       [001] ..s2.   140.000000: idle_death: family=4 src=192.0.2.1:40400 dst=198.51.100.2:6379 cgroup=1 netns=4026531840 policy=- probe=0 idle=7200 intvl=75 cnt=9 user_timeout=0 kind=reset idle_ms=21034 err=104
          <idle>-0       [001] ..s2.   141.000000: probe_sent: family=4 src=192.0.2.1:40312 dst=198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0
EOF
run watch --file "$FAKE/trace" --event idle_death
expect_eq "watch: idle_death in text, its own fields at the end" \
	"0 140.000000 idle_death     192.0.2.1:40400 -> 198.51.100.2:6379 cgroup=1 netns=4026531840 policy=- probe=0 idle=7200 intvl=75 cnt=9 user_timeout=0 kind=reset idle_ms=21034 err=104" \
	"$rc $out"
out=$("$KAPCTL" -j watch --file "$FAKE/trace" --port 6379)
expect_eq "watch -j: idle_death typed" "idle_death reset 21034 104 6379" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["event"], d["kind"], d["idle_ms"], d["err"], d["dst_port"]])')"

# ---- at risk now: real loopback connections ----
if ! "$KAPCTL" sockets --port 1 > /dev/null 2>&1; then
	skip "at risk now" "sock_diag is not available here"
	finish
fi
ports=$FAKE/ports.txt
python3 - "$ports" <<'EOF' &
import os, socket, sys, time
def pair(keepalive):
    l = socket.socket()
    l.bind(('127.0.0.1', 0))
    l.listen()
    c = socket.socket()
    if keepalive:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.connect(l.getsockname())
    a, _ = l.accept()
    return l, c, a
idle = pair(False)
ka = pair(True)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write('%d %d\n' % (idle[0].getsockname()[1], ka[0].getsockname()[1]))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(60)
EOF
helper=$!
trap 'kill $helper 2>/dev/null; rm -rf "$FAKE"' EXIT
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
read -r IDLE KA < "$ports"
sleep 3.5	# idle longer than the estimate of 2 s below
at_risk() {
	deaths <<EOF
$(row "$IDLE" reset "$1" 5000 2500 2500 4:2)
$(row "$KA" reset "$1" 5000 2500 2500 4:2)
EOF
	json_get "$("$KAPCTL" -j doctor)" '" ".join(sorted("%s:%s" % (p["port"] == '"$IDLE"' and "idle" or "ka", p["at_risk"]) for p in d["ports"]))'
}
expect_eq "at risk, remote: the client end of the idle connection; the probing one is not" "idle:1 ka:0" "$(at_risk remote)"
# the server ends have keepalive off: the client's probes keep the flow
# alive, but sock_diag cannot tell (see SOCKETS in kapctl.8)
expect_eq "at risk, local: the server ends" "idle:1 ka:1" "$(at_risk local)"
expect_eq "at risk, both: both ends of the idle connection" "idle:2 ka:1" "$(at_risk both)"
deaths <<EOF
$(row "$IDLE" reset both 120000 60000 60000 60:2)
EOF
expect_eq "not at risk when the estimate (60 s) is longer than their idle time" "0" \
	"$(json_get "$("$KAPCTL" -j doctor)" 'd["ports"][0]["at_risk"]')"
run doctor
expect_match "text: the count and the sockets command" \
	"^  at risk now: 0 connections idle longer than 60 s without keepalive in time \\(kapctl sockets --at-risk 60 --port $IDLE\\)$" "$out"
finish
