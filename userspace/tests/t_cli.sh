#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The command line: dispatch, exit codes, help at every level, JSON errors.
. "$(dirname "$0")/lib.sh"

out=$("$KAPCTL" 2>&1); rc=$?
expect_eq "no arguments is a usage error (exit 2)" 2 "$rc"
expect_match "no arguments prints the usage" '^Usage: kapctl' "$out"

out=$("$KAPCTL" frobnicate 2>&1); rc=$?
expect_eq "an unknown object exits 2" 2 "$rc"
expect_match "an unknown object is named in the error" "unknown object 'frobnicate'" "$out"

out=$("$KAPCTL" stat 2>&1); rc=$?
expect_eq "a prefix of an object is not accepted (exact names)" 2 "$rc"

out=$("$KAPCTL" --frob 2>&1); rc=$?
expect_eq "an unknown option exits 2" 2 "$rc"
expect_match "an unknown option is named" "unknown option '--frob'" "$out"

out=$("$KAPCTL" -j frobnicate 2>/dev/null); rc=$?
expect_eq "in JSON mode a usage error still exits 2" 2 "$rc"
expect_eq "in JSON mode errors are JSON on stdout" "unknown object 'frobnicate'" "$(json_get "$out" 'd["error"]')"

version=$(sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' "$TESTS_DIR/../../module/version.h")
expect_eq "-V prints the version of module/version.h" "kapctl $version" "$("$KAPCTL" -V)"

for args in "help" "-h" "--help" "help status" "status help" "status --help"; do
	out=$("$KAPCTL" $args 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q '^Usage: kapctl' <<< "$out"; then
		ok "'kapctl $args' shows help"
	else
		fail "'kapctl $args' shows help" "rc=$rc: $out"
	fi
done

out=$("$KAPCTL" status extra 2>&1); rc=$?
expect_eq "status with an argument is a usage error" 2 "$rc"
finish
