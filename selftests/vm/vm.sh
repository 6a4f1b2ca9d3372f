#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots installed Debian kernels under qemu (software emulation) with the
# host's root shared read-only over 9p, and runs kapolicy's selftests there,
# or gives an interactive shell with the module loaded.
#
#   vm.sh kernels               the releases to test: for each kernel line
#                               (major.minor and flavour) the newest one with
#                               an image in /boot and headers installed
#   vm.sh test [RELEASE...]     run the selftests (default: every line);
#                               prints "vm: RELEASE pass N fail N skip N"
#   vm.sh shell [RELEASE]       interactive shell (default: the newest)
#   vm.sh demo [RELEASE]        scripts/demo.sh, shown as it runs; exits
#                               with its status (default: the newest)
#   vm.sh bench [RELEASE...]    scripts/bench.sh, one VM per release at once
#                               (default: every line but PREEMPT_RT), 4 GiB
#                               each, the guest clock counting instructions
#                               (qemu -icount); prints each VM's results at
#                               the end
#   vm.sh session [RELEASE]     scripts/session.sh (the README's session)
#
# KAP_VM_KERNEL_DIR names a kernel build tree instead (make check-debug's
# debug kernel, scripts/check-debug.sh): its bzImage is booted, the module
# built against it; everything the guest needs is built into that kernel.
#
# A run passes only on positive evidence: the guest writes results/verdict
# after the tests.  A panic, oops or WARN (oops=panic panic_on_warn=1
# panic=-1 with -no-reboot), a hang (timeout) or a missing verdict fails it,
# and the console log and the guest's dmesg are shown.
#
# Environment: KAP_VM_PARALLEL (VMs at once, default: the host's CPUs),
# KAP_VM_TIMEOUT (seconds, default 2400), KAP_VM_MEM (MiB,
# default 2048), KAP_VM_CPUS (default 2), KAP_TEST_FILTER (a regex over
# selftest names), KAP_KERNELS (releases, instead of discovery),
# KAP_VM_QEMU_ARGS (more qemu options; bench: -icount shift=3,sleep=on),
# KAP_TEST_TIMEOUT (seconds per selftest, instead of selftests/settings),
# KAP_BUILD_DIR (default build/: where modules, selftests, initramfs and
# results go, so that two runs can share a tree), KAP_VM_TCG_THREAD (single,
# the default, or multi), KAP_RT_FILTER (the selftests a PREEMPT_RT kernel
# runs when KAP_TEST_FILTER is not set; empty: all of them).
#
# PREEMPT_RT kernels (Debian's linux-image-rt-amd64 and
# linux-image-6.12-rt-amd64) are discovered like the others.  By default
# they run the selftests where RT differs (locks that sleep, threaded
# softirqs and timers): loading and unloading, unload under load, the
# timer and setsockopt hooks under a burst, override, retroactive apply,
# transactions and races; the full suite on them takes as long as on the
# others (about 1700 s each under emulation, all passing when measured), too
# long for the test command on two cores.
#
# Why single-threaded TCG: with one host thread per vCPU (multi), a vCPU
# sometimes runs code another vCPU has just patched with text_poke_bp()
# (static keys, kprobes: what loading kapolicy and enabling trace events
# do) from a stale translation, and the guest dies with "Oops: int3" at the
# patch site or soft-locks in the patching IPI.  Seen with QEMU 7.2 on both
# kernels, never with thread=single, which still runs two vCPUs (interleaved
# on one host thread) and so keeps the guest SMP.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
rt_filter=${KAP_RT_FILTER-module\.sh|module_faults|events_burst|policy_override|policy_existing|policy_txn|policy_race|unload_load|sysfs_privileges}
top=$(cd "$here/../.." && pwd)
build=${KAP_BUILD_DIR:-$top/build}
mkdir -p "$build"
build=$(cd "$build" && pwd)
timeout_s=${KAP_VM_TIMEOUT:-2400}
mem=${KAP_VM_MEM:-2048}
cpus=${KAP_VM_CPUS:-2}

say() { echo "vm: $*"; }
die() { echo "vm: $*" >&2; exit 1; }

# qemu's -virtfs options and the kernel command line carry these paths
case "$top$build" in
*[[:space:],]*) die "the checkout ($top) and build directory ($build) must not contain blanks or commas (qemu and the kernel command line split there)" ;;
esac

# The line of a release: 6.1.0-56-amd64 -> 6.1-amd64, 6.12.117+deb12-rt-amd64
# -> 6.12-rt-amd64.
kernel_line() {
	local rel=$1 flavour
	flavour=$(sed -E 's/^[0-9.]+(-[0-9]+)?(\+[a-z0-9.]+)?-//' <<< "$rel")
	echo "$(cut -d. -f1-2 <<< "$rel")-$flavour"
}

discover_kernels() {
	local img rel line
	declare -A newest=()
	for img in /boot/vmlinuz-*; do
		[ -e "$img" ] || continue
		rel=${img#/boot/vmlinuz-}
		[ -e "/lib/modules/$rel/build/Makefile" ] || continue
		[ -e "/lib/modules/$rel/modules.dep" ] || continue
		line=$(kernel_line "$rel")
		if [ -z "${newest[$line]:-}" ] ||
		   [ "$(printf '%s\n%s\n' "${newest[$line]}" "$rel" | sort -V | tail -n 1)" = "$rel" ]; then
			newest[$line]=$rel
		fi
	done
	for line in "${!newest[@]}"; do
		echo "${newest[$line]}"
	done | sort -V
}

kernels() {
	if [ -n "${KAP_VM_KERNEL_DIR:-}" ]; then
		cat "$KAP_VM_KERNEL_DIR/include/config/kernel.release"
	elif [ -n "${KAP_KERNELS:-}" ]; then
		tr ' ' '\n' <<< "$KAP_KERNELS"
	else
		discover_kernels
	fi
}

# kdir RELEASE: the kernel build tree modules for RELEASE are built against
kdir() {
	echo "${KAP_VM_KERNEL_DIR:-/lib/modules/$1/build}"
}

# build_module RELEASE: kapolicy.ko for RELEASE in build/kernel/RELEASE
build_module() {
	local rel=$1 dir=$build/kernel/$1 log
	mkdir -p "$dir"
	cp -a "$top/Kbuild" "$dir/"
	cp -a "$top/module" "$top/sysfs" "$dir/"
	log=$dir/build.log
	if ! make -C "$(kdir "$rel")" M="$dir" modules > "$log" 2>&1; then
		cat "$log" >&2
		die "$rel: module build failed"
	fi
	grep -E 'warning:' "$log" >&2 || true
	# what "make install" lays out, for the service selftest
	rm -rf "$build/stage/$rel"
	if ! make -s -C "$top" install DESTDIR="$build/stage/$rel" KERNELRELEASE="$rel" \
	     KDIR="$(kdir "$rel")" MODBUILD="$dir" > "$dir/install.log" 2>&1; then
		cat "$dir/install.log" >&2
		die "$rel: make install DESTDIR=$build/stage/$rel failed"
	fi
}

build_userspace() {
	make -s -C "$top/userspace" > /dev/null
	make -s -C "$top/selftests" OUTPUT="$build/selftests" > /dev/null
}

# module_order RELEASE MODULE...: the .ko paths to load, dependencies first,
# from the kernel's modules.dep (built-in modules are skipped).
module_order() {
	local rel=$1 depfile=/lib/modules/$1/modules.dep
	shift
	[ -e "$depfile" ] || return 0	# a kernel with everything built in
	declare -A seen=()
	resolve() {
		local path=$1 line dep
		[ -n "${seen[$path]:-}" ] && return
		seen[$path]=1
		line=$(grep -m1 "^$path:" "$depfile") || return 0
		for dep in ${line#*:}; do
			resolve "$dep"
		done
		echo "$path"
	}
	local name path
	for name in "$@"; do
		path=$(grep -m1 -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$depfile" | cut -d: -f1) || true
		[ -n "$path" ] || continue	# built in
		resolve "$path"
	done
}

# make_initramfs RELEASE OUT: busybox, /init and the virtio + 9p modules
make_initramfs() {
	local rel=$1 out=$2 root m base
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,proc,sys,dev,modules}
	cp /bin/busybox "$root/bin/busybox"
	cp "$here/init" "$root/init"
	# The kernel's module autoloader runs /sbin/modprobe in this root, not
	# in the chroot: hand its requests to the host's modprobe there.
	mkdir -p "$root/sbin"
	printf '#!/bin/sh\nexec chroot /newroot /sbin/modprobe "$@"\n' > "$root/sbin/modprobe"
	chmod 755 "$root/sbin/modprobe"
	: > "$root/modules/order"
	for m in $(module_order "$rel" virtio_pci 9pnet_virtio 9p); do
		base=$(basename "$m")
		case "$base" in
		*.ko.xz) xz -dc "/lib/modules/$rel/$m" > "$root/modules/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "/lib/modules/$rel/$m" > "$root/modules/${base%.zst}" ;;
		*.ko.gz) gzip -dc "/lib/modules/$rel/$m" > "$root/modules/${base%.gz}" ;;
		*) cp "/lib/modules/$rel/$m" "$root/modules/$base" ;;
		esac
		echo "${base%.ko*}.ko" >> "$root/modules/order"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
	rm -rf "$root"
}

# boot RELEASE MODE: prepares build/vm/RELEASE and runs qemu
boot() {
	local rel=$1 mode=$2 dir=$build/vm/$1 tmo
	mkdir -p "$dir"
	rm -rf "$dir/results"
	mkdir -p "$dir/results"
	make_initramfs "$rel" "$dir/initramfs.img"
	local image=/boot/vmlinuz-$rel
	[ -z "${KAP_VM_KERNEL_DIR:-}" ] || image=$KAP_VM_KERNEL_DIR/arch/x86/boot/bzImage
	local qemu=(
		qemu-system-x86_64 -accel "tcg,thread=${KAP_VM_TCG_THREAD:-single}" -cpu max
		-m "$mem" -smp "$cpus" ${KAP_VM_QEMU_ARGS:-}
		-nographic -no-reboot -nic none -vga none
		-kernel "$image" -initrd "$dir/initramfs.img"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$dir/results,mount_tag=results,security_model=none"
		-virtfs "local,path=$top,mount_tag=kaptop,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$build,mount_tag=kapbuild,security_model=none,readonly=on,multidevs=remap"
		-append "console=ttyS0 oops=panic panic_on_warn=1 panic=-1 kapvm.top=$top kapvm.build=$build kapvm.mode=$mode ${KAP_VM_APPEND:-}"
	)
	if [ "$mode" = shell ]; then
		timeout --foreground 8h "${qemu[@]}" -serial mon:stdio
		return
	fi
	tmo=$timeout_s
	if [ -n "${KAP_TEST_FILTER:-}" ]; then
		qemu[${#qemu[@]} - 1]+=" kapvm.filter=$KAP_TEST_FILTER"
	fi
	if [ -n "${KAP_TEST_TIMEOUT:-}" ]; then
		qemu[${#qemu[@]} - 1]+=" kapvm.timeout=$KAP_TEST_TIMEOUT"
	fi
	set +e
	timeout --kill-after=10 "$tmo" "${qemu[@]}" -serial "file:$dir/console.log" \
		< /dev/null > "$dir/qemu.log" 2>&1
	local rc=$?
	set -e
	[ $rc -eq 124 ] && echo "timeout after ${tmo}s" > "$dir/results/hang"
	return 0
}

# verdict RELEASE: prints "vm: RELEASE pass N fail N skip N"; 1 if failed
verdict() {
	local rel=$1 dir=$build/vm/$1 res=$build/vm/$1/results pass=0 fail=0 skip=0 why=
	if [ -f "$res/verdict" ] && [ -f "$res/summary" ]; then
		read -r _ pass _ fail _ skip < <(head -n 1 "$res/summary")
		fail=$((fail + $(tail -n +2 "$res/summary" | grep -c . || true)))
		# a run in which nothing ran (every test skipped) proves nothing
		if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
			why="no test passed (skipped: $skip)"
			fail=1
		fi
	else
		why="no verdict from the guest"
		if [ -s "$res/error" ]; then
			why="$why: $(head -n 1 "$res/error")"
		elif grep -q '^kapvm: error:' "$dir/console.log" 2>/dev/null; then
			why="$why: $(grep -m1 '^kapvm: error:' "$dir/console.log" | sed 's/^kapvm: error: //')"
		fi
		[ -f "$res/hang" ] && why="$why: $(cat "$res/hang")"
		fail=$((fail + 1))
	fi
	if grep -qE 'Kernel panic|BUG:|Oops|WARNING:|general protection fault' "$dir/console.log" 2>/dev/null; then
		why="${why:+$why; }the console shows a kernel failure"
		[ -f "$res/verdict" ] && fail=$((fail + 1))
	fi
	if [ -n "$why" ] || [ "$fail" -gt 0 ]; then
		echo "vm: $rel: FAILED${why:+: $why}"
		if [ -f "$res/tap.log" ]; then
			echo "---- $rel: failing tests ----"
			grep -B30 -E '^not ok' "$res/tap.log" | tail -n 200 || true
		fi
		echo "---- $rel: console (last 150 lines) ----"
		tail -n 150 "$dir/console.log" 2>/dev/null || true
		if [ -f "$res/dmesg" ]; then
			echo "---- $rel: guest dmesg (last 80 lines) ----"
			tail -n 80 "$res/dmesg"
		fi
		echo "----"
	fi
	echo "vm: $rel pass $pass fail $fail skip $skip"
	[ "$fail" -eq 0 ]
}

cmd=${1:-}
shift || true
case "$cmd" in
kernels)
	kernels
	;;
test)
	rels=("$@")
	[ ${#rels[@]} -gt 0 ] || mapfile -t rels < <(kernels)
	[ ${#rels[@]} -gt 0 ] || die "no installed kernel with headers (run scripts/deps.sh)"
	build_userspace
	for rel in "${rels[@]}"; do
		build_module "$rel"
	done
	# Each VM runs its vCPUs on one host thread: as many at once as the
	# host has CPUs (KAP_VM_PARALLEL).  The PREEMPT_RT kernels run
	# KAP_RT_FILTER (see above) unless KAP_TEST_FILTER is set, and start
	# last: the long full runs first.
	parallel=${KAP_VM_PARALLEL:-$(nproc)}
	status=0
	pids=()
	mapfile -t rels < <(printf '%s\n' "${rels[@]}" | { grep -v -- '-rt-' || true; }
			    printf '%s\n' "${rels[@]}" | { grep -- '-rt-' || true; })
	[ ${#rels[@]} -gt 0 ] || die "no kernel to test"
	for rel in "${rels[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
			wait -n || true
		done
		say "$rel: booting ($(kernel_line "$rel"))"
		(
			start=$(date +%s)
			case $rel in
			*-rt-*) KAP_TEST_FILTER=${KAP_TEST_FILTER:-$rt_filter} ;;
			esac
			boot "$rel" test
			say "$rel: finished in $(( $(date +%s) - start ))s"
		) &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for rel in "${rels[@]}"; do
		verdict "$rel" || status=1
	done
	exit $status
	;;
bench)
	# Every release at once, one VM each: with single-threaded TCG a VM
	# runs on one host CPU, and each row's ratio is taken inside one VM.
	rels=("$@")
	[ ${#rels[@]} -gt 0 ] || rels=($(kernels | grep -v -- -rt-))
	[ ${#rels[@]} -gt 0 ] || die "no installed kernel with headers (run scripts/deps.sh)"
	build_userspace
	mem=${KAP_VM_MEM:-4096}
	timeout_s=${KAP_VM_TIMEOUT:-4800}
	# The guest's clock counts instructions (icount: 2^3 ns each), not
	# the host's time: a rate or a duration measured inside is a count of
	# work, the same whatever else the host runs, and A/B rounds agree to
	# about 1 % instead of tens of percent.
	KAP_VM_QEMU_ARGS=${KAP_VM_QEMU_ARGS-"-icount shift=3,sleep=on"}
	benchenv="${BENCH_ROUNDS:-}:${BENCH_SECONDS:-}:${BENCH_MEM_CONNS:-}:${BENCH_ONLY:-}"
	KAP_VM_APPEND="${KAP_VM_APPEND:-} kapvm.bench=$benchenv"
	pids=()
	for rel in "${rels[@]}"; do
		build_module "$rel"
		say "$rel: booting a VM for the benchmarks (about 20 minutes)"
		# 6.1 does not bring a second CPU up under icount (it waits at
		# "Booting SMP configuration" for ever): one vCPU there
		case $rel in
		6.1.*) cpus=${KAP_VM_CPUS:-1} ;;
		*) cpus=${KAP_VM_CPUS:-2} ;;
		esac
		boot "$rel" bench &
		pids+=($!)
	done
	wait "${pids[@]}"
	status=0
	for rel in "${rels[@]}"; do
		res=$build/vm/$rel/results
		if [ -f "$res/bench.rc" ] &&
		   ! grep -qE 'Kernel panic|BUG:|Oops|WARNING:|general protection fault' "$build/vm/$rel/console.log"; then
			cat "$res/bench.log"
			[ "$(cat "$res/bench.rc")" = 0 ] || status=1
			continue
		fi
		say "$rel: bench FAILED ($res)"
		tail -n 60 "$build/vm/$rel/console.log" 2>/dev/null
		status=1
	done
	exit $status
	;;
demo|session)
	rel=${1:-$(kernels | tail -n 1)}
	[ -n "$rel" ] || die "no installed kernel with headers (run scripts/deps.sh)"
	build_userspace
	build_module "$rel"
	res=$build/vm/$rel/results
	rm -rf "$res"
	timeout_s=${KAP_VM_TIMEOUT:-600}
	say "$rel: booting a VM for the $cmd (software emulation: about 2-3 minutes)"
	boot "$rel" "$cmd" &
	bpid=$!
	while kill -0 "$bpid" 2>/dev/null && [ ! -f "$res/$cmd.log" ]; do
		sleep 1
	done
	[ -f "$res/$cmd.log" ] && tail -n +1 -f --pid="$bpid" "$res/$cmd.log"
	wait "$bpid"
	if [ -f "$res/$cmd.rc" ]; then
		rc=$(cat "$res/$cmd.rc")
		if grep -qE 'Kernel panic|BUG:|Oops|WARNING:|general protection fault' "$build/vm/$rel/console.log"; then
			say "$rel: the console shows a kernel failure"
			tail -n 60 "$build/vm/$rel/console.log"
			exit 1
		fi
		exit "$rc"
	fi
	why="no result from the guest"
	if [ -s "$res/error" ]; then
		why="$why: $(head -n 1 "$res/error")"
	elif [ -f "$res/hang" ]; then
		why="$why: $(cat "$res/hang")"
	fi
	say "$rel: $cmd FAILED: $why"
	tail -n 60 "$build/vm/$rel/console.log" 2>/dev/null
	exit 1
	;;
shell)
	rel=${1:-$(kernels | tail -n 1)}
	[ -n "$rel" ] || die "no installed kernel with headers (run scripts/deps.sh)"
	build_userspace
	build_module "$rel"
	boot "$rel" shell
	;;
*)
	sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
