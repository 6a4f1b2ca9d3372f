// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl doctor: why idle connections die, and the policy that stops it.
 *
 * The module's deaths file (sysfs/ABI/sysfs-kernel-kapolicy) says, per
 * service port and kind of death, how long the established connections
 * that died had been idle (no data either way) before they died:
 *   reset      a RST answered the first segment sent after the idle spell
 *              (or a keepalive probe)
 *   retrans    that segment was never acknowledged: the retransmission
 *              timeout killed the connection (ETIMEDOUT, or an ICMP error)
 *   keepalive  keepalive probes went unanswered
 * A middlebox (NAT, stateful firewall, load balancer) that forgets a flow
 * idle for its timeout T kills, at their next use, exactly the connections
 * that were idle longer than T: "reset" when it answers with a RST,
 * "retrans" when it drops the segment.  So the shortest idle time of those
 * deaths bounds T from above, T <= min_ms: doctor gives it as the estimate
 * ("at most"), names the presets whose timeout lies in [0.8 min, min], and
 * the policy whose keepalive keeps such flows alive (preset=NAME, else
 * preset=timeout:SECONDS).  Keepalive deaths are reported, not fixed: the
 * peer or the path was gone, keepalive only found out.
 *
 * Units: the file's times are ms, its bucket bounds s (each bucket counts
 * the deaths in (previous bound, bound], not cumulative; the bounds come
 * from the header).  Estimates and policy keys are whole seconds.  A death
 * after 1 s or less of idleness is not an idle death (the peer went away
 * in the middle of a conversation): it is left out of the diagnosis.
 *
 * The living: the connections ESTABLISHED now on the port (on the side the
 * deaths were seen: the remote port of connections this host opened, the
 * local port of accepted ones) idle longer than the estimate without
 * keepalive that would probe them by then, counted by sockets.c's
 * --at-risk scan called as a function.  sock_diag answers for kapctl's
 * network namespace only; the deaths are the whole host's.
 *
 * The deaths file's parser is here too: "stats ports" reads it for its
 * Prometheus histogram and its JSON.  It checks the file's shape (header,
 * number of columns, numbers) and says what is wrong in one line, but does
 * not require the buckets to add up to count: the module reads its
 * counters one after the other, without a lock.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kapctl.h"

/* ---- the deaths file ---------------------------------------------------- */

const char *const kap_death_kind_names[KAP_NR_DEATH_KINDS] = {
	[KAP_DEATH_RESET] = "reset",
	[KAP_DEATH_RETRANS] = "retrans",
	[KAP_DEATH_KEEPALIVE] = "keepalive",
};

const char *const kap_side_names[] = {
	[KAP_SIDE_NONE] = "-",
	[KAP_SIDE_LOCAL] = "local",
	[KAP_SIDE_REMOTE] = "remote",
	[KAP_SIDE_BOTH] = "both",
};

/* The columns before the buckets. */
static const char *const kap_deaths_cols[] = {
	"port", "kind", "side", "count", "sum_ms", "min_ms", "max_ms",
};
#define KAP_DEATHS_NCOLS	ARRAY_SIZE(kap_deaths_cols)
#define KAP_DEATHS_HEADER	"port kind side count sum_ms min_ms max_ms, then the buckets' upper bounds in seconds, the last +Inf"
#define KAP_DEATHS_MAX_TOKENS	(KAP_DEATHS_NCOLS + KAP_DEATH_BUCKETS_MAX + 1)

static bool kap_digits(const char *s)
{
	return *s && !s[strspn(s, "0123456789")];
}

static int kap_parse_u64(const char *tok, uint64_t *v)
{
	if (!kap_digits(tok) || strlen(tok) > 20)
		return -EINVAL;
	errno = 0;
	*v = strtoull(tok, NULL, 10);
	return errno ? -EINVAL : 0;
}

/* Splits line at blanks; returns the number of words (more than max: max + 1). */
static size_t kap_split(char *line, char **tok, size_t max)
{
	char *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = t;
	}
	return n;
}

static int kap_deaths_header(struct kap_deaths *d, char *line, const char *path, char *err,
			     size_t errlen)
{
	char *tok[KAP_DEATHS_MAX_TOKENS], q[80];
	size_t n = kap_split(line, tok, KAP_DEATHS_MAX_TOKENS), i;

	for (i = 0; i < KAP_DEATHS_NCOLS; i++) {
		if (i < n && !strcmp(tok[i], kap_deaths_cols[i]))
			continue;
		snprintf(err, errlen, "%s: header column %zu is '%s'; expected: " KAP_DEATHS_HEADER,
			 path, i + 1, i < n ? kap_quote(tok[i], q, sizeof(q)) : "");
		return -EINVAL;
	}
	if (n == KAP_DEATHS_NCOLS || n > KAP_DEATHS_NCOLS + KAP_DEATH_BUCKETS_MAX) {
		snprintf(err, errlen, "%s: the header has %s bucket columns; allowed: 1-%d, the last +Inf",
			 path, n == KAP_DEATHS_NCOLS ? "no" : "too many", KAP_DEATH_BUCKETS_MAX);
		return -EINVAL;
	}
	d->nb = n - KAP_DEATHS_NCOLS;
	for (i = 0; i < d->nb; i++) {
		const char *t = tok[KAP_DEATHS_NCOLS + i];
		bool last = i + 1 == d->nb;
		char *end;
		double le;

		if (last) {
			if (strcmp(t, "+Inf")) {
				snprintf(err, errlen, "%s: the header's last bucket is '%s'; expected: +Inf",
					 path, kap_quote(t, q, sizeof(q)));
				return -EINVAL;
			}
			le = INFINITY;
		} else {
			le = strtod(t, &end);
			if (strspn(t, "0123456789.") != strlen(t) || *end || !(le > 0) ||
			    !isfinite(le) || strlen(t) >= sizeof(d->le_text[0]) ||
			    (i && le <= d->le[i - 1])) {
				snprintf(err, errlen, "%s: bucket bound '%s' in the header is out of range; allowed: seconds greater than the bound before it%s%s, the last +Inf",
					 path, kap_quote(t, q, sizeof(q)), i ? ", " : "",
					 i ? d->le_text[i - 1] : "");
				return -EINVAL;
			}
		}
		d->le[i] = le;
		snprintf(d->le_text[i], sizeof(d->le_text[i]), "%s", t);
	}
	return 0;
}

static int kap_deaths_row(const struct kap_deaths *d, struct kap_death_line *l, char *line,
			  size_t lineno, const char *path, char *err, size_t errlen)
{
	char *tok[KAP_DEATHS_MAX_TOKENS], q[80];
	size_t n = kap_split(line, tok, KAP_DEATHS_MAX_TOKENS), i;
	uint64_t *nums[] = { &l->count, &l->sum_ms, &l->min_ms, &l->max_ms };
	uint64_t v;
	int k;

	if (n != KAP_DEATHS_NCOLS + d->nb) {
		snprintf(err, errlen, "%s: line %zu has %s%zu fields; the header has %zu", path,
			 lineno, n > KAP_DEATHS_MAX_TOKENS - 1 ? "more than " : "",
			 n > KAP_DEATHS_MAX_TOKENS - 1 ? n - 1 : n, KAP_DEATHS_NCOLS + d->nb);
		return -EINVAL;
	}
	if (!strcmp(tok[0], "other")) {
		l->other = true;
	} else if (!kap_parse_u64(tok[0], &v) && v >= 1 && v <= 65535) {
		l->port = v;
	} else {
		snprintf(err, errlen, "%s: line %zu: port '%s' is out of range; allowed: 1-65535 or other",
			 path, lineno, kap_quote(tok[0], q, sizeof(q)));
		return -EINVAL;
	}
	/* a kind this kapctl does not know is kept (a newer module) */
	if (!*tok[1] || strlen(tok[1]) >= sizeof(l->kind) ||
	    strspn(tok[1], "abcdefghijklmnopqrstuvwxyz_") != strlen(tok[1])) {
		snprintf(err, errlen, "%s: line %zu: kind '%s' is not a kind; allowed: reset, retrans, keepalive (or another word of a-z _)",
			 path, lineno, kap_quote(tok[1], q, sizeof(q)));
		return -EINVAL;
	}
	snprintf(l->kind, sizeof(l->kind), "%s", tok[1]);
	l->k = KAP_NR_DEATH_KINDS;
	for (k = 0; k < KAP_NR_DEATH_KINDS; k++)
		if (!strcmp(tok[1], kap_death_kind_names[k]))
			l->k = k;
	for (k = 0; k < (int)ARRAY_SIZE(kap_side_names); k++)
		if (!strcmp(tok[2], kap_side_names[k]))
			break;
	if (k == (int)ARRAY_SIZE(kap_side_names)) {
		snprintf(err, errlen, "%s: line %zu: side '%s' is not a side; allowed: local, remote, both or -",
			 path, lineno, kap_quote(tok[2], q, sizeof(q)));
		return -EINVAL;
	}
	l->side = k;
	for (i = 0; i < KAP_DEATHS_NCOLS + d->nb - 3; i++) {
		uint64_t *dst = i < ARRAY_SIZE(nums) ? nums[i] : &l->bucket[i - ARRAY_SIZE(nums)];

		if (kap_parse_u64(tok[3 + i], dst)) {
			char col[40];

			if (i < ARRAY_SIZE(nums))
				snprintf(col, sizeof(col), "%s", kap_deaths_cols[3 + i]);
			else
				snprintf(col, sizeof(col), "bucket %s",
					 d->le_text[i - ARRAY_SIZE(nums)]);
			snprintf(err, errlen, "%s: line %zu: %s '%s' is not a number; allowed: 0-%" PRIu64,
				 path, lineno, col, kap_quote(tok[3 + i], q, sizeof(q)), UINT64_MAX);
			return -EINVAL;
		}
	}
	if (l->count && l->min_ms > l->max_ms) {
		snprintf(err, errlen, "%s: line %zu: min_ms %" PRIu64 " is greater than max_ms %" PRIu64,
			 path, lineno, l->min_ms, l->max_ms);
		return -EINVAL;
	}
	return 0;
}

void kap_deaths_free(struct kap_deaths *d)
{
	free(d->l);
	free(d->pool);
	memset(d, 0, sizeof(*d));
}

/*
 * Reads and checks the deaths file.  0, or -errno with err saying what
 * (-ENOENT: the module has no such file; -EINVAL: malformed).
 */
int kap_deaths_load(struct kap_deaths *d, char *err, size_t errlen)
{
	char path[512], *text, *p, *line;
	size_t len, lines = 1, lineno = 0, i;
	bool header = false;
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/%s", kap_sysfs_dir(), KAP_DEATHS_FILE);
	text = kap_read_file(path, 64 << 20, &len, &ret);
	if (!text) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: a NUL byte; expected text", path);
		free(text);
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	d->l = calloc(lines, sizeof(*d->l));
	if (!d->l) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = 0;
	for (p = text; !ret && (line = strsep(&p, "\n"));) {
		struct kap_death_line *l;

		lineno++;
		if (!line[strspn(line, " \t\r")])
			continue;	/* the end, or an empty line */
		if (!header) {
			ret = kap_deaths_header(d, line, path, err, errlen);
			header = true;
			if (!ret && !(d->pool = calloc(lines * d->nb, sizeof(*d->pool)))) {
				snprintf(err, errlen, "out of memory");
				ret = -ENOMEM;
			}
			continue;
		}
		l = &d->l[d->n];
		l->bucket = d->pool + d->n * d->nb;
		ret = kap_deaths_row(d, l, line, lineno, path, err, errlen);
		d->n++;
	}
	free(text);
	if (!ret && !header) {
		snprintf(err, errlen, "%s is empty; expected a header line: " KAP_DEATHS_HEADER, path);
		ret = -EINVAL;
	}
	if (ret)
		kap_deaths_free(d);
	return ret;
}

/* ---- the diagnosis ------------------------------------------------------ */

#define KAP_BRIEF_MS		1000	/* idle this long or less: not an idle death */
#define KAP_MATCH_LOW_PCT	80	/* a preset matches from 0.8 x the estimate */
#define KAP_CONSISTENT_PCT	80	/* of the deaths within [estimate, 2 x estimate] */
#define KAP_FIX_MIN_S		2	/* the smallest timeout a fix is made for */
#define KAP_MAX_MATCHES		16

enum { KAP_OPT_MIN_COUNT = 256, KAP_OPT_PORT };

const struct kap_opt kap_doctor_opts[] = {
	{ "min-count", "N", KAP_OPT_MIN_COUNT,
	  "deaths of a kind a port needs to be diagnosed (default 2)" },
	{ "port", "PORT", KAP_OPT_PORT, "only this service port (range, service name)" },
	{ NULL }
};

/* What the deaths of one line say. */
struct kap_finding {
	const struct kap_death_line *l;
	uint64_t idle;		/* deaths after more than 1 s idle */
	uint64_t brief;		/* after 1 s or less: not idle deaths */
	uint64_t lo_ms;		/* the shortest idle time: min_ms, or a bound below it */
	bool exact;		/* lo_ms is min_ms */
	uint64_t est_ms;	/* the middlebox forgets flows idle this long, at most */
	unsigned int est_s;	/* whole seconds, KAP_FIX_MIN_S at least */
	uint64_t within;	/* at least this many idle in [lo, 2 x estimate] */
	bool consistent;
	const struct kap_preset *match[KAP_MAX_MATCHES];
	uint64_t match_t[KAP_MAX_MATCHES];
	size_t nmatch;
	char fix[2][256];	/* the policy add commands (one per side) */
	char fix_name[2][KAP_NAME_MAX];	/* their policies' names */
	int nfix;
	bool fix_in_place;	/* policies of those names exist */
	long long at_risk;	/* -1: not known */
};

/* The upper bound of bucket i in s and its lower one (0 for the first). */
static double kap_lower(const struct kap_deaths *d, size_t i)
{
	return i ? d->le[i - 1] : 0;
}

static bool kap_is_idle_bucket(const struct kap_deaths *d, size_t i)
{
	return d->le[i] * 1000 > KAP_BRIEF_MS;
}

/*
 * Fills f from l; false when l has no idle death.  Presets and fixes are
 * separate (kap_match_presets, kap_make_fix).
 */
static bool kap_examine(const struct kap_deaths *d, const struct kap_death_line *l,
			struct kap_finding *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->l = l;
	f->at_risk = -1;
	if (l->min_ms <= KAP_BRIEF_MS)
		for (i = 0; i < d->nb; i++)
			if (!kap_is_idle_bucket(d, i))
				f->brief += l->bucket[i];
	f->idle = l->count > f->brief ? l->count - f->brief : 0;
	if (l->max_ms <= KAP_BRIEF_MS)
		f->idle = 0;
	if (!f->idle)
		return false;

	if (l->min_ms > KAP_BRIEF_MS) {
		f->exact = true;
		f->lo_ms = f->est_ms = l->min_ms;
	} else {
		/* the shortest idle death is in the first idle bucket with deaths */
		f->lo_ms = KAP_BRIEF_MS;
		f->est_ms = l->max_ms;
		for (i = 0; i < d->nb; i++) {
			if (!kap_is_idle_bucket(d, i) || !l->bucket[i])
				continue;
			if (kap_lower(d, i) * 1000 > KAP_BRIEF_MS)
				f->lo_ms = kap_lower(d, i) * 1000;
			if (isfinite(d->le[i]) && d->le[i] * 1000 < l->max_ms)
				f->est_ms = d->le[i] * 1000;
			break;
		}
	}
	f->est_s = f->est_ms / 1000 < KAP_FIX_MIN_S ? KAP_FIX_MIN_S : f->est_ms / 1000;
	if (f->est_s > KAP_PRESET_TIMEOUT_MAX)
		f->est_s = KAP_PRESET_TIMEOUT_MAX;

	/* how many surely died within twice the estimate */
	if (l->max_ms <= 2 * f->est_ms) {
		f->within = f->idle;
	} else {
		for (i = 0; i < d->nb; i++)
			if (kap_is_idle_bucket(d, i) && d->le[i] * 1000 <= 2 * f->est_ms)
				f->within += l->bucket[i];
		if (f->within > f->idle)
			f->within = f->idle;
	}
	f->consistent = f->within * 100 >= f->idle * KAP_CONSISTENT_PCT;
	return true;
}

/* The presets whose timeout T has 0.8 x estimate <= T <= estimate. */
static void kap_match_presets(struct kap_finding *f)
{
	const struct kap_preset *p;

	for (p = kap_presets; p->name && f->nmatch < KAP_MAX_MATCHES; p++) {
		struct kap_preset_values v;
		char err[256];
		uint64_t t = p->timeout;

		/* conntrack: this host's sysctl, when it can be read */
		if (!t && kap_preset_resolve(p->name, &v, err, sizeof(err)))
			continue;
		if (!t)
			t = v.timeout;
		if (t * 1000 <= f->est_ms && t * 1000 * 100 >= f->est_ms * KAP_MATCH_LOW_PCT) {
			f->match[f->nmatch] = p;
			f->match_t[f->nmatch++] = t;
		}
	}
}

static bool kap_diagnosed(const struct kap_death_line *l)
{
	return !l->other && (l->k == KAP_DEATH_RESET || l->k == KAP_DEATH_RETRANS);
}

/*
 * The fix of a port: one policy per side the port's reset and retrans
 * deaths were seen on, timed for the smallest estimate of them (its best
 * preset: the largest matching timeout, else timeout:SECONDS; below
 * timeout:'s 10 s the keys themselves).  Every finding of the port gets
 * the same fix, so that running them all adds each policy once.
 */
static void kap_make_fix(struct kap_finding *all, size_t n, struct kap_finding *f,
			 struct kap_policy_info *pols, size_t npol)
{
	const struct kap_finding *best = f;
	const struct kap_preset *preset = NULL;
	unsigned int port = f->l->port, sides = 0;
	uint64_t pt = 0;
	char keys[160], name[KAP_NAME_MAX];
	size_t i;
	int s;

	for (i = 0; i < n; i++) {
		if (all[i].l->port != port)
			continue;
		sides |= all[i].l->side;
		if (all[i].est_ms < best->est_ms)
			best = &all[i];
	}
	if (!sides)
		sides = KAP_SIDE_REMOTE;	/* "-" on a port line: the module's rule */
	for (i = 0; i < best->nmatch; i++) {
		if (best->match_t[i] > pt) {
			pt = best->match_t[i];
			preset = best->match[i];
		}
	}
	if (preset) {
		snprintf(keys, sizeof(keys), "preset=%s", preset->name);
	} else if (best->est_s >= KAP_PRESET_TIMEOUT_MIN) {
		snprintf(keys, sizeof(keys), "preset=timeout:%u", best->est_s);
	} else {
		struct kap_preset_values v;

		kap_preset_timing(best->est_s, &v);
		kap_preset_keys(&v, 0, keys, sizeof(keys));
	}
	f->nfix = 0;
	f->fix_in_place = true;
	for (s = KAP_SIDE_LOCAL; s <= KAP_SIDE_REMOTE; s++) {
		if (!(sides & s))
			continue;
		if (sides == KAP_SIDE_BOTH)
			snprintf(name, sizeof(name), "doctor-%u-%s", port, kap_side_names[s]);
		else
			snprintf(name, sizeof(name), "doctor-%u", port);
		snprintf(f->fix_name[f->nfix], sizeof(f->fix_name[0]), "%s", name);
		snprintf(f->fix[f->nfix++], sizeof(f->fix[0]), "kapctl policy add %s %s=%u %s",
			 name, s == KAP_SIDE_LOCAL ? "lport" : "rport", port, keys);
		if (!kap_policy_find(pols, npol, name))
			f->fix_in_place = false;
	}
}

/* ---- output ------------------------------------------------------------- */

static const char *kap_side_text(enum kap_side side)
{
	switch (side) {
	case KAP_SIDE_LOCAL:
		return "local service";
	case KAP_SIDE_REMOTE:
		return "remote service";
	case KAP_SIDE_BOTH:
		return "local and remote service";
	default:
		return "service";
	}
}

static const char *kap_kind_text(enum kap_death_kind k)
{
	switch (k) {
	case KAP_DEATH_RESET:
		return "reset on first use";
	case KAP_DEATH_RETRANS:
		return "timed out (first segment after idle never acknowledged)";
	default:
		return "killed by keepalive";
	}
}

/* "21-34 s", or "21 s" */
static const char *kap_range_text(uint64_t lo_ms, uint64_t hi_ms, char *buf, size_t len)
{
	if (lo_ms / 1000 >= hi_ms / 1000)
		snprintf(buf, len, "%" PRIu64 " s", lo_ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "-%" PRIu64 " s", lo_ms / 1000, hi_ms / 1000);
	return buf;
}

/*
 * The idle buckets with deaths: in JSON "idle_times", [{"from_s", "to_s",
 * "count"}]; in text "2 in 21-30 s, 3 in 30-34 s", cut to [lo, max].
 */
static void kap_buckets_out(const struct kap_deaths *d, const struct kap_finding *f)
{
	const struct kap_death_line *l = f->l;
	double lo_s = floor(f->lo_ms / 1000.0), max_s = floor(l->max_ms / 1000.0);
	bool first = true;
	size_t i;

	kap_open_array("idle_times");
	for (i = 0; i < d->nb; i++) {
		double a = kap_lower(d, i), b = d->le[i];

		if (!kap_is_idle_bucket(d, i) || !l->bucket[i])
			continue;
		kap_open_object(NULL);
		kap_print_seconds("from_s", a);
		kap_print_seconds("to_s", b);
		kap_print_u64(KAP_PR_JSON, "count", NULL, l->bucket[i]);
		kap_close_object();
		if (a < lo_s)
			a = lo_s;
		if (b > max_s)
			b = max_s;
		if (a > b) {	/* min/max and buckets disagree: the buckets */
			a = kap_lower(d, i);
			b = d->le[i];
		}
		kap_print_text("%s%" PRIu64 " in %g", first ? "" : ", ", l->bucket[i], a);
		if (!isfinite(b))
			kap_print_text(" s or more");
		else if (b > a)
			kap_print_text("-%g s", b);
		else
			kap_print_text(" s");
		first = false;
	}
	kap_close_array();
}

/* The line of the deaths file a finding is about: JSON only. */
static void kap_line_out(const struct kap_finding *f)
{
	const struct kap_death_line *l = f->l;

	if (!l->other)
		kap_print_i64(KAP_PR_JSON, "port", NULL, l->port);
	kap_print_str(KAP_PR_JSON, "side", NULL, kap_side_names[l->side]);
	kap_print_str(KAP_PR_JSON, "kind", NULL, l->kind);
	kap_print_u64(KAP_PR_JSON, "count", NULL, l->count);
	kap_print_u64(KAP_PR_JSON, "idle_count", NULL, f->idle);
	kap_print_u64(KAP_PR_JSON, "min_ms", NULL, l->min_ms);
	kap_print_u64(KAP_PR_JSON, "max_ms", NULL, l->max_ms);
}

/*
 * A diagnosed port: in text a paragraph (fix_shown: its fix was printed
 * with the port's other kind already); in JSON an object of "ports".
 * sock_ok: the at-risk count could be made.
 */
static void kap_finding_out(const struct kap_deaths *d, const struct kap_finding *f,
			    bool fix_shown, bool sock_ok)
{
	const struct kap_death_line *l = f->l;
	char range[64], twice[64], line[2 * sizeof(f->fix[0]) + 8] = "";
	uint64_t prev = 0;
	size_t i, n = 0;

	kap_line_out(f);
	kap_print_text("port %u (%s): %" PRIu64 " connection%s %s after %s idle", l->port,
		       kap_side_text(l->side), f->idle, f->idle == 1 ? "" : "s",
		       kap_kind_text(l->k), kap_range_text(f->lo_ms, l->max_ms, range,
							   sizeof(range)));
	if (f->exact)
		kap_print_text("; none after less than %" PRIu64 " s idle", f->lo_ms / 1000);
	if (f->brief)
		kap_print_text(" (and %" PRIu64 " after 1 s or less: not idle deaths)", f->brief);
	kap_print_bool(KAP_PR_JSON, "min_exact", NULL, f->exact);
	kap_print_i64(KAP_PR_JSON, "estimate_s", NULL, f->est_s);
	kap_print_u64(KAP_PR_JSON, "within_2x", NULL, f->within);
	kap_print_bool(KAP_PR_JSON, "consistent", NULL, f->consistent);

	kap_print_text(".\n  idle times: ");
	kap_buckets_out(d, f);
	kap_range_text(f->lo_ms, 2 * f->est_ms, twice, sizeof(twice));
	if (f->consistent)
		kap_print_text("; consistent: %" PRIu64 " of %" PRIu64 " within %s\n", f->within,
			       f->idle, twice);
	else
		kap_print_text("; spread: %s%" PRIu64 " of %" PRIu64 " within %s, the timeout may be well below %u s\n",
			       f->within < f->idle ? "only " : "", f->within, f->idle, twice,
			       f->est_s);
	kap_print_text("  likely: a NAT, firewall or load balancer idle timeout of at most %u s\n",
		       f->est_s);

	/* "matches a / b (60 s), c (50 s)": presets of one timeout together */
	kap_open_array("presets");
	for (i = 0; i < f->nmatch; i++) {
		kap_print_str(KAP_PR_JSON, NULL, NULL, f->match[i]->name);
		if (!i)
			kap_print_text("  matches ");
		else if (f->match_t[i] == prev)
			kap_print_text(" / ");
		else
			kap_print_text(" (%" PRIu64 " s), ", prev);
		kap_print_text("%s", f->match[i]->name);
		prev = f->match_t[i];
	}
	kap_close_array();
	if (f->nmatch)
		kap_print_text(" (%" PRIu64 " s)\n", prev);

	/* "fix": one shell command line; "fix_commands": one per policy */
	for (i = 0; i < (size_t)f->nfix; i++) {
		snprintf(line + n, sizeof(line) - n, "%s%s", i ? " && " : "", f->fix[i]);
		n = strlen(line);
	}
	kap_print_str(KAP_PR_JSON, "fix", NULL, line);
	kap_open_array("fix_commands");
	for (i = 0; i < (size_t)f->nfix; i++) {
		kap_print_str(KAP_PR_JSON, NULL, NULL, f->fix[i]);
		if (!fix_shown && !f->fix_in_place)
			kap_print_text("  %s %s\n", i ? "    " : "fix:", f->fix[i]);
	}
	kap_close_array();
	if (fix_shown)
		kap_print_text("  fix: as above\n");
	else if (f->fix_in_place)
		kap_print_text("  fix: in place (polic%s %s%s%s); these deaths may predate it: the counts run from the module's loading\n",
			       f->nfix > 1 ? "ies" : "y", f->fix_name[0], f->nfix > 1 ? ", " : "",
			       f->nfix > 1 ? f->fix_name[1] : "");
	kap_print_bool(KAP_PR_JSON, "fix_in_place", NULL, f->fix_in_place);

	if (sock_ok && f->at_risk >= 0)
		kap_print_i64(KAP_PR_JSON, "at_risk", NULL, f->at_risk);
	else
		kap_print_null("at_risk");
	if (f->at_risk >= 0)
		kap_print_text("  at risk now: %lld connection%s idle longer than %u s without keepalive in time (kapctl sockets --at-risk %u --port %u)\n",
			       f->at_risk, f->at_risk == 1 ? "" : "s", f->est_s, f->est_s, l->port);
}

/*
 * Keepalive deaths and the other line: information, no fix.  JSON: the
 * line, in "keepalive" or "other".
 */
static void kap_note_out(const struct kap_finding *f)
{
	const struct kap_death_line *l = f->l;
	char range[64];

	kap_line_out(f);
	if (l->other)
		kap_print_text("other ports: %" PRIu64 " connection%s %s after %s idle, on ports beyond the module's port table (limits/ports_max): not diagnosed\n",
			       f->idle, f->idle == 1 ? "" : "s", l->k < KAP_NR_DEATH_KINDS ?
			       kap_kind_text(l->k) : l->kind,
			       kap_range_text(f->lo_ms, l->max_ms, range, sizeof(range)));
	else
		kap_print_text("port %u (%s): %" PRIu64 " connection%s killed by keepalive after at least %" PRIu64 " s idle: the peer or the path was gone\n",
			       l->port, kap_side_text(l->side), f->idle, f->idle == 1 ? "" : "s",
			       f->lo_ms / 1000);
}

/* A line not diagnosed, and why: JSON only ("skipped"). */
struct kap_skip {
	const struct kap_death_line *l;
	const char *why;
};

static void kap_skipped_out(const struct kap_skip *sk)
{
	kap_open_object(NULL);
	kap_print_i64(KAP_PR_JSON, "port", NULL, sk->l->port);
	kap_print_str(KAP_PR_JSON, "side", NULL, kap_side_names[sk->l->side]);
	kap_print_str(KAP_PR_JSON, "kind", NULL, sk->l->kind);
	kap_print_u64(KAP_PR_JSON, "count", NULL, sk->l->count);
	kap_print_str(KAP_PR_JSON, "reason", NULL, sk->why);
	kap_close_object();
}

/* port order, then the file's order of kinds (reset retrans keepalive), other last */
static int kap_cmp_lines(const void *a, const void *b)
{
	const struct kap_death_line *x = *(const struct kap_death_line *const *)a;
	const struct kap_death_line *y = *(const struct kap_death_line *const *)b;

	if (x->other != y->other)
		return x->other ? 1 : -1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

/* ---- the command -------------------------------------------------------- */

int kap_cmd_doctor(int argc, char **argv)
{
	struct kap_deaths d;
	struct kap_death_line **sorted = NULL;
	struct kap_finding *found = NULL, *notes = NULL;
	struct kap_at_risk_scan *scan = NULL;
	struct kap_policy_info *pols = NULL;
	struct kap_skip *skipped = NULL;
	size_t nfound = 0, nnotes = 0, nskipped = 0, npol = 0, i, j;
	unsigned int lo = 0, hi = 0;
	bool port_filter = false;
	uint64_t min_count = 2;
	char err[1024];
	int c, ret, sock_err = 0;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_MIN_COUNT:
			if (kap_number_opt("min-count", optarg, 1, UINT32_MAX, "", &min_count, err,
					   sizeof(err)))
				return kap_usage_err("%s", err);
			break;
		case KAP_OPT_PORT:
			if (kap_port_filter("port", optarg, &lo, &hi, err, sizeof(err)))
				return kap_usage_err("%s", err);
			port_filter = true;
			break;
		}
	}
	if (optind < argc)
		return kap_usage_err("doctor: unexpected argument '%s'", argv[optind]);
	if (kap_need_module())
		return KAP_EXIT_FAIL;
	ret = kap_deaths_load(&d, err, sizeof(err));
	if (ret == -ENOENT)
		return kap_fail("this kapolicy module has no %s/%s: it is older than kapctl %s and does not record idle deaths; update the module",
				kap_sysfs_dir(), KAP_DEATHS_FILE, KAP_VERSION);
	if (ret == -EACCES || ret == -EPERM)
		return kap_fail("permission denied: %s/%s is readable with CAP_NET_ADMIN only (run doctor as root)",
				kap_sysfs_dir(), KAP_DEATHS_FILE);
	if (ret)
		return kap_fail("%s", err);

	sorted = calloc(d.n + 1, sizeof(*sorted));
	found = calloc(d.n + 1, sizeof(*found));
	notes = calloc(d.n + 1, sizeof(*notes));
	skipped = calloc(d.n + 1, sizeof(*skipped));
	if (!sorted || !found || !notes || !skipped) {
		ret = kap_fail("out of memory");
		goto out;
	}
	for (i = 0; i < d.n; i++)
		sorted[i] = &d.l[i];
	qsort(sorted, d.n, sizeof(*sorted), kap_cmp_lines);

	/* which lines say something */
	for (i = 0; i < d.n; i++) {
		const struct kap_death_line *l = sorted[i];
		struct kap_finding f;

		if (port_filter && (l->other || l->port < lo || l->port > hi))
			continue;
		if (l->k == KAP_NR_DEATH_KINDS)
			continue;	/* a kind of a newer module */
		if (!kap_examine(&d, l, &f)) {
			if (!l->other)
				skipped[nskipped++] = (struct kap_skip){ l, "not_idle" };
			continue;
		}
		if (f.idle < min_count) {
			if (!l->other)
				skipped[nskipped++] = (struct kap_skip){ l, "min_count" };
			continue;
		}
		if (kap_diagnosed(l))
			found[nfound++] = f;
		else
			notes[nnotes++] = f;
	}

	/* the presets, the fixes (knowing the policies there), the living */
	if (nfound) {
		if (kap_policies_load(&pols, &npol))
			npol = 0;
		sock_err = kap_at_risk_open(&scan);
	}
	for (i = 0; i < nfound; i++)
		kap_match_presets(&found[i]);
	for (i = 0; i < nfound; i++) {
		kap_make_fix(found, nfound, &found[i], pols, npol);
		if (scan)
			found[i].at_risk = kap_at_risk_count(scan, found[i].est_s,
							     found[i].l->port, found[i].l->side);
	}
	if (sock_err)
		kap_warn("at risk now: cannot count the connections: sock_diag: %s",
			 strerror(-sock_err));

	kap_open_object(NULL);
	kap_open_array("ports");
	for (i = 0; i < nfound; i++) {
		bool shown = false;

		/* a port with reset and retrans deaths has one fix */
		for (j = 0; j < i; j++)
			if (found[j].l->port == found[i].l->port)
				shown = true;
		kap_open_object(NULL);
		kap_finding_out(&d, &found[i], shown, !sock_err);
		kap_close_object();
	}
	kap_close_array();
	/* the notes: keepalive deaths by port, then the other line (sorted last) */
	kap_open_array("keepalive");
	for (i = 0; i < nnotes && !notes[i].l->other; i++) {
		kap_open_object(NULL);
		kap_note_out(&notes[i]);
		kap_close_object();
	}
	kap_close_array();
	kap_open_array("other");
	for (; i < nnotes; i++) {
		kap_open_object(NULL);
		kap_note_out(&notes[i]);
		kap_close_object();
	}
	kap_close_array();
	kap_open_array("skipped");
	for (i = 0; i < nskipped; i++)
		kap_skipped_out(&skipped[i]);
	kap_close_array();
	kap_print_u64(KAP_PR_JSON, "min_count", NULL, min_count);
	kap_print_str(KAP_PR_JSON, "at_risk_error", NULL, sock_err ? strerror(-sock_err) : NULL);
	if (!nfound)
		kap_print_text(nnotes ? "no connection was reset or timed out after idle: nothing to fix\n" :
			       "no idle connection deaths: nothing to fix\n");
	kap_close_object();
	ret = KAP_EXIT_OK;
out:
	kap_at_risk_close(scan);
	free(skipped);
	free(pols);
	free(sorted);
	free(found);
	free(notes);
	kap_deaths_free(&d);
	return ret;
}
