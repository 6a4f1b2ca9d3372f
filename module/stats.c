// SPDX-License-Identifier: GPL-2.0
/*
 * Counters.  Three views of the same events:
 *
 *   global     per-CPU u64s, summed when read: stats/<name>
 *   policy     per-CPU u64s of the governing policy: policies/NAME/stats/
 *   port       by service port: the ports file
 *
 * The port table is preallocated at load: max_ports slots (module
 * parameter, default 1024) in an open-addressing table of twice that size,
 * each slot a row of atomic64 counters (keepalive events come a few per
 * socket per interval, never per packet, so one shared row per port is
 * cheap).  A port takes a slot with its first event and keeps it until
 * unload; at most half the slots go to ports first seen on a socket no
 * policy governs.  When no slot can be had, a new port's events are
 * counted in the row "other" and in limits/ports_overflow: nothing is
 * lost silently.
 *
 * Each port slot also has a row of idle-death histograms (the deaths
 * file): for each kind of death, the number of connections whose idle
 * time fell in each bucket of kap_death_bounds (log-scaled, 1 s to a day,
 * finer around the idle timeouts of common middleboxes), their sum, least
 * and greatest.  A port's first death claims its slot as any event does,
 * with the same budget; about 350 bytes per slot, preallocated.
 *
 * Context: kap_count() and kap_count_death() run in hook handlers (any context, preemption off);
 * it never allocates or sleeps.
 */
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "kapolicy.h"
#include "stats.h"

#define KAP_PORTS_MIN	16
#define KAP_PORTS_LIMIT	65536

static unsigned int max_ports = 1024;
module_param(max_ports, uint, 0444);
MODULE_PARM_DESC(max_ports,
		 "service ports with their own counters (16-65536, default 1024)");

static const char *const kap_counter_names[KAP_NR_COUNTERS] = {
	KAP_COUNTERS(KAP_COUNTER_NAME)
};

struct kap_port_row {
	atomic_t key;			/* port + 1; 0 while the slot is free */
	atomic64_t c[KAP_NR_COUNTERS];
};

/* The deaths file's bucket bounds, seconds, inclusive; then +Inf. */
static const u32 kap_death_bounds[] = {
	1, 2, 4, 8, 15, 30, 45, 60, 90, 120, 180, 240, 300, 360, 450, 600,
	900, 1200, 1800, 3600, 7200, 14400, 86400,
};

#define KAP_DEATH_BUCKETS	(ARRAY_SIZE(kap_death_bounds) + 1)

static const char *const kap_death_names[KAP_NR_DEATHS] = {
	[KAP_DEATH_RESET] = "reset",
	[KAP_DEATH_RETRANS] = "retrans",
	[KAP_DEATH_KEEPALIVE] = "keepalive",
};

struct kap_death_hist {
	atomic_t b[KAP_DEATH_BUCKETS];
	atomic64_t sum_ms;
	atomic_t min_ms;		/* least idle + 1; 0: none yet */
	atomic_t max_ms;
};

struct kap_port_deaths {
	atomic_t side;			/* KAP_DEATH_LOCAL | KAP_DEATH_REMOTE */
	struct kap_death_hist k[KAP_NR_DEATHS];
};

static struct kap_counters __percpu *kap_global;
static struct kap_port_row *kap_ports;	/* 2 * max_ports slots */
static struct kap_port_deaths *kap_deaths;	/* the same slots' deaths */
static struct kap_port_row kap_port_other;
static struct kap_port_deaths kap_deaths_other;
static unsigned int kap_port_bits;
static atomic_t kap_ports_used = ATOMIC_INIT(0);
static atomic_t kap_ports_ungoverned = ATOMIC_INIT(0);	/* rows of those */
static atomic64_t kap_ports_overflow = ATOMIC64_INIT(0);

/* One more row in use: within max_ports, and half of it if ungoverned. */
static bool kap_port_budget(bool governed)
{
	if (!governed && atomic_inc_return(&kap_ports_ungoverned) > max_ports / 2) {
		atomic_dec(&kap_ports_ungoverned);
		return false;
	}
	if (atomic_inc_return(&kap_ports_used) > max_ports) {
		atomic_dec(&kap_ports_used);
		if (!governed)
			atomic_dec(&kap_ports_ungoverned);
		return false;
	}
	return true;
}

static void kap_port_unbudget(bool governed)
{
	atomic_dec(&kap_ports_used);
	if (!governed)
		atomic_dec(&kap_ports_ungoverned);
}

/*
 * The row of a port: found, or claimed with the port's first event.  Half
 * the rows are kept for ports whose event is a governed socket's, so that
 * ungoverned sockets (which any user can open, on any port) cannot fill
 * the table and push the services a policy names into "other".
 */
static struct kap_port_row *kap_port_row(u16 port, bool governed)
{
	unsigned int size = 1U << kap_port_bits, i, slot;
	int key = port + 1, old;

	slot = hash_32(port, kap_port_bits);
	for (i = 0; i < size; i++, slot = (slot + 1) & (size - 1)) {
		old = atomic_read(&kap_ports[slot].key);
		if (old == key)
			return &kap_ports[slot];
		if (old)
			continue;
		/* A free slot: claim it if the budget allows. */
		if (!kap_port_budget(governed))
			break;
		old = atomic_cmpxchg(&kap_ports[slot].key, 0, key);
		if (!old)
			return &kap_ports[slot];
		kap_port_unbudget(governed);
		if (old == key)
			return &kap_ports[slot];
	}
	atomic64_inc(&kap_ports_overflow);
	return &kap_port_other;
}

/* Counts one event: globally, for the port and for the governing policy. */
void kap_count(enum kap_counter c, u16 port,
	       struct kap_counters __percpu *policy)
{
	this_cpu_inc(kap_global->c[c]);
	if (policy)
		this_cpu_inc(policy->c[c]);
	atomic64_inc(&kap_port_row(port, !!policy)->c[c]);
}

/* Counts one death after idle_ms of idle, for the service port. */
void kap_count_death(enum kap_death_kind kind, u16 port, u8 side,
		     bool governed, u32 idle_ms)
{
	struct kap_port_row *row = kap_port_row(port, governed);
	struct kap_port_deaths *d = row == &kap_port_other ? &kap_deaths_other
				    : &kap_deaths[row - kap_ports];
	struct kap_death_hist *h = &d->k[kind];
	u32 s = idle_ms / MSEC_PER_SEC, b = 0, v = min(idle_ms, U32_MAX - 1);
	int old;

	while (b < ARRAY_SIZE(kap_death_bounds) &&
	       (s > kap_death_bounds[b] ||
		(s == kap_death_bounds[b] && idle_ms % MSEC_PER_SEC)))
		b++;
	atomic_inc(&h->b[b]);
	atomic64_add(idle_ms, &h->sum_ms);
	old = atomic_read(&h->min_ms);
	while ((!old || (u32)old - 1 > v) &&
	       !atomic_try_cmpxchg(&h->min_ms, &old, v + 1))
		;
	old = atomic_read(&h->max_ms);
	while ((u32)old < idle_ms &&
	       !atomic_try_cmpxchg(&h->max_ms, &old, idle_ms))
		;
	if ((atomic_read(&d->side) & side) != side)
		atomic_or(side, &d->side);
}

void kap_stats_sum(struct kap_counters __percpu *pcpu,
		   u64 out[KAP_NR_COUNTERS])
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * KAP_NR_COUNTERS);
	for_each_possible_cpu(cpu) {
		struct kap_counters *pc = per_cpu_ptr(pcpu, cpu);

		for (i = 0; i < KAP_NR_COUNTERS; i++)
			out[i] += READ_ONCE(pc->c[i]);
	}
}

void kap_stats_global(u64 out[KAP_NR_COUNTERS])
{
	kap_stats_sum(kap_global, out);
}

unsigned int kap_stats_ports_used(void)
{
	return min_t(unsigned int, atomic_read(&kap_ports_used), max_ports);
}

unsigned int kap_stats_ports_max(void)
{
	return max_ports;
}

u64 kap_stats_ports_overflow(void)
{
	return atomic64_read(&kap_ports_overflow);
}

static int kap_port_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static size_t kap_port_line(char *p, size_t room, const char *name,
			    const struct kap_port_row *row)
{
	size_t n;
	int i;

	n = scnprintf(p, room, "%s", name);
	for (i = 0; i < KAP_NR_COUNTERS; i++)
		n += scnprintf(p + n, room - n, " %llu",
			       (u64)atomic64_read(&row->c[i]));
	n += scnprintf(p + n, room - n, "\n");
	return n;
}

/*
 * The ports file: a header line naming the columns, then one line per port
 * with activity, by port number, then "other" if any port overflowed.
 *
 * kernfs hands a bin file out a page per read() call.  So that a reader
 * sees one table, not pages of different ones, the text is made once per
 * pass - when the reader asks for offset 0, or has no text yet - and kept
 * for that open file until its read returns 0 (end of file).  At most
 * KAP_PORTS_TEXTS texts are kept, sized to the rows in use; a text not read
 * for KAP_PORTS_TEXT_TTL is dropped, and when all are busy the one read
 * longest ago makes way (its reader's next page comes from a new text).
 * Only CAP_NET_ADMIN may read the file (sysfs/sysfs.c).
 */
#define KAP_PORTS_TEXTS		4
#define KAP_PORTS_TEXT_TTL	(30 * HZ)
#define KAP_PORTS_LINE_MAX	(8 + KAP_NR_COUNTERS * 21 + 1)

struct kap_ports_text {
	const void *reader;		/* the open file; NULL: slot free */
	unsigned long used;		/* jiffies of the last read */
	size_t len;
	char *text;
};

static struct kap_ports_text kap_ports_texts[KAP_PORTS_TEXTS];
static DEFINE_MUTEX(kap_ports_texts_lock);

static void kap_ports_text_drop(struct kap_ports_text *t)
{
	kvfree(t->text);
	memset(t, 0, sizeof(*t));
}

/* A port's death rows: one line per kind with deaths. */
static size_t kap_deaths_lines(char *p, size_t room, const char *name,
			       const struct kap_port_deaths *d)
{
	static const char *const sides[] = { "-", "local", "remote", "both" };
	size_t n = 0;
	int k, b;

	for (k = 0; k < KAP_NR_DEATHS; k++) {
		const struct kap_death_hist *h = &d->k[k];
		u32 v[KAP_DEATH_BUCKETS], count = 0, min = atomic_read(&h->min_ms);

		for (b = 0; b < KAP_DEATH_BUCKETS; b++) {
			v[b] = atomic_read(&h->b[b]);
			count += v[b];
		}
		if (!count)
			continue;
		n += scnprintf(p + n, room - n, "%s %s %s %u %llu %u %u", name,
			       kap_death_names[k],
			       d == &kap_deaths_other ? "-" :
			       sides[atomic_read(&d->side) & 3], count,
			       (u64)atomic64_read(&h->sum_ms), min ? min - 1 : 0,
			       (u32)atomic_read(&h->max_ms));
		for (b = 0; b < KAP_DEATH_BUCKETS; b++)
			n += scnprintf(p + n, room - n, " %u", v[b]);
		n += scnprintf(p + n, room - n, "\n");
	}
	return n;
}

#define KAP_DEATHS_LINE_MAX	(32 + 3 * 11 + 21 + KAP_DEATH_BUCKETS * 11 + 1)

/* The header line: the ports file's or the deaths file's. */
static size_t kap_table_header(char *p, size_t room, bool deaths)
{
	size_t n;
	int i;

	if (deaths) {
		n = scnprintf(p, room, "port kind side count sum_ms min_ms max_ms");
		for (i = 0; i < ARRAY_SIZE(kap_death_bounds); i++)
			n += scnprintf(p + n, room - n, " %u",
				       kap_death_bounds[i]);
		return n + scnprintf(p + n, room - n, " +Inf\n");
	}
	n = scnprintf(p, room, "port");
	for (i = 0; i < KAP_NR_COUNTERS; i++)
		n += scnprintf(p + n, room - n, " %s", kap_counter_names[i]);
	return n + scnprintf(p + n, room - n, "\n");
}

/* The table (ports or deaths) as it is now, in one piece. */
static int kap_ports_text_make(struct kap_ports_text *t, bool deaths)
{
	unsigned int size = 1U << kap_port_bits, i, n = 0;
	size_t room, len;
	char name[8];
	u64 *ports;
	char *text;

	ports = kvmalloc_array(size, sizeof(*ports), GFP_KERNEL | __GFP_NOWARN);
	if (!ports)
		return -ENOMEM;
	for (i = 0; i < size; i++) {
		u32 key = atomic_read(&kap_ports[i].key);

		if (key)
			ports[n++] = (u64)key << 32 | i;
	}
	sort(ports, n, sizeof(*ports), kap_port_cmp, NULL);

	if (deaths)
		room = (size_t)(n + 1) * KAP_NR_DEATHS * KAP_DEATHS_LINE_MAX +
		       KAP_DEATH_BUCKETS * 12 + 64;
	else
		room = (size_t)(n + 2) * KAP_PORTS_LINE_MAX +
		       KAP_NR_COUNTERS * 32;
	text = kvmalloc(room, GFP_KERNEL | __GFP_NOWARN);
	if (!text) {
		kvfree(ports);
		return -ENOMEM;
	}
	len = kap_table_header(text, room, deaths);
	for (i = 0; i < n; i++) {
		u32 slot = (u32)ports[i];

		snprintf(name, sizeof(name), "%llu", (ports[i] >> 32) - 1);
		if (deaths)
			len += kap_deaths_lines(text + len, room - len, name,
						&kap_deaths[slot]);
		else
			len += kap_port_line(text + len, room - len, name,
					     &kap_ports[slot]);
	}
	if (atomic64_read(&kap_ports_overflow)) {
		if (deaths)
			len += kap_deaths_lines(text + len, room - len, "other",
						&kap_deaths_other);
		else
			len += kap_port_line(text + len, room - len, "other",
					     &kap_port_other);
	}
	kvfree(ports);

	kvfree(t->text);
	t->text = text;
	t->len = len;
	return 0;
}

/* The reader's text, or a slot for one: free, stale, or read longest ago. */
static struct kap_ports_text *kap_ports_text_slot(const void *reader)
{
	struct kap_ports_text *t, *lru = NULL;

	for (t = kap_ports_texts; t < kap_ports_texts + KAP_PORTS_TEXTS; t++) {
		if (t->reader &&
		    time_after(jiffies, t->used + KAP_PORTS_TEXT_TTL))
			kap_ports_text_drop(t);
		if (t->reader == reader)
			return t;
	}
	for (t = kap_ports_texts; t < kap_ports_texts + KAP_PORTS_TEXTS; t++) {
		if (!t->reader)
			return t;
		if (!lru || time_before(t->used, lru->used))
			lru = t;
	}
	kap_ports_text_drop(lru);
	return lru;
}

static ssize_t kap_table_read(const void *reader, bool deaths, char *buf,
			      loff_t off, size_t count)
{
	struct kap_ports_text *t;
	ssize_t ret;

	mutex_lock(&kap_ports_texts_lock);
	t = kap_ports_text_slot(reader);
	if (!t->reader || off == 0) {
		ret = kap_ports_text_make(t, deaths);
		if (ret) {
			kap_ports_text_drop(t);
			goto out;
		}
		t->reader = reader;
	}
	t->used = jiffies;
	if (off >= t->len) {
		kap_ports_text_drop(t);	/* end of this pass */
		ret = 0;
		goto out;
	}
	ret = min_t(size_t, count, t->len - off);
	memcpy(buf, t->text + off, ret);
out:
	mutex_unlock(&kap_ports_texts_lock);
	return ret;
}

ssize_t kap_stats_ports_read(const void *reader, char *buf, loff_t off,
			     size_t count)
{
	return kap_table_read(reader, false, buf, off, count);
}

ssize_t kap_stats_deaths_read(const void *reader, char *buf, loff_t off,
			      size_t count)
{
	return kap_table_read(reader, true, buf, off, count);
}

int kap_stats_init(void)
{
	if (max_ports < KAP_PORTS_MIN || max_ports > KAP_PORTS_LIMIT) {
		pr_err("max_ports=%u is outside %u-%u\n", max_ports,
		       KAP_PORTS_MIN, KAP_PORTS_LIMIT);
		return -EINVAL;
	}
	kap_port_bits = ilog2(roundup_pow_of_two(max_ports)) + 1;
	kap_ports = __vcalloc(1U << kap_port_bits, sizeof(*kap_ports),
			      GFP_KERNEL | __GFP_NOWARN);
	kap_deaths = __vcalloc(1U << kap_port_bits, sizeof(*kap_deaths),
			       GFP_KERNEL | __GFP_NOWARN);
	kap_global = alloc_percpu_gfp(struct kap_counters,
				      GFP_KERNEL | __GFP_NOWARN);
	if (!kap_ports || !kap_deaths || !kap_global) {
		vfree(kap_ports);
		vfree(kap_deaths);
		free_percpu(kap_global);
		pr_err("cannot allocate the port table (max_ports=%u); not loading\n",
		       max_ports);
		return -ENOMEM;
	}
	return 0;
}

void kap_stats_uninit(void)
{
	unsigned int i;

	for (i = 0; i < KAP_PORTS_TEXTS; i++)
		kap_ports_text_drop(&kap_ports_texts[i]);
	free_percpu(kap_global);
	vfree(kap_deaths);
	vfree(kap_ports);
}
