#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A shared host: what an unprivileged user (nobody) and a root without
# CAP_NET_ADMIN (bounding and inheritable sets without it) may do with
# /sys/kernel/kapolicy.  Neither may write control or enforce, nor read
# what describes other namespaces or cgroups (the ports table, a policy's
# spec); both may read the version and the host's and policies' counters.
# Every refused attempt leaves the table and enforce as they were.
. "$(dirname "$0")/functions.sh"

setup
ktap_plan 20
unload_mod_if_loaded
load_mod
SPEC="lport=5432 cgroup=1 idle=60"
echo "add tenant $SPEC" > "$SYSFS_DIR/control"
spec_before=$(cat "$SYSFS_DIR/policies/tenant/spec")

# as WHO CMD...: "ok" if CMD succeeds as WHO, else "denied"
as() {
	local who=$1
	shift
	case $who in
	nobody) setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@" ;;
	nocap) setpriv --inh-caps=-net_admin --bounding-set=-net_admin -- "$@" ;;
	root) "$@" ;;
	esac > /dev/null 2>&1 && echo ok || echo denied
}

for who in nobody nocap; do
	expect_eq "$who: writing control (flush) is refused" denied \
		"$(as $who sh -c "echo flush > $SYSFS_DIR/control")"
	expect_eq "$who: writing enforce is refused" denied \
		"$(as $who sh -c "echo 0 > $SYSFS_DIR/enforce")"
	expect_eq "$who: reading ports is refused" denied \
		"$(as $who cat "$SYSFS_DIR/ports")"
	expect_eq "$who: reading deaths is refused" denied \
		"$(as $who cat "$SYSFS_DIR/deaths")"
	expect_eq "$who: reading a policy's spec is refused" denied \
		"$(as $who cat "$SYSFS_DIR/policies/tenant/spec")"
	expect_eq "$who: the version, counters and limits are readable" "ok ok ok" \
		"$(as $who cat "$SYSFS_DIR/version") $(as $who cat "$SYSFS_DIR/stats/probes_sent") $(as $who cat "$SYSFS_DIR/limits/ports_max")"
	expect_eq "$who: a policy's counters are readable" ok \
		"$(as $who cat "$SYSFS_DIR/policies/tenant/stats/sockets_governed")"
done

expect_eq "the table is as it was" "$spec_before" "$(cat "$SYSFS_DIR/policies/tenant/spec")"
expect_eq "enforce is as it was" 1 "$(cat "$SYSFS_DIR/enforce")"
expect_eq "root with CAP_NET_ADMIN reads the ports and deaths tables and the spec" "ok ok ok" \
	"$(as root cat "$SYSFS_DIR/ports") $(as root cat "$SYSFS_DIR/deaths") $(as root cat "$SYSFS_DIR/policies/tenant/spec")"
expect_eq "root with CAP_NET_ADMIN writes control" ok \
	"$(as root sh -c "echo 'del tenant' > $SYSFS_DIR/control")"

# modes: nothing is world-writable; what describes tenants is owner-only
modes=$(cd "$SYSFS_DIR" && stat -c '%n=%a' control deaths enforce ports version)
expect_eq "modes" "control=200 deaths=400 enforce=644 ports=400 version=444" "$(tr '\n' ' ' <<< "$modes" | sed 's/ $//')"
expect_eq "no file is writable by group or others" "" \
	"$(find "$SYSFS_DIR" -perm /022 ! -type d ! -type l)"

unload_mod
ktap_finish
