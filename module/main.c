// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry and exit.  Init brings the pieces up in dependency order and
 * unwinds through the goto ladder on failure; exit is its mirror image.
 * The hooks come last and go first (after the policy table is emptied,
 * which needs them): once kap_hooks_uninit() returns, no handler runs and
 * the state below can be freed.
 */
#include <linux/module.h>

#include "kapolicy.h"

static int __init kap_init(void)
{
	int ret;

	ret = kap_stats_init();
	if (ret)
		goto err_stats;
	ret = kap_socks_init();
	if (ret)
		goto err_socks;
	ret = kap_sysfs_init();
	if (ret)
		goto err_sysfs;
	ret = kap_policy_init();
	if (ret)
		goto err_policy;
	ret = kap_hooks_init();
	if (ret)
		goto err_hooks;
	kap_policy_ready();

	pr_info("kapolicy %s loaded\n", KAP_VERSION);
	return 0;

err_hooks:
	kap_policy_uninit();
err_policy:
	kap_sysfs_uninit();
err_sysfs:
	kap_socks_uninit();
err_socks:
	kap_stats_uninit();
err_stats:
	return ret;
}

static void __exit kap_exit(void)
{
	kap_policy_uninit();	/* reverts governed sockets; hooks still up */
	kap_hooks_uninit();
	kap_sysfs_uninit();
	kap_socks_uninit();
	kap_stats_uninit();
	pr_info("kapolicy %s unloaded\n", KAP_VERSION);
}

module_init(kap_init);
module_exit(kap_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keepalive policy and visibility for every TCP connection");
MODULE_VERSION(KAP_VERSION);
MODULE_AUTHOR("kapolicy developers");
