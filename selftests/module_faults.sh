#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Faults, forced.
#
# A kernel without one of the hooked functions or tracepoints (the module
# parameter missing_hook=NAME hides NAME from the kernel's lookup, so that
# the real failure path runs): the load fails with one line in the log
# naming NAME, leaves no hook behind (no ftrace filter, no kprobe, and TCP
# traffic after it runs no freed handler), and a plain load then works.
#
# Allocations failing (only on a kernel with fault injection: make
# check-debug's debug kernel): every allocation made from the module's
# code during a load, an add, a del, a flush and a commit is made to fail
# in turn (fail_nth.py: /proc/thread-self/fail-nth with failslab and
# fail_page_alloc filtered to module addresses).  A failed load leaves no
# module and one line in the log; a failed command returns ENOMEM and
# leaves the policies as they were.
. "$(dirname "$0")/functions.sh"

HOOKS="tcp_keepalive_timer timer_expire_exit timer_expire_entry inet_sock_set_state
tcp_receive_reset tcp_destroy_sock tcp_setsockopt tcp_write_wakeup
inet_csk_reset_keepalive_timer tcp_v4_err tcp_set_keepalive tcp_v6_err"
FUNCS="tcp_setsockopt tcp_write_wakeup inet_csk_reset_keepalive_timer tcp_v4_err
tcp_set_keepalive tcp_v6_err"
NHOOKS=$(wc -w <<< "$HOOKS")
FAULTS=/sys/kernel/debug/failslab
STEPS="load add del flush commit"
NSTEPS=$(wc -w <<< "$STEPS")

setup
ktap_plan $((2 * NHOOKS + 3 + 2 * NSTEPS))
unload_mod_if_loaded
TR=/sys/kernel/tracing
[ -r $TR/enabled_functions ] || TR=/sys/kernel/debug/tracing

# hooks_left: what of a hook is still registered (ftrace filters on the
# hooked functions, kprobes on them)
hooks_left() {
	local f
	for f in $FUNCS; do
		grep -E "^$f(\\+| |$)" $TR/enabled_functions 2>/dev/null | sed 's/^/ftrace: /'
		grep -E "\\<$f\\+" /sys/kernel/debug/kprobes/list 2>/dev/null | sed 's/^/kprobe: /'
	done
}

# tcp_traffic: connections that open, switch keepalive on, err and close:
# every hooked path runs (a handler left behind would run from freed text)
tcp_traffic() {
	python3 - <<-'EOF'
	import socket
	srv = socket.socket()
	srv.bind(("127.0.0.1", 0))
	srv.listen(64)
	for _ in range(20):
	    c = socket.create_connection(srv.getsockname())
	    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
	    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 5)
	    a, _ = srv.accept()
	    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
	    a.close()
	    c.close()
	try:
	    socket.create_connection(("127.0.0.1", 1))
	except OSError:
	    pass
	EOF
}

before=$(hooks_left)
log_start=$(dmesg | wc -l)
for h in $HOOKS; do
	dmesg_mark
	if insmod "$KAP_MODULE" missing_hook=$h 2>/dev/null; then
		fail "without $h: the load fails"
		unload_mod
	else
		ok "without $h: the load fails"
	fi
	# (the kernel's own taint lines at the first load are not the module's)
	lines=$(dmesg_since_mark | grep 'kapolicy: ' |
		grep -vE 'taints kernel|module verification failed')
	log "without $h: $lines"
	if [ "$(grep -c . <<< "$lines")" = 1 ] && grep -q "$h.*not loading" <<< "$lines" &&
	   ! is_loaded && [ ! -e "$SYSFS_DIR" ]; then
		ok "without $h: one line in the log names it; nothing is left loaded"
	else
		fail "without $h: one line in the log names it; nothing is left loaded" "log: $lines"
	fi
	tcp_traffic
done
left=$(hooks_left)
expect_eq "no ftrace filter or kprobe is left on a hooked function" "$before" "$left"
if dmesg | tail -n +$((log_start + 1)) | grep -qE 'BUG|WARNING|Oops'; then
	fail "TCP traffic after the failed loads runs cleanly"
else
	ok "TCP traffic after the failed loads runs cleanly"
fi
load_mod
expect_eq "a plain load then works" "yes" "$([ -d "$SYSFS_DIR/policies" ] && echo yes)"
unload_mod

# ---- allocation faults -------------------------------------------------------
if [ ! -w /proc/self/fail-nth ] || [ ! -d $FAULTS ]; then
	for s in $STEPS; do
		skip "$s under allocation faults" "this kernel has no fault injection (make check-debug)"
		skip "$s: every failure leaves things as they were" "no fault injection"
	done
	ktap_finish
fi

# Only allocations with module code on the stack count: the x86-64 module
# area (MODULES_VADDR, MODULES_END); the debug kernel has every other
# module built in.
for a in $FAULTS /sys/kernel/debug/fail_page_alloc; do
	[ -d $a ] || continue
	echo 0 > $a/verbose
	echo N > $a/ignore-gfp-wait
	echo 0xffffffffc0000000 > $a/require-start
	echo 0xffffffffff000000 > $a/require-end
	echo 32 > $a/stacktrace-depth
	[ -e $a/min-order ] && echo 0 > $a/min-order
done
push_cleanup "echo Y > $FAULTS/ignore-gfp-wait"
# the kernel reports some allocations it fails (vmalloc): expected from here
log "allocation faults: on"
push_cleanup 'log "allocation faults: off"'

# check_step NAME OUTPUT RC: two results from one fail_nth.py run
check_step() {
	local s=$1 out=$2 rc=$3 sum
	sum=$(tail -n 1 <<< "$out")
	log "$s: $sum"
	if [[ $sum =~ injected\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
		ok "$s under allocation faults: ${BASH_REMATCH[1]} allocations made to fail in turn"
	else
		fail "$s under allocation faults" "$out"
	fi
	if [ "$rc" = 0 ] && [[ $sum =~ bad\ 0$ ]]; then
		ok "$s: every failure leaves things as they were"
	else
		fail "$s: every failure leaves things as they were" "$(grep -v '^[a-z]* n=' <<< "$out")"
	fi
}

out=$(python3 ./fail_nth.py load "$KAP_MODULE" 2>&1)
check_step load "$out" $?
load_mod
C=$SYSFS_DIR/control
echo "add base lport=7000 idle=30" > $C
echo "add other rport=7100-7200 idle=40 intvl=5 cnt=3 mode=override" > $C
out=$(python3 ./fail_nth.py write --cmd "add fresh lport=7300 idle=50 order=0" \
	--undo "del fresh" 2>&1)
check_step add "$out" $?
out=$(python3 ./fail_nth.py write --cmd "del other" \
	--undo "add other rport=7100-7200 idle=40 intvl=5 cnt=3 mode=override" 2>&1)
check_step del "$out" $?
out=$(python3 ./fail_nth.py write --cmd "flush" \
	--undo "add base lport=7000 idle=30" \
	--undo "add other rport=7100-7200 idle=40 intvl=5 cnt=3 mode=override" 2>&1)
check_step flush "$out" $?
# a commit that replaces one policy by another of the same name, drops one
# and brings two
out=$(python3 ./fail_nth.py write --pre begin --pre flush \
	--pre "add base lport=7000 idle=31" --pre "add t1 lport=7400 idle=20" \
	--pre "add t2 rport=7500 keepalive=on" --cmd commit --abort abort \
	--undo flush --undo "add base lport=7000 idle=30" \
	--undo "add other rport=7100-7200 idle=40 intvl=5 cnt=3 mode=override" 2>&1)
check_step commit "$out" $?
unload_mod
ktap_finish
