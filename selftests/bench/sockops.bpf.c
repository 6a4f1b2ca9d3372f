// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks' baseline, what users would pick instead of kapolicy: a
 * BPF sock_ops program, attached to a cgroup v2 by selftests/bench/sockops.c,
 * that turns keepalive on, with the idle time, interval and count of the
 * map "ports", for every TCP connection of the cgroup that becomes
 * established with a local or (if the local one is not there) remote port
 * in that map.
 *
 * Built with uapi headers only (no vmlinux.h; the multiarch directory for
 * <asm/types.h>):
 *   clang -O2 -g -target bpf -I/usr/include/$(gcc -dumpmachine) \
 *	-c sockops.bpf.c -o sockops.bpf.o
 *
 * The map "stats" (per CPU) counts the connections set (STAT_SET) and those
 * where a bpf_setsockopt() failed (STAT_FAILED), for the loader's report.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* <sys/socket.h> and <netinet/tcp.h> do not build for the BPF target */
#define SOL_SOCKET	1
#define SO_KEEPALIVE	9
#define SOL_TCP		6
#define TCP_KEEPIDLE	4
#define TCP_KEEPINTVL	5
#define TCP_KEEPCNT	6

struct keepalive {
	__u32 idle;	/* seconds before the first probe */
	__u32 intvl;	/* seconds between probes */
	__u32 cnt;	/* probes unanswered before the connection is dropped */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);		/* port, host byte order */
	__type(value, struct keepalive);
} ports SEC(".maps");

enum { STAT_SET, STAT_FAILED, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * remote_port holds the 16-bit port in network byte order such that the
 * 32-bit field's bytes are those of the port as a big-endian 32-bit number:
 * on a little-endian machine the kernel loads the port and shifts it left
 * by 16 (net/core/filter.c, sock_ops_convert_ctx_access() in 6.1),
 * so bpf_ntohl() gives it.  Should a kernel leave it in the lower half
 * unshifted, the upper half is zero: bpf_ntohs() of the lower one then.
 */
static __always_inline __u32 remote_port(const struct bpf_sock_ops *skops)
{
	__u32 p = skops->remote_port;

	if (p >> 16)
		return bpf_ntohl(p);
	return bpf_ntohs((__u16)p);
}

static __always_inline int set(struct bpf_sock_ops *skops, int level,
			       int name, int val)
{
	return bpf_setsockopt(skops, level, name, &val, sizeof(val));
}

SEC("sockops")
int keepalive_ports(struct bpf_sock_ops *skops)
{
	struct keepalive *ka;
	__u32 port;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;

	port = skops->local_port;
	ka = bpf_map_lookup_elem(&ports, &port);
	if (!ka) {
		port = remote_port(skops);
		ka = bpf_map_lookup_elem(&ports, &port);
		if (!ka)
			return 1;
	}

	if (set(skops, SOL_SOCKET, SO_KEEPALIVE, 1) ||
	    set(skops, SOL_TCP, TCP_KEEPIDLE, ka->idle) ||
	    set(skops, SOL_TCP, TCP_KEEPINTVL, ka->intvl) ||
	    set(skops, SOL_TCP, TCP_KEEPCNT, ka->cnt))
		count(STAT_FAILED);
	else
		count(STAT_SET);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
