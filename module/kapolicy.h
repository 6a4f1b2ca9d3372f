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
 *   policy  the policy table (policy.c) and what applying a policy does to
 *           a socket (apply.c)
 *   hooks   tracepoints, ftrace hooks and kretprobes (setsockopt) on the
 *           keepalive path (last up, first down: nothing runs in a hook
 *           before the rest exists)
 *
 * Exit runs in the reverse order, except that the policy table is emptied
 * (and the sockets it governed reverted) first, while the hooks still keep
 * the per-socket state exact.
 */
#ifndef KAP_KAPOLICY_H
#define KAP_KAPOLICY_H

#include <linux/types.h>
#include <net/sock.h>

#include "parse.h"
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

/* The socket values a policy can write (kap_sock_state.written). */
#define KAP_F_IDLE		BIT(0)
#define KAP_F_INTVL		BIT(1)
#define KAP_F_CNT		BIT(2)
#define KAP_F_USER_TIMEOUT	BIT(3)
#define KAP_F_KEEPALIVE		BIT(4)

struct kap_sock_state {
	u16 port;		/* service port, host order */
	u8 flags;		/* KAP_SOCK_* */
	u8 probe;		/* number of the last probe sent */
	int icmp_err;		/* errno of an ICMP error answering a probe */
	u64 probe_us;		/* tcp_mstamp when the probe left */
	u32 probe_jiffies;	/* tcp_jiffies32 when the probe left */
	u32 probe_rcv_tstamp;	/* tp->rcv_tstamp when the probe left */
	/* the governing policy, and what it changed (apply.c) */
	u32 policy;		/* policy id; 0: none */
	u8 written;		/* KAP_F_*: values kapolicy wrote */
	u8 app_cnt;		/* the application's own values: 0 = unset */
	u32 app_idle;		/* jiffies */
	u32 app_intvl;		/* jiffies */
	u32 app_user_timeout;	/* ms */
};

typedef void (*kap_sock_fn)(struct kap_sock_state *st, void *arg);

int kap_socks_init(void);
void kap_socks_uninit(void);
bool kap_sock_call(const struct sock *sk, bool create, kap_sock_fn fn,
		   void *arg);
bool kap_sock_get(const struct sock *sk, struct kap_sock_state *st);
void kap_sock_forget(const struct sock *sk);
unsigned int kap_socks_used(void);
unsigned int kap_socks_max(void);
u64 kap_socks_overflow(void);

/* sysfs.c */
int kap_sysfs_init(void);
void kap_sysfs_uninit(void);
struct kobject *kap_sysfs_root(void);

/* policy.c: a policy of the table (see policy.c) */
struct kap_policy {
	struct kobject kobj;		/* policies/NAME */
	char name[KAP_NAME_MAX];
	u32 id;				/* never reused while the module lives */
	struct kap_spec spec;
	struct cgroup *cgrp;		/* spec.cgroup, referenced */
	struct kap_counters __percpu *stats;
	unsigned int pos;		/* position in the live table */
	bool in_sysfs;
};

/* What a socket is matched on. */
struct kap_sock_key {
	u16 lport, rport;
	u8 family;			/* 4 or 6 */
	u32 netns;
	struct cgroup *cgrp;
};

int kap_policy_init(void);
void kap_policy_uninit(void);
void kap_policy_ready(void);
int kap_policy_control(const char *buf, size_t len);
int kap_policy_set_enforce(bool on);
bool kap_policy_enforcing(void);
unsigned int kap_policy_count(void);
struct kap_policy *kap_policy_match(const struct kap_sock_key *key);
struct kap_policy *kap_policy_by_id(u32 id);
bool kap_policy_is_live(const struct kap_policy *p);

/* apply.c: what a policy does to a socket */
enum kap_trigger {
	KAP_TRIGGER_CONNECT,
	KAP_TRIGGER_ACCEPT,
	KAP_TRIGGER_EXISTING,
	KAP_TRIGGER_SETSOCKOPT,
	KAP_TRIGGER_REVERT,
};

void kap_sock_key(const struct sock *sk, struct kap_sock_key *key);
bool kap_sock_is_v4(const struct sock *sk);
void kap_govern(struct sock *sk, struct kap_policy *p, enum kap_trigger t,
		u16 port);
void kap_app_setsockopt(struct sock *sk, int level, int optname);
int kap_reconcile(void);

/* hooks.c */
int kap_hooks_init(void);
void kap_hooks_uninit(void);
unsigned long kap_hooks_missed(void);

/* The service port of a connection whose opening kapolicy did not see. */
u16 kap_service_port_guess(const struct sock *sk);

/* events.c-side helpers in hooks.c: the governing policy and service port */
struct kap_sock_ctx {
	u16 port;
	struct kap_policy *policy;	/* valid under rcu_read_lock() */
};

void kap_sock_ctx(const struct sock *sk, struct kap_sock_ctx *ctx);

#endif /* KAP_KAPOLICY_H */
