#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input changes nothing: every malformed write to control (the table in
# policy_cases.txt, shared with the parser's unit test) gets its errno and
# leaves the policy table exactly as it was; so do writes by non-root,
# malformed enforce values, a full table (ENOSPC), a port index that would
# outgrow its bound (ENOSPC at commit), and another process's open
# transaction (EBUSY).
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

CASES=$(dirname "$0")/policy_cases.txt

setup
nrows=$(grep -cvE '^(#|$)' "$CASES")
ktap_plan $((nrows + 13))
unload_mod_if_loaded
load_mod

# table_state - everything a write could change, as text
function table_state() {
	local d
	echo "enforce $(cat $SYSFS_DIR/enforce)"
	for d in "$SYSFS_DIR"/policies/*/; do
		[ -d "$d" ] || continue
		echo "$(basename "$d") $(cat "$d/order") $(cat "$d/spec")"
	done
}

policy "add existing lport=1 idle=5"
before=$(table_state)
log "table before: $before"

while IFS=$'\t' read -r want where cmd; do
	[[ -z $want || $want == \#* ]] && continue
	got=$(kap_ctl "$cmd")
	after=$(table_state)
	if [ "$got" = "$want" ] && [ "$after" = "$before" ]; then
		ok "'$cmd' ($where): $want, table unchanged"
	else
		fail "'$cmd' ($where): $want, table unchanged" "got $got; table: $after"
	fi
done < "$CASES"

# ---- not root ------------------------------------------------------------
got=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	$KAPTOOL ctl "$SYSFS_DIR/control" "add x idle=5")
expect_eq "a user other than root gets EACCES" "EACCES" "$got"
got=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	$KAPTOOL ctl "$SYSFS_DIR/enforce" "0")
expect_eq "... also on enforce" "EACCES" "$got"
expect_eq "... and the table is unchanged" "$before" "$(table_state)"

# ---- enforce ---------------------------------------------------------------
got=$($KAPTOOL ctl "$SYSFS_DIR/enforce" "2" "on" "1 " "01" "-1")
expect_eq "enforce takes only 0 or 1" "EINVAL EINVAL EINVAL EINVAL EINVAL" "$(echo $got)"
expect_eq "... and stays 1" "$before" "$(table_state)"

# ---- a transaction of another process: EBUSY until it ends ------------------
$KAPTOOL ctl --hold 30 "$SYSFS_DIR/control" "begin" > "$WORK/owner.out" &
owner=$!
loop_until "grep -q OK $WORK/owner.out" || die "begin failed"
expect_eq "while another process holds a transaction: EBUSY" "EBUSY EBUSY EBUSY" \
	"$(echo $(kap_ctl "add x idle=5" "flush" "begin"))"
kill $owner
wait $owner 2>/dev/null
expect_eq "once it is gone, its transaction is dropped" "OK" "$(kap_ctl "add after-owner idle=5")"
policy "del after-owner"
expect_eq "... and the table is as before" "$before" "$(table_state)"

# ---- a transaction that cannot be indexed: ENOSPC at commit -----------------
# 3000 nested lport ranges would need 4.5 million index entries (the bound is
# 4 Mi): the commit is refused and the table stays as it was.
{
	echo begin
	for i in $(seq 0 2999); do
		echo "add n$i lport=$((i + 1))-$((65535 - i)) idle=5"
	done
	echo commit
	echo abort
} | $KAPTOOL ctl "$SYSFS_DIR/control" - > "$WORK/nested.out"
expect_eq "3000 staged adds are accepted" 3001 "$(head -n 3001 "$WORK/nested.out" | grep -c OK)"
expect_eq "the commit is refused with ENOSPC, the abort accepted" "ENOSPC OK" \
	"$(echo $(tail -n 2 "$WORK/nested.out"))"
expect_eq "... and the table is as before" "$before" "$(table_state)"
unload_mod

# ---- a full table: ENOSPC ---------------------------------------------------
load_mod max_policies=3
expect_eq "max_policies=3: three adds succeed, the fourth is ENOSPC" "OK OK OK ENOSPC" \
	"$(echo $(kap_ctl "add a idle=5" "add b idle=5" "add c idle=5" "add d idle=5"))"
expect_eq "... and the table holds a, b and c" "a b c" \
	"$(echo $(ls $SYSFS_DIR/policies))"
unload_mod
ktap_finish
