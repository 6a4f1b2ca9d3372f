#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl apply against a fake sysfs tree whose control is a plain file:
# a valid file becomes begin/flush/add.../commit; every malformed file is
# refused with its line number and nothing is written; a kernel refusal in
# the middle ends with abort.
. "$(dirname "$0")/lib.sh"
fake_module
conf=$FAKE/conf

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }

# ---- a valid file ----
cat > "$conf" <<'EOF'
# keepalive policies

pg   lport=postgresql idle=60 intvl=10 cnt=5 keepalive=on   # the database
	web rport=80-443 idle=30 mode=override
any  idle=300
EOF
run apply "$conf"
expect_eq "valid: exit 0 and a summary" "0 $conf: applied 3 policies" "$rc $out"
expect_eq "valid: one transaction, one add per line, in file order" \
	"begin|flush|add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on|add web rport=80-443 idle=30 mode=override|add any idle=300|commit" \
	"$(control_log | paste -sd '|')"

: > "$FAKE/control"
run apply --check "$conf"
expect_eq "--check: valid, nothing written" "0 $conf: 3 policies, valid|" "$rc $out|$(control_log)"
out=$("$KAPCTL" -j apply --check "$conf")
expect_eq "--check JSON: the policies" "True pg web any" \
	"$(json_get "$out" '" ".join([str(d["valid"])] + d["policies"])')"

: > "$FAKE/control"
out=$("$KAPCTL" -j apply - < "$conf"); rc=$?
expect_eq "stdin, JSON: applied, names in order" "0 True pg,web,any" \
	"$rc $(json_get "$out" 'str(d["applied"]) + " " + ",".join(d["policies"])')"
expect_eq "stdin: the same commands" 6 "$(control_log | wc -l)"

: > "$FAKE/control"
printf '# nothing\n\n' > "$conf.empty"
run apply "$conf.empty"
expect_eq "an empty file empties the table (begin, flush, commit)" "0 begin|flush|commit" "$rc $(control_log | paste -sd '|')"

# The example shipped with kapctl is valid.
run apply --check "$TESTS_DIR/../kapolicy.conf.example"
expect_match "kapolicy.conf.example is valid" "^$TESTS_DIR/../kapolicy.conf.example: [0-9]+ policies, valid$" "$out"

# ---- malformed files: line number, message, nothing written ----
malformed() {
	local desc=$1 line=$2 msg=$3 text=$4
	printf '%b' "$text" > "$conf.bad"
	: > "$FAKE/control"
	out=$("$KAPCTL" apply "$conf.bad" 2>&1); rc=$?
	if [ "$rc" -eq 1 ] && [ "$(head -n 1 <<< "$out")" = "kapctl: $conf.bad:$line: $msg" ] &&
	   grep -q "nothing was changed" <<< "$out" && [ ! -s "$FAKE/control" ]; then
		ok "malformed: $desc (line $line), nothing written"
	else
		fail "malformed: $desc (line $line), nothing written" "rc=$rc out='$out' control='$(control_log)'"
	fi
}
malformed "a value out of range" 3 "idle: '0' is out of range; allowed: 1-32767 (seconds)" \
	"a idle=1\n# comment\nb idle=0\nc idle=2\n"
malformed "an unknown key" 1 \
	"key: 'idel' is unknown; allowed: family lport rport cgroup netns idle intvl cnt user_timeout keepalive mode order" \
	"a idel=1\nb idle=1\n"
malformed "a duplicate name" 4 "name: 'a' is defined twice (first on line 1); allowed: each name once" \
	"a idle=1\nb idle=1\n\na idle=2\n"
malformed "a name without keys" 2 "policy: has no action; allowed: at least one of idle intvl cnt user_timeout keepalive" \
	"a idle=1\nb\n"
malformed "a bad name" 1 "name: 'a.b' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -" \
	"a.b idle=1\n"
malformed "an unknown service" 2 \
	"rport: 'nosuchservice' is not a port, port range or TCP service name; allowed: P or P-Q with 1 <= P <= Q <= 65535, or a TCP service name (/etc/services)" \
	"a idle=1\nb rport=nosuchservice idle=1\n"
malformed "a missing cgroup" 1 "cgroup: 'no/such/cgroup' does not exist; allowed: a cgroup v2 id or a directory under $(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo || echo /sys/fs/cgroup)" \
	"a cgroup=no/such/cgroup idle=1\n"
malformed "a key twice" 1 "cnt: is given twice; allowed: each key once" "a cnt=1 cnt=2\n"
malformed "a control character" 2 "line: contains a control character; allowed: printable characters, spaces, tabs" \
	"a idle=1\nb idle=1\x01\n"
malformed "the last line without a newline" 2 "mode: 'both' is not a mode; allowed: fill or override" \
	"a idle=1\nb idle=1 mode=both"
long=$(printf 'a idle=1 lport=1%.0s' {1..1})$(printf ' x%.0s' {1..600})
malformed "a line over 1024 bytes" 1 "policy: 'a' is 1220 bytes as a control command; allowed: at most 1024" "$long\n"

printf 'a idle=0\nb idel=1\na idle=1\n' > "$conf.bad"
: > "$FAKE/control"
run apply "$conf.bad"
expect_eq "every error is reported, then the total" "4 kapctl: $conf.bad: 3 errors; nothing was changed" \
	"$(wc -l <<< "$out") $(tail -n 1 <<< "$out")"
out=$("$KAPCTL" -p apply "$conf.bad"); rc=$?
expect_eq "JSON: exit 1, each error with its line" "1 3 1,2,3 0" \
	"$rc $(json_get "$out" '" ".join([str(len(d["errors"])), ",".join(str(e["line"]) for e in d["errors"])])') $(wc -c < "$FAKE/control")"
run apply --check "$conf.bad"
expect_eq "--check refuses the same file, exit 1" 1 "$rc"

# ---- the kernel refuses in the middle: abort ----
: > "$FAKE/control"
out=$(with_refusals "17:add web" "$KAPCTL" apply "$conf" 2>&1); rc=$?
expect_eq "a refused add: exit 1, the line and the reason" \
	"1 kapctl: $conf:4: policy 'web' already exists; nothing was changed" "$rc $out"
expect_eq "a refused add: the transaction is aborted" \
	"begin|flush|add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on|#refused 17 add web rport=80-443 idle=30 mode=override|abort" \
	"$(control_log | paste -sd '|')"
: > "$FAKE/control"
out=$(with_refusals "16:begin" "$KAPCTL" apply "$conf" 2>&1); rc=$?
expect_eq "begin refused (EBUSY): exit 1, nothing else written" \
	"1 #refused 16 begin" "$rc $(control_log | paste -sd '|')"
expect_match "begin refused: said plainly" "another process has a policy transaction open" "$out"
: > "$FAKE/control"
out=$(with_refusals "28:commit" "$KAPCTL" -j apply "$conf"); rc=$?
expect_eq "commit refused: abort follows, JSON error" "1 abort" "$rc $(control_log | tail -n 1)"
expect_match "commit refused: JSON names the step" "cannot commit the transaction" "$(json_get "$out" 'd["error"]')"

# ---- a NUL byte hides nothing; empty input changes nothing ----
: > "$FAKE/control"
printf 'a idle=5\n\0junk\nb idle=6\n' > "$conf.nul"
run apply "$conf.nul"
expect_eq "a NUL byte: refused with its line, nothing written" \
	"1 kapctl: $conf.nul:2: line: contains a NUL byte; allowed: text without NUL bytes|" \
	"$rc $(head -n 1 <<< "$out")|$(control_log)"
run apply --check "$conf.nul"
expect_eq "a NUL byte: --check says invalid" 1 "$rc"
run apply - < /dev/null
expect_eq "empty input: refused, nothing written" \
	"1 kapctl: <stdin>: is empty; nothing was changed (a file of comments only empties the table)|" \
	"$rc $out|$(control_log)"
printf '# no policy here\n' > "$conf.empty"
run apply "$conf.empty"
expect_eq "a file of comments only: the table emptied" "0 begin|flush|commit" \
	"$rc $(control_log | paste -sd '|')"

# ---- usage and files ----
run apply
expect_eq "apply without a file: exit 2" 2 "$rc"
run apply a b
expect_eq "apply with two files: exit 2" 2 "$rc"
run apply /nonexistent/kapolicy.conf
expect_eq "a missing file: exit 1, named" "1 kapctl: cannot read /nonexistent/kapolicy.conf: No such file or directory" "$rc $out"
save=$KAPCTL_SYSFS
export KAPCTL_SYSFS=/nonexistent/kapolicy
run apply --check "$conf"
expect_eq "--check needs no module" 0 "$rc"
run apply "$conf"
expect_eq "apply without the module: exit 1" "1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
export KAPCTL_SYSFS=$save

# ---- the service unit ----
unit=$TESTS_DIR/../kapolicy.service
expect_eq "kapolicy.service: oneshot, runs apply on /etc/kapolicy.conf" \
	"Type=oneshot|ExecStart=/usr/sbin/kapctl apply /etc/kapolicy.conf" \
	"$(grep -E '^(Type|ExecStart)=' "$unit" | paste -sd '|')"
if command -v systemd-analyze > /dev/null; then
	res=$(systemd-analyze verify "$unit" 2>&1 | grep -v -e 'kapctl' -e 'modprobe' -e 'Failed to' -e 'running in a' -e 'Assertion' -e 'is not executable')
	[ -z "$res" ] && ok "systemd-analyze verify finds nothing else" || fail "systemd-analyze verify" "$res"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
stage=$FAKE/stage
make -s -C "$TESTS_DIR/.." install DESTDIR="$stage" UNITDIR=/lib/systemd/system > /dev/null 2>&1
expect_eq "make install stages kapctl, the man page, completion, unit and example" "5" \
	"$(ls "$stage/usr/sbin/kapctl" "$stage/usr/share/man/man8/kapctl.8" \
	   "$stage/usr/share/bash-completion/completions/kapctl" "$stage/lib/systemd/system/kapolicy.service" \
	   "$stage/usr/share/doc/kapolicy/examples/kapolicy.conf" 2>/dev/null | wc -l)"
finish
