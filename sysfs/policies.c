// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kapolicy/policies/NAME/: one directory per policy of the live
 * table (sysfs/ABI/sysfs-kernel-kapolicy).
 *
 *   spec         the policy in canonical form
 *   order        its position in the match order
 *   stats/NAME   its counters, one value per file
 *
 * The control layer tells this file's observer, under its lock, of each
 * policy entering or leaving the live table; a directory holds a reference
 * on its policy, dropped when the directory's kobject is released.  A
 * policy that replaces one of the same name (a transaction) takes over its
 * directory: readers find the policy under rcu_read_lock(), and the one
 * replaced is freed only after a grace period (its table's reference goes
 * when that table is retired).
 *
 * Context: process context.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "sysfs.h"

static struct kobject *kap_policies_kobj;

struct kap_policy_dir {
	struct kobject kobj;
	struct kap_policy __rcu *policy;	/* referenced */
};

/* The policy of a directory policies/NAME/; under rcu_read_lock(). */
struct kap_policy *kap_sysfs_policy(struct kobject *dir)
{
	return rcu_dereference(container_of(dir, struct kap_policy_dir,
					    kobj)->policy);
}

static void kap_policy_dir_release(struct kobject *kobj)
{
	struct kap_policy_dir *d = container_of(kobj, struct kap_policy_dir, kobj);

	kap_policy_put(rcu_dereference_protected(d->policy, true));
	kfree(d);
}

/* Names cgroups, namespaces and ports: CAP_NET_ADMIN only (sysfs.c). */
static ssize_t spec_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	int n;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	rcu_read_lock();
	n = kap_policy_format(kap_sysfs_policy(kobj), buf, PAGE_SIZE - 1);
	rcu_read_unlock();
	return n + sysfs_emit_at(buf, n, "\n");
}

static ssize_t order_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	unsigned int order;

	rcu_read_lock();
	order = kap_policy_order(kap_sysfs_policy(kobj));
	rcu_read_unlock();
	return sysfs_emit(buf, "%u\n", order);
}

static struct kobj_attribute kap_spec_attr = __ATTR_RO_MODE(spec, 0400);
static struct kobj_attribute kap_order_attr = __ATTR_RO(order);

static struct attribute *kap_policy_attrs[] = {
	&kap_spec_attr.attr,
	&kap_order_attr.attr,
	NULL,
};

static const struct attribute_group kap_policy_group = {
	.attrs = kap_policy_attrs,
};

static const struct attribute_group *kap_policy_groups[] = {
	&kap_policy_group,
	&kap_sysfs_stats_group,
	NULL,
};

static const struct kobj_type kap_policy_ktype = {
	.release = kap_policy_dir_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kap_policy_groups,
};

/*
 * A policy is about to enter the live table: its directory first.  Without
 * memory for it the change that brings the policy is refused (-ENOMEM to
 * the writer), so that every live policy is listed.
 */
static int kap_policy_added(struct kap_policy *p)
{
	struct kap_policy_dir *d;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL | __GFP_NOWARN);
	if (!d)
		return -ENOMEM;
	RCU_INIT_POINTER(d->policy, kap_policy_get(p));
	ret = kobject_init_and_add(&d->kobj, &kap_policy_ktype,
				   kap_policies_kobj, "%s", kap_policy_name(p));
	if (ret) {
		kobject_put(&d->kobj);
		return ret;
	}
	kap_policy_set_priv(p, d);
	return 0;
}

/*
 * new takes old's directory (same name).  The directory's reference on old
 * goes now: old's table still holds one until it is retired, after a grace
 * period, so that a reader that found old can still use it.
 */
static void kap_policy_replaced(struct kap_policy *old, struct kap_policy *new)
{
	struct kap_policy_dir *d = kap_policy_priv(old);

	kap_policy_set_priv(old, NULL);
	kap_policy_set_priv(new, d);
	if (d)
		kap_policy_put(rcu_replace_pointer(d->policy, kap_policy_get(new),
						   true));
}

/* A policy left the live table: its directory goes at once. */
static void kap_policy_removed(struct kap_policy *p)
{
	struct kap_policy_dir *d = kap_policy_priv(p);

	if (!d)
		return;
	kap_policy_set_priv(p, NULL);
	kobject_del(&d->kobj);
	kobject_put(&d->kobj);
}

static const struct kap_control_observer kap_policies_observer = {
	.added = kap_policy_added,
	.replaced = kap_policy_replaced,
	.removed = kap_policy_removed,
};

int kap_sysfs_policies_init(struct kobject *root)
{
	kap_policies_kobj = kobject_create_and_add("policies", root);
	if (!kap_policies_kobj)
		return -ENOMEM;
	kap_control_observe(&kap_policies_observer);
	return 0;
}

void kap_sysfs_policies_uninit(void)
{
	kap_control_observe(NULL);
	kobject_put(kap_policies_kobj);
}
