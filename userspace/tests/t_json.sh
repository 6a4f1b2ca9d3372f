#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl's JSON as scripts rely on it: every command's -j output is JSON
# (one document, or one per line for watch) and every object carries
# "format_version"; errors too.  And --version: kapctl's and the module's,
# with a warning when they differ.
. "$(dirname "$0")/lib.sh"
fake_module 0.0.0-test
fake_policy pg 0 "lport=5432 idle=60 mode=fill" 12
conf=$FAKE/conf
echo "pg lport=5432 idle=60" > "$conf"
cat > "$FAKE/trace" <<'EOF'
          <idle>-0       [001] ..s2.   100.000001: probe_sent: family=4 src=192.0.2.1:40312 dst=198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0
          <idle>-0       [001] ..s2.   101.000001: probe_answered: family=4 src=192.0.2.1:40312 dst=198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0 rtt_us=7
EOF

# check(description, command...): each output line that is not empty must
# be a JSON object with format_version 1
check() {
	local desc=$1 out why
	shift
	out=$("$KAPCTL" -j "$@" 2>/dev/null)
	why=$(python3 -c '
import json, sys
lines = [l for l in sys.argv[1].splitlines() if l.strip()]
if not lines:
    print("no output")
for l in lines:
    try:
        d = json.loads(l)
    except ValueError as e:
        print("not JSON: %s: %s" % (e, l[:80]))
        break
    if not isinstance(d, dict) or d.get("format_version") != 1:
        print("no format_version 1: %s" % l[:80])
        break' "$out")
	if [ -z "$why" ]; then
		ok "-j $desc: JSON with format_version"
	else
		fail "-j $desc: JSON with format_version" "$why"
	fi
}

check "status" status
check "policy list" policy list
check "policy show" policy show pg
check "policy enforce" policy enforce
check "policy enforce on" policy enforce on
check "policy add" policy add web rport=443 idle=5m
check "policy move" policy move web 0
check "policy del" policy del web
check "policy flush" policy flush
check "policy presets" policy presets
check "policy presets NAME" policy presets aws-nlb
check "stats global" stats global
check "stats ports" stats ports
check "stats policies" stats policies
check "stats all" stats all
check "stats --format json" stats ports --format json
check "apply --check" apply --check "$conf"
check "apply" apply "$conf"
check "apply --missing-ok" apply --missing-ok "$FAKE/none"
check "watch --file (one object per event)" watch --file "$FAKE/trace"
check "doctor without a deaths file (the error)" doctor
printf '%s\n' "port kind side count sum_ms min_ms max_ms 1 30 +Inf" "6379 reset remote 2 50000 25000 25000 0 2 0" > "$FAKE/deaths"
check "doctor" doctor
check "stats ports with deaths" stats ports
check "an error" policy show nosuch
check "a usage error" policy list --bogus
check "--version" --version
KAPCTL_SYSFS=/nonexistent check "status without the module" status
KAPCTL_SYSFS=/nonexistent check "--version without the module" --version
if "$KAPCTL" sockets --port 1 > /dev/null 2>&1; then
	check "sockets" sockets --port 1
	check "sockets --at-risk" sockets --at-risk 1 --port 1
else
	skip "-j sockets: JSON with format_version" "sock_diag is not available here"
fi

# ---- --version ----
out=$("$KAPCTL" --version 2>&1)
expect_eq "--version: kapctl's and the module's, and a warning as they differ" \
	"kapctl $(sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' "$TESTS_DIR/../../module/version.h")|module 0.0.0-test|kapctl: warning: kapctl $(sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' "$TESTS_DIR/../../module/version.h") and the module 0.0.0-test differ: install both from the same release" \
	"$(paste -sd '|' <<< "$out")"
sed -n 's/^#define KAP_VERSION "\(.*\)"/\1/p' "$TESTS_DIR/../../module/version.h" > "$FAKE/version"
out=$("$KAPCTL" --version 2>&1)
expect_eq "--version: the same version, no warning" 2 "$(wc -l <<< "$out")"
out=$(KAPCTL_SYSFS=/nonexistent "$KAPCTL" -j --version)
expect_eq "--version -j without the module: module null" "None" "$(json_get "$out" 'd["module"]')"
finish
