/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kapolicy trace events (system "kapolicy"), documented in
 * sysfs/ABI/trace-events-kapolicy.  Every event describes one socket with
 * the same leading fields:
 *
 *   family        4 or 6
 *   src, dst      local and remote address:port
 *   cgroup        cgroup v2 id of the socket's cgroup
 *   netns         inode number of the socket's network namespace
 *   policy        the governing policy's name, "-" for none
 *   probe         the probe the event is about (1 = first of an idle period)
 *   idle, intvl   keepalive time and interval in force, seconds
 *   cnt           probe count in force
 *   user_timeout  TCP_USER_TIMEOUT in force, ms (0: not set)
 *
 * and some add their own (rtt_us, err, ...).  The text form is
 * "key=value" pairs separated by spaces, for people and for kapctl watch.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kapolicy

#if !defined(KAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KAP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/in6.h>

#include "events.h"
#include "parse.h"
#include "socks.h"
#include "stats.h"

/* The values printed by name: the enums are defined once (events.h, socks.h) */
TRACE_DEFINE_ENUM(KAP_TRIGGER_CONNECT);
TRACE_DEFINE_ENUM(KAP_TRIGGER_ACCEPT);
TRACE_DEFINE_ENUM(KAP_TRIGGER_EXISTING);
TRACE_DEFINE_ENUM(KAP_TRIGGER_SETSOCKOPT);
TRACE_DEFINE_ENUM(KAP_TRIGGER_REVERT);
TRACE_DEFINE_ENUM(KAP_MODE_FILL);
TRACE_DEFINE_ENUM(KAP_MODE_OVERRIDE);
TRACE_DEFINE_ENUM(KAP_F_IDLE);
TRACE_DEFINE_ENUM(KAP_F_INTVL);
TRACE_DEFINE_ENUM(KAP_F_CNT);
TRACE_DEFINE_ENUM(KAP_F_USER_TIMEOUT);
TRACE_DEFINE_ENUM(KAP_F_KEEPALIVE);
TRACE_DEFINE_ENUM(KAP_DEATH_RESET);
TRACE_DEFINE_ENUM(KAP_DEATH_RETRANS);
TRACE_DEFINE_ENUM(KAP_DEATH_KEEPALIVE);

#define KAP_TP_SOCK_FIELDS						\
	__field(u16, family)						\
	__array(u8, src, sizeof(struct sockaddr_in6))			\
	__array(u8, dst, sizeof(struct sockaddr_in6))			\
	__field(u64, cgroup)						\
	__field(u32, netns)						\
	__array(char, policy, KAP_NAME_MAX)				\
	__field(u32, probe)						\
	__field(u32, idle)						\
	__field(u32, intvl)						\
	__field(u32, cnt)						\
	__field(u32, user_timeout)

#define KAP_TP_SOCK_ASSIGN(ev)						\
	do {								\
		const struct kap_event *__ev = (ev);			\
		struct kap_sock_info __i;				\
									\
		kap_event_sock_info(__ev, &__i);			\
		__entry->family = __i.family;				\
		memcpy(__entry->src, &__i.src, sizeof(__entry->src));	\
		memcpy(__entry->dst, &__i.dst, sizeof(__entry->dst));	\
		__entry->cgroup = __i.cgroup;				\
		__entry->netns = __i.netns;				\
		strscpy(__entry->policy, __i.policy,			\
			sizeof(__entry->policy));			\
		__entry->probe = __ev->probe;				\
		__entry->idle = __i.idle;				\
		__entry->intvl = __i.intvl;				\
		__entry->cnt = __i.cnt;					\
		__entry->user_timeout = __i.user_timeout;		\
	} while (0)

#define KAP_TP_SOCK_FMT							\
	"family=%u src=%pISpc dst=%pISpc cgroup=%llu netns=%u policy=%s "	\
	"probe=%u idle=%u intvl=%u cnt=%u user_timeout=%u"

#define KAP_TP_SOCK_ARGS						\
	__entry->family, __entry->src, __entry->dst, __entry->cgroup,	\
	__entry->netns, __entry->policy, __entry->probe, __entry->idle,	\
	__entry->intvl, __entry->cnt, __entry->user_timeout

DECLARE_EVENT_CLASS(kap_sock_class,
		    TP_PROTO(const struct kap_event *ev),
		    TP_ARGS(ev),
		    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS),
		    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);),
		    TP_printk(KAP_TP_SOCK_FMT, KAP_TP_SOCK_ARGS)
);

/* A keepalive probe left: the keepalive timer will count it against cnt. */
DEFINE_EVENT(kap_sock_class, probe_sent,
	     TP_PROTO(const struct kap_event *ev),
	     TP_ARGS(ev)
);

/* A probe could not leave (local congestion); the timer retries soon. */
DEFINE_EVENT(kap_sock_class, probe_deferred,
	     TP_PROTO(const struct kap_event *ev),
	     TP_ARGS(ev)
);

/* The peer answered a probe with a RST: it lost the connection (reboot). */
DEFINE_EVENT(kap_sock_class, peer_reset,
	     TP_PROTO(const struct kap_event *ev),
	     TP_ARGS(ev)
);

/* The peer acknowledged the probe; rtt_us is the time it took. */
TRACE_EVENT(probe_answered,
	    TP_PROTO(const struct kap_event *ev, u32 rtt_us),
	    TP_ARGS(ev, rtt_us),
	    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS
			     __field(u32, rtt_us)),
	    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);
			   __entry->rtt_us = rtt_us;),
	    TP_printk(KAP_TP_SOCK_FMT " rtt_us=%u", KAP_TP_SOCK_ARGS,
		      __entry->rtt_us)
);

/*
 * The network answered a probe with an ICMP error (type/code as received,
 * err the errno it means).  TCP drops such errors as out of window, so the
 * application does not see them: this event is where they become visible.
 */
TRACE_EVENT(icmp_error,
	    TP_PROTO(const struct kap_event *ev, int err, u8 type, u8 code),
	    TP_ARGS(ev, err, type, code),
	    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS
			     __field(int, err)
			     __field(u8, type)
			     __field(u8, code)),
	    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);
			   __entry->err = err;
			   __entry->type = type;
			   __entry->code = code;),
	    TP_printk(KAP_TP_SOCK_FMT " err=%d type=%u code=%u",
		      KAP_TP_SOCK_ARGS, __entry->err, __entry->type,
		      __entry->code)
);

/*
 * Keepalive gave up and reset the connection.  err is the error the
 * application sees (ETIMEDOUT, 110); by says what ended it: "probes" (cnt
 * probes unanswered) or "user_timeout" (TCP_USER_TIMEOUT elapsed);
 * icmp_err is the errno of an ICMP error that answered a probe of this
 * period (0: none), i.e. the network reported the peer unreachable.
 */
TRACE_EVENT(timeout,
	    TP_PROTO(const struct kap_event *ev, int err, bool user_timeout,
		     int icmp_err),
	    TP_ARGS(ev, err, user_timeout, icmp_err),
	    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS
			     __field(int, err)
			     __field(u8, by_user_timeout)
			     __field(int, icmp_err)),
	    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);
			   __entry->err = err;
			   __entry->by_user_timeout = user_timeout;
			   __entry->icmp_err = icmp_err;),
	    TP_printk(KAP_TP_SOCK_FMT " err=%d by=%s icmp_err=%d",
		      KAP_TP_SOCK_ARGS, __entry->err,
		      __entry->by_user_timeout ? "user_timeout" : "probes",
		      __entry->icmp_err)
);

/*
 * An established connection died after idle_ms without a segment
 * received: kind "reset" (a RST answered the first segment sent after the
 * idle period, or a keepalive probe), "retrans" (that segment was never
 * acknowledged; the retransmission timeout ended the connection) or
 * "keepalive" (probes unanswered; idle_ms is the idle time before the
 * first probe).  err is the error the application sees.
 */
TRACE_EVENT(idle_death,
	    TP_PROTO(const struct kap_event *ev, u8 kind, u32 idle_ms, int err),
	    TP_ARGS(ev, kind, idle_ms, err),
	    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS
			     __field(u8, kind)
			     __field(u32, idle_ms)
			     __field(int, err)),
	    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);
			   __entry->kind = kind;
			   __entry->idle_ms = idle_ms;
			   __entry->err = err;),
	    TP_printk(KAP_TP_SOCK_FMT " kind=%s idle_ms=%u err=%d",
		      KAP_TP_SOCK_ARGS,
		      __print_symbolic(__entry->kind,
				       { KAP_DEATH_RESET, "reset" },
				       { KAP_DEATH_RETRANS, "retrans" },
				       { KAP_DEATH_KEEPALIVE, "keepalive" }),
		      __entry->idle_ms, __entry->err)
);

/*
 * A policy was applied to a connection, or taken back.  trigger: connect
 * or accept (the connection opened), existing (it was established before
 * the policy), setsockopt (the application's call was overruled), revert
 * (the policy was deleted: the values were put back).  set lists the
 * values written: idle, intvl, cnt, user_timeout, keepalive.
 */
TRACE_EVENT(policy_applied,
	    TP_PROTO(const struct kap_event *ev, u8 trigger, u8 mode, u8 set),
	    TP_ARGS(ev, trigger, mode, set),
	    TP_STRUCT__entry(KAP_TP_SOCK_FIELDS
			     __field(u8, trigger)
			     __field(u8, mode)
			     __field(u8, set)),
	    TP_fast_assign(KAP_TP_SOCK_ASSIGN(ev);
			   __entry->trigger = trigger;
			   __entry->mode = mode;
			   __entry->set = set;),
	    TP_printk(KAP_TP_SOCK_FMT " trigger=%s mode=%s set=%s",
		      KAP_TP_SOCK_ARGS,
		      __print_symbolic(__entry->trigger,
				       { KAP_TRIGGER_CONNECT, "connect" },
				       { KAP_TRIGGER_ACCEPT, "accept" },
				       { KAP_TRIGGER_EXISTING, "existing" },
				       { KAP_TRIGGER_SETSOCKOPT, "setsockopt" },
				       { KAP_TRIGGER_REVERT, "revert" }),
		      __print_symbolic(__entry->mode,
				       { KAP_MODE_FILL, "fill" },
				       { KAP_MODE_OVERRIDE, "override" }),
		      __print_flags(__entry->set, ",",
				    { KAP_F_IDLE, "idle" },
				    { KAP_F_INTVL, "intvl" },
				    { KAP_F_CNT, "cnt" },
				    { KAP_F_USER_TIMEOUT, "user_timeout" },
				    { KAP_F_KEEPALIVE, "keepalive" }))
);

#endif /* KAP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
