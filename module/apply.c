// SPDX-License-Identifier: GPL-2.0
/*
 * What a policy does to a socket: the values it writes, how they are taken
 * back, and how later setsockopt() calls of the application are treated.
 *
 * The values are the socket's own: tp->keepalive_time and keepalive_intvl
 * (jiffies), keepalive_probes, icsk_user_timeout (ms), SOCK_KEEPOPEN - the
 * fields TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT and
 * SO_KEEPALIVE set.  0 in the first four means "unset: the namespace's
 * sysctl applies", so a value that is not 0 is the application's own.
 *
 *   fill      writes the values the application has not set, and switches
 *             keepalive on (keepalive=on) where it is off
 *   override  writes every value the policy gives; a later setsockopt() of
 *             one of them is overruled (written again, counted in
 *             app_overrides, traced) and what the application asked for is
 *             remembered
 *   revert    (policy deleted) puts back what the application had, or 0
 *
 * The per-socket state (socks.c) records the governing policy, which
 * values kapolicy wrote (and what it wrote) and the application's own
 * values.  A revert puts back only a value that still holds what kapolicy
 * wrote: one the application set since stands, even if kapolicy never saw
 * the call (MPTCP, bpf_setsockopt(), a missed hook).
 *
 * Every write happens where the kernel writes these fields, with the socket
 * owned, so no write races TCP's own (sk_flags included) or a revert:
 *   - when a connection reaches ESTABLISHED or CLOSE (tracepoint): the
 *     context owns the socket (bh-locked in softirq, or owned by a task);
 *   - on existing connections (kap_reconcile, process context): under
 *     lock_sock(), walking every namespace's established hash table;
 *   - after the application's setsockopt(): a kretprobe sees a TCP option
 *     return and queues a work item that runs under lock_sock()
 *     (kap_overrule()); its SO_KEEPALIVE is seen inside the call, under
 *     the lock (kap_app_keepalive()), where the work item is queued: it
 *     takes the lock once the call has released it.
 * The kernel's setters (tcp_sock_set_keepidle(), sock_set_keepalive() ...)
 * take lock_sock() and may sleep, so none is called from a hook.
 */
#include <linux/cgroup.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/tcp.h>

#include "apply.h"
#include "events.h"
#include "kapolicy.h"
#include "socks.h"
#include "stats.h"
#include "table.h"
#include "trace.h"

#define KAP_WALK_BATCH		64	/* sockets locked per bucket pass */
#define KAP_WALK_HASHINFOS	64	/* distinct ehash tables per pass */

static bool kap_enforce = true;

/* Policies are applied (1, the default) or only observed (0). */
bool kap_apply_enforcing(void)
{
	return READ_ONCE(kap_enforce);
}

/* The caller reconciles: nothing changes on sockets until it does. */
void kap_apply_set_enforce(bool on)
{
	WRITE_ONCE(kap_enforce, on);
}

/* ---- the socket's keepalive values -------------------------------------- */

struct kap_values {
	u32 idle;		/* jiffies; 0: unset */
	u32 intvl;		/* jiffies; 0: unset */
	u8 cnt;			/* 0: unset */
	u32 user_timeout;	/* ms; 0: unset */
	bool keepalive;		/* SOCK_KEEPOPEN */
};

static void kap_read(const struct sock *sk, struct kap_values *v)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	v->idle = READ_ONCE(tp->keepalive_time);
	v->intvl = READ_ONCE(tp->keepalive_intvl);
	v->cnt = READ_ONCE(tp->keepalive_probes);
	v->user_timeout = READ_ONCE(inet_csk(sk)->icsk_user_timeout);
	v->keepalive = sock_flag(sk, SOCK_KEEPOPEN);
}

/*
 * Re-arms the keepalive timer for the idle time now in force, as
 * TCP_KEEPIDLE does (tcp_sock_set_keepidle_locked()).
 */
static void kap_keepalive_rearm(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u32 when, elapsed;

	if (!sock_flag(sk, SOCK_KEEPOPEN) ||
	    ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)))
		return;
	when = keepalive_time_when(tp);
	elapsed = keepalive_time_elapsed(tp);
	inet_csk_reset_keepalive_timer(sk, when > elapsed ? when - elapsed : 0);
}

/*
 * SO_KEEPALIVE, as sk_setsockopt() and tcp_set_keepalive() do it; the timer
 * is left alone on a connection that is closing.
 */
static void kap_set_keepalive(struct sock *sk, bool on, bool closing)
{
	if (!closing && !((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))) {
		if (on && !sock_flag(sk, SOCK_KEEPOPEN))
			inet_csk_reset_keepalive_timer(sk,
						       keepalive_time_when(tcp_sk(sk)));
		else if (!on)
			inet_csk_delete_keepalive_timer(sk);
	}
	if (on)
		sock_set_flag(sk, SOCK_KEEPOPEN);
	else
		sock_reset_flag(sk, SOCK_KEEPOPEN);
}

/* Writes the fields of v; closing: sk is closing, its timers stay as they are. */
static void kap_write(struct sock *sk, const struct kap_values *v, u8 fields,
		      bool closing)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (fields & KAP_F_INTVL)
		WRITE_ONCE(tp->keepalive_intvl, v->intvl);
	if (fields & KAP_F_CNT)
		WRITE_ONCE(tp->keepalive_probes, v->cnt);
	if (fields & KAP_F_USER_TIMEOUT)
		WRITE_ONCE(inet_csk(sk)->icsk_user_timeout, v->user_timeout);
	if (fields & KAP_F_KEEPALIVE)
		kap_set_keepalive(sk, v->keepalive, closing);
	if (fields & KAP_F_IDLE) {
		WRITE_ONCE(tp->keepalive_time, v->idle);
		if (!closing)
			kap_keepalive_rearm(sk);
	}
}

/* dst takes src's values of fields. */
static void kap_copy_field(struct kap_values *dst, const struct kap_values *src,
			   u8 fields)
{
	if (fields & KAP_F_IDLE)
		dst->idle = src->idle;
	if (fields & KAP_F_INTVL)
		dst->intvl = src->intvl;
	if (fields & KAP_F_CNT)
		dst->cnt = src->cnt;
}

/* user_timeout=auto: idle + intvl * cnt of the values v puts in force. */
static u32 kap_auto_user_timeout(const struct sock *sk,
				 const struct kap_values *v)
{
	const struct net *net = sock_net(sk);
	u64 idle = v->idle ?: READ_ONCE(net->ipv4.sysctl_tcp_keepalive_time);
	u64 intvl = v->intvl ?: READ_ONCE(net->ipv4.sysctl_tcp_keepalive_intvl);
	u64 cnt = v->cnt ?: READ_ONCE(net->ipv4.sysctl_tcp_keepalive_probes);
	u64 ms = jiffies64_to_msecs(idle + intvl * cnt);

	return min_t(u64, ms, KAP_USER_TIMEOUT_MAX);
}

/* What governing sk by p writes: want, from the values the socket has. */
static u8 kap_plan(const struct sock *sk, const struct kap_policy *p,
		   const struct kap_values *app, struct kap_values *want)
{
	const struct kap_spec *s = &p->spec;
	bool over = s->mode == KAP_MODE_OVERRIDE;
	u8 w = 0;

	*want = *app;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_IDLE)) && (over || !app->idle)) {
		want->idle = s->idle * HZ;
		w |= KAP_F_IDLE;
	}
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_INTVL)) && (over || !app->intvl)) {
		want->intvl = s->intvl * HZ;
		w |= KAP_F_INTVL;
	}
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_CNT)) && (over || !app->cnt)) {
		want->cnt = s->cnt;
		w |= KAP_F_CNT;
	}
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_USER_TIMEOUT)) &&
	    (over || !app->user_timeout)) {
		want->user_timeout = s->user_timeout_auto ?
			kap_auto_user_timeout(sk, want) : s->user_timeout;
		w |= KAP_F_USER_TIMEOUT;
	}
	if (s->keepalive && !app->keepalive) {
		want->keepalive = true;
		w |= KAP_F_KEEPALIVE;
	}
	return w;
}

static void kap_trace_applied(struct sock *sk, const struct kap_policy *p,
			      const char *name, enum kap_trigger t, u8 set)
{
	struct kap_event ev = { .sk = sk, .policy = name };

	trace_policy_applied(&ev, t, p ? p->spec.mode : 0, set);
}

/* ---- governing and reverting ------------------------------------------ */

struct kap_govern_rec {
	u32 id;
	u8 written;
	const struct kap_values *app;
	const struct kap_values *want;
	const struct kap_sock_state *fresh;	/* the state to start from */
	u16 port;
};

/*
 * kapolicy wrote v's values of fields (the numbers; SO_KEEPALIVE is followed
 * under the socket lock): a revert puts back only what still holds them.
 */
static void kap_wrote(struct kap_sock_state *st, u8 fields,
		      const struct kap_values *v)
{
	if (fields & KAP_F_IDLE)
		st->wrote_idle = v->idle;
	if (fields & KAP_F_INTVL)
		st->wrote_intvl = v->intvl;
	if (fields & KAP_F_CNT)
		st->wrote_cnt = v->cnt;
	if (fields & KAP_F_USER_TIMEOUT)
		st->wrote_user_timeout = v->user_timeout;
}

static void kap_govern_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_govern_rec *r = arg;

	if (r->fresh)
		*st = *r->fresh;
	st->policy = r->id;
	st->written = r->written;
	st->app_idle = r->app->idle;
	st->app_intvl = r->app->intvl;
	st->app_cnt = r->app->cnt;
	st->app_user_timeout = r->app->user_timeout;
	kap_wrote(st, r->written, r->want);
	if (!st->port)
		st->port = r->port;
	r->port = st->port;
}

/*
 * p governs sk from now on; its state starts from fresh if given (a
 * connection that opens: in the same lookup).  The caller owns the socket
 * (see the top).  A socket whose state cannot be tracked
 * (limits/sockets_max) is left alone: what kapolicy cannot take back, it
 * does not write.
 */
void kap_govern(struct sock *sk, struct kap_policy *p, enum kap_trigger t,
		u16 port, const struct kap_sock_state *fresh)
{
	struct kap_values app, want;
	struct kap_govern_rec r = {
		.id = p->id, .app = &app, .want = &want, .port = port,
		.fresh = fresh,
	};

	kap_read(sk, &app);
	r.written = kap_plan(sk, p, &app, &want);
	if (!kap_sock_call(sk, KAP_SOCK_GOVERN, kap_govern_fn, &r))
		return;
	kap_write(sk, &want, r.written, false);
	kap_count(KAP_SOCKETS_GOVERNED, r.port, p->stats);
	if (r.written & KAP_F_KEEPALIVE)
		kap_count(KAP_KEEPALIVE_ENABLED, r.port, p->stats);
	kap_trace_applied(sk, p, p->name, t, r.written);
}

struct kap_revert_rec {
	u32 id;
	u8 written;
	struct kap_values app;
	struct kap_values wrote;
};

static void kap_revert_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_revert_rec *r = arg;

	r->id = st->policy;
	r->written = st->written;
	r->app.idle = st->app_idle;
	r->app.intvl = st->app_intvl;
	r->app.cnt = st->app_cnt;
	r->app.user_timeout = st->app_user_timeout;
	r->app.keepalive = false;	/* kapolicy switched it on */
	r->wrote.idle = st->wrote_idle;
	r->wrote.intvl = st->wrote_intvl;
	r->wrote.cnt = st->wrote_cnt;
	r->wrote.user_timeout = st->wrote_user_timeout;
	st->policy = 0;
	st->written = 0;
}

/*
 * sk is governed no longer: put back what kapolicy wrote, where it still
 * holds what kapolicy wrote (a value the application set since, in a call
 * kapolicy has not seen yet or never will, stands).  SO_KEEPALIVE set by
 * the application is seen under the socket lock (kap_app_keepalive()).
 * The caller owns the socket.
 */
static void kap_revert(struct sock *sk, bool closing)
{
	struct kap_revert_rec r = {};
	struct kap_policy *p;
	struct kap_values now;

	kap_sock_call(sk, KAP_SOCK_FIND, kap_revert_fn, &r);
	if (!r.id)
		return;
	kap_read(sk, &now);
	if (now.idle != r.wrote.idle)
		r.written &= ~KAP_F_IDLE;
	if (now.intvl != r.wrote.intvl)
		r.written &= ~KAP_F_INTVL;
	if (now.cnt != r.wrote.cnt)
		r.written &= ~KAP_F_CNT;
	if (now.user_timeout != r.wrote.user_timeout)
		r.written &= ~KAP_F_USER_TIMEOUT;
	kap_write(sk, &r.app, r.written, closing);
	rcu_read_lock();
	p = kap_policy_by_id(r.id);
	kap_trace_applied(sk, p, p ? p->name : NULL, KAP_TRIGGER_REVERT, r.written);
	rcu_read_unlock();
}

/*
 * sk closes (CLOSE: tcp_done(), tcp_close(), tcp_disconnect()): what its
 * policy wrote is put back, so that a closed socket keeps none of
 * kapolicy's values and one connect()ed again after connect(AF_UNSPEC)
 * starts from the application's.  Its timers are left to TCP, which
 * stops them now and arms them again if it connects.  The caller owns the
 * socket (the state change's context).
 */
void kap_ungovern(struct sock *sk)
{
	kap_revert(sk, true);
}

/* ---- the application's setsockopt() ------------------------------------- */

struct kap_app_rec {
	u8 field;		/* KAP_F_* the call set */
	bool overrule;		/* write the policy's value again */
	bool follow;		/* user_timeout=auto follows the field */
	const struct kap_values *now;
	const struct kap_values *want;	/* with auto's user_timeout */
	u32 id;
	u8 written;
	u16 port;
};

/* Whether field of now still holds what kapolicy wrote (st->wrote_*). */
static bool kap_still_wrote(const struct kap_sock_state *st,
			    const struct kap_values *now, u8 field)
{
	switch (field) {
	case KAP_F_IDLE:
		return now->idle == st->wrote_idle;
	case KAP_F_INTVL:
		return now->intvl == st->wrote_intvl;
	case KAP_F_CNT:
		return now->cnt == st->wrote_cnt;
	case KAP_F_USER_TIMEOUT:
		return now->user_timeout == st->wrote_user_timeout;
	default:
		return now->keepalive;	/* kapolicy switched it on */
	}
}

static void kap_app_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_app_rec *r = arg;

	if (st->policy != r->id)
		return;
	switch (r->field) {
	case KAP_F_IDLE:
		st->app_idle = r->now->idle;
		break;
	case KAP_F_INTVL:
		st->app_intvl = r->now->intvl;
		break;
	case KAP_F_CNT:
		st->app_cnt = r->now->cnt;
		break;
	case KAP_F_USER_TIMEOUT:
		st->app_user_timeout = r->now->user_timeout;
		break;
	}
	if (!r->overrule) {
		st->written &= ~r->field;	/* the application's value stands */
	} else {
		st->written |= r->field;	/* kapolicy's again */
		kap_wrote(st, r->field, r->want);
	}
	if (r->follow)
		kap_wrote(st, st->written & KAP_F_USER_TIMEOUT, r->want);
	r->written = st->written;
	r->port = st->port;
}

/* The one map of each socket value to its socket option and policy key. */
static const struct {
	enum kap_field field;
	int level, optname;
	enum kap_key key;
} kap_fields[] = {
	{ KAP_F_IDLE, SOL_TCP, TCP_KEEPIDLE, KAP_KEY_IDLE },
	{ KAP_F_INTVL, SOL_TCP, TCP_KEEPINTVL, KAP_KEY_INTVL },
	{ KAP_F_CNT, SOL_TCP, TCP_KEEPCNT, KAP_KEY_CNT },
	{ KAP_F_USER_TIMEOUT, SOL_TCP, TCP_USER_TIMEOUT, KAP_KEY_USER_TIMEOUT },
	{ KAP_F_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, KAP_KEY_KEEPALIVE },
};

/* The KAP_F_* value a setsockopt(level, optname) sets; 0: none of them. */
u8 kap_sockopt_field(int level, int optname)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kap_fields); i++)
		if (kap_fields[i].level == level &&
		    kap_fields[i].optname == optname)
			return kap_fields[i].field;
	return 0;
}

/* The KAP_F_* values policy p gives. */
static u8 kap_policy_fields(const struct kap_policy *p)
{
	unsigned int i;
	u8 fields = 0;

	for (i = 0; i < ARRAY_SIZE(kap_fields); i++)
		if (p->spec.keys & KAP_KEY_BIT(kap_fields[i].key))
			fields |= kap_fields[i].field;
	return fields;
}

/*
 * Whether the application's TCP setsockopt() calls matter to p: it gives
 * one of the values they set (an overrule in override mode, in fill mode
 * the application's value recorded as its own).  SO_KEEPALIVE is seen by
 * another hook, always there (tcp_set_keepalive()).
 */
bool kap_apply_watches_tcp_sockopt(const struct kap_policy *p)
{
	return kap_policy_fields(p) & (KAP_F_IDLE | KAP_F_INTVL | KAP_F_CNT |
				       KAP_F_USER_TIMEOUT);
}

/*
 * The application set field on sk; sk is locked (lock_sock()), as when TCP
 * writes these values.  In fill mode, or while not enforcing, its value
 * stands from now on; in override mode a value the policy gives is written
 * again (unless the application asked for what the policy gives, or
 * switched keepalive on).  Only if the same policy still governs sk: a
 * revert since then is never followed by a late overrule.
 */
static void kap_overrule(struct sock *sk, u8 field)
{
	struct kap_sock_state snap = {};
	struct kap_values now, want;
	struct kap_app_rec r = { .now = &now, .want = &want, .field = field };
	struct kap_policy *p;

	if (!kap_sock_get(sk, &snap) || !snap.policy)
		return;
	rcu_read_lock();
	p = kap_policy_by_id(snap.policy);
	if (!p || !(kap_policy_fields(p) & field))
		goto out;
	kap_read(sk, &now);
	if ((snap.written & field) && kap_still_wrote(&snap, &now, field))
		goto out;	/* dealt with by an earlier work item */
	kap_plan(sk, p, &now, &want);
	r.id = p->id;
	if (p->spec.mode == KAP_MODE_OVERRIDE && kap_apply_enforcing()) {
		switch (field) {
		case KAP_F_IDLE:
			r.overrule = now.idle != want.idle;
			break;
		case KAP_F_INTVL:
			r.overrule = now.intvl != want.intvl;
			break;
		case KAP_F_CNT:
			r.overrule = now.cnt != want.cnt;
			break;
		case KAP_F_USER_TIMEOUT:
			r.overrule = now.user_timeout != want.user_timeout;
			break;
		case KAP_F_KEEPALIVE:
			r.overrule = !now.keepalive;
			break;
		}
	}
	/* user_timeout=auto follows idle, intvl and cnt as they will be */
	r.follow = p->spec.user_timeout_auto &&
		   (field & (KAP_F_IDLE | KAP_F_INTVL | KAP_F_CNT));
	if (r.follow) {
		struct kap_values after = now;

		kap_copy_field(&after, &want, r.overrule ? field : 0);
		want.user_timeout = kap_auto_user_timeout(sk, &after);
	}
	kap_sock_call(sk, KAP_SOCK_FIND, kap_app_fn, &r);
	if (r.overrule) {
		kap_write(sk, &want, field, false);
		kap_count(KAP_APP_OVERRIDES, r.port, p->stats);
		kap_trace_applied(sk, p, p->name, KAP_TRIGGER_SETSOCKOPT, field);
	}
	if (r.follow && (r.written & KAP_F_USER_TIMEOUT))
		kap_write(sk, &want, KAP_F_USER_TIMEOUT, false);
out:
	rcu_read_unlock();
}

/*
 * The application's setsockopt() returns (kretprobe, process context,
 * preemption off, the socket lock released), or is inside the call with
 * the socket owned (SO_KEEPALIVE): what it set is dealt with under the
 * socket lock by a work item, right after the call.  A worker,
 * not the calling task, so that no task (stopped by a tracer at syscall
 * exit, say) can hold an entry or module unload.  The entries are
 * preallocated; when none is free the call is not seen
 * (limits/hooks_missed), and a later revert still leaves the value the
 * application set (kap_revert()).
 */
#define KAP_DEFERRED_MAX	256	/* setsockopt() calls awaiting their work */

struct kap_deferred {
	struct work_struct work;
	struct sock *sk;		/* referenced */
	u8 field;			/* 0: only drop the reference */
	struct kap_deferred *next;	/* in the free list */
};

static struct kap_deferred kap_deferred_pool[KAP_DEFERRED_MAX];
static struct kap_deferred *kap_deferred_free;
static DEFINE_RAW_SPINLOCK(kap_deferred_lock);
static struct workqueue_struct *kap_deferred_wq;
static atomic_long_t kap_deferred_missed = ATOMIC_LONG_INIT(0);

static struct kap_deferred *kap_deferred_get(void)
{
	struct kap_deferred *d;
	unsigned long flags;

	raw_spin_lock_irqsave(&kap_deferred_lock, flags);
	d = kap_deferred_free;
	if (d)
		kap_deferred_free = d->next;
	raw_spin_unlock_irqrestore(&kap_deferred_lock, flags);
	return d;
}

static void kap_deferred_put(struct kap_deferred *d)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&kap_deferred_lock, flags);
	d->next = kap_deferred_free;
	kap_deferred_free = d;
	raw_spin_unlock_irqrestore(&kap_deferred_lock, flags);
}

static void kap_deferred_run(struct work_struct *work)
{
	struct kap_deferred *d = container_of(work, struct kap_deferred, work);
	struct sock *sk = d->sk;

	if (!d->field) {
		sock_gen_put(sk);	/* any kind: full, timewait, request */
		kap_deferred_put(d);
		return;
	}
	lock_sock(sk);
	kap_overrule(sk, d->field);
	release_sock(sk);
	sock_put(sk);
	kap_deferred_put(d);
}

/*
 * A hook that looks a socket up (the ICMP error handlers) holds a
 * reference it must not drop itself: the last one frees the socket, work
 * that takes sleeping locks on PREEMPT_RT and has no place in a callback
 * running with preemption off.  The hook takes an entry before the lookup
 * (none free: the call is not seen, limits/hooks_missed), and hands entry
 * and reference back here: a reference that is not the last is dropped at
 * once, the last one by the worker.
 */
struct kap_deferred *kap_deferred_reserve(void)
{
	struct kap_deferred *d = kap_deferred_get();

	if (!d)
		atomic_long_inc(&kap_deferred_missed);
	return d;
}

void kap_deferred_sock_put(struct kap_deferred *d, struct sock *sk)
{
	if (!sk || refcount_dec_not_one(&sk->sk_refcnt)) {
		kap_deferred_put(d);
		return;
	}
	d->sk = sk;
	d->field = 0;
	queue_work(kap_deferred_wq, &d->work);
}

void kap_app_setsockopt(struct sock *sk, int level, int optname)
{
	struct kap_sock_state snap = {};
	u8 field = kap_sockopt_field(level, optname);
	struct kap_deferred *d;
	struct kap_policy *p;
	bool given;

	if (!field || !kap_sock_get(sk, &snap) || !snap.policy)
		return;
	rcu_read_lock();
	p = kap_policy_by_id(snap.policy);
	given = p && (kap_policy_fields(p) & field);
	rcu_read_unlock();
	if (!given)
		return;
	d = kap_deferred_get();
	if (!d) {
		atomic_long_inc(&kap_deferred_missed);
		return;
	}
	d->sk = sk;
	d->field = field;
	sock_hold(sk);		/* the caller's file holds sk until now */
	queue_work(kap_deferred_wq, &d->work);
}

/* setsockopt() calls not dealt with (no entry free). */
unsigned long kap_apply_missed(void)
{
	return atomic_long_read(&kap_deferred_missed);
}

struct kap_keepalive_rec {
	u32 id;
	bool stands;
};

static void kap_app_keepalive_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_keepalive_rec *r = arg;

	if (st->policy == r->id && r->stands)
		st->written &= ~KAP_F_KEEPALIVE;
}

/*
 * The application sets SO_KEEPALIVE (tcp_set_keepalive(), called under
 * the socket lock before the flag changes): if kapolicy had switched it
 * on, the application's choice stands from now on - unless a policy in
 * override mode will switch it on again (kap_overrule()).  Seen here, not
 * only after the call, so that no revert in between takes it back.
 */
void kap_app_keepalive(struct sock *sk, bool on)
{
	struct kap_sock_state snap = {};
	struct kap_keepalive_rec r = {};
	struct kap_policy *p;

	if (!kap_sock_get(sk, &snap) || !(snap.written & KAP_F_KEEPALIVE))
		return;
	rcu_read_lock();
	p = kap_policy_by_id(snap.policy);
	r.id = snap.policy;
	r.stands = on || !p || p->spec.mode != KAP_MODE_OVERRIDE ||
		   !kap_apply_enforcing();
	kap_sock_call(sk, KAP_SOCK_FIND, kap_app_keepalive_fn, &r);
	rcu_read_unlock();
}

int kap_apply_init(void)
{
	unsigned int i;

	kap_deferred_wq = alloc_workqueue("kapolicy", WQ_UNBOUND, 0);
	if (!kap_deferred_wq) {
		pr_err("cannot allocate a workqueue; not loading\n");
		return -ENOMEM;
	}
	for (i = 0; i < KAP_DEFERRED_MAX; i++) {
		INIT_WORK(&kap_deferred_pool[i].work, kap_deferred_run);
		kap_deferred_put(&kap_deferred_pool[i]);
	}
	return 0;
}

/* After the hooks are gone: runs the work still queued, then frees. */
void kap_apply_uninit(void)
{
	destroy_workqueue(kap_deferred_wq);
}

/* ---- new and existing connections -------------------------------------- */

/* The policy that governs sk if it opens now; NULL: none.  Under RCU. */
struct kap_policy *kap_apply_policy_for(const struct sock *sk)
{
	struct kap_sock_key k;

	if (!kap_apply_enforcing())
		return NULL;
	kap_sock_key(sk, &k);
	return kap_policy_match(&k);
}

/* The policy that should govern sk now; cur is the one that does. */
static struct kap_policy *kap_desired(struct sock *sk, struct kap_policy *cur)
{
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) ||
	    !kap_apply_enforcing())
		return cur && kap_policy_is_live(cur) ? cur : NULL;
	return kap_apply_policy_for(sk);
}

/* Whether sk must change hands; under RCU. */
static bool kap_needs_change(struct sock *sk)
{
	struct kap_sock_state snap = {};
	struct kap_policy *cur, *want;

	kap_sock_get(sk, &snap);
	cur = kap_policy_by_id(snap.policy);
	want = kap_desired(sk, cur);
	return (want ? want->id : 0) != snap.policy;
}

/*
 * Moves sk to the policy it should have; under lock_sock().  Returns false
 * if it still does not have it (its state could not be tracked).
 */
static bool kap_reconcile_sock(struct sock *sk)
{
	struct kap_sock_state snap = {};
	struct kap_policy *cur, *want;
	bool done = true;

	rcu_read_lock();
	kap_sock_get(sk, &snap);
	cur = kap_policy_by_id(snap.policy);
	want = kap_desired(sk, cur);
	if ((want ? want->id : 0) != snap.policy) {
		if (snap.policy)
			kap_revert(sk, false);
		if (want)
			kap_govern(sk, want, KAP_TRIGGER_EXISTING,
				   snap.port ?: kap_service_port_guess(sk), NULL);
		done = !kap_needs_change(sk);
	}
	rcu_read_unlock();
	return done;
}

static void kap_walk_hashinfo(struct inet_hashinfo *h)
{
	struct sock *batch[KAP_WALK_BATCH];
	unsigned int i, j, n, failed, seen;
	struct hlist_nulls_node *node;
	struct sock *sk;
	bool more;

	for (i = 0; i <= h->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &h->ehash[i];

		if (hlist_nulls_empty(&head->chain))
			continue;
		failed = 0;	/* candidates that could not be changed */
		do {
			n = 0;
			seen = 0;
			more = false;
			spin_lock_bh(inet_ehash_lockp(h, i));
			rcu_read_lock();
			sk_nulls_for_each(sk, node, &head->chain) {
				if (!sk_fullsock(sk) || !kap_needs_change(sk))
					continue;
				if (seen++ < failed)
					continue;
				if (n == KAP_WALK_BATCH) {
					more = true;
					break;
				}
				if (refcount_inc_not_zero(&sk->sk_refcnt))
					batch[n++] = sk;
			}
			rcu_read_unlock();
			spin_unlock_bh(inet_ehash_lockp(h, i));
			for (j = 0; j < n; j++) {
				lock_sock(batch[j]);
				if (!kap_reconcile_sock(batch[j]))
					failed++;
				release_sock(batch[j]);
				sock_put(batch[j]);
			}
		} while (more);
		cond_resched();
	}
}

/*
 * Brings every established TCP connection of every network namespace in
 * line with the live table: governed by the policy that matches it now
 * (none while not enforcing), reverted if its policy is gone.  Process
 * context, the control lock held.  Namespaces share one hash table unless
 * net.ipv4.tcp_child_ehash_entries gave them their own.
 */
void kap_reconcile(void)
{
	struct inet_hashinfo *shared = init_net.ipv4.tcp_death_row.hashinfo;
	struct net *nets[KAP_WALK_HASHINFOS], *cursor = NULL, *net;
	unsigned int n, i;
	bool more;

	kap_walk_hashinfo(shared);
	do {
		n = 0;
		more = false;
		rcu_read_lock();
		/*
		 * Resume after the last namespace walked: the reference held
		 * on it keeps it in the list, however many others die.
		 */
		net = cursor ?: list_entry(&net_namespace_list, struct net, list);
		list_for_each_entry_continue_rcu(net, &net_namespace_list, list) {
			if (net->ipv4.tcp_death_row.hashinfo == shared)
				continue;
			if (n == KAP_WALK_HASHINFOS) {
				more = true;
				break;
			}
			if (maybe_get_net(net))
				nets[n++] = net;
		}
		rcu_read_unlock();
		if (cursor)
			put_net(cursor);
		cursor = more ? nets[n - 1] : NULL;
		for (i = 0; i < n; i++) {
			kap_walk_hashinfo(nets[i]->ipv4.tcp_death_row.hashinfo);
			if (nets[i] != cursor)
				put_net(nets[i]);
		}
	} while (more);
}
