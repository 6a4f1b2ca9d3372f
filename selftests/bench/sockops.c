// SPDX-License-Identifier: GPL-2.0
/*
 * Loader of the benchmarks' baseline, selftests/bench/sockops.bpf.c: the
 * BPF sock_ops program that gives new TCP connections on a range of ports
 * keepalive values, what users would pick instead of kapolicy.
 *
 *   sockops OBJ CGROUP_DIR FIRST_PORT NPORTS IDLE INTVL CNT
 *
 * Loads OBJ (clang -O2 -g -target bpf), fills its map "ports" with
 * FIRST_PORT .. FIRST_PORT+NPORTS-1 -> IDLE, INTVL, CNT (seconds, seconds,
 * probes), attaches the program to the cgroup v2 directory CGROUP_DIR
 * (a BPF link: it goes away with the process), prints "ready" on stdout,
 * and waits for SIGTERM or SIGINT.  Then it detaches the program, prints
 * "sockops: N connections set" on stderr (and "sockops: N setsockopt
 * failures" if there were any) and exits 0.  Any failure: one line on
 * stderr, exit 1.  libbpf's own messages are shown only with
 * SOCKOPS_DEBUG=1 in the environment.
 *
 *   gcc -O2 -Wall -Wextra -o sockops sockops.c -lbpf
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* as in sockops.bpf.c */
struct keepalive {
	__u32 idle;
	__u32 intvl;
	__u32 cnt;
};

enum { STAT_SET, STAT_FAILED, STAT_MAX };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* the text of ERR, an errno or one of libbpf's own (LIBBPF_ERRNO__*) */
static const char *errstr(int err)
{
	static char buf[128];

	libbpf_strerror(err, buf, sizeof(buf));
	return buf;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "sockops: %s: %s\n", what, errstr(err));
	exit(1);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

/* NAME's value from S, in [MIN, MAX], or exit */
static unsigned long number(const char *name, const char *s,
			    unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, "sockops: %s: not a number in %lu..%lu: %s\n",
			name, min, max, s);
		exit(1);
	}
	return v;
}

/* the sum over the CPUs of the per-CPU counter STAT of the map FD */
static unsigned long long stat_sum(int fd, __u32 stat, int ncpus)
{
	unsigned long long sum = 0;
	__u64 *v;
	int i;

	v = calloc(ncpus, sizeof(*v));
	if (!v)
		fail("reading the counters", ENOMEM);
	if (bpf_map_lookup_elem(fd, &stat, v))
		fail("reading the counters", errno);
	for (i = 0; i < ncpus; i++)
		sum += v[i];
	free(v);
	return sum;
}

int main(int argc, char **argv)
{
	unsigned long first, nports, p;
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_map *ports, *stats;
	struct keepalive ka;
	struct sigaction sa;
	sigset_t block, old;
	int cg, err, ncpus;
	unsigned long long set, failed;

	if (argc != 8) {
		fprintf(stderr, "usage: sockops OBJ CGROUP_DIR FIRST_PORT NPORTS IDLE INTVL CNT\n");
		return 1;
	}
	/* the ranges the kernel accepts (MAX_TCP_KEEPIDLE and the others) */
	first = number("FIRST_PORT", argv[3], 1, 65535);
	nports = number("NPORTS", argv[4], 1, 4096);
	if (first + nports - 1 > 65535) {
		fprintf(stderr, "sockops: FIRST_PORT+NPORTS-1 is beyond 65535\n");
		return 1;
	}
	ka.idle = number("IDLE", argv[5], 1, 32767);
	ka.intvl = number("INTVL", argv[6], 1, 32767);
	ka.cnt = number("CNT", argv[7], 1, 127);

	if (!getenv("SOCKOPS_DEBUG"))
		libbpf_set_print(NULL);
	else
		libbpf_set_print(libbpf_print);

	/* the signals wait, blocked, until sigsuspend() below */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &old))
		fail("sigprocmask", errno);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		fail("sigaction", errno);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "sockops: opening %s: %s\n", argv[1],
			errstr(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "keepalive_ports");
	ports = bpf_object__find_map_by_name(obj, "ports");
	stats = bpf_object__find_map_by_name(obj, "stats");
	if (!prog || !ports || !stats) {
		fprintf(stderr, "sockops: %s has no program keepalive_ports or no map ports or stats\n",
			argv[1]);
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "sockops: loading %s: %s%s\n", argv[1],
			errstr(-err),
			getenv("SOCKOPS_DEBUG") ? "" :
			" (SOCKOPS_DEBUG=1 shows libbpf's messages)");
		return 1;
	}

	for (p = first; p < first + nports; p++) {
		__u32 key = p;

		if (bpf_map__update_elem(ports, &key, sizeof(key), &ka,
					 sizeof(ka), BPF_NOEXIST))
			fail("filling the map ports", errno);
	}

	cg = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		fprintf(stderr, "sockops: opening the cgroup %s: %s\n",
			argv[2], strerror(errno));
		return 1;
	}
	link = bpf_program__attach_cgroup(prog, cg);
	if (!link) {
		err = errno;
		fprintf(stderr, "sockops: attaching to the cgroup %s: %s%s\n",
			argv[2], errstr(err),
			err == EBADF ? " (not a cgroup v2 directory?)" : "");
		return 1;
	}

	printf("ready\n");
	if (fflush(stdout))
		fail("writing ready", errno);

	while (!stop)
		sigsuspend(&old);

	err = bpf_link__destroy(link);
	if (err)
		fail("detaching from the cgroup", -err);
	close(cg);

	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		fail("counting the CPUs", -ncpus);
	set = stat_sum(bpf_map__fd(stats), STAT_SET, ncpus);
	failed = stat_sum(bpf_map__fd(stats), STAT_FAILED, ncpus);
	fprintf(stderr, "sockops: %llu connections set\n", set);
	if (failed)
		fprintf(stderr, "sockops: %llu setsockopt failures\n", failed);
	bpf_object__close(obj);
	return 0;
}
