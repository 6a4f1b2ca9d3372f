#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl's own policy keys against a fake sysfs tree: preset=NAME (the
# keepalive timing for a middlebox's idle timeout) and unit=NAME (a systemd
# unit's cgroup, asked of a fake systemctl), what reaches the control file,
# what is refused before it, "policy presets", and both in a config file.
. "$(dirname "$0")/lib.sh"
fake_module

run() { out=$("$KAPCTL" "$@" 2>&1); rc=$?; }
# added "desc" "command written" ARGS...: exit 0, silent, exactly that written
added() {
	local desc=$1 want=$2
	shift 2
	: > "$FAKE/control"
	run "$@"
	expect_eq "$desc" "0 |$want" "$rc $out|$(control_log)"
}
# refused "desc" "message" ARGS...: exit 2, that one line, nothing written
refused() {
	local desc=$1 want=$2
	shift 2
	: > "$FAKE/control"
	run "$@"
	if [ "$rc" -eq 2 ] && [ "$(head -n 1 <<< "$out")" = "kapctl: $want" ] && [ ! -s "$FAKE/control" ]; then
		ok "refused: $desc"
	else
		fail "refused: $desc" "rc=$rc out='$out' control='$(control_log)'"
	fi
}

# conntrack's timeout from a file of the test's, not from /proc
export KAPCTL_CONNTRACK_TIMEOUT_FILE=$FAKE/nf_conntrack_tcp_timeout_established
echo 432000 > "$KAPCTL_CONNTRACK_TIMEOUT_FILE"

# ---- each preset: idle=T/2 intvl=T/10 cnt=5 user_timeout=auto keepalive=on ----
ka="user_timeout=auto keepalive=on"
added "aws-nlb (350 s)" "add p idle=175 intvl=35 cnt=5 $ka" policy add p preset=aws-nlb
added "aws-nat (350 s)" "add p idle=175 intvl=35 cnt=5 $ka" policy add p preset=aws-nat
added "azure-lb (240 s)" "add p idle=120 intvl=24 cnt=5 $ka" policy add p preset=azure-lb
added "gcp-firewall (600 s)" "add p idle=300 intvl=60 cnt=5 $ka" policy add p preset=gcp-firewall
added "gcp-nat (1200 s)" "add p idle=600 intvl=120 cnt=5 $ka" policy add p preset=gcp-nat
added "ipvs (900 s)" "add p idle=450 intvl=90 cnt=5 $ka" policy add p preset=ipvs
added "conntrack at its default 432000 s: idle and intvl stop at 32767" \
	"add p idle=32767 intvl=32767 cnt=5 $ka" policy add p preset=conntrack
echo 3600 > "$KAPCTL_CONNTRACK_TIMEOUT_FILE"
added "conntrack: the sysctl's value as it is now (3600 s)" \
	"add p idle=1800 intvl=360 cnt=5 $ka" policy add p preset=conntrack
added "timeout:350" "add p idle=175 intvl=35 cnt=5 $ka" policy add p preset=timeout:350
added "timeout:5m50s, a duration with units" "add p idle=175 intvl=35 cnt=5 $ka" \
	policy add p preset=timeout:5m50s
added "timeout:333: rounded down to whole seconds" "add p idle=166 intvl=33 cnt=5 $ka" \
	policy add p preset=timeout:333
added "timeout:10, the least: intvl 1" "add p idle=5 intvl=1 cnt=5 $ka" policy add p preset=timeout:10
added "timeout:1d, the most: idle stops at 32767" "add p idle=32767 intvl=8640 cnt=5 $ka" \
	policy add p preset=timeout:1d

# ---- the preset's keys stand where it stands; keys given win, before or after ----
added "match keys around it stay in place" \
	"add db rport=5432 idle=175 intvl=35 cnt=5 $ka family=4" \
	policy add db rport=postgresql preset=aws-nlb family=4
added "a key given after the preset wins" \
	"add p intvl=120 cnt=5 $ka idle=60" policy add p preset=gcp-nat idle=60
added "a key given before the preset wins (idle=5m: 300 s)" \
	"add p idle=300 intvl=120 cnt=5 $ka" policy add p idle=5m preset=gcp-nat
added "explicit keepalive=on and user_timeout are not given twice" \
	"add p keepalive=on idle=450 intvl=90 cnt=5 user_timeout=60000" \
	policy add p keepalive=on preset=ipvs user_timeout=1m
added "every key given: the preset adds nothing" \
	"add p idle=1 intvl=2 cnt=3 user_timeout=4 keepalive=on mode=override" \
	policy add p idle=1 intvl=2 preset=aws-nlb cnt=3 user_timeout=4 keepalive=on mode=override
added "words split or joined, as for any key" "add p lport=80 idle=120 intvl=24 cnt=5 $ka" \
	policy add p "lport=80 preset=azure-lb"
out=$("$KAPCTL" -j policy add p preset=aws-nlb lport=1); rc=$?
expect_eq "JSON: the command written is the expansion" \
	"0 add p idle=175 intvl=35 cnt=5 $ka lport=1" "$rc $(json_get "$out" 'd["command"]')"

# ---- refused before the kernel ----
allowed="aws-nlb aws-nat azure-lb gcp-firewall gcp-nat ipvs conntrack timeout:SECONDS"
range="timeout:SECONDS with 10-86400 seconds, a number or with units (350, 5m50s)"
refused "two presets" "preset: is given twice; allowed: one preset per policy" \
	policy add p preset=aws-nlb idle=5 preset=aws-nlb
refused "an unknown preset, naming the allowed ones" "preset: 'aws-foo' is not a preset; allowed: $allowed" \
	policy add p preset=aws-foo
refused "an empty preset" "preset: '' is not a preset; allowed: $allowed" policy add p preset=
refused "a preset's name in another case" "preset: 'AWS-NLB' is not a preset; allowed: $allowed" \
	policy add p preset=AWS-NLB
refused "timeout:9, below the range" "preset: 'timeout:9' is out of range; allowed: $range" \
	policy add p preset=timeout:9
refused "timeout:86401, above the range" "preset: 'timeout:86401' is out of range; allowed: $range" \
	policy add p preset=timeout:86401
refused "timeout:350000 (milliseconds meant?)" "preset: 'timeout:350000' is out of range; allowed: $range" \
	policy add p preset=timeout:350000
refused "timeout: without seconds" "preset: 'timeout:' is not a duration; allowed: $range" \
	policy add p preset=timeout:
refused "timeout:abc" "preset: 'timeout:abc' is not a duration; allowed: $range" \
	policy add p preset=timeout:abc
refused "timeout:1500ms, not whole seconds" "preset: 'timeout:1500ms' is not whole seconds; allowed: $range" \
	policy add p preset=timeout:1500ms
refused "a key of the preset given badly is the parser's to refuse" \
	"idle: '0' is out of range; allowed: 1-32767 (seconds)" policy add p preset=aws-nlb idle=0
refused "a key given twice besides the preset: the parser's refusal" \
	"idle: is given twice; allowed: each key once" policy add p idle=1 preset=aws-nlb idle=2
out=$("$KAPCTL" -j policy add p preset=nope); rc=$?
expect_eq "JSON mode: a refused preset is a JSON error, exit 2" \
	"2 preset: 'nope' is not a preset; allowed: $allowed" "$rc $(json_get "$out" 'd["error"]')"

# conntrack: the sysctl unreadable (no nf_conntrack), or not a number
ct=$KAPCTL_CONNTRACK_TIMEOUT_FILE
rm -f "$ct"
refused "conntrack without nf_conntrack" \
	"preset: 'conntrack' cannot read $ct: No such file or directory (is nf_conntrack loaded? else use preset=timeout:SECONDS)" \
	policy add p preset=conntrack
echo banana > "$ct"
refused "conntrack: a sysctl that is not a number" "preset: 'conntrack': $ct holds 'banana', not a number of seconds" \
	policy add p preset=conntrack
echo 5 > "$ct"
refused "conntrack: a sysctl below 10 s" "preset: 'conntrack': $ct is 5 s, out of range; allowed: 10 or more seconds" \
	policy add p preset=conntrack
echo 432000 > "$ct"

# ---- policy presets: the list, one, JSON ----
run policy presets
expect_eq "presets: the table, exactly" \
"0 NAME          TIMEOUT   IDLE  INTVL  CNT  SOURCE
aws-nlb           350    175     35    5  AWS Network Load Balancer: TCP idle timeout 350 s
aws-nat           350    175     35    5  AWS NAT gateway: idle timeout 350 s
azure-lb          240    120     24    5  Azure Load Balancer: default idle timeout 4 min
gcp-firewall      600    300     60    5  GCP VPC firewall rules: connection tracking, 10 min idle
gcp-nat          1200    600    120    5  GCP Cloud NAT: TCP established idle timeout 1200 s
ipvs              900    450     90    5  Linux IPVS: TCP established timeout 900 s (ipvsadm --set)
conntrack      432000  32767  32767    5  net.netfilter.nf_conntrack_tcp_timeout_established here (default 432000 s)

timeout:SECONDS: any other middlebox's idle timeout, 10-86400 s (350, 5m50s).
Each preset gives idle=timeout/2 intvl=timeout/10 cnt=5 (idle and intvl 1-32767)
user_timeout=auto keepalive=on; keys given with the preset win." "$rc $out"
run policy presets timeout:5m
expect_eq "presets timeout:5m: that one" \
"0 NAME        TIMEOUT   IDLE  INTVL  CNT  SOURCE
timeout:5m      300    150     30    5  a middlebox with this idle timeout" "$rc $out"
run policy presets aws-foo
expect_eq "presets with an unknown name: exit 2, the allowed ones" \
	"2 kapctl: preset: 'aws-foo' is not a preset; allowed: $allowed" "$rc $(head -n 1 <<< "$out")"
out=$("$KAPCTL" -j policy presets); rc=$?
expect_eq "presets JSON: every preset, typed, with its keys" \
	"0 7 aws-nlb 350 175 35 5 auto True idle=175 intvl=35 cnt=5 $ka" \
	"$rc $(json_get "$out" '" ".join(str(x) for x in [len(d["presets"]), d["presets"][0]["name"], d["presets"][0]["timeout"], d["presets"][0]["idle"], d["presets"][0]["intvl"], d["presets"][0]["cnt"], d["presets"][0]["user_timeout"], d["presets"][0]["keepalive"], d["presets"][0]["keys"]])')"
rm -f "$ct"
run policy presets
expect_eq "presets without nf_conntrack: conntrack's row says so, the rest is listed" \
	"0|conntrack           -      -      -    -  net.netfilter.nf_conntrack_tcp_timeout_established here (default 432000 s)|preset: 'conntrack' cannot read $ct: No such file or directory (is nf_conntrack loaded? else use preset=timeout:SECONDS)" \
	"$rc|$(grep "conntrack' cannot\|^conntrack" <<< "$out" | paste -sd '|')"
out=$("$KAPCTL" -j policy presets conntrack 2>/dev/null); rc=$?
expect_eq "presets conntrack without nf_conntrack, JSON: an error, exit 2" \
	"2 preset: 'conntrack' cannot read $ct: No such file or directory (is nf_conntrack loaded? else use preset=timeout:SECONDS)" \
	"$rc $(json_get "$out" 'd["error"]')"
echo 432000 > "$ct"
run policy presets aws-nlb extra
expect_eq "presets with two arguments: usage" "2 kapctl: usage: kapctl policy presets [NAME|timeout:SECONDS]" \
	"$rc $(head -n 1 <<< "$out")"
(unset KAPCTL_SYSFS; KAPCTL_SYSFS=/nonexistent "$KAPCTL" policy presets aws-nat > /dev/null)
expect_eq "presets needs no module" 0 "$?"

# ---- unit=NAME: systemctl show's ControlGroup, as cgroup=ID ----
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
export KAPCTL_SYSTEMCTL=$FAKE/systemctl
cat > "$KAPCTL_SYSTEMCTL" <<EOF
#!/bin/sh
# what kapctl asked, then a ControlGroup as systemd prints it
echo "\$*" > "$FAKE/systemctl.args"
case "\$5" in
nginx.service | app.slice) echo "/" ;;
child.service) echo "/$(find "${cgroot:-/nonexistent}" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1 | sed "s|^$cgroot/||")" ;;
stopped.service) echo ;;
gone.service) echo /kap-no-such-cgroup/gone.service ;;
denied.service) echo "Failed to get properties: Access denied" >&2; exit 1 ;;
*) echo "Unit \$5 could not be found." >&2; exit 4 ;;
esac
EOF
chmod +x "$KAPCTL_SYSTEMCTL"

if [ -n "$cgroot" ]; then
	rootid=$(stat -c %i "$cgroot")
	added "unit=nginx: nginx.service's cgroup, by id" "add web cgroup=$rootid idle=60" \
		policy add web unit=nginx idle=60
	expect_eq "... asked of systemctl without a shell, the unit after --" \
		"show --property=ControlGroup --value -- nginx.service" "$(cat "$FAKE/systemctl.args")"
	added "unit=app.slice: a unit type is kept" "add s cgroup=$rootid $(echo idle=175 intvl=35 cnt=5 $ka)" \
		policy add s unit=app.slice preset=aws-nlb
	expect_eq "... as given" "show --property=ControlGroup --value -- app.slice" "$(cat "$FAKE/systemctl.args")"
	sub=$(find "$cgroot" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	if [ -n "$sub" ]; then
		added "unit=: a cgroup below the root" "add c cgroup=$(stat -c %i "$sub") idle=1" \
			policy add c unit=child idle=1
	else
		skip "unit=: a cgroup below the root" "no child cgroup"
	fi
	refused "unit=: a ControlGroup that does not exist" \
		"unit: 'gone.service' has cgroup '/kap-no-such-cgroup/gone.service', which does not exist under $cgroot (did it just stop?)" \
		policy add p unit=gone idle=1
else
	for t in "unit=nginx" "... asked of systemctl" "unit=app.slice" "... as given" "a cgroup below" "does not exist"; do
		skip "unit: $t" "no cgroup2 mount here"
	done
fi
refused "unit= of a unit that is not running (empty ControlGroup)" \
	"unit: 'stopped.service' has no cgroup (is it running? a policy names a running unit's cgroup)" \
	policy add p unit=stopped idle=1
refused "unit= when systemctl fails: its words" \
	"unit: 'denied.service': systemctl show failed: Failed to get properties: Access denied" \
	policy add p unit=denied idle=1
refused "unit= and cgroup= together" \
	"unit: 'nginx' is given with cgroup=; allowed: one of unit=NAME and cgroup=ID|PATH" \
	policy add p cgroup=1 unit=nginx idle=1
refused "unit= twice" "unit: is given twice; allowed: each key once" \
	policy add p unit=nginx unit=nginx idle=1
unitallowed="a systemd unit name (nginx.service; nginx is nginx.service), at most 255 characters from A-Z a-z 0-9 : - _ . \\ @"
refused "unit= of a path" "unit: 'system.slice/nginx.service' is not a unit name; allowed: $unitallowed" \
	policy add p unit=system.slice/nginx.service idle=1
refused "unit= empty" "unit: '' is not a unit name; allowed: $unitallowed" policy add p unit= idle=1
refused "unit= too long with .service" \
	"unit: '$(printf 'u%.0s' {1..64})...' is not a unit name; allowed: $unitallowed" \
	policy add p "unit=$(printf 'u%.0s' {1..250})" idle=1
KAPCTL_SYSTEMCTL=$FAKE/no-such-systemctl run policy add p unit=nginx idle=1
expect_eq "unit= without systemctl: exit 2, says so" \
	"2 kapctl: unit: 'nginx.service': cannot run $FAKE/no-such-systemctl: No such file or directory (unit= needs systemd; cgroup=PATH names a cgroup without it)" \
	"$rc $(head -n 1 <<< "$out")"

# ---- both in a config file: apply --check, and apply ----
conf=$FAKE/kapolicy.conf
cat > "$conf" <<EOF
# behind an AWS NLB
db   rport=postgresql preset=aws-nlb
web  unit=nginx preset=gcp-nat idle=300
EOF
[ -n "$cgroot" ] || sed -i 's/unit=nginx/cgroup=1/' "$conf"
: > "$FAKE/control"
run apply --check "$conf"
expect_eq "apply --check: a file with preset= and unit= is valid, nothing written" \
	"0|$conf: 2 policies, valid|" "$rc|$(tail -n 1 <<< "$out")|$(control_log)"
out=$("$KAPCTL" -j apply --check "$conf"); rc=$?
expect_eq "apply --check JSON: valid, both policies" "0 True db web" \
	"$rc $(json_get "$out" '" ".join(str(x) for x in [d["valid"]] + d["policies"])')"
: > "$FAKE/control"
run apply "$conf"
expect_eq "apply: the expansions reach the kernel" \
	"0|add db rport=5432 idle=175 intvl=35 cnt=5 $ka|add web cgroup=${rootid:-1} intvl=120 cnt=5 $ka idle=300" \
	"$rc|$(grep '^add ' "$FAKE/control" | paste -sd '|')"
printf 'db rport=5432 preset=aws-foo\nweb unit=stopped idle=1\n' > "$conf"
: > "$FAKE/control"
run apply --check "$conf"
expect_eq "apply --check: preset and unit errors with their line numbers, nothing written" \
	"1|kapctl: $conf:1: preset: 'aws-foo' is not a preset; allowed: $allowed|kapctl: $conf:2: unit: 'stopped.service' has no cgroup (is it running? a policy names a running unit's cgroup)|" \
	"$rc|$(grep "^kapctl: $conf:[0-9]" <<< "$out" | paste -sd '|')|$(control_log)"

# ---- completion: every preset= value it offers is accepted ----
. "$TESTS_DIR/../completion/kapctl.bash"
COMP_WORDS=("$KAPCTL" policy add p "preset=")
COMP_CWORD=4
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_kapctl 2>/dev/null
offered=$(printf '%s ' "${COMPREPLY[@]}")
expect_eq "completion offers the presets for preset=" "$allowed " "${offered/timeout:/timeout:SECONDS}"
bad=
for v in "${COMPREPLY[@]}"; do
	[ "$v" = timeout: ] && v=timeout:350
	"$KAPCTL" policy add p "preset=$v" > /dev/null 2>&1 || bad="$bad $v"
done
expect_eq "every preset= value the completion offers is accepted" "" "$bad"

finish
