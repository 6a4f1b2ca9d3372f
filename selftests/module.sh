#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module's life cycle: it loads and unloads cleanly three times, its
# sysfs directory comes and goes with it, the version it reports is the one
# modinfo reads from the file, kapctl status tells both states apart, and a
# second load fails cleanly without disturbing the loaded module.
. "$(dirname "$0")/functions.sh"

setup
ktap_plan 17
unload_mod_if_loaded

modinfo_version=$(modinfo -F version "$KAP_MODULE")
log "modinfo version: $modinfo_version"

dmesg_mark
for round in 1 2 3; do
	load_mod
	if [ -d "$SYSFS_DIR" ] && [ -r "$SYSFS_DIR/version" ]; then
		ok "round $round: $SYSFS_DIR appears on load"
	else
		fail "round $round: $SYSFS_DIR appears on load"
	fi
	unload_mod
	if [ ! -e "$SYSFS_DIR" ]; then
		ok "round $round: $SYSFS_DIR disappears on unload"
	else
		fail "round $round: $SYSFS_DIR disappears on unload"
	fi
done
loaded=$(dmesg_since_mark | grep -c "kapolicy: kapolicy $modinfo_version loaded")
expect_eq "each load logs the version once" 3 "$loaded"

# --- kapctl status, module not loaded -------------------------------------
out=$(kapctl status 2>&1)
rc=$?
log "kapctl status (not loaded): rc=$rc: $out"
expect_eq "kapctl status exits 1 when the module is not loaded" 1 "$rc"
if grep -q "not loaded" <<< "$out"; then
	ok "kapctl status says the module is not loaded"
else
	fail "kapctl status says the module is not loaded" "got: $out"
fi
json=$(kapctl -j status 2>/dev/null)
loaded=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["loaded"])' <<< "$json" 2>&1)
expect_eq "kapctl -j status: loaded is false" False "$loaded"

# --- loaded ------------------------------------------------------------------
load_mod
expect_eq "sysfs version matches modinfo" "$modinfo_version" "$(cat $SYSFS_DIR/version)"
expect_eq "/sys/module version matches modinfo" "$modinfo_version" \
	"$(cat /sys/module/$MOD_NAME/version)"

out=$(kapctl status 2>&1)
rc=$?
log "kapctl status (loaded): rc=$rc: $out"
expect_eq "kapctl status exits 0 when the module is loaded" 0 "$rc"
if grep -qE "^version: +$modinfo_version\$" <<< "$out" && grep -qE "^module: +loaded\$" <<< "$out"; then
	ok "kapctl status shows the loaded module and its version"
else
	fail "kapctl status shows the loaded module and its version" "got: $out"
fi
json=$(kapctl -p status 2>/dev/null)
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["loaded"], d["version"])' <<< "$json" 2>&1)
expect_eq "kapctl -p status: loaded and version" "True $modinfo_version" "$got"

# --- a second load ------------------------------------------------------------
dmesg_mark
err=$(insmod "$KAP_MODULE" 2>&1)
rc=$?
log "second insmod: rc=$rc: $err"
if [ $rc -ne 0 ] && grep -q "File exists" <<< "$err"; then
	ok "a second load fails with EEXIST"
else
	fail "a second load fails with EEXIST" "rc=$rc: $err"
fi
if is_loaded && [ "$(cat $SYSFS_DIR/version)" = "$modinfo_version" ] &&
   ! dmesg_since_mark | grep -qE 'WARNING|BUG|\] kapolicy: '; then
	ok "the loaded module is untouched by the failed load"
else
	fail "the loaded module is untouched by the failed load" "$(dmesg_since_mark)"
fi
unload_mod

ktap_finish
