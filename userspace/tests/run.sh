#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapctl's unit tests, outside the VM: every *.sh here and every C test
# program built by this Makefile, as one TAP stream.  A fake sysfs tree
# (KAPCTL_SYSFS) stands in for the module.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export KAPCTL=$here/../kapctl
export TESTS_DIR=$here
n=0 failed=0 pass=0 fail=0
progs=()
for t in "$here"/t_*.sh; do progs+=("$t"); done
echo "TAP version 13"
echo "1..${#progs[@]}"
for t in "${progs[@]}"; do
	n=$((n + 1))
	out=$("$t" 2>&1)
	rc=$?
	sed 's/^/# /' <<< "$out"
	p=$(grep -cE '^ok [0-9]+' <<< "$out")
	f=$(grep -cE '^not ok [0-9]+' <<< "$out")
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	pass=$((pass + p)) fail=$((fail + f))
	if [ $rc -eq 0 ] && ! grep -q '^not ok' <<< "$out"; then
		echo "ok $n userspace: $(basename "$t")"
	else
		echo "not ok $n userspace: $(basename "$t")"
		failed=1
	fi
done
echo "# pass $pass fail $fail skip 0"
exit $failed
