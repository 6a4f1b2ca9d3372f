#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for kapctl's unit tests: TAP cases and a fake sysfs tree.
__n=0
__failed=0

ok() { __n=$((__n + 1)); echo "ok $__n $1"; }
fail() { __n=$((__n + 1)); __failed=1; echo "not ok $__n $1"; [ -n "${2:-}" ] && echo "# $2"; }
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
