// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl watch: the kapolicy trace events as they happen, one line each
 * (or one JSON document per line with -j).
 *
 * The events are read from a private tracefs instance,
 * instances/kapctl-PID, so that the top-level buffer and other tracers are
 * not disturbed.  libtracefs creates it at start and enables the kapolicy
 * events (or the --event kinds) in it; the events' formats
 * (events/kapolicy/EVENT/format) are parsed by libtraceevent, and the
 * per-CPU ring buffers (per_cpu/cpuN/trace_pipe_raw) are read as binary
 * sub-buffers, taken apart with kbuffer: every field comes typed from the
 * format, none is parsed out of text.  The events of all CPUs are merged in
 * time order, as trace_pipe does.  The instance is removed when kapctl
 * ends: normally (--count, --duration, end of output), on SIGINT, SIGTERM
 * or SIGHUP, and after an error.  Signals are blocked except inside
 * ppoll(), so a signal only ever ends the loop (and one that came while
 * kapctl was reading is looked for after each round: under a flood of
 * events ppoll() finds data at once and returns without taking it, so it
 * would never be delivered); the instance is removed on
 * the way out (the per-CPU files closed first: an instance with an open
 * file cannot be removed).  Only SIGKILL leaves it behind (rmdir it by
 * hand).
 *
 * Filters (--port, --policy, --cgroup, --netns, --family) apply in kapctl:
 * the events carry addresses as sockaddr arrays, which tracefs filters
 * cannot take apart.  --policy, --netns and --family are also set as the
 * events' tracefs filters when the kernel takes them, so that a busy host
 * fills the buffer with fewer events nobody asked for.
 *
 * Events the ring buffer dropped: a sub-buffer says how many events were
 * lost before it (or that some were, when it had no room for the count:
 * then the CPU's "overrun" statistic tells how many); kapctl reports those
 * where they were, and at the end any further loss that the per-CPU
 * "overrun" and "dropped events" statistics show.
 *
 * Times: the instance uses the "boot" trace clock (CLOCK_BOOTTIME), which
 * kapctl turns into wall-clock time.  --file replays a saved trace (the
 * "trace" file or trace_pipe's output) with its own timestamps: the one
 * place where kapctl reads the events' text form.  Both paths fill the
 * same struct kap_watch_event and print it with the same code.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event-parse.h>
#include <kbuffer.h>
#include <tracefs.h>

#include "kapctl.h"

enum {
	KAP_OPT_PORT = 256, KAP_OPT_POLICY, KAP_OPT_CGROUP, KAP_OPT_EVENT,
	KAP_OPT_COUNT, KAP_OPT_DURATION, KAP_OPT_FILE, KAP_OPT_NETNS, KAP_OPT_FAMILY,
};

const struct kap_opt kap_watch_opts[] = {
	{ "port", "PORT", KAP_OPT_PORT,
	  "only connections with this local or remote port (range, service name)" },
	{ "policy", "NAME", KAP_OPT_POLICY, "only connections this policy governs ('-': none)" },
	{ "cgroup", "ID|PATH", KAP_OPT_CGROUP, "only connections of this cgroup or below it" },
	{ "netns", "NAME|PATH|INODE", KAP_OPT_NETNS, "only connections of this network namespace" },
	{ "family", "4|6", KAP_OPT_FAMILY, "only IPv4 (IPv4-mapped included) or IPv6 connections" },
	{ "event", "KIND", KAP_OPT_EVENT, "only this kind of event (repeatable)" },
	{ "count", "N", KAP_OPT_COUNT, "stop after N events" },
	{ "duration", "DURATION", KAP_OPT_DURATION, "stop after DURATION (90, 5m, 1h30m)" },
	{ "file", "FILE", KAP_OPT_FILE, "read a saved trace instead of the kernel ('-': stdin)" },
	{ NULL }
};

static const char *const kap_event_kinds[] = {
	"policy_applied", "probe_sent", "probe_answered", "probe_deferred",
	"peer_reset", "icmp_error", "timeout", "idle_death",
};
#define KAP_NR_KINDS	ARRAY_SIZE(kap_event_kinds)

#define KAP_TRACE_SYSTEM	"kapolicy"

struct kap_watch {
	bool kinds[KAP_NR_KINDS];
	bool any_kind;			/* --event given */
	bool port_filter;
	unsigned int port_lo, port_hi;
	const char *policy;
	bool cgroup_filter;
	uint64_t cgroup;
	uint64_t netns;			/* inode; 0: any */
	int family;			/* 4 or 6; 0: any */
	struct kap_cgtree tree;
	time_t tree_time;
	uint64_t count;			/* 0: no limit */
	uint64_t printed;
	uint64_t lost;
	bool wall;			/* timestamps are CLOCK_BOOTTIME */
	double boot_to_wall;
	bool out_failed;
};

/* ---- one event, from either source ------------------------------------- */

#define KAP_MAX_FIELDS	32
#define KAP_EV_TEXT	2048

enum kap_ftype {
	KAP_FT_STR,		/* text only */
	KAP_FT_UINT,		/* u */
	KAP_FT_INT,		/* s */
	KAP_FT_ADDR,		/* "addr:port" or "[addr]:port": addr, port in u */
};

struct kap_field {
	const char *key;
	const char *text;	/* as the event's text form shows it */
	enum kap_ftype type;
	uint64_t u;
	int64_t s;
	const char *addr;	/* KAP_FT_ADDR: without brackets and port */
};

/*
 * One kapolicy event: its name, time (s, of the trace clock) and fields
 * in the order the event's text form has them.  The live path fills it
 * from the binary record, --file from a line of text.
 */
struct kap_watch_event {
	const char *name;
	double ts;
	struct kap_field f[KAP_MAX_FIELDS];
	int n;
	char buf[KAP_EV_TEXT];	/* texts the fields point to */
	size_t used;
};

static void kap_ev_init(struct kap_watch_event *ev, const char *name, double ts)
{
	ev->name = name;
	ev->ts = ts;
	ev->n = 0;
	ev->used = 0;
}

/* A copy of the formatted text in ev->buf; "" when the buffer is full. */
static const char *kap_ev_printf(struct kap_watch_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *kap_ev_printf(struct kap_watch_event *ev, const char *fmt, ...)
{
	char *p = ev->buf + ev->used;
	size_t left = sizeof(ev->buf) - ev->used;
	va_list ap;
	int len;

	if (left < 1)
		return "";
	va_start(ap, fmt);
	len = vsnprintf(p, left, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= left) {
		*p = '\0';
		ev->used = sizeof(ev->buf) - 1;
		return p;
	}
	ev->used += len + 1;
	return p;
}

static struct kap_field *kap_ev_add(struct kap_watch_event *ev, const char *key,
				    enum kap_ftype type, const char *text)
{
	struct kap_field *f;

	if (ev->n >= KAP_MAX_FIELDS)
		return NULL;
	f = &ev->f[ev->n++];
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->type = type;
	f->text = text;
	return f;
}

static const struct kap_field *kap_ev_field(const struct kap_watch_event *ev, const char *key)
{
	int i;

	for (i = 0; i < ev->n; i++)
		if (!strcmp(ev->f[i].key, key))
			return &ev->f[i];
	return NULL;
}

static const char *kap_ev_text(const struct kap_watch_event *ev, const char *key)
{
	const struct kap_field *f = kap_ev_field(ev, key);

	return f ? f->text : NULL;
}

/* A number field's value; false if there is none. */
static bool kap_ev_u64(const struct kap_watch_event *ev, const char *key, uint64_t *v)
{
	const struct kap_field *f = kap_ev_field(ev, key);

	if (!f)
		return false;
	switch (f->type) {
	case KAP_FT_UINT:
		*v = f->u;
		return true;
	case KAP_FT_INT:
		*v = (uint64_t)f->s;
		return true;
	default:
		return false;
	}
}

/* The port of an address field; 0 if none. */
static unsigned int kap_ev_port(const struct kap_watch_event *ev, const char *key)
{
	const struct kap_field *f = kap_ev_field(ev, key);

	return f && f->type == KAP_FT_ADDR ? (unsigned int)f->u : 0;
}

/* an optional '-', then decimal digits only */
static bool kap_is_number(const char *s)
{
	s += *s == '-';
	return *s && !s[strspn(s, "0123456789")];
}

/* ---- a line of trace text (--file) ------------------------------------- */

static bool kap_is_ts(const char *tok)
{
	size_t len = strlen(tok), i;
	bool dot = false;

	if (len < 3 || tok[len - 1] != ':')
		return false;
	for (i = 0; i + 1 < len; i++) {
		if (tok[i] == '.' && !dot)
			dot = true;
		else if (tok[i] < '0' || tok[i] > '9')
			return false;
	}
	return dot;
}

/* The port of "addr:port" or "[addr]:port"; 0 if none. */
static unsigned int kap_addr_port(const char *a, char *addr, size_t len)
{
	const char *colon = a ? strrchr(a, ':') : NULL;
	size_t alen;

	if (!colon) {
		if (addr)
			snprintf(addr, len, "%s", a ? a : "");
		return 0;
	}
	if (addr) {
		alen = colon - a;
		if (a[0] == '[' && alen >= 2 && a[alen - 1] == ']') {
			a++;
			alen -= 2;
		}
		snprintf(addr, len, "%.*s", (int)alen, a);
	}
	return strtoul(colon + 1, NULL, 10);
}

/*
 * "  COMM-PID  [CPU] FLAGS  TS: EVENT: key=value ..." (the task name may
 * contain spaces; what follows the timestamp does not).  Modifies line;
 * ev points into it.  The values' types are what the text shows: src and
 * dst are addresses, digits are numbers, the rest is text.
 */
static bool kap_parse_event(char *line, struct kap_watch_event *ev)
{
	char *tok[256], *save = NULL, *t;
	int n = 0, i, j;

	for (t = strtok_r(line, " \t", &save); t && n < 256; t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	for (i = 0; i + 1 < n; i++) {
		size_t len = strlen(tok[i + 1]);

		if (kap_is_ts(tok[i]) && len > 1 && tok[i + 1][len - 1] == ':')
			break;
	}
	if (i + 1 >= n)
		return false;
	tok[i + 1][strlen(tok[i + 1]) - 1] = '\0';
	kap_ev_init(ev, tok[i + 1], strtod(tok[i], NULL));
	for (j = i + 2; j < n; j++) {
		char *eq = strchr(tok[j], '='), *v;
		struct kap_field *f;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(tok[j], "src") || !strcmp(tok[j], "dst")) {
			char addr[128];

			f = kap_ev_add(ev, tok[j], KAP_FT_ADDR, v);
			if (!f)
				break;
			f->u = kap_addr_port(v, addr, sizeof(addr));
			f->addr = kap_ev_printf(ev, "%s", addr);
		} else if (strcmp(tok[j], "policy") && kap_is_number(v)) {
			f = kap_ev_add(ev, tok[j], v[0] == '-' ? KAP_FT_INT : KAP_FT_UINT, v);
			if (!f)
				break;
			if (v[0] == '-')
				f->s = strtoll(v, NULL, 10);
			else
				f->u = strtoull(v, NULL, 10);
		} else if (!kap_ev_add(ev, tok[j], KAP_FT_STR, v)) {
			break;
		}
	}
	return true;
}

/* ---- filters and output ------------------------------------------------- */

static int kap_kind_index(const char *name)
{
	size_t i;

	for (i = 0; i < KAP_NR_KINDS; i++)
		if (!strcmp(kap_event_kinds[i], name))
			return i;
	return -1;
}

static bool kap_event_wanted(struct kap_watch *w, const struct kap_watch_event *ev)
{
	int k = kap_kind_index(ev->name);
	uint64_t v;

	if (k < 0 && !kap_ev_field(ev, "family"))
		return false;	/* not a kapolicy event */
	if (w->any_kind && (k < 0 || !w->kinds[k]))
		return false;
	if (w->port_filter) {
		unsigned int sp = kap_ev_port(ev, "src");
		unsigned int dp = kap_ev_port(ev, "dst");

		if (!(sp >= w->port_lo && sp <= w->port_hi) &&
		    !(dp >= w->port_lo && dp <= w->port_hi))
			return false;
	}
	if (w->policy) {
		const char *p = kap_ev_text(ev, "policy");

		if (!p || strcmp(p, w->policy))
			return false;
	}
	if (w->netns && (!kap_ev_u64(ev, "netns", &v) || v != w->netns))
		return false;
	if (w->family && (!kap_ev_u64(ev, "family", &v) || v != (uint64_t)w->family))
		return false;
	if (w->cgroup_filter) {
		int under;

		if (!kap_ev_u64(ev, "cgroup", &v))
			return false;
		under = kap_cgroup_under(&w->tree, v, w->cgroup);
		if (under < 0 && time(NULL) != w->tree_time) {
			/* a cgroup newer than our copy of the tree */
			kap_cgtree_load(&w->tree);
			w->tree_time = time(NULL);
			under = kap_cgroup_under(&w->tree, v, w->cgroup);
		}
		if (under != 1)
			return false;
	}
	return true;
}

static void kap_time_text(const struct kap_watch *w, double ts, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	double wall;

	if (!w->wall) {
		snprintf(buf, len, "%.6f", ts);
		return;
	}
	wall = ts + w->boot_to_wall;
	sec = (time_t)wall;
	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)((wall - sec) * 1e6));
}

static void kap_json_time(struct json_object *o, const struct kap_watch *w, double ts)
{
	char num[48];

	snprintf(num, sizeof(num), "%.6f", ts);
	json_object_object_add(o, "ts", json_object_new_double_s(ts, num));
	if (w->wall) {
		snprintf(num, sizeof(num), "%.6f", ts + w->boot_to_wall);
		json_object_object_add(o, "time", json_object_new_double_s(ts + w->boot_to_wall,
									   num));
	}
}

/*
 * A field's JSON value: numbers as numbers, "policy=-" as null, the rest
 * as strings (a text that is all digits is a number, as it always was).
 */
static struct json_object *kap_field_json(const struct kap_field *f)
{
	switch (f->type) {
	case KAP_FT_UINT:
		return kap_json_u64(f->u);
	case KAP_FT_INT:
		return f->s < 0 ? json_object_new_int64(f->s) : kap_json_u64(f->s);
	case KAP_FT_ADDR:
		return json_object_new_string(f->text);
	case KAP_FT_STR:
		break;
	}
	/* a policy's name is a name, even "123"; "-" is none */
	if (!strcmp(f->key, "policy"))
		return strcmp(f->text, "-") ? json_object_new_string(f->text) : NULL;
	if (kap_is_number(f->text))
		return f->text[0] == '-' ? json_object_new_int64(strtoll(f->text, NULL, 10)) :
		       kap_json_u64(strtoull(f->text, NULL, 10));
	return json_object_new_string(f->text);
}

static void kap_print_event(struct kap_watch *w, const struct kap_watch_event *ev)
{
	char tbuf[48];
	int i;

	if (kap_json) {
		struct json_object *o = json_object_new_object();

		kap_json_time(o, w, ev->ts);
		json_object_object_add(o, "event", json_object_new_string(ev->name));
		for (i = 0; i < ev->n; i++) {
			const struct kap_field *f = &ev->f[i];

			json_object_object_add(o, f->key, kap_field_json(f));
			if (f->type == KAP_FT_ADDR) {
				char key[64];

				snprintf(key, sizeof(key), "%s_addr", f->key);
				json_object_object_add(o, key, json_object_new_string(f->addr ?: ""));
				snprintf(key, sizeof(key), "%s_port", f->key);
				json_object_object_add(o, key, json_object_new_int((int)f->u));
			}
		}
		kap_json_line(o);
		json_object_put(o);
	} else {
		kap_time_text(w, ev->ts, tbuf, sizeof(tbuf));
		printf("%s %-14s %s -> %s", tbuf, ev->name,
		       kap_ev_text(ev, "src") ?: "?", kap_ev_text(ev, "dst") ?: "?");
		for (i = 0; i < ev->n; i++) {
			const char *k = ev->f[i].key;

			if (strcmp(k, "family") && strcmp(k, "src") && strcmp(k, "dst"))
				printf(" %s=%s", k, ev->f[i].text);
		}
		printf("\n");
		fflush(stdout);
	}
	if (ferror(stdout))
		w->out_failed = true;
	w->printed++;
}

/* cpu < 0: not known (the end-of-run statistics) */
static void kap_print_lost(struct kap_watch *w, int cpu, uint64_t count, double ts)
{
	char tbuf[48];

	w->lost += count;
	if (kap_json) {
		struct json_object *o = json_object_new_object();

		if (ts >= 0)
			kap_json_time(o, w, ts);
		json_object_object_add(o, "event", json_object_new_string("lost"));
		json_object_object_add(o, "cpu", cpu >= 0 ? json_object_new_int(cpu) : NULL);
		json_object_object_add(o, "count", kap_json_u64(count));
		kap_json_line(o);
		json_object_put(o);
	} else {
		if (ts >= 0) {
			kap_time_text(w, ts, tbuf, sizeof(tbuf));
			printf("%s ", tbuf);
		}
		if (cpu >= 0)
			printf("lost %" PRIu64 " events on CPU %d: the trace buffer overflowed\n",
			       count, cpu);
		else
			printf("lost %" PRIu64 " events: the trace buffer overflowed\n", count);
		fflush(stdout);
	}
	if (ferror(stdout))
		w->out_failed = true;
}

/* An event from either source; returns true when kapctl should stop. */
static bool kap_handle_event(struct kap_watch *w, const struct kap_watch_event *ev)
{
	if (!kap_event_wanted(w, ev))
		return false;
	kap_print_event(w, ev);
	return w->out_failed || (w->count && w->printed >= w->count);
}

/* One line of a saved trace; returns true when kapctl should stop. */
static bool kap_handle_line(struct kap_watch *w, char *line)
{
	struct kap_watch_event ev;
	unsigned long long lost;
	int cpu;

	if (line[0] == '#' || !line[0])
		return false;
	if (sscanf(line, "CPU:%d [LOST %llu EVENTS]", &cpu, &lost) == 2) {
		kap_print_lost(w, cpu, lost, -1);
		return w->out_failed;
	}
	if (!kap_parse_event(line, &ev))
		return false;
	return kap_handle_event(w, &ev);
}

static int kap_watch_file(struct kap_watch *w, const char *file)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int ret = KAP_EXIT_OK;

	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f)
		return kap_fail("cannot open %s: %s", file, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (kap_handle_line(w, line))
			break;
	}
	if (ferror(f))
		ret = kap_fail("cannot read %s: %s", file, strerror(errno));
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

/* ---- the binary records (live) ------------------------------------------ */

/*
 * An IPv6 address as the kernel's %pI6c prints it (lib/vsprintf.c,
 * ip6_compressed_string): the first longest run of two or more zero
 * words as "::", and an IPv4-mapped or ISATAP address's last 32 bits in
 * dotted decimal.  (inet_ntop differs on IPv4-compatible and ISATAP
 * addresses.)
 */
static void kap_ip6_text(const uint8_t *a, char *buf, size_t len)
{
	bool v4 = false, colon = false;
	int range = 8, longest = 1, at = -1, i, j;
	size_t n = 0;

	if ((!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) ||
	    ((a[8] | 0x02) == 0x02 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe))
		v4 = true;
	if (v4)
		range = 6;
	for (i = 0; i < range; i++) {
		for (j = i; j < range && !a[2 * j] && !a[2 * j + 1]; j++)
			;
		if (j - i > longest) {
			longest = j - i;
			at = i;
		}
	}
	buf[0] = '\0';
	for (i = 0; i < range && n < len; i++) {
		if (i == at) {
			n += snprintf(buf + n, len - n, "%s:", colon || i == 0 ? ":" : "");
			colon = false;
			i += longest - 1;
			continue;
		}
		n += snprintf(buf + n, len - n, "%s%x", colon ? ":" : "", a[2 * i] << 8 | a[2 * i + 1]);
		colon = true;
	}
	if (v4 && n < len)
		snprintf(buf + n, len - n, "%s%u.%u.%u.%u", colon ? ":" : "", a[12], a[13], a[14],
			 a[15]);
}

/*
 * A struct sockaddr_in or sockaddr_in6 as the kernel's %pISpc prints it:
 * "addr:port", "[addr]:port", "(einval)" for another family.  The family
 * is in host order, the port in network order.
 */
static void kap_sockaddr_field(struct kap_watch_event *ev, const char *key, const uint8_t *p,
			       unsigned int size)
{
	struct kap_field *f;
	char addr[64];
	uint16_t family = AF_UNSPEC;
	unsigned int port = 0;

	if (size >= 2)
		memcpy(&family, p, sizeof(family));
	if (family == AF_INET && size >= 8) {
		port = p[2] << 8 | p[3];
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u", p[4], p[5], p[6], p[7]);
		f = kap_ev_add(ev, key, KAP_FT_ADDR, kap_ev_printf(ev, "%s:%u", addr, port));
	} else if (family == AF_INET6 && size >= 24) {
		port = p[2] << 8 | p[3];
		kap_ip6_text(p + 8, addr, sizeof(addr));
		f = kap_ev_add(ev, key, KAP_FT_ADDR, kap_ev_printf(ev, "[%s]:%u", addr, port));
	} else {
		snprintf(addr, sizeof(addr), "(einval)");
		f = kap_ev_add(ev, key, KAP_FT_ADDR, "(einval)");
	}
	if (!f)
		return;
	f->u = port;
	f->addr = kap_ev_printf(ev, "%s", addr);
}

/* The __print_symbolic() or __print_flags() of a field in an event's print format. */
static const struct tep_print_arg *kap_symbols(const struct tep_print_arg *a, const char *field,
					       int depth)
{
	const struct tep_print_arg *f = NULL, *r = NULL;

	if (!a || depth > 8)
		return NULL;
	switch (a->type) {
	case TEP_PRINT_SYMBOL:
		f = a->symbol.field;
		break;
	case TEP_PRINT_FLAGS:
		f = a->flags.field;
		break;
	case TEP_PRINT_OP:
		r = kap_symbols(a->op.left, field, depth + 1);
		return r ?: kap_symbols(a->op.right, field, depth + 1);
	case TEP_PRINT_TYPE:
		return kap_symbols(a->typecast.item, field, depth + 1);
	default:
		return NULL;
	}
	while (f && f->type == TEP_PRINT_TYPE)
		f = f->typecast.item;
	if (f && f->type == TEP_PRINT_FIELD && f->field.name && !strcmp(f->field.name, field))
		return a;
	return NULL;
}

/*
 * A symbol's or flag's value as the format has it: a number (the kernel
 * replaces the enums of TRACE_DEFINE_ENUM); false for a name it left.
 */
static bool kap_symbol_value(const struct tep_print_flag_sym *s, unsigned long long *v)
{
	char *end;

	if (!s->value || !s->str)
		return false;
	errno = 0;
	*v = strtoull(s->value, &end, 0);
	return !errno && end != s->value && !*end;
}

/* val by the names of a symbolic or flags field, as the kernel prints it. */
static const char *kap_symbol_text(struct kap_watch_event *ev, const struct tep_print_arg *a,
				   unsigned long long val)
{
	const struct tep_print_flag_sym *s;
	unsigned long long mask;
	char text[256];
	size_t n = 0;
	bool first = true;

	if (a->type == TEP_PRINT_SYMBOL) {
		for (s = a->symbol.symbols; s; s = s->next)
			if (kap_symbol_value(s, &mask) && mask == val)
				return kap_ev_printf(ev, "%s", s->str);
		return kap_ev_printf(ev, "0x%llx", val);
	}
	/* flags: the names of the set ones, in order, then what is left in hex */
	text[0] = '\0';
	for (s = a->flags.flags; s && val && n < sizeof(text); s = s->next) {
		if (!kap_symbol_value(s, &mask) || !mask || (val & mask) != mask)
			continue;
		val &= ~mask;
		n += snprintf(text + n, sizeof(text) - n, "%s%s", first ? "" : a->flags.delim ?: "",
			      s->str);
		first = false;
	}
	if (val && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, "%s0x%llx", first ? "" : a->flags.delim ?: "",
			 val);
	return kap_ev_printf(ev, "%s", text);
}

/*
 * A record of a kapolicy event into ev: its fields in the format's order
 * (which is the order of the text form), typed by the format: integers,
 * char arrays as strings, src and dst as socket addresses, symbolic and
 * flags fields by name.  by_user_timeout is the text form's
 * "by=user_timeout|probes".  Returns false if the record is too short.
 */
static bool kap_event_from_record(struct tep_event *te, const uint8_t *data, int size,
				  double ts, struct kap_watch_event *ev)
{
	struct tep_format_field *f;

	kap_ev_init(ev, te->name, ts);
	for (f = te->format.fields; f; f = f->next) {
		const struct tep_print_arg *sym, *a;
		unsigned long long val;
		struct kap_field *kf;

		if (f->offset < 0 || f->size < 0 || f->offset + f->size > size)
			return false;
		if (f->flags & TEP_FIELD_IS_DYNAMIC)
			continue;	/* none in kapolicy's events */
		if (f->flags & TEP_FIELD_IS_ARRAY) {
			const char *p = (const char *)data + f->offset;

			if (!strcmp(f->name, "src") || !strcmp(f->name, "dst"))
				kap_sockaddr_field(ev, f->name, data + f->offset, f->size);
			else if ((f->flags & TEP_FIELD_IS_STRING) || strstr(f->type, "char"))
				kap_ev_add(ev, f->name, KAP_FT_STR,
					   kap_ev_printf(ev, "%.*s", (int)strnlen(p, f->size), p));
			continue;
		}
		if (tep_read_number_field(f, data, &val))
			continue;
		if (!strcmp(f->name, "by_user_timeout")) {
			kap_ev_add(ev, "by", KAP_FT_STR, val ? "user_timeout" : "probes");
			continue;
		}
		sym = NULL;
		for (a = te->print_fmt.args; a && !sym; a = a->next)
			sym = kap_symbols(a, f->name, 0);
		if (sym) {
			kap_ev_add(ev, f->name, KAP_FT_STR, kap_symbol_text(ev, sym, val));
		} else if (f->flags & TEP_FIELD_IS_SIGNED) {
			int64_t s;

			switch (f->size) {
			case 1:
				s = (int8_t)val;
				break;
			case 2:
				s = (int16_t)val;
				break;
			case 4:
				s = (int32_t)val;
				break;
			default:
				s = (int64_t)val;
				break;
			}
			kf = kap_ev_add(ev, f->name, KAP_FT_INT, kap_ev_printf(ev, "%" PRId64, s));
			if (kf)
				kf->s = s;
		} else {
			kf = kap_ev_add(ev, f->name, KAP_FT_UINT, kap_ev_printf(ev, "%llu", val));
			if (kf)
				kf->u = val;
		}
	}
	return true;
}

/* The ns of the trace clock as the text form's seconds (rounded to the us). */
static double kap_ns_to_ts(unsigned long long ns)
{
	return (double)((ns + 500) / 1000) / 1e6;
}

/* ---- the tracefs instance and its per-CPU buffers (live) --------------- */

#define KAP_ROUND_SUBBUFS	16	/* read per CPU before the merge */
#define KAP_SUBBUF_HEADER	16	/* time stamp and commit: less is no data */

struct kap_cpu {
	int cpu;
	int fd;				/* per_cpu/cpuN/trace_pipe_raw */
	struct tracefs_cpu *tcpu;
	struct kbuffer *kbuf;
	char *subbufs;			/* KAP_ROUND_SUBBUFS sub-buffers */
	int nsub, cur;			/* read in this round; the one in kbuf */
	void *data;			/* its next event; NULL: none this round */
	unsigned long long ts;		/* of data, ns */
	int missed;			/* before data: n, -1 (unknown), 0 */
	uint64_t lost;			/* losses reported for this CPU */
};

/* The instance and what reads it, for the cleanup. */
static struct kap_live {
	struct tracefs_instance *inst;
	char dir[600];			/* its path, for messages */
	struct tep_handle *tep;
	struct kap_cpu *cpus;
	int ncpus;
	int subbuf_size;
	struct pollfd *pfds;
} kap_live;

static volatile sig_atomic_t kap_stop;

static void kap_on_signal(int sig)
{
	(void)sig;
	kap_stop = 1;
}

static void kap_cpus_close(void)
{
	int i;

	for (i = 0; i < kap_live.ncpus; i++) {
		struct kap_cpu *c = &kap_live.cpus[i];

		if (c->tcpu)
			tracefs_cpu_close(c->tcpu);	/* closes c->fd */
		else if (c->fd >= 0)
			close(c->fd);
		if (c->kbuf)
			kbuffer_free(c->kbuf);
		free(c->subbufs);
	}
	free(kap_live.cpus);
	free(kap_live.pfds);
	kap_live.cpus = NULL;
	kap_live.pfds = NULL;
	kap_live.ncpus = 0;
}

static void kap_instance_remove(void)
{
	int i;

	kap_cpus_close();
	if (kap_live.tep) {
		tep_free(kap_live.tep);
		kap_live.tep = NULL;
	}
	if (!kap_live.inst)
		return;
	/* The kernel may still hold the instance for a moment: retry. */
	for (i = 0; i < 100; i++) {
		if (!tracefs_instance_destroy(kap_live.inst) || errno == ENOENT)
			break;
		if (errno != EBUSY) {
			fprintf(stderr, "kapctl: cannot remove the tracefs instance %s: %s\n",
				kap_live.dir, strerror(errno));
			break;
		}
		usleep(20000);
	}
	tracefs_instance_free(kap_live.inst);
	kap_live.inst = NULL;
}

/* The tracefs mount: KAPCTL_TRACEFS, /sys/kernel/tracing, or as mounted. */
static int kap_tracefs(char *dir, size_t len)
{
	static const char *const guesses[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	const char *env = getenv("KAPCTL_TRACEFS");
	char path[600], line[1024], mnt[256], type[64];
	struct stat st;
	size_t i;
	FILE *f;

	if (env && *env) {
		snprintf(dir, len, "%s", env);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(guesses); i++) {
		snprintf(path, sizeof(path), "%s/instances", guesses[i]);
		if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
			snprintf(dir, len, "%s", guesses[i]);
			return 0;
		}
	}
	f = fopen("/proc/mounts", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %255s %63s", mnt, type) == 2 && !strcmp(type, "tracefs")) {
			snprintf(dir, len, "%s", mnt);
			fclose(f);
			return 0;
		}
	}
	if (f)
		fclose(f);
	return -ENOENT;
}

/*
 * In-kernel filters for what tracefs can compare (--policy, --netns,
 * --family), so that the buffer holds fewer unwanted events.  Best effort:
 * kapctl filters every event itself anyway.
 */
static void kap_kernel_filter(const struct kap_watch *w)
{
	char filter[256];
	size_t n = 0, i;

	filter[0] = '\0';
	if (w->family)
		n += snprintf(filter + n, sizeof(filter) - n, "family == %d", w->family);
	if (w->netns && n < sizeof(filter))
		n += snprintf(filter + n, sizeof(filter) - n, "%snetns == %" PRIu64,
			      n ? " && " : "", w->netns);
	if (w->policy && n < sizeof(filter))	/* a name: [A-Za-z0-9_-] */
		n += snprintf(filter + n, sizeof(filter) - n, "%spolicy == \"%s\"",
			      n ? " && " : "", w->policy);
	if (!n || n >= sizeof(filter))
		return;
	for (i = 0; i < KAP_NR_KINDS; i++) {
		if (w->any_kind && !w->kinds[i])
			continue;
		if (!tep_find_event_by_name(kap_live.tep, KAP_TRACE_SYSTEM, kap_event_kinds[i]))
			continue;
		/* refused (an older kernel): kapctl's own filter does it all */
		tracefs_event_file_write(kap_live.inst, KAP_TRACE_SYSTEM, kap_event_kinds[i],
					 "filter", filter);
	}
}

/*
 * The formats of the kapolicy events (all of them: a newer module's kinds
 * print too) and of the sub-buffer header, parsed by libtraceevent.
 * (tracefs_local_events_system() would also parse /proc/kallsyms, which
 * kapctl does not need, in a quarter of a second.)  NULL if none parsed.
 */
static struct tep_handle *kap_load_formats(const char *tracefs)
{
	struct tep_handle *tep = tep_alloc();
	char **events, *buf;
	bool any = false;
	int len = 0, i;

	if (!tep)
		return NULL;
	buf = tracefs_instance_file_read(NULL, "events/header_page", &len);
	if (!buf || tep_parse_header_page(tep, buf, len, sizeof(long))) {
		free(buf);
		tep_free(tep);
		return NULL;
	}
	free(buf);
	events = tracefs_system_events(tracefs, KAP_TRACE_SYSTEM);
	for (i = 0; events && events[i]; i++) {
		buf = tracefs_event_file_read(NULL, KAP_TRACE_SYSTEM, events[i], "format", &len);
		if (buf && len > 0 && !tep_parse_event(tep, buf, len, KAP_TRACE_SYSTEM))
			any = true;
		free(buf);
	}
	tracefs_list_free(events);
	if (!any) {
		tep_free(tep);
		return NULL;
	}
	return tep;
}

/* Opens the instance's per-CPU raw buffers.  Reports errors. */
static int kap_cpus_open(void)
{
	char *dir = tracefs_instance_get_file(kap_live.inst, "per_cpu");
	enum kbuffer_long_size lsize;
	struct dirent *de;
	DIR *d;
	int hp, i;

	d = dir ? opendir(dir) : NULL;
	if (!d) {
		kap_err("cannot read %s/per_cpu: %s", kap_live.dir, strerror(errno));
		tracefs_put_tracing_file(dir);
		return -1;
	}
	tracefs_put_tracing_file(dir);
	hp = tep_get_header_page_size(kap_live.tep);
	lsize = hp == 4 ? KBUFFER_LSIZE_4 : hp == 8 ? KBUFFER_LSIZE_8 : KBUFFER_LSIZE_SAME_AS_HOST;
	while ((de = readdir(d))) {
		struct kap_cpu *c, *more;
		char file[64], end;
		int cpu;

		if (sscanf(de->d_name, "cpu%d%c", &cpu, &end) != 1 || cpu < 0)
			continue;
		more = realloc(kap_live.cpus, (kap_live.ncpus + 1) * sizeof(*more));
		if (!more)
			goto nomem;
		kap_live.cpus = more;
		c = &kap_live.cpus[kap_live.ncpus++];
		memset(c, 0, sizeof(*c));
		c->cpu = cpu;
		snprintf(file, sizeof(file), "per_cpu/cpu%d/trace_pipe_raw", cpu);
		c->fd = tracefs_instance_file_open(kap_live.inst, file,
						   O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (c->fd < 0) {
			kap_err("cannot open %s/%s: %s", kap_live.dir, file, strerror(errno));
			closedir(d);
			return -1;
		}
		c->tcpu = tracefs_cpu_alloc_fd(c->fd, kap_live.subbuf_size, true);
		c->kbuf = kbuffer_alloc(lsize, KBUFFER_ENDIAN_SAME_AS_HOST);
		c->subbufs = malloc((size_t)KAP_ROUND_SUBBUFS * kap_live.subbuf_size);
		if (!c->tcpu || !c->kbuf || !c->subbufs)
			goto nomem;
	}
	closedir(d);
	if (!kap_live.ncpus) {
		kap_err("%s/per_cpu has no CPU buffers", kap_live.dir);
		return -1;
	}
	kap_live.pfds = calloc(kap_live.ncpus, sizeof(*kap_live.pfds));
	if (!kap_live.pfds) {
		kap_err("out of memory");
		return -1;
	}
	for (i = 0; i < kap_live.ncpus; i++) {
		kap_live.pfds[i].fd = kap_live.cpus[i].fd;
		kap_live.pfds[i].events = POLLIN;
	}
	return 0;
nomem:
	closedir(d);
	kap_err("out of memory");
	return -1;
}

/*
 * Creates and sets up the instance, reads the events' formats, opens the
 * per-CPU buffers.  Reports errors; kap_instance_remove() undoes it.
 */
static int kap_instance_create(const char *tracefs, struct kap_watch *w)
{
	char path[700], name[64], tdir[512];
	struct timespec rt, bt;
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "%s/instances", tracefs);
	if (access(path, W_OK)) {
		if (errno == EACCES || errno == EPERM)
			kap_err("watch needs root: it creates a tracefs instance in %s", path);
		else
			kap_err("cannot use %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/events/" KAP_TRACE_SYSTEM, tracefs);
	if (access(path, F_OK)) {
		kap_err("%s is missing: the kapolicy trace events are not available (is the module loaded?)",
			path);
		return -1;
	}
	for (i = 0; i < KAP_NR_KINDS; i++) {
		if (!w->kinds[i])
			continue;
		snprintf(path, sizeof(path), "%s/events/" KAP_TRACE_SYSTEM "/%s", tracefs,
			 kap_event_kinds[i]);
		if (access(path, F_OK)) {
			kap_err("event: this kapolicy module has no '%s' event (%s is missing)",
				kap_event_kinds[i], path);
			return -1;
		}
	}

	snprintf(tdir, sizeof(tdir), "%s", tracefs);
	if (tracefs_set_tracing_dir(tdir)) {
		kap_err("out of memory");
		return -1;
	}
	snprintf(name, sizeof(name), "kapctl-%d", (int)getpid());
	snprintf(kap_live.dir, sizeof(kap_live.dir), "%s/instances/%s", tracefs, name);
	errno = 0;
	kap_live.inst = tracefs_instance_create(name);
	if (kap_live.inst && !tracefs_instance_is_new(kap_live.inst)) {
		/* left by an earlier kapctl that had our pid and was killed */
		tracefs_instance_destroy(kap_live.inst);
		tracefs_instance_free(kap_live.inst);
		errno = 0;
		kap_live.inst = tracefs_instance_create(name);
		if (kap_live.inst && !tracefs_instance_is_new(kap_live.inst)) {
			tracefs_instance_free(kap_live.inst);
			kap_live.inst = NULL;
			errno = EEXIST;
		}
	}
	if (!kap_live.inst) {
		kap_err("cannot create the tracefs instance %s: %s", kap_live.dir,
			strerror(errno ?: EIO));
		return -1;
	}

	/* Boot-time stamps, so that kapctl can print wall-clock times. */
	if (tracefs_instance_file_write(kap_live.inst, "trace_clock", "boot") > 0 &&
	    !clock_gettime(CLOCK_REALTIME, &rt) && !clock_gettime(CLOCK_BOOTTIME, &bt)) {
		w->wall = true;
		w->boot_to_wall = (rt.tv_sec - bt.tv_sec) + (rt.tv_nsec - bt.tv_nsec) / 1e9;
	}
	/* poll() as soon as there is an event (kernels without it: the timeout) */
	tracefs_instance_file_write(kap_live.inst, "buffer_percent", "0");

	errno = 0;
	if (!w->any_kind) {
		ret = tracefs_event_enable(kap_live.inst, KAP_TRACE_SYSTEM, NULL);
	} else {
		for (i = 0, ret = 0; i < KAP_NR_KINDS && !ret; i++)
			if (w->kinds[i])
				ret = tracefs_event_enable(kap_live.inst, KAP_TRACE_SYSTEM,
							   kap_event_kinds[i]);
	}
	if (ret) {
		kap_err("cannot enable the kapolicy events in %s: %s", kap_live.dir,
			errno ? strerror(errno) : "no such events in the instance");
		return -1;
	}

	kap_live.tep = kap_load_formats(tracefs);
	if (!kap_live.tep) {
		kap_err("cannot read the formats of the kapolicy events in %s/events/" KAP_TRACE_SYSTEM,
			tracefs);
		return -1;
	}
	kap_live.subbuf_size = tep_get_sub_buffer_size(kap_live.tep);
	if (kap_live.subbuf_size <= 0)
		kap_live.subbuf_size = getpagesize();
	kap_kernel_filter(w);
	return kap_cpus_open();
}

/* Sum of a per-CPU statistic ("overrun:", "dropped events:"); -1: unreadable. */
static int64_t kap_cpu_stat(int cpu, const char *key)
{
	char file[64], *text, *line, *save = NULL;
	size_t klen = strlen(key);
	int64_t v = -1;

	snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", cpu);
	text = tracefs_instance_file_read(kap_live.inst, file, NULL);
	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, key, klen))
			v = strtoll(line + klen, NULL, 10);
	free(text);
	return v;
}

/*
 * Events lost before c's next event: the count the sub-buffer holds,
 * or, when it had no room for it, what the CPU's overrun statistic adds
 * to what was reported already (never more than that statistic: a loss is
 * counted once).
 */
static void kap_report_missed(struct kap_watch *w, struct kap_cpu *c)
{
	int64_t overrun = kap_cpu_stat(c->cpu, "overrun:");
	uint64_t n = 0;

	if (c->missed > 0)
		n = c->missed;
	if (overrun >= 0 && (c->missed < 0 || c->lost + n > (uint64_t)overrun))
		n = (uint64_t)overrun > c->lost ? (uint64_t)overrun - c->lost : 0;
	c->missed = 0;
	if (!n)
		return;
	c->lost += n;
	kap_print_lost(w, c->cpu, n, -1);
}

/* Moves c to its next event of this round (c->data NULL: none left). */
static void kap_cpu_next(struct kap_watch *w, struct kap_cpu *c, bool first)
{
	c->data = first ? NULL : kbuffer_next_event(c->kbuf, &c->ts);
	while (!c->data && c->cur + 1 < c->nsub) {
		int missed;

		c->cur++;
		if (kbuffer_load_subbuffer(c->kbuf, c->subbufs +
					   (size_t)c->cur * kap_live.subbuf_size) < 0)
			continue;
		missed = kbuffer_missed_events(c->kbuf);
		if (missed) {
			if (c->missed)	/* a sub-buffer without events */
				kap_report_missed(w, c);
			c->missed = missed;
		}
		c->data = kbuffer_read_event(c->kbuf, &c->ts);
	}
}

/* c's current event; returns true when kapctl should stop. */
static bool kap_handle_record(struct kap_watch *w, struct kap_cpu *c)
{
	struct tep_record rec = { 0 };
	struct kap_watch_event ev;
	struct tep_event *te;
	int size = kbuffer_event_size(c->kbuf);

	if (c->missed) {
		kap_report_missed(w, c);
		if (w->out_failed)
			return true;
	}
	rec.ts = c->ts;
	rec.cpu = c->cpu;
	rec.data = c->data;
	rec.size = size;
	te = tep_find_event(kap_live.tep, tep_data_type(kap_live.tep, &rec));
	if (!te || !te->system || strcmp(te->system, KAP_TRACE_SYSTEM))
		return false;
	if (!kap_event_from_record(te, c->data, size, kap_ns_to_ts(c->ts), &ev))
		return false;
	return kap_handle_event(w, &ev);
}

/*
 * Reads what the per-CPU buffers hold (up to KAP_ROUND_SUBBUFS sub-buffers
 * each) and handles their events in time order.  Returns <0 on a read
 * error (reported), 1 when kapctl should stop, 0 otherwise; *more: a CPU
 * had more to read.
 */
static int kap_read_round(struct kap_watch *w, bool *more)
{
	int i;

	*more = false;
	for (i = 0; i < kap_live.ncpus; i++) {
		struct kap_cpu *c = &kap_live.cpus[i];

		for (c->nsub = 0; c->nsub < KAP_ROUND_SUBBUFS; c->nsub++) {
			int n = tracefs_cpu_read(c->tcpu, c->subbufs +
						 (size_t)c->nsub * kap_live.subbuf_size, true);

			if (n < 0 && errno == ENODEV) {
				/* a possible CPU that is not online: no buffer yet */
				kap_live.pfds[i].fd = -1;
				break;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				kap_err("cannot read %s/per_cpu/cpu%d/trace_pipe_raw: %s",
					kap_live.dir, c->cpu, strerror(errno));
				return -1;
			}
			if (n < KAP_SUBBUF_HEADER)
				break;
			kap_live.pfds[i].fd = c->fd;	/* (again) worth polling */
		}
		if (c->nsub == KAP_ROUND_SUBBUFS)
			*more = true;
		c->cur = -1;
		kap_cpu_next(w, c, true);
	}
	for (;;) {
		struct kap_cpu *next = NULL;

		for (i = 0; i < kap_live.ncpus; i++) {
			struct kap_cpu *c = &kap_live.cpus[i];

			if (c->data && (!next || c->ts < next->ts))
				next = c;
		}
		if (!next)
			break;
		if (kap_handle_record(w, next))
			return 1;
		kap_cpu_next(w, next, false);
	}
	/* losses in sub-buffers that had no event after them */
	for (i = 0; i < kap_live.ncpus; i++)
		if (kap_live.cpus[i].missed)
			kap_report_missed(w, &kap_live.cpus[i]);
	return w->out_failed ? 1 : 0;
}

static double kap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One of the blocked signals in set is pending.  ppoll() with data ready
 * (or a zero timeout) returns before it looks at signals and restores the
 * mask: a signal sent while kapctl reads stays pending for as long as
 * every ppoll() finds data, which under a flood of events is for ever.
 */
static bool kap_signal_waits(const sigset_t *set)
{
	sigset_t pending;
	int sig;

	if (sigpending(&pending))
		return false;
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

static int kap_watch_live(struct kap_watch *w, double duration)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = kap_on_signal };
	sigset_t block, orig;
	double end = 0;
	char tracefs[256];
	int64_t stat_lost, v;
	bool more = false;
	int ret = KAP_EXIT_OK, i;
	size_t k;

	if (kap_need_module())
		return KAP_EXIT_FAIL;
	if (kap_tracefs(tracefs, sizeof(tracefs)))
		return kap_fail("tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)");
	/* kapctl says what failed; the libraries' own messages would only repeat it */
	tracefs_set_loglevel(TEP_LOG_NONE);
	tep_set_loglevel(TEP_LOG_NONE);

	/* Signals are taken only inside ppoll(): they end the loop, nothing else. */
	sigemptyset(&block);
	for (k = 0; k < ARRAY_SIZE(sigs); k++) {
		sigaddset(&block, sigs[k]);
		sigaction(sigs[k], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, &orig);
	atexit(kap_instance_remove);

	if (kap_instance_create(tracefs, w)) {
		kap_instance_remove();
		sigprocmask(SIG_SETMASK, &orig, NULL);
		return KAP_EXIT_FAIL;
	}
	/* DURATION counts from when events flow, not from the set-up. */
	if (duration > 0)
		end = kap_now() + duration;
	while (!kap_stop) {
		struct timespec tmo = { 0, 200 * 1000000L };
		int r;

		if (end) {
			double left = end - kap_now();

			if (left <= 0)
				break;
			if (left < 0.2)
				tmo.tv_nsec = (long)(left * 1e9);
		}
		if (more)
			tmo.tv_nsec = 0;
		/*
		 * Read whether or not poll says so: on a kernel without
		 * buffer_percent, poll may wait for half a buffer; the timeout
		 * bounds the delay.
		 */
		if (ppoll(kap_live.pfds, kap_live.ncpus, &tmo, &orig) < 0 && errno != EINTR) {
			ret = kap_fail("poll on %s/per_cpu: %s", kap_live.dir, strerror(errno));
			break;
		}
		/*
		 * A CPU without a buffer (possible, not online) polls as an
		 * error at once: it is only read, each round, until it has data.
		 */
		for (i = 0; i < kap_live.ncpus; i++)
			if (kap_live.pfds[i].revents & (POLLERR | POLLNVAL))
				kap_live.pfds[i].fd = -1;
		r = kap_read_round(w, &more);
		if (r < 0)
			ret = KAP_EXIT_FAIL;
		if (r || kap_signal_waits(&block))
			break;
	}
	if (w->out_failed)
		ret = KAP_EXIT_FAIL;
	if (ret == KAP_EXIT_OK) {
		stat_lost = 0;
		for (i = 0; i < kap_live.ncpus; i++) {
			v = kap_cpu_stat(kap_live.cpus[i].cpu, "overrun:");
			if (v > 0)
				stat_lost += v;
			v = kap_cpu_stat(kap_live.cpus[i].cpu, "dropped events:");
			if (v > 0)
				stat_lost += v;
		}
		if ((uint64_t)stat_lost > w->lost)
			kap_print_lost(w, -1, stat_lost - w->lost, -1);
	}
	kap_instance_remove();
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}

int kap_cmd_watch(int argc, char **argv)
{
	struct kap_watch w = { 0 };
	const char *file = NULL;
	double duration = 0;
	char err[512];
	uint64_t v;
	int c, k;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_PORT:
			if (kap_port_filter("port", optarg, &w.port_lo, &w.port_hi, err, sizeof(err)))
				return kap_usage_err("%s", err);
			w.port_filter = true;
			break;
		case KAP_OPT_POLICY:
			if (kap_name_opt("policy", optarg, true, err, sizeof(err)))
				return kap_usage_err("%s", err);
			w.policy = optarg;
			break;
		case KAP_OPT_CGROUP:
			if (!kap_number_opt("cgroup", optarg, 1, UINT64_MAX, "", &v, err,
					    sizeof(err)))
				w.cgroup = v;
			else if (kap_resolve_cgroup(optarg, &w.cgroup, err, sizeof(err)))
				return kap_usage_err("%s", err);
			w.cgroup_filter = true;
			break;
		case KAP_OPT_NETNS:
			if (kap_resolve_netns_inode(optarg, true, &w.netns, NULL, err, sizeof(err)))
				return kap_usage_err("%s", err);
			break;
		case KAP_OPT_FAMILY:
			if (strcmp(optarg, "4") && strcmp(optarg, "6"))
				return kap_usage_err("family: '%s' is not an address family; allowed: 4 or 6",
						     optarg);
			w.family = atoi(optarg);
			break;
		case KAP_OPT_EVENT:
			k = kap_kind_index(optarg);
			if (k < 0) {
				char kinds[256];
				size_t i, n = 0;

				for (i = 0; i < KAP_NR_KINDS && n < sizeof(kinds); i++)
					n += snprintf(kinds + n, sizeof(kinds) - n, " %s",
						      kap_event_kinds[i]);
				return kap_usage_err("event: '%s' is not an event; allowed:%s",
						     optarg, kinds);
			}
			w.kinds[k] = w.any_kind = true;
			break;
		case KAP_OPT_COUNT:
			if (kap_number_opt("count", optarg, 1, UINT32_MAX, "", &w.count, err,
					   sizeof(err)))
				return kap_usage_err("%s", err);
			break;
		case KAP_OPT_DURATION:
			if (kap_duration_opt("duration", optarg, 1, 31536000, &v, err, sizeof(err)))
				return kap_usage_err("%s", err);
			duration = v;
			break;
		case KAP_OPT_FILE:
			file = optarg;
			break;
		}
	}
	if (optind < argc)
		return kap_usage_err("watch: unexpected argument '%s'", argv[optind]);
	/* live: the policy must exist, as for sockets and stats */
	if (!file && w.policy && strcmp(w.policy, "-") && kap_module_loaded()) {
		struct kap_policy_info *pols = NULL;
		size_t n = 0;
		bool found;

		if (kap_load_policies_or_say(&pols, &n) < 0)
			return KAP_EXIT_FAIL;
		found = kap_policy_find(pols, n, w.policy);
		free(pols);
		if (!found)
			return kap_fail("policy '%s' does not exist", w.policy);
	}
	if (w.cgroup_filter) {
		kap_cgtree_load(&w.tree);
		w.tree_time = time(NULL);
	}
	c = file ? kap_watch_file(&w, file) : kap_watch_live(&w, duration);
	kap_cgtree_free(&w.tree);
	return c;
}
