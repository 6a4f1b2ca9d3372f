// SPDX-License-Identifier: GPL-2.0
/*
 * Hooks on the TCP keepalive path, and how their calls are classified.
 *
 * What is hooked (the tracepoints are not exported to modules, so they are
 * found with for_each_kernel_tracepoint(); functions by kallsyms name):
 *
 *   timer:timer_expire_entry/_exit  tracepoints, filtered on the timer
 *                         function tcp_keepalive_timer: mark "this CPU runs
 *                         the keepalive timer of sk" for the length of the
 *                         call (the socket is not locked at entry)
 *   tcp_write_wakeup      ftrace entry hook: with mib LINUX_MIB_TCPKEEPALIVE,
 *                         inside the keepalive timer, a probe is attempted
 *                         (else a zero-window probe, not ours); the last
 *                         one was not answered
 *   inet_csk_reset_keepalive_timer  ftrace entry hook: the timer re-arms
 *                         itself, bh-locked; after an attempt,
 *                         icsk_probes_out grew if the probe went out, else
 *                         local congestion deferred it; without one, the
 *                         probe in flight may have been answered
 *   tcp_v4_err, tcp_v6_err  ftrace entry hooks: an ICMP error quoting a
 *                         keepalive probe (seq == snd_una - 1), seen before
 *                         TCP drops it as out of window
 *   sock:inet_sock_set_state  ESTABLISHED from SYN_SENT/SYN_RECV: a
 *                         connection opens (active/passive); CLOSE: it
 *                         closes, and its policy's values are put back;
 *                         CLOSE inside the keepalive timer of the same
 *                         socket: keepalive killed it (unless it is the
 *                         orphaned FIN_WAIT2 timeout, which shares the
 *                         timer); CLOSE with a retransmission timeout's
 *                         error: a death after idle (kind retrans)
 *   tcp:tcp_receive_reset  a RST while a keepalive probe is in flight, or
 *                         in answer to the first data sent after idle
 *   tcp:tcp_destroy_sock  the socket's state is forgotten
 *   tcp_set_keepalive     ftrace entry hook: the application sets
 *                         SO_KEEPALIVE, under the socket lock; a policy in
 *                         override mode overrules it once the call is over
 *                         (apply.c)
 *   tcp_setsockopt        kretprobe: after the application set
 *                         TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT or
 *                         TCP_USER_TIMEOUT, a policy in override mode
 *                         overrules it (apply.c).  A return probe because
 *                         TCP writes the last three inline in
 *                         do_tcp_setsockopt() (6.12: before it takes the
 *                         socket lock), with no function call of their own
 *                         to hook.  Armed once a policy gives one of those
 *                         values (kap_hooks_watch_tcp_sockopt()): until
 *                         then no TCP setsockopt() pays for it
 *
 * No kprobe on the softirq side: a kprobe is skipped (counted in nmissed)
 * while another kprobe handler runs on the same CPU, which is what happens
 * when a softirq interrupts a process-context kprobe such as the
 * setsockopt ones.  Tracepoints and ftrace callbacks have no such
 * cross-context exclusion, so the keepalive path is seen in full.
 *
 * A connection reaching ESTABLISHED is matched against the policy table
 * and governed by the first match (apply.c).  Every event and counter is
 * also attributed to the socket's service port and governing policy.
 *
 * A probe's answer has no event of its own: tcp_ack() zeroes
 * icsk_probes_out and refreshes rcv_tstamp (both are needed: the
 * zero-window probe paths zero icsk_probes_out too).  It is seen at the next
 * run of the keepalive timer (one interval after the probe), once the
 * timer holds the socket lock, or when the socket leaves ESTABLISHED,
 * whichever is first: always where tcp_ack() cannot be half way through
 * (it zeroes the one, then writes the other).  The answer time comes from
 * tcp_mstamp (checked against rcv_tstamp).
 *
 * Not keepalive, and never counted: zero-window probes (other mib), the
 * FIN_WAIT2 orphan timeout, timer runs while the user owns the socket (no
 * probe is sent), retransmission timeouts (another timer), and sockets
 * whose queued data keeps the timer from probing.
 *
 * Context: all handlers run with preemption off, mostly in softirq: the
 * timer's entry and exit before it locks the socket and after it unlocks
 * it, tcp_write_wakeup, the re-arm and RST with the socket bh-locked, the
 * ICMP ones before TCP takes the socket lock, set_state (socket owned)
 * and destroy also in process context.  They
 * never sleep or allocate, and read socket fields with READ_ONCE where the
 * socket lock may not be held.
 */
#include <linux/cgroup.h>
#include <linux/ftrace.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/kprobes.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/trace_recursion.h>
#include <linux/tracepoint.h>
#include <net/icmp.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "apply.h"
#include "events.h"
#include "kapolicy.h"
#include "socks.h"
#include "stats.h"
#include "table.h"
#include "trace.h"

/* ---- per-socket state helpers ------------------------------------------ */

/* The service port and governing policy of a socket. */
struct kap_sock_ctx {
	u16 port;
	u8 flags;			/* KAP_SOCK_PASSIVE, _ACTIVE: if known */
	struct kap_policy *policy;	/* valid under rcu_read_lock() */
};

/* The service port and governing policy of sk, whose state is st; under RCU. */
static void kap_sock_ctx_of(const struct sock *sk, const struct kap_sock_state *st,
			    struct kap_sock_ctx *ctx)
{
	ctx->port = st->port ?: kap_service_port_guess(sk);
	ctx->flags = st->flags;
	ctx->policy = kap_policy_by_id(st->policy);
}

/* The service port and governing policy of sk; call under RCU. */
static void kap_sock_ctx(const struct sock *sk, struct kap_sock_ctx *ctx)
{
	struct kap_sock_state st = {};

	kap_sock_get(sk, &st);
	kap_sock_ctx_of(sk, &st, ctx);
}

/*
 * Counts c for sk and names its policy in ev, from the state st that the
 * caller copied where it updated it (no second lookup); call under RCU.
 */
static void kap_report_as(enum kap_counter c, struct kap_event *ev,
			  const struct kap_sock_state *st)
{
	struct kap_sock_ctx ctx;

	kap_sock_ctx_of(ev->sk, st, &ctx);
	ev->policy = ctx.policy ? ctx.policy->name : NULL;
	kap_count(c, ctx.port, ctx.policy ? ctx.policy->stats : NULL);
}

/* Counts c for sk and names its policy in ev; call under RCU. */
static void kap_report(enum kap_counter c, struct kap_event *ev)
{
	struct kap_sock_state st = {};

	kap_sock_get(ev->sk, &st);
	kap_report_as(c, ev, &st);
}

/* The socket is idle with a keepalive probe unanswered (kernel's view). */
static bool kap_keepalive_probing(const struct sock *sk)
{
	return sock_flag(sk, SOCK_KEEPOPEN) &&
	       READ_ONCE(inet_csk(sk)->icsk_probes_out) > 0 &&
	       !READ_ONCE(tcp_sk(sk)->packets_out) &&
	       tcp_write_queue_empty(sk);
}

static bool kap_sock_is_tcp(const struct sock *sk)
{
	return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6);
}

/* ---- deaths after idle ------------------------------------------------- */

/*
 * An established connection that dies after an idle period is recorded
 * with how long it had been idle (the deaths file, the idle_death event):
 * what tells a middlebox's idle timeout from the connections it kills.
 * Three kinds, each seen where the kernel ends the connection, so a
 * connection that never goes idle costs nothing more than a few loads when
 * it closes:
 *
 *   reset      a RST answers the first segment sent after the idle period
 *              (tcp_receive_reset with data in flight sent after the last
 *              segment received), or a keepalive probe
 *   retrans    that segment was never acknowledged: the connection closes
 *              with a retransmission timeout's error (tcp_write_err)
 *   keepalive  keepalive probes went unanswered (the timeout event)
 *
 * The idle time is the time without a segment received (the kernel's
 * rcv_tstamp and icsk_ack.lrcvtime, jiffies) before the oldest segment
 * still unacknowledged first left (kap_sent_after_idle), or before the
 * first keepalive probe.  Off with idle_deaths=0.
 */
static bool idle_deaths = true;
module_param(idle_deaths, bool, 0644);
MODULE_PARM_DESC(idle_deaths,
		 "record connections that die after idle (the deaths file; default 1)");

#define KAP_DATA_STATES	(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_FIN_WAIT1 | \
			 TCPF_CLOSING | TCPF_LAST_ACK)

/* Jiffies of the last segment received (an ACK or data). */
static u32 kap_last_rcv(const struct sock *sk)
{
	u32 ack = READ_ONCE(tcp_sk(sk)->rcv_tstamp);
	u32 data = READ_ONCE(inet_csk(sk)->icsk_ack.lrcvtime);

	return (s32)(data - ack) > 0 ? data : ack;
}

/*
 * Whether the oldest segment not yet acknowledged (data or FIN) first left
 * after the last segment received: then *idle_ms is how long nothing had
 * been received before it left.  When it was retransmitted, retrans_stamp
 * holds its first transmission (lsndtime moves with every transmission);
 * otherwise the retransmission queue's head has its only one.  Under the
 * socket lock (tcp_reset), or after tcp_write_err() emptied the queue
 * (retrans_stamp is then set).
 */
static bool kap_sent_after_idle(const struct sock *sk, u32 *idle_ms)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 stamp = READ_ONCE(tp->retrans_stamp), age_ms, quiet_ms;
	const struct sk_buff *skb;

	if (stamp) {
		age_ms = kap_tcp_ts_age_ms(tp, stamp);
	} else {
		s64 d;

		skb = tcp_rtx_queue_head(sk);
		if (!skb)
			return false;
		d = tcp_clock_ns() - skb->skb_mstamp_ns;
		age_ms = d > 0 ? div_u64(d, NSEC_PER_MSEC) : 0;
	}
	quiet_ms = jiffies_to_msecs(tcp_jiffies32 - kap_last_rcv(sk));
	if (quiet_ms < age_ms)
		return false;	/* sent before the last segment received */
	*idle_ms = quiet_ms - age_ms;
	return true;
}

/* How long sk had been idle when its first keepalive probe left, ms. */
static u32 kap_idle_before_probe(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return jiffies_to_msecs(min_t(u32, keepalive_time_elapsed(tp),
				      keepalive_time_when(tp)));
}

static void kap_death(struct sock *sk, enum kap_death_kind kind, u32 idle_ms,
		      int err)
{
	struct kap_event ev = { .sk = sk };
	struct kap_sock_ctx ctx;
	u8 side;

	rcu_read_lock();
	kap_sock_ctx(sk, &ctx);
	if (ctx.flags & (KAP_SOCK_PASSIVE | KAP_SOCK_ACTIVE))
		side = ctx.flags & KAP_SOCK_PASSIVE ? KAP_DEATH_LOCAL
						    : KAP_DEATH_REMOTE;
	else
		side = ctx.port == ntohs(inet_sk(sk)->inet_sport) ?
		       KAP_DEATH_LOCAL : KAP_DEATH_REMOTE;
	ev.policy = ctx.policy ? ctx.policy->name : NULL;
	ev.probe = READ_ONCE(inet_csk(sk)->icsk_probes_out);
	kap_count_death(kind, ctx.port, side, !!ctx.policy, idle_ms);
	trace_idle_death(&ev, kind, idle_ms, err);
	rcu_read_unlock();
}

/* A RST arrived (tcp_reset(), before it closes the socket). */
static void kap_reset_death(struct sock *sk, bool keepalive)
{
	int err = sk->sk_state == TCP_CLOSE_WAIT ? EPIPE : ECONNRESET;
	u32 idle_ms;

	if (!READ_ONCE(idle_deaths) || !((1 << sk->sk_state) & KAP_DATA_STATES))
		return;
	if (keepalive)
		kap_death(sk, KAP_DEATH_RESET, kap_idle_before_probe(sk), err);
	else if (kap_sent_after_idle(sk, &idle_ms))
		kap_death(sk, KAP_DEATH_RESET, idle_ms, err);
}

/*
 * The connection closes outside its keepalive timer: a retransmission
 * timeout's tcp_write_err() set sk_err (ETIMEDOUT, or the soft error an
 * ICMP message left) with segments retransmitted.  A RST (tcp_reset) or
 * an abort sets errors of its own, and a normal close none.
 */
static void kap_retrans_death(struct sock *sk, int oldstate)
{
	int err = READ_ONCE(sk->sk_err);
	u32 idle_ms;

	if (!READ_ONCE(idle_deaths) || !err || !((1 << oldstate) & KAP_DATA_STATES) ||
	    !READ_ONCE(inet_csk(sk)->icsk_retransmits))
		return;
	if (err == ECONNRESET || err == EPIPE || err == ECONNREFUSED ||
	    err == ECONNABORTED)
		return;
	if (kap_sent_after_idle(sk, &idle_ms))
		kap_death(sk, KAP_DEATH_RETRANS, idle_ms, err);
}

/* ---- a probe's answer -------------------------------------------------- */

struct kap_answer {
	const struct sock *sk;
	bool answered;
	u8 probe;
	u32 rtt_us;
	struct kap_sock_state st;	/* if answered */
};

static void kap_answer_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_answer *a = arg;
	const struct tcp_sock *tp = tcp_sk(a->sk);
	u32 d_jiffies;
	u64 d_us;

	if (!(st->flags & KAP_SOCK_PROBING) ||
	    READ_ONCE(inet_csk(a->sk)->icsk_probes_out))
		return;
	st->flags &= ~KAP_SOCK_PROBING;
	if (READ_ONCE(tp->rcv_tstamp) == st->probe_rcv_tstamp)
		return;		/* probing was reset, but nothing came back */
	a->answered = true;
	a->probe = st->probe;
	a->st = *st;
	/*
	 * rcv_tstamp (jiffies) is when the acknowledging ACK arrived;
	 * tcp_mstamp (us) is the last time the socket's clock was read, that
	 * ACK's arrival unless something came later.  Trust the finer one
	 * when the two agree.
	 */
	d_jiffies = READ_ONCE(tp->rcv_tstamp) - st->probe_jiffies;
	d_us = READ_ONCE(tp->tcp_mstamp) - st->probe_us;
	if ((s32)d_jiffies < 0)
		d_jiffies = 0;
	if (d_us <= jiffies_to_usecs(d_jiffies + 1))
		a->rtt_us = d_us;
	else
		a->rtt_us = jiffies_to_usecs(d_jiffies);
}

static void kap_check_answer(const struct sock *sk)
{
	struct kap_answer a = { .sk = sk };
	struct kap_event ev = { .sk = sk };

	kap_sock_call(sk, KAP_SOCK_FIND, kap_answer_fn, &a);
	if (!a.answered)
		return;
	ev.probe = a.probe;
	rcu_read_lock();
	kap_report_as(KAP_PROBES_ANSWERED, &ev, &a.st);
	trace_probe_answered(&ev, a.rtt_us);
	rcu_read_unlock();
}

/* ---- the keepalive timer ----------------------------------------------- */

/*
 * The keepalive timer run on this CPU, if any: from the timer core's
 * timer_expire_entry to timer_expire_exit (timers run in softirq, one at a
 * time per CPU).  wakeup notes that the run called tcp_write_wakeup() for a
 * keepalive probe; whether it went out shows when the timer re-arms itself.
 */
struct kap_timer_ctx {
	const struct timer_list *timer;
	bool wakeup;
	u8 probes_out;		/* icsk_probes_out before the probe */
};

static DEFINE_PER_CPU(struct kap_timer_ctx, kap_timer_ctx);

/* tcp_keepalive_timer, read off a TCP socket at init (it is static). */
static void (*kap_keepalive_fn)(struct timer_list *t);

static void kap_tp_timer_entry(void *data, struct timer_list *t,
			       unsigned long baseclk)
{
	struct kap_timer_ctx *ctx;
	struct sock *sk;

	if (READ_ONCE(t->function) != kap_keepalive_fn)
		return;
	sk = &container_of(t, struct inet_connection_sock,
			   icsk_keepalive_timer)->icsk_inet.sk;
	if (!kap_sock_is_tcp(sk))
		return;
	/*
	 * The timer holds a reference on sk until the callback ends.  The
	 * socket is not locked yet: whether the probe in flight was answered
	 * is read later, under the lock (kap_wakeup, kap_timer_rearmed).
	 */
	ctx = this_cpu_ptr(&kap_timer_ctx);
	ctx->timer = t;
	ctx->wakeup = false;
}

static void kap_tp_timer_exit(void *data, struct timer_list *t)
{
	struct kap_timer_ctx *ctx = this_cpu_ptr(&kap_timer_ctx);

	/* sk may be gone now: compare pointers only */
	if (ctx->timer == t)
		ctx->timer = NULL;
}

/* Whether this CPU runs the keepalive timer of sk right now. */
static bool kap_in_timer_of(const struct sock *sk)
{
	return in_serving_softirq() &&
	       this_cpu_read(kap_timer_ctx.timer) ==
	       &inet_csk(sk)->icsk_keepalive_timer;
}

/* ---- tcp_write_wakeup and the re-arm that follows ---------------------- */

struct kap_probe_rec {
	u8 probe;
	u64 now_us;
	u32 now_jiffies;
	u32 rcv_tstamp;
	struct kap_sock_state st;	/* as updated (zero: no state) */
};

static void kap_probe_sent_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_probe_rec *r = arg;

	if (r->probe == 1)
		st->icmp_err = 0;	/* a new idle period */
	st->flags |= KAP_SOCK_PROBING;
	st->probe = r->probe;
	st->probe_us = r->now_us;
	st->probe_jiffies = r->now_jiffies;
	st->probe_rcv_tstamp = r->rcv_tstamp;
	r->st = *st;
}

/* tcp_write_wakeup(sk, mib), entry: mib tells keepalive from zero-window */
static void kap_wakeup(struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct kap_timer_ctx *ctx = this_cpu_ptr(&kap_timer_ctx);

	if (regs_get_kernel_argument(regs, 1) != LINUX_MIB_TCPKEEPALIVE ||
	    !kap_in_timer_of(sk))
		return;
	kap_check_answer(sk);
	ctx->wakeup = true;
	ctx->probes_out = inet_csk(sk)->icsk_probes_out;
}

/*
 * inet_csk_reset_keepalive_timer(sk, len), entry, inside the keepalive
 * timer of sk, which re-arms itself bh-locked.  After tcp_write_wakeup() it
 * counted the probe in icsk_probes_out if it went out (the function
 * returned <= 0), or it retries soon because local congestion dropped it
 * (> 0).  Without a probe this run, the peer answered the last one (or the
 * connection is busy, or the user owns the socket: then nothing is read).
 * tcp_ack() writes icsk_probes_out and rcv_tstamp under the same lock, so
 * both are read whole here.
 */
static void kap_timer_rearmed(struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct kap_timer_ctx *ctx = this_cpu_ptr(&kap_timer_ctx);
	struct tcp_sock *tp = tcp_sk(sk);
	struct kap_probe_rec r = {};
	struct kap_event ev = { .sk = sk };

	if (!kap_in_timer_of(sk))
		return;
	if (!ctx->wakeup) {
		/* no probe this run: one in flight may have been answered */
		if (!sock_owned_by_user(sk))
			kap_check_answer(sk);
		return;
	}
	ctx->wakeup = false;
	r.probe = min_t(u32, ctx->probes_out + 1, U8_MAX);
	r.now_us = tp->tcp_mstamp;
	r.now_jiffies = tcp_jiffies32;
	r.rcv_tstamp = tp->rcv_tstamp;
	ev.probe = r.probe;

	rcu_read_lock();
	if (inet_csk(sk)->icsk_probes_out == ctx->probes_out) {
		kap_report(KAP_PROBES_DEFERRED, &ev);
		trace_probe_deferred(&ev);
	} else {
		kap_sock_call(sk, KAP_SOCK_OBSERVE, kap_probe_sent_fn, &r);
		kap_report_as(KAP_PROBES_SENT, &ev, &r.st);
		trace_probe_sent(&ev);
	}
	rcu_read_unlock();
}

/* ---- ICMP errors ------------------------------------------------------- */

static void kap_icmp_err_fn(struct kap_sock_state *st, void *arg)
{
	st->icmp_err = *(int *)arg;
}

/* sk (referenced) got an ICMP error quoting sequence number seq. */
static void kap_icmp_error(struct sock *sk, u32 seq, int err, u8 type, u8 code)
{
	struct kap_event ev = { .sk = sk };

	if (!sk_fullsock(sk) || !kap_keepalive_probing(sk) ||
	    seq != READ_ONCE(tcp_sk(sk)->snd_una) - 1)
		return;
	ev.probe = READ_ONCE(inet_csk(sk)->icsk_probes_out);
	kap_sock_call(sk, KAP_SOCK_OBSERVE, kap_icmp_err_fn, &err);
	rcu_read_lock();
	kap_report(KAP_ICMP_ERRORS, &ev);
	trace_icmp_error(&ev, err, type, code);
	rcu_read_unlock();
}

/*
 * The error an ICMPv4 message means to TCP, as a negative errno, as
 * tcp_v4_err() reads it; 0 for the messages that are not errors.
 */
static int kap_icmp4_errno(u8 type, u8 code)
{
	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH || code == ICMP_FRAG_NEEDED)
			return 0;
		return -icmp_err_convert[code].errno;
	case ICMP_TIME_EXCEEDED:
		return -EHOSTUNREACH;
	case ICMP_PARAMETERPROB:
		return -EPROTO;
	default:
		return 0;
	}
}

/* tcp_v4_err(skb, info): skb->data is the quoted IP header. */
static void kap_v4_err(struct pt_regs *regs)
{
	struct sk_buff *skb = (struct sk_buff *)regs_get_kernel_argument(regs, 0);
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct tcphdr *th = (const struct tcphdr *)(skb->data + (iph->ihl << 2));
	u8 type = icmp_hdr(skb)->type, code = icmp_hdr(skb)->code;
	struct net *net = dev_net(skb->dev);
	struct kap_deferred *d;
	struct sock *sk;
	int err;

	err = -kap_icmp4_errno(type, code);
	if (!err)
		return;
	d = kap_deferred_reserve();
	if (!d)
		return;
	sk = __inet_lookup_established(net, net->ipv4.tcp_death_row.hashinfo,
				       iph->daddr, th->dest, iph->saddr,
				       ntohs(th->source), inet_iif(skb), 0);
	if (sk)
		kap_icmp_error(sk, ntohl(th->seq), err, type, code);
	kap_deferred_sock_put(d, sk);	/* not here: it may be the last */
}

#if IS_ENABLED(CONFIG_IPV6)
/* tcp_v6_err(skb, opt, type, code, offset, info) */
static void kap_v6_err(struct pt_regs *regs)
{
	struct sk_buff *skb = (struct sk_buff *)regs_get_kernel_argument(regs, 0);
	u8 type = regs_get_kernel_argument(regs, 2);
	u8 code = regs_get_kernel_argument(regs, 3);
	int offset = regs_get_kernel_argument(regs, 4);
	const struct ipv6hdr *hdr = (const struct ipv6hdr *)skb->data;
	const struct tcphdr *th = (const struct tcphdr *)(skb->data + offset);
	struct net *net = dev_net(skb->dev);
	struct kap_deferred *d;
	struct sock *sk;
	int err = 0;

	if (type == ICMPV6_PKT_TOOBIG || type == NDISC_REDIRECT)
		return;
	icmpv6_err_convert(type, code, &err);
	if (!err)
		return;
	d = kap_deferred_reserve();
	if (!d)
		return;
	sk = __inet6_lookup_established(net, net->ipv4.tcp_death_row.hashinfo,
					&hdr->daddr, th->dest, &hdr->saddr,
					ntohs(th->source), skb->dev->ifindex,
					inet6_sdif(skb));
	if (sk)
		kap_icmp_error(sk, ntohl(th->seq), err, type, code);
	kap_deferred_sock_put(d, sk);	/* not here: it may be the last */
}
#endif

/* ---- the application's setsockopt() ---------------------------------- */

/*
 * tcp_set_keepalive(sk, val): the application sets SO_KEEPALIVE, with the
 * socket owned; sk_setsockopt() changes the flag after this call, before
 * it releases the socket.  An overrule is queued now: its work item takes
 * the socket lock, so it runs once the call is over, and no return probe
 * on sock_setsockopt() is needed - one that every SOL_SOCKET call of every
 * UDP, UNIX and netlink socket would pay for.
 */
static void kap_keepalive_set(struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);

	kap_app_keepalive(sk, regs_get_kernel_argument(regs, 1) != 0);
	kap_app_setsockopt(sk, SOL_SOCKET, SO_KEEPALIVE);
}

struct kap_setsockopt {
	struct sock *sk;
	int level;
	int optname;
};

/* tcp_setsockopt(sk, level, optname, optval, optlen) */
static int kap_tcp_setsockopt_entry(struct kretprobe_instance *ri,
				    struct pt_regs *regs)
{
	struct kap_setsockopt *s = (struct kap_setsockopt *)ri->data;

	s->sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	s->level = regs_get_kernel_argument(regs, 1);
	s->optname = regs_get_kernel_argument(regs, 2);
	return !kap_sockopt_field(s->level, s->optname);
}

NOKPROBE_SYMBOL(kap_tcp_setsockopt_entry);

static int kap_setsockopt_return(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct kap_setsockopt *s = (struct kap_setsockopt *)ri->data;

	/* The file the caller holds keeps s->sk alive until it returns. */
	if (!regs_return_value(regs))
		kap_app_setsockopt(s->sk, s->level, s->optname);
	return 0;
}

NOKPROBE_SYMBOL(kap_setsockopt_return);

/*
 * setsockopt() may sleep on the socket lock: enough instances for many
 * callers at once (a missed call shows in limits/hooks_missed).
 */
#define KAP_SETSOCKOPT_MAXACTIVE	256

static struct kretprobe kap_tcp_setsockopt_rp = {
	.kp.symbol_name = "tcp_setsockopt",
	.kp.flags = KPROBE_FLAG_DISABLED,	/* kap_hooks_watch_tcp_sockopt() */
	.entry_handler = kap_tcp_setsockopt_entry,
	.handler = kap_setsockopt_return,
	.data_size = sizeof(struct kap_setsockopt),
	.maxactive = KAP_SETSOCKOPT_MAXACTIVE,
};

/*
 * For tests: the hook that this kernel is to lack.  The name given to the
 * kernel's lookup (kprobes' kallsyms lookup for functions, the tracepoint
 * list) gets a suffix no symbol has, so that the real failure path runs:
 * loading fails with one line naming the hook, and what was registered
 * before it is unregistered.  (tcp_keepalive_timer() is read off a socket,
 * not looked up: there the failure is simply returned.)
 */
static char *missing_hook;
module_param(missing_hook, charp, 0444);
MODULE_PARM_DESC(missing_hook,
		 "for tests: act as if the kernel lacked this hooked function or tracepoint");

static bool kap_hook_missing(const char *name)
{
	return missing_hook && !strcmp(missing_hook, name);
}

#define KAP_MISSING_SUFFIX ".kapolicy_missing"

/* ---- tracepoints ------------------------------------------------------- */

static void kap_opened_fn(struct kap_sock_state *st, void *arg)
{
	const struct kap_sock_state *fresh = arg;

	*st = *fresh;
}

static void kap_conn_opened(struct sock *sk, bool passive)
{
	struct kap_sock_state fresh = {
		.flags = passive ? KAP_SOCK_PASSIVE : KAP_SOCK_ACTIVE,
		.port = passive ? inet_sk(sk)->inet_num
				: ntohs(inet_sk(sk)->inet_dport),
	};
	enum kap_sock_want want = KAP_SOCK_FIND;
	struct kap_policy *p;

	rcu_read_lock();
	p = kap_apply_policy_for(sk);
	/*
	 * Track sockets that may probe or that a policy governs; reset a
	 * stale entry in any case (for a governed one, in kap_govern()'s
	 * lookup).
	 */
	if (p) {
		kap_govern(sk, p, passive ? KAP_TRIGGER_ACCEPT : KAP_TRIGGER_CONNECT,
			   fresh.port, &fresh);
	} else {
		if (sock_flag(sk, SOCK_KEEPOPEN))
			want = KAP_SOCK_OBSERVE;
		kap_sock_call(sk, want, kap_opened_fn, &fresh);
	}
	rcu_read_unlock();
}

struct kap_timeout {
	int icmp_err;
};

static void kap_timeout_fn(struct kap_sock_state *st, void *arg)
{
	struct kap_timeout *t = arg;

	t->icmp_err = st->icmp_err;
	st->flags &= ~KAP_SOCK_PROBING;
}

/*
 * The connection closes.  Inside its keepalive timer (not the orphaned
 * FIN_WAIT2 timeout, which shares it) keepalive reset it: a timeout;
 * otherwise a probe may have been answered.  Then what its policy wrote is
 * put back (apply.c).
 */
static void kap_conn_closing(struct sock *sk, int oldstate)
{
	struct kap_timeout t = {};
	struct kap_event ev = { .sk = sk };

	if (!kap_in_timer_of(sk) ||
	    (oldstate == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD))) {
		kap_check_answer(sk);
		kap_retrans_death(sk, oldstate);
	} else {
		kap_sock_call(sk, KAP_SOCK_FIND, kap_timeout_fn, &t);
		ev.probe = inet_csk(sk)->icsk_probes_out;
		rcu_read_lock();
		kap_report(KAP_TIMEOUTS, &ev);
		trace_timeout(&ev, READ_ONCE(sk->sk_err),
			      READ_ONCE(inet_csk(sk)->icsk_user_timeout) != 0,
			      t.icmp_err);
		rcu_read_unlock();
		if (READ_ONCE(idle_deaths))
			kap_death(sk, KAP_DEATH_KEEPALIVE,
				  kap_idle_before_probe(sk),
				  READ_ONCE(sk->sk_err));
	}
	kap_ungovern(sk);
}

static void kap_tp_set_state(void *data, const struct sock *csk, int oldstate,
			     int newstate)
{
	struct sock *sk = (struct sock *)csk;

	if (!kap_sock_is_tcp(sk))
		return;
	if (newstate == TCP_ESTABLISHED &&
	    (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV))
		kap_conn_opened(sk, oldstate == TCP_SYN_RECV);
	else if (newstate == TCP_CLOSE)
		kap_conn_closing(sk, oldstate);
	else if (oldstate == TCP_ESTABLISHED)
		kap_check_answer(sk);	/* before the closing handshake's ACKs */
}

static void kap_reset_fn(struct kap_sock_state *st, void *arg)
{
	st->flags &= ~KAP_SOCK_PROBING;
}

static void kap_tp_receive_reset(void *data, struct sock *sk)
{
	struct kap_event ev = { .sk = sk };

	if (!kap_sock_is_tcp(sk))
		return;
	if (!kap_keepalive_probing(sk)) {
		kap_reset_death(sk, false);
		return;
	}
	kap_reset_death(sk, true);
	ev.probe = inet_csk(sk)->icsk_probes_out;
	kap_sock_call(sk, KAP_SOCK_FIND, kap_reset_fn, NULL);
	rcu_read_lock();
	kap_report(KAP_PEER_RESETS, &ev);
	trace_peer_reset(&ev);
	rcu_read_unlock();
}

static void kap_tp_destroy_sock(void *data, struct sock *sk)
{
	kap_sock_forget(sk);
}

struct kap_tracepoint {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
};

/* timer_expire_exit before timer_expire_entry: never an entry without exit */
static struct kap_tracepoint kap_tracepoints[] = {
	{ .name = "timer_expire_exit", .probe = kap_tp_timer_exit },
	{ .name = "timer_expire_entry", .probe = kap_tp_timer_entry },
	{ .name = "inet_sock_set_state", .probe = kap_tp_set_state },
	{ .name = "tcp_receive_reset", .probe = kap_tp_receive_reset },
	{ .name = "tcp_destroy_sock", .probe = kap_tp_destroy_sock },
};

static void kap_tracepoint_find(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kap_tracepoints); i++)
		if (!strcmp(tp->name, kap_tracepoints[i].name) &&
		    !kap_hook_missing(tp->name))
			kap_tracepoints[i].tp = tp;
}

/* ---- function entry hooks (ftrace) ------------------------------------ */

/*
 * Plain ftrace callbacks with the registers saved (the arguments are read
 * from them).  ftrace's recursion guard is per context (task, softirq,
 * irq, NMI): a miss would need the hooked function to recurse.
 */
struct kap_fhook {
	const char *name;
	void (*fn)(struct pt_regs *regs);
	struct ftrace_ops ops;
	bool registered;
};

static atomic_long_t kap_fhooks_missed = ATOMIC_LONG_INIT(0);

static void notrace kap_fhook_call(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	struct kap_fhook *h = container_of(ops, struct kap_fhook, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);
	int bit;

	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0) {
		atomic_long_inc(&kap_fhooks_missed);
		return;
	}
	if (likely(regs))
		h->fn(regs);
	ftrace_test_recursion_unlock(bit);
}

static struct kap_fhook kap_fhooks[] = {
	{ .name = "tcp_write_wakeup", .fn = kap_wakeup },
	{ .name = "inet_csk_reset_keepalive_timer", .fn = kap_timer_rearmed },
	{ .name = "tcp_v4_err", .fn = kap_v4_err },
	{ .name = "tcp_set_keepalive", .fn = kap_keepalive_set },
#if IS_ENABLED(CONFIG_IPV6)
	{ .name = "tcp_v6_err", .fn = kap_v6_err },
#endif
};

static void kap_fhooks_unregister(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kap_fhooks); i++) {
		if (kap_fhooks[i].registered)
			unregister_ftrace_function(&kap_fhooks[i].ops);
		kap_fhooks[i].registered = false;
		ftrace_free_filter(&kap_fhooks[i].ops);
	}
}

/*
 * The address of a function, by name: kallsyms_lookup_name() is not
 * exported, but a kprobe resolves its symbol_name when registered; this
 * one is never armed (KPROBE_FLAG_DISABLED) and goes at once.  0 if the
 * kernel has no such function, or no probe may be put on it.
 */
static unsigned long kap_function_addr(const char *name, int *err)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	unsigned long addr;

	*err = register_kprobe(&kp);
	if (*err)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * Each hook's filter is the function's address (ftrace_set_filter_ip()),
 * not its name: ftrace_set_filter() with a name returns 0 when it runs
 * out of memory while matching the name (6.1, 6.12), leaving the filter
 * empty, and an ops with an empty filter is called for every function of
 * the kernel.  The address path reports that failure.
 */
static int kap_fhooks_register(void)
{
	char name[KSYM_NAME_LEN];
	unsigned long addr;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(kap_fhooks); i++) {
		struct kap_fhook *h = &kap_fhooks[i];

		h->ops.func = kap_fhook_call;
		h->ops.flags = FTRACE_OPS_FL_SAVE_REGS;
		snprintf(name, sizeof(name), "%s%s", h->name,
			 kap_hook_missing(h->name) ? KAP_MISSING_SUFFIX : "");
		addr = kap_function_addr(name, &ret);
		if (!addr) {
			pr_err("cannot hook %s(): %s (%d); not loading\n", h->name,
			       ret == -ENOENT ? "no such function in this kernel" :
			       "cannot resolve its address", ret);
			kap_fhooks_unregister();
			return ret;
		}
		ret = ftrace_set_filter_ip(&h->ops, addr, 0, 1);
		if (ret) {
			pr_err("cannot hook %s(): %s (%d); not loading\n", h->name,
			       ret == -ENOENT ? "not traceable in this kernel" :
			       "ftrace's filter failed", ret);
			kap_fhooks_unregister();
			return ret;
		}
		ret = register_ftrace_function(&h->ops);
		if (ret) {
			pr_err("cannot hook %s(): ftrace refused (%d); not loading\n",
			       h->name, ret);
			kap_fhooks_unregister();
			return ret;
		}
		h->registered = true;
	}
	return 0;
}

/*
 * tcp_keepalive_timer() is static: read its address off the keepalive timer
 * of a TCP socket, as tcp_init_sock() sets it up.
 */
static int kap_keepalive_fn_learn(void)
{
	struct socket *sock;
	int ret;

	if (kap_hook_missing("tcp_keepalive_timer"))
		return -ENOENT;
	ret = sock_create_kern(&init_net, PF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (ret)
		return ret;
	kap_keepalive_fn = inet_csk(sock->sk)->icsk_keepalive_timer.function;
	sock_release(sock);
	return kap_keepalive_fn ? 0 : -ENOENT;
}

/* ---- registration ------------------------------------------------------ */

/* Process context, after the call: only a kretprobe can tell the result. */
static struct kretprobe *kap_kretprobes[] = {
	&kap_tcp_setsockopt_rp,
};

/*
 * One by one, for the line that names the one that failed (kprobes looks
 * the name up in kallsyms: -ENOENT for a function the kernel lacks).
 */
static int kap_kretprobes_register(void)
{
	static char name[KSYM_NAME_LEN];
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(kap_kretprobes); i++) {
		struct kprobe *kp = &kap_kretprobes[i]->kp;
		const char *want = kp->symbol_name;

		if (kap_hook_missing(want)) {
			snprintf(name, sizeof(name), "%s" KAP_MISSING_SUFFIX, want);
			kp->symbol_name = name;
		}
		ret = register_kretprobe(kap_kretprobes[i]);
		kp->symbol_name = want;
		if (ret) {
			pr_err("cannot hook %s() with a return probe (%d); not loading\n",
			       want, ret);
			if (i)
				unregister_kretprobes(kap_kretprobes, i);
			return ret;
		}
	}
	return 0;
}

static void kap_tracepoints_unregister(void)
{
	int i;

	for (i = ARRAY_SIZE(kap_tracepoints) - 1; i >= 0; i--) {
		if (kap_tracepoints[i].registered)
			tracepoint_probe_unregister(kap_tracepoints[i].tp,
						    kap_tracepoints[i].probe, NULL);
		kap_tracepoints[i].registered = false;
	}
	tracepoint_synchronize_unregister();
}

int kap_hooks_init(void)
{
	int i, ret;

	ret = kap_keepalive_fn_learn();
	if (ret) {
		pr_err("cannot find tcp_keepalive_timer(), the keepalive timer of TCP sockets (%d); not loading\n",
		       ret);
		return ret;
	}
	for_each_kernel_tracepoint(kap_tracepoint_find, NULL);
	for (i = 0; i < ARRAY_SIZE(kap_tracepoints); i++) {
		if (!kap_tracepoints[i].tp) {
			pr_err("cannot hook the tracepoint %s: not in this kernel; not loading\n",
			       kap_tracepoints[i].name);
			return -ENOENT;
		}
	}

	ret = kap_kretprobes_register();
	if (ret)
		return ret;
	ret = kap_fhooks_register();
	if (ret)
		goto err_fhooks;
	for (i = 0; i < ARRAY_SIZE(kap_tracepoints); i++) {
		ret = tracepoint_probe_register(kap_tracepoints[i].tp,
						kap_tracepoints[i].probe, NULL);
		if (ret) {
			pr_err("cannot attach to the tracepoint %s (%d); not loading\n",
			       kap_tracepoints[i].name, ret);
			goto err_tracepoints;
		}
		kap_tracepoints[i].registered = true;
	}
	return 0;

err_tracepoints:
	kap_tracepoints_unregister();
	kap_fhooks_unregister();
err_fhooks:
	unregister_kretprobes(kap_kretprobes, ARRAY_SIZE(kap_kretprobes));
	return ret;
}

/*
 * Unhooks everything and waits until no handler runs any more
 * (tracepoint_synchronize_unregister(); unregister_ftrace_function() and
 * unregister_kretprobes() wait for their handlers themselves).
 */
void kap_hooks_uninit(void)
{
	kap_tracepoints_unregister();
	kap_fhooks_unregister();
	unregister_kretprobes(kap_kretprobes, ARRAY_SIZE(kap_kretprobes));
}

/*
 * The tcp_setsockopt() return probe is registered disarmed at load and
 * armed before the first table with a policy that gives a value a TCP
 * socket option sets is published (control.c, under its lock); then it
 * stays armed until unload: disarming patches the function again, at every
 * commit that crossed the line, and ftrace warns when it lacks the memory
 * to.  Until then no TCP setsockopt() (TCP_NODELAY included) pays for an
 * instance taken and put back.  A call that entered the function before it
 * was armed is not seen.
 */
static bool kap_tcp_sockopt_armed;

int kap_hooks_watch_tcp_sockopt(void)
{
	int ret;

	if (kap_tcp_sockopt_armed)
		return 0;
	ret = enable_kretprobe(&kap_tcp_setsockopt_rp);
	if (!ret)
		kap_tcp_sockopt_armed = true;
	return ret;
}

/*
 * Hook calls that were missed: kretprobe instances exhausted or a kprobe
 * already running on the CPU (setsockopt), ftrace recursion (never seen).
 */
unsigned long kap_hooks_missed(void)
{
	unsigned long n = atomic_long_read(&kap_fhooks_missed) + kap_apply_missed();
	int i;

	for (i = 0; i < ARRAY_SIZE(kap_kretprobes); i++)
		n += kap_kretprobes[i]->nmissed + kap_kretprobes[i]->kp.nmissed;
	return n;
}
