// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl status: is the module loaded; its version, whether it enforces
 * policies, how many there are, the host-wide counters and the limits.
 * Files a module does not have are left out.  Exit 0 when loaded, 1 when
 * not (the answer is printed either way).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kapctl.h"

/* Policies in policies/, or -1 if the module has no such directory. */
static long kap_policy_count(void)
{
	struct kap_policy_info *p;
	size_t n;

	if (kap_policies_load(&p, &n))
		return -1;
	free(p);
	return (long)n;
}

int kap_cmd_status(int argc, char **argv)
{
	char version[64] = "", enforce[16] = "";
	struct kap_counters c;
	bool loaded, on, have_enforce = false;
	long npol = -1;
	int ret;

	while ((ret = kap_getopt(argc, argv)) != -1)
		if (ret == KAP_OPT_EXIT)
			return kap_opt_exit;
	if (optind < argc)
		return kap_usage_err("status takes no arguments");

	loaded = kap_module_loaded();
	if (loaded) {
		ret = kap_sysfs_read("version", version, sizeof(version));
		if (ret < 0)
			return kap_fail("cannot read %s/version: %s", kap_sysfs_dir(),
					strerror(-ret));
		have_enforce = kap_sysfs_read("enforce", enforce, sizeof(enforce)) >= 0;
		npol = kap_policy_count();
		kap_sysfs_read_counters("stats", &c);
	}

	kap_open_object(NULL);
	kap_print_bool(KAP_PR_JSON, "loaded", NULL, loaded);
	if (!loaded) {
		kap_print_text("module:  not loaded (load it with 'modprobe kapolicy')\n");
		kap_close_object();
		return KAP_EXIT_FAIL;
	}
	kap_print_text("module:  loaded\n");
	kap_print_str(KAP_PR_ANY, "version", "version: %s\n", version);
	if (have_enforce) {
		on = !strcmp(enforce, "1");
		kap_print_bool(KAP_PR_JSON, "enforce", NULL, on);
		kap_print_str(KAP_PR_TEXT, NULL, "enforce: %s\n", on ? "on (policies are applied)" :
			      "off (observe only)");
	}
	if (npol >= 0)
		kap_print_i64(KAP_PR_ANY, "policies", "policies: %" PRId64 "\n", npol);
	kap_counters_out("stats", "\ncounters:\n", "  ", &c);
	kap_limits_out("limits", "\nlimits:\n", "  ");
	kap_close_object();
	return KAP_EXIT_OK;
}
