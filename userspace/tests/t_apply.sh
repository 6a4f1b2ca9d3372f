#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl apply against a fake sysfs tree whose control is a plain file:
# a valid file becomes begin/flush/add.../commit; every malformed file is
# refused with its line number and nothing is written; a kernel refusal in
# the middle ends with abort.  The diff against the live table (fake_policy:
# the fake control never changes it), input with no policy (refused while
# the table has some, unless --flush) and truncated input.
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
expect_eq "valid: exit 0, the diff against an empty table, the summary last" \
	"0|+ pg   lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill|+ web  rport=80-443 idle=30 mode=override|+ any  idle=300 mode=fill|$conf: 3 added|$conf: applied 3 policies" \
	"$rc|$(paste -sd '|' <<< "$out")"
expect_eq "valid: one transaction, one add per line, in file order" \
	"begin|flush|add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on|add web rport=80-443 idle=30 mode=override|add any idle=300|commit" \
	"$(control_log | paste -sd '|')"

: > "$FAKE/control"
run apply --check "$conf"
expect_eq "--check: the diff, valid, nothing written" \
	"0|+ pg   lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill|+ web  rport=80-443 idle=30 mode=override|+ any  idle=300 mode=fill|$conf: 3 added (nothing applied)|$conf: 3 policies, valid|" \
	"$rc|$(paste -sd '|' <<< "$out")|$(control_log)"
out=$("$KAPCTL" -j apply --check "$conf")
expect_eq "--check JSON: the policies" "True pg web any" \
	"$(json_get "$out" '" ".join([str(d["valid"])] + d["policies"])')"

: > "$FAKE/control"
out=$("$KAPCTL" -j apply - < "$conf"); rc=$?
expect_eq "stdin, JSON: applied, names in order" "0 True pg,web,any" \
	"$rc $(json_get "$out" 'str(d["applied"]) + " " + ",".join(d["policies"])')"
expect_eq "stdin: the same commands" 6 "$(control_log | wc -l)"

# The example shipped with kapctl is valid and, as it is installed, changes
# nothing: every policy in it is commented out.
example=$TESTS_DIR/../kapolicy.conf.example
run apply --check "$example"
expect_eq "kapolicy.conf.example is valid, without a policy" \
	"0|$example: no change (nothing applied)|$example: 0 policies, valid" "$rc|$(paste -sd '|' <<< "$out")"
expect_eq "kapolicy.conf.example: not one line outside a comment" "" "$(grep -vE '^[[:space:]]*(#|$)' "$example")"
expect_eq "kapolicy.conf.example: its policies are there, commented out" \
	"pg-client pg-server app default" \
	"$(sed -n 's/^#\(pg-client\|pg-server\|app\|default\) .*/\1/p' "$example" | paste -sd ' ')"

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
malformed "the last line without a newline (truncated), before any other error" 2 \
	"the last line has no newline; the input looks truncated; nothing was changed" \
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
# (input with no policy: see "input with no policy" below)

# ---- the diff against the live table ----
# live(NAME:SPEC...): the live table, in this match order
live() {
	local i=0 p
	rm -rf "$FAKE/policies"
	mkdir -p "$FAKE/policies"
	for p in "$@"; do
		fake_policy "${p%%:*}" $i "${p#*:}"
		i=$((i + 1))
	done
}
live "pg:lport=5432 idle=120 intvl=10 mode=fill" "old:lport=22 idle=30 mode=fill" \
	"any:idle=300 mode=fill" "same:idle=5 mode=fill"
cat > "$conf.diff" <<'EOF'
any  idle=300
web  lport=80 idle=60
pg   lport=postgresql idle=60 intvl=10    # in canonical form: lport=5432
same idle=5 mode=fill
EOF
: > "$FAKE/control"
run apply "$conf.diff"
expect_eq "diff: added, changed, removed, moved; unchanged ones not listed" \
	"0|^ any  moved: 2 -> 0|+ web  lport=80 idle=60 mode=fill|~ pg   lport=5432 idle=120 intvl=10 mode=fill -> lport=5432 idle=60 intvl=10 mode=fill|- old  lport=22 idle=30 mode=fill|$conf.diff: 1 added, 1 changed, 1 removed, 1 moved, 1 unchanged|$conf.diff: applied 4 policies" \
	"$rc|$(paste -sd '|' <<< "$out")"
expect_eq "diff: the whole file is written all the same" \
	"begin|flush|add any idle=300|add web lport=80 idle=60|add pg lport=5432 idle=60 intvl=10|add same idle=5 mode=fill|commit" \
	"$(control_log | paste -sd '|')"
want_changes='{"added": ["web"], "changed": [{"name": "pg", "new": "lport=5432 idle=60 intvl=10 mode=fill", "old": "lport=5432 idle=120 intvl=10 mode=fill"}], "moved": [{"from": 2, "name": "any", "to": 0}], "removed": ["old"], "unchanged": 1}'
: > "$FAKE/control"
out=$("$KAPCTL" -j apply "$conf.diff"); rc=$?
expect_eq "diff, JSON: applied, policies, changes" "0|True|any,web,pg,same|$want_changes|1" \
	"$rc|$(json_get "$out" '"|".join([str(d["applied"]), ",".join(d["policies"]), json.dumps(d["changes"], sort_keys=True), str(d["format_version"])])')"
: > "$FAKE/control"
run apply --check "$conf.diff"
expect_eq "diff, --check: the same lines, nothing applied, nothing written" \
	"1|^ any  moved: 2 -> 0|+ web  lport=80 idle=60 mode=fill|~ pg   lport=5432 idle=120 intvl=10 mode=fill -> lport=5432 idle=60 intvl=10 mode=fill|- old  lport=22 idle=30 mode=fill|$conf.diff: 1 added, 1 changed, 1 removed, 1 moved, 1 unchanged (nothing applied)|$conf.diff: 4 policies, valid|" \
	"$((rc + 1))|$(paste -sd '|' <<< "$out")|$(control_log)"
out=$("$KAPCTL" -j apply --check "$conf.diff"); rc=$?
expect_eq "diff, --check JSON: valid, the same changes, nothing written" "0|True|$want_changes|" \
	"$rc|$(json_get "$out" '"|".join([str(d["valid"]), json.dumps(d["changes"], sort_keys=True)])')|$(control_log)"

live "any:idle=300 mode=fill" "web:lport=80 idle=60 mode=fill" "pg:lport=5432 idle=60 intvl=10 mode=fill" \
	"same:idle=5 mode=fill"
run apply "$conf.diff"
expect_eq "no change: said so, nothing listed" "0|$conf.diff: no change|$conf.diff: applied 4 policies" \
	"$rc|$(paste -sd '|' <<< "$out")"
out=$("$KAPCTL" -j apply --check "$conf.diff")
expect_eq "no change, JSON: empty lists, all unchanged" \
	'{"added": [], "changed": [], "moved": [], "removed": [], "unchanged": 4}' \
	"$(json_get "$out" 'json.dumps(d["changes"], sort_keys=True)')"

# moves: the fewest policies that explain the new order are named
moves() {
	local desc=$1 from=$2 to=$3 want=$4 n
	live $(for n in $from; do echo "$n:idle=5 mode=fill"; done)
	: > "$conf.moves"
	for n in $to; do echo "$n idle=5" >> "$conf.moves"; done
	run apply --check "$conf.moves"
	expect_eq "moves: $desc" "$want" "$(sed '$d' <<< "$out" | paste -sd '|')"
}
moves "a swap names one" "a b" "b a" "^ b  moved: 1 -> 0|$conf.moves: 1 moved, 1 unchanged (nothing applied)"
moves "an insert before is no move" "a b c" "n a b c" "+ n  idle=5 mode=fill|$conf.moves: 1 added, 3 unchanged (nothing applied)"
moves "one policy sent last" "a b c d e" "a c d e b" \
	"^ b  moved: 1 -> 4|$conf.moves: 1 moved, 4 unchanged (nothing applied)"
moves "one brought first" "a b c d e" "e a b c d" \
	"^ e  moved: 4 -> 0|$conf.moves: 1 moved, 4 unchanged (nothing applied)"
moves "the one whose position stays is not named" "x a b" "b a y" \
	"^ b  moved: 2 -> 0|+ y  idle=5 mode=fill|- x  idle=5 mode=fill|$conf.moves: 1 added, 1 removed, 1 moved, 1 unchanged (nothing applied)"
moves "reversed" "a b c" "c b a" \
	"^ c  moved: 2 -> 0|^ a  moved: 0 -> 2|$conf.moves: 2 moved, 1 unchanged (nothing applied)"
live "a:idle=5 mode=fill" "b:idle=5 mode=fill"
printf 'b idle=5\na idle=5 order=0\n' > "$conf.moves"
run apply --check "$conf.moves"
expect_eq "moves: order= places a policy as the module will" "$conf.moves: no change (nothing applied)" \
	"$(head -n 1 <<< "$out")"
printf 'b idle=6\na idle=5\n' > "$conf.moves"
run apply --check "$conf.moves"
expect_eq "moves: a policy both changed and moved has both lines" \
	"~ b  idle=5 mode=fill -> idle=6 mode=fill|^ b  moved: 1 -> 0|$conf.moves: 1 changed, 1 moved, 1 unchanged (nothing applied)" \
	"$(sed '$d' <<< "$out" | paste -sd '|')"

# ---- input with no policy ----
live "pg:lport=5432 idle=60 mode=fill" "web:lport=80 idle=60 mode=fill"
printf '# no policy here\n\n' > "$conf.empty"
for f in "$conf.empty" /dev/null; do
	: > "$FAKE/control"
	run apply "$f"
	expect_eq "no policy ($(basename "$f")), live table not empty: refused, nothing written" \
		"1 kapctl: $f: has no policy; applying it would remove all 2 policies; nothing was changed (kapctl apply --flush $f to do it)|" \
		"$rc $out|$(control_log)"
done
run apply --check "$conf.empty"
expect_eq "no policy, --check: refused the same way" \
	"1 kapctl: $conf.empty: has no policy; applying it would remove all 2 policies; nothing was changed (kapctl apply --flush $conf.empty to do it)" \
	"$rc $out"
out=$("$KAPCTL" -j apply - < "$conf.empty"); rc=$?
expect_eq "no policy, JSON: an error naming the file, nothing written" "1|<stdin>|True|" \
	"$rc|$(json_get "$out" '"|".join([d["file"], str("--flush -" in d["error"])])')|$(control_log)"
live "pg:lport=5432 idle=60 mode=fill"
run apply "$conf.empty"
expect_eq "no policy, one live policy: named" \
	"1 kapctl: $conf.empty: has no policy; applying it would remove the policy 'pg'; nothing was changed (kapctl apply --flush $conf.empty to do it)" \
	"$rc $out"
live "pg:lport=5432 idle=60 mode=fill" "web:lport=80 idle=60 mode=fill"
: > "$FAKE/control"
run apply --flush "$conf.empty"
expect_eq "no policy, --flush: the table emptied (begin, flush, commit), the removals listed" \
	"0|- pg   lport=5432 idle=60 mode=fill|- web  lport=80 idle=60 mode=fill|$conf.empty: 2 removed|$conf.empty: applied 0 policies|begin|flush|commit" \
	"$rc|$(paste -sd '|' <<< "$out")|$(control_log | paste -sd '|')"
: > "$FAKE/control"
run apply --flush - < /dev/null
expect_eq "0 bytes, --flush: the table emptied" "0 begin|flush|commit" "$rc $(control_log | paste -sd '|')"
run apply --check --flush "$conf.empty"
expect_eq "no policy, --check --flush: valid, the removals listed" \
	"0|$conf.empty: 2 removed (nothing applied)|$conf.empty: 0 policies, valid" \
	"$rc|$(sed -n '3,$p' <<< "$out" | paste -sd '|')"
live
: > "$FAKE/control"
run apply "$conf.empty"
expect_eq "no policy, empty live table: fine (begin, flush, commit)" \
	"0|$conf.empty: no change|$conf.empty: applied 0 policies|begin|flush|commit" \
	"$rc|$(paste -sd '|' <<< "$out")|$(control_log | paste -sd '|')"
: > "$FAKE/control"
run apply - < /dev/null
expect_eq "0 bytes, empty live table: fine too" "0|<stdin>: no change|<stdin>: applied 0 policies|begin|flush|commit" \
	"$rc|$(paste -sd '|' <<< "$out")|$(control_log | paste -sd '|')"
rm -rf "$FAKE/policies"
: > "$FAKE/policies"
: > "$FAKE/control"
run apply "$conf.empty"
expect_eq "no policy, the live table unreadable: refused, nothing written" \
	"1 kapctl: $conf.empty: has no policy, and the live table cannot be read (Not a directory) to see what applying it would remove; nothing was changed (kapctl apply --flush $conf.empty to empty the table)|" \
	"$rc $out|$(control_log)"
run apply "$conf"
expect_eq "the live table unreadable: applied, without a diff" \
	"0|$conf: no diff: cannot read the live table: Not a directory|$conf: applied 3 policies" \
	"$rc|$(paste -sd '|' <<< "$out")"
rm -f "$FAKE/policies"
live

# ---- as a user: the names are for everyone, the specs are root's ----
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}
if [ "$(id -u)" -ne 0 ] || command -v setpriv > /dev/null; then
	live "pg:lport=5432 idle=60 mode=fill" "web:lport=80 idle=60 mode=fill"
	chmod 000 "$FAKE"/policies/*/spec
	chmod 755 "$FAKE"
	out=$(as_user "$KAPCTL" apply --check "$conf.diff" 2>&1); rc=$?
	expect_eq "as a user, --check: no diff rather than a wrong one" \
		"0|$conf.diff: no diff: the live specs are readable by root only|$conf.diff: 4 policies, valid" \
		"$rc|$(paste -sd '|' <<< "$out")"
	out=$(as_user "$KAPCTL" apply --check "$conf.empty" 2>&1); rc=$?
	expect_eq "as a user, --check of no policy: the live names are counted, refused" \
		"1 kapctl: $conf.empty: has no policy; applying it would remove all 2 policies; nothing was changed (kapctl apply --flush $conf.empty to do it)" \
		"$rc $out"
	chmod 700 "$FAKE"
	live
else
	skip "as a user, --check: no diff rather than a wrong one" "root without setpriv"
	skip "as a user, --check of no policy: the live names are counted, refused" "root without setpriv"
fi

# ---- truncated input ----
truncated() {
	local desc=$1 line=$2 text=$3 o
	shift 3
	printf '%b' "$text" > "$conf.cut"
	: > "$FAKE/control"
	out=$("$KAPCTL" apply "$@" "$conf.cut" 2>&1); rc=$?
	o=$("$KAPCTL" -j apply "$@" "$conf.cut")
	expect_eq "truncated: $desc: refused, nothing written" \
		"1 kapctl: $conf.cut:$line: the last line has no newline; the input looks truncated; nothing was changed|$line|" \
		"$rc $out|$(json_get "$o" 'd["line"]')|$(control_log)"
}
truncated "one policy cut short" 1 "pg lport=5432 idle=6"
truncated "a comment last" 3 "a idle=1\nb idle=2\n# the end"
truncated "--check says so too" 2 "a idle=1\nb idle=2" --check
truncated "--flush does not allow it" 1 "# nothing" --flush

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
expect_eq "--check needs no module: no diff, says so in one line" \
	"0|$conf: no diff: the kapolicy module is not loaded|$conf: 3 policies, valid" "$rc|$(paste -sd '|' <<< "$out")"
out=$("$KAPCTL" -j apply --check "$conf"); rc=$?
expect_eq "--check JSON without the module: changes null" "0 True None" \
	"$rc $(json_get "$out" '"%s %s" % (d["valid"], d["changes"])')"
run apply --check - < /dev/null
expect_eq "--check without the module: no policy is fine (nothing to remove)" 0 "$rc"
run apply "$conf"
expect_eq "apply without the module: exit 1" "1 kapctl: the kapolicy module is not loaded (try 'modprobe kapolicy')" "$rc $out"
export KAPCTL_SYSFS=$save

# ---- the service unit ----
# ---- --missing-ok: what the boot-time service runs ----
: > "$FAKE/control"
run apply --missing-ok "$FAKE/no-such.conf"
expect_eq "--missing-ok: a missing file changes nothing, exit 0" \
	"0 $FAKE/no-such.conf: does not exist; nothing was changed|" "$rc $out|$(control_log)"
out=$("$KAPCTL" -j apply --missing-ok "$FAKE/no-such.conf"); rc=$?
expect_eq "--missing-ok JSON: exists false, applied false" "0 False False 1" \
	"$rc $(json_get "$out" 'str(d["exists"]) + " " + str(d["applied"]) + " " + str(d["format_version"])')"
run apply "$FAKE/no-such.conf"
expect_eq "without --missing-ok a missing file is an error" \
	"1 kapctl: cannot read $FAKE/no-such.conf: No such file or directory" "$rc $out"
mkdir -p "$FAKE/unreadable.conf"
run apply --missing-ok "$FAKE/unreadable.conf"
expect_match "--missing-ok: another read error still fails" "^1 kapctl: cannot read $FAKE/unreadable.conf: " "$rc $out"
printf 'web lport=80 idle=60\n' > "$conf.present"
: > "$FAKE/control"
run apply --missing-ok "$conf.present"
expect_eq "--missing-ok: a file that exists is applied" "0 begin|flush|add web lport=80 idle=60|commit" \
	"$rc $(control_log | paste -sd '|')"

unit=$TESTS_DIR/../kapolicy.service
expect_match "kapolicy.service: oneshot, runs apply on /etc/kapolicy.conf" \
	"^Type=oneshot\|ExecStart=/usr/sbin/kapctl apply (--[a-z-]+ )*/etc/kapolicy.conf$" \
	"$(grep -E '^(Type|ExecStart)=' "$unit" | paste -sd '|')"
apply_opts=" $("$KAPCTL" --list-options | sed -n 's/^apply://p') "
bad=
for o in $(grep -E '^Exec(Start|Reload)=.*kapctl apply' "$unit" | grep -oE -- ' --[a-z-]+' | sort -u); do
	[[ $apply_opts == *" $o "* ]] || bad="$bad $o"
done
expect_eq "kapolicy.service: every option it gives apply is one apply takes" "" "$bad"
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
