/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policies and the policy table (table.c): the data the hooks match
 * sockets against.  Changing the live table is the control layer's
 * (control.c), which serializes every change.
 */
#ifndef KAP_TABLE_H
#define KAP_TABLE_H

#include <linux/kref.h>
#include <linux/types.h>

#include "parse.h"
#include "socks.h"
#include "stats.h"

/* A policy: shared by the tables that list it, freed with its last ref. */
struct kap_policy {
	struct kref ref;
	char name[KAP_NAME_MAX];
	u32 id;				/* 0 until a table lists it; never reused */
	struct kap_spec spec;
	struct cgroup *cgrp;		/* spec.cgroup, referenced */
	struct kap_counters __percpu *stats;
	unsigned int pos;		/* position in the live table */
	void *priv;			/* the control surface's */
};

struct kap_policy *kap_policy_new(const struct kap_command *c);

/* An immutable snapshot: policies in match order, and their index. */
struct kap_table;

struct kap_table *kap_table_build(struct kap_policy **pol, unsigned int n);
void kap_table_publish(struct kap_table *t);
void kap_table_retire(struct kap_table *old, const struct kap_table *now);
void kap_table_free(struct kap_table *t);
unsigned int kap_table_max(void);
unsigned int kap_table_len(const struct kap_table *t);
struct kap_policy *kap_table_at(const struct kap_table *t, unsigned int i);
bool kap_table_has(const struct kap_table *t, const struct kap_policy *p);

/* The hooks' side, under RCU. */
struct kap_policy *kap_policy_match(const struct kap_sock_key *key);
struct kap_policy *kap_policy_by_id(u32 id);
bool kap_policy_is_live(const struct kap_policy *p);

#endif /* KAP_TABLE_H */
