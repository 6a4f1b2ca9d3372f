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

/*
 * The counters that c has: in JSON the object key, in text one line each,
 * "INDENT NAME VALUE", the first after head (NULL: none).
 */
void kap_counters_out(const char *key, const char *head, const char *indent,
		      const struct kap_counters *c)
{
	int i;

	kap_open_object(key);
	for (i = 0; i < KAP_NR_COUNTERS; i++) {
		if (!c->have[i])
			continue;
		if (head)
			kap_print_text("%s", head);
		head = NULL;
		kap_print_text("%s%-18s ", indent, kap_counter_names[i]);
		kap_print_u64(KAP_PR_ANY, kap_counter_names[i], "%" PRIu64 "\n", c->v[i]);
	}
	kap_close_object();
}

/* A value of a policy: a cell of row t, or (t NULL) a line printed with fmt. */
static void kap_field_str(struct kap_table *t, int col, const char *key, const char *fmt,
			  const char *s)
{
	if (t)
		kap_cell_str(t, col, key, s);
	else
		kap_print_str(KAP_PR_ANY, key, fmt, s);
}

/*
 * A policy: in JSON {"name", "order", "spec", "keys", "stats"} (policy
 * show, list and add, stats policies); in text the cells of a row of t in
 * the columns col names (-1: none), or (t NULL) the lines of policy show.
 */
void kap_policy_out(const struct kap_policy_info *p, struct kap_table *t,
		    const struct kap_policy_cols *col)
{
	int k;

	kap_field_str(t, col->name, "name", "policy: %s\n", p->name);
	if (p->order < 0) {
		kap_print_null("order");
		kap_field_str(t, col->order, NULL, NULL, "?");
	} else if (t) {
		kap_cell_i64(t, col->order, "order", p->order);
	} else {
		kap_print_i64(KAP_PR_ANY, "order", "order:  %" PRId64 "\n", p->order);
	}
	kap_field_str(t, col->spec, "spec", "spec:   %s\n", p->spec_text);
	if (p->spec_ok)
		kap_spec_out("keys", &p->spec);
	if (!t) {
		kap_print_text("counters:\n");
		kap_counters_out("stats", NULL, "  ", &p->stats);
		return;
	}
	kap_open_object("stats");
	for (k = 0; k < KAP_NR_COUNTERS; k++)
		kap_cell_u64(t, col->counter[k], p->stats.have[k] ? kap_counter_names[k] : NULL,
			     p->stats.v[k]);
	kap_close_object();
}

/* policy show's: no columns */
const struct kap_policy_cols kap_policy_lines = {
	.order = -1, .name = -1, .spec = -1,
	.counter = { [0 ... KAP_NR_COUNTERS - 1] = -1 },
};

/*
 * A table of policies under key "policies" (only: that one, NULL: all),
 * in the columns pc names; "no policies" in text when there is none.
 */
void kap_policies_table(const struct kap_policy_info *p, size_t n, const char *only,
			const struct kap_col *cols, int ncol, const struct kap_policy_cols *pc)
{
	struct kap_table *t = kap_table_open("policies", cols, ncol);
	size_t i;

	for (i = 0; i < n; i++) {
		if (only && strcmp(p[i].name, only))
			continue;
		kap_row_open(t, NULL);
		kap_policy_out(&p[i], t, pc);
		kap_row_close(t);
	}
	if (!kap_table_close(t))
		kap_print_text("no policies\n");
}

/*
 * The changing commands print nothing in text mode, {"command": "..."} in
 * JSON mode, with the policy added (if it could be read back).
 */
static void kap_print_written(const char *cmd, const struct kap_policy_info *p)
{
	kap_open_object(NULL);
	kap_print_str(KAP_PR_JSON, "command", NULL, cmd);
	if (p && kap_json) {
		kap_open_object("policy");
		kap_policy_out(p, NULL, &kap_policy_lines);
		kap_close_object();
	}
	kap_close_object();
}

int kap_cmd_policy_add(int argc, char **argv)
{
	char cmd[KAP_LINE_MAX + 64], err[512];
	struct kap_policy_info *pols = NULL, *p = NULL;
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
	if (kap_json && !kap_policies_load(&pols, &n))
		p = kap_policy_find(pols, n, c.name);
	kap_print_written(cmd, p);
	free(pols);
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
	/* the columns of stats policies, as wide as their widest value */
	static const struct kap_col cols[] = {
		{ "ORDER", 0, 0 }, { "NAME", 0, 0 }, { "GOVERNED", 0, KAP_COL_RIGHT },
		{ "SENT", 0, KAP_COL_RIGHT }, { "ANSWERED", 0, KAP_COL_RIGHT },
		{ "TIMEOUTS", 0, KAP_COL_RIGHT }, { "SPEC", 0, 0 },
	};
	struct kap_policy_cols pc = kap_policy_lines;
	struct kap_policy_info *p;
	int ret, first;
	size_t n;

	ret = kap_args(argc, argv, 0, 0, "", &first);
	if (ret >= 0)
		return ret;
	if (kap_load_policies_or_say(&p, &n))
		return KAP_EXIT_FAIL;
	pc.order = 0;
	pc.name = 1;
	pc.counter[KAP_SOCKETS_GOVERNED] = 2;
	pc.counter[KAP_PROBES_SENT] = 3;
	pc.counter[KAP_PROBES_ANSWERED] = 4;
	pc.counter[KAP_TIMEOUTS] = 5;
	pc.spec = 6;
	kap_open_object(NULL);
	kap_policies_table(p, n, NULL, cols, ARRAY_SIZE(cols), &pc);
	kap_close_object();
	free(p);
	return KAP_EXIT_OK;
}

int kap_cmd_policy_show(int argc, char **argv)
{
	struct kap_policy_info *pols, *p;
	char err[160];
	int ret, i;
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
	kap_open_object(NULL);
	kap_policy_out(p, NULL, &kap_policy_lines);
	kap_close_object();
	free(pols);
	return KAP_EXIT_OK;
}

int kap_cmd_policy_enforce(int argc, char **argv)
{
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
	} else if (!strcmp(argv[i], "on") || !strcmp(argv[i], "1")) {
		on = true;
	} else if (!strcmp(argv[i], "off") || !strcmp(argv[i], "0")) {
		on = false;
	} else {
		return kap_usage_err("enforce: '%s' is not a setting; allowed: on or off", argv[i]);
	}
	if (i < argc) {
		if (kap_need_writable("enforce", "enforce setting"))
			return KAP_EXIT_FAIL;
		ret = kap_sysfs_write("enforce", on ? "1\n" : "0\n", 2, false);
		if (ret)
			return kap_fail("cannot set enforce %s: %s", on ? "on" : "off",
					strerror(-ret));
	}
	/* setting it is silent in text, like the other changes */
	kap_open_object(NULL);
	kap_print_bool(i == argc ? KAP_PR_ANY : KAP_PR_JSON, "enforce", "%s\n", on);
	kap_close_object();
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

enum { KAP_PC_NAME, KAP_PC_TIMEOUT, KAP_PC_IDLE, KAP_PC_INTVL, KAP_PC_CNT, KAP_PC_SOURCE };

static void kap_preset_row_out(struct kap_table *t, const struct kap_preset_row *r)
{
	char keys[128];
	int k;

	kap_cell_str(t, KAP_PC_NAME, "name", r->name);
	if (r->ok) {
		kap_preset_keys(&r->v, 0, keys, sizeof(keys));
		kap_cell_u64(t, KAP_PC_TIMEOUT, "timeout", r->v.timeout);
		kap_cell_u64(t, KAP_PC_IDLE, "idle", r->v.idle);
		kap_cell_u64(t, KAP_PC_INTVL, "intvl", r->v.intvl);
		kap_cell_u64(t, KAP_PC_CNT, "cnt", r->v.cnt);
		kap_print_str(KAP_PR_JSON, "user_timeout", NULL, "auto");
		kap_print_bool(KAP_PR_JSON, "keepalive", NULL, true);
		kap_print_str(KAP_PR_JSON, "keys", NULL, keys);
	} else {
		kap_cell_null(t, KAP_PC_TIMEOUT, "timeout", "-");
		for (k = KAP_PC_IDLE; k <= KAP_PC_CNT; k++)
			kap_cell_str(t, k, NULL, "-");
		kap_print_null("keys");
		kap_print_str(KAP_PR_JSON, "error", NULL, r->why);
	}
	kap_cell_str(t, KAP_PC_SOURCE, "source", r->source);
}

/*
 * kapctl policy presets [NAME|timeout:SECONDS]: the presets and their
 * keys (spec.c), all or one; needs no module.
 */
int kap_cmd_policy_presets(int argc, char **argv)
{
	static const struct kap_col cols[] = {
		[KAP_PC_NAME] = { "NAME", 0, 0 },
		[KAP_PC_TIMEOUT] = { "TIMEOUT", 0, KAP_COL_RIGHT },
		[KAP_PC_IDLE] = { "IDLE", 5, KAP_COL_RIGHT },
		[KAP_PC_INTVL] = { "INTVL", 0, KAP_COL_RIGHT },
		[KAP_PC_CNT] = { "CNT", 0, KAP_COL_RIGHT },
		[KAP_PC_SOURCE] = { "SOURCE", 0, 0 },
	};
	struct kap_preset_row rows[16];
	const struct kap_preset *p;
	struct kap_table *t;
	size_t n = 0, i;
	int ret, first;

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

	kap_open_object(NULL);
	t = kap_table_open("presets", cols, ARRAY_SIZE(cols));
	for (i = 0; i < n; i++) {
		kap_row_open(t, NULL);
		kap_preset_row_out(t, &rows[i]);
		kap_row_close(t);
	}
	kap_table_close(t);
	if (first == argc) {
		kap_print_text("\ntimeout:SECONDS: any other middlebox's idle timeout, %d-%d s (350, 5m50s).\n"
			       "Each preset gives idle=timeout/2 intvl=timeout/10 cnt=%d (idle and intvl 1-32767)\n"
			       "user_timeout=auto keepalive=on; keys given with the preset win.\n",
			       KAP_PRESET_TIMEOUT_MIN, KAP_PRESET_TIMEOUT_MAX, KAP_PRESET_CNT);
		for (i = 0; i < n; i++)
			if (!rows[i].ok)
				kap_print_text("%s\n", rows[i].why);
	}
	kap_close_object();
	return KAP_EXIT_OK;
}
