/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a policy does to a socket (apply.c): the values it writes, how they
 * are taken back, how the application's later setsockopt() is treated, and
 * the walk that brings existing connections in line with the live table.
 */
#ifndef KAP_APPLY_H
#define KAP_APPLY_H

#include <linux/bits.h>
#include <net/sock.h>

#include "events.h"
#include "socks.h"
#include "table.h"

u8 kap_sockopt_field(int level, int optname);
bool kap_apply_enforcing(void);
void kap_apply_set_enforce(bool on);
struct kap_policy *kap_apply_policy_for(const struct sock *sk);
void kap_govern(struct sock *sk, struct kap_policy *p, enum kap_trigger t,
		u16 port, const struct kap_sock_state *fresh);
void kap_ungovern(struct sock *sk);
bool kap_apply_watches_tcp_sockopt(const struct kap_policy *p);
void kap_app_setsockopt(struct sock *sk, int level, int optname);
void kap_app_keepalive(struct sock *sk, bool on);
unsigned long kap_apply_missed(void);
struct kap_deferred;
struct kap_deferred *kap_deferred_reserve(void);
void kap_deferred_sock_put(struct kap_deferred *d, struct sock *sk);
void kap_reconcile(void);

#endif /* KAP_APPLY_H */
