// SPDX-License-Identifier: GPL-2.0
/*
 * The policy table: what /sys/kernel/kapolicy/control changes, and what the
 * hooks match a socket against.
 *
 * The model.  The table is an ordered list of policies; the first policy
 * that matches a socket governs it.  Each change builds a new table (an
 * immutable snapshot with its own index) under kap_policy_lock, publishes it
 * with rcu_assign_pointer() and frees the old one after synchronize_rcu():
 * hooks read the live table under RCU, never see a half-made one and never
 * take a lock.  Policies are shared between snapshots and freed (kobject
 * release) only once no snapshot and no reader can reach them.
 *
 * The index, so that matching a port does not get slower as policies are
 * added (a socket's cost is a few array reads plus the policies that really
 * overlap on its ports):
 *   lport   policies with an lport range: port -> segment (an array of
 *           65536 u16) -> the positions, ascending, of the policies whose
 *           range covers the segment
 *   rport   the same for policies with an rport range and no lport
 *   cgroup  policies with a cgroup and no port: cgroup id -> positions; a
 *           socket looks up each ancestor of its cgroup (depth, not count)
 *   rest    the others (netns, family or nothing), scanned
 * A lookup scans each list only up to the best position found so far.
 * Memory: the port arrays are 128 KiB each when used, the lists are bounded
 * by KAP_INDEX_LIMIT entries (ENOSPC beyond: ranges that overlap that much
 * cannot be indexed).
 *
 * Transactions (begin ... commit) stage a whole new table, so that a config
 * file is applied all or nothing; one process at a time, others get EBUSY
 * until it commits, aborts or exits.
 *
 * Context: control writes in process context (sysfs store), may sleep;
 * kap_policy_match() and kap_policy_by_id() in any context under RCU.
 */
#include <linux/bitmap.h>
#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/kobject.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/sysfs.h>
#include <linux/xarray.h>

#include "kapolicy.h"

#define KAP_NPORTS		65536
#define KAP_INDEX_LIMIT		BIT(22)		/* list entries per port index */
#define KAP_POLICIES_LIMIT	16384		/* keeps segment numbers in u16 */

static unsigned int max_policies = 4096;
module_param(max_policies, uint, 0444);
MODULE_PARM_DESC(max_policies, "policies in the table (1-16384, default 4096)");

struct kap_port_index {
	u16 seg[KAP_NPORTS];	/* port -> segment; segment 0 is empty */
	u32 *start;		/* segment s: list[start[s]] .. list[start[s + 1] - 1] */
	u16 *list;		/* positions, ascending within a segment */
};

struct kap_cg_slot {
	u64 id;			/* 0: free */
	u32 start, len;
};

struct kap_cg_index {
	unsigned int mask;
	struct kap_cg_slot *slots;
	u16 *list;
};

struct kap_table {
	unsigned int n;
	struct kap_policy **pol;	/* [n], in match order */
	struct kap_port_index *lport;
	struct kap_port_index *rport;
	struct kap_cg_index *cg;
	unsigned int nrest;
	u16 *rest;
};

static DEFINE_MUTEX(kap_policy_lock);
static struct kap_table __rcu *kap_live;
static DEFINE_XARRAY(kap_ids);		/* id -> policy, for the hooks */
static u32 kap_next_id = 1;
static bool kap_enforce = true;
static bool kap_open;			/* control accepts commands */
static struct kobject *kap_policies_kobj;

static struct {
	struct pid *owner;		/* NULL: no transaction */
	struct kap_policy **pol;	/* the staged table, [max_policies] */
	unsigned int n;
} kap_txn;

/* ---- policy objects ---------------------------------------------------- */

static void kap_policy_release(struct kobject *kobj)
{
	struct kap_policy *p = container_of(kobj, struct kap_policy, kobj);

	free_percpu(p->stats);
	if (p->cgrp)
		cgroup_put(p->cgrp);
	kfree(p);
}

static ssize_t spec_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct kap_policy *p = container_of(kobj, struct kap_policy, kobj);
	int n = kap_spec_format(&p->spec, buf, PAGE_SIZE - 1);

	return n + sysfs_emit_at(buf, n, "\n");
}

static ssize_t order_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct kap_policy *p = container_of(kobj, struct kap_policy, kobj);

	return sysfs_emit(buf, "%u\n", READ_ONCE(p->pos));
}

static struct kobj_attribute kap_spec_attr = __ATTR_RO(spec);
static struct kobj_attribute kap_order_attr = __ATTR_RO(order);

static struct attribute *kap_policy_attrs[] = {
	&kap_spec_attr.attr,
	&kap_order_attr.attr,
	NULL,
};

static const struct attribute_group kap_policy_group = {
	.attrs = kap_policy_attrs,
};

static ssize_t kap_policy_stat_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf);

#define KAP_POLICY_STAT(_name)						\
	static struct kobj_attribute kap_pstat_##_name =		\
		__ATTR(_name, 0444, kap_policy_stat_show, NULL)

KAP_POLICY_STAT(sockets_governed);
KAP_POLICY_STAT(keepalive_enabled);
KAP_POLICY_STAT(probes_sent);
KAP_POLICY_STAT(probes_answered);
KAP_POLICY_STAT(probes_deferred);
KAP_POLICY_STAT(peer_resets);
KAP_POLICY_STAT(icmp_errors);
KAP_POLICY_STAT(timeouts);
KAP_POLICY_STAT(app_overrides);

static struct attribute *kap_policy_stat_attrs[] = {
	&kap_pstat_sockets_governed.attr,
	&kap_pstat_keepalive_enabled.attr,
	&kap_pstat_probes_sent.attr,
	&kap_pstat_probes_answered.attr,
	&kap_pstat_probes_deferred.attr,
	&kap_pstat_peer_resets.attr,
	&kap_pstat_icmp_errors.attr,
	&kap_pstat_timeouts.attr,
	&kap_pstat_app_overrides.attr,
	NULL,
};

static ssize_t kap_policy_stat_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	struct kap_policy *p = container_of(kobj, struct kap_policy, kobj);
	u64 v[KAP_NR_COUNTERS];
	int i;

	kap_stats_sum(p->stats, v);
	for (i = 0; i < KAP_NR_COUNTERS; i++)
		if (!strcmp(attr->attr.name, kap_counter_names[i]))
			return sysfs_emit(buf, "%llu\n", v[i]);
	return -ENOENT;
}

static const struct attribute_group kap_policy_stats_group = {
	.name = "stats",
	.attrs = kap_policy_stat_attrs,
};

static const struct attribute_group *kap_policy_groups[] = {
	&kap_policy_group,
	&kap_policy_stats_group,
	NULL,
};

static const struct kobj_type kap_policy_ktype = {
	.release = kap_policy_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kap_policy_groups,
};

/* A policy object for an add; not yet in a table, in sysfs or in kap_ids. */
static struct kap_policy *kap_policy_new(const struct kap_command *c)
{
	struct kap_policy *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	kobject_init(&p->kobj, &kap_policy_ktype);
	strscpy(p->name, c->name, sizeof(p->name));
	p->spec = c->spec;
	p->spec.keys &= ~KAP_KEY_BIT(KAP_KEY_ORDER);
	p->spec.order = 0;
	p->stats = alloc_percpu(struct kap_counters);
	if (!p->stats) {
		kobject_put(&p->kobj);
		return ERR_PTR(-ENOMEM);
	}
	if (p->spec.keys & KAP_KEY_BIT(KAP_KEY_CGROUP)) {
		struct cgroup *cgrp = cgroup_get_from_id(p->spec.cgroup);

		if (IS_ERR(cgrp)) {
			kobject_put(&p->kobj);
			return ERR_PTR(-ENOENT);
		}
		p->cgrp = cgrp;
	}
	return p;
}

/* ---- matching ---------------------------------------------------------- */

static bool kap_policy_matches(const struct kap_policy *p,
			       const struct kap_sock_key *k)
{
	const struct kap_spec *s = &p->spec;

	if ((s->keys & KAP_KEY_BIT(KAP_KEY_FAMILY)) && s->family != k->family)
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_LPORT)) &&
	    (k->lport < s->lport.lo || k->lport > s->lport.hi))
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_RPORT)) &&
	    (k->rport < s->rport.lo || k->rport > s->rport.hi))
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_NETNS)) && s->netns != k->netns)
		return false;
	if (p->cgrp && (!k->cgrp || !cgroup_is_descendant(k->cgrp, p->cgrp)))
		return false;
	return true;
}

/* The first position in list[0..len) below best whose policy matches. */
static unsigned int kap_scan(const struct kap_table *t, const u16 *list,
			     u32 len, const struct kap_sock_key *k,
			     unsigned int best)
{
	u32 i;

	for (i = 0; i < len && list[i] < best; i++)
		if (kap_policy_matches(t->pol[list[i]], k))
			return list[i];
	return best;
}

static unsigned int kap_scan_port(const struct kap_table *t,
				  const struct kap_port_index *ix, u16 port,
				  const struct kap_sock_key *k,
				  unsigned int best)
{
	u16 s = ix->seg[port];

	if (!s)
		return best;
	return kap_scan(t, ix->list + ix->start[s], ix->start[s + 1] - ix->start[s],
			k, best);
}

static const struct kap_cg_slot *kap_cg_find(const struct kap_cg_index *ix,
					     u64 id)
{
	unsigned int i = hash_64(id, 32) & ix->mask;

	for (; ix->slots[i].id; i = (i + 1) & ix->mask)
		if (ix->slots[i].id == id)
			return &ix->slots[i];
	return NULL;
}

/* The policy that governs a socket with this key; call under RCU. */
struct kap_policy *kap_policy_match(const struct kap_sock_key *k)
{
	const struct kap_table *t = rcu_dereference(kap_live);
	const struct kap_cg_slot *slot;
	unsigned int best;
	int lvl;

	if (!t || !t->n)
		return NULL;
	best = t->n;
	if (t->lport)
		best = kap_scan_port(t, t->lport, k->lport, k, best);
	if (t->rport)
		best = kap_scan_port(t, t->rport, k->rport, k, best);
	if (t->cg && k->cgrp) {
		for (lvl = 0; lvl <= k->cgrp->level; lvl++) {
			slot = kap_cg_find(t->cg, cgroup_id(k->cgrp->ancestors[lvl]));
			if (slot)
				best = kap_scan(t, t->cg->list + slot->start,
						slot->len, k, best);
		}
	}
	best = kap_scan(t, t->rest, t->nrest, k, best);
	return best < t->n ? t->pol[best] : NULL;
}

/*
 * The policy with this id, or NULL; call under RCU.  A policy just removed
 * from the table is still found until its sockets are reverted.
 */
struct kap_policy *kap_policy_by_id(u32 id)
{
	return id ? xa_load(&kap_ids, id) : NULL;
}

/* Whether p is in the live table; call under RCU. */
bool kap_policy_is_live(const struct kap_policy *p)
{
	const struct kap_table *t = rcu_dereference(kap_live);
	unsigned int pos = READ_ONCE(p->pos);

	return t && pos < t->n && t->pol[pos] == p;
}

/* ---- building a table --------------------------------------------------- */

static void kap_port_index_free(struct kap_port_index *ix)
{
	if (!ix)
		return;
	kvfree(ix->start);
	kvfree(ix->list);
	kvfree(ix);
}

static void kap_table_free(struct kap_table *t)
{
	if (!t)
		return;
	kap_port_index_free(t->lport);
	kap_port_index_free(t->rport);
	if (t->cg) {
		kvfree(t->cg->slots);
		kvfree(t->cg->list);
		kfree(t->cg);
	}
	kvfree(t->rest);
	kvfree(t->pol);
	kfree(t);
}

struct kap_port_event {
	u32 port;		/* 1 - 65536 */
	u16 pos;
	bool add;
};

static int kap_port_event_cmp(const void *a, const void *b)
{
	const struct kap_port_event *x = a, *y = b;

	return x->port != y->port ? (x->port < y->port ? -1 : 1) : 0;
}

/*
 * Ports [from, to) are covered by the active policies: a new segment (none
 * if the set is empty).  Without ix, only counts.
 */
static void kap_segment(struct kap_port_index *ix, const unsigned long *active,
			unsigned int n, u32 from, u32 to, u32 *nseg, u32 *total)
{
	unsigned int pos;
	u16 seg = 0;
	u32 i;

	if (!bitmap_empty(active, n)) {
		seg = (*nseg)++;
		if (ix)
			ix->start[seg] = *total;
		for_each_set_bit(pos, active, n) {
			if (ix)
				ix->list[*total] = pos;
			(*total)++;
		}
	}
	if (ix)
		for (i = from; i < to; i++)
			ix->seg[i] = seg;
}

/*
 * The index of the policies that have key (and none of skip): a sweep over
 * the ranges' ends; between two ends the covering set is constant and is
 * one segment.  Two passes: count, then fill.
 */
static struct kap_port_index *kap_port_index_build(struct kap_policy **pol,
						   unsigned int n,
						   enum kap_key key, u32 skip)
{
	struct kap_port_event *ev;
	struct kap_port_index *ix = NULL;
	unsigned long *active;
	unsigned int nev = 0, i, pass;
	u32 nseg, total, prev;
	int ret = -ENOMEM;

	for (i = 0; i < n; i++)
		if ((pol[i]->spec.keys & KAP_KEY_BIT(key)) &&
		    !(pol[i]->spec.keys & skip))
			nev += 2;
	if (!nev)
		return NULL;

	ev = kvmalloc_array(nev, sizeof(*ev), GFP_KERNEL);
	active = bitmap_zalloc(n, GFP_KERNEL);
	ix = kvzalloc(sizeof(*ix), GFP_KERNEL);
	if (!ev || !active || !ix)
		goto fail;
	nev = 0;
	for (i = 0; i < n; i++) {
		const struct kap_port_range *r = key == KAP_KEY_LPORT ?
			&pol[i]->spec.lport : &pol[i]->spec.rport;

		if (!(pol[i]->spec.keys & KAP_KEY_BIT(key)) ||
		    (pol[i]->spec.keys & skip))
			continue;
		ev[nev++] = (struct kap_port_event){ r->lo, i, true };
		ev[nev++] = (struct kap_port_event){ r->hi + 1, i, false };
	}
	sort(ev, nev, sizeof(*ev), kap_port_event_cmp, NULL);

	for (pass = 0; pass < 2; pass++) {
		u32 e = 0, port;

		bitmap_zero(active, n);
		nseg = 1;
		total = 0;
		prev = 0;
		for (;;) {
			port = e < nev ? ev[e].port : KAP_NPORTS;
			if (port > prev) {
				kap_segment(pass ? ix : NULL, active, n, prev,
					    port, &nseg, &total);
				prev = port;
			}
			if (e == nev)
				break;
			for (; e < nev && ev[e].port == port; e++) {
				if (ev[e].add)
					__set_bit(ev[e].pos, active);
				else
					__clear_bit(ev[e].pos, active);
			}
		}
		if (pass)
			break;
		ret = -ENOSPC;
		if (total > KAP_INDEX_LIMIT || nseg > U16_MAX)
			goto fail;
		ret = -ENOMEM;
		ix->start = kvcalloc(nseg + 1, sizeof(*ix->start), GFP_KERNEL);
		ix->list = kvcalloc(total ?: 1, sizeof(*ix->list), GFP_KERNEL);
		if (!ix->start || !ix->list)
			goto fail;
	}
	ix->start[nseg] = total;
	/* segments are filled in order: each ends where the next starts */
	kvfree(ev);
	bitmap_free(active);
	return ix;

fail:
	kvfree(ev);
	bitmap_free(active);
	kap_port_index_free(ix);
	return ERR_PTR(ret);
}

struct kap_cg_entry {
	u64 id;
	u16 pos;
};

static int kap_cg_entry_cmp(const void *a, const void *b)
{
	const struct kap_cg_entry *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (int)x->pos - (int)y->pos;
}

static struct kap_cg_index *kap_cg_index_build(struct kap_policy **pol,
					       unsigned int n)
{
	u32 noport = KAP_KEY_BIT(KAP_KEY_LPORT) | KAP_KEY_BIT(KAP_KEY_RPORT);
	struct kap_cg_entry *ent;
	struct kap_cg_index *ix;
	unsigned int i, m = 0, nids = 0, size;

	for (i = 0; i < n; i++)
		if (pol[i]->cgrp && !(pol[i]->spec.keys & noport))
			m++;
	if (!m)
		return NULL;
	ent = kvmalloc_array(m, sizeof(*ent), GFP_KERNEL);
	ix = kzalloc(sizeof(*ix), GFP_KERNEL);
	if (!ent || !ix)
		goto fail;
	m = 0;
	for (i = 0; i < n; i++)
		if (pol[i]->cgrp && !(pol[i]->spec.keys & noport))
			ent[m++] = (struct kap_cg_entry){ pol[i]->spec.cgroup, i };
	sort(ent, m, sizeof(*ent), kap_cg_entry_cmp, NULL);
	for (i = 0; i < m; i++)
		if (!i || ent[i].id != ent[i - 1].id)
			nids++;
	size = roundup_pow_of_two(2 * nids);
	ix->mask = size - 1;
	ix->slots = kvcalloc(size, sizeof(*ix->slots), GFP_KERNEL);
	ix->list = kvcalloc(m, sizeof(*ix->list), GFP_KERNEL);
	if (!ix->slots || !ix->list)
		goto fail;
	for (i = 0; i < m; i++) {
		struct kap_cg_slot *s;
		unsigned int h;

		ix->list[i] = ent[i].pos;
		if (i && ent[i].id == ent[i - 1].id)
			continue;
		h = hash_64(ent[i].id, 32) & ix->mask;
		while (ix->slots[h].id)
			h = (h + 1) & ix->mask;
		s = &ix->slots[h];
		s->id = ent[i].id;
		s->start = i;
		while (i + s->len < m && ent[i + s->len].id == s->id)
			s->len++;
	}
	kvfree(ent);
	return ix;

fail:
	kvfree(ent);
	if (ix) {
		kvfree(ix->slots);
		kvfree(ix->list);
		kfree(ix);
	}
	return ERR_PTR(-ENOMEM);
}

/* A table of pol[0..n) in this order, with its index. */
static struct kap_table *kap_table_build(struct kap_policy **pol, unsigned int n)
{
	u32 ported = KAP_KEY_BIT(KAP_KEY_LPORT) | KAP_KEY_BIT(KAP_KEY_RPORT);
	struct kap_table *t;
	unsigned int i;
	int ret = -ENOMEM;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->n = n;
	t->pol = kvmalloc_array(n ?: 1, sizeof(*t->pol), GFP_KERNEL);
	t->rest = kvmalloc_array(n ?: 1, sizeof(*t->rest), GFP_KERNEL);
	if (!t->pol || !t->rest)
		goto fail;
	if (n)
		memcpy(t->pol, pol, n * sizeof(*pol));
	for (i = 0; i < n; i++)
		if (!(pol[i]->spec.keys & ported) && !pol[i]->cgrp)
			t->rest[t->nrest++] = i;

	t->lport = kap_port_index_build(pol, n, KAP_KEY_LPORT, 0);
	if (IS_ERR(t->lport)) {
		ret = PTR_ERR(t->lport);
		t->lport = NULL;
		goto fail;
	}
	t->rport = kap_port_index_build(pol, n, KAP_KEY_RPORT,
					KAP_KEY_BIT(KAP_KEY_LPORT));
	if (IS_ERR(t->rport)) {
		ret = PTR_ERR(t->rport);
		t->rport = NULL;
		goto fail;
	}
	t->cg = kap_cg_index_build(pol, n);
	if (IS_ERR(t->cg)) {
		ret = PTR_ERR(t->cg);
		t->cg = NULL;
		goto fail;
	}
	return t;

fail:
	kap_table_free(t);
	return ERR_PTR(ret);
}

/* ---- changing the live table (kap_policy_lock held) -------------------- */

static struct kap_table *kap_live_table(void)
{
	return rcu_dereference_protected(kap_live,
					 lockdep_is_held(&kap_policy_lock));
}

static int kap_find(struct kap_policy **pol, unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(pol[i]->name, name))
			return i;
	return -1;
}

static bool kap_contains(struct kap_policy **pol, unsigned int n,
			 const struct kap_policy *p)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pol[i] == p)
			return true;
	return false;
}

static void kap_insert(struct kap_policy **pol, unsigned int *n,
		       struct kap_policy *p, unsigned int at)
{
	at = min(at, *n);
	memmove(&pol[at + 1], &pol[at], (*n - at) * sizeof(*pol));
	pol[at] = p;
	(*n)++;
}

static void kap_remove(struct kap_policy **pol, unsigned int *n,
		       unsigned int at)
{
	memmove(&pol[at], &pol[at + 1], (*n - at - 1) * sizeof(*pol));
	(*n)--;
}

/*
 * Makes pol[0..n) the live table: policies new to it get an id and a sysfs
 * directory, those no longer in it lose theirs and are released once no
 * reader can hold them; then the sockets are reconciled with the new table.
 * Nothing changes if the table cannot be built (the error is returned).
 */
static int kap_replace(struct kap_policy **pol, unsigned int n)
{
	struct kap_table *old = kap_live_table(), *t;
	unsigned int i, nold = old ? old->n : 0;
	u32 first = kap_next_id;
	int ret;

	t = kap_table_build(pol, n);
	if (IS_ERR(t))
		return PTR_ERR(t);
	for (i = 0; i < n; i++) {
		if (pol[i]->id)
			continue;
		pol[i]->id = kap_next_id++;
		ret = xa_err(xa_store(&kap_ids, pol[i]->id, pol[i], GFP_KERNEL));
		if (ret)
			goto undo;
	}

	for (i = 0; i < n; i++)
		WRITE_ONCE(pol[i]->pos, i);
	rcu_assign_pointer(kap_live, t);
	for (i = 0; i < nold; i++) {
		struct kap_policy *p = old->pol[i];

		if (!kap_contains(pol, n, p) && p->in_sysfs) {
			kobject_del(&p->kobj);
			p->in_sysfs = false;
		}
	}
	for (i = 0; i < n; i++) {
		if (pol[i]->in_sysfs)
			continue;
		ret = kobject_add(&pol[i]->kobj, kap_policies_kobj, "%s",
				  pol[i]->name);
		if (ret)
			pr_warn("policy %s: no sysfs directory: %d\n",
				pol[i]->name, ret);
		else
			pol[i]->in_sysfs = true;
	}
	/*
	 * No hook still matches against the old table once this returns, so
	 * the walk sees every connection the old table governed.
	 */
	synchronize_rcu();
	kap_reconcile();
	for (i = 0; i < nold; i++)
		if (!kap_contains(pol, n, old->pol[i]))
			xa_erase(&kap_ids, old->pol[i]->id);
	synchronize_rcu();
	for (i = 0; i < nold; i++)
		if (!kap_contains(pol, n, old->pol[i]))
			kobject_put(&old->pol[i]->kobj);
	kap_table_free(old);
	return 0;

undo:
	for (i = 0; i < n; i++) {
		if (pol[i]->id >= first) {
			xa_erase(&kap_ids, pol[i]->id);
			pol[i]->id = 0;
		}
	}
	kap_table_free(t);
	return ret;
}

/* A copy of the live order, with room for one more. */
static struct kap_policy **kap_live_copy(unsigned int *n)
{
	struct kap_table *t = kap_live_table();
	struct kap_policy **pol;

	*n = t ? t->n : 0;
	pol = kvmalloc_array(*n + 1, sizeof(*pol), GFP_KERNEL);
	if (pol && *n)
		memcpy(pol, t->pol, *n * sizeof(*pol));
	return pol;
}

static unsigned int kap_add_position(const struct kap_command *c,
				     unsigned int n)
{
	if (c->spec.keys & KAP_KEY_BIT(KAP_KEY_ORDER))
		return min_t(unsigned int, c->spec.order, n);
	return n;
}

static int kap_do_add(const struct kap_command *c)
{
	struct kap_policy **pol, *p;
	unsigned int n;
	int ret;

	pol = kap_live_copy(&n);
	if (!pol)
		return -ENOMEM;
	ret = -EEXIST;
	if (kap_find(pol, n, c->name) >= 0)
		goto out;
	ret = -ENOSPC;
	if (n >= max_policies)
		goto out;
	p = kap_policy_new(c);
	ret = PTR_ERR_OR_ZERO(p);
	if (ret)
		goto out;
	kap_insert(pol, &n, p, kap_add_position(c, n));
	ret = kap_replace(pol, n);
	if (ret)
		kobject_put(&p->kobj);
out:
	kvfree(pol);
	return ret;
}

/* del (to < 0), or move to position to */
static int kap_do_del_move(const char *name, int to)
{
	struct kap_policy **pol, *p;
	unsigned int n;
	int i, ret = -ENOENT;

	pol = kap_live_copy(&n);
	if (!pol)
		return -ENOMEM;
	i = kap_find(pol, n, name);
	if (i >= 0) {
		p = pol[i];
		kap_remove(pol, &n, i);
		if (to >= 0)
			kap_insert(pol, &n, p, to);
		ret = kap_replace(pol, n);
	}
	kvfree(pol);
	return ret;
}

/* ---- transactions ------------------------------------------------------- */

static void kap_txn_drop(void)
{
	unsigned int i;

	for (i = 0; i < kap_txn.n; i++)
		if (!kap_txn.pol[i]->id)	/* staged only */
			kobject_put(&kap_txn.pol[i]->kobj);
	kvfree(kap_txn.pol);
	put_pid(kap_txn.owner);
	memset(&kap_txn, 0, sizeof(kap_txn));
}

/* The open transaction's owner is alive: others must wait. */
static bool kap_txn_busy(void)
{
	bool alive;

	if (!kap_txn.owner)
		return false;
	rcu_read_lock();
	alive = pid_task(kap_txn.owner, PIDTYPE_TGID);
	rcu_read_unlock();
	if (!alive)
		kap_txn_drop();
	return alive;
}

static bool kap_txn_mine(void)
{
	return kap_txn.owner && kap_txn.owner == task_tgid(current);
}

static int kap_txn_begin(void)
{
	struct kap_table *t = kap_live_table();

	kap_txn.pol = kvmalloc_array(max_policies, sizeof(*kap_txn.pol),
				     GFP_KERNEL);
	if (!kap_txn.pol)
		return -ENOMEM;
	kap_txn.n = t ? t->n : 0;
	if (kap_txn.n)
		memcpy(kap_txn.pol, t->pol, kap_txn.n * sizeof(*kap_txn.pol));
	kap_txn.owner = get_pid(task_tgid(current));
	return 0;
}

static int kap_txn_command(const struct kap_command *c)
{
	struct kap_policy *p;
	int i;

	switch (c->op) {
	case KAP_OP_ADD:
		if (kap_find(kap_txn.pol, kap_txn.n, c->name) >= 0)
			return -EEXIST;
		if (kap_txn.n >= max_policies)
			return -ENOSPC;
		p = kap_policy_new(c);
		if (IS_ERR(p))
			return PTR_ERR(p);
		kap_insert(kap_txn.pol, &kap_txn.n, p,
			   kap_add_position(c, kap_txn.n));
		return 0;
	case KAP_OP_DEL:
	case KAP_OP_MOVE:
		i = kap_find(kap_txn.pol, kap_txn.n, c->name);
		if (i < 0)
			return -ENOENT;
		p = kap_txn.pol[i];
		kap_remove(kap_txn.pol, &kap_txn.n, i);
		if (c->op == KAP_OP_MOVE)
			kap_insert(kap_txn.pol, &kap_txn.n, p, c->position);
		else if (!p->id)
			kobject_put(&p->kobj);
		return 0;
	case KAP_OP_FLUSH:
		while (kap_txn.n) {
			p = kap_txn.pol[--kap_txn.n];
			if (!p->id)
				kobject_put(&p->kobj);
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static bool kap_same_spec(const struct kap_policy *a, const struct kap_policy *b)
{
	return !strcmp(a->name, b->name) && !memcmp(&a->spec, &b->spec, sizeof(a->spec));
}

/*
 * Replaces the live table with the staged one.  A staged policy identical
 * (name and spec) to a live one that the staged table drops is the live one
 * kept: its sockets and counters are untouched.
 */
static int kap_txn_commit(void)
{
	struct kap_table *live = kap_live_table();
	unsigned int i, j;
	int ret;

	for (i = 0; live && i < kap_txn.n; i++) {
		struct kap_policy *p = kap_txn.pol[i];

		if (p->id)
			continue;
		for (j = 0; j < live->n; j++) {
			struct kap_policy *q = live->pol[j];

			if (kap_same_spec(p, q) &&
			    !kap_contains(kap_txn.pol, kap_txn.n, q)) {
				kap_txn.pol[i] = q;
				kobject_put(&p->kobj);
				break;
			}
		}
	}
	ret = kap_replace(kap_txn.pol, kap_txn.n);
	if (ret)
		return ret;	/* still open: the caller may abort */
	kap_txn.n = 0;		/* the policies now belong to the table */
	kap_txn_drop();
	return 0;
}

/* ---- the control file --------------------------------------------------- */

int kap_policy_control(const char *buf, size_t len)
{
	struct kap_parse_error e;
	struct kap_command *c;
	int ret;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ret = kap_parse_command(buf, len, c, &e);
	if (ret) {
		pr_debug("control: %s\n", e.msg);
		goto out;
	}

	mutex_lock(&kap_policy_lock);
	if (!kap_open) {
		ret = -ENODEV;
	} else if (kap_txn_busy() && !kap_txn_mine()) {
		ret = -EBUSY;
	} else if (kap_txn_mine()) {
		switch (c->op) {
		case KAP_OP_BEGIN:
			ret = -EBUSY;
			break;
		case KAP_OP_COMMIT:
			ret = kap_txn_commit();
			break;
		case KAP_OP_ABORT:
			kap_txn_drop();
			ret = 0;
			break;
		default:
			ret = kap_txn_command(c);
		}
	} else {
		switch (c->op) {
		case KAP_OP_ADD:
			ret = kap_do_add(c);
			break;
		case KAP_OP_DEL:
			ret = kap_do_del_move(c->name, -1);
			break;
		case KAP_OP_FLUSH:
			ret = kap_replace(NULL, 0);
			break;
		case KAP_OP_MOVE:
			ret = kap_do_del_move(c->name, c->position);
			break;
		case KAP_OP_BEGIN:
			ret = kap_txn_begin();
			break;
		case KAP_OP_COMMIT:
		case KAP_OP_ABORT:
			ret = -ENOENT;	/* no transaction open */
			break;
		}
	}
	mutex_unlock(&kap_policy_lock);
out:
	kfree(c);
	return ret;
}

bool kap_policy_enforcing(void)
{
	return READ_ONCE(kap_enforce);
}

int kap_policy_set_enforce(bool on)
{
	mutex_lock(&kap_policy_lock);
	if (on != kap_enforce) {
		WRITE_ONCE(kap_enforce, on);
		if (on)
			kap_reconcile();
	}
	mutex_unlock(&kap_policy_lock);
	return 0;
}

unsigned int kap_policy_count(void)
{
	struct kap_table *t;
	unsigned int n;

	rcu_read_lock();
	t = rcu_dereference(kap_live);
	n = t ? t->n : 0;
	rcu_read_unlock();
	return n;
}

/* ---- life cycle --------------------------------------------------------- */

int kap_policy_init(void)
{
	if (!max_policies || max_policies > KAP_POLICIES_LIMIT) {
		pr_err("max_policies=%u is outside 1-%u\n", max_policies,
		       KAP_POLICIES_LIMIT);
		return -EINVAL;
	}
	kap_policies_kobj = kobject_create_and_add("policies", kap_sysfs_root());
	return kap_policies_kobj ? 0 : -ENOMEM;
}

/* Control accepts commands once every hook is in place. */
void kap_policy_ready(void)
{
	mutex_lock(&kap_policy_lock);
	kap_open = true;
	mutex_unlock(&kap_policy_lock);
}

/*
 * Empties the table, reverting every governed socket, while the hooks still
 * run; control refuses commands from now on.
 */
void kap_policy_uninit(void)
{
	mutex_lock(&kap_policy_lock);
	kap_open = false;
	if (kap_txn.owner)
		kap_txn_drop();
	WRITE_ONCE(kap_enforce, false);
	kap_replace(NULL, 0);
	mutex_unlock(&kap_policy_lock);
	kobject_put(kap_policies_kobj);
	xa_destroy(&kap_ids);
}
