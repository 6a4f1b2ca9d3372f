// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl policy add|del|flush|move|list|show|enforce.
 *
 * Every change is validated by the module's own parser (spec.c) before the
 * kernel is touched, then written to control as one command; a refusal of
 * the kernel is reported as what was refused and why.  Text output of the
 * changing commands is silent on success (like ip); JSON output says what
 * was written.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kapctl.h"

/* The common part: options (only -j/-p/-h) and the number of arguments. */
static int kap_args(int argc, char **argv, int min, int max, const char *synopsis,
		    int *first)
{
	int c, n;

	while ((c = kap_getopt(argc, argv)) != -1)
		if (c == KAP_OPT_EXIT)
			return kap_opt_exit;
	n = argc - optind;
	if (n < min || (max >= 0 && n > max))
		return kap_usage_err("usage: kapctl policy %s %s", argv[0], synopsis);
	*first = optind;
	return -1;
}

/* Validates cmd with the parser (exit 2 on a refusal), then writes it. */
static int kap_control_run(const char *cmd, struct kap_command *c, bool validated)
{
	struct kap_parse_error e;
	char msg[512];
	int ret;

	if (!validated && kap_parse_command(cmd, strlen(cmd), c, &e))
		return kap_usage_err("%s", e.msg);
	if (kap_need_control())
		return KAP_EXIT_FAIL;
	ret = kap_control_write(cmd);
	if (ret) {
		kap_control_refusal(c, ret, msg, sizeof(msg));
		return kap_fail("%s", msg);
	}
	return KAP_EXIT_OK;
}

struct json_object *kap_counters_json(const struct kap_counters *c)
{
	struct json_object *o = json_object_new_object();
	int i;

	for (i = 0; i < KAP_NR_COUNTERS; i++)
		if (c->have[i])
			json_object_object_add(o, kap_counter_names[i], kap_json_u64(c->v[i]));
	return o;
}

struct json_object *kap_policy_json(const struct kap_policy_info *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "order", p->order >= 0 ?
			       json_object_new_int64(p->order) : NULL);
	json_object_object_add(o, "spec", json_object_new_string(p->spec_text));
	if (p->spec_ok)
		json_object_object_add(o, "keys", kap_spec_json(&p->spec));
	json_object_object_add(o, "stats", kap_counters_json(&p->stats));
	return o;
}

/* {"command": "..."} for the changing commands in JSON mode */
static void kap_print_written(const char *cmd, struct json_object *extra)
{
	struct json_object *o;

	if (!kap_json) {
		json_object_put(extra);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "command", json_object_new_string(cmd));
	if (extra)
		json_object_object_add(o, "policy", extra);
	kap_json_print(o);
	json_object_put(o);
}

int kap_cmd_policy_add(int argc, char **argv)
{
	char cmd[KAP_LINE_MAX + 64], err[512];
	struct kap_policy_info *pols = NULL, *p;
	struct json_object *extra = NULL;
	struct kap_command c;
	int ret, i;
	size_t n;

	ret = kap_args(argc, argv, 1, -1, "NAME KEY=VALUE...", &i);
	if (ret >= 0)
		return ret;
	if (kap_name_opt("name", argv[i], false, err, sizeof(err)))
		return kap_usage_err("%s", err);
	if (kap_build_add(argv[i], argv + i + 1, argc - i - 1, cmd, sizeof(cmd), &c,
			  err, sizeof(err)))
		return kap_usage_err("%s", err);
	ret = kap_control_run(cmd, &c, true);
	if (ret)
		return ret;
	if (kap_json && !kap_policies_load(&pols, &n) && (p = kap_policy_find(pols, n, c.name)))
		extra = kap_policy_json(p);
	free(pols);
	kap_print_written(cmd, extra);
	return KAP_EXIT_OK;
}

int kap_cmd_policy_del(int argc, char **argv)
{
	char cmd[KAP_LINE_MAX], err[256];
	struct kap_command c;
	int ret, i;

	ret = kap_args(argc, argv, 1, 1, "NAME", &i);
	if (ret >= 0)
		return ret;
	if (kap_name_opt("name", argv[i], false, err, sizeof(err)))
		return kap_usage_err("%s", err);
	snprintf(cmd, sizeof(cmd), "del %s", argv[i]);
	ret = kap_control_run(cmd, &c, false);
	if (!ret)
		kap_print_written(cmd, NULL);
	return ret;
}

int kap_cmd_policy_flush(int argc, char **argv)
{
	struct kap_command c;
	int ret, i;

	ret = kap_args(argc, argv, 0, 0, "", &i);
	if (ret >= 0)
		return ret;
	ret = kap_control_run("flush", &c, false);
	if (!ret)
		kap_print_written("flush", NULL);
	return ret;
}

int kap_cmd_policy_move(int argc, char **argv)
{
	char cmd[KAP_LINE_MAX], err[256];
	struct kap_command c;
	uint64_t pos;
	int ret, i;

	ret = kap_args(argc, argv, 2, 2, "NAME POSITION", &i);
	if (ret >= 0)
		return ret;
	if (kap_name_opt("name", argv[i], false, err, sizeof(err)) ||
	    kap_number_opt("position", argv[i + 1], 0, 65535, "", &pos, err, sizeof(err)))
		return kap_usage_err("%s", err);
	snprintf(cmd, sizeof(cmd), "move %s %s", argv[i], argv[i + 1]);
	ret = kap_control_run(cmd, &c, false);
	if (!ret)
		kap_print_written(cmd, NULL);
	return ret;
}

/* The policies, or an error printed; -1 on error. */
int kap_load_policies_or_say(struct kap_policy_info **p, size_t *n)
{
	int ret;

	if (kap_need_module())
		return -1;
	ret = kap_policies_load(p, n);
	if (ret == -ENOENT) {
		kap_err("this kapolicy module has no policy table (%s/policies is missing); update the module",
			kap_sysfs_dir());
		return -1;
	}
	if (ret) {
		kap_err("cannot read %s/policies: %s", kap_sysfs_dir(), strerror(-ret));
		return -1;
	}
	return 0;
}

int kap_cmd_policy_list(int argc, char **argv)
{
	struct kap_policy_info *p;
	struct json_object *o, *arr;
	size_t n, i;
	int ret, first;

	ret = kap_args(argc, argv, 0, 0, "", &first);
	if (ret >= 0)
		return ret;
	if (kap_load_policies_or_say(&p, &n))
		return KAP_EXIT_FAIL;
	if (kap_json) {
		o = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(arr, kap_policy_json(&p[i]));
		json_object_object_add(o, "policies", arr);
		kap_json_print(o);
		json_object_put(o);
	} else if (!n) {
		printf("no policies\n");
	} else {
		/* the columns of stats policies, as wide as their widest value */
		static const struct {
			const char *head;
			int counter;
		} col[] = {
			{ "GOVERNED", KAP_SOCKETS_GOVERNED }, { "SENT", KAP_PROBES_SENT },
			{ "ANSWERED", KAP_PROBES_ANSWERED }, { "TIMEOUTS", KAP_TIMEOUTS },
		};
		int w = 4, cw[ARRAY_SIZE(col)], k;
		char num[24];

		for (k = 0; k < (int)ARRAY_SIZE(col); k++)
			cw[k] = strlen(col[k].head);
		for (i = 0; i < n; i++) {
			if ((int)strlen(p[i].name) > w)
				w = strlen(p[i].name);
			for (k = 0; k < (int)ARRAY_SIZE(col); k++) {
				int l = snprintf(num, sizeof(num), "%" PRIu64,
						 p[i].stats.v[col[k].counter]);

				if (l > cw[k])
					cw[k] = l;
			}
		}
		printf("%-5s  %-*s", "ORDER", w, "NAME");
		for (k = 0; k < (int)ARRAY_SIZE(col); k++)
			printf("  %*s", cw[k], col[k].head);
		printf("  SPEC\n");
		for (i = 0; i < n; i++) {
			char order[24] = "?";

			if (p[i].order >= 0)
				snprintf(order, sizeof(order), "%ld", p[i].order);
			printf("%-5s  %-*s", order, w, p[i].name);
			for (k = 0; k < (int)ARRAY_SIZE(col); k++)
				printf("  %*" PRIu64, cw[k], p[i].stats.v[col[k].counter]);
			printf("  %s\n", p[i].spec_text);
		}
	}
	free(p);
	return KAP_EXIT_OK;
}

int kap_cmd_policy_show(int argc, char **argv)
{
	struct kap_policy_info *pols, *p;
	struct json_object *o;
	char err[160];
	int ret, i, k;
	size_t n;

	ret = kap_args(argc, argv, 1, 1, "NAME", &i);
	if (ret >= 0)
		return ret;
	if (kap_name_opt("name", argv[i], false, err, sizeof(err)))
		return kap_usage_err("%s", err);
	if (kap_load_policies_or_say(&pols, &n))
		return KAP_EXIT_FAIL;
	p = kap_policy_find(pols, n, argv[i]);
	if (!p) {
		free(pols);
		return kap_fail("policy '%s' does not exist", argv[i]);
	}
	if (kap_json) {
		o = kap_policy_json(p);
		kap_json_print(o);
		json_object_put(o);
	} else {
		printf("policy: %s\n", p->name);
		if (p->order >= 0)
			printf("order:  %ld\n", p->order);
		printf("spec:   %s\n", p->spec_text);
		printf("counters:\n");
		for (k = 0; k < KAP_NR_COUNTERS; k++)
			if (p->stats.have[k])
				printf("  %-18s %" PRIu64 "\n", kap_counter_names[k], p->stats.v[k]);
	}
	free(pols);
	return KAP_EXIT_OK;
}

int kap_cmd_policy_enforce(int argc, char **argv)
{
	struct json_object *o;
	char buf[16];
	int ret, i;
	bool on;

	ret = kap_args(argc, argv, 0, 1, "[on|off]", &i);
	if (ret >= 0)
		return ret;
	if (i == argc) {
		if (kap_need_module())
			return KAP_EXIT_FAIL;
		ret = kap_sysfs_read("enforce", buf, sizeof(buf));
		if (ret < 0)
			return kap_fail("cannot read %s/enforce: %s", kap_sysfs_dir(),
					strerror(-ret));
		on = !strcmp(buf, "1");
		if (kap_json) {
			o = json_object_new_object();
			json_object_object_add(o, "enforce", json_object_new_boolean(on));
			kap_json_print(o);
			json_object_put(o);
		} else {
			printf("%s\n", on ? "on" : "off");
		}
		return KAP_EXIT_OK;
	}
	if (!strcmp(argv[i], "on") || !strcmp(argv[i], "1"))
		on = true;
	else if (!strcmp(argv[i], "off") || !strcmp(argv[i], "0"))
		on = false;
	else
		return kap_usage_err("enforce: '%s' is not a setting; allowed: on or off", argv[i]);
	if (kap_need_writable("enforce", "enforce setting"))
		return KAP_EXIT_FAIL;
	ret = kap_sysfs_write("enforce", on ? "1\n" : "0\n", 2, false);
	if (ret)
		return kap_fail("cannot set enforce %s: %s", on ? "on" : "off", strerror(-ret));
	if (kap_json) {
		o = json_object_new_object();
		json_object_object_add(o, "enforce", json_object_new_boolean(on));
		kap_json_print(o);
		json_object_put(o);
	}
	return KAP_EXIT_OK;
}

/* One line of "policy presets": a preset and what it expands to. */
struct kap_preset_row {
	const char *name;
	const char *source;
	struct kap_preset_values v;
	bool ok;		/* else why says why not (conntrack unreadable) */
	char why[320];
};

static struct json_object *kap_preset_row_json(const struct kap_preset_row *r)
{
	struct json_object *o = json_object_new_object();
	char keys[128];

	json_object_object_add(o, "name", json_object_new_string(r->name));
	if (r->ok) {
		kap_preset_keys(&r->v, 0, keys, sizeof(keys));
		json_object_object_add(o, "timeout", kap_json_u64(r->v.timeout));
		json_object_object_add(o, "idle", json_object_new_int(r->v.idle));
		json_object_object_add(o, "intvl", json_object_new_int(r->v.intvl));
		json_object_object_add(o, "cnt", json_object_new_int(r->v.cnt));
		json_object_object_add(o, "user_timeout", json_object_new_string("auto"));
		json_object_object_add(o, "keepalive", json_object_new_boolean(true));
		json_object_object_add(o, "keys", json_object_new_string(keys));
	} else {
		json_object_object_add(o, "timeout", NULL);
		json_object_object_add(o, "keys", NULL);
		json_object_object_add(o, "error", json_object_new_string(r->why));
	}
	json_object_object_add(o, "source", json_object_new_string(r->source));
	return o;
}

/*
 * kapctl policy presets [NAME|timeout:SECONDS]: the presets and their
 * keys (spec.c), all or one; needs no module.
 */
int kap_cmd_policy_presets(int argc, char **argv)
{
	struct kap_preset_row rows[16];
	const struct kap_preset *p;
	struct json_object *o, *arr;
	size_t n = 0, i;
	int ret, first, w = 4;

	ret = kap_args(argc, argv, 0, 1, "[NAME|timeout:SECONDS]", &first);
	if (ret >= 0)
		return ret;
	if (first < argc) {
		rows[0].name = argv[first];
		if (kap_preset_resolve(argv[first], &rows[0].v, rows[0].why, sizeof(rows[0].why)))
			return kap_usage_err("%s", rows[0].why);
		rows[0].source = rows[0].v.preset ? rows[0].v.preset->source :
				 "a middlebox with this idle timeout";
		rows[0].ok = true;
		n = 1;
	}
	for (p = kap_presets; first == argc && p->name && n < ARRAY_SIZE(rows); p++, n++) {
		rows[n].name = p->name;
		rows[n].source = p->source;
		rows[n].ok = !kap_preset_resolve(p->name, &rows[n].v, rows[n].why,
						 sizeof(rows[n].why));
	}

	if (kap_json) {
		o = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(arr, kap_preset_row_json(&rows[i]));
		json_object_object_add(o, "presets", arr);
		kap_json_print(o);
		json_object_put(o);
		return KAP_EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = strlen(rows[i].name);
	printf("%-*s  %7s  %5s  %5s  %3s  %s\n", w, "NAME", "TIMEOUT", "IDLE", "INTVL", "CNT",
	       "SOURCE");
	for (i = 0; i < n; i++) {
		if (rows[i].ok)
			printf("%-*s  %7" PRIu64 "  %5u  %5u  %3u  %s\n", w, rows[i].name,
			       rows[i].v.timeout, rows[i].v.idle, rows[i].v.intvl, rows[i].v.cnt,
			       rows[i].source);
		else
			printf("%-*s  %7s  %5s  %5s  %3s  %s\n", w, rows[i].name, "-", "-", "-", "-",
			       rows[i].source);
	}
	if (first < argc)
		return KAP_EXIT_OK;
	printf("\ntimeout:SECONDS: any other middlebox's idle timeout, %d-%d s (350, 5m50s).\n"
	       "Each preset gives idle=timeout/2 intvl=timeout/10 cnt=%d (idle and intvl 1-32767)\n"
	       "user_timeout=auto keepalive=on; keys given with the preset win.\n",
	       KAP_PRESET_TIMEOUT_MIN, KAP_PRESET_TIMEOUT_MAX, KAP_PRESET_CNT);
	for (i = 0; i < n; i++)
		if (!rows[i].ok)
			printf("%s\n", rows[i].why);
	return KAP_EXIT_OK;
}
