// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl stats [global|ports|policies]: the module's counters, host-wide
 * (stats/ and limits/), by service port (the ports file) and by policy
 * (policies/NAME/stats/), as text, JSON or the Prometheus text exposition
 * format (for node_exporter's textfile collector).
 *
 * Prometheus names: every counter is a metric family of its own per view,
 * so that the three views can be collected side by side and each family
 * keeps one label set:
 *   kapolicy_probes_sent_total                     host-wide
 *   kapolicy_port_probes_sent_total{port="5432"}   by port ("other": the
 *                                                   ports beyond ports_max)
 *   kapolicy_policy_probes_sent_total{policy="pg"} by policy
 * The global view adds the limits (gauges and _total counters), the number
 * of policies and enforce.
 *
 * The ports view (and so "all") adds the deaths file, when the module has
 * one: how long connections had been idle before they died, as the
 * histogram kapolicy_idle_death_seconds{port,kind,side} (buckets made
 * cumulative, le as the file's header names them, _sum in seconds, _count
 * the +Inf bucket), and in JSON as "deaths".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kapctl.h"

enum { KAP_OPT_PORT = 256, KAP_OPT_POLICY, KAP_OPT_SORT, KAP_OPT_FORMAT, KAP_OPT_OUTPUT };

#define KAP_STATS_PORT \
	{ "port", "PORT", KAP_OPT_PORT, "only this service port, range or service name" }
#define KAP_STATS_POLICY \
	{ "policy", "NAME", KAP_OPT_POLICY, "only this policy" }
#define KAP_STATS_SORT \
	{ "sort", "COUNTER", KAP_OPT_SORT, "sort by this counter, largest first" }
#define KAP_STATS_FORMAT \
	{ "format", "FORMAT", KAP_OPT_FORMAT, "text (default), json or prometheus" }
#define KAP_STATS_OUTPUT \
	{ "output", "FILE", KAP_OPT_OUTPUT, \
	  "write to FILE, replaced at once (node_exporter's textfile collector)" }

const struct kap_opt kap_stats_global_opts[] = { KAP_STATS_FORMAT, KAP_STATS_OUTPUT, { NULL } };
const struct kap_opt kap_stats_ports_opts[] = {
	KAP_STATS_PORT, KAP_STATS_SORT, KAP_STATS_FORMAT, KAP_STATS_OUTPUT, { NULL }
};
const struct kap_opt kap_stats_policies_opts[] = {
	KAP_STATS_POLICY, KAP_STATS_SORT, KAP_STATS_FORMAT, KAP_STATS_OUTPUT, { NULL }
};
const struct kap_opt kap_stats_all_opts[] = { KAP_STATS_FORMAT, KAP_STATS_OUTPUT, { NULL } };
/* "kapctl stats [OPTIONS]": --port and --policy pick their view */
const struct kap_opt kap_stats_opts[] = {
	KAP_STATS_PORT, KAP_STATS_POLICY, KAP_STATS_SORT, KAP_STATS_FORMAT, KAP_STATS_OUTPUT,
	{ NULL }
};

/* limits/: name, Prometheus type, help */
const struct kap_limit kap_limits[] = {
	{ "sockets_max", false, "Sockets whose keepalive state kapolicy can track at once." },
	{ "sockets_tracked", false, "Sockets kapolicy tracks now." },
	{ "sockets_overflow", true, "Times a socket could not be tracked because the table was full." },
	{ "sockets_evicted", true, "Times a socket a policy governs took an ungoverned socket's place in the full table." },
	{ "ports_max", false, "Service ports with a line of their own in the ports counters." },
	{ "ports_tracked", false, "Service ports with a line of their own now." },
	{ "ports_overflow", true, "Events counted on the ports file's other line." },
	{ "hooks_missed", true, "Calls of kapolicy's kprobes the kernel could not deliver." },
	{ NULL }
};

/*
 * The limits the module has (status and stats): in JSON the object key, in
 * text one line each, "INDENT NAME VALUE", the first after head.
 */
void kap_limits_out(const char *key, const char *head, const char *indent)
{
	char rel[64];
	uint64_t v;
	size_t i;

	kap_open_object(key);
	for (i = 0; kap_limits[i].name; i++) {
		snprintf(rel, sizeof(rel), "limits/%s", kap_limits[i].name);
		if (kap_sysfs_read_u64(rel, &v))
			continue;
		if (head)
			kap_print_text("%s", head);
		head = NULL;
		kap_print_text("%s%-18s ", indent, kap_limits[i].name);
		kap_print_u64(KAP_PR_ANY, kap_limits[i].name, "%" PRIu64 "\n", v);
	}
	kap_close_object();
}

enum kap_format { KAP_FMT_TEXT, KAP_FMT_JSON, KAP_FMT_PROM };

struct kap_port_line {
	bool other;
	unsigned int port;
	struct kap_counters c;
};

static int kap_sort_by = -1;	/* counter index, or -1: natural order */

/* Reads the ports file: its header names the columns. */
static int kap_ports_load(struct kap_port_line **out, size_t *n)
{
	int col[32], ncol = 0, err;
	struct kap_port_line *lines = NULL, *bigger;
	size_t cnt = 0, cap = 0;
	char path[512], *text, *line, *save = NULL;

	snprintf(path, sizeof(path), "%s/ports", kap_sysfs_dir());
	text = kap_read_file(path, 64 << 20, NULL, &err);
	if (!text)
		return err;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *tsave = NULL;
		int i = 0;

		if (!ncol) {	/* the header */
			for (tok = strtok_r(line, " \t", &tsave); tok && ncol < 32;
			     tok = strtok_r(NULL, " \t", &tsave))
				col[ncol++] = kap_counter_index(tok);
			continue;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			bigger = realloc(lines, cap * sizeof(*lines));
			if (!bigger) {
				free(lines);
				free(text);
				return -ENOMEM;
			}
			lines = bigger;
		}
		memset(&lines[cnt], 0, sizeof(lines[cnt]));
		for (tok = strtok_r(line, " \t", &tsave); tok && i < ncol;
		     tok = strtok_r(NULL, " \t", &tsave), i++) {
			if (i == 0) {
				lines[cnt].other = !strcmp(tok, "other");
				lines[cnt].port = strtoul(tok, NULL, 10);
			} else if (col[i] >= 0) {
				lines[cnt].c.v[col[i]] = strtoull(tok, NULL, 10);
				lines[cnt].c.have[col[i]] = true;
			}
		}
		cnt++;
	}
	free(text);
	*out = lines;
	*n = cnt;
	return 0;
}

static int kap_cmp_ports(const void *a, const void *b)
{
	const struct kap_port_line *x = a, *y = b;

	if (x->other != y->other)
		return x->other ? 1 : -1;
	if (kap_sort_by >= 0 && x->c.v[kap_sort_by] != y->c.v[kap_sort_by])
		return x->c.v[kap_sort_by] > y->c.v[kap_sort_by] ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int kap_cmp_policies(const void *a, const void *b)
{
	const struct kap_policy_info *x = a, *y = b;

	if (kap_sort_by >= 0 && x->stats.v[kap_sort_by] != y->stats.v[kap_sort_by])
		return x->stats.v[kap_sort_by] > y->stats.v[kap_sort_by] ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* "# HELP" and "# TYPE" of one family */
static void kap_prom_family(const char *name, const char *help, bool counter)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, counter ? "counter" : "gauge");
}

/*
 * kapolicy_module_loaded (0 or 1: so that an alert can tell "not loaded"
 * from "no file") and kapolicy_build_info with both versions.
 */
static void kap_prom_up(bool loaded)
{
	char mod[64] = "";

	if (loaded && kap_sysfs_read("version", mod, sizeof(mod)) >= 0)
		mod[strcspn(mod, "\n")] = '\0';
	kap_prom_family("kapolicy_module_loaded", "1 if the kapolicy module is loaded.", false);
	printf("kapolicy_module_loaded %d\n", loaded);
	kap_prom_family("kapolicy_build_info", "The versions of kapctl and of the loaded module.",
			false);
	printf("kapolicy_build_info{kapctl=\"%s\",module=\"%s\"} 1\n", KAP_VERSION, mod);
}

/*
 * A table of counters: nfirst columns (in cols already), then one per
 * counter any row has (show); at[k]: counter k's column, -1 if none.
 * Returns the number of columns.
 */
static int kap_counter_cols(struct kap_col *cols, int nfirst, const bool *show, int *at)
{
	int k, n = nfirst;

	for (k = 0; k < KAP_NR_COUNTERS; k++) {
		at[k] = show[k] ? n : -1;
		if (show[k])
			cols[n++] = (struct kap_col){ kap_counter_titles[k], 0, KAP_COL_RIGHT };
	}
	return n;
}

static void kap_counters_seen(bool *show, const struct kap_counters *c)
{
	int k;

	for (k = 0; k < KAP_NR_COUNTERS; k++)
		show[k] |= c->have[k];
}

static int kap_stats_show_global(enum kap_format fmt)
{
	struct kap_counters c;
	struct kap_policy_info *pols;
	char rel[64], name[128], buf[16];
	bool have_enforce, have_npol;
	size_t i, npol = 0;
	uint64_t v;
	int n;

	n = kap_sysfs_read_counters("stats", &c);
	if (!n)
		return kap_fail("cannot read the counters in %s/stats", kap_sysfs_dir());
	have_enforce = kap_sysfs_read("enforce", buf, sizeof(buf)) >= 0;
	have_npol = !kap_policies_load(&pols, &npol);
	if (have_npol)
		free(pols);

	if (fmt != KAP_FMT_PROM) {
		kap_open_object("global");
		kap_counters_out("stats", NULL, "", &c);
		kap_limits_out("limits", "\nlimits:\n", "");
		/* what the Prometheus view has too */
		if (have_npol)
			kap_print_u64(KAP_PR_JSON, "policies", NULL, npol);
		if (have_enforce)
			kap_print_bool(KAP_PR_JSON, "enforce", NULL, !strcmp(buf, "1"));
		kap_close_object();
		return KAP_EXIT_OK;
	}
	kap_prom_up(true);
	for (i = 0; i < KAP_NR_COUNTERS; i++) {
		if (!c.have[i])
			continue;
		snprintf(name, sizeof(name), "kapolicy_%s_total", kap_counter_names[i]);
		kap_prom_family(name, kap_counter_help[i], true);
		printf("%s %" PRIu64 "\n", name, c.v[i]);
	}
	for (i = 0; kap_limits[i].name; i++) {
		snprintf(rel, sizeof(rel), "limits/%s", kap_limits[i].name);
		if (kap_sysfs_read_u64(rel, &v))
			continue;
		snprintf(name, sizeof(name), "kapolicy_%s%s", kap_limits[i].name,
			 kap_limits[i].counter ? "_total" : "");
		kap_prom_family(name, kap_limits[i].help, kap_limits[i].counter);
		printf("%s %" PRIu64 "\n", name, v);
	}
	if (have_npol) {
		kap_prom_family("kapolicy_policies", "Policies in the table.", false);
		printf("kapolicy_policies %zu\n", npol);
	}
	if (have_enforce) {
		kap_prom_family("kapolicy_enforce",
				"1 if policies are applied, 0 if kapolicy only observes.", false);
		printf("kapolicy_enforce %d\n", !strcmp(buf, "1"));
	}
	return KAP_EXIT_OK;
}

static bool kap_port_in(const struct kap_port_line *l, bool filter, unsigned int lo,
			unsigned int hi)
{
	return !filter || (!l->other && l->port >= lo && l->port <= hi);
}

/*
 * The deaths file for the ports view; false (and d empty) when the module
 * has none, or it cannot be used (said on stderr: the counters still go out).
 */
static bool kap_deaths_for_stats(struct kap_deaths *d)
{
	char err[1024];
	int ret = kap_deaths_load(d, err, sizeof(err));

	if (ret && ret != -ENOENT)
		kap_warn("%s; the idle-death histograms are left out", err);
	return !ret;
}

static bool kap_death_in(const struct kap_death_line *l, bool filter, unsigned int lo,
			 unsigned int hi)
{
	return !filter || (!l->other && l->port >= lo && l->port <= hi);
}

#define KAP_PROM_DEATHS	"kapolicy_idle_death_seconds"

static void kap_deaths_prom(const struct kap_deaths *d, bool filter, unsigned int lo,
			    unsigned int hi)
{
	char labels[128];
	bool head = false;
	size_t i, b;

	for (i = 0; i < d->n; i++) {
		const struct kap_death_line *l = &d->l[i];
		uint64_t cum = 0;

		if (!kap_death_in(l, filter, lo, hi))
			continue;
		if (!head)
			printf("# HELP " KAP_PROM_DEATHS " How long established TCP connections had been idle before they died, by service port, kind of death (reset, retrans, keepalive) and side (local, remote, both).\n"
			       "# TYPE " KAP_PROM_DEATHS " histogram\n");
		head = true;
		if (l->other)
			snprintf(labels, sizeof(labels), "port=\"other\",kind=\"%s\",side=\"%s\"",
				 l->kind, kap_side_names[l->side]);
		else
			snprintf(labels, sizeof(labels), "port=\"%u\",kind=\"%s\",side=\"%s\"",
				 l->port, l->kind, kap_side_names[l->side]);
		for (b = 0; b < d->nb; b++) {
			cum += l->bucket[b];
			printf(KAP_PROM_DEATHS "_bucket{%s,le=\"%s\"} %" PRIu64 "\n", labels,
			       d->le_text[b], cum);
		}
		printf(KAP_PROM_DEATHS "_sum{%s} %" PRIu64 ".%03u\n", labels, l->sum_ms / 1000,
		       (unsigned int)(l->sum_ms % 1000));
		printf(KAP_PROM_DEATHS "_count{%s} %" PRIu64 "\n", labels, cum);
	}
}

/* JSON only: "deaths": {"le": [1, 2, ..., null], "lines": [...], "other": [...]} */
static void kap_deaths_out(const struct kap_deaths *d, bool filter, unsigned int lo,
			   unsigned int hi)
{
	bool other = false;
	size_t i, b;

	kap_open_object("deaths");
	kap_open_array("le");
	for (b = 0; b < d->nb; b++)
		kap_print_seconds(NULL, d->le[b]);
	kap_close_array();
	do {
		kap_open_array(other ? "other" : "lines");
		for (i = 0; i < d->n; i++) {
			const struct kap_death_line *l = &d->l[i];

			if (l->other != other || !kap_death_in(l, filter, lo, hi))
				continue;
			kap_open_object(NULL);
			if (!l->other)
				kap_print_i64(KAP_PR_JSON, "port", NULL, l->port);
			kap_print_str(KAP_PR_JSON, "kind", NULL, l->kind);
			kap_print_str(KAP_PR_JSON, "side", NULL, kap_side_names[l->side]);
			kap_print_u64(KAP_PR_JSON, "count", NULL, l->count);
			kap_print_u64(KAP_PR_JSON, "sum_ms", NULL, l->sum_ms);
			kap_print_u64(KAP_PR_JSON, "min_ms", NULL, l->min_ms);
			kap_print_u64(KAP_PR_JSON, "max_ms", NULL, l->max_ms);
			kap_open_array("buckets");
			for (b = 0; b < d->nb; b++)
				kap_print_u64(KAP_PR_JSON, NULL, NULL, l->bucket[b]);
			kap_close_array();
			kap_close_object();
		}
		kap_close_array();
		other = !other;
	} while (other);
	kap_close_object();
}

/* A sample's label value and its counters (the ports and policies views). */
struct kap_prom_row {
	char value[KAP_NAME_MAX];
	const struct kap_counters *c;
};

/*
 * A family per counter, kapolicy_VIEW_COUNTER_total, with a sample per row
 * that has the counter, labelled LABEL="value".
 */
static void kap_prom_rows(const char *view, const char *label, const struct kap_prom_row *r,
			  size_t n)
{
	char name[128];
	size_t i;
	int k;

	for (k = 0; k < KAP_NR_COUNTERS; k++) {
		bool head = false;

		snprintf(name, sizeof(name), "kapolicy_%s_%s_total", view, kap_counter_names[k]);
		for (i = 0; i < n; i++) {
			if (!r[i].c->have[k])
				continue;
			if (!head)
				kap_prom_family(name, kap_counter_help[k], true);
			head = true;
			printf("%s{%s=\"%s\"} %" PRIu64 "\n", name, label, r[i].value, r[i].c->v[k]);
		}
	}
}

/* The ports view in Prometheus: the counters, then the idle-death histograms. */
static int kap_ports_prom(const struct kap_port_line *lines, size_t n, bool filter,
			  unsigned int lo, unsigned int hi)
{
	struct kap_prom_row *rows = calloc(n + 1, sizeof(*rows));
	struct kap_deaths deaths;
	size_t i, r = 0;

	if (!rows)
		return kap_fail("out of memory");
	for (i = 0; i < n; i++) {
		if (!kap_port_in(&lines[i], filter, lo, hi))
			continue;
		if (lines[i].other)
			snprintf(rows[r].value, sizeof(rows[r].value), "other");
		else
			snprintf(rows[r].value, sizeof(rows[r].value), "%u", lines[i].port);
		rows[r++].c = &lines[i].c;
	}
	kap_prom_rows("port", "port", rows, r);
	free(rows);
	if (kap_deaths_for_stats(&deaths)) {
		kap_deaths_prom(&deaths, filter, lo, hi);
		kap_deaths_free(&deaths);
	}
	return KAP_EXIT_OK;
}

static int kap_stats_show_ports(enum kap_format fmt, bool filter, unsigned int lo,
				unsigned int hi)
{
	struct kap_col cols[1 + KAP_NR_COUNTERS] = { { "PORT", 0, 0 } };
	bool show[KAP_NR_COUNTERS] = { false };
	struct kap_port_line *lines = NULL;
	int ret, k, ncol, at[KAP_NR_COUNTERS];
	struct kap_deaths deaths;
	struct kap_table *t;
	size_t n = 0, i;

	ret = kap_ports_load(&lines, &n);
	if (ret)
		return kap_fail("cannot read %s/ports: %s", kap_sysfs_dir(), strerror(-ret));
	if (n)
		qsort(lines, n, sizeof(*lines), kap_cmp_ports);

	if (fmt == KAP_FMT_PROM) {
		ret = kap_ports_prom(lines, n, filter, lo, hi);
		free(lines);
		return ret;
	}
	for (i = 0; i < n; i++)
		if (kap_port_in(&lines[i], filter, lo, hi))
			kap_counters_seen(show, &lines[i].c);
	ncol = kap_counter_cols(cols, 1, show, at);
	kap_open_object("ports");
	t = kap_table_open("ports", cols, ncol);
	for (i = 0; i < n; i++) {
		if (!kap_port_in(&lines[i], filter, lo, hi))
			continue;
		/* "other": beside the array in JSON, the last row in text */
		kap_row_open(t, lines[i].other ? "other" : NULL);
		for (k = 0; k < KAP_NR_COUNTERS; k++)
			kap_cell_u64(t, at[k], lines[i].c.have[k] ? kap_counter_names[k] : NULL,
				     lines[i].c.v[k]);
		if (lines[i].other)
			kap_cell_str(t, 0, NULL, "other");
		else
			kap_cell_u64(t, 0, "port", lines[i].port);
		kap_row_close(t);
	}
	if (!kap_table_close(t))
		kap_print_text(filter ? "no activity on these ports\n" :
			       "no port has had keepalive activity\n");
	if (kap_json && kap_deaths_for_stats(&deaths)) {
		kap_deaths_out(&deaths, filter, lo, hi);
		kap_deaths_free(&deaths);
	}
	kap_close_object();
	free(lines);
	return KAP_EXIT_OK;
}

/* The policies view in Prometheus */
static int kap_policies_prom(const struct kap_policy_info *p, size_t n, const char *only)
{
	struct kap_prom_row *rows = calloc(n + 1, sizeof(*rows));
	size_t i, r = 0;

	if (!rows)
		return kap_fail("out of memory");
	for (i = 0; i < n; i++) {
		if (only && strcmp(p[i].name, only))
			continue;
		snprintf(rows[r].value, sizeof(rows[r].value), "%s", p[i].name);
		rows[r++].c = &p[i].stats;
	}
	kap_prom_rows("policy", "policy", rows, r);
	free(rows);
	return KAP_EXIT_OK;
}

static int kap_stats_show_policies(enum kap_format fmt, const char *only)
{
	struct kap_col cols[2 + KAP_NR_COUNTERS] = { { "ORDER", 0, 0 }, { "NAME", 0, 0 } };
	struct kap_policy_cols pc = kap_policy_lines;
	bool show[KAP_NR_COUNTERS] = { false };
	struct kap_policy_info *p;
	size_t n, i;
	int ret, ncol;

	if (kap_load_policies_or_say(&p, &n))
		return KAP_EXIT_FAIL;
	if (only && !kap_policy_find(p, n, only)) {
		free(p);
		return kap_fail("policy '%s' does not exist", only);
	}
	if (n)
		qsort(p, n, sizeof(*p), kap_cmp_policies);

	if (fmt == KAP_FMT_PROM) {
		ret = kap_policies_prom(p, n, only);
		free(p);
		return ret;
	}
	for (i = 0; i < n; i++)
		if (!only || !strcmp(p[i].name, only))
			kap_counters_seen(show, &p[i].stats);
	pc.order = 0;
	pc.name = 1;
	ncol = kap_counter_cols(cols, 2, show, pc.counter);
	kap_open_object("policies");
	kap_policies_table(p, n, only, cols, ncol, &pc);
	kap_close_object();
	free(p);
	return KAP_EXIT_OK;
}

/*
 * --output FILE: standard output goes to a temporary file beside FILE,
 * which replaces FILE (rename(2)) only once everything is written, so a
 * reader (node_exporter) never sees half a file.
 */
static int kap_output_begin(const char *file, char *tmp, size_t len)
{
	int fd;

	snprintf(tmp, len, "%s.tmp.%d", file, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kap_fail("output: cannot create %s: %s", tmp, strerror(errno));
	fflush(stdout);
	if (dup2(fd, STDOUT_FILENO) < 0) {
		close(fd);
		unlink(tmp);
		return kap_fail("output: %s", strerror(errno));
	}
	close(fd);
	return 0;
}

static int kap_output_end(const char *file, const char *tmp, int ret)
{
	if (fflush(stdout) || fsync(STDOUT_FILENO))
		ret = ret ? ret : kap_fail("output: cannot write %s: %s", tmp, strerror(errno));
	if (ret) {
		unlink(tmp);
		return ret;
	}
	if (rename(tmp, file)) {
		int err = errno;

		unlink(tmp);
		return kap_fail("output: cannot replace %s: %s", file, strerror(err));
	}
	return KAP_EXIT_OK;
}

int kap_cmd_stats(int argc, char **argv)
{
	const char *view = argv[0], *policy = NULL, *output = NULL;
	bool fmt_given = false;
	char tmp[4096];
	int ret;
	enum kap_format fmt = kap_json ? KAP_FMT_JSON : KAP_FMT_TEXT;
	bool port_filter = false;
	unsigned int lo = 0, hi = 0;
	char err[512];
	int c;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_PORT:
			if (kap_port_filter("port", optarg, &lo, &hi, err, sizeof(err)))
				return kap_usage_err("%s", err);
			port_filter = true;
			break;
		case KAP_OPT_POLICY:
			if (kap_name_opt("policy", optarg, false, err, sizeof(err)))
				return kap_usage_err("%s", err);
			policy = optarg;
			break;
		case KAP_OPT_SORT:
			kap_sort_by = kap_counter_index(optarg);
			if (kap_sort_by < 0)
				return kap_usage_err("sort: '%s' is not a counter; allowed:%s",
						     optarg, kap_counter_list);
			break;
		case KAP_OPT_OUTPUT:
			if (!*optarg)
				return kap_usage_err("output: '' is not a file name");
			output = optarg;
			break;
		case KAP_OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				fmt = KAP_FMT_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = KAP_FMT_JSON;
			else if (!strcmp(optarg, "prometheus"))
				fmt = KAP_FMT_PROM;
			else
				return kap_usage_err("format: '%s' is not a format; allowed: text, json or prometheus",
						     optarg);
			fmt_given = true;
			break;
		}
	}
	if (optind < argc)
		return kap_usage_err("stats %s: unexpected argument '%s'", view, argv[optind]);
	if (kap_json && !fmt_given)	/* -j after the command */
		fmt = KAP_FMT_JSON;
	if (fmt == KAP_FMT_JSON)
		kap_json = true;	/* errors as JSON too */

	/* "kapctl stats --port 5432" means the ports view */
	if (port_filter && policy)
		return kap_usage_err("stats: --port and --policy cannot be combined (--port is for the ports view, --policy for the policies view)");
	if (kap_cmd_defaulted && port_filter && !policy)
		view = "ports";
	else if (kap_cmd_defaulted && policy && !port_filter)
		view = "policies";
	if (port_filter && strcmp(view, "ports"))
		return kap_usage_err("stats: --port applies to the ports view");
	if (policy && strcmp(view, "policies"))
		return kap_usage_err("stats: --policy applies to the policies view");
	if (kap_sort_by >= 0 && (!strcmp(view, "global") || !strcmp(view, "all")))
		return kap_usage_err("stats: --sort applies to the ports and policies views");

	if (output && kap_output_begin(output, tmp, sizeof(tmp)))
		return KAP_EXIT_FAIL;
	if (fmt == KAP_FMT_PROM && !kap_module_loaded()) {
		/* say so in the metrics: a textfile collector keeps the file */
		kap_prom_up(false);
		ret = KAP_EXIT_OK;
	} else if (kap_need_module()) {
		ret = KAP_EXIT_FAIL;
	} else if (!strcmp(view, "ports")) {
		ret = kap_stats_show_ports(fmt, port_filter, lo, hi);
	} else if (!strcmp(view, "policies")) {
		ret = kap_stats_show_policies(fmt, policy);
	} else if (!strcmp(view, "all")) {
		/* the views in one document, one key each; Prometheus: no headings */
		bool text = fmt == KAP_FMT_TEXT;

		if (fmt != KAP_FMT_PROM)
			kap_open_object(NULL);
		if (text)
			kap_print_text("global:\n");
		ret = kap_stats_show_global(fmt);
		if (text)
			kap_print_text("\nports:\n");
		if (!ret)
			ret = kap_stats_show_ports(fmt, false, 0, 0);
		if (text)
			kap_print_text("\npolicies:\n");
		if (!ret)
			ret = kap_stats_show_policies(fmt, NULL);
		if (ret)
			kap_out_discard();
		else if (fmt != KAP_FMT_PROM)
			kap_close_object();
	} else {
		ret = kap_stats_show_global(fmt);
	}
	if (output)
		return kap_output_end(output, tmp, ret);
	return ret;
}
