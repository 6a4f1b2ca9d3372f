#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the selftests on a kernel made to complain.  Builds, once,
# a 6.12 kernel from Debian's linux-source-6.12 with KASAN, lockdep
# (PROVE_LOCKING, PROVE_RCU), DEBUG_ATOMIC_SLEEP, DEBUG_LIST, debug objects,
# kmemleak and fault injection (failslab, fail_function), everything the
# harness and the selftests need built in (scripts/debug-kernel.config over
# defconfig and kvm_guest.config), and boots it under qemu like the Debian
# kernels (selftests/vm/vm.sh).  The guest fails the run on any KASAN,
# lockdep, RCU, atomic-sleep or list report in its log (they all say
# "BUG:" or "WARNING:"), and on any kmemleak report after a scan.
#
#   scripts/check-debug.sh build    build (or finish building) the kernel
#   scripts/check-debug.sh test     build, then run the selftests
#   scripts/check-debug.sh shell    build, then a shell in the VM
#   scripts/check-debug.sh kernel   print the kernel's build directory
#
# The build is cached outside the source tree, in KAP_DEBUG_CACHE (default
# ~/.cache/kapolicy/debug-kernel-6.12): an interrupted build resumes where it
# stopped (make is incremental); a change of the config fragment or of the
# source package reconfigures.  About 19 minutes on 2 cores the first time.
#
# Environment: KAP_DEBUG_CACHE, KAP_DEBUG_JOBS (make -j, default: the CPUs),
# KAP_DEBUG_SPLIT (VMs the suite is shared between, default: the CPUs),
# KAP_TEST_FILTER (a regex over selftest names: a part of the suite),
# KAP_TEST_TIMEOUT (per selftest, default 5400 s: the debug kernel runs
# several times slower than a production one, and the longest selftest,
# control_fuzz.sh, took 1813 s on one 2-core machine, while on another its
# first 60,000 writes took 2104 s: about an hour for the 100,000),
# KAP_DEBUG_RT=1 (the same kernel with PREEMPT_RT,
# scripts/debug-kernel-rt.config over the fragment: DEBUG_ATOMIC_SLEEP
# there reports a spinlock_t, which sleeps on RT, taken in atomic context;
# cached in ~/.cache/kapolicy/debug-kernel-6.12-rt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
fragments=("$here/debug-kernel.config")
flavour=
if [ "${KAP_DEBUG_RT:-0}" = 1 ]; then
	fragments+=("$here/debug-kernel-rt.config")
	flavour=-rt
fi
cache=${KAP_DEBUG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kapolicy/debug-kernel-6.12$flavour}
jobs=${KAP_DEBUG_JOBS:-$(nproc)}
tarball=/usr/src/linux-source-6.12.tar.xz

say() { echo "check-debug: $*"; }
die() { echo "check-debug: $*" >&2; exit 1; }

# the kernel's own build needs (scripts/deps.sh has the rest)
build_deps() {
	local p missing=()
	for p in linux-source-6.12 build-essential flex bison bc libelf-dev libssl-dev xz-utils; do
		dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root to install them)"
	say "installing ${missing[*]}"
	{ apt-get install -y -q "${missing[@]}" > /dev/null 2>&1; } ||
		{ apt-get update -q > /dev/null && apt-get install -y -q "${missing[@]}" > /dev/null; } ||
		die "apt-get install ${missing[*]} failed"
}

source_tree() {
	build_deps
	[ -e "$tarball" ] || die "linux-source-6.12 is installed but $tarball is missing"
	local stamp
	stamp=$(stat -c '%s %Y' "$tarball")
	if [ "$(cat "$cache/src.stamp" 2>/dev/null)" != "$stamp" ]; then
		say "extracting $tarball into $cache/src"
		rm -rf "$cache/src" "$cache/build" "$cache/config.stamp"
		mkdir -p "$cache/src"
		tar -xJf "$tarball" -C "$cache/src" --strip-components=1
		echo "$stamp" > "$cache/src.stamp"
	fi
}

configure() {
	local b=$cache/build stamp missing fragment=$cache/fragment.config
	stamp=$(cat "${fragments[@]}" "$cache/src.stamp" | sha256sum | cut -d' ' -f1)
	[ "$(cat "$cache/config.stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$b/.config" ] && return
	say "configuring (defconfig + kvm_guest.config + $(basename -a "${fragments[@]}" | tr '\n' ' '))"
	mkdir -p "$b"
	# the fragments in order, a later one's value of an option winning
	awk -F= '/^CONFIG_/ { k = $1 }
		 /^# CONFIG_.* is not set$/ { k = $0; sub(/^# /, "", k); sub(/ is not set$/, "", k) }
		 /^(CONFIG_|# CONFIG_.* is not set$)/ { if (!(k in at)) order[++n] = k; at[k] = $0 }
		 END { for (i = 1; i <= n; i++) print at[order[i]] }' \
		"${fragments[@]}" > "$fragment"
	make -s -C "$cache/src" O="$b" defconfig > /dev/null
	make -s -C "$cache/src" O="$b" kvm_guest.config > /dev/null
	"$cache/src/scripts/kconfig/merge_config.sh" -m -O "$b" "$b/.config" "$fragment" > "$b/merge.log"
	make -s -C "$cache/src" O="$b" olddefconfig > /dev/null
	# every option the fragment asks for must have stuck
	missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r want; do
		case $want in
		*=n) grep -qx "# ${want%=n} is not set" "$b/.config" ||
		     ! grep -q "^${want%=n}=" "$b/.config" || echo "$want" ;;
		*) grep -qx -- "$want" "$b/.config" || echo "$want" ;;
		esac
	done)
	[ -z "$missing" ] || die "the kernel config lacks: $(echo $missing) (see $b/merge.log)"
	echo "$stamp" > "$cache/config.stamp"
}

build() {
	mkdir -p "$cache"
	source_tree
	configure
	local start=$SECONDS log=$cache/build.log
	say "building in $cache/build with $jobs jobs (log: $log)"
	if ! make -C "$cache/src" O="$cache/build" -j"$jobs" bzImage modules > "$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "the kernel build failed"
	fi
	say "kernel $(cat "$cache/build/include/config/kernel.release") built (${SECONDS}s this run, $((SECONDS - start))s of make)"
}

# vm.sh's settings for the debug kernel.  no5lvl: with qemu's "-cpu max"
# the kernel would use 5-level paging, and KASAN then reports a wild access
# in the first interrupt of boot.  acpi=noirq: evaluating the PCI routing
# (_PRT) times out four times (30 s each) in ACPI's interpreter at this
# kernel's speed.
vm_env() {
	export KAP_VM_KERNEL_DIR=$cache/build KAP_VM_MEM=${KAP_VM_MEM:-4096}
	export KAP_VM_APPEND="${KAP_VM_APPEND:-} no5lvl acpi=noirq"
}

cmd=${1:-test}
case $cmd in
kernel)
	echo "$cache/build"
	;;
build)
	build
	;;
shell)
	build
	vm_env
	exec "$top/selftests/vm/vm.sh" shell
	;;
test)
	build
	vm_env
	export KAP_TEST_TIMEOUT=${KAP_TEST_TIMEOUT:-5400}
	export KAP_VM_TIMEOUT=${KAP_VM_TIMEOUT:-14400}
	# kapvm.slow: the tests' waits for their own processes are 4 times
	# longer (this kernel runs about 4 times slower than Debian's).
	# watchdog_thresh=30 and rcu_cpu_stall_timeout=60: a soft lockup or an
	# RCU stall is reported after 60 s, not 20 or 21: a burst of a thousand
	# probes keeps this kernel's timer softirq busy 20 s or more when the
	# host gives its emulated CPU less than a core, and 2000 (limits.sh)
	# kept one CPU in it 26 s.
	export KAP_VM_APPEND="$KAP_VM_APPEND kapvm.kmemleak=1 kapvm.slow=4 watchdog_thresh=30"
	KAP_VM_APPEND+=" rcupdate.rcu_cpu_stall_timeout=60"
	split=${KAP_DEBUG_SPLIT:-$(nproc)}
	# The suite is dealt out to $split VMs, one host CPU each, each with
	# its own build directory (results in $cache/run-N/vm/RELEASE).
	mapfile -t progs < <(make -s -C "$top/selftests" print-tests | tr " " "\n" | xargs -n1 basename)
	if [ -n "${KAP_TEST_FILTER:-}" ]; then
		mapfile -t progs < <(printf '%s\n' "${progs[@]}" | grep -E -- "$KAP_TEST_FILTER")
	fi
	[ ${#progs[@]} -gt 0 ] || die "no selftest matches KAP_TEST_FILTER=$KAP_TEST_FILTER"
	[ "$split" -le ${#progs[@]} ] || split=${#progs[@]}
	# Longest first, each to the VM with the least work so far; the weights
	# are seconds on this kernel under emulation (measured 2026-12-07, two
	# VMs on 2 cores; 120 if unknown).
	declare -A cost=([control_fuzz.sh]=1813 [unload_load.sh]=1324
		[events_peers.sh]=962 [module_faults.sh]=896 [policy_apply.sh]=662
		[policy_race.sh]=616 [events_burst.sh]=501 [policy_bad.sh]=399
		[limits.sh]=382 [kapctl.sh]=338 [events_quiet.sh]=271 [doctor.sh]=257
		[policy_existing.sh]=211 [limits_tenants.sh]=187
		[policy_override.sh]=176 [policy_order.sh]=134 [events_tools.sh]=116
		[policy_txn.sh]=109 [policy_cgroup.sh]=105 [policy_mptcp.sh]=98
		[service.sh]=55 [module.sh]=39 [policy_netns.sh]=37
		[sysfs_privileges.sh]=21 [sysfs_abi.sh]=14 [sysfs_test]=9
		[policy_reconnect.sh]=8)
	mapfile -t progs < <(for p in "${progs[@]}"; do
		echo "${cost[$p]:-120} $p"; done | sort -k1,1nr -k2 | cut -d' ' -f2)
	load=() parts=()
	for ((i = 0; i < split; i++)); do load[i]=0 parts[i]=""; done
	for p in "${progs[@]}"; do
		k=0
		for ((i = 1; i < split; i++)); do
			((load[i] < load[k])) && k=$i
		done
		load[k]=$((load[k] + ${cost[$p]:-120}))
		parts[k]+=" $p"
	done
	pids=()
	start=$SECONDS
	for ((i = 0; i < split; i++)); do
		read -r -a part <<< "${parts[i]}"
		re="^($(printf '%s|' "${part[@]}" | sed -e 's/\./\\./g' -e 's/|$//'))\$"
		say "VM $i (~$((load[i] / 60)) min): ${part[*]}"
		KAP_BUILD_DIR=$cache/run-$i KAP_TEST_FILTER=$re \
			"$top/selftests/vm/vm.sh" test > "$cache/run-$i.log" 2>&1 &
		pids+=($!)
	done
	status=0
	for ((i = 0; i < split; i++)); do
		wait "${pids[i]}" || status=1
		cat "$cache/run-$i.log"
	done
	say "$( ((status == 0)) && echo passed || echo FAILED) in $((SECONDS - start))s"
	exit $status
	;;
*)
	sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
