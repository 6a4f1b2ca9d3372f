// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl apply [--check] [--flush] FILE|-: a config file becomes the policy
 * table, all or nothing, and kapctl says what changed.  This is what
 * kapolicy.service runs at boot.
 *
 * The file: one policy per line, "NAME KEY=VALUE...", the same keys as
 * "kapctl policy add" (cgroup paths and service names included); "#"
 * starts a comment; blank lines are ignored.  The order of the lines is
 * the match order (order= keys still place a policy explicitly).
 *
 * Three phases; the first two change nothing, and any refusal in them
 * leaves the control file untouched:
 *   1. the input: its last line must end with a newline (else it looks
 *      truncated: a file half written, a copy cut short); every line is
 *      validated with the module's parser, names must be unique (a tree of
 *      the names seen: O(n log n)), no NUL byte may hide a line; every
 *      error is reported with its line number;
 *   2. the diff against the live table (policies/ in sysfs), by name:
 *      added, removed, changed (the spec as the module prints it differs),
 *      moved (the match order of the policies both keep changed: the
 *      fewest of them whose moves explain the new order, a longest
 *      increasing subsequence in O(n log n)) and unchanged.  A policy can
 *      be both changed and moved.  Input with no policy (0 bytes, or
 *      comments only) is refused while the live table has policies, unless
 *      --flush says that emptying the table is meant (the names, which
 *      everyone can list, are counted).  --check stops here: it prints the
 *      diff, or says there is none to print (no module, or run as a user:
 *      the specs are root's);
 *   3. one transaction on the control file: "begin", "flush", one "add" per
 *      line in file order, "commit".  If the kernel refuses any of them,
 *      "abort": the table stays exactly as it was, and no diff is printed.
 *      The file is the whole table; a policy it keeps unchanged (same name
 *      and spec) keeps its connections and counters (the module's commit
 *      keeps it).  The diff is against the table as read just before
 *      "begin".
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kapctl.h"

enum { KAP_OPT_CHECK = 256, KAP_OPT_FLUSH, KAP_OPT_MISSING_OK };

const struct kap_opt kap_apply_opts[] = {
	{ "check", NULL, KAP_OPT_CHECK,
	  "validate the file and show what would change; change nothing" },
	{ "flush", NULL, KAP_OPT_FLUSH, "allow input with no policy: empty the table" },
	{ "missing-ok", NULL, KAP_OPT_MISSING_OK,
	  "a FILE that does not exist changes nothing (exit 0): what the boot-time service uses" },
	{ NULL }
};

#define KAP_CONF_MAX	(16 << 20)	/* bytes of a config file */

struct kap_entry {
	int line;
	char cmd[KAP_LINE_MAX + 64];
	struct kap_command c;
	char spec[KAP_LINE_MAX];	/* canonical: as the module prints it */
	size_t pos;			/* in the new table's match order */
	long live;			/* its live policy (index), -1: none */
	bool moved;
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

/*
 * The live table in match order; err: why there is none to compare with
 * (-ENODEV: no module; -EACCES: the specs are root's).  The names are for
 * everyone: listed counts them (-1: not even they could be read).
 */
struct kap_live {
	struct kap_policy_info *p;
	size_t n;
	int err;
	long listed;
	char one[KAP_NAME_MAX];		/* a listed name, for a message */
	long *entry;			/* [n]: its entry in the file, -1: removed */
};

struct kap_diff {
	size_t added, changed, removed, moved, unchanged;
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
	e->live = -1;
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
	kap_spec_format(&e->c.spec, e->spec, sizeof(e->spec));
	cf->n++;
}

/* A last line without a newline: the input was cut short, most likely. */
static int kap_refuse_truncated(const char *file, const char *text, size_t len)
{
	struct json_object *x;
	int line = 1;
	size_t i;

	if (!len || text[len - 1] == '\n')
		return 0;
	for (i = 0; i < len; i++)
		line += text[i] == '\n';
	x = json_object_new_object();
	json_object_object_add(x, "file", json_object_new_string(file));
	json_object_object_add(x, "line", json_object_new_int(line));
	return kap_fail_with(x, "%s:%d: the last line has no newline; the input looks truncated; nothing was changed",
			     file, line);
}

/* --missing-ok and no FILE: one line (or object) saying so; exit 0. */
static int kap_missing(const char *file)
{
	kap_open_object(NULL);
	kap_print_str(KAP_PR_ANY, "file", "%s: does not exist; nothing was changed\n", file);
	kap_print_bool(KAP_PR_JSON, "exists", NULL, false);
	kap_print_bool(KAP_PR_JSON, "applied", NULL, false);
	kap_close_object();
	return KAP_EXIT_OK;
}

/* Phase 1: reads and validates the whole input; every error is reported. */
static int kap_conf_read(struct kap_conf *cf, const char *path, const char *file)
{
	char *text, *line, *next, *end;
	struct json_object *o;
	int err, lineno = 0;
	size_t len;

	text = kap_read_file(path, KAP_CONF_MAX, &len, &err);
	if (!text)
		return kap_fail("cannot read %s: %s", file,
				err == -EFBIG ? "larger than 16 MiB" : strerror(-err));
	if (kap_refuse_truncated(file, text, len)) {
		free(text);
		return KAP_EXIT_FAIL;
	}
	cf->errors = json_object_new_array();
	end = text + len;
	for (line = text; line; line = next) {
		next = memchr(line, '\n', end - line);
		if (next)
			*next++ = '\0';
		lineno++;
		if (!next && line == end)
			break;
		if (strlen(line) != (size_t)((next ? next - 1 : end) - line)) {
			kap_conf_error(cf, file, lineno,
				       "line: contains a NUL byte; allowed: text without NUL bytes");
			continue;
		}
		kap_conf_line(cf, file, lineno, line);
	}
	free(text);
	tdestroy(cf->names, kap_name_free);
	cf->names = NULL;
	if (!cf->nerr) {
		json_object_put(cf->errors);
		return KAP_EXIT_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "errors", cf->errors);
	return kap_fail_with(o, "%s: %zu error%s; nothing was changed", file, cf->nerr,
			     cf->nerr == 1 ? "" : "s");
}

/*
 * Lists policies/: the names, and whether every spec is readable (it is
 * root's: kap_policies_load() leaves out a policy whose spec it cannot
 * read, so as a user the table would look empty).
 */
static int kap_live_list(struct kap_live *l)
{
	char path[512];
	struct dirent *de;
	int err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/policies", kap_sysfs_dir());
	d = opendir(path);
	if (!d)
		return -errno;
	l->listed = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !kap_name_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (!l->listed++)
			snprintf(l->one, sizeof(l->one), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/policies/%s/spec", kap_sysfs_dir(), de->d_name);
		if (!err && access(path, R_OK) && errno != ENOENT)
			err = -errno;
	}
	closedir(d);
	return err;
}

/*
 * The live table, specs in canonical form.  Without the module (--check
 * only: apply has asked for the control file already) there is none.
 */
static int kap_live_load(struct kap_live *l)
{
	size_t i;

	l->listed = -1;
	if (!kap_module_loaded()) {
		l->err = -ENODEV;
		return 0;
	}
	l->err = kap_live_list(l);
	if (!l->err)
		l->err = kap_policies_load(&l->p, &l->n);
	if (l->err == -ENOMEM)
		return kap_fail("out of memory");
	if (l->err)
		return 0;
	for (i = 0; i < l->n; i++)
		if (l->p[i].spec_ok)
			kap_spec_format(&l->p[i].spec, l->p[i].spec_text,
					sizeof(l->p[i].spec_text));
	return 0;
}

/* Input without a policy empties the table: only if it is empty, or told to. */
static int kap_refuse_empty(const char *file, const char *path, const struct kap_conf *cf,
			    const struct kap_live *l, bool flush)
{
	struct json_object *x;

	if (cf->n || flush || l->err == -ENODEV || !l->listed)
		return 0;
	x = json_object_new_object();
	json_object_object_add(x, "file", json_object_new_string(file));
	if (l->listed < 0)
		return kap_fail_with(x, "%s: has no policy, and the live table cannot be read (%s) to see what applying it would remove; nothing was changed (kapctl apply --flush %s to empty the table)",
				     file, strerror(-l->err), path);
	if (l->listed == 1)
		return kap_fail_with(x, "%s: has no policy; applying it would remove the policy '%s'; nothing was changed (kapctl apply --flush %s to do it)",
				     file, l->one, path);
	return kap_fail_with(x, "%s: has no policy; applying it would remove all %ld policies; nothing was changed (kapctl apply --flush %s to do it)",
			     file, l->listed, path);
}

/* Each entry's position once the table is built: add appends, order= inserts. */
static int kap_conf_positions(struct kap_conf *cf)
{
	size_t *t = malloc((cf->n ?: 1) * sizeof(*t)), i, at;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < cf->n; i++) {
		const struct kap_spec *s = &cf->e[i].c.spec;

		at = i;
		if ((s->keys & KAP_KEY_BIT(KAP_KEY_ORDER)) && s->order < i)
			at = s->order;
		memmove(&t[at + 1], &t[at], (i - at) * sizeof(*t));
		t[at] = i;
	}
	for (i = 0; i < cf->n; i++)
		cf->e[t[i]].pos = i;
	free(t);
	return 0;
}

struct kap_by_name {
	const char *name;
	long i;
};

static int kap_by_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kap_by_name *)a)->name, ((const struct kap_by_name *)b)->name);
}

/* Pairs each entry with the live policy of its name, if any: O(n log n). */
static int kap_diff_match(struct kap_conf *cf, struct kap_live *l)
{
	struct kap_by_name *idx = malloc((l->n ?: 1) * sizeof(*idx)), key, *hit;
	size_t i;

	l->entry = malloc((l->n ?: 1) * sizeof(*l->entry));
	if (!idx || !l->entry) {
		free(idx);
		return -ENOMEM;
	}
	for (i = 0; i < l->n; i++) {
		idx[i] = (struct kap_by_name){ .name = l->p[i].name, .i = i };
		l->entry[i] = -1;
	}
	qsort(idx, l->n, sizeof(*idx), kap_by_name_cmp);
	for (i = 0; i < cf->n; i++) {
		key.name = cf->e[i].c.name;
		hit = l->n ? bsearch(&key, idx, l->n, sizeof(*idx), kap_by_name_cmp) : NULL;
		cf->e[i].live = hit ? hit->i : -1;
		if (hit)
			l->entry[hit->i] = i;
	}
	free(idx);
	return 0;
}

/* The best chain ending at or before a position: its score and last entry. */
struct kap_best {
	uint64_t score;
	long at;
};

/*
 * Marks the moved policies: those the file keeps, less a longest chain
 * whose new positions increase with the live ones (they kept their
 * relative order).  Among the longest chains, the one with the most
 * policies whose position number stays is kept, so that a move is named
 * on the policy that moved.  A Fenwick tree of maxima over the new
 * positions: O(n log n).
 */
static int kap_diff_moves(struct kap_conf *cf, const struct kap_live *l)
{
	struct kap_best *fw = calloc(cf->n + 1, sizeof(*fw)), best = { 0, -1 }, q;
	long *prev = malloc((cf->n ?: 1) * sizeof(*prev)), i;
	size_t li, j;

	if (!fw || !prev) {
		free(fw);
		free(prev);
		return -ENOMEM;
	}
	for (li = 0; li < l->n; li++) {
		struct kap_entry *e;

		i = l->entry[li];
		if (i < 0)
			continue;
		e = &cf->e[i];
		e->moved = true;
		q = (struct kap_best){ 0, -1 };
		for (j = e->pos; j; j -= j & -j)	/* positions before e->pos */
			if (fw[j].score > q.score)
				q = fw[j];
		prev[i] = q.at;
		q.score += (uint64_t)cf->n + 1 + (e->pos == li);
		q.at = i;
		for (j = e->pos + 1; j <= cf->n; j += j & -j)
			if (q.score > fw[j].score)
				fw[j] = q;
		if (q.score > best.score)
			best = q;
	}
	for (i = best.at; i >= 0; i = prev[i])
		cf->e[i].moved = false;
	free(fw);
	free(prev);
	return 0;
}

/* Phase 2: the diff, when there is a live table to compare with. */
static int kap_diff(struct kap_conf *cf, struct kap_live *l)
{
	if (l->err)
		return 0;
	if (kap_conf_positions(cf) || kap_diff_match(cf, l) || kap_diff_moves(cf, l))
		return kap_fail("out of memory");
	return 0;
}

static bool kap_entry_changed(const struct kap_entry *e, const struct kap_live *l)
{
	return e->live >= 0 && strcmp(e->spec, l->p[e->live].spec_text);
}

static void kap_diff_count(const struct kap_conf *cf, const struct kap_live *l, struct kap_diff *d)
{
	size_t i;

	for (i = 0; i < cf->n; i++) {
		const struct kap_entry *e = &cf->e[i];

		if (e->live < 0) {
			d->added++;
			continue;
		}
		if (kap_entry_changed(e, l))
			d->changed++;
		else if (!e->moved)
			d->unchanged++;
		d->moved += e->moved;
	}
	for (i = 0; i < l->n; i++)
		d->removed += l->entry[i] < 0;
}

/* The width of the name column: the longest name of a line printed. */
static int kap_diff_width(const struct kap_conf *cf, const struct kap_live *l)
{
	size_t i, w = 0, n;

	for (i = 0; i < cf->n; i++) {
		const struct kap_entry *e = &cf->e[i];

		n = strlen(e->c.name);
		if ((e->live < 0 || e->moved || kap_entry_changed(e, l)) && n > w)
			w = n;
	}
	for (i = 0; i < l->n; i++) {
		n = strlen(l->p[i].name);
		if (l->entry[i] < 0 && n > w)
			w = n;
	}
	return (int)w;
}

/*
 * One line per policy that changes, in file order, then those removed in
 * live order: "+ NAME SPEC", "~ NAME OLD -> NEW", "^ NAME moved: FROM -> TO",
 * "- NAME SPEC".
 */
static void kap_diff_print(const struct kap_conf *cf, const struct kap_live *l)
{
	int w = kap_diff_width(cf, l);
	size_t i;

	for (i = 0; i < cf->n; i++) {
		const struct kap_entry *e = &cf->e[i];

		if (e->live < 0)
			kap_print_text("+ %-*s  %s\n", w, e->c.name, e->spec);
		else if (kap_entry_changed(e, l))
			kap_print_text("~ %-*s  %s -> %s\n", w, e->c.name, l->p[e->live].spec_text,
				       e->spec);
		if (e->moved)
			kap_print_text("^ %-*s  moved: %ld -> %zu\n", w, e->c.name, e->live, e->pos);
	}
	for (i = 0; i < l->n; i++)
		if (l->entry[i] < 0)
			kap_print_text("- %-*s  %s\n", w, l->p[i].name, l->p[i].spec_text);
}

/* "FILE: 1 added, 1 changed, 2 unchanged" (no zeros), or "FILE: no change". */
static void kap_diff_summary(const char *file, const struct kap_diff *d, bool check)
{
	static const char *const what[] = { "added", "changed", "removed", "moved", "unchanged" };
	const size_t v[] = { d->added, d->changed, d->removed, d->moved, d->unchanged };
	char buf[256] = "no change";
	size_t i, n = 0;

	if (d->added + d->changed + d->removed + d->moved)
		for (i = 0; i < ARRAY_SIZE(v); i++)
			if (v[i] && n < sizeof(buf))
				n += snprintf(buf + n, sizeof(buf) - n, "%s%zu %s", n ? ", " : "",
					      v[i], what[i]);
	kap_print_text("%s: %s%s\n", file, buf, check ? " (nothing applied)" : "");
}

/*
 * JSON only: "changes": {"added": [NAME...], "removed": [...], "changed":
 * [{...}], "moved": [{...}], "unchanged": N}
 */
static void kap_diff_json(const struct kap_conf *cf, const struct kap_live *l,
			  const struct kap_diff *d)
{
	const struct kap_entry *e;
	size_t i;

	kap_open_object("changes");
	kap_open_array("added");
	for (i = 0; i < cf->n; i++)
		if (cf->e[i].live < 0)
			kap_print_str(KAP_PR_JSON, NULL, NULL, cf->e[i].c.name);
	kap_close_array();
	kap_open_array("removed");
	for (i = 0; i < l->n; i++)
		if (l->entry[i] < 0)
			kap_print_str(KAP_PR_JSON, NULL, NULL, l->p[i].name);
	kap_close_array();
	kap_open_array("changed");
	for (e = cf->e; e < cf->e + cf->n; e++) {
		if (!kap_entry_changed(e, l))
			continue;
		kap_open_object(NULL);
		kap_print_str(KAP_PR_JSON, "name", NULL, e->c.name);
		kap_print_str(KAP_PR_JSON, "old", NULL, l->p[e->live].spec_text);
		kap_print_str(KAP_PR_JSON, "new", NULL, e->spec);
		kap_close_object();
	}
	kap_close_array();
	kap_open_array("moved");
	for (e = cf->e; e < cf->e + cf->n; e++) {
		if (!e->moved)
			continue;
		kap_open_object(NULL);
		kap_print_str(KAP_PR_JSON, "name", NULL, e->c.name);
		kap_print_i64(KAP_PR_JSON, "from", NULL, e->live);
		kap_print_u64(KAP_PR_JSON, "to", NULL, e->pos);
		kap_close_object();
	}
	kap_close_array();
	kap_print_u64(KAP_PR_JSON, "unchanged", NULL, d->unchanged);
	kap_close_object();
}

/*
 * The outcome: in text the diff (if any) in file order, then the summary
 * lines scripts rely on; in JSON the policies and the changes by kind.
 */
static void kap_report(const char *file, const struct kap_conf *cf, const struct kap_live *l,
		       bool check)
{
	struct kap_diff d = { 0 };
	size_t i;

	kap_open_object(NULL);
	kap_print_str(KAP_PR_JSON, "file", NULL, file);
	kap_print_bool(KAP_PR_JSON, check ? "valid" : "applied", NULL, true);
	kap_open_array("policies");
	for (i = 0; i < cf->n; i++)
		kap_print_str(KAP_PR_JSON, NULL, NULL, cf->e[i].c.name);
	kap_close_array();
	if (l->err) {
		kap_print_null("changes");
		if (l->err == -ENODEV)
			kap_print_text("%s: no diff: the kapolicy module is not loaded\n", file);
		else if (l->err == -EACCES)
			kap_print_text("%s: no diff: the live specs are readable by root only\n", file);
		else
			kap_print_text("%s: no diff: cannot read the live table: %s\n", file,
				       strerror(-l->err));
	} else {
		kap_diff_count(cf, l, &d);
		kap_diff_print(cf, l);
		kap_diff_summary(file, &d, check);
		kap_diff_json(cf, l, &d);
	}
	kap_print_text(check ? "%s: %zu polic%s, valid\n" : "%s: applied %zu polic%s\n", file,
		       cf->n, cf->n == 1 ? "y" : "ies");
	kap_close_object();
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

/* Phase 3: begin, flush, add..., commit; abort if the kernel refuses one. */
static int kap_txn(const char *file, const struct kap_conf *cf)
{
	struct kap_command abort_cmd = { .op = KAP_OP_ABORT };
	char msg[512];
	size_t i;
	int ret;

	if (kap_txn_step(file, NULL, "begin", KAP_OP_BEGIN))
		return KAP_EXIT_FAIL;
	ret = kap_txn_step(file, NULL, "flush", KAP_OP_FLUSH);
	for (i = 0; !ret && i < cf->n; i++)
		ret = kap_txn_step(file, &cf->e[i], NULL, KAP_OP_ADD);
	if (!ret)
		ret = kap_txn_step(file, NULL, "commit", KAP_OP_COMMIT);
	if (!ret)
		return KAP_EXIT_OK;
	ret = kap_control_write("abort");
	if (ret && ret != -ENOENT) {
		kap_control_refusal(&abort_cmd, ret, msg, sizeof(msg));
		kap_err("%s: %s (the transaction ends when kapctl exits)", file, msg);
	}
	return KAP_EXIT_FAIL;
}

int kap_cmd_apply(int argc, char **argv)
{
	struct kap_conf cf = { 0 };
	struct kap_live live = { 0 };
	const char *path, *file;
	bool check = false, flush = false, missing_ok = false;
	int c, ret;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_CHECK:
			check = true;
			break;
		case KAP_OPT_FLUSH:
			flush = true;
			break;
		case KAP_OPT_MISSING_OK:
			missing_ok = true;
			break;
		}
	}
	if (argc - optind != 1)
		return kap_usage_err("usage: kapctl apply [--check] [--flush] [--missing-ok] FILE|-");
	path = argv[optind];
	file = strcmp(path, "-") ? path : "<stdin>";
	if (missing_ok && strcmp(path, "-") && access(path, F_OK) && errno == ENOENT)
		return kap_missing(file);

	ret = kap_conf_read(&cf, path, file);
	if (!ret && !check && kap_need_control())
		ret = KAP_EXIT_FAIL;
	if (!ret)
		ret = kap_live_load(&live);
	if (!ret)
		ret = kap_refuse_empty(file, path, &cf, &live, flush);
	if (!ret)
		ret = kap_diff(&cf, &live);
	if (!ret && !check)
		ret = kap_txn(file, &cf);
	if (!ret)
		kap_report(file, &cf, &live, check);
	free(cf.e);
	free(live.p);
	free(live.entry);
	return ret;
}
