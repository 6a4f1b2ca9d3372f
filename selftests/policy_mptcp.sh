#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MPTCP: an MPTCP connection carries its data over TCP subflows, and each
# subflow is a TCP socket with its own keepalive timer.  kapolicy governs
# the subflows, matched on their own ports and addresses, as it governs any
# TCP connection; the MPTCP socket itself has no keepalive timer.
#
#   - an MPTCP client that never asked for keepalive, to a policy's port:
#     its subflow gets the policy's values (ss -o shows the timer);
#   - the server gone: the subflow sends cnt probes and times out, counted
#     as for TCP (TcpExtTCPKeepAlive, one timeout, the policy's counters),
#     and the subflow is gone.  (MPTCP passes a subflow's error to the
#     application only on a connection that fell back to plain TCP; else
#     the MPTCP socket stays, waiting for other subflows: the kernel's
#     choice, logged here, not kapolicy's.)
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5091

setup
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)' 2>/dev/null ||
	skip_all "no MPTCP in this kernel"
ktap_plan 7
unload_mod_if_loaded
load_mod
net_setup
for ns in $NS_C $NS_S; do
	in_ns $ns sysctl -qw net.mptcp.enabled=1 || skip_all "net.mptcp.enabled cannot be set"
done

# idle 5 (times KAP_SLOW): the counters are read and the path cut before
# the first probe (on a debug kernel, 5 s after the connect the test had
# only just read ss, and a probe fell between the two counters' reads)
policy "add mp rport=$PORT idle=$((5 * KAP_SLOW)) intvl=1 cnt=3 keepalive=on"

# the server: an MPTCP listener that accepts and holds its connections
in_ns $NS_S python3 - "$S4" "$PORT" "$WORK/mp.server" <<'PY' &
import socket, sys, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
open(sys.argv[3], "w").close()
held = []
while True:
    held.append(l.accept()[0])
PY
SRV=$!
wait_file "$WORK/mp.server" 30 || die "the MPTCP server did not start"

# the client: connects, says so, then waits for the connection to end
in_ns $NS_C python3 - "$S4" "$PORT" "$WORK/mp.client" <<'PY' &
import errno, socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
c.connect((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3] + ".tmp", "w") as f:
    pass
import os
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
c.settimeout(60)
try:
    r = c.recv(1)
    err = "EOF" if r == b"" else "data"
except socket.timeout:
    err = "TIMEOUT"
except OSError as e:
    err = errno.errorcode.get(e.errno, str(e.errno))
with open(sys.argv[3] + ".result", "w") as f:
    f.write(err + "\n")
PY
CLI=$!
wait_file "$WORK/mp.client" 30 || die "the MPTCP client did not connect"
sub=$(in_ns $NS_C ss -Htnoi state established "( dport = :$PORT )")
log "the client's subflow: $(tr -s ' \n' ' ' <<< "$sub")"
if grep -q "tcp-ulp-mptcp" <<< "$sub"; then
	ok "the connection is MPTCP (its subflow has the mptcp ULP)"
else
	fail "the connection is MPTCP (its subflow has the mptcp ULP)" "$sub"
fi
if grep -q "timer:(keepalive," <<< "$sub"; then
	ok "the subflow is governed: ss -o shows its keepalive timer"
else
	fail "the subflow is governed: ss -o shows its keepalive timer" "$sub"
fi

ka0=$(nstat_get $NS_C TcpExtTCPKeepAlive)
kap_stats_snapshot "$WORK/mp.stats"
fault_drop
if loop_until "[ \$(kap_stat_delta '$WORK/mp.stats' timeouts) -ge 1 ]"; then
	ok "the subflow times out"
else
	fail "the subflow times out" "timeouts +$(kap_stat_delta "$WORK/mp.stats" timeouts)"
fi
sleep 1
KA=$(( $(nstat_get $NS_C TcpExtTCPKeepAlive) - ka0 ))
SENT=$(kap_stat_delta "$WORK/mp.stats" probes_sent)
log "TcpExtTCPKeepAlive +$KA, probes_sent +$SENT, the application: $(cat "$WORK/mp.client.result" 2>/dev/null || echo "not told")"
expect_eq "the subflow sends cnt probes: probes_sent" 3 "$SENT"
expect_eq "TcpExtTCPKeepAlive agrees" 3 "$KA"
expect_eq "one timeout, in the policy's counters too" "1 1" \
	"$(kap_stat_delta "$WORK/mp.stats" timeouts) $(policy_stat mp timeouts)"
expect_eq "the subflow is no longer established" "" \
	"$(in_ns $NS_C ss -Htn state established "( dport = :$PORT )")"
kill $SRV $CLI 2>/dev/null
wait $SRV $CLI 2>/dev/null
fault_clear
unload_mod
ktap_finish
