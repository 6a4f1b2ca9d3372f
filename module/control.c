// SPDX-License-Identifier: GPL-2.0
/*
 * The control layer: the commands written to /sys/kernel/kapolicy/control
 * (parse.h's language), transactions and enforce.  It is the only code that
 * changes the live policy table, always in three steps:
 *
 *   publish    a new table (table.c) replaces the live one; the surface's
 *              observer is told which policies came and went
 *   reconcile  once no hook can still match against the old table
 *              (synchronize_rcu()), every established connection is moved
 *              to the policy that matches it now (apply.c)
 *   retire     the old table and the policies only it listed are freed once
 *              no reader can hold them
 *
 * A change that cannot be made (a bad command, no memory, a full table)
 * changes nothing: the new table is built before anything is published.
 *
 * Transactions (begin ... commit) stage a whole new table, so that a config
 * file is applied all or nothing; one process at a time, others get EBUSY
 * until it commits, aborts or exits.
 *
 * Context: process context (sysfs stores and module exit), under
 * kap_control_lock; may sleep.
 */
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "apply.h"
#include "kapolicy.h"
#include "table.h"

static DEFINE_MUTEX(kap_control_lock);
static struct kap_table *kap_current;	/* the live table, as published */
static const struct kap_control_observer *kap_observer;

/* An array of policies, each referenced: a table in the making. */
struct kap_staged {
	struct kap_policy **pol;
	unsigned int n, max;
};

static struct {
	struct pid *owner;		/* NULL: no transaction */
	struct kap_staged s;
} kap_txn;

/* ---- staged tables ------------------------------------------------------ */

/* A copy of the live order, with room for extra more. */
static int kap_staged_init(struct kap_staged *s, unsigned int extra)
{
	unsigned int i, n = kap_table_len(kap_current);

	s->max = n + extra;
	s->pol = kvmalloc_array(s->max ?: 1, sizeof(*s->pol),
				GFP_KERNEL | __GFP_NOWARN);
	if (!s->pol)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s->pol[i] = kap_policy_get(kap_table_at(kap_current, i));
	s->n = n;
	return 0;
}

static void kap_staged_drop(struct kap_staged *s)
{
	while (s->n)
		kap_policy_put(s->pol[--s->n]);
	kvfree(s->pol);
	s->pol = NULL;
	s->max = 0;
}

static int kap_staged_find(const struct kap_staged *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->pol[i]->name, name))
			return i;
	return -1;
}

static bool kap_staged_has(const struct kap_staged *s,
			   const struct kap_policy *p)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (s->pol[i] == p)
			return true;
	return false;
}

static int kap_staged_insert(struct kap_staged *s, struct kap_policy *p,
			     unsigned int at)
{
	if (s->n == s->max)
		return -ENOSPC;
	at = min(at, s->n);
	memmove(&s->pol[at + 1], &s->pol[at], (s->n - at) * sizeof(*s->pol));
	s->pol[at] = p;
	s->n++;
	return 0;
}

/* Takes the policy at position at out of s; the caller has its reference. */
static struct kap_policy *kap_staged_take(struct kap_staged *s, unsigned int at)
{
	struct kap_policy *p = s->pol[at];

	memmove(&s->pol[at], &s->pol[at + 1], (s->n - at - 1) * sizeof(*s->pol));
	s->n--;
	return p;
}

/* One command applied to a staged table: add, del, move or flush. */
static int kap_staged_command(struct kap_staged *s, const struct kap_command *c)
{
	struct kap_policy *p;
	unsigned int at;
	int i, ret;

	switch (c->op) {
	case KAP_OP_ADD:
		if (kap_staged_find(s, c->name) >= 0)
			return -EEXIST;
		if (s->n == s->max)
			return -ENOSPC;
		p = kap_policy_new(c);
		if (IS_ERR(p))
			return PTR_ERR(p);
		at = c->spec.keys & KAP_KEY_BIT(KAP_KEY_ORDER) ? c->spec.order : s->n;
		ret = kap_staged_insert(s, p, at);
		if (ret)
			kap_policy_put(p);
		return ret;
	case KAP_OP_DEL:
	case KAP_OP_MOVE:
		i = kap_staged_find(s, c->name);
		if (i < 0)
			return -ENOENT;
		p = kap_staged_take(s, i);
		if (c->op == KAP_OP_MOVE)
			return kap_staged_insert(s, p, c->position);
		kap_policy_put(p);
		return 0;
	case KAP_OP_FLUSH:
		while (s->n)
			kap_policy_put(s->pol[--s->n]);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- publish, reconcile, retire ----------------------------------------- */

/* The policy of t named like p, if any. */
static struct kap_policy *kap_table_named(struct kap_table *t,
					  const struct kap_policy *p)
{
	unsigned int i;

	for (i = 0; i < kap_table_len(t); i++)
		if (!strcmp(kap_policy_name(kap_table_at(t, i)), kap_policy_name(p)))
			return kap_table_at(t, i);
	return NULL;
}

/*
 * The observer is told of the policies of to that from lacks, before to is
 * published: if it cannot take one (no memory for its directory), those
 * it took are taken back and the change is refused.  A new policy that
 * replaces one of the same name (a transaction) takes its place, which
 * cannot fail.
 */
static int kap_tell_added(struct kap_table *from, struct kap_table *to)
{
	struct kap_policy *p, *old;
	unsigned int i;
	int ret;

	if (!kap_observer)
		return 0;
	for (i = 0; i < kap_table_len(to); i++) {
		p = kap_table_at(to, i);
		if (kap_table_has(from, p))
			continue;
		old = kap_table_named(from, p);
		if (old) {
			kap_observer->replaced(old, p);
			continue;
		}
		ret = kap_observer->added(p);
		if (ret)
			goto undo;
	}
	return 0;

undo:
	while (i--) {
		p = kap_table_at(to, i);
		if (kap_table_has(from, p))
			continue;
		old = kap_table_named(from, p);
		if (old)
			kap_observer->replaced(p, old);
		else
			kap_observer->removed(p);
	}
	/* a reader may have found a policy of to in a directory meanwhile */
	synchronize_rcu();
	return ret;
}

/* After to is published: the policies of from that to lacks. */
static void kap_tell_removed(struct kap_table *from, struct kap_table *to)
{
	unsigned int i;

	if (!kap_observer)
		return;
	for (i = 0; i < kap_table_len(from); i++)
		if (!kap_table_has(to, kap_table_at(from, i)))
			kap_observer->removed(kap_table_at(from, i));
}

/* Whether a policy of t needs the application's TCP setsockopt() calls. */
static bool kap_table_watches_tcp_sockopt(struct kap_table *t)
{
	unsigned int i;

	for (i = 0; i < kap_table_len(t); i++)
		if (kap_apply_watches_tcp_sockopt(kap_table_at(t, i)))
			return true;
	return false;
}

/*
 * Makes t (NULL: an empty table) the live table, or nothing changes and the
 * error is returned (t is the caller's then).  The setsockopt hook is
 * armed before the first table that needs it is published.
 */
static int kap_switch(struct kap_table *t)
{
	struct kap_table *old = kap_current;
	int ret;

	if (kap_table_watches_tcp_sockopt(t)) {
		ret = kap_hooks_watch_tcp_sockopt();
		if (ret)
			return ret;
	}
	ret = kap_tell_added(old, t);
	if (ret)
		return ret;
	kap_table_publish(t);
	kap_current = t;
	kap_tell_removed(old, t);
	/*
	 * No hook still matches against the old table once this returns, so
	 * the walk sees every connection the old table governed.
	 */
	synchronize_rcu();
	kap_reconcile();
	kap_table_retire(old, t);
	return 0;
}

/*
 * Makes s the live table; nothing changes if it cannot be built (the error
 * is returned).  s keeps its references.
 */
static int kap_replace(struct kap_staged *s)
{
	struct kap_table *t = kap_table_build(s->pol, s->n);
	int ret;

	if (IS_ERR(t))
		return PTR_ERR(t);
	ret = kap_switch(t);
	if (ret)
		kap_table_free(t);
	return ret;
}

/* A command outside a transaction: on a copy of the live table. */
static int kap_command_now(const struct kap_command *c)
{
	struct kap_staged s;
	int ret;

	ret = kap_staged_init(&s, 1);
	if (ret)
		return ret;
	ret = kap_staged_command(&s, c);
	if (!ret)
		ret = kap_replace(&s);
	kap_staged_drop(&s);
	return ret;
}

/* ---- transactions ------------------------------------------------------- */

static void kap_txn_drop(void)
{
	kap_staged_drop(&kap_txn.s);
	put_pid(kap_txn.owner);
	kap_txn.owner = NULL;
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
	int ret = kap_staged_init(&kap_txn.s, kap_table_max());

	if (ret)
		return ret;
	kap_txn.owner = get_pid(task_tgid(current));
	return 0;
}

static bool kap_same_spec(const struct kap_policy *a, const struct kap_policy *b)
{
	return !strcmp(a->name, b->name) &&
	       !memcmp(&a->spec, &b->spec, sizeof(a->spec));
}

/*
 * Replaces the live table with the staged one.  A staged policy identical
 * (name and spec) to a live one that the staged table drops is the live one
 * kept: its sockets and counters are untouched.
 */
static int kap_txn_commit(void)
{
	struct kap_staged *s = &kap_txn.s;
	unsigned int i, j;
	int ret;

	for (i = 0; i < s->n; i++) {
		struct kap_policy *p = s->pol[i];

		if (p->id)
			continue;
		for (j = 0; j < kap_table_len(kap_current); j++) {
			struct kap_policy *q = kap_table_at(kap_current, j);

			if (kap_same_spec(p, q) && !kap_staged_has(s, q)) {
				s->pol[i] = kap_policy_get(q);
				kap_policy_put(p);
				break;
			}
		}
	}
	ret = kap_replace(s);
	if (ret)
		return ret;	/* still open: the caller may abort */
	kap_txn_drop();
	return 0;
}

static int kap_txn_command(const struct kap_command *c)
{
	switch (c->op) {
	case KAP_OP_BEGIN:
		return -EBUSY;
	case KAP_OP_COMMIT:
		return kap_txn_commit();
	case KAP_OP_ABORT:
		kap_txn_drop();
		return 0;
	default:
		return kap_staged_command(&kap_txn.s, c);
	}
}

/* ---- the interface ------------------------------------------------------ */

/* One command (parse.h); 0 or a negative errno, and then nothing changed. */
int kap_control_command(const char *buf, size_t len)
{
	struct kap_parse_error e;
	struct kap_command *c;
	int ret;

	c = kmalloc(sizeof(*c), GFP_KERNEL | __GFP_NOWARN);
	if (!c)
		return -ENOMEM;
	ret = kap_parse_command(buf, len, c, &e);
	if (ret) {
		pr_debug("control: %s\n", e.msg);
		goto out;
	}

	mutex_lock(&kap_control_lock);
	if (kap_txn_busy() && !kap_txn_mine())
		ret = -EBUSY;
	else if (kap_txn_mine())
		ret = kap_txn_command(c);
	else if (c->op == KAP_OP_BEGIN)
		ret = kap_txn_begin();
	else if (c->op == KAP_OP_COMMIT || c->op == KAP_OP_ABORT)
		ret = -ENOENT;	/* no transaction open */
	else
		ret = kap_command_now(c);
	mutex_unlock(&kap_control_lock);
out:
	kfree(c);
	return ret;
}

bool kap_control_enforcing(void)
{
	return kap_apply_enforcing();
}

/* 1: apply the live table to every connection now; 0: only observe. */
void kap_control_set_enforce(bool on)
{
	mutex_lock(&kap_control_lock);
	if (on != kap_apply_enforcing()) {
		kap_apply_set_enforce(on);
		if (on)
			kap_reconcile();
	}
	mutex_unlock(&kap_control_lock);
}

void kap_control_observe(const struct kap_control_observer *obs)
{
	mutex_lock(&kap_control_lock);
	if (obs) {
		kap_observer = obs;
		/* only at load, when the table is empty: nothing to fail */
		WARN_ON(kap_tell_added(NULL, kap_current));
	} else {
		kap_tell_removed(kap_current, NULL);
	}
	kap_observer = obs;
	mutex_unlock(&kap_control_lock);
}

/* ---- life cycle --------------------------------------------------------- */

/*
 * Module exit, after the surface is gone and while the hooks still run:
 * empties the table, reverting every governed socket.
 */
void kap_control_uninit(void)
{
	mutex_lock(&kap_control_lock);
	if (kap_txn.owner)
		kap_txn_drop();
	kap_apply_set_enforce(false);
	kap_switch(NULL);
	mutex_unlock(&kap_control_lock);
}
