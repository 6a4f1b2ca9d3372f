/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kapolicy knows of one TCP socket: who it is (its match key, address
 * family and service port, read off the socket) and what kapolicy remembers
 * of it between two hook calls (socks.c's bounded table).
 */
#ifndef KAP_SOCKS_H
#define KAP_SOCKS_H

#include <linux/bits.h>
#include <linux/types.h>
#include <net/sock.h>

#include "parse.h"

/*
 * The socket values a policy writes (kap_sock_state.written, the
 * policy_applied event's set); apply.c maps each to its socket option and
 * policy key.
 */
enum kap_field {
	KAP_F_IDLE		= BIT(0),	/* TCP_KEEPIDLE */
	KAP_F_INTVL		= BIT(1),	/* TCP_KEEPINTVL */
	KAP_F_CNT		= BIT(2),	/* TCP_KEEPCNT */
	KAP_F_USER_TIMEOUT	= BIT(3),	/* TCP_USER_TIMEOUT */
	KAP_F_KEEPALIVE		= BIT(4),	/* SO_KEEPALIVE */
};

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
	u32 probe_rcv_tstamp;	/* tp->rcv_tstamp when the probe left */
	/* the governing policy, and what it changed (apply.c) */
	u32 policy;		/* policy id; 0: none */
	u8 written;		/* KAP_F_*: values kapolicy wrote */
	u8 app_cnt;		/* the application's own values: 0 = unset */
	u32 app_idle;		/* jiffies */
	u32 app_intvl;		/* jiffies */
	u32 app_user_timeout;	/* ms */
	/* what kapolicy wrote, for the fields in written */
	u8 wrote_cnt;
	u32 wrote_idle;		/* jiffies */
	u32 wrote_intvl;	/* jiffies */
	u32 wrote_user_timeout;	/* ms */
};

typedef void (*kap_sock_fn)(struct kap_sock_state *st, void *arg);

/* What kap_sock_call() does for a socket without state. */
enum kap_sock_want {
	KAP_SOCK_FIND,		/* nothing */
	KAP_SOCK_OBSERVE,	/* a free entry, if any */
	KAP_SOCK_GOVERN,	/* a free entry, or an ungoverned socket's */
};

bool kap_sock_call(const struct sock *sk, enum kap_sock_want want,
		   kap_sock_fn fn, void *arg);
bool kap_sock_get(const struct sock *sk, struct kap_sock_state *st);
void kap_sock_forget(const struct sock *sk);

/* What a socket is matched on: the shared key, and its cgroup. */
struct kap_sock_key {
	struct kap_match_key m;
	struct cgroup *cgrp;
};

bool kap_sock_is_v4(const struct sock *sk);
void kap_sock_key(const struct sock *sk, struct kap_sock_key *key);
u16 kap_service_port_guess(const struct sock *sk);

#endif /* KAP_SOCKS_H */
