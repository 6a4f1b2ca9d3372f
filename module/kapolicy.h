/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapolicy: keepalive policy and visibility for every TCP connection.
 *
 * This header is the engine's whole interface to the control surface
 * (sysfs/, /sys/kernel/kapolicy) and to module init (main.c).  The engine
 * never calls the surface: what it has to tell (a policy came or went) it
 * tells the observer the surface registered.
 *
 * The engine, each layer calling only the ones below it:
 *
 *   control.c  commands, transactions, enforce: publish -> reconcile -> retire
 *   hooks.c    tracepoints, ftrace hooks and kretprobes on the keepalive path
 *   apply.c    what a policy does to a socket: govern, revert, overrule,
 *              and the walk over existing connections
 *   table.c    policies and the policy table: snapshots, indexes, match
 *   trace.c    the trace events and what they say about a socket
 *   socks.c    per-socket state (a bounded table) and socket identity
 *   stats.c    counters: global and per policy (per-CPU), per service port
 *   parse.c    the policy language, shared with kapctl
 *
 * Each piece has a kap_<piece>_init()/kap_<piece>_uninit() pair; main.c
 * calls them bottom up and tears down top down.
 */
#ifndef KAP_KAPOLICY_H
#define KAP_KAPOLICY_H

#include <linux/types.h>

#include "counters.h"
#include "parse.h"
#include "version.h"

struct kap_policy;

/* control.c: commands (parse.h's language) and enforce */
void kap_control_uninit(void);
int kap_control_command(const char *buf, size_t len);
bool kap_control_enforcing(void);
void kap_control_set_enforce(bool on);

/*
 * Told, under the control lock, of each policy entering or leaving the live
 * table; kap_control_observe() tells it of every live policy at once (and
 * with NULL, tells the old observer of their leaving).  Process context.
 */
struct kap_control_observer {
	int (*added)(struct kap_policy *p);	/* before it is live */
	/* before new is live, in place of old (same name); cannot fail */
	void (*replaced)(struct kap_policy *old, struct kap_policy *new);
	void (*removed)(struct kap_policy *p);
};

void kap_control_observe(const struct kap_control_observer *obs);

/* table.c: a policy, as the surface shows it */
struct kap_policy *kap_policy_get(struct kap_policy *p);
void kap_policy_put(struct kap_policy *p);
const char *kap_policy_name(const struct kap_policy *p);
int kap_policy_format(const struct kap_policy *p, char *buf, size_t size);
unsigned int kap_policy_order(const struct kap_policy *p);
void kap_policy_counters(const struct kap_policy *p, u64 out[KAP_NR_COUNTERS]);
void kap_policy_set_priv(struct kap_policy *p, void *priv);
void *kap_policy_priv(const struct kap_policy *p);

/* stats.c: the host's counters, the ports table, and its limits */
int kap_stats_init(void);
void kap_stats_uninit(void);
void kap_stats_global(u64 out[KAP_NR_COUNTERS]);
ssize_t kap_stats_ports_read(const void *reader, char *buf, loff_t off,
			     size_t count);
ssize_t kap_stats_deaths_read(const void *reader, char *buf, loff_t off,
			      size_t count);
unsigned int kap_stats_ports_used(void);
unsigned int kap_stats_ports_max(void);
u64 kap_stats_ports_overflow(void);

/* socks.c: the per-socket table's limits */
int kap_socks_init(void);
void kap_socks_uninit(void);
unsigned int kap_socks_used(void);
unsigned int kap_socks_max(void);
u64 kap_socks_overflow(void);
u64 kap_socks_evicted(void);

/* table.c, apply.c and hooks.c: life cycle; hook calls missed */
int kap_table_init(void);
void kap_table_uninit(void);
int kap_apply_init(void);
void kap_apply_uninit(void);
int kap_hooks_init(void);
void kap_hooks_uninit(void);
int kap_hooks_watch_tcp_sockopt(void);
unsigned long kap_hooks_missed(void);

/* sysfs/: the control surface, up last and down first */
int kap_sysfs_init(void);
void kap_sysfs_uninit(void);

#endif /* KAP_KAPOLICY_H */
