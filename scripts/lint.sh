#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel side's lint: checkpatch.pl --strict over every kernel source
# file, and sparse (C=2) over the module built for each installed kernel
# line.  Prints TAP (one case per tool and kernel); exits 1 on any finding.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tools=$top/build/kernel-tools
checkpatch=$tools/scripts/checkpatch.pl
[ -x "$checkpatch" ] || [ -f "$checkpatch" ] || { echo "lint: run scripts/deps.sh first" >&2; exit 1; }

mapfile -t rels < <("$top/selftests/vm/vm.sh" kernels)
mapfile -t files < <(cd "$top" && find module sysfs -name '*.[ch]' | sort)
n=0 failed=0
echo "TAP version 13"
echo "1..$((1 + ${#rels[@]}))"

# Three files have exemptions: module/compat.h is the one place where
# kernel versions may be named; module/trace.h shares its field lists
# between events through macros that cannot be parenthesized, and
# module/counters.h is the one X-macro list of the counters.
n=$((n + 1))
cp_args=(--strict --no-tree --terse --show-types -f)
out=$(cd "$top" && {
	perl "$checkpatch" "${cp_args[@]}" $(printf '%s\n' "${files[@]}" | grep -vE '^module/(compat|trace|counters).h$')
	perl "$checkpatch" "${cp_args[@]}" --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON module/compat.h
	perl "$checkpatch" "${cp_args[@]}" --ignore COMPLEX_MACRO module/trace.h
	perl "$checkpatch" "${cp_args[@]}" --ignore COMPLEX_MACRO,MACRO_ARG_REUSE module/counters.h
} 2>&1)
if ! grep -qE ':[0-9]+: (ERROR|WARNING|CHECK):' <<< "$out"; then
	echo "ok $n checkpatch --strict: ${#files[@]} files clean"
else
	sed 's/^/# /' <<< "$out"
	echo "not ok $n checkpatch --strict"
	failed=1
fi

for rel in "${rels[@]}"; do
	n=$((n + 1))
	dir=$top/build/lint/$rel
	mkdir -p "$dir"
	cp -a "$top/Kbuild" "$top/module" "$top/sysfs" "$dir/"
	out=$(make -C "/lib/modules/$rel/build" M="$dir" C=2 modules 2>&1)
	rc=$?
	findings=$(grep -E '(warning|error):' <<< "$out" | grep -v 'Skipping BTF' || true)
	checked=$(grep -c '^ *CHECK' <<< "$out")
	if [ $rc -eq 0 ] && [ -z "$findings" ] && [ "$checked" -gt 0 ]; then
		echo "ok $n sparse (C=2) on $rel: $checked files clean"
	else
		sed 's/^/# /' <<< "${findings:-$out}"
		echo "not ok $n sparse (C=2) on $rel"
		failed=1
	fi
done
exit $failed
