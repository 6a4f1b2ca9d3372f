#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A governed connection that the application disconnects
# (connect(AF_UNSPEC), tcp_disconnect()) and connects again, to a port no
# policy matches: the new connection has the application's and the
# kernel's values only (none set: SO_KEEPALIVE off, the namespace's 7200 s,
# 75 s, 9 probes), not what the first one's policy wrote.
. "$(dirname "$0")/functions.sh"

GOVERNED=5071
FREE=5072

setup
ktap_plan 3
unload_mod_if_loaded
load_mod
echo "add rc rport=$GOVERNED idle=33 intvl=4 cnt=3 user_timeout=5000 keepalive=on" \
	> "$SYSFS_DIR/control"

out=$(python3 - "$GOVERNED" "$FREE" <<'PY'
import ctypes, socket, struct, sys

governed, free = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)


def opts(s):
    g = s.getsockopt
    return "%d %d %d %d %d" % (
        g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))


listeners = []
for port in (governed, free):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(4)
    listeners.append(l)
c = socket.socket()
c.connect(("127.0.0.1", governed))
print("governed", opts(c))
unspec = struct.pack("HH12x", socket.AF_UNSPEC, 0)
if libc.connect(c.fileno(), unspec, len(unspec)) != 0:
    sys.exit("connect(AF_UNSPEC): errno %d" % ctypes.get_errno())
c.connect(("127.0.0.1", free))
print("reconnected", opts(c))
PY
)
log "$out"
expect_eq "the first connection is governed" "1 33 4 3 5000" \
	"$(sed -n 's/^governed //p' <<< "$out")"
expect_eq "connected again to an ungoverned port: the kernel's values only" \
	"0 7200 75 9 0" "$(sed -n 's/^reconnected //p' <<< "$out")"
expect_eq "the table is as it was" "rport=$GOVERNED idle=33 intvl=4 cnt=3 user_timeout=5000 keepalive=on mode=fill" \
	"$(cat "$SYSFS_DIR/policies/rc/spec")"

echo flush > "$SYSFS_DIR/control"
unload_mod
ktap_finish
