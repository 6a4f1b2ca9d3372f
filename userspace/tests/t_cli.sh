#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The command line: dispatch, exit codes, help at every level, JSON errors.
. "$(dirname "$0")/lib.sh"

out=$("$KAPCTL" 2>&1); rc=$?
expect_eq "no arguments is a usage error (exit 2)" 2 "$rc"
expect_match "no arguments prints the usage" '^Usage: kapctl' "$out"

out=$("$KAPCTL" frobnicate 2>&1); rc=$?
expect_eq "an unknown object exits 2" 2 "$rc"
expect_match "an unknown object is named in the error" "unknown object 'frobnicate'" "$out"

out=$("$KAPCTL" stat 2>&1); rc=$?
expect_eq "a prefix of an object is not accepted (exact names)" 2 "$rc"

out=$("$KAPCTL" --frob 2>&1); rc=$?
expect_eq "an unknown option exits 2" 2 "$rc"
expect_match "an unknown option is named" "unknown option '--frob'" "$out"

out=$("$KAPCTL" -j frobnicate 2>/dev/null); rc=$?
expect_eq "in JSON mode a usage error still exits 2" 2 "$rc"
expect_eq "in JSON mode errors are JSON on stdout" "unknown object 'frobnicate'" "$(json_get "$out" 'd["error"]')"

version=$(sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' "$TESTS_DIR/../../module/version.h")
expect_eq "-V prints the version of module/version.h, then the module's" "kapctl $version|module not loaded" \
	"$(KAPCTL_SYSFS=/nonexistent "$KAPCTL" -V | paste -sd '|')"

for args in "help" "-h" "--help" "help status" "status help" "status --help"; do
	out=$("$KAPCTL" $args 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q '^Usage: kapctl' <<< "$out"; then
		ok "'kapctl $args' shows help"
	else
		fail "'kapctl $args' shows help" "rc=$rc: $out"
	fi
done

out=$("$KAPCTL" status extra 2>&1); rc=$?
expect_eq "status with an argument is a usage error" 2 "$rc"

# help at every level: every object and every command ("help", or -h
# where the command takes a NAME: there "help" is a policy's name)
while read -r line; do
	h=help
	"$KAPCTL" help $line 2>/dev/null | grep -q "^Usage: kapctl $line NAME" && h=-h
	out=$("$KAPCTL" $line $h 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q "^Usage: kapctl $line" <<< "$out"; then
		ok "'kapctl $line help' shows the command's usage"
	else
		fail "'kapctl $line help' shows the command's usage" "rc=$rc: $out"
	fi
done < <("$KAPCTL" --list-commands | grep -v '^help$')
out=$("$KAPCTL" help stats ports); rc=$?
expect_match "'help OBJECT COMMAND' lists the command's options" '^  --sort COUNTER' "$out"
out=$("$KAPCTL" watch -h); rc=$?
expect_match "-h after a command shows its options" '^  --event KIND' "$out"
out=$("$KAPCTL" help policy)
expect_match "'help policy' lists the policy commands" '^  policy add NAME KEY=VALUE' "$out"

# exact names, unknown commands and options of a command
out=$("$KAPCTL" policy ad x 2>&1); rc=$?
expect_eq "a prefix of a command is not accepted (exit 2)" 2 "$rc"
expect_match "the unknown command is named" "policy: unknown command 'ad'" "$out"
# "kapctl policy" alone shows the table, as "wg" and "ip link" do
fake_module
fake_policy pg 0 "lport=5432 idle=60 mode=fill" 7
out=$("$KAPCTL" policy 2>&1); rc=$?
expect_eq "policy alone is policy list" "$("$KAPCTL" policy list 2>&1; echo "rc $?")" "$out
rc $rc"
expect_match "... which shows the table" "^0 +pg +0 +7 " "$out"
out=$("$KAPCTL" stats ports --frob 2>&1); rc=$?
expect_eq "an unknown option of a command exits 2" 2 "$rc"
expect_match "... and names the command and the option" "stats ports: unknown option '--frob'" "$out"
out=$("$KAPCTL" stats ports --por 1 2>&1); rc=$?
expect_eq "a prefix of an option is not accepted" 2 "$rc"
out=$("$KAPCTL" watch --count 2>&1); rc=$?
expect_eq "an option without its value exits 2" 2 "$rc"
expect_match "... and says so" "watch: option '--count' needs a value" "$out"
out=$("$KAPCTL" -j stats --sort nope 2>/dev/null); rc=$?
expect_eq "a bad option value in JSON mode: exit 2" 2 "$rc"
expect_eq "... and a JSON error naming the field, value and allowed values" \
	"sort: 'nope' is not a counter; allowed: sockets_governed keepalive_enabled probes_sent probes_answered probes_deferred peer_resets icmp_errors timeouts app_overrides" \
	"$(json_get "$out" 'd["error"]')"
out=$("$KAPCTL" stats nope 2>&1); rc=$?
expect_eq "an unknown stats view exits 2" 2 "$rc"

# numbers of options: field, value, range
for args in "watch --count 0" "watch --count x" "watch --duration 99999999999" "sockets --at-risk -1" \
	    "sockets --at-risk abc" "watch --port 0" "watch --port 70000" "watch --port 9-3" \
	    "sockets --state fast" "watch --policy bad.name" "stats --format xml"; do
	out=$("$KAPCTL" $args 2>&1); rc=$?
	first=$(head -n 1 <<< "$out")
	if [ $rc -eq 2 ] && grep -qE "^kapctl: [a-z-]+: '[^']*' .*; allowed: " <<< "$first"; then
		ok "'kapctl $args' is refused with field, value and range"
	else
		fail "'kapctl $args' is refused with field, value and range" "rc=$rc: $out"
	fi
done
# policy add -h: every key the parser knows, each with its range, and
# kapctl's own (unit= preset=, which it turns into the parser's), no other
want=$( ("$KAPCTL" policy add x idel=1 2>&1 | sed -n "s/.*allowed: //p"; echo unit preset) | tr ' ' '\n' | sort | paste -sd ' ')
got=$("$KAPCTL" policy add -h | sed -n 's/^  \([a-z_]*\)=.*/\1/p' | sort | paste -sd ' ')
expect_eq "policy add -h: the parser's keys, each explained" "$want" "$got"
expect_match "policy add -h: ranges" "idle=DURATION +TCP_KEEPIDLE, 1-32767 seconds" "$("$KAPCTL" policy add -h)"

# each command's -h lists exactly the options it takes: every one listed is
# accepted (no "unknown option"), and the table has no other
scratch=$(mktemp -d)
while IFS=: read -r cmd opts; do
	[ "$cmd" = help ] && continue
	listed=$("$KAPCTL" $cmd -h | sed -n 's/^  \(--[a-z-]*\) .*/\1/p; s/^  \(--[a-z-]*\)$/\1/p' | sort | paste -sd ' ')
	table=$(tr ' ' '\n' <<< "$opts" | sed 's/=$//' | grep . | sort | paste -sd ' ')
	bad=
	for o in $table; do
		# in a scratch directory: "stats --output x" writes x
		(cd "$scratch" && "$KAPCTL" $cmd "$o" x 2>&1) | grep -q "unknown option '$o'" && bad="$bad $o"
	done
	if [ "$listed" = "$table" ] && [ -z "$bad" ]; then
		ok "$cmd -h lists exactly the options it takes (${table:-none})"
	else
		fail "$cmd -h lists exactly the options it takes" "listed '$listed', table '$table', refused:$bad"
	fi
done < <("$KAPCTL" --list-options)
rm -rf "$scratch"

finish
