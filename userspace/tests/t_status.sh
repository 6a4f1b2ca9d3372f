#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl status against a fake sysfs tree: both states, text and JSON.
. "$(dirname "$0")/lib.sh"

export KAPCTL_SYSFS=/nonexistent/kapolicy
out=$("$KAPCTL" status 2>&1); rc=$?
expect_eq "not loaded: exit 1" 1 "$rc"
expect_match "not loaded: says so" '^module: +not loaded' "$out"
out=$("$KAPCTL" -j status); rc=$?
expect_eq "not loaded, JSON: loaded is false" False "$(json_get "$out" 'd["loaded"]')"
expect_eq "not loaded, JSON: no version key" False "$(json_get "$out" '"version" in d')"

fake_sysfs 9.8.7
out=$("$KAPCTL" status 2>&1); rc=$?
expect_eq "loaded: exit 0" 0 "$rc"
expect_match "loaded: module line" '^module: +loaded$' "$out"
expect_match "loaded: version line" '^version: +9\.8\.7$' "$out"
out=$("$KAPCTL" -p status)
expect_eq "loaded, pretty JSON: loaded and version" "True 9.8.7" "$(json_get "$out" 'd["loaded"], d["version"]' | tr -d "(),'")"
expect_match "pretty JSON is indented" '^  "loaded"' "$out"

rm "$FAKE/version"
out=$("$KAPCTL" status 2>&1); rc=$?
expect_eq "an unreadable version file: exit 1" 1 "$rc"
expect_match "an unreadable version file: the error names the file" "$FAKE/version" "$out"
finish
