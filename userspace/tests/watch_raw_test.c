// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl watch's live path without a kernel: the kapolicy events' formats
 * (as events/kapolicy/EVENT/format has them) parsed by libtraceevent,
 * binary records laid out as the ring buffer holds them, decoded by
 * watch.c (included: its functions are static) and printed.  Each record
 * must print byte for byte what --file prints for the line the kernel's
 * text form has for it.  Then sub-buffers through kbuffer: time order,
 * timestamps, and the lost-events lines.  TAP output.
 */
#include <arpa/inet.h>
#include <stdbool.h>

/* The per-CPU reads come from t_cpu_read's queues, not from a kernel. */
struct tracefs_cpu;
static int t_cpu_read(struct tracefs_cpu *tcpu, void *buffer, bool nonblock);
#define tracefs_cpu_read t_cpu_read

#include "../watch.c"

static int t_n, t_failed;

static void t_eq(const char *what, const char *want, const char *got)
{
	t_n++;
	if (!strcmp(want, got)) {
		printf("ok %d %s\n", t_n, what);
		return;
	}
	t_failed = 1;
	printf("not ok %d %s\n# want: %s\n# got:  %s\n", t_n, what, want, got);
}

/* ---- the formats -------------------------------------------------------- */

struct t_field {
	const char *decl;	/* "u8 src[28]" */
	const char *name;
	int offset, size, is_signed;
};

#define T_COMMON							\
	{ "u16 family", "family", 8, 2, 0 },				\
	{ "u8 src[28]", "src", 10, 28, 0 },				\
	{ "u8 dst[28]", "dst", 38, 28, 0 },				\
	{ "u64 cgroup", "cgroup", 72, 8, 0 },				\
	{ "u32 netns", "netns", 80, 4, 0 },				\
	{ "char policy[32]", "policy", 84, 32, 1 },			\
	{ "u32 probe", "probe", 116, 4, 0 },				\
	{ "u32 idle", "idle", 120, 4, 0 },				\
	{ "u32 intvl", "intvl", 124, 4, 0 },				\
	{ "u32 cnt", "cnt", 128, 4, 0 },				\
	{ "u32 user_timeout", "user_timeout", 132, 4, 0 }

#define T_FMT	"family=%u src=%pISpc dst=%pISpc cgroup=%llu netns=%u policy=%s " \
		"probe=%u idle=%u intvl=%u cnt=%u user_timeout=%u"
#define T_ARGS	"REC->family, REC->src, REC->dst, REC->cgroup, REC->netns, REC->policy, " \
		"REC->probe, REC->idle, REC->intvl, REC->cnt, REC->user_timeout"

struct t_event {
	const char *name;
	int id;
	struct t_field fields[16];
	const char *fmt;	/* the print fmt line */
};

static const struct t_event t_events[] = {
	{ "probe_sent", 501, { T_COMMON }, "\"" T_FMT "\", " T_ARGS },
	{ "probe_answered", 502, { T_COMMON, { "u32 rtt_us", "rtt_us", 136, 4, 0 } },
	  "\"" T_FMT " rtt_us=%u\", " T_ARGS ", REC->rtt_us" },
	{ "timeout", 503, { T_COMMON, { "int err", "err", 136, 4, 1 },
			    { "u8 by_user_timeout", "by_user_timeout", 140, 1, 0 },
			    { "int icmp_err", "icmp_err", 144, 4, 1 } },
	  "\"" T_FMT " err=%d by=%s icmp_err=%d\", " T_ARGS
	  ", REC->err, REC->by_user_timeout ? \"user_timeout\" : \"probes\", REC->icmp_err" },
	{ "idle_death", 504, { T_COMMON, { "u8 kind", "kind", 136, 1, 0 },
			       { "u32 idle_ms", "idle_ms", 140, 4, 0 },
			       { "int err", "err", 144, 4, 1 } },
	  "\"" T_FMT " kind=%s idle_ms=%u err=%d\", " T_ARGS
	  ", __print_symbolic(REC->kind, { 0, \"reset\" }, { 1, \"retrans\" }, "
	  "{ 2, \"keepalive\" }), REC->idle_ms, REC->err" },
	{ "policy_applied", 505, { T_COMMON, { "u8 trigger", "trigger", 136, 1, 0 },
				   { "u8 mode", "mode", 137, 1, 0 },
				   { "u8 set", "set", 138, 1, 0 } },
	  "\"" T_FMT " trigger=%s mode=%s set=%s\", " T_ARGS
	  ", __print_symbolic(REC->trigger, { 0, \"connect\" }, { 1, \"accept\" }, "
	  "{ 2, \"existing\" }, { 3, \"setsockopt\" }, { 4, \"revert\" }), "
	  "__print_symbolic(REC->mode, { 0, \"fill\" }, { 1, \"override\" }), "
	  "__print_flags(REC->set, \",\", { 1, \"idle\" }, { 2, \"intvl\" }, { 4, \"cnt\" }, "
	  "{ 8, \"user_timeout\" }, { 16, \"keepalive\" })" },
	{ "icmp_error", 506, { T_COMMON, { "int err", "err", 136, 4, 1 },
			       { "u8 type", "type", 140, 1, 0 },
			       { "u8 code", "code", 141, 1, 0 } },
	  "\"" T_FMT " err=%d type=%u code=%u\", " T_ARGS ", REC->err, REC->type, REC->code" },
};

#define T_RECORD_SIZE	148

static const char t_header_page[] =
	"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
	"\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
	"\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
	"\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n";

static struct tep_handle *t_tep(void)
{
	struct tep_handle *tep = tep_alloc();
	char buf[8192];
	size_t i, n;
	int j;

	if (!tep || tep_parse_header_page(tep, (char *)t_header_page, strlen(t_header_page), 8))
		return NULL;
	for (i = 0; i < ARRAY_SIZE(t_events); i++) {
		const struct t_event *e = &t_events[i];

		n = snprintf(buf, sizeof(buf),
			     "name: %s\nID: %d\nformat:\n"
			     "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
			     "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
			     "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
			     "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n",
			     e->name, e->id);
		for (j = 0; e->fields[j].decl; j++)
			n += snprintf(buf + n, sizeof(buf) - n,
				      "\tfield:%s;\toffset:%d;\tsize:%d;\tsigned:%d;\n",
				      e->fields[j].decl, e->fields[j].offset, e->fields[j].size,
				      e->fields[j].is_signed);
		n += snprintf(buf + n, sizeof(buf) - n, "\nprint fmt: %s\n", e->fmt);
		if (tep_parse_event(tep, buf, n, KAP_TRACE_SYSTEM))
			return NULL;
	}
	return tep;
}

/* ---- records ------------------------------------------------------------ */

static const struct t_field *t_field(const struct t_event *e, const char *name)
{
	int j;

	for (j = 0; e->fields[j].decl; j++)
		if (!strcmp(e->fields[j].name, name))
			return &e->fields[j];
	abort();
}

static void t_set(uint8_t *rec, const struct t_event *e, const char *name, uint64_t v)
{
	const struct t_field *f = t_field(e, name);

	memcpy(rec + f->offset, &v, f->size);	/* little endian */
}

static void t_sin(uint8_t *rec, const struct t_event *e, const char *name, const char *addr,
		  unsigned int port)
{
	const struct t_field *f = t_field(e, name);
	uint8_t *p = rec + f->offset;
	uint16_t family;

	memset(p, 0, f->size);
	if (strchr(addr, ':')) {
		family = AF_INET6;
		inet_pton(AF_INET6, addr, p + 8);
	} else if (*addr) {
		family = AF_INET;
		inet_pton(AF_INET, addr, p + 4);
	} else {
		family = 0;
	}
	memcpy(p, &family, 2);
	p[2] = port >> 8;
	p[3] = port & 0xff;
}

/* A record of event e with the common fields. */
static const struct t_event *t_record(uint8_t *rec, const char *name, int family,
				      const char *src, unsigned int sport, const char *dst,
				      unsigned int dport, uint64_t cgroup, uint32_t netns,
				      const char *policy, uint32_t probe)
{
	const struct t_event *e = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t_events); i++)
		if (!strcmp(t_events[i].name, name))
			e = &t_events[i];
	memset(rec, 0, T_RECORD_SIZE);
	t_set(rec, e, "family", family);
	memcpy(rec, &e->id, 2);
	rec[4] = 77;	/* common_pid */
	t_sin(rec, e, "src", src, sport);
	t_sin(rec, e, "dst", dst, dport);
	t_set(rec, e, "cgroup", cgroup);
	t_set(rec, e, "netns", netns);
	memcpy(rec + t_field(e, "policy")->offset, policy, strlen(policy));
	t_set(rec, e, "probe", probe);
	t_set(rec, e, "idle", 60);
	t_set(rec, e, "intvl", 10);
	t_set(rec, e, "cnt", 5);
	t_set(rec, e, "user_timeout", 0);
	return e;
}

/* What kap_print_event prints for ev, in text or JSON. */
static char *t_print(struct kap_watch *w, const struct kap_watch_event *ev, bool json)
{
	FILE *saved = stdout;
	char *out = NULL;
	size_t len = 0;

	stdout = open_memstream(&out, &len);
	kap_json = json;
	kap_print_event(w, ev);
	fclose(stdout);
	stdout = saved;
	kap_json = false;
	if (len && out[len - 1] == '\n')
		out[len - 1] = '\0';
	return out;
}

/* The record must print as --file prints the kernel's line for it. */
static void t_same(struct tep_handle *tep, const char *what, const uint8_t *rec,
		   unsigned long long ns, const char *line)
{
	struct kap_watch w = { 0 };
	struct kap_watch_event raw, txt;
	struct tep_record r = { .data = (void *)rec, .size = T_RECORD_SIZE };
	struct tep_event *te = tep_find_event(tep, tep_data_type(tep, &r));
	char copy[1024], name[256];
	char *a, *b;
	int json;

	snprintf(copy, sizeof(copy), "%s", line);
	if (!te || !kap_event_from_record(te, rec, T_RECORD_SIZE, kap_ns_to_ts(ns), &raw) ||
	    !kap_parse_event(copy, &txt)) {
		t_eq(what, "decoded", "not decoded");
		return;
	}
	for (json = 0; json < 2; json++) {
		a = t_print(&w, &txt, json);
		b = t_print(&w, &raw, json);
		snprintf(name, sizeof(name), "%s (%s)", what, json ? "JSON" : "text");
		t_eq(name, a, b);
		free(a);
		free(b);
	}
}

static void t_records(struct tep_handle *tep)
{
	uint8_t rec[T_RECORD_SIZE];
	const struct t_event *e;
	char t[64];

	t_record(rec, "probe_sent", 4, "192.0.2.1", 40312, "198.51.100.2", 5432, 1,
		 4026531840u, "pg", 1);
	t_same(tep, "probe_sent, IPv4", rec, 100000001000ull,
	       "  <idle>-0  [001] ..s2.   100.000001: probe_sent: family=4 src=192.0.2.1:40312 dst=198.51.100.2:5432 cgroup=1 netns=4026531840 policy=pg probe=1 idle=60 intvl=10 cnt=5 user_timeout=0");

	e = t_record(rec, "probe_answered", 6, "2001:db8:1::1", 40313, "2001:db8:2::2", 5432,
		     4711, 4026532000u, "-", 1);
	t_set(rec, e, "rtt_us", 412);
	t_same(tep, "probe_answered, IPv6, no policy (null in JSON), the us rounded", rec,
	       101249999500ull,
	       "  <idle>-0  [000] ..s1.   101.250000: probe_answered: family=6 src=[2001:db8:1::1]:40313 dst=[2001:db8:2::2]:5432 cgroup=4711 netns=4026532000 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0 rtt_us=412");

	e = t_record(rec, "timeout", 4, "192.0.2.1", 40999, "198.51.100.2", 80, 1, 4026531840u,
		     "-", 3);
	t_set(rec, e, "err", 110);
	t_set(rec, e, "by_user_timeout", 0);
	t_set(rec, e, "icmp_err", 113);
	t_same(tep, "timeout by probes", rec, 130500000000ull,
	       "  <idle>-0  [001] ..s2.   130.500000: timeout: family=4 src=192.0.2.1:40999 dst=198.51.100.2:80 cgroup=1 netns=4026531840 policy=- probe=3 idle=60 intvl=10 cnt=5 user_timeout=0 err=110 by=probes icmp_err=113");
	t_set(rec, e, "by_user_timeout", 1);
	t_set(rec, e, "icmp_err", 0);
	t_same(tep, "timeout by user_timeout", rec, 130500000000ull,
	       "  <idle>-0  [001] ..s2.   130.500000: timeout: family=4 src=192.0.2.1:40999 dst=198.51.100.2:80 cgroup=1 netns=4026531840 policy=- probe=3 idle=60 intvl=10 cnt=5 user_timeout=0 err=110 by=user_timeout icmp_err=0");

	e = t_record(rec, "idle_death", 6, "::ffff:10.0.0.1", 22, "::1", 5555,
		     18446744073709551615ull, 4026531840u, "-", 0);
	t_set(rec, e, "kind", 1);
	t_set(rec, e, "idle_ms", 123456);
	t_set(rec, e, "err", (uint32_t)-32);
	t_same(tep, "idle_death: kind by name, negative err, IPv4-mapped, u64 cgroup", rec,
	       200100002000ull,
	       "  <idle>-0  [001] ..s2.   200.100002: idle_death: family=6 src=[::ffff:10.0.0.1]:22 dst=[::1]:5555 cgroup=18446744073709551615 netns=4026531840 policy=- probe=0 idle=60 intvl=10 cnt=5 user_timeout=0 kind=retrans idle_ms=123456 err=-32");
	t_set(rec, e, "kind", 9);
	t_same(tep, "idle_death: a kind without a name in hex, as the kernel prints it", rec,
	       200100002000ull,
	       "  <idle>-0  [001] ..s2.   200.100002: idle_death: family=6 src=[::ffff:10.0.0.1]:22 dst=[::1]:5555 cgroup=18446744073709551615 netns=4026531840 policy=- probe=0 idle=60 intvl=10 cnt=5 user_timeout=0 kind=0x9 idle_ms=123456 err=-32");

	e = t_record(rec, "policy_applied", 4, "10.0.0.1", 22, "10.0.0.2", 5555, 1, 4026531840u,
		     "ka", 0);
	t_set(rec, e, "trigger", 3);
	t_set(rec, e, "mode", 1);
	t_set(rec, e, "set", 0x1f);
	t_same(tep, "policy_applied: symbols and all flags", rec, 5000000ull,
	       "  <idle>-0  [001] ..s2.   0.005000: policy_applied: family=4 src=10.0.0.1:22 dst=10.0.0.2:5555 cgroup=1 netns=4026531840 policy=ka probe=0 idle=60 intvl=10 cnt=5 user_timeout=0 trigger=setsockopt mode=override set=idle,intvl,cnt,user_timeout,keepalive");
	t_set(rec, e, "trigger", 0);
	t_set(rec, e, "mode", 0);
	t_set(rec, e, "set", 0);
	t_same(tep, "policy_applied: no flags set is an empty set=", rec, 5000000ull,
	       "  <idle>-0  [001] ..s2.   0.005000: policy_applied: family=4 src=10.0.0.1:22 dst=10.0.0.2:5555 cgroup=1 netns=4026531840 policy=ka probe=0 idle=60 intvl=10 cnt=5 user_timeout=0 trigger=connect mode=fill set=");
	t_set(rec, e, "set", 0x45);
	memcpy(rec + t_field(e, "policy")->offset, "0123456789012345678901234567890", 31);
	t_same(tep, "policy_applied: unknown flags in hex; a 31-character all-digit policy name",
	       rec, 5000000ull,
	       "  <idle>-0  [001] ..s2.   0.005000: policy_applied: family=4 src=10.0.0.1:22 dst=10.0.0.2:5555 cgroup=1 netns=4026531840 policy=0123456789012345678901234567890 probe=0 idle=60 intvl=10 cnt=5 user_timeout=0 trigger=connect mode=fill set=idle,cnt,0x40");

	e = t_record(rec, "icmp_error", 4, "192.0.2.1", 41000, "", 443, 1, 4026531840u, "web", 1);
	t_set(rec, e, "err", 113);
	t_set(rec, e, "type", 3);
	t_set(rec, e, "code", 1);
	t_same(tep, "icmp_error; an address of no family is (einval)", rec, 131000000000ull,
	       "  <idle>-0  [000] ..s2.   131.000000: icmp_error: family=4 src=192.0.2.1:41000 dst=(einval) cgroup=1 netns=4026531840 policy=web probe=1 idle=60 intvl=10 cnt=5 user_timeout=0 err=113 type=3 code=1");

	snprintf(t, sizeof(t), "%.6f", kap_ns_to_ts(1999999500ull));
	t_eq("timestamps round to the microsecond, as the trace's text does", "2.000000", t);
}

/* kap_ip6_text against what the kernel's %pI6c prints */
static void t_ip6(void)
{
	static const char *const cases[][2] = {
		{ "2001:db8::1", "2001:db8::1" },
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
		{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
		{ "fe80::1:2", "fe80::1:2" },
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
		{ "::1.2.3.4", "::102:304" },
		{ "fe80::200:5efe:c000:201", "fe80::200:5efe:192.0.2.1" },
		{ "fe80::5efe:c000:201", "fe80::5efe:192.0.2.1" },
		{ "2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::" },
		{ "abcd:ef01:2345:6789:abcd:ef01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
	};
	uint8_t a[16];
	char buf[64], what[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		inet_pton(AF_INET6, cases[i][0], a);
		kap_ip6_text(a, buf, sizeof(buf));
		snprintf(what, sizeof(what), "%%pI6c of %s", cases[i][0]);
		t_eq(what, cases[i][1], buf);
	}
}

/* ---- sub-buffers -------------------------------------------------------- */

#define T_SUBBUF	4096
#define T_MISSED	(1ULL << 31)
#define T_STORED	(1ULL << 30)

/* A sub-buffer with records at time ts0 + deltas (ns); missed: <0 unknown count. */
static void t_subbuf(char *page, unsigned long long ts0, uint8_t recs[][T_RECORD_SIZE],
		     const unsigned int *deltas, int n, long long missed)
{
	unsigned long long commit = 0;
	char *data = page + 16;
	int i;

	memset(page, 0, T_SUBBUF);
	memcpy(page, &ts0, 8);
	for (i = 0; i < n; i++) {
		uint32_t hdr = (uint32_t)deltas[i] << 5;	/* type_len 0: length follows */
		uint32_t len = T_RECORD_SIZE + 4;

		memcpy(data + commit, &hdr, 4);
		memcpy(data + commit + 4, &len, 4);
		memcpy(data + commit + 8, recs[i], T_RECORD_SIZE);
		commit += 8 + T_RECORD_SIZE;
	}
	if (missed > 0) {
		memcpy(data + commit, &missed, 8);
		commit |= T_STORED;
	}
	if (missed)
		commit |= T_MISSED;
	memcpy(page + 8, &commit, 8);
}

/* A CPU's reads: queued sub-buffers, then "no data" (or err). */
struct t_fake {
	char pages[4][T_SUBBUF];
	int n, next;
	int err;
};

static struct t_fake t_fakes[2];

static int t_cpu_read(struct tracefs_cpu *tcpu, void *buffer, bool nonblock)
{
	struct t_fake *f = (struct t_fake *)tcpu;

	(void)nonblock;
	if (f->err) {
		errno = f->err;
		return -1;
	}
	if (f->next >= f->n)
		return 0;	/* EAGAIN, as tracefs_cpu_read says it */
	memcpy(buffer, f->pages[f->next++], T_SUBBUF);
	return T_SUBBUF;
}

/* One kap_read_round(): what it printed; *rc its return. */
static char *t_round(struct kap_watch *w, int *rc)
{
	FILE *saved = stdout;
	char *out = NULL;
	size_t len = 0;
	bool more;

	stdout = open_memstream(&out, &len);
	*rc = kap_read_round(w, &more);
	fclose(stdout);
	stdout = saved;
	return out;
}

static void t_stats(const char *dir, int cpu, unsigned int overrun)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/per_cpu/cpu%d", dir, cpu);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", dir, cpu);
	f = fopen(path, "w");
	fprintf(f, "entries: 0\noverrun: %u\ncommit overrun: 0\nbytes: 0\n", overrun);
	fclose(f);
}

static void t_subbufs(struct tep_handle *tep)
{
	static const unsigned int d01[] = { 0, 1000 }, d0[] = { 0 };
	char dir[] = "/tmp/kapctl-watch-raw-XXXXXX", path[512], *out;
	uint8_t recs[2][T_RECORD_SIZE];
	struct pollfd pfds[2];
	struct kap_cpu cpus[2];
	struct kap_watch w = { 0 };
	int i, rc;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/per_cpu", dir);
	mkdir(path, 0755);
	t_stats(dir, 0, 3);
	t_stats(dir, 1, 0);
	tracefs_set_tracing_dir(dir);	/* kap_live.inst NULL: the top level, here */

	memset(cpus, 0, sizeof(cpus));
	memset(t_fakes, 0, sizeof(t_fakes));
	kap_live.tep = tep;
	kap_live.cpus = cpus;
	kap_live.pfds = pfds;
	kap_live.ncpus = 2;
	kap_live.subbuf_size = T_SUBBUF;
	for (i = 0; i < 2; i++) {
		cpus[i].cpu = i;
		cpus[i].fd = 100 + i;
		cpus[i].tcpu = (struct tracefs_cpu *)&t_fakes[i];
		cpus[i].kbuf = kbuffer_alloc(KBUFFER_LSIZE_8, KBUFFER_ENDIAN_SAME_AS_HOST);
		cpus[i].subbufs = calloc(KAP_ROUND_SUBBUFS, T_SUBBUF);
		pfds[i].fd = cpus[i].fd;
		pfds[i].events = POLLIN;
	}
	/* CPU 0: two events 1 us apart, then 3 lost (counted), then one */
	t_record(recs[0], "probe_sent", 4, "192.0.2.1", 1, "192.0.2.2", 80, 1, 1, "-", 1);
	t_record(recs[1], "probe_sent", 4, "192.0.2.1", 2, "192.0.2.2", 80, 1, 1, "-", 1);
	t_subbuf(t_fakes[0].pages[0], 5000000000ull, recs, d01, 2, 0);
	t_record(recs[0], "probe_sent", 4, "192.0.2.1", 4, "192.0.2.2", 80, 1, 1, "-", 1);
	t_subbuf(t_fakes[0].pages[1], 7000000000ull, recs, d0, 1, 3);
	t_fakes[0].n = 2;
	/* CPU 1: one event between CPU 0's first two and its last */
	t_record(recs[0], "probe_sent", 4, "192.0.2.1", 3, "192.0.2.2", 80, 1, 1, "-", 1);
	t_subbuf(t_fakes[1].pages[0], 5000000500ull, recs, d0, 1, 0);
	t_fakes[1].n = 1;
	out = t_round(&w, &rc);
	t_eq("two CPUs' sub-buffers: time order, the loss before the event it preceded",
	     "5.000000 probe_sent     192.0.2.1:1 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n"
	     "5.000001 probe_sent     192.0.2.1:3 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n"
	     "5.000001 probe_sent     192.0.2.1:2 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n"
	     "lost 3 events on CPU 0: the trace buffer overflowed\n"
	     "7.000000 probe_sent     192.0.2.1:4 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n",
	     out);
	free(out);

	/* a loss whose count did not fit: the overrun statistic's news */
	t_stats(dir, 0, 10);
	t_subbuf(t_fakes[0].pages[0], 8000000000ull, recs, d0, 1, -1);
	t_fakes[0].n = 1;
	t_fakes[0].next = 0;
	kap_json = true;
	out = t_round(&w, &rc);
	kap_json = false;
	t_eq("a loss without its count: what overrun adds (10 - 3), JSON",
	     "{\"event\":\"lost\",\"cpu\":0,\"count\":7,\"format_version\":1}\n"
	     "{\"ts\":8.000000,\"event\":\"probe_sent\",\"family\":4,\"src\":\"192.0.2.1:3\",\"src_addr\":\"192.0.2.1\",\"src_port\":3,\"dst\":\"192.0.2.2:80\",\"dst_addr\":\"192.0.2.2\",\"dst_port\":80,\"cgroup\":1,\"netns\":1,\"policy\":null,\"probe\":1,\"idle\":60,\"intvl\":10,\"cnt\":5,\"user_timeout\":0,\"format_version\":1}\n",
	     out);
	free(out);
	snprintf(path, sizeof(path), "%" PRIu64, w.lost);
	t_eq("the losses are counted once (3 + 7)", "10", path);

	/* a counted loss that overrun already showed is not reported again */
	t_subbuf(t_fakes[0].pages[0], 9000000000ull, recs, d0, 1, 5);
	t_fakes[0].next = 0;
	out = t_round(&w, &rc);
	t_eq("a count overrun already showed: not reported twice",
	     "9.000000 probe_sent     192.0.2.1:3 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n",
	     out);
	free(out);

	/* a CPU without a buffer (possible, not online): read, not polled */
	t_fakes[1].err = ENODEV;
	t_fakes[0].next = 0;
	out = t_round(&w, &rc);
	snprintf(path, sizeof(path), "%d %d %d %d", rc, (int)strlen(out) > 0, pfds[0].fd,
		 pfds[1].fd);
	t_eq("ENODEV: the other CPUs go on, that one is no longer polled", "0 1 100 -1", path);
	free(out);
	t_fakes[1].err = 0;
	t_fakes[1].next = 0;
	t_fakes[0].n = 0;
	out = t_round(&w, &rc);
	snprintf(path, sizeof(path), "%d %d", rc, pfds[1].fd);
	t_eq("... and polled again once it has data", "0 101", path);
	t_eq("... which is printed", "5.000001 probe_sent     192.0.2.1:3 -> 192.0.2.2:80 cgroup=1 netns=1 policy=- probe=1 idle=60 intvl=10 cnt=5 user_timeout=0\n",
	     out);
	free(out);
	t_fakes[0].err = EIO;
	out = t_round(&w, &rc);
	t_eq("another read error ends watch", "-1", rc == -1 ? "-1" : "not -1");
	free(out);

	/* --count: stops in the middle of a round */
	memset(t_fakes, 0, sizeof(t_fakes));
	t_record(recs[0], "probe_sent", 4, "192.0.2.1", 1, "192.0.2.2", 80, 1, 1, "-", 1);
	t_record(recs[1], "timeout", 4, "192.0.2.1", 2, "192.0.2.2", 80, 1, 1, "-", 1);
	t_subbuf(t_fakes[0].pages[0], 5000000000ull, recs, d01, 2, 0);
	t_fakes[0].n = 1;
	w.count = w.printed + 1;
	out = t_round(&w, &rc);
	snprintf(path, sizeof(path), "%d %d", rc, (int)(strchr(out, '\n') - out + 1 == (long)strlen(out)));
	t_eq("--count: kap_read_round says stop after the Nth event, one line", "1 1", path);
	free(out);

	for (i = 0; i < 2; i++) {
		kbuffer_free(cpus[i].kbuf);
		free(cpus[i].subbufs);
	}
	kap_live.cpus = NULL;
	kap_live.pfds = NULL;
	kap_live.ncpus = 0;
	kap_live.tep = NULL;
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path))
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	struct tep_handle *tep;

	tep_set_loglevel(TEP_LOG_NONE);
	tep = t_tep();
	if (!tep) {
		printf("Bail out! libtraceevent refused the test's formats\n");
		return 1;
	}
	t_records(tep);
	t_ip6();
	t_subbufs(tep);
	tep_free(tep);
	printf("1..%d\n", t_n);
	return t_failed;
}
