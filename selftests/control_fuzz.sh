#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 100,000 random writes to control under connection churn
# (control_fuzz.py: valid, malformed and truncated commands, token soup,
# random bytes, writers SIGKILLed inside a transaction), with max_policies
# 256 so that a full table is one outcome among others.  Connections to a
# port the policies often name open and close meanwhile, in a cgroup and
# network namespaces the policies name too, so that the hooks apply
# policies while the table changes under them.  Then:
#   - every write had an outcome the ABI allows for it, and the listed
#     table always equalled a model of it (control_fuzz.py's summary);
#   - every listed policy is well-formed: kapctl lists it, and its spec,
#     re-added under a new name to an emptied table, is accepted and reads
#     back the same;
#   - the counters agree: each policy's counters are within the host-wide
#     ones, the ports columns sum to stats/, nothing went backwards, no hook
#     was missed;
#   - a transaction opens and commits after the killed writers, flush
#     empties the table, tracked sockets return to 0 and the module unloads.
# KAP_FUZZ_WRITES and KAP_FUZZ_SEED change the number of writes and replay a
# seed (printed as "# control_fuzz: seed S").
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5070
WRITES=${KAP_FUZZ_WRITES:-100000}
MAX_POLICIES=256
CG=/sys/fs/cgroup/kapfuzz-$$
FUZZ="python3 $(cd "$(dirname "$0")" && pwd)/control_fuzz.py"

setup
ktap_plan 17
unload_mod_if_loaded
mkdir -p $CG/a $CG/b $CG/gone || skip_all "no cgroup v2 at /sys/fs/cgroup"
push_cleanup "rmdir $CG/a $CG/b $CG/gone $CG 2>/dev/null"
id_root=$(stat -c %i /sys/fs/cgroup)
id_a=$(stat -c %i $CG/a)
id_b=$(stat -c %i $CG/b)
id_gone=$(stat -c %i $CG/gone)
rmdir $CG/gone
load_mod max_policies=$MAX_POLICIES
net_setup

# j(expression) - a Python expression over the fuzzer's summary d
function j() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$WORK/fuzz.json" "$1"
}

# counters(dir) - "name value" of every counter file in dir, sorted
function counters() {
	grep -H . "$1"/* | sed 's|.*/||; s/:/ /' | sort
}

# table - "order name spec" of every listed policy, in match order (one
# process: a few hundred policies under emulation)
function table() {
	python3 -c 'import os, sys
d = sys.argv[1]
rows = []
for n in os.listdir(d):
    rows.append((int(open(os.path.join(d, n, "order")).read()), n,
                 open(os.path.join(d, n, "spec")).read().strip()))
for r in sorted(rows):
    print(*r)' "$SYSFS_DIR/policies"
}

server_start $S4 $PORT
# the churn client in cgroup a, which cgroup policies name
sh -c 'echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"' sh "$CG/a" \
	ip netns exec $NS_C $KAPTOOL churn $S4 $PORT --seconds 100000 --keepalive \
	--result "$WORK/churn.result" &
CHURN=$!
counters "$SYSFS_DIR/stats" > "$WORK/stats0"

ns_init=$(python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
log "cgroups: root $id_root, a $id_a, b $id_b, removed $id_gone; netns cookies: init $ns_init"
t0=$(date +%s)
$FUZZ --kmsg --writes "$WRITES" ${KAP_FUZZ_SEED:+--seed "$KAP_FUZZ_SEED"} \
	--max-policies $MAX_POLICIES --port $PORT \
	--cgroup "$id_root" --cgroup "$id_a" --cgroup "$id_b" --gone-cgroup "$id_gone" \
	--netns "$ns_init" --netns "$(netns_cookie $NS_C)" --netns "$(netns_cookie $NS_S)" \
	> "$WORK/fuzz.json"
rc=$?
log "control_fuzz.py: exit $rc after $(( $(date +%s) - t0 )) s"
kill -TERM $CHURN
wait $CHURN
server_stop
log "churn: $(cat "$WORK/churn.result")"
[ -s "$WORK/fuzz.json" ] || die "control_fuzz.py left no summary"
log "outcomes: $(j 'json.dumps(d["by_outcome"], sort_keys=True)')"
for k in valid malformed truncated soup random killed_writer; do
	log "  $k: $(j "json.dumps(d['by_kind'].get('$k', {}), sort_keys=True)")"
done
log "killed writers: $(j 'json.dumps(d["killed_writers"], sort_keys=True)')"
log "transactions past max_policies: $(j 'json.dumps(d["notes"], sort_keys=True)')"
log "$(j 'd["table_changes"]') commands accepted (live or staged), $(j 'd["ms_per_change"]') ms each; the other writes $(j 'd["ms_per_other"]') ms"

# (a killed writer's episode or the final abort may add a few)
expect_eq "control_fuzz.py made its $WRITES writes ($(j 'd["writes"]'))" yes \
	"$(j '"yes" if d["writes"] >= '$WRITES' else "no"')"
if [ "$(j 'd["unexpected"] + len(d["selfcheck"])')" = 0 ]; then
	ok "every write had an outcome the ABI allows (no other errno, no malformed command accepted)"
else
	fail "every write had an outcome the ABI allows" "$(j 'd["unexpected"]') unexpected"
	j '"\n".join(json.dumps(u) for u in d["unexpected_first"] + d["selfcheck"])' |
		sed 's/^/# /'
fi
expect_eq "every outcome of the ABI occurred" "OK EINVAL ERANGE EEXIST ENOENT ENOSPC EBUSY" \
	"$(j '" ".join(e for e in "OK EINVAL ERANGE EEXIST ENOENT ENOSPC EBUSY".split() if d["by_outcome"].get(e))')"
expect_eq "the listed table equalled the model at each of $(j 'd["table_checks"]') checks" \
	"0 yes" "$(j 'd["table_mismatches"]') $(j '"yes" if d["table_checks"] >= '$((WRITES / 5000))' else "no"')"
expect_eq "$(j 'd["killed_writers"]["episodes"]') writers killed in a transaction: EBUSY while they lived, begin after" \
	"yes yes" "$(j '"yes" if d["killed_writers"]["episodes"] >= 10 else "no"') $(j '("yes" if
	(k := d["by_kind"].get("killed_writer", {})).get("EBUSY", 0) == d["killed_writers"]["busy_writes"]
	and k.get("OK", 0) == d["killed_writers"]["begin_after"] and len(k) <= 2 else "no")')"
governed=$(( $(kap_stat sockets_governed) - $(awk '$1 == "sockets_governed" { print $2 }' "$WORK/stats0") ))
done=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$WORK/churn.result")
if [ "$done" -gt 100 ] && [ "$governed" -gt 0 ]; then
	ok "connections churned throughout ($done), policies governed $governed of them"
else
	fail "connections churned and were governed" "$done connections, $governed governed"
fi

# ---- counters, once no connection is left -------------------------------
function open_conns() {
	echo $(( $(in_ns $NS_C ss -Htn state connected exclude time-wait | wc -l) +
		$(in_ns $NS_S ss -Htn state connected exclude time-wait | wc -l) ))
}
loop_until "[ \$(open_conns) -eq 0 ]" || log "connections are left: $(open_conns)"
counters "$SYSFS_DIR/stats" > "$WORK/stats1"
expect_eq "no host-wide counter went backwards" "" \
	"$(join "$WORK/stats0" "$WORK/stats1" | awk '$3 < $2 { print $1 }')"
grep -H . "$SYSFS_DIR"/policies/*/stats/* 2>/dev/null | sed 's|.*/||; s/:/ /' |
	awk '{ s[$1] += $2 } END { for (c in s) print c, s[c] }' | sort > "$WORK/policy_sums"
expect_eq "each counter summed over the $(ls $SYSFS_DIR/policies | wc -l) policies is within the host-wide one" "" \
	"$(join "$WORK/stats1" "$WORK/policy_sums" | awk '$3 > $2 { print $1 ": " $3 " > " $2 }')"
expect_ports_sum "every column of ports sums to stats/"
limits=$(cd $SYSFS_DIR/limits && for f in *; do printf "%s=%s " $f "$(cat $f)"; done)
log "limits: $limits"
expect_eq "limits readable and kept, no hook missed" "0 yes yes" \
	"$(cat $SYSFS_DIR/limits/hooks_missed) $(
	[ "$(cat $SYSFS_DIR/limits/sockets_tracked)" -le "$(cat $SYSFS_DIR/limits/sockets_max)" ] && echo yes || echo no) $(
	[ "$(cat $SYSFS_DIR/limits/ports_tracked)" -le "$(cat $SYSFS_DIR/limits/ports_max)" ] && echo yes || echo no)"

# ---- every listed policy is well-formed -----------------------------------
table > "$WORK/table"
n=$(wc -l < "$WORK/table")
if kapctl -j policy list > "$WORK/list.json"; then
	expect_eq "kapctl -j policy list lists the $n policies as policies/ has them" \
		"$(cat "$WORK/table")" "$(python3 -c 'import json, sys
for p in json.load(open(sys.argv[1]))["policies"]:
    print(p["order"], p["name"], p["spec"])' "$WORK/list.json")"
else
	fail "kapctl -j policy list" "exit $?: $(cat "$WORK/list.json")"
fi
policy "flush"
cut -d' ' -f3- "$WORK/table" | awk '{ print "add again" NR " " $0 }' > "$WORK/readd"
(echo begin; cat "$WORK/readd"; echo commit) | kap_ctl - > "$WORK/readd.out"
expect_eq "each listed spec, re-added under a new name after flush, is accepted" \
	"$((n + 2)) OK" "$(sort "$WORK/readd.out" | uniq -c | awk '{ print $1, $2 }' | paste -sd ' ')"
expect_eq "... and reads back the same, in the same order" "$(cut -d' ' -f2- "$WORK/table" | awk '{ $1 = "again" NR } 1')" \
	"$(table | cut -d' ' -f2-)"

# ---- transactions, flush, unload --------------------------------------------
expect_eq "after the killed writers a transaction opens and commits" "OK OK OK|t" \
	"$(echo $(kap_ctl "flush" "begin" "add t idle=5" "commit" | tail -n 3))|$(ls $SYSFS_DIR/policies)"
policy "flush"
expect_eq "flush leaves no policy" 0 "$(ls $SYSFS_DIR/policies | wc -l)"
loop_until "[ \$(cat $SYSFS_DIR/limits/sockets_tracked) -eq 0 ]"
expect_eq "no socket tracked once no connection is left" 0 "$(cat $SYSFS_DIR/limits/sockets_tracked)"
log "% rmmod $MOD_NAME"
if rmmod $MOD_NAME && loop_until "! is_loaded"; then
	ok "the module unloads"
else
	fail "the module unloads"
fi
ktap_finish
