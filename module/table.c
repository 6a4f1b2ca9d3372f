// SPDX-License-Identifier: GPL-2.0
/*
 * The policy table: what the hooks match a socket against.
 *
 * The model.  The table is an ordered list of policies; the first policy
 * that matches a socket governs it.  A table is an immutable snapshot with
 * its own index: the control layer builds a new one for each change
 * (kap_table_build), makes it live (kap_table_publish: rcu_assign_pointer)
 * and retires the old one once no reader can hold it (kap_table_retire,
 * after synchronize_rcu()).  Hooks read the live table under RCU, never see
 * a half-made one and never take a lock.  A policy is shared by the tables
 * that list it (each holds a reference) and freed with its last reference.
 *
 * Matching is kap_spec_match() (parse.c, shared with kapctl) plus the
 * cgroup: the socket's cgroup must be the policy's or below it.
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
 * Ids: a policy gets an id when a table first lists it; per-socket state
 * names its policy by id, and kap_policy_by_id() finds a policy until the
 * table that dropped it is retired (its sockets reverted by then).
 *
 * Context: building, publishing and retiring in process context, serialized
 * by the caller (control.c), may sleep; kap_policy_match(), _by_id() and
 * _is_live() in any context under RCU.
 */
#include <linux/bitmap.h>
#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/xarray.h>

#include "kapolicy.h"
#include "table.h"

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
	struct kap_policy **pol;	/* [n], in match order, referenced */
	struct kap_port_index *lport;
	struct kap_port_index *rport;
	struct kap_cg_index *cg;
	unsigned int nrest;
	u16 *rest;
};

static struct kap_table __rcu *kap_live;
static DEFINE_XARRAY(kap_ids);		/* id -> policy, for the hooks */
static u32 kap_next_id = 1;

/* ---- policies ----------------------------------------------------------- */

/* A policy for an add: in no table yet, without an id; one reference. */
struct kap_policy *kap_policy_new(const struct kap_command *c)
{
	struct kap_policy *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL | __GFP_NOWARN);
	if (!p)
		return ERR_PTR(-ENOMEM);
	kref_init(&p->ref);
	strscpy(p->name, c->name, sizeof(p->name));
	p->spec = c->spec;
	p->spec.keys &= ~KAP_KEY_BIT(KAP_KEY_ORDER);
	p->spec.order = 0;
	p->stats = alloc_percpu_gfp(struct kap_counters,
				    GFP_KERNEL | __GFP_NOWARN);
	if (!p->stats) {
		kap_policy_put(p);
		return ERR_PTR(-ENOMEM);
	}
	if (p->spec.keys & KAP_KEY_BIT(KAP_KEY_CGROUP)) {
		struct cgroup *cgrp = cgroup_get_from_id(p->spec.cgroup);

		if (IS_ERR(cgrp)) {
			kap_policy_put(p);
			return ERR_PTR(-ENOENT);
		}
		p->cgrp = cgrp;
	}
	return p;
}

struct kap_policy *kap_policy_get(struct kap_policy *p)
{
	kref_get(&p->ref);
	return p;
}

static void kap_policy_release(struct kref *ref)
{
	struct kap_policy *p = container_of(ref, struct kap_policy, ref);

	free_percpu(p->stats);
	if (p->cgrp)
		cgroup_put(p->cgrp);
	kfree(p);
}

/*
 * No hook can reach a policy whose last reference goes: tables drop theirs
 * only once retired (after a grace period), and its id is gone by then.
 */
void kap_policy_put(struct kap_policy *p)
{
	if (p)
		kref_put(&p->ref, kap_policy_release);
}

const char *kap_policy_name(const struct kap_policy *p)
{
	return p->name;
}

int kap_policy_format(const struct kap_policy *p, char *buf, size_t size)
{
	return kap_spec_format(&p->spec, buf, size);
}

unsigned int kap_policy_order(const struct kap_policy *p)
{
	return READ_ONCE(p->pos);
}

void kap_policy_counters(const struct kap_policy *p, u64 out[KAP_NR_COUNTERS])
{
	kap_stats_sum(p->stats, out);
}

void kap_policy_set_priv(struct kap_policy *p, void *priv)
{
	p->priv = priv;
}

void *kap_policy_priv(const struct kap_policy *p)
{
	return p->priv;
}

/* ---- matching ---------------------------------------------------------- */

static bool kap_policy_matches(const struct kap_policy *p,
			       const struct kap_sock_key *k)
{
	if (!kap_spec_match(&p->spec, &k->m))
		return false;
	return !p->cgrp || (k->cgrp && cgroup_is_descendant(k->cgrp, p->cgrp));
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
		best = kap_scan_port(t, t->lport, k->m.lport, k, best);
	if (t->rport)
		best = kap_scan_port(t, t->rport, k->m.rport, k, best);
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

/* ---- building a table --------------------------------------------------- */

static void kap_port_index_free(struct kap_port_index *ix)
{
	if (!ix)
		return;
	kvfree(ix->start);
	kvfree(ix->list);
	kvfree(ix);
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

	ev = kvmalloc_array(nev, sizeof(*ev), GFP_KERNEL | __GFP_NOWARN);
	active = bitmap_zalloc(n, GFP_KERNEL | __GFP_NOWARN);
	ix = kvzalloc(sizeof(*ix), GFP_KERNEL | __GFP_NOWARN);
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
		ix->start = kvcalloc(nseg + 1, sizeof(*ix->start),
				     GFP_KERNEL | __GFP_NOWARN);
		ix->list = kvcalloc(total ?: 1, sizeof(*ix->list),
				    GFP_KERNEL | __GFP_NOWARN);
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
static struct kap_table *kap_table_index(struct kap_policy **pol, unsigned int n)
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
	t->n = 0;		/* no references taken yet */
	kap_table_free(t);
	return ERR_PTR(ret);
}

/* ---- building, publishing and retiring --------------------------------- */

unsigned int kap_table_len(const struct kap_table *t)
{
	return t ? t->n : 0;
}

struct kap_policy *kap_table_at(const struct kap_table *t, unsigned int i)
{
	return t->pol[i];
}

bool kap_table_has(const struct kap_table *t, const struct kap_policy *p)
{
	unsigned int i;

	for (i = 0; t && i < t->n; i++)
		if (t->pol[i] == p)
			return true;
	return false;
}

/* Frees a table that is not live (never published, or retired). */
void kap_table_free(struct kap_table *t)
{
	unsigned int i;

	if (!t)
		return;
	kap_port_index_free(t->lport);
	kap_port_index_free(t->rport);
	if (t->cg) {
		kvfree(t->cg->slots);
		kvfree(t->cg->list);
		kfree(t->cg);
	}
	for (i = 0; t->pol && i < t->n; i++)
		kap_policy_put(t->pol[i]);
	kvfree(t->rest);
	kvfree(t->pol);
	kfree(t);
}

/*
 * A table of pol[0..n), in this order: it takes a reference on each policy
 * and gives an id to those that have none.  ERR_PTR(-ENOSPC) if the table
 * would exceed max_policies or its index its bound.
 */
struct kap_table *kap_table_build(struct kap_policy **pol, unsigned int n)
{
	struct kap_table *t;
	u32 first = kap_next_id;
	unsigned int i;
	int ret;

	if (n > max_policies)
		return ERR_PTR(-ENOSPC);
	t = kap_table_index(pol, n);
	if (IS_ERR(t))
		return t;
	for (i = 0; i < n; i++)
		kap_policy_get(pol[i]);
	for (i = 0; i < n; i++) {
		if (pol[i]->id)
			continue;
		pol[i]->id = kap_next_id++;
		ret = xa_err(xa_store(&kap_ids, pol[i]->id, pol[i], GFP_KERNEL));
		if (ret)
			goto undo;
	}
	return t;

undo:
	for (i = 0; i < n; i++) {
		if (pol[i]->id >= first) {
			xa_erase(&kap_ids, pol[i]->id);
			pol[i]->id = 0;
		}
	}
	kap_table_free(t);
	return ERR_PTR(ret);
}

/* Makes t (NULL: none) the table the hooks match against. */
void kap_table_publish(struct kap_table *t)
{
	unsigned int i;

	for (i = 0; t && i < t->n; i++)
		WRITE_ONCE(t->pol[i]->pos, i);
	rcu_assign_pointer(kap_live, t);
}

/*
 * old is live no longer and the sockets it governed have been moved to now:
 * the policies it alone listed lose their ids, and once no reader can hold
 * them, old and its references go.
 */
void kap_table_retire(struct kap_table *old, const struct kap_table *now)
{
	unsigned int i;

	if (!old)
		return;
	for (i = 0; i < old->n; i++)
		if (!kap_table_has(now, old->pol[i]))
			xa_erase(&kap_ids, old->pol[i]->id);
	synchronize_rcu();
	kap_table_free(old);
}

/* The policy with this id (live, or not yet retired), or NULL; under RCU. */
struct kap_policy *kap_policy_by_id(u32 id)
{
	return id ? xa_load(&kap_ids, id) : NULL;
}

/* Whether p is in the live table; under RCU. */
bool kap_policy_is_live(const struct kap_policy *p)
{
	const struct kap_table *t = rcu_dereference(kap_live);
	unsigned int pos = READ_ONCE(p->pos);

	return t && pos < t->n && t->pol[pos] == p;
}

/* The most policies a table holds (module parameter max_policies). */
unsigned int kap_table_max(void)
{
	return max_policies;
}

int kap_table_init(void)
{
	if (!max_policies || max_policies > KAP_POLICIES_LIMIT) {
		pr_err("max_policies=%u is outside 1-%u\n", max_policies,
		       KAP_POLICIES_LIMIT);
		return -EINVAL;
	}
	return 0;
}

/* The control layer has retired the last table: nothing is left. */
void kap_table_uninit(void)
{
	WARN_ON(rcu_access_pointer(kap_live));
	xa_destroy(&kap_ids);
}
