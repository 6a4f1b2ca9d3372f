#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapctl's and the policy parser's unit tests, outside the VM, as one TAP
# stream: every t_*.sh here (a fake sysfs tree, KAPCTL_SYSFS, stands in for
# the module; fake_control.so plays its refusals), the C tests built by this
# Makefile, and a short libFuzzer run of the parser (FUZZ_SECONDS, default
# 30).  kapctl itself is built first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export KAPCTL=$here/../kapctl
export TESTS_DIR=$here
n=0 failed=0 pass=0 fail=0
out=$here/../../build/userspace-tests
export KAP_TEST_OUT=$out
make -s -C "$here/.." kapctl >&2 || { echo "Bail out! building kapctl failed"; exit 1; }
make -s -C "$here" OUT="$out" >&2 || { echo "Bail out! building the unit tests failed"; exit 1; }
fuzz_seconds=${FUZZ_SECONDS:-30}
fuzz_run() {
	local corpus=$out/corpus
	mkdir -p "$corpus"
	cp "$here"/corpus/* "$corpus"/
	"$out/fuzz_parse" -max_total_time="$fuzz_seconds" -max_len=1100 \
		-artifact_prefix="$out/" -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
	local rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		echo "ok 1 fuzz_parse ran ${fuzz_seconds}s without a finding"
	else
		echo "not ok 1 fuzz_parse found a crash (exit $rc; input in $out/crash-*)"
	fi
	return "$rc"
}
progs=()
for t in "$here"/t_*.sh; do progs+=("$t"); done
progs+=("$out/parse_test" "$out/watch_raw_test" fuzz_run)
echo "TAP version 13"
echo "1..${#progs[@]}"
for t in "${progs[@]}"; do
	n=$((n + 1))
	res=$("$t" 2>&1)
	rc=$?
	sed 's/^/# /' <<< "$res"
	p=$(grep -cE '^ok [0-9]+' <<< "$res")
	f=$(grep -cE '^not ok [0-9]+' <<< "$res")
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	pass=$((pass + p)) fail=$((fail + f))
	if [ $rc -eq 0 ] && ! grep -q '^not ok' <<< "$res"; then
		echo "ok $n userspace: $(basename "$t")"
	else
		echo "not ok $n userspace: $(basename "$t")"
		failed=1
	fi
done
echo "# pass $pass fail $fail skip 0"
exit $failed
