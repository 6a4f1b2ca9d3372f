/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, force-included into every object of the
 * module by Kbuild.  The rest of the code is written against the newest
 * supported kernel (6.12) and never tests LINUX_VERSION_CODE itself; what an
 * older kernel lacks is provided here under the newer name.
 */
#ifndef KAP_COMPAT_H
#define KAP_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "kapolicy supports Linux 6.1 and later"
#endif

/*
 * The ephemeral port range of a namespace, read without a lock from any
 * context.  Before 6.8 inet_get_local_port_range() takes a seqlock whose
 * reader blocks on PREEMPT_RT while a writer is active; the two ints it
 * guards are read here as 6.8's single u32 is: each READ_ONCE, a range torn
 * by a concurrent sysctl write lasts one call.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#include <net/net_namespace.h>

static inline void kap_local_port_range(const struct net *net, int *low,
					int *high)
{
	*low = READ_ONCE(net->ipv4.ip_local_ports.range[0]);
	*high = READ_ONCE(net->ipv4.ip_local_ports.range[1]);
}
#else
#include <net/ip.h>

static inline void kap_local_port_range(const struct net *net, int *low,
					int *high)
{
	inet_get_local_port_range(net, low, high);
}
#endif

/*
 * How long ago, in ms, a TCP timestamp of the socket's clock was taken
 * (tp->retrans_stamp).  6.7 added microsecond timestamps (tcp_usec_ts),
 * in which unit such a stamp then is; before, it is always in ms.
 */
#include <net/tcp.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
static inline u32 kap_tcp_ts_age_ms(const struct tcp_sock *tp, u32 stamp)
{
	return tcp_time_stamp_raw() - stamp;
}
#else
static inline u32 kap_tcp_ts_age_ms(const struct tcp_sock *tp, u32 stamp)
{
	bool usec = tp->tcp_usec_ts;
	u32 d = tcp_clock_ts(usec) - stamp;

	return usec ? d / USEC_PER_MSEC : d;
}
#endif

#endif /* KAP_COMPAT_H */
