#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shell functions for the kapolicy selftests, in the manner of
# tools/testing/selftests/livepatch/functions.sh.  A test script sources this
# file, states its plan with ktap_plan, and reports each case with ok/fail
# (or the check helper).  Each step logs itself to stdout and to the kernel
# log, so a failure can be read against dmesg.
#
# The environment (set by selftests/vm/guest.sh):
#   KAP_MODULE   path of kapolicy.ko built for the running kernel
#   KAP_KAPCTL   path of kapctl

MOD_NAME=kapolicy
SYSFS_DIR=/sys/kernel/kapolicy
KAP_MODULE=${KAP_MODULE:-}
KAP_KAPCTL=${KAP_KAPCTL:-kapctl}
RETRY_MAX=200		# loop_until attempts
RETRY_INTERVAL=0.1	# seconds between attempts
# How many times slower than Debian's kernels under emulation this kernel
# runs (kapvm.slow=N on its command line: "make check-debug"): timeouts
# for the tests' own processes (wait_file) are multiplied by it
KAP_SLOW=${KAP_SLOW:-$(sed -n 's/.*kapvm\.slow=\([0-9]*\).*/\1/p' /proc/cmdline 2>/dev/null)}
KAP_SLOW=${KAP_SLOW:-1}

# slow(seconds) - seconds times KAP_SLOW, fractions kept ("3.5" -> "14")
function slow() {
	awk -v s="$1" -v k="$KAP_SLOW" 'BEGIN { print s * k }'
}

# Kselftest framework requirement - SKIP code is 4
ksft_skip=4

__ktap_n=0
__ktap_failed=0
__cleanups=()

# log(msg) - one line to stdout (as a TAP comment) and to the kernel log
function log() {
	echo "# $*"
	echo "kapolicy-selftest: $*" > /dev/kmsg 2>/dev/null || true
}

function die() {
	log "ERROR: $*"
	exit 1
}

function skip_all() {
	echo "1..0 # SKIP $*"
	exit $ksft_skip
}

function is_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "must be run as root"
}

function ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

# ok(desc) / fail(desc [why]) / skip(desc why) - report one test case
function ok() {
	__ktap_n=$((__ktap_n + 1))
	echo "ok $__ktap_n $1"
}

function fail() {
	__ktap_n=$((__ktap_n + 1))
	__ktap_failed=$((__ktap_failed + 1))
	[ -n "${2:-}" ] && log "FAIL: $1: $2"
	echo "not ok $__ktap_n $1"
}

function skip() {
	__ktap_n=$((__ktap_n + 1))
	echo "ok $__ktap_n $1 # SKIP $2"
}

# check(desc, cmd...) - one test case: passes when cmd succeeds
function check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		fail "$desc" "command failed: $*"
	fi
}

# expect_eq(desc, expected, actual)
function expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected '$2', got '$3'"
	fi
}

# Exit status for the end of a test script.
function ktap_finish() {
	exit $((__ktap_failed > 0))
}

# push_cleanup(cmd) - run cmd at exit, last pushed first
function push_cleanup() {
	__cleanups=("$*" "${__cleanups[@]}")
}

function __run_cleanups() {
	local c
	for c in "${__cleanups[@]}"; do
		eval "$c" || true
	done
	__cleanups=()
}

function setup() {
	is_root
	[ -n "$KAP_MODULE" ] && [ -r "$KAP_MODULE" ] ||
		skip_all "KAP_MODULE does not name a readable kapolicy.ko"
	trap __run_cleanups EXIT
	trap 'exit 130' INT TERM HUP
	push_cleanup unload_mod_if_loaded
}

# loop_until(cmd) - retry cmd until it succeeds, RETRY_MAX times at most
function loop_until() {
	local i
	for ((i = 0; i < RETRY_MAX; i++)); do
		eval "$*" && return 0
		sleep $RETRY_INTERVAL
	done
	return 1
}

function is_loaded() {
	[ -d "/sys/module/$MOD_NAME" ]
}

# load_mod([params...]) - insmod kapolicy.ko; dies if it fails
function load_mod() {
	log "% insmod $KAP_MODULE $*"
	insmod "$KAP_MODULE" "$@" || die "insmod $KAP_MODULE failed"
	loop_until "[ -e /sys/module/$MOD_NAME/initstate ] && [ \$(cat /sys/module/$MOD_NAME/initstate) = live ]" ||
		die "$MOD_NAME did not become live"
}

function unload_mod() {
	log "% rmmod $MOD_NAME"
	rmmod "$MOD_NAME" || die "rmmod $MOD_NAME failed"
	loop_until "! is_loaded" || die "$MOD_NAME did not unload"
}

function unload_mod_if_loaded() {
	is_loaded && unload_mod
	return 0
}

# kapctl(args...) - the kapctl under test
function kapctl() {
	"$KAP_KAPCTL" "$@"
}

# dmesg_mark / dmesg_since_mark - the kernel log a step produced
function dmesg_mark() {
	__dmesg_lines=$(dmesg | wc -l)
}

function dmesg_since_mark() {
	dmesg | tail -n +$((__dmesg_lines + 1))
}
