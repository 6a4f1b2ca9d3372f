#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A netns policy names one namespace for its whole life: it matches the
# namespace's cookie (SO_NETNS_COOKIE), which the kernel never gives to
# another namespace, not its inode number, which the kernel hands out again
# (the lowest free one) as soon as the namespace is gone.
#
#   - kapctl takes netns=NAME (/run/netns) and netns=/proc/PID/ns/net and
#     writes the cookie;
#   - the policy governs its namespace's connections and no other's;
#   - its namespace deleted, a new namespace that gets the same inode
#     number is not governed; the policy stays, listed, matching nothing.
. "$(dirname "$0")/functions.sh"

PORT=5081
NS_A=kap-nsa
NS_B=kap-nsb
NS_X=kap-nsx

setup
ktap_plan 8
unload_mod_if_loaded

function ns_cleanup() {
	local ns
	for ns in $NS_A $NS_B $NS_X; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
ns_cleanup
push_cleanup ns_cleanup

function ns_add() {
	ip netns add "$1" || die "ip netns add $1"
	ip netns exec "$1" ip link set lo up
}

# ns_cookie(ns) - the namespace's cookie, as a socket in it reports it
function ns_cookie() {
	ip netns exec "$1" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'
}

# ns_conn(ns) - "keepalive idle intvl cnt user_timeout" of a new loopback
# connection in ns whose application set TCP_KEEPIDLE=100 and nothing else
function ns_conn() {
	ip netns exec "$1" python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen()
c = socket.socket()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 100)
c.connect(("127.0.0.1", port))
a, _ = l.accept()
g = c.getsockopt
print(g(socket.SOL_SOCKET, socket.SO_KEEPALIVE), g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
      g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
      g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))
PY
}

load_mod
ns_add $NS_A
ns_add $NS_X
cookie_a=$(ns_cookie $NS_A)
ino_a=$(stat -L -c %i /run/netns/$NS_A)
log "$NS_A: cookie $cookie_a, inode $ino_a"

# ---- kapctl names the namespace, the kernel is given its cookie ----
kapctl policy add nsa netns=$NS_A idle=7 intvl=8 cnt=3 keepalive=on mode=override ||
	die "kapctl policy add netns=NAME"
expect_eq "kapctl: netns=NAME is the namespace's cookie" \
	"netns=$cookie_a idle=7 intvl=8 cnt=3 keepalive=on mode=override" \
	"$(cat "$SYSFS_DIR/policies/nsa/spec")"
ip netns exec $NS_A sleep 60 &
holder=$!
# (ip netns exec enters the namespace, then becomes sleep)
loop_until "[ \"\$(stat -L -c %i /proc/$holder/ns/net)\" = $ino_a ]" ||
	die "the holder did not enter $NS_A"
kapctl policy add nsp netns=/proc/$holder/ns/net idle=9 || die "kapctl policy add netns=PATH"
expect_eq "kapctl: netns=/proc/PID/ns/net is the same cookie" "netns=$cookie_a idle=9 mode=fill" \
	"$(cat "$SYSFS_DIR/policies/nsp/spec")"
kapctl policy del nsp || die "kapctl policy del"
kill $holder
wait $holder 2>/dev/null

GOVERNED="1 7 8 3 0"
UNGOVERNED="0 100 75 9 0"
expect_eq "the policy governs its namespace's connections" "$GOVERNED" "$(ns_conn $NS_A)"
expect_eq "... and not another namespace's" "$UNGOVERNED" "$(ns_conn $NS_X)"

# ---- the namespace dies; a new one gets its inode number ----
ip netns del $NS_A
same=
for i in $(seq 100); do
	ns_add $NS_B
	if [ "$(stat -L -c %i /run/netns/$NS_B)" = "$ino_a" ]; then
		same=1
		break
	fi
	ip netns del $NS_B
	sleep 0.2	# the kernel frees the number after the namespace's cleanup
done
if [ -n "$same" ]; then
	ok "a new namespace has the dead one's inode number ($ino_a, after $i tries)"
else
	fail "a new namespace has the dead one's inode number" "never $ino_a in 100 tries"
fi
cookie_b=$(ns_cookie $NS_B)
log "$NS_B: cookie $cookie_b, inode $(stat -L -c %i /run/netns/$NS_B)"
if [ "$cookie_b" != "$cookie_a" ]; then
	ok "... but another cookie ($cookie_b, not $cookie_a)"
else
	fail "... but another cookie" "$cookie_b"
fi
expect_eq "the new namespace's connections are not governed" "$UNGOVERNED" "$(ns_conn $NS_B)"
expect_eq "the policy stays, listed, its namespace's cookie in its spec" \
	"netns=$cookie_a idle=7 intvl=8 cnt=3 keepalive=on mode=override" \
	"$(cat "$SYSFS_DIR/policies/nsa/spec")"
unload_mod
ktap_finish
