/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapolicy: keepalive policy and visibility for every TCP connection.
 *
 * The pieces, each a kap_<piece>_init()/kap_<piece>_uninit() pair called
 * from module init in the order below and torn down in reverse:
 *
 *   stats   counters: global and per policy (per-CPU), per service port
 *   socks   per-socket state, a bounded preallocated table
 *   sysfs   /sys/kernel/kapolicy, the control and counter surface
 *   hooks   kprobes and tracepoints on the keepalive path (last up, first
 *           down: nothing runs in a hook before the rest exists)
 */
#ifndef KAP_KAPOLICY_H
#define KAP_KAPOLICY_H

#include <linux/types.h>
#include <net/sock.h>

#include "version.h"

/* The counters; the same names in stats/, policies/NAME/stats/ and ports. */
enum kap_counter {
	KAP_SOCKETS_GOVERNED,
	KAP_KEEPALIVE_ENABLED,
	KAP_PROBES_SENT,
	KAP_PROBES_ANSWERED,
	KAP_PROBES_DEFERRED,
	KAP_PEER_RESETS,
	KAP_ICMP_ERRORS,
	KAP_TIMEOUTS,
	KAP_APP_OVERRIDES,
	KAP_NR_COUNTERS
};

extern const char *const kap_counter_names[KAP_NR_COUNTERS];

struct kap_counters {
	u64 c[KAP_NR_COUNTERS];
};

/* stats.c */
int kap_stats_init(void);
void kap_stats_uninit(void);
void kap_count(enum kap_counter c, u16 port,
	       struct kap_counters __percpu *policy);
void kap_stats_global(u64 out[KAP_NR_COUNTERS]);
void kap_stats_sum(struct kap_counters __percpu *pcpu,
		   u64 out[KAP_NR_COUNTERS]);
ssize_t kap_stats_ports_read(char *buf, loff_t off, size_t count);
unsigned int kap_stats_ports_used(void);
unsigned int kap_stats_ports_max(void);
u64 kap_stats_ports_overflow(void);

/* socks.c: what kapolicy remembers of one socket (see socks.c) */
#define KAP_SOCK_PASSIVE	BIT(0)	/* opened by accept() */
#define KAP_SOCK_ACTIVE		BIT(1)	/* opened by connect() */
#define KAP_SOCK_PROBING	BIT(2)	/* a keepalive probe is unanswered */

struct kap_sock_state {
	u16 port;		/* service port, host order */
	u8 flags;		/* KAP_SOCK_* */
	u8 probe;		/* number of the last probe sent */
	int icmp_err;		/* errno of an ICMP error answering a probe */
	u64 probe_us;		/* tcp_mstamp when the probe left */
	u32 probe_jiffies;	/* tcp_jiffies32 when the probe left */
};

typedef void (*kap_sock_fn)(struct kap_sock_state *st, void *arg);

int kap_socks_init(void);
void kap_socks_uninit(void);
bool kap_sock_call(const struct sock *sk, bool create, kap_sock_fn fn,
		   void *arg);
void kap_sock_forget(const struct sock *sk);
unsigned int kap_socks_used(void);
unsigned int kap_socks_max(void);
u64 kap_socks_overflow(void);

/* sysfs.c */
int kap_sysfs_init(void);
void kap_sysfs_uninit(void);

/* hooks.c */
int kap_hooks_init(void);
void kap_hooks_uninit(void);
unsigned long kap_hooks_missed(void);

/* The service port of a connection whose opening kapolicy did not see. */
u16 kap_service_port_guess(const struct sock *sk);

#endif /* KAP_KAPOLICY_H */
