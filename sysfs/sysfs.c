// SPDX-License-Identifier: GPL-2.0
/*
 * The control surface: /sys/kernel/kapolicy.  Every file here is part of the
 * ABI documented in sysfs/ABI/sysfs-kernel-kapolicy; change both together.
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

static struct attribute *kap_attrs[] = {
	&version_attr.attr,
	NULL,
};

static const struct attribute_group kap_group = {
	.attrs = kap_attrs,
};

int kap_sysfs_init(void)
{
	int ret;

	kap_kobj = kobject_create_and_add("kapolicy", kernel_kobj);
	if (!kap_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(kap_kobj, &kap_group);
	if (ret) {
		kobject_put(kap_kobj);
		return ret;
	}
	return 0;
}

void kap_sysfs_uninit(void)
{
	sysfs_remove_group(kap_kobj, &kap_group);
	kobject_put(kap_kobj);
}
