#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl policy against a fake sysfs tree: what is written to control, what
# is refused before it (with the parser's words, exit 2, nothing written),
# the kernel's refusals (fake_control.so plays them), list/show/enforce.
. "$(dirname "$0")/lib.sh"
fake_module

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }

# ---- add: what reaches the kernel ----
run policy add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on
expect_eq "add: exit 0, silent" "0 " "$rc $out"
expect_eq "add: one command, as given" "add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on" "$(control_log)"

: > "$FAKE/control"
run policy add pg2 "rport=postgresql" "idle=30 keepalive=on"
expect_eq "add: a service name becomes its port; words may be split or joined" \
	"add pg2 rport=5432 idle=30 keepalive=on" "$(control_log)"

: > "$FAKE/control"
run policy add web rport=http-https lport=1000-2000 idle=5
expect_eq "add: a range of service names, and a numeric range kept as is" \
	"add web rport=80-443 lport=1000-2000 idle=5" "$(control_log)"

cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$cgroot" ]; then
	id=$(stat -c %i "$cgroot")
	: > "$FAKE/control"
	run policy add app "cgroup=$cgroot" idle=1
	expect_eq "add: a cgroup path becomes its id (directory inode)" "add app cgroup=$id idle=1" "$(control_log)"
	sub=$(find "$cgroot" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	if [ -n "$sub" ]; then
		: > "$FAKE/control"
		run policy add app2 "cgroup=${sub#$cgroot/}" idle=1
		expect_eq "add: a path relative to the cgroup2 mount" \
			"add app2 cgroup=$(stat -c %i "$sub") idle=1" "$(control_log)"
		: > "$FAKE/control"
		run policy add app3 "cgroup=/${sub#$cgroot/}" idle=1
		expect_eq "add: a path as /proc/PID/cgroup prints it" \
			"add app3 cgroup=$(stat -c %i "$sub") idle=1" "$(control_log)"
	else
		skip "add: a path relative to the cgroup2 mount" "no child cgroup"
		skip "add: a path as /proc/PID/cgroup prints it" "no child cgroup"
	fi
else
	for t in "a cgroup path becomes its id" "relative path" "/proc/PID/cgroup path"; do
		skip "add: $t" "no cgroup2 mount here"
	done
fi
: > "$FAKE/control"
run policy add app cgroup=4711 idle=1
expect_eq "add: a numeric cgroup id is passed as is" "add app cgroup=4711 idle=1" "$(control_log)"

# netns: a name (/run/netns) or an nsfs path becomes the namespace's cookie
self_cookie=$(python3 -c 'import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))' 2>/dev/null)
if [ -n "$self_cookie" ] && [ "$(id -u)" = 0 ]; then
	: > "$FAKE/control"
	run policy add ns netns=/proc/self/ns/net idle=1
	expect_eq "add: netns=/proc/PID/ns/net becomes the namespace's cookie" \
		"add ns netns=$self_cookie idle=1" "$(control_log)"
else
	skip "add: netns=/proc/PID/ns/net becomes the namespace's cookie" "needs root and SO_NETNS_COOKIE"
fi
: > "$FAKE/control"
run policy add ns netns=77 idle=1
expect_eq "add: a numeric netns is a cookie, passed as is" "add ns netns=77 idle=1" "$(control_log)"
: > "$FAKE/control"
run policy add ns netns=4026531840 idle=1
expect_eq "add: a number that looks like an inode: written as a cookie, with a warning" \
	"0 add ns netns=4026531840 idle=1|kapctl: warning: netns: '4026531840' looks like a namespace inode number; a netns policy names the namespace's cookie (netns=NAME or netns=/proc/PID/ns/net give it)" \
	"$rc $(control_log)|$out"

# durations as people write them: the kernel is given seconds (ms for user_timeout)
: > "$FAKE/control"
run policy add d idle=5m intvl=1m30s user_timeout=2m30s cnt=4
expect_eq "add: idle=5m intvl=1m30s user_timeout=2m30s" \
	"0 add d idle=300 intvl=90 user_timeout=150000 cnt=4" "$rc $(control_log)"
: > "$FAKE/control"
run policy add d idle=1h user_timeout=1500ms
expect_eq "add: idle=1h, user_timeout=1500ms" "0 add d idle=3600 user_timeout=1500" "$rc $(control_log)"

# ---- refused before the kernel: exit 2, the parser's message, nothing written ----
: > "$FAKE/control"
refused() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" -eq 2 ] && [ "$(head -n 1 <<< "$out")" = "kapctl: $want" ] && [ ! -s "$FAKE/control" ]; then
		ok "refused: $desc"
	else
		fail "refused: $desc" "rc=$rc out='$out' control='$(control_log)'"
	fi
}
refused "idle out of range" "idle: '0' is out of range; allowed: 1-32767 (seconds)" \
	policy add pg idle=0
refused "cnt out of range" "cnt: '128' is out of range; allowed: 1-127" \
	policy add pg cnt=128 idle=1
refused "a port out of range" "lport: '99999' is out of range; allowed: P or P-Q with 1 <= P <= Q <= 65535" \
	policy add pg lport=99999 idle=1
refused "a reversed range" "rport: '9-3' is a reversed range; allowed: P or P-Q with 1 <= P <= Q <= 65535" \
	policy add pg rport=9-3 idle=1
refused "an unknown service name" \
	"lport: 'nosuchservice' is not a port, port range or TCP service name; allowed: P or P-Q with 1 <= P <= Q <= 65535, or a TCP service name (/etc/services)" \
	policy add pg lport=nosuchservice idle=1
refused "a namespace that does not exist" \
	"netns: 'kap-nosuchns' does not exist; allowed: a namespace name (/run/netns), an nsfs path (/proc/PID/ns/net) or a namespace cookie" \
	policy add pg netns=kap-nosuchns idle=1
refused "a file that is not a network namespace" \
	"netns: '/proc/self/ns/uts' is not a network namespace; allowed: a namespace name (/run/netns), an nsfs path (/proc/PID/ns/net) or a namespace cookie" \
	policy add pg netns=/proc/self/ns/uts idle=1
refused "netns=0" "netns: '0' is out of range; allowed: a network namespace cookie (SO_NETNS_COOKIE), 1-18446744073709551615" \
	policy add pg netns=0 idle=1
refused "a duration that is not whole seconds" \
	"idle: '1500ms' is out of range; allowed: 1-32767 (seconds), in whole seconds" policy add pg idle=1500ms
refused "units out of order" \
	"intvl: '30s5m' is not a duration; allowed: 1-32767 (seconds), as a number or with units (90, 5m, 1h30m)" \
	policy add pg intvl=30s5m
refused "a duration beyond the range" "idle: '10h' is out of range; allowed: 1-32767 (seconds)" \
	policy add pg idle=10h
refused "an unknown key" \
	"key: 'idel' is unknown; allowed: family lport rport cgroup netns idle intvl cnt user_timeout keepalive mode order" \
	policy add pg idel=1
refused "a key twice" "idle: is given twice; allowed: each key once" policy add pg idle=1 idle=2
refused "no action" "policy: has no action; allowed: at least one of idle intvl cnt user_timeout keepalive" \
	policy add pg lport=5432
refused "a bad name" "name: 'p.g' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	policy add p.g idle=1
refused "a name too long" "name: '$(printf 'n%.0s' {1..32})' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	policy add "$(printf 'n%.0s' {1..32})" idle=1
refused "keepalive=off" "keepalive: 'off' is not a keepalive setting; allowed: on" \
	policy add pg keepalive=off
refused "a bad mode" "mode: 'always' is not a mode; allowed: fill or override" policy add pg idle=1 mode=always
refused "a bad family" "family: '5' is not an address family; allowed: 4 or 6" policy add pg idle=1 family=5
refused "a cgroup path that does not exist" \
	"cgroup: 'no/such/cgroup' does not exist; allowed: a cgroup v2 id or a directory under $(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo || echo /sys/fs/cgroup)" \
	policy add pg cgroup=no/such/cgroup idle=1
refused "a cgroup path outside cgroup2" \
	"cgroup: '/tmp' is not a cgroup v2 directory; allowed: a cgroup v2 id or a directory under $(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo || echo /sys/fs/cgroup)" \
	policy add pg cgroup=/tmp idle=1
refused "a control character" "line: contains a control character; allowed: printable characters, spaces, tabs" \
	policy add pg $'idle=1\x01'
refused "add without a spec" "usage: kapctl policy add NAME KEY=VALUE..." policy add
refused "del of a bad name" "name: 'a/b' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	policy del a/b
refused "move to a bad position" "position: 'first' is not a number; allowed: 0-65535" policy move pg first
# the word at fault is the one named
refused "an unknown short option names its word" "policy add: unknown option '-foo'" policy add -foo idle=5
refused "a negative position names its word" "policy move: unknown option '-1'" policy move pg -1
refused "del of a name with a space" "name: 'a b' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	policy del "a b"
refused "add of an empty name" "name: '' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	policy add "" idle=5
refused "del of a name with a newline: one line, escaped" \
	"name: 'pg\\n' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" policy del $'pg\n'

# "help" is a policy name like any other (apply accepts it); -h is help
: > "$FAKE/control"
run policy add help idle=5
expect_eq "add help: a policy named help" "0 add help idle=5" "$rc $(control_log)"
: > "$FAKE/control"
run policy del help
expect_eq "del help: deletes the policy named help" "0 del help" "$rc $(control_log)"
: > "$FAKE/control"
run policy del -h
expect_match "del -h: its help, nothing written" "^Usage: kapctl policy del NAME" "$out"
expect_eq "del -h: nothing written" "" "$(control_log)"

# cgroup=/ is the root cgroup, as /proc/self/cgroup prints it ("0::/")
if [ -n "$cgroot" ]; then
	: > "$FAKE/control"
	run policy add root cgroup=/ idle=100
	expect_eq "add: cgroup=/ is the root cgroup" "0 add root cgroup=$(stat -c %i "$cgroot") idle=100" \
		"$rc $(control_log)"
else
	skip "add: cgroup=/ is the root cgroup" "no cgroup2 mount here"
fi
: > "$FAKE/control"
refused "move beyond the range" "position: '65536' is out of range; allowed: 0-65535" policy move pg 65536
refused "del with two names" "usage: kapctl policy del NAME" policy del a b
refused "flush with an argument" "usage: kapctl policy flush " policy flush now

out=$("$KAPCTL" -j policy add pg idle=99999); rc=$?
expect_eq "JSON mode: a refused spec is a JSON error" \
	"idle: '99999' is out of range; allowed: 1-32767 (seconds)" "$(json_get "$out" 'd["error"]')"

# ---- del, move, flush ----
: > "$FAKE/control"
"$KAPCTL" policy del pg && "$KAPCTL" policy move web 0 && "$KAPCTL" policy flush
expect_eq "del, move and flush write their commands" "del pg|move web 0|flush" "$(control_log | paste -sd '|')"
out=$("$KAPCTL" -j policy move web 2)
expect_eq "JSON mode: a change reports the command written" "move web 2" "$(json_get "$out" 'd["command"]')"

# ---- the kernel refuses: said plainly, exit 1 ----
kernel_refuses() {
	local desc=$1 rule=$2 want=$3
	shift 3
	out=$(with_refusals "$rule" "$KAPCTL" "$@" 2>&1); rc=$?
	if [ "$rc" -eq 1 ] && [ "$out" = "kapctl: $want" ]; then
		ok "kernel refusal: $desc"
	else
		fail "kernel refusal: $desc" "rc=$rc out='$out'"
	fi
}
kernel_refuses "EEXIST" "17:add pg" "policy 'pg' already exists" policy add pg idle=1
kernel_refuses "ENOENT on del" "2:del" "policy 'pg' does not exist" policy del pg
kernel_refuses "ENOENT on move" "2:move" "policy 'pg' does not exist" policy move pg 1
kernel_refuses "ENOENT on add: no such cgroup" "2:add" "cannot add policy 'pg': no cgroup with id 4711 exists" \
	policy add pg cgroup=4711 idle=1
kernel_refuses "ENOSPC" "28:add" \
	"cannot add policy 'pg': the policy table is full (module parameter max_policies) or its port index would exceed its bound" \
	policy add pg idle=1
kernel_refuses "EBUSY" "16:flush" \
	"cannot flush the policies: another process has a policy transaction open; try again when it has finished" \
	policy flush
kernel_refuses "EACCES" "13:add" "cannot add policy 'pg': permission denied: only root changes policies" \
	policy add pg idle=1
out=$(with_refusals "17:add pg" "$KAPCTL" -j policy add pg idle=1); rc=$?
expect_eq "JSON mode: a kernel refusal is a JSON error, exit 1" "1 policy 'pg' already exists" \
	"$rc $(json_get "$out" 'd["error"]')"

# ---- module missing, no policy table, not root ----
save=$KAPCTL_SYSFS
export KAPCTL_SYSFS=/nonexistent/kapolicy
run policy add pg idle=1
expect_eq "no module: add fails (exit 1) and says so" \
	"1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
run policy list
expect_eq "no module: list fails and says so" \
	"1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
run policy add pg idle=0
expect_eq "no module: a bad spec is still a usage error" 2 "$rc"
export KAPCTL_SYSFS=$save

mv "$FAKE/control" "$FAKE/control.off"
run policy add pg idle=1
expect_eq "a module without control: says so" \
	"1 kapctl: this kapolicy module has no policy table ($FAKE/control is missing); update the module" "$rc $out"
mv "$FAKE/control.off" "$FAKE/control"

if command -v setpriv > /dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 0200 "$FAKE/control"
	chmod 0755 "$FAKE"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env KAPCTL_SYSFS="$FAKE" "$KAPCTL" policy add pg idle=1 2>&1); rc=$?
	expect_eq "not root: refused before writing, and said so" \
		"1 kapctl: permission denied: changing the policy table needs root ($FAKE/control is writable by root only)" "$rc $out"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env KAPCTL_SYSFS="$FAKE" "$KAPCTL" policy enforce off 2>&1); rc=$?
	expect_eq "not root: enforce off is refused too" 1 "$rc"
	chmod 0644 "$FAKE/control"
else
	skip "not root: refused before writing" "needs root and setpriv"
	skip "not root: enforce off is refused too" "needs root and setpriv"
fi

# ---- list and show ----
fake_policy pg 1 "lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill" 12
fake_policy web 0 "rport=80-443 idle=30 mode=override" 3
run policy list
expect_eq "list: text, in match order" "ORDER NAME GOVERNED SENT ANSWERED TIMEOUTS SPEC|0 web 0 3 0 0 rport=80-443 idle=30 mode=override|1 pg 0 12 0 0 lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill" \
	"$(tr -s ' ' <<< "$out" | paste -sd '|')"
fake_policy big 2 "rport=1 idle=1 mode=fill" 123456789012345
run policy list
# every value ends where its column's heading ends
expect_eq "list: columns stay aligned with large counters" "aligned" \
	"$(awk 'NR == 1 { for (i = 1; i <= NF; i++) { p = index($0, " " $i); if (i == 1) p = 0; end[i] = p + length($i) } next }
		{ line = $0; pos = 0
		  for (i = 1; i <= 6; i++) { match(substr(line, pos + 1), /[^ ]+/); s = pos + RSTART; e = s + RLENGTH - 1; pos = e
		    if (i >= 3 && e != end[i]) { print "line " NR " column " i " ends at " e " not " end[i]; exit } } }
		END { print "aligned" }' <<< "$out" | head -n 1)"
rm -rf "$FAKE/policies/big"
run policy list --json --bogus
expect_eq "list --json with a bad option: the error is JSON" "2 policy list: unknown option '--bogus'" \
	"$rc $(json_get "$out" 'd["error"]')"
out=$("$KAPCTL" -j policy list)
expect_eq "list: JSON, in match order, with typed keys" "web 0 pg 1 5432 5432 True fill" \
	"$(json_get "$out" '" ".join(str(x) for x in [d["policies"][0]["name"], d["policies"][0]["order"], d["policies"][1]["name"], d["policies"][1]["order"], d["policies"][1]["keys"]["lport"]["from"], d["policies"][1]["keys"]["lport"]["to"], d["policies"][1]["keys"]["keepalive"], d["policies"][1]["keys"]["mode"]])')"
out=$("$KAPCTL" -p policy show pg)
expect_eq "show: pretty JSON with all counters" "pg 12 9 user_timeout-absent" \
	"$(json_get "$out" '" ".join([d["name"], str(d["stats"]["probes_sent"]), str(len(d["stats"])), "user_timeout-absent" if "user_timeout" not in d["keys"] else "?"])')"
run policy show pg
expect_match "show: text names the spec" '^spec: +lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill$' "$out"
expect_match "show: text lists the counters" '^  probes_sent +12$' "$out"
run policy show nope
expect_eq "show: a missing policy, exit 1" "1 kapctl: policy 'nope' does not exist" "$rc $out"
rm -rf "$FAKE/policies"/*
run policy list
expect_eq "list: no policies" "0 no policies" "$rc $out"
expect_eq "list: no policies, JSON" "[]" "$(json_get "$("$KAPCTL" -j policy list)" 'd["policies"]')"

# ---- enforce ----
run policy enforce
expect_eq "enforce: shows on" "0 on" "$rc $out"
run policy enforce off
expect_eq "enforce off writes 0" "0 0" "$rc $(cat "$FAKE/enforce")"
expect_eq "enforce: JSON" "False" "$(json_get "$("$KAPCTL" -j policy enforce)" 'd["enforce"]')"
"$KAPCTL" policy enforce on
expect_eq "enforce on writes 1" 1 "$(cat "$FAKE/enforce")"
run policy enforce sometimes
expect_eq "enforce: a bad value, exit 2" "2 kapctl: enforce: 'sometimes' is not a setting; allowed: on or off" \
	"$rc $(head -n 1 <<< "$out")"
finish
