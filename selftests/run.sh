#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the kapolicy selftests as kselftest's runner does: each program in
# TEST_PROGS (scripts, from this directory) and TEST_GEN_PROGS (built into
# --output) under the timeout of ./settings, as one TAP stream.
#
# Counting: every "ok N" / "not ok N" line a program prints is one test case
# (a "# SKIP" directive makes it a skip).  A program that dies, times out or
# prints fewer results than its plan ("1..N") adds one failure for what it did
# not report.  The totals go to --summary as "pass N fail N skip N".
# --timeout SECONDS overrides ./settings (the debug kernel is slower).
set -u
here=$(cd "$(dirname "$0")" && pwd)
output=$here
summary=
filter=
timeout_s=
while [ $# -gt 0 ]; do
	case "$1" in
	--output) output=$2; shift 2 ;;
	--summary) summary=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	*) echo "usage: run.sh [--output DIR] [--summary FILE] [--filter REGEX] [--timeout SECONDS]" >&2; exit 2 ;;
	esac
done

[ -n "$timeout_s" ] || timeout_s=$(sed -n 's/^timeout=//p' "$here/settings")
read -r -a progs <<< "$(make -s --no-print-directory -C "$here" print-tests OUTPUT="$output")"
if [ -n "$filter" ]; then
	sel=()
	for p in "${progs[@]}"; do
		[[ $(basename "$p") =~ $filter ]] && sel+=("$p")
	done
	progs=("${sel[@]}")
fi

pass=0 fail=0 skip=0 n=0
echo "TAP version 13"
echo "1..${#progs[@]}"
for prog in "${progs[@]}"; do
	n=$((n + 1))
	name=$(basename "$prog")
	log=$(mktemp)
	start=$(date +%s)
	(cd "$here" && timeout --kill-after=10 "$timeout_s" "$prog") > "$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	sed 's/^/# /' "$log"

	p=$(grep -cE '^ok [0-9]+' "$log" | head -n 1)
	s=$(grep -cE '^ok [0-9]+.*# *SKIP' "$log" | head -n 1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -n 1)
	planned=$(sed -n 's/^1\.\.\([0-9]\+\).*/\1/p' "$log" | head -n 1)
	p=$((p - s))
	missing=0
	if [ -n "$planned" ] && [ $((p + s + f)) -lt "$planned" ]; then
		missing=1
	fi
	why=
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		why="timeout after ${timeout_s}s"
	elif [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ "$f" -eq 0 ]; then
		why="exit code $rc"
	elif [ $missing -eq 1 ]; then
		why="reported $((p + s + f)) of $planned results"
	elif [ $((p + s + f)) -eq 0 ] && [ $rc -ne 4 ]; then
		why="reported no results"
	fi
	[ -n "$why" ] && f=$((f + 1))
	if [ $rc -eq 4 ] && [ $((p + f)) -eq 0 ]; then
		s=$((s > 0 ? s : 1))
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "not ok $n selftests: kapolicy: $name # ${secs}s${why:+, $why}"
	elif [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then
		echo "ok $n selftests: kapolicy: $name # SKIP ${secs}s"
	else
		echo "ok $n selftests: kapolicy: $name # ${secs}s"
	fi
	rm -f "$log"
done
echo "# pass $pass fail $fail skip $skip"
[ -n "$summary" ] && echo "pass $pass fail $fail skip $skip" > "$summary"
[ $fail -eq 0 ]
