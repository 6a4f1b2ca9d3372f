// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl apply [--check] FILE|-: a config file becomes the policy table,
 * all or nothing.  This is what kapolicy.service runs at boot.
 *
 * The file: one policy per line, "NAME KEY=VALUE...", the same keys as
 * "kapctl policy add" (cgroup paths and service names included); "#"
 * starts a comment; blank lines are ignored.  The order of the lines is
 * the match order (order= keys still place a policy explicitly).
 *
 * Two phases:
 *   1. every line is validated with the module's parser, names must be
 *      unique (a tree of the names seen: O(n log n)), no NUL byte may hide
 *      a line; every error is reported with its line number, and if there
 *      is one, nothing is written at all.  Empty input (0 bytes) is an
 *      error too: a file of comments only is how to empty the table;
 *   2. one transaction on the control file: "begin", "flush", one "add" per
 *      line in file order, "commit".  If the kernel refuses any of them,
 *      "abort": the table stays exactly as it was.  The file is the whole
 *      table; a policy it keeps unchanged (same name and spec) keeps its
 *      connections and counters (the module's commit keeps it).
 */
#include <errno.h>
#include <getopt.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kapctl.h"

enum { KAP_OPT_CHECK = 256 };

const struct kap_opt kap_apply_opts[] = {
	{ "check", NULL, KAP_OPT_CHECK, "validate the file only; change nothing" },
	{ NULL }
};

#define KAP_CONF_MAX	(16 << 20)	/* bytes of a config file */

struct kap_entry {
	int line;
	char cmd[KAP_LINE_MAX + 64];
	struct kap_command c;
};

struct kap_name {
	const char *name;
	int line;
};

struct kap_conf {
	struct kap_entry *e;
	size_t n, cap;
	struct json_object *errors;	/* [{"line": N, "message": "..."}] */
	size_t nerr;
	void *names;			/* tsearch() tree of struct kap_name */
};

static int kap_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kap_name *)a)->name, ((const struct kap_name *)b)->name);
}

static void kap_name_free(void *n)
{
	free((void *)((struct kap_name *)n)->name);
	free(n);
}

static void kap_conf_error(struct kap_conf *cf, const char *file, int line, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "line", json_object_new_int(line));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_array_add(cf->errors, o);
	cf->nerr++;
	if (!kap_json)
		fprintf(stderr, "kapctl: %s:%d: %s\n", file, line, msg);
}

/* One line: a comment, blank, or a policy.  Errors go to cf. */
static void kap_conf_line(struct kap_conf *cf, const char *file, int lineno, char *text)
{
	char *hash = strchr(text, '#'), *name, *rest, err[512];
	struct kap_entry *e;

	if (hash)
		*hash = '\0';
	name = text + strspn(text, " \t\r\v\f");
	if (!*name)
		return;
	rest = name + strcspn(name, " \t\r\v\f");
	if (*rest)
		*rest++ = '\0';

	if (cf->n == cf->cap) {
		size_t cap = cf->cap ? cf->cap * 2 : 32;
		struct kap_entry *bigger = realloc(cf->e, cap * sizeof(*bigger));

		if (!bigger) {
			kap_conf_error(cf, file, lineno, "out of memory");
			return;
		}
		cf->e = bigger;
		cf->cap = cap;
	}
	e = &cf->e[cf->n];
	memset(e, 0, sizeof(*e));
	e->line = lineno;
	/* a name is taken by its first line, even one with errors */
	if (kap_name_valid(name, strlen(name))) {
		struct kap_name key = { .name = name }, *n, **found;

		found = tfind(&key, &cf->names, kap_name_cmp);
		if (found) {
			snprintf(err, sizeof(err), "name: '%s' is defined twice (first on line %d); allowed: each name once",
				 name, (*found)->line);
			kap_conf_error(cf, file, lineno, err);
			return;
		}
		n = malloc(sizeof(*n));
		if (!n || !(n->name = strdup(name)) || !tsearch(n, &cf->names, kap_name_cmp)) {
			if (n)
				free((void *)n->name);
			free(n);
			kap_conf_error(cf, file, lineno, "out of memory");
			return;
		}
		n->line = lineno;
	}
	if (kap_build_add(name, &rest, 1, e->cmd, sizeof(e->cmd), &e->c, err, sizeof(err))) {
		kap_conf_error(cf, file, lineno, err);
		return;
	}
	cf->n++;
}

/* Writes one command of the transaction; on a refusal says so (with line). */
static int kap_txn_step(const char *file, const struct kap_entry *e, const char *cmd,
			enum kap_op op)
{
	struct kap_command c = { .op = op };
	char msg[512];
	int ret;

	ret = kap_control_write(e ? e->cmd : cmd);
	if (!ret)
		return 0;
	kap_control_refusal(e ? &e->c : &c, ret, msg, sizeof(msg));
	if (e) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "file", json_object_new_string(file));
		json_object_object_add(x, "line", json_object_new_int(e->line));
		kap_fail_with(x, "%s:%d: %s; nothing was changed", file, e->line, msg);
	} else {
		kap_fail("%s: %s%s", file, msg, op == KAP_OP_BEGIN ? "; nothing was changed" : "");
	}
	return ret;
}

static int kap_apply(const char *file, struct kap_conf *cf)
{
	struct kap_command abort_cmd = { .op = KAP_OP_ABORT };
	struct json_object *o, *names;
	char msg[512];
	size_t i;
	int ret;

	if (kap_need_control())
		return KAP_EXIT_FAIL;
	if (kap_txn_step(file, NULL, "begin", KAP_OP_BEGIN))
		return KAP_EXIT_FAIL;
	ret = kap_txn_step(file, NULL, "flush", KAP_OP_FLUSH);
	for (i = 0; !ret && i < cf->n; i++)
		ret = kap_txn_step(file, &cf->e[i], NULL, KAP_OP_ADD);
	if (!ret)
		ret = kap_txn_step(file, NULL, "commit", KAP_OP_COMMIT);
	if (ret) {
		int aret = kap_control_write("abort");

		if (aret && aret != -ENOENT) {
			kap_control_refusal(&abort_cmd, aret, msg, sizeof(msg));
			kap_err("%s: %s (the transaction ends when kapctl exits)", file, msg);
		}
		return KAP_EXIT_FAIL;
	}
	if (kap_json) {
		o = json_object_new_object();
		names = json_object_new_array();
		for (i = 0; i < cf->n; i++)
			json_object_array_add(names, json_object_new_string(cf->e[i].c.name));
		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "applied", json_object_new_boolean(true));
		json_object_object_add(o, "policies", names);
		kap_json_print(o);
		json_object_put(o);
	} else {
		printf("%s: applied %zu polic%s\n", file, cf->n, cf->n == 1 ? "y" : "ies");
	}
	return KAP_EXIT_OK;
}

int kap_cmd_apply(int argc, char **argv)
{
	struct kap_conf cf = { 0 };
	struct json_object *o, *names;
	const char *path, *file;
	char *text, *line, *next, *end;
	bool check = false;
	int c, err, lineno = 0, ret;
	size_t i, len;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_CHECK:
			check = true;
			break;
		}
	}
	if (argc - optind != 1)
		return kap_usage_err("usage: kapctl apply [--check] FILE|-");
	path = argv[optind];
	file = strcmp(path, "-") ? path : "<stdin>";

	text = kap_read_file(path, KAP_CONF_MAX, &len, &err);
	if (!text)
		return kap_fail("cannot read %s: %s", file,
				err == -EFBIG ? "larger than 16 MiB" : strerror(-err));
	if (!len) {
		free(text);
		return kap_fail("%s: is empty; nothing was changed (a file of comments only empties the table)",
				file);
	}
	cf.errors = json_object_new_array();
	end = text + len;
	for (line = text; line; line = next) {
		next = memchr(line, '\n', end - line);
		if (next)
			*next++ = '\0';
		lineno++;
		if (!next && line == end)
			break;
		if (strlen(line) != (size_t)((next ? next - 1 : end) - line)) {
			kap_conf_error(&cf, file, lineno,
				       "line: contains a NUL byte; allowed: text without NUL bytes");
			continue;
		}
		kap_conf_line(&cf, file, lineno, line);
	}
	free(text);
	tdestroy(cf.names, kap_name_free);

	if (cf.nerr) {
		o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "errors", cf.errors);
		ret = kap_fail_with(o, "%s: %zu error%s; nothing was changed", file, cf.nerr,
				    cf.nerr == 1 ? "" : "s");
	} else if (check) {
		if (kap_json) {
			o = json_object_new_object();
			names = json_object_new_array();
			for (i = 0; i < cf.n; i++)
				json_object_array_add(names, json_object_new_string(cf.e[i].c.name));
			json_object_object_add(o, "file", json_object_new_string(file));
			json_object_object_add(o, "valid", json_object_new_boolean(true));
			json_object_object_add(o, "policies", names);
			kap_json_print(o);
			json_object_put(o);
		} else {
			printf("%s: %zu polic%s, valid\n", file, cf.n, cf.n == 1 ? "y" : "ies");
		}
		json_object_put(cf.errors);
		ret = KAP_EXIT_OK;
	} else {
		json_object_put(cf.errors);
		ret = kap_apply(file, &cf);
	}
	free(cf.e);
	return ret;
}
