// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry and exit.  Init brings the pieces up bottom up (kapolicy.h
 * lists them) and unwinds through the goto ladder on failure; exit is its
 * mirror image.  The control surface comes last, so that no command
 * arrives before the hooks are in place, and goes first; then the policy
 * table is emptied (and the sockets it governed reverted) while the hooks
 * still keep the per-socket state exact.  Once kap_hooks_uninit() returns,
 * no handler runs and the state below can be freed.
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
	ret = kap_table_init();
	if (ret)
		goto err_table;
	ret = kap_apply_init();
	if (ret)
		goto err_apply;
	ret = kap_hooks_init();
	if (ret)
		goto err_hooks;
	ret = kap_sysfs_init();
	if (ret)
		goto err_sysfs;

	pr_info("kapolicy %s loaded\n", KAP_VERSION);
	return 0;

err_sysfs:
	kap_hooks_uninit();
err_hooks:
	kap_apply_uninit();
err_apply:
	kap_table_uninit();
err_table:
	kap_socks_uninit();
err_socks:
	kap_stats_uninit();
err_stats:
	return ret;
}

static void __exit kap_exit(void)
{
	kap_sysfs_uninit();
	kap_control_uninit();	/* reverts governed sockets; hooks still up */
	kap_hooks_uninit();
	kap_apply_uninit();	/* the work the setsockopt hook queued */
	kap_table_uninit();
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
