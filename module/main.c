// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry and exit.  Init brings the pieces up in dependency order and
 * unwinds through the goto ladder on failure; exit is its mirror image.
 */
#include <linux/module.h>

#include "kapolicy.h"

static int __init kap_init(void)
{
	int ret;

	ret = kap_sysfs_init();
	if (ret)
		goto err_sysfs;

	pr_info("kapolicy %s loaded\n", KAP_VERSION);
	return 0;

err_sysfs:
	return ret;
}

static void __exit kap_exit(void)
{
	kap_sysfs_uninit();
	pr_info("kapolicy %s unloaded\n", KAP_VERSION);
}

module_init(kap_init);
module_exit(kap_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keepalive policy and visibility for every TCP connection");
MODULE_VERSION(KAP_VERSION);
MODULE_AUTHOR("kapolicy developers");
