#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs every Debian package that building and testing kapolicy needs, and
# extracts the few files the tests take from Debian's kernel source package.
# Idempotent: when everything is present it only checks (well under a second)
# and installs nothing.  Must run as root when something is missing.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/build/kernel-tools"

packages=(
	# both kernel lines: headers to build against, images to boot in qemu
	linux-headers-amd64 linux-image-amd64
	linux-headers-6.12-amd64 linux-image-6.12-amd64
	# and their PREEMPT_RT builds
	linux-headers-rt-amd64 linux-image-rt-amd64
	linux-headers-6.12-rt-amd64 linux-image-6.12-rt-amd64
	# kernel build and lint
	build-essential bc kmod sparse linux-source-6.1 xz-utils
	# installing as users do: DKMS, and checking the systemd unit
	dkms systemd
	# the VM harness
	qemu-system-x86 busybox-static cpio gzip
	# test networks and witnesses inside the VM
	iproute2 iputils-ping nftables tcpdump procps python3
	# the demo: a real server and a real client that leave keepalive off
	# (redis-tools has redis-server: redis-check-rdb under another name)
	redis-tools netcat-openbsd
	# reading the trace events with the usual tools
	linux-perf trace-cmd
	# kapctl: libraries and tooling
	pkg-config libjson-c-dev libmnl-dev libtracefs-dev libtraceevent-dev
	libbpf-dev
	# parser fuzzing (libFuzzer) and Prometheus format checking
	clang libclang-rt-14-dev prometheus
)

missing=()
for p in "${packages[@]}"; do
	[[ $p == \#* ]] && continue
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run as root (sudo make deps) to install them" >&2
		exit 1
	fi
	echo "deps: installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	echo "deps: installed: ${missing[*]}"
fi

# kselftest_harness.h, kselftest.h and checkpatch.pl (with its data files)
# come from linux-source-6.1; extract only those.
want=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
have=1
for f in "${want[@]}"; do
	[ -e "$cache/$f" ] || have=0
done
if [ $have -eq 0 ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || { echo "deps: linux-source-6.1 tarball not found in /usr/src" >&2; exit 1; }
	echo "deps: extracting ${want[*]##*/} from $tarball"
	mkdir -p "$cache"
	tar -C "$cache" --strip-components=1 -xf "$tarball" \
		"${want[@]/#/linux-source-6.1/}"
fi
