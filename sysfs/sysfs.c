// SPDX-License-Identifier: GPL-2.0
/*
 * The control surface: /sys/kernel/kapolicy.  Every file here is part of the
 * ABI documented in sysfs/ABI/sysfs-kernel-kapolicy; change both together.
 *
 *   version            module version
 *   control            policy table commands (module/control.c)
 *   enforce            apply policies (1) or only observe (0)
 *   policies/NAME/     one directory per policy (policies.c)
 *   stats/<counter>    host-wide counters, one value per file
 *   ports              per service port counters (a table; binary
 *                      attribute, as it can outgrow a page)
 *   deaths             per service port idle-death histograms (a table,
 *                      binary as ports)
 *   limits/            the bounded tables: their sizes, use and overflows
 *
 * Who may do what (a host runs many tenants): every write, and every read
 * of what describes other namespaces or cgroups (ports, deaths,
 * policies/NAME/spec), needs CAP_NET_ADMIN in the initial user namespace,
 * checked in the handler as well as by the file's mode; the version,
 * counters and limits are for everyone.
 *
 * Files are read and written in process context only.  Everything shown
 * here comes from the engine's interface, module/kapolicy.h.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/rcupdate.h>
#include <linux/sysfs.h>
#include <linux/user_namespace.h>

#include "sysfs.h"

static struct kobject *kap_kobj;

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", KAP_VERSION);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);

/* The writer is the caller: sysfs stores run in the writing task. */
static ssize_t control_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	int ret;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	ret = kap_control_command(buf, count);
	return ret ?: count;
}

static struct kobj_attribute control_attr = __ATTR_WO(control);

static ssize_t enforce_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", kap_control_enforcing());
}

/* Exactly "0" or "1", with or without a newline. */
static ssize_t enforce_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	size_t len = count && buf[count - 1] == '\n' ? count - 1 : count;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (len != 1 || (buf[0] != '0' && buf[0] != '1'))
		return -EINVAL;
	kap_control_set_enforce(buf[0] == '1');
	return count;
}

static struct kobj_attribute enforce_attr = __ATTR_RW(enforce);

static ssize_t ports_read(struct file *file, struct kobject *kobj,
			  struct bin_attribute *attr, char *buf, loff_t off,
			  size_t count)
{
	if (!file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN))
		return -EPERM;
	return kap_stats_ports_read(file, buf, off, count);
}

static struct bin_attribute ports_attr = __BIN_ATTR(ports, 0400, ports_read,
						    NULL, 0);

static ssize_t deaths_read(struct file *file, struct kobject *kobj,
			   struct bin_attribute *attr, char *buf, loff_t off,
			   size_t count)
{
	if (!file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN))
		return -EPERM;
	return kap_stats_deaths_read(file, buf, off, count);
}

static struct bin_attribute deaths_attr = __BIN_ATTR(deaths, 0400, deaths_read,
						     NULL, 0);

static struct attribute *kap_attrs[] = {
	&version_attr.attr,
	&control_attr.attr,
	&enforce_attr.attr,
	NULL,
};

static struct bin_attribute *kap_bin_attrs[] = {
	&ports_attr,
	&deaths_attr,
	NULL,
};

static const struct attribute_group kap_group = {
	.attrs = kap_attrs,
	.bin_attrs = kap_bin_attrs,
};

/* ---- stats/: one file per counter ------------------------------------- */

/*
 * One attribute per counter, shown in two places: kobj is the root (the
 * host's counters) or a policy's directory.
 */
struct kap_counter_attr {
	struct kobj_attribute attr;
	enum kap_counter counter;
};

static ssize_t kap_counter_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	enum kap_counter c = container_of(attr, struct kap_counter_attr,
					  attr)->counter;
	u64 v[KAP_NR_COUNTERS];

	if (kobj == kap_kobj) {
		kap_stats_global(v);
	} else {
		rcu_read_lock();
		kap_policy_counters(kap_sysfs_policy(kobj), v);
		rcu_read_unlock();
	}
	return sysfs_emit(buf, "%llu\n", v[c]);
}

#define KAP_COUNTER_ATTR(e, name, title, help)				\
	{ .attr = __ATTR(name, 0444, kap_counter_show, NULL), .counter = KAP_##e },
static struct kap_counter_attr kap_counter_attrs[KAP_NR_COUNTERS] = {
	KAP_COUNTERS(KAP_COUNTER_ATTR)
};

static struct attribute *kap_counter_list[KAP_NR_COUNTERS + 1];

const struct attribute_group kap_sysfs_stats_group = {
	.name = "stats",
	.attrs = kap_counter_list,
};

/* ---- limits/ ------------------------------------------------------------ */

#define KAP_LIMIT_ATTR(_name, _fmt, _expr)				\
	static ssize_t _name##_show(struct kobject *kobj,		\
				    struct kobj_attribute *attr, char *buf) \
	{								\
		return sysfs_emit(buf, _fmt "\n", _expr);		\
	}								\
	static struct kobj_attribute kap_limit_##_name = __ATTR_RO(_name)

KAP_LIMIT_ATTR(sockets_max, "%u", kap_socks_max());
KAP_LIMIT_ATTR(sockets_tracked, "%u", kap_socks_used());
KAP_LIMIT_ATTR(sockets_overflow, "%llu", kap_socks_overflow());
KAP_LIMIT_ATTR(sockets_evicted, "%llu", kap_socks_evicted());
KAP_LIMIT_ATTR(ports_max, "%u", kap_stats_ports_max());
KAP_LIMIT_ATTR(ports_tracked, "%u", kap_stats_ports_used());
KAP_LIMIT_ATTR(ports_overflow, "%llu", kap_stats_ports_overflow());
KAP_LIMIT_ATTR(hooks_missed, "%lu", kap_hooks_missed());

static struct attribute *kap_limits_attrs[] = {
	&kap_limit_sockets_max.attr,
	&kap_limit_sockets_tracked.attr,
	&kap_limit_sockets_overflow.attr,
	&kap_limit_sockets_evicted.attr,
	&kap_limit_ports_max.attr,
	&kap_limit_ports_tracked.attr,
	&kap_limit_ports_overflow.attr,
	&kap_limit_hooks_missed.attr,
	NULL,
};

static const struct attribute_group kap_limits_group = {
	.name = "limits",
	.attrs = kap_limits_attrs,
};

static const struct attribute_group *kap_groups[] = {
	&kap_group,
	&kap_sysfs_stats_group,
	&kap_limits_group,
	NULL,
};

int kap_sysfs_init(void)
{
	int i, ret;

	for (i = 0; i < KAP_NR_COUNTERS; i++)
		kap_counter_list[i] = &kap_counter_attrs[i].attr.attr;
	kap_kobj = kobject_create_and_add("kapolicy", kernel_kobj);
	if (!kap_kobj) {
		ret = -ENOMEM;
		goto err_kobj;
	}
	ret = sysfs_create_groups(kap_kobj, kap_groups);
	if (ret)
		goto err_groups;
	ret = kap_sysfs_policies_init(kap_kobj);
	if (ret)
		goto err_policies;
	return 0;

err_policies:
	sysfs_remove_groups(kap_kobj, kap_groups);
err_groups:
	kobject_put(kap_kobj);
err_kobj:
	pr_err("cannot create /sys/kernel/kapolicy (%d); not loading\n", ret);
	return ret;
}

/* Once this returns, no file of the surface is being read or written. */
void kap_sysfs_uninit(void)
{
	kap_sysfs_policies_uninit();
	sysfs_remove_groups(kap_kobj, kap_groups);
	kobject_put(kap_kobj);
}
