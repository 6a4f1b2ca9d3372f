// SPDX-License-Identifier: GPL-2.0
/*
 * The control surface: /sys/kernel/kapolicy.  Every file here is part of the
 * ABI documented in sysfs/ABI/sysfs-kernel-kapolicy; change both together.
 *
 *   version            module version
 *   control            policy table commands (policy.c)
 *   enforce            apply policies (1) or only observe (0)
 *   policies/NAME/     one directory per policy (policy.c)
 *   stats/<counter>    host-wide counters, one value per file
 *   ports              per service port counters (a table; binary
 *                      attribute, as it can outgrow a page)
 *   limits/            the bounded tables: their sizes, use and overflows
 *
 * Files are read and written in process context only.
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "kapolicy.h"

static struct kobject *kap_kobj;

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", KAP_VERSION);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);

static ssize_t control_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	int ret = kap_policy_control(buf, count);

	return ret ?: count;
}

static struct kobj_attribute control_attr = __ATTR_WO(control);

static ssize_t enforce_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", kap_policy_enforcing());
}

/* Exactly "0" or "1", with or without a newline. */
static ssize_t enforce_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	size_t len = count && buf[count - 1] == '\n' ? count - 1 : count;
	int ret;

	if (len != 1 || (buf[0] != '0' && buf[0] != '1'))
		return -EINVAL;
	ret = kap_policy_set_enforce(buf[0] == '1');
	return ret ?: count;
}

static struct kobj_attribute enforce_attr = __ATTR_RW(enforce);

static ssize_t ports_read(struct file *file, struct kobject *kobj,
			  struct bin_attribute *attr, char *buf, loff_t off,
			  size_t count)
{
	return kap_stats_ports_read(buf, off, count);
}

static struct bin_attribute ports_attr = __BIN_ATTR_RO(ports, 0);

static struct attribute *kap_attrs[] = {
	&version_attr.attr,
	&control_attr.attr,
	&enforce_attr.attr,
	NULL,
};

static struct bin_attribute *kap_bin_attrs[] = {
	&ports_attr,
	NULL,
};

static const struct attribute_group kap_group = {
	.attrs = kap_attrs,
	.bin_attrs = kap_bin_attrs,
};

/* ---- stats/: one file per counter ------------------------------------- */

struct kap_counter_attr {
	struct kobj_attribute attr;
	enum kap_counter counter;
};

static ssize_t kap_counter_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct kap_counter_attr *ca = container_of(attr, struct kap_counter_attr, attr);
	u64 v[KAP_NR_COUNTERS];

	kap_stats_global(v);
	return sysfs_emit(buf, "%llu\n", v[ca->counter]);
}

#define KAP_COUNTER_ATTR(_name, _counter)				\
	static struct kap_counter_attr kap_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, kap_counter_show, NULL),	\
		.counter = _counter,					\
	}

KAP_COUNTER_ATTR(sockets_governed, KAP_SOCKETS_GOVERNED);
KAP_COUNTER_ATTR(keepalive_enabled, KAP_KEEPALIVE_ENABLED);
KAP_COUNTER_ATTR(probes_sent, KAP_PROBES_SENT);
KAP_COUNTER_ATTR(probes_answered, KAP_PROBES_ANSWERED);
KAP_COUNTER_ATTR(probes_deferred, KAP_PROBES_DEFERRED);
KAP_COUNTER_ATTR(peer_resets, KAP_PEER_RESETS);
KAP_COUNTER_ATTR(icmp_errors, KAP_ICMP_ERRORS);
KAP_COUNTER_ATTR(timeouts, KAP_TIMEOUTS);
KAP_COUNTER_ATTR(app_overrides, KAP_APP_OVERRIDES);

static struct attribute *kap_stats_attrs[] = {
	&kap_stat_sockets_governed.attr.attr,
	&kap_stat_keepalive_enabled.attr.attr,
	&kap_stat_probes_sent.attr.attr,
	&kap_stat_probes_answered.attr.attr,
	&kap_stat_probes_deferred.attr.attr,
	&kap_stat_peer_resets.attr.attr,
	&kap_stat_icmp_errors.attr.attr,
	&kap_stat_timeouts.attr.attr,
	&kap_stat_app_overrides.attr.attr,
	NULL,
};

static const struct attribute_group kap_stats_group = {
	.name = "stats",
	.attrs = kap_stats_attrs,
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
KAP_LIMIT_ATTR(ports_max, "%u", kap_stats_ports_max());
KAP_LIMIT_ATTR(ports_tracked, "%u", kap_stats_ports_used());
KAP_LIMIT_ATTR(ports_overflow, "%llu", kap_stats_ports_overflow());
KAP_LIMIT_ATTR(hooks_missed, "%lu", kap_hooks_missed());

static struct attribute *kap_limits_attrs[] = {
	&kap_limit_sockets_max.attr,
	&kap_limit_sockets_tracked.attr,
	&kap_limit_sockets_overflow.attr,
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
	&kap_stats_group,
	&kap_limits_group,
	NULL,
};

int kap_sysfs_init(void)
{
	int ret;

	kap_kobj = kobject_create_and_add("kapolicy", kernel_kobj);
	if (!kap_kobj)
		return -ENOMEM;

	ret = sysfs_create_groups(kap_kobj, kap_groups);
	if (ret) {
		kobject_put(kap_kobj);
		return ret;
	}
	return 0;
}

struct kobject *kap_sysfs_root(void)
{
	return kap_kobj;
}

void kap_sysfs_uninit(void)
{
	sysfs_remove_groups(kap_kobj, kap_groups);
	kobject_put(kap_kobj);
}
