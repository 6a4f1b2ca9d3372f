#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapolicy.service as "make install" lays it out, run by hand (the VM has no
# systemd as PID 1): its ExecStartPre and ExecStart lines, then ExecReload,
# executed as systemd would, in a copy of the staged install
# ($KAP_STAGE, made by vm.sh with "make install DESTDIR=").  Absolute paths
# that the install put in the stage are taken from there; modprobe finds
# the module through "-d STAGE" and the stage's own depmod index.
#   - with the shipped /etc/kapolicy.conf (every policy commented out): the
#     module is loaded, the table is empty, the service succeeds;
#   - with no /etc/kapolicy.conf: the module is loaded all the same;
#   - with policies: they are applied, in order;
#   - reload after an edit: the table becomes the new file, a policy kept
#     unchanged keeps its counters;
#   - reload with a bad file (a typo, a truncated file, a file emptied by
#     mistake): the service fails, says why, the table is as it was.
. "$(dirname "$0")/functions.sh"

setup
ktap_plan 17
[ -n "${KAP_STAGE:-}" ] || skip_all "no staged install (KAP_STAGE is not set)"
[ -d "$KAP_STAGE" ] || die "KAP_STAGE=$KAP_STAGE is not a directory"

krel=$(uname -r)
stage=$(mktemp -d /tmp/kapstage.XXXXXX)
cp -a "$KAP_STAGE/." "$stage/"
push_cleanup "rm -rf '$stage'"
unit=$(find "$stage" -name kapolicy.service -path '*/systemd/system/*' | head -n 1)
conf=$stage/etc/kapolicy.conf
[ -f "$unit" ] || die "no kapolicy.service in $KAP_STAGE"
depmod -b "$stage" "$krel" 2> /dev/null || die "depmod -b $stage"

# run_exec KEY: runs the unit's KEY= lines in order, as systemd does (the
# first failure stops the sequence, unless the command has systemd's "-"
# prefix); prints the output, returns its status.  Words are split on
# blanks, without globbing (the unit has no quoting).
run_exec() {
	local key=$1 line word rc=0 cmd ignore
	local -a argv
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		cmd=${line#"$key"=}
		ignore=
		while [[ $cmd == [-@+!:]* ]]; do
			[[ $cmd == -* ]] && ignore=1
			cmd=${cmd:1}
		done
		argv=()
		set -f
		for word in $cmd; do
			if [[ $word == /* ]] && { [ -e "$stage$word" ] || [ -d "$stage${word%/*}" ]; }; then
				word=$stage$word
			fi
			argv+=("$word")
		done
		set +f
		if [[ ${argv[0]} == */modprobe ]]; then
			argv=("${argv[0]}" -d "$stage" "${argv[@]:1}")
		fi
		"${argv[@]}" 2>&1 || [ -n "$ignore" ] || { rc=$?; break; }
	done <<< "$(grep -E "^$key=" "$unit")"
	return $rc
}

start() { run_exec ExecStartPre && run_exec ExecStart; }
names() {
	kapctl -j policy list 2>&1 |
		python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["policies"]))' 2>/dev/null ||
		echo "(no table)"
}

unload_mod_if_loaded
check "the staged unit loads the module, then applies /etc/kapolicy.conf" \
	bash -c "grep -qE '^ExecStartPre=/sbin/modprobe kapolicy\$' '$unit' &&
		 grep -qE '^ExecStart=/usr/sbin/kapctl apply --missing-ok /etc/kapolicy.conf\$' '$unit'"

# ---- the shipped config ----
out=$(start)
rc=$?
log "start (shipped config): rc=$rc: $out"
expect_eq "start with the shipped config: success" 0 "$rc"
check "start loads the module from where make install put it" is_loaded
expect_eq "the shipped config applies no policy" "" "$(names)"
unload_mod

# ---- no config ----
mv "$conf" "$conf.shipped"
out=$(start)
rc=$?
log "start (no config): rc=$rc: $out"
grep -q "^$conf: does not exist" <<< "$out" || fail "the staged unit's config path is $conf" "$out"
expect_eq "start without /etc/kapolicy.conf: success" 0 "$rc"
check "start without /etc/kapolicy.conf loads the module (counters)" is_loaded

# ---- policies ----
cat > "$conf" <<-EOF
	# two policies
	web lport=80 idle=60 intvl=10 cnt=5 keepalive=on
	db  rport=5432 preset=aws-nlb
EOF
out=$(run_exec ExecReload)
rc=$?
log "reload (two policies): rc=$rc: $out"
expect_eq "reload applies the file: success" 0 "$rc"
expect_eq "the table is the file's, in order" "web db" "$(names)"
expect_eq "a preset is expanded" "rport=5432 idle=175 intvl=35 cnt=5 user_timeout=auto keepalive=on mode=fill" \
	"$(cat $SYSFS_DIR/policies/db/spec)"

# a policy kept unchanged keeps its counters: mark it through its counters'
# identity (the kernel keeps the same policy object, and its directory)
ino_before=$(stat -c %i "$SYSFS_DIR/policies/web")
cat > "$conf" <<-EOF
	web lport=80 idle=60 intvl=10 cnt=5 keepalive=on
	api lport=8080 idle=30
EOF
out=$(run_exec ExecReload)
rc=$?
log "reload (edit): rc=$rc: $out"
expect_eq "reload after an edit: success" 0 "$rc"
expect_eq "the table follows the edit" "web api" "$(names)"
if grep -q '^+ api' <<< "$out" && grep -q '^- db' <<< "$out"; then
	ok "reload says what changed (+ api, - db)"
else
	fail "reload says what changed (+ api, - db)" "$out"
fi
expect_eq "the unchanged policy is the same object" "$ino_before" "$(stat -c %i "$SYSFS_DIR/policies/web")"

# ---- reload after the module was unloaded: loaded again, file applied ----
unload_mod
out=$(run_exec ExecReload)
rc=$?
log "reload (module unloaded): rc=$rc: $out"
expect_eq "reload after modprobe -r loads the module and applies the file" "0 web api" "$rc $(names)"

# ---- bad files leave the table as it was ----
bad_reload() {
	local desc=$1 want=$2 out rc
	out=$(run_exec ExecReload)
	rc=$?
	log "reload ($desc): rc=$rc: $out"
	if [ $rc -ne 0 ] && grep -q -- "$want" <<< "$out" && [ "$(names)" = "web api" ]; then
		ok "reload with $desc fails, says why, keeps the table"
	else
		fail "reload with $desc fails, says why, keeps the table" "rc=$rc table='$(names)' out=$out"
	fi
}
printf 'web lport=80 idle=60\napi lport=8080 idel=30\n' > "$conf"
bad_reload "a typo" "kapolicy.conf:2: "
printf 'web lport=80 idle=60\napi lport=80' > "$conf"
bad_reload "a truncated file" "looks truncated"
: > "$conf"
bad_reload "an emptied file" "would remove all 2 policies"

ktap_finish
