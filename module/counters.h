/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The counters: the one list of them.  Each is counted globally
 * (stats/NAME), per governing policy (policies/P/stats/NAME) and per service
 * port (a column of the ports file, in this order), and kapctl prints them
 * under the same names.  Included by the module, sysfs/ and kapctl:
 *
 *   X(ENUM, name, column title, one line of help)
 *
 * The order is the ABI's column order: append, never reorder.
 */
#ifndef KAP_COUNTERS_H
#define KAP_COUNTERS_H

#define KAP_COUNTERS(X)							\
	X(SOCKETS_GOVERNED, sockets_governed, "GOVERNED",		\
	  "Connections a kapolicy policy was applied to.")		\
	X(KEEPALIVE_ENABLED, keepalive_enabled, "KA_ON",		\
	  "Connections on which a policy switched SO_KEEPALIVE on.")	\
	X(PROBES_SENT, probes_sent, "SENT",				\
	  "TCP keepalive probes sent.")					\
	X(PROBES_ANSWERED, probes_answered, "ANSWERED",			\
	  "TCP keepalive probes the peer acknowledged.")		\
	X(PROBES_DEFERRED, probes_deferred, "DEFERRED",			\
	  "TCP keepalive probes delayed by local congestion.")		\
	X(PEER_RESETS, peer_resets, "RESETS",				\
	  "Connections whose peer answered a keepalive probe with a RST.") \
	X(ICMP_ERRORS, icmp_errors, "ICMP",				\
	  "ICMP errors that answered a keepalive probe.")		\
	X(TIMEOUTS, timeouts, "TIMEOUTS",				\
	  "Connections reset by keepalive (probes unanswered or TCP_USER_TIMEOUT).") \
	X(APP_OVERRIDES, app_overrides, "OVERRIDES",			\
	  "Application setsockopt() calls overruled by a mode=override policy.")

#define KAP_COUNTER_ENUM(e, name, title, help)	KAP_##e,
#define KAP_COUNTER_NAME(e, name, title, help)	#name,

enum kap_counter {
	KAP_COUNTERS(KAP_COUNTER_ENUM)
	KAP_NR_COUNTERS
};

#endif /* KAP_COUNTERS_H */
