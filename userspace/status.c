// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl status: is the module loaded, which version.
 * Exit 0 when loaded, 1 when not (the answer is printed either way).
 */
#include <stdio.h>
#include <string.h>

#include "kapctl.h"

int kap_cmd_status(int argc, char **argv)
{
	struct json_object *obj;
	char version[64] = "";
	bool loaded;
	int ret;

	(void)argv;
	if (argc > 1)
		return kap_usage_err("status takes no arguments");

	loaded = kap_module_loaded();
	if (loaded) {
		ret = kap_sysfs_read("version", version, sizeof(version));
		if (ret < 0) {
			kap_err("cannot read %s/version: %s", kap_sysfs_dir(), strerror(-ret));
			return KAP_EXIT_FAIL;
		}
	}

	if (kap_json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "loaded", json_object_new_boolean(loaded));
		if (loaded)
			json_object_object_add(obj, "version", json_object_new_string(version));
		kap_json_print(obj);
		json_object_put(obj);
	} else if (loaded) {
		printf("module:  loaded\n");
		printf("version: %s\n", version);
	} else {
		printf("module:  not loaded (load it with 'modprobe kapolicy')\n");
	}
	return loaded ? KAP_EXIT_OK : KAP_EXIT_FAIL;
}
