#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The ABI document and the module agree: every file and directory the
# module creates under /sys/kernel/kapolicy (with one policy in the table)
# has a "What:" line in sysfs/ABI/sysfs-kernel-kapolicy, and every "What:"
# line names something the module creates.  A policy's directory is named
# NAME in the document.
. "$(dirname "$0")/functions.sh"

ABI=$(cd "$(dirname "$0")/.." && pwd)/sysfs/ABI/sysfs-kernel-kapolicy

setup
ktap_plan 3
unload_mod_if_loaded
load_mod

echo "add abi_probe lport=9 idle=5" > "$SYSFS_DIR/control"
expect_eq "a policy directory exists" "yes" \
	"$([ -d "$SYSFS_DIR/policies/abi_probe" ] && echo yes || echo no)"

created=$(mktemp) documented=$(mktemp)
push_cleanup "rm -f $created $documented"
{
	echo "$SYSFS_DIR/"
	find "$SYSFS_DIR" -mindepth 1 -type d -printf '%p/\n'
	find "$SYSFS_DIR" -mindepth 1 ! -type d -printf '%p\n'
} | sed "s|^$SYSFS_DIR/policies/abi_probe/|$SYSFS_DIR/policies/NAME/|" | sort -u > "$created"
sed -n 's/^What:[[:space:]]*//p' "$ABI" | sort -u > "$documented"
log "created: $(wc -l < "$created") paths, documented: $(wc -l < "$documented")"

undocumented=$(comm -23 "$created" "$documented" | tr '\n' ' ')
missing=$(comm -13 "$created" "$documented" | tr '\n' ' ')
expect_eq "every path the module creates is documented" "" "$undocumented"
expect_eq "every documented path exists" "" "$missing"

echo flush > "$SYSFS_DIR/control"
unload_mod
ktap_finish
