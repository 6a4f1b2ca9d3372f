/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pieces of /sys/kernel/kapolicy shared between sysfs.c (the root) and
 * policies.c (policies/NAME/).
 */
#ifndef KAP_SYSFS_H
#define KAP_SYSFS_H

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "kapolicy.h"

/*
 * stats/: a directory of counter files, one value per file, under the root
 * (the host's counters) and under each policies/NAME/ (the policy's).
 */
extern const struct attribute_group kap_sysfs_stats_group;

struct kap_policy *kap_sysfs_policy(struct kobject *dir);
int kap_sysfs_policies_init(struct kobject *root);
void kap_sysfs_policies_uninit(void);

#endif /* KAP_SYSFS_H */
