#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Override against revert.  An application on 200 connections keeps
# setting SO_KEEPALIVE, TCP_KEEPIDLE and TCP_KEEPCNT (4 threads, random
# values unlike the policy's) while an override policy for those
# connections is added and deleted, and committed in a transaction and
# deleted, 500 times each; then added once more, and the module unloaded
# right after the application stops.  Every socket must
# then hold exactly what the application last set (getsockopt), nothing
# kapolicy wrote: no overrule may come after a revert, no revert may take
# back a value the application set, and no flag bit may be lost.
. "$(dirname "$0")/functions.sh"

PORT=5090
ROUNDS=${KAP_RACE_ROUNDS:-500}

setup
ktap_plan 4
unload_mod_if_loaded
load_mod
WORK=$(mktemp -d /tmp/kaprace.XXXXXX)
push_cleanup "rm -rf $WORK"

python3 - "$PORT" "$WORK" <<'PY' &
import json, os, random, socket, sys, threading, time

port, work = int(sys.argv[1]), sys.argv[2]
N, THREADS = 200, 4
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(N)
clients, servers = [], []
for i in range(N):
    c = socket.create_connection(("127.0.0.1", port))
    clients.append(c)
    servers.append(l.accept()[0])
OPTS = [("keepalive", socket.SOL_SOCKET, socket.SO_KEEPALIVE, lambda r: r.randint(0, 1)),
        ("idle", socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, lambda r: r.randint(100, 200)),
        ("cnt", socket.IPPROTO_TCP, socket.TCP_KEEPCNT, lambda r: r.randint(10, 20))]
last = [{} for _ in range(N)]
calls = [0] * THREADS
stop = threading.Event()


def worker(t):
    r = random.Random(t)
    mine = range(t, N, THREADS)
    while not stop.is_set():
        i = r.choice(mine)
        name, level, opt, val = r.choice(OPTS)
        v = val(r)
        clients[i].setsockopt(level, opt, v)
        last[i][name] = v
        calls[t] += 1


ths = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
for t in ths:
    t.start()
open(os.path.join(work, "ready"), "w").close()
while not os.path.exists(os.path.join(work, "stop")):
    time.sleep(0.005)
stop.set()
for t in ths:
    t.join()
open(os.path.join(work, "stopped"), "w").close()
while not os.path.exists(os.path.join(work, "check")):
    time.sleep(0.1)
want_default = {"keepalive": 0, "idle": 7200, "cnt": 9}
bad = []
for i, c in enumerate(clients):
    got = {"keepalive": c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
           "idle": c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
           "cnt": c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)}
    want = dict(want_default, **last[i])
    if got != want:
        bad.append({"conn": i, "want": want, "got": got})
with open(os.path.join(work, "result"), "w") as f:
    json.dump({"calls": sum(calls), "bad": len(bad), "first": bad[:3]}, f)
PY
APP=$!
push_cleanup "kill $APP 2>/dev/null"
loop_until "[ -e $WORK/ready ]" || die "the application did not start"

ctl() { echo "$1" > "$SYSFS_DIR/control"; }
SPEC="rport=$PORT idle=77 cnt=7 keepalive=on mode=override"
log "$ROUNDS rounds of add/del and begin/add/commit/del of: $SPEC"
start=$(date +%s)
for ((i = 0; i < ROUNDS; i++)); do
	ctl "add ov $SPEC"
	ctl "del ov"
	ctl begin
	ctl "add ov $SPEC"
	ctl commit
	ctl "del ov"
done
# a last add, and the unload reverts what it wrote, the application still
# busy until just before
ctl "add ov $SPEC"
sleep 1
touch "$WORK/stop"
log "rounds took $(( $(date +%s) - start )) s; app_overrides $(cat $SYSFS_DIR/stats/app_overrides), hooks missed $(cat $SYSFS_DIR/limits/hooks_missed)"
expect_eq "the table holds the last add" "ov" "$(ls "$SYSFS_DIR/policies")"
overrides=$(cat $SYSFS_DIR/stats/app_overrides)
loop_until "[ -e $WORK/stopped ]" || die "the application did not stop"
unload_mod
touch "$WORK/check"
loop_until "[ -e $WORK/result ]" || die "no result"
log "result: $(cat "$WORK/result")"
if [ "$overrides" -gt 0 ]; then
	ok "the policy overruled the application meanwhile ($overrides times)"
else
	fail "the policy overruled the application meanwhile" "app_overrides 0"
fi
expect_eq "the application made its calls throughout" yes \
	"$(python3 -c 'import json,sys; print("yes" if json.load(open(sys.argv[1]))["calls"] > 1000 else "no")' "$WORK/result")"
expect_eq "after rmmod every socket holds what the application last set" 0 \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bad"])' "$WORK/result")"
wait $APP
ktap_finish
