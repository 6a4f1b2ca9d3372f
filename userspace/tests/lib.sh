#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for kapctl's unit tests: TAP cases and a fake sysfs tree.
__n=0
__failed=0

ok() { __n=$((__n + 1)); echo "ok $__n $1"; }
fail() { __n=$((__n + 1)); __failed=1; echo "not ok $__n $1"; [ -n "${2:-}" ] && echo "# $2"; return 0; }
skip() { __n=$((__n + 1)); echo "ok $__n $1 # SKIP $2"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
expect_match() { if grep -qE -- "$2" <<< "$3"; then ok "$1"; else fail "$1" "no match for /$2/ in: $3"; fi; }
finish() { echo "1..$__n"; exit $__failed; }

# json_get(json, python-expression-on-d): evaluates with a real JSON parser
json_get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1" 2>&1; }

# fake_sysfs: a directory laid out like /sys/kernel/kapolicy
fake_sysfs() {
	FAKE=$(mktemp -d)
	trap 'rm -rf "$FAKE"' EXIT
	echo "${1:-9.8.7}" > "$FAKE/version"
	export KAPCTL_SYSFS=$FAKE
}

# The counters, in the ports file's column order.
COUNTERS="sockets_governed keepalive_enabled probes_sent probes_answered probes_deferred peer_resets icmp_errors timeouts app_overrides"

# fake_module: a fake_sysfs with everything the ABI documents: enforce,
# control (a plain file: what kapctl writes is appended to it), stats/ (the
# counter with index i holds 10 * (i + 1)), limits/, ports and policies/.
fake_module() {
	fake_sysfs "${1:-9.8.7}"
	local i=0 c
	mkdir -p "$FAKE/stats" "$FAKE/limits" "$FAKE/policies"
	echo 1 > "$FAKE/enforce"
	: > "$FAKE/control"
	for c in $COUNTERS; do
		i=$((i + 1))
		echo $((i * 10)) > "$FAKE/stats/$c"
	done
	for c in sockets_max sockets_tracked sockets_overflow sockets_evicted ports_max ports_tracked ports_overflow hooks_missed; do
		echo 3 > "$FAKE/limits/$c"
	done
	echo 65536 > "$FAKE/limits/sockets_max"
	{
		echo "port $COUNTERS"
		echo "22 0 0 4 4 0 0 0 0 0"
		echo "443 2 2 30 25 1 2 1 3 0"
		echo "5432 5 5 12 12 0 0 0 0 1"
	} > "$FAKE/ports"
}

# fake_policy NAME ORDER SPEC [PROBES_SENT]: a policy directory
fake_policy() {
	local d=$FAKE/policies/$1 c
	mkdir -p "$d/stats"
	echo "$3" > "$d/spec"
	echo "$2" > "$d/order"
	for c in $COUNTERS; do
		echo 0 > "$d/stats/$c"
	done
	echo "${4:-0}" > "$d/stats/probes_sent"
}

# control_log: what kapctl wrote to the fake control file
control_log() { cat "$FAKE/control"; }

# with_refusals RULES CMD...: runs CMD with the fake control refusing as
# the kernel would ("17:add pg|16:begin": errno:prefix, see fake_control.c)
with_refusals() {
	local rules=$1
	shift
	LD_PRELOAD=$KAP_TEST_OUT/fake_control.so FAKE_CONTROL_REFUSE=$rules "$@"
}
