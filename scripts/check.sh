#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test command (README; .ci/run): installs what is missing, builds,
# runs kapctl's unit tests, the kernel lint, and the selftests in a VM for
# each installed Debian kernel line, then prints the closing line
#   N passed, N failed, N skipped
# and exits non-zero if anything failed.
#
# KAP_TEST_FILTER=REGEX limits the VM selftests to matching names.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=$top/build/check
mkdir -p "$logs"
start=$(date +%s)
pass=0 fail=0 skip=0

step() { echo; echo "==== $* ($(( $(date +%s) - start ))s)"; }

# count LOG: adds the "# pass N fail N skip N" line of a TAP log
count_summary() {
	local p f s
	read -r p f s < <(sed -n 's/^# pass \([0-9]*\) fail \([0-9]*\) skip \([0-9]*\)$/\1 \2 \3/p' "$1" | tail -n 1)
	if [ -z "${p:-}" ]; then
		fail=$((fail + 1))
		echo "check: no summary in $1: counted as one failure"
		return
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

# count_tap LOG: top-level "ok"/"not ok" lines
count_tap() {
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$1")
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$1")
	f=$(grep -cE '^not ok [0-9]+' "$1")
	pass=$((pass + p - s)) fail=$((fail + f)) skip=$((skip + s))
}

step "dependencies"
if ! scripts/deps.sh; then
	echo "check: installing the dependencies failed"
	echo "0 passed, 1 failed"
	exit 1
fi

step "build: kapctl and the selftests"
if ! make -s -C userspace > "$logs/build.log" 2>&1 ||
   ! make -s -C selftests >> "$logs/build.log" 2>&1; then
	cat "$logs/build.log"
	echo "check: the userspace build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
if grep -q 'warning:' "$logs/build.log"; then
	cat "$logs/build.log"
	echo "not ok userspace build is warning-free"
	fail=$((fail + 1))
fi

step "kapctl unit tests"
userspace/tests/run.sh > "$logs/userspace.tap" 2>&1
grep -E '^(not )?ok|^# not ok' "$logs/userspace.tap"
count_summary "$logs/userspace.tap"

step "lint: checkpatch --strict, sparse"
scripts/lint.sh > "$logs/lint.tap" 2>&1
cat "$logs/lint.tap"
count_tap "$logs/lint.tap"

step "installing: make install/uninstall, the systemd unit, DKMS, the harness"
scripts/test_host.sh > "$logs/host.tap" 2>&1
grep -E '^(not )?ok|^#' "$logs/host.tap"
count_tap "$logs/host.tap"
if ! grep -qE '^1\.\.[0-9]+$' "$logs/host.tap"; then
	echo "check: scripts/test_host.sh ended early"
	fail=$((fail + 1))
fi

step "selftests in VMs"
selftests/vm/vm.sh test > "$logs/vm.log" 2>&1
vm_rc=$?
cat "$logs/vm.log"
while read -r _ rel _ p _ f _ s; do
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done < <(grep -E '^vm: \S+ pass [0-9]+ fail [0-9]+ skip [0-9]+$' "$logs/vm.log")
if [ $vm_rc -ne 0 ] && ! grep -qE '^vm: \S+ pass [0-9]+ fail [1-9]' "$logs/vm.log"; then
	echo "check: the VM harness failed without a verdict"
	fail=$((fail + 1))
fi

# The README's first command, run as a newcomer would: from a copy of the
# checkout under /tmp (the VM must find it there).
step "the demo (make demo), from a copy of the checkout under /tmp"
demo_dir=$(mktemp -d /tmp/kapolicy-demo.XXXXXX)
tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$demo_dir" -xf -
make -C "$demo_dir" demo > "$logs/demo.log" 2>&1
demo_rc=$?
sed -n '/^kapolicy demo/,$p' "$logs/demo.log"
if [ $demo_rc -eq 0 ] && grep -q '^Result: as expected' "$logs/demo.log"; then
	echo "ok - make demo from $demo_dir: the problem, then the fix"
	pass=$((pass + 1))
else
	tail -n 40 "$logs/demo.log"
	echo "not ok - make demo from $demo_dir: the problem, then the fix (exit $demo_rc)"
	fail=$((fail + 1))
fi
rm -rf "$demo_dir"

echo
echo "check: wall time $(( $(date +%s) - start ))s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
