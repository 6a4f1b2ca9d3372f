// SPDX-License-Identifier: GPL-2.0
/*
 * The kapolicy trace events (trace.h, documented in
 * sysfs/ABI/trace-events-kapolicy): the one place they are instantiated,
 * and what they read off a socket.  Runs in the hook's context; reads
 * socket fields without the socket lock.
 */
#include <linux/cgroup.h>
#include <net/inet_sock.h>
#include <net/tcp.h>

#include "events.h"
#include "socks.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* What an event says about its socket (only when the event is enabled). */
void kap_event_sock_info(const struct kap_event *ev, struct kap_sock_info *i)
{
	const struct sock *sk = ev->sk;
	const struct inet_sock *inet = inet_sk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);

	memset(&i->src, 0, sizeof(i->src));
	memset(&i->dst, 0, sizeof(i->dst));
	if (kap_sock_is_v4(sk)) {
		struct sockaddr_in *s = (struct sockaddr_in *)&i->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&i->dst;

		i->family = 4;
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = inet->inet_rcv_saddr;
		s->sin_port = inet->inet_sport;
		d->sin_family = AF_INET;
		d->sin_addr.s_addr = inet->inet_daddr;
		d->sin_port = inet->inet_dport;
	} else {
		i->family = 6;
		i->src.sin6_family = AF_INET6;
		i->dst.sin6_family = AF_INET6;
#if IS_ENABLED(CONFIG_IPV6)
		i->src.sin6_addr = sk->sk_v6_rcv_saddr;
		i->dst.sin6_addr = sk->sk_v6_daddr;
#endif
		i->src.sin6_port = inet->inet_sport;
		i->dst.sin6_port = inet->inet_dport;
	}
	i->cgroup = cgroup_id(sock_cgroup_ptr((struct sock_cgroup_data *)&sk->sk_cgrp_data));
	i->netns = sock_net(sk)->ns.inum;
	i->policy = ev->policy ?: "-";
	i->idle = keepalive_time_when(tp) / HZ;
	i->intvl = keepalive_intvl_when(tp) / HZ;
	i->cnt = keepalive_probes(tp);
	i->user_timeout = READ_ONCE(inet_csk(sk)->icsk_user_timeout);
}
