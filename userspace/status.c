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
	struct json_object *obj;
	char version[64] = "", enforce[16] = "";
	struct kap_counters c;
	bool loaded, have_enforce = false;
	long npol = -1;
	uint64_t v;
	int ret, header = 0;
	size_t i;

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

	if (kap_json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "loaded", json_object_new_boolean(loaded));
		if (loaded) {
			json_object_object_add(obj, "version", json_object_new_string(version));
			if (have_enforce)
				json_object_object_add(obj, "enforce",
						       json_object_new_boolean(!strcmp(enforce, "1")));
			if (npol >= 0)
				json_object_object_add(obj, "policies", json_object_new_int64(npol));
			json_object_object_add(obj, "stats", kap_counters_json(&c));
			json_object_object_add(obj, "limits", kap_limits_json());
		}
		kap_json_print(obj);
		json_object_put(obj);
		return loaded ? KAP_EXIT_OK : KAP_EXIT_FAIL;
	}

	if (!loaded) {
		printf("module:  not loaded (load it with 'modprobe kapolicy')\n");
		return KAP_EXIT_FAIL;
	}
	printf("module:  loaded\n");
	printf("version: %s\n", version);
	if (have_enforce)
		printf("enforce: %s\n", !strcmp(enforce, "1") ? "on (policies are applied)" :
		       "off (observe only)");
	if (npol >= 0)
		printf("policies: %ld\n", npol);
	for (i = 0; i < KAP_NR_COUNTERS; i++) {
		if (!c.have[i])
			continue;
		if (!header++)
			printf("\ncounters:\n");
		printf("  %-18s %" PRIu64 "\n", kap_counter_names[i], c.v[i]);
	}
	header = 0;
	for (i = 0; kap_limits[i].name; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "limits/%s", kap_limits[i].name);
		if (kap_sysfs_read_u64(rel, &v))
			continue;
		if (!header++)
			printf("\nlimits:\n");
		printf("  %-18s %" PRIu64 "\n", kap_limits[i].name, v);
	}
	return KAP_EXIT_OK;
}
