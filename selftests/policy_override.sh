#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Policies against applications that set their own keepalive values after
# connecting (setsockopt after connect(), when the policy already governs):
#
#   override  the calls are overruled: the application reads back the
#             policy's values, app_overrides counts each call, a
#             policy_applied event (trigger=setsockopt) traces it; on del
#             the values the application asked for come back
#   fill      the calls win; on del nothing changes
#
# and SO_KEEPALIVE switched off by the application under keepalive=on, and
# user_timeout=auto (idle + intvl * cnt).  The return probe on
# tcp_setsockopt() is armed only once a policy gives a value a TCP option
# sets (until then no TCP setsockopt() pays for it), and then stays armed.
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/net_lib.sh"

PORT=5020
APP="1 600 60 7 0"		# what the application asks for

setup
ktap_plan 19
unload_mod_if_loaded
load_mod
net_setup
server_start $S4 $PORT

# setsockopt_probe - the tcp_setsockopt() return probe: "disarmed", "armed"
# or "absent" (kprobes/list in debugfs; +0x4 after an endbr64)
function setsockopt_probe() {
	local l
	l=$(grep -E ' r +tcp_setsockopt\+0x[0-9a-f]+ ' /sys/kernel/debug/kprobes/list) || {
		echo absent; return; }
	[[ $l == *DISABLED* ]] && echo disarmed || echo armed
}
expect_eq "no policy: the setsockopt probe is registered, disarmed" disarmed "$(setsockopt_probe)"
policy "add kaonly rport=$PORT keepalive=on mode=override"
expect_eq "keepalive=on alone: still disarmed" disarmed "$(setsockopt_probe)"
policy "del kaonly"

log "---- override: the application's calls are overruled ----"
policy "add ov rport=$PORT idle=11 intvl=12 cnt=3 keepalive=on mode=override"
expect_eq "a policy that gives idle: the setsockopt probe is armed" armed "$(setsockopt_probe)"
EV=$WORK/override.events
trace_start
client_start $S4 $PORT --wait 60 --set-after --keepalive --idle 600 --intvl 60 --cnt 7
expect_eq "override: the application reads the policy's values" "1 11 12 3 0" "$(settings client)"
trace_stop "$EV"
expect_eq "override: app_overrides counts idle, intvl and cnt (keepalive on agreed)" 3 \
	"$(policy_stat ov app_overrides)"
expect_eq "override: three policy_applied events with trigger=setsockopt" "3" \
	"$(grep -c 'policy_applied: .*trigger=setsockopt mode=override' "$EV")"
expect_eq "override: the global app_overrides agrees" 3 "$(kap_stat app_overrides)"
policy "del ov"
expect_eq "override: after del the application has what it asked for" "$APP" "$(settings client)"
client_stop

log "---- fill: the application's calls win ----"
policy "add fi rport=$PORT idle=11 intvl=12 cnt=3 keepalive=on mode=fill"
client_start $S4 $PORT --wait 60 --set-after --keepalive --idle 600 --intvl 60 --cnt 7
expect_eq "fill: the application reads its own values" "$APP" "$(settings client)"
expect_eq "fill: nothing overruled" 0 "$(policy_stat fi app_overrides)"
policy "del fi"
expect_eq "fill: after del nothing changed" "$APP" "$(settings client)"
client_stop

log "---- keepalive=on against an application that switches it off ----"
policy "add ka rport=$PORT idle=11 keepalive=on mode=override"
client_start $S4 $PORT --wait 60 --keepalive-off-after
expect_eq "override: SO_KEEPALIVE=0 is overruled" "1 11 75 9 0" "$(settings client)"
expect_eq "override: counted" 1 "$(policy_stat ka app_overrides)"
policy "del ka"
expect_eq "after del: off, as the application asked; idle unset again (7200)" \
	"0 7200 75 9 0" "$(settings client)"
client_stop

log "---- an application that switches keepalive on later ----"
policy "add later rport=$PORT idle=11 intvl=12 cnt=3"
client_start $S4 $PORT --wait 60
expect_eq "governed, keepalive still off: the values wait in the socket" "0 11 12 3 0" \
	"$(settings client)"
client_stop
client_start $S4 $PORT --wait 60 --set-after --keepalive
expect_eq "SO_KEEPALIVE on after connect: the policy's timing applies" "1 11 12 3 0" \
	"$(settings client)"
timer=$(ss_keepalive $NS_C "( dport = :$PORT )")
log "ss -o: $timer"
if [[ $timer =~ ^keepalive,([0-9.]+)(ms|sec), ]] &&
   python3 -c "import sys; v, u = float(sys.argv[1]), sys.argv[2]; sys.exit(not (u == 'ms' or v <= 11))" \
	"${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; then
	ok "ss -o: the keepalive timer runs on the policy's 11 s, not 7200 s"
else
	fail "ss -o: the keepalive timer runs on the policy's 11 s, not 7200 s" "'$timer'"
fi
client_stop
policy "del later"

log "---- user_timeout=auto ----"
policy "add ut rport=$PORT idle=2 intvl=3 cnt=4 user_timeout=auto"
client_start $S4 $PORT --wait 60
expect_eq "user_timeout=auto is idle + intvl * cnt = 14000 ms" "0 2 3 4 14000" "$(settings client)"
client_stop
policy "del ut"

server_stop
expect_eq "no hook call was missed" 0 "$(cat $SYSFS_DIR/limits/hooks_missed)"
unload_mod
ktap_finish
