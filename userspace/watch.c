// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl watch: the kapolicy trace events as they happen, one line each
 * (or one JSON document per line with -j).
 *
 * The events are read from a private tracefs instance,
 * instances/kapctl-PID, so that the top-level buffer and other tracers are
 * not disturbed: created at start, the kapolicy events (or the --event
 * kinds) enabled in it, its trace_pipe read, and removed when kapctl ends:
 * normally (--count, --duration, end of output), on SIGINT, SIGTERM or
 * SIGHUP, and after an error.  Signals are blocked except inside ppoll(),
 * so a signal only ever ends the loop; the instance is removed on the way
 * out (trace_pipe closed first: an instance with an open file cannot be
 * removed).  Only SIGKILL leaves it behind (rmdir it by hand).
 *
 * Filters (--port, --policy, --cgroup) apply in kapctl: the events carry
 * addresses as sockaddr arrays, which tracefs filters cannot take apart.
 *
 * Events the ring buffer dropped: trace_pipe prints "CPU:N [LOST M
 * EVENTS]" where they were; kapctl reports those, and at the end any
 * further loss that the per-CPU "overrun" and "dropped events" statistics
 * show.
 *
 * Times: the instance uses the "boot" trace clock (CLOCK_BOOTTIME), which
 * kapctl turns into wall-clock time.  --file replays a saved trace (the
 * "trace" file or trace_pipe's output) with its own timestamps.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* The tracefs instance, for the cleanup. */
static char kap_instance[512];
static int kap_pipe_fd = -1;
static volatile sig_atomic_t kap_stop;

static void kap_on_signal(int sig)
{
	(void)sig;
	kap_stop = 1;
}

static void kap_instance_remove(void)
{
	int i;

	if (kap_pipe_fd >= 0) {
		close(kap_pipe_fd);
		kap_pipe_fd = -1;
	}
	if (!kap_instance[0])
		return;
	/* The kernel may still hold the instance for a moment: retry. */
	for (i = 0; i < 100; i++) {
		if (!rmdir(kap_instance) || errno == ENOENT)
			break;
		if (errno != EBUSY) {
			fprintf(stderr, "kapctl: cannot remove the tracefs instance %s: %s\n",
				kap_instance, strerror(errno));
			break;
		}
		usleep(20000);
	}
	kap_instance[0] = '\0';
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

static int kap_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Creates and sets up the instance; opens its trace_pipe.  Reports errors. */
static int kap_instance_create(const char *tracefs, struct kap_watch *w)
{
	char path[700];
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
	snprintf(path, sizeof(path), "%s/events/kapolicy", tracefs);
	if (access(path, F_OK)) {
		kap_err("%s is missing: the kapolicy trace events are not available (is the module loaded?)",
			path);
		return -1;
	}
	for (i = 0; i < KAP_NR_KINDS; i++) {
		if (!w->kinds[i])
			continue;
		snprintf(path, sizeof(path), "%s/events/kapolicy/%s", tracefs, kap_event_kinds[i]);
		if (access(path, F_OK)) {
			kap_err("event: this kapolicy module has no '%s' event (%s is missing)",
				kap_event_kinds[i], path);
			return -1;
		}
	}

	snprintf(kap_instance, sizeof(kap_instance), "%s/instances/kapctl-%d", tracefs,
		 (int)getpid());
	if (mkdir(kap_instance, 0700) && errno == EEXIST) {
		/* left by an earlier kapctl that had our pid and was killed */
		rmdir(kap_instance);
		ret = mkdir(kap_instance, 0700);
	} else {
		ret = access(kap_instance, F_OK);
	}
	if (ret) {
		kap_err("cannot create the tracefs instance %s: %s", kap_instance, strerror(errno));
		kap_instance[0] = '\0';
		return -1;
	}

	/* Boot-time stamps, so that kapctl can print wall-clock times. */
	snprintf(path, sizeof(path), "%s/trace_clock", kap_instance);
	if (!kap_write_file(path, "boot") && !clock_gettime(CLOCK_REALTIME, &rt) &&
	    !clock_gettime(CLOCK_BOOTTIME, &bt)) {
		w->wall = true;
		w->boot_to_wall = (rt.tv_sec - bt.tv_sec) + (rt.tv_nsec - bt.tv_nsec) / 1e9;
	}

	if (!w->any_kind) {
		snprintf(path, sizeof(path), "%s/events/kapolicy/enable", kap_instance);
		ret = kap_write_file(path, "1");
	} else {
		for (i = 0, ret = 0; i < KAP_NR_KINDS && !ret; i++) {
			if (!w->kinds[i])
				continue;
			snprintf(path, sizeof(path), "%s/events/kapolicy/%s/enable", kap_instance,
				 kap_event_kinds[i]);
			ret = kap_write_file(path, "1");
		}
	}
	if (ret) {
		kap_err("cannot enable the kapolicy events in %s: %s", kap_instance,
			strerror(-ret));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/trace_pipe", kap_instance);
	kap_pipe_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kap_pipe_fd < 0) {
		kap_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Sum of a per-CPU statistic ("overrun:", "dropped events:") of the instance. */
static uint64_t kap_instance_stat(const char *key)
{
	char path[700], line[256];
	uint64_t sum = 0;
	size_t klen = strlen(key);
	int cpu;

	for (cpu = 0; cpu < 4096; cpu++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", kap_instance, cpu);
		f = fopen(path, "re");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, key, klen))
				sum += strtoull(line + klen, NULL, 10);
		fclose(f);
	}
	return sum;
}

/* ---- one line of trace text -------------------------------------------- */

#define KAP_MAX_FIELDS	32

struct kap_field {
	const char *key, *val;
};

/* One line of trace text taken apart: event name, timestamp, key=value. */
struct kap_watch_event {
	const char *name;
	double ts;
	struct kap_field f[KAP_MAX_FIELDS];
	int n;
};

static const char *kap_field(const struct kap_watch_event *ev, const char *key)
{
	int i;

	for (i = 0; i < ev->n; i++)
		if (!strcmp(ev->f[i].key, key))
			return ev->f[i].val;
	return NULL;
}

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

/*
 * "  COMM-PID  [CPU] FLAGS  TS: EVENT: key=value ..." (the task name may
 * contain spaces; what follows the timestamp does not).  Modifies line.
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
	ev->ts = strtod(tok[i], NULL);
	tok[i + 1][strlen(tok[i + 1]) - 1] = '\0';
	ev->name = tok[i + 1];
	ev->n = 0;
	for (j = i + 2; j < n && ev->n < KAP_MAX_FIELDS; j++) {
		char *eq = strchr(tok[j], '=');

		if (!eq)
			continue;
		*eq = '\0';
		ev->f[ev->n].key = tok[j];
		ev->f[ev->n].val = eq + 1;
		ev->n++;
	}
	return true;
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

static bool kap_is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

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

	if (k < 0 && !kap_field(ev, "family"))
		return false;	/* not a kapolicy event */
	if (w->any_kind && (k < 0 || !w->kinds[k]))
		return false;
	if (w->port_filter) {
		unsigned int sp = kap_addr_port(kap_field(ev, "src"), NULL, 0);
		unsigned int dp = kap_addr_port(kap_field(ev, "dst"), NULL, 0);

		if (!(sp >= w->port_lo && sp <= w->port_hi) &&
		    !(dp >= w->port_lo && dp <= w->port_hi))
			return false;
	}
	if (w->policy) {
		const char *p = kap_field(ev, "policy");

		if (!p || strcmp(p, w->policy))
			return false;
	}
	if (w->netns) {
		const char *n = kap_field(ev, "netns");

		if (!n || strtoull(n, NULL, 10) != w->netns)
			return false;
	}
	if (w->family) {
		const char *f = kap_field(ev, "family");

		if (!f || atoi(f) != w->family)
			return false;
	}
	if (w->cgroup_filter) {
		const char *c = kap_field(ev, "cgroup");
		uint64_t id;
		int under;

		if (!c)
			return false;
		id = strtoull(c, NULL, 10);
		under = kap_cgroup_under(&w->tree, id, w->cgroup);
		if (under < 0 && time(NULL) != w->tree_time) {
			/* a cgroup newer than our copy of the tree */
			kap_cgtree_load(&w->tree);
			w->tree_time = time(NULL);
			under = kap_cgroup_under(&w->tree, id, w->cgroup);
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

static void kap_print_event(struct kap_watch *w, const struct kap_watch_event *ev)
{
	char tbuf[48], addr[64];
	int i;

	if (kap_json) {
		struct json_object *o = json_object_new_object();

		kap_json_time(o, w, ev->ts);
		json_object_object_add(o, "event", json_object_new_string(ev->name));
		for (i = 0; i < ev->n; i++) {
			const char *k = ev->f[i].key, *v = ev->f[i].val;
			struct json_object *val;

			if (!strcmp(k, "policy") && !strcmp(v, "-"))
				val = NULL;
			else if (kap_is_number(v) && strcmp(k, "src") && strcmp(k, "dst"))
				val = v[0] == '-' ? json_object_new_int64(strtoll(v, NULL, 10)) :
				      kap_json_u64(strtoull(v, NULL, 10));
			else
				val = json_object_new_string(v);
			json_object_object_add(o, k, val);
			if (!strcmp(k, "src") || !strcmp(k, "dst")) {
				char key[16];
				unsigned int port = kap_addr_port(v, addr, sizeof(addr));

				snprintf(key, sizeof(key), "%s_addr", k);
				json_object_object_add(o, key, json_object_new_string(addr));
				snprintf(key, sizeof(key), "%s_port", k);
				json_object_object_add(o, key, json_object_new_int(port));
			}
		}
		kap_json_line(o);
		json_object_put(o);
	} else {
		kap_time_text(w, ev->ts, tbuf, sizeof(tbuf));
		printf("%s %-14s %s -> %s", tbuf, ev->name,
		       kap_field(ev, "src") ?: "?", kap_field(ev, "dst") ?: "?");
		for (i = 0; i < ev->n; i++) {
			const char *k = ev->f[i].key;

			if (strcmp(k, "family") && strcmp(k, "src") && strcmp(k, "dst"))
				printf(" %s=%s", k, ev->f[i].val);
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

/* One line of trace_pipe; returns true when kapctl should stop. */
static bool kap_handle_line(struct kap_watch *w, char *line, double *last_ts)
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
	*last_ts = ev.ts;
	if (!kap_event_wanted(w, &ev))
		return false;
	kap_print_event(w, &ev);
	return w->out_failed || (w->count && w->printed >= w->count);
}

/* Splits buf[0..*len) into lines, handles the complete ones, keeps the rest. */
static bool kap_handle_buffer(struct kap_watch *w, char *buf, size_t *len, double *last_ts)
{
	char *start = buf, *nl;
	bool stop = false;

	while (!stop && (nl = memchr(start, '\n', buf + *len - start))) {
		*nl = '\0';
		stop = kap_handle_line(w, start, last_ts);
		start = nl + 1;
	}
	*len = buf + *len - start;
	memmove(buf, start, *len);
	return stop;
}

static int kap_watch_file(struct kap_watch *w, const char *file)
{
	char *line = NULL;
	size_t cap = 0;
	double last = -1;
	FILE *f;
	int ret = KAP_EXIT_OK;

	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f)
		return kap_fail("cannot open %s: %s", file, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (kap_handle_line(w, line, &last))
			break;
	}
	if (ferror(f))
		ret = kap_fail("cannot read %s: %s", file, strerror(errno));
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

static double kap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int kap_watch_live(struct kap_watch *w, double duration)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	char tracefs[256], buf[65536];
	struct sigaction sa = { .sa_handler = kap_on_signal };
	sigset_t block, orig;
	double end = duration > 0 ? kap_now() + duration : 0, last = -1;
	uint64_t stat_lost;
	size_t len = 0, i;
	int ret = KAP_EXIT_OK;

	if (kap_need_module())
		return KAP_EXIT_FAIL;
	if (kap_tracefs(tracefs, sizeof(tracefs)))
		return kap_fail("tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)");

	/* Signals are taken only inside ppoll(): they end the loop, nothing else. */
	sigemptyset(&block);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, &orig);
	atexit(kap_instance_remove);

	if (kap_instance_create(tracefs, w)) {
		kap_instance_remove();
		return KAP_EXIT_FAIL;
	}
	while (!kap_stop) {
		struct pollfd pfd = { .fd = kap_pipe_fd, .events = POLLIN };
		struct timespec tmo = { 0, 200 * 1000000L };
		ssize_t n;

		if (end) {
			double left = end - kap_now();

			if (left <= 0)
				break;
			if (left < 0.2)
				tmo.tv_nsec = (long)(left * 1e9);
		}
		/*
		 * Read whether or not poll says so: trace_pipe's poll may wait
		 * for the buffer to fill to buffer_percent; the timeout bounds
		 * the delay.
		 */
		if (ppoll(&pfd, 1, &tmo, &orig) < 0 && errno != EINTR) {
			ret = kap_fail("poll on trace_pipe: %s", strerror(errno));
			break;
		}
		for (;;) {
			n = read(kap_pipe_fd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += n;
			if (kap_handle_buffer(w, buf, &len, &last)) {
				kap_stop = 1;
				break;
			}
			if (len == sizeof(buf) - 1)	/* a line longer than the buffer */
				len = 0;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = kap_fail("cannot read trace_pipe: %s", strerror(errno));
			break;
		}
	}
	if (w->out_failed)
		ret = KAP_EXIT_FAIL;
	if (ret == KAP_EXIT_OK) {
		stat_lost = kap_instance_stat("overrun:") + kap_instance_stat("dropped events:");
		if (stat_lost > w->lost)
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
