/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a trace event is told about a socket, and how the socket's fixed
 * fields are read for it (only when the event is enabled).
 */
#ifndef KAP_EVENTS_H
#define KAP_EVENTS_H

#include <linux/in6.h>
#include <net/sock.h>

#include "parse.h"

/* Why a policy was applied (the policy_applied event's trigger). */
enum kap_trigger {
	KAP_TRIGGER_CONNECT,
	KAP_TRIGGER_ACCEPT,
	KAP_TRIGGER_EXISTING,
	KAP_TRIGGER_SETSOCKOPT,
	KAP_TRIGGER_REVERT,
};

struct kap_event {
	const struct sock *sk;
	const char *policy;	/* the governing policy's name; NULL: none */
	u32 probe;
};

struct kap_sock_info {
	u16 family;			/* 4 or 6 */
	struct sockaddr_in6 src;	/* or a struct sockaddr_in */
	struct sockaddr_in6 dst;
	u64 cgroup;
	u32 netns;
	const char *policy;
	u32 idle, intvl, cnt;		/* seconds, seconds, probes */
	u32 user_timeout;		/* ms */
};

void kap_event_sock_info(const struct kap_event *ev, struct kap_sock_info *i);

#endif /* KAP_EVENTS_H */
