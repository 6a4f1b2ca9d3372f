#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM, chrooted into the host's root (read-only) with tmpfs on
# /tmp and /run, from the project's top directory.  Mode "test" runs the
# selftests and writes the verdict to the results share; mode "shell" loads
# the module and gives an interactive shell; mode "demo" runs
# scripts/demo.sh (results/demo.log, results/demo.rc), mode "bench"
# scripts/bench.sh (results/bench.log, results/bench.rc), mode "session"
# scripts/session.sh (the README's session) the same way.
#
# Results (in /tmp/kapvm-results, the host's build/vm/<release>/results):
#   tap.log   the selftests' TAP output
#   summary   "pass N fail N skip N"
#   dmesg     the kernel log after the run
#   verdict   written last: its presence is the positive evidence of a run
set -u
mode=${1:-test}
krel=$(uname -r)
top=$(pwd)
results=/tmp/kapvm-results

export PATH=$top/userspace:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=${TERM:-linux}
build=$(sed -n 's/.*kapvm\.build=\([^ ]*\).*/\1/p' /proc/cmdline)
build=${build:-$top/build}
export KAP_MODULE=$build/kernel/$krel/kapolicy.ko
export KAP_SELFTESTS=$build/selftests
export KAP_KAPCTL=$top/userspace/kapctl
export KAP_STAGE=$build/stage/$krel

ip link set lo up
hostname kapvm
echo "kapvm: kernel $krel, mode $mode"

if [ "$mode" = shell ]; then
	insmod "$KAP_MODULE" && echo "kapvm: kapolicy loaded from $KAP_MODULE"
	cat <<-EOM

	kapolicy test VM: kernel $krel, the host's root mounted read-only,
	/tmp writable.  kapctl is on PATH; try "kapctl status".
	Leave with "exit" (or Ctrl-D): the VM powers off.

	EOM
	setsid -c bash -i
	exit 0
fi

if [ "$mode" = demo ] || [ "$mode" = bench ] || [ "$mode" = session ]; then
	tmo=480
	if [ "$mode" = bench ]; then
		tmo=4500
		IFS=: read -r BENCH_ROUNDS BENCH_SECONDS BENCH_MEM_CONNS BENCH_ONLY <<-EOF
		$(sed -n 's/.*kapvm\.bench=\([^ ]*\).*/\1/p' /proc/cmdline)
		EOF
		for v in BENCH_ROUNDS BENCH_SECONDS BENCH_MEM_CONNS BENCH_ONLY; do
			[ -n "${!v}" ] && export "$v" || unset "$v"
		done
	fi
	timeout --kill-after=5 $tmo "$top/scripts/$mode.sh" 2>&1 | tee "$results/$mode.log"
	echo "${PIPESTATUS[0]}" > "$results/$mode.rc"
	dmesg > "$results/dmesg"
	echo done > "$results/verdict"
	sync
	exit 0
fi

filter=$(sed -n 's/.*kapvm\.filter=\([^ ]*\).*/\1/p' /proc/cmdline)
tmo=$(sed -n 's/.*kapvm\.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
kmemleak=/sys/kernel/debug/kmemleak
if grep -q 'kapvm\.kmemleak=1' /proc/cmdline; then
	# what the kernel leaked before the tests is not theirs
	[ -w $kmemleak ] || echo "kapvm: kmemleak asked for but $kmemleak is missing" >&2
	echo scan > $kmemleak 2>/dev/null && echo clear > $kmemleak
fi
"$top/selftests/run.sh" --output "$KAP_SELFTESTS" --summary "$results/summary" \
	${filter:+--filter "$filter"} ${tmo:+--timeout "$tmo"} 2>&1 | tee "$results/tap.log"

# The kernel itself is a test subject: a warning or taint beyond O (out of
# tree, 4096) and E (unsigned, 8192) is a failure even if every test passed.
dmesg > "$results/dmesg"
tainted=$(cat /proc/sys/kernel/tainted)
echo "$tainted" > "$results/tainted"
if [ $((tainted & ~(4096 | 8192))) -ne 0 ]; then
	echo "kapvm: kernel tainted: $tainted" | tee -a "$results/tap.log"
	echo "tainted $tainted" >> "$results/summary"
fi
# kmemleak (the debug kernel): an object unreferenced for 5 s is reported
# by a scan; two scans (kmemleak's own advice) and the module unloaded, so
# that what it still owns counts.
if grep -q 'kapvm\.kmemleak=1' /proc/cmdline; then
	rmmod kapolicy 2>/dev/null
	sleep 6
	echo scan > $kmemleak 2>/dev/null
	sleep 6
	echo scan > $kmemleak 2>/dev/null
	cat $kmemleak > "$results/kmemleak" 2>&1
	leaks=$(grep -c '^unreferenced object' "$results/kmemleak")
	echo "kapvm: kmemleak: $leaks unreferenced objects" | tee -a "$results/tap.log"
	if [ "$leaks" -gt 0 ]; then
		head -n 60 "$results/kmemleak" | sed 's/^/# /' >> "$results/tap.log"
		echo "kmemleak $leaks" >> "$results/summary"
	fi
fi
# Between module_faults.sh's "allocation faults: on" and "off" the kernel's
# own report of an allocation it was made to fail (warn_alloc(): "vmalloc
# error" or "page allocation failure", then a stack dump) is expected; any
# other report there is not.
if awk '/kapolicy-selftest: allocation faults: on/ { inj = 1 }
	/kapolicy-selftest: allocation faults: off/ { inj = 0 }
	inj && /(vmalloc error|page allocation failure):/ { skip = 1 }
	skip { if (/<\/TASK>/) skip = 0; next }
	{ print }' "$results/dmesg" |
   grep -qE 'WARNING:|BUG:|Oops|Call Trace:|general protection'; then
	echo "kapvm: the kernel log shows a warning or a bug" | tee -a "$results/tap.log"
	echo "kernel_log_warning 1" >> "$results/summary"
fi
echo done > "$results/verdict"
sync
