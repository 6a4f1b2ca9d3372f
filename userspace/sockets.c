// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl sockets: the keepalive state of each TCP connection of the
 * current network namespace, from sock_diag netlink (NETLINK_SOCK_DIAG,
 * inet_diag_req_v2, IPv4 and IPv6; libmnl frames the messages), in ss -o's
 * vocabulary, with the policy that governs each one.
 *
 * Measured (the kernel reports it):
 *   timer     idiag_timer/idiag_expires/idiag_retrans: which timer of the
 *             socket is pending, when it fires, and for the keepalive timer
 *             (idiag_timer 2) the probes sent unanswered (icsk_probes_out):
 *             "timer:(keepalive,48sec,0)".  Keepalive is on when the
 *             keepalive timer is pending, off when no timer is; while a
 *             retransmission or zero-window timer is pending (they take
 *             precedence in the report) it is not known.
 *   idle      time since the connection last sent data or received a
 *             segment: min(tcpi_last_data_sent, tcpi_last_data_recv,
 *             tcpi_last_ack_recv) of INET_DIAG_INFO (tcp_info).  An
 *             answered keepalive probe restarts it.
 *   cgroup    INET_DIAG_CGROUP_ID (sent by kernels since 5.7).
 * Inferred (sock_diag does not report TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT):
 *   idle/intvl/cnt in force: the governing policy's value where it sets
 *             one, else the namespace's sysctl (net.ipv4.tcp_keepalive_*);
 *             an application's own setsockopt() is not visible, except
 *             that a pending keepalive timer bounds the keepalive time from
 *             below (time since the last segment received + time left):
 *             when that bound exceeds the inferred value, the bound is
 *             reported (source "timer").
 *   policy    the first policy, in match order, whose match keys fit the
 *             socket: lport, rport, family (IPv4-mapped IPv6 is 4), netns
 *             (this namespace's inode) and cgroup (the socket's cgroup or
 *             an ancestor).  kapctl computes this from the specs in sysfs;
 *             it is what the module applies when enforce is on.
 *
 * --at-risk SECONDS: ESTABLISHED connections idle longer than SECONDS
 * whose keepalive is off, or whose first probe would come later than
 * SECONDS after the last activity (keepalive time in force > SECONDS).
 * kapctl doctor asks the same question per port through
 * kap_at_risk_open()/kap_at_risk_count(), without a process of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kapctl.h"

enum {
	KAP_OPT_AT_RISK = 256, KAP_OPT_PORT, KAP_OPT_POLICY, KAP_OPT_STATE, KAP_OPT_FAMILY,
	KAP_OPT_CGROUP, KAP_OPT_NETNS, KAP_OPT_SORT,
};

const struct kap_opt kap_sockets_opts[] = {
	{ "at-risk", "DURATION", KAP_OPT_AT_RISK,
	  "only established connections idle over DURATION (90, 5m) that keepalive will not probe by then" },
	{ "port", "PORT", KAP_OPT_PORT, "only this local or remote port (range, service name)" },
	{ "policy", "NAME", KAP_OPT_POLICY, "only connections this policy governs ('-': none)" },
	{ "state", "STATE", KAP_OPT_STATE, "only this TCP state (established, ..., all)" },
	{ "family", "4|6", KAP_OPT_FAMILY, "only IPv4 (IPv4-mapped included) or IPv6 connections" },
	{ "cgroup", "ID|PATH", KAP_OPT_CGROUP, "only sockets of this cgroup or below it" },
	{ "netns", "NAME|PATH", KAP_OPT_NETNS,
	  "the connections of this network namespace (as ip netns exec NAME would)" },
	{ "sort", "KEY", KAP_OPT_SORT, "order: idle (longest first), port (local), state" },
	{ NULL }
};

/* TCP states as the kernel numbers them, named as ss names them. */
static const struct {
	const char *ss;		/* ss's name */
	const char *opt;	/* --state's name */
} kap_states[] = {
	[1] = { "ESTAB", "established" }, [2] = { "SYN-SENT", "syn-sent" },
	[3] = { "SYN-RECV", "syn-recv" }, [4] = { "FIN-WAIT-1", "fin-wait-1" },
	[5] = { "FIN-WAIT-2", "fin-wait-2" }, [6] = { "TIME-WAIT", "time-wait" },
	[7] = { "UNCONN", "close" }, [8] = { "CLOSE-WAIT", "close-wait" },
	[9] = { "LAST-ACK", "last-ack" }, [10] = { "LISTEN", "listen" },
	[11] = { "CLOSING", "closing" },
};
#define KAP_TCP_ESTABLISHED	1
#define KAP_TCP_LISTEN		10
#define KAP_NR_STATES		12

/* idiag_timer */
static const char *const kap_timer_names[] = {
	"off", "on", "keepalive", "timewait", "persist", "unknown",
};
#define KAP_TIMER_KEEPALIVE	2

struct kap_diag_sock {
	int family;			/* AF_INET, AF_INET6 */
	bool mapped;			/* IPv4-mapped IPv6 */
	uint8_t state, timer, retrans;
	uint32_t expires;		/* ms */
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
	char src_addr[INET6_ADDRSTRLEN], dst_addr[INET6_ADDRSTRLEN];
	uint16_t sport, dport;
	uint32_t uid, inode;
	bool have_info;
	struct tcp_info info;
	bool have_cgroup;
	uint64_t cgroup;
};

struct kap_diag_socks {
	struct kap_diag_sock *s;
	size_t n, cap;
	int err;
};

/* ---- sock_diag ---------------------------------------------------------- */

static int kap_diag_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, INET_DIAG_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int kap_diag_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { NULL };
	struct kap_diag_socks *out = data;
	struct inet_diag_msg *m;
	struct kap_diag_sock *s;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	m = mnl_nlmsg_get_payload(nlh);
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 256;
		struct kap_diag_sock *bigger = realloc(out->s, cap * sizeof(*bigger));

		if (!bigger) {
			out->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		out->s = bigger;
		out->cap = cap;
	}
	s = &out->s[out->n];
	memset(s, 0, sizeof(*s));
	s->family = m->idiag_family;
	s->state = m->idiag_state;
	s->timer = m->idiag_timer;
	s->retrans = m->idiag_retrans;
	s->expires = m->idiag_expires;
	s->sport = ntohs(m->id.idiag_sport);
	s->dport = ntohs(m->id.idiag_dport);
	s->uid = m->idiag_uid;
	s->inode = m->idiag_inode;
	if (s->family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)m->id.idiag_src)) {
		s->mapped = true;
	}
	inet_ntop(s->family, m->id.idiag_src, s->src_addr, sizeof(s->src_addr));
	inet_ntop(s->family, m->id.idiag_dst, s->dst_addr, sizeof(s->dst_addr));
	if (s->family == AF_INET6) {
		snprintf(s->src, sizeof(s->src), "[%s]:%u", s->src_addr, s->sport);
		snprintf(s->dst, sizeof(s->dst), "[%s]:%u", s->dst_addr, s->dport);
	} else {
		snprintf(s->src, sizeof(s->src), "%s:%u", s->src_addr, s->sport);
		snprintf(s->dst, sizeof(s->dst), "%s:%u", s->dst_addr, s->dport);
	}

	mnl_attr_parse(nlh, sizeof(*m), kap_diag_attr, tb);
	if (tb[INET_DIAG_INFO]) {
		size_t len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);

		/* the kernel's tcp_info may be shorter or longer than ours */
		memcpy(&s->info, mnl_attr_get_payload(tb[INET_DIAG_INFO]),
		       len < sizeof(s->info) ? len : sizeof(s->info));
		s->have_info = true;
	}
	if (tb[INET_DIAG_CGROUP_ID] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_CGROUP_ID]) >= sizeof(uint64_t)) {
		s->cgroup = mnl_attr_get_u64(tb[INET_DIAG_CGROUP_ID]);
		s->have_cgroup = true;
	}
	out->n++;
	return MNL_CB_OK;
}

/* Dumps the TCP sockets of one family in the given states into out. */
static int kap_diag_dump(struct mnl_socket *nl, int family, uint32_t states,
			 struct kap_diag_socks *out)
{
	char buf[32768] __attribute__((aligned(8)));
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned int seq = (unsigned int)time(NULL) + family;
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, n, seq, portid, kap_diag_msg, out);
		if (ret == MNL_CB_ERROR)
			return out->err ? out->err : -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int kap_diag_all(uint32_t states, struct kap_diag_socks *out)
{
	struct mnl_socket *nl;
	int ret;

	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	ret = kap_diag_dump(nl, AF_INET, states, out);
	if (!ret)
		ret = kap_diag_dump(nl, AF_INET6, states, out);
	mnl_socket_close(nl);
	return ret;
}

/* ---- what is in force --------------------------------------------------- */

struct kap_sysctls {
	unsigned int idle, intvl, cnt;	/* 0: unreadable */
};

static unsigned int kap_read_uint(const char *path)
{
	unsigned int v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

enum kap_source { KAP_SRC_NONE, KAP_SRC_POLICY, KAP_SRC_SYSCTL, KAP_SRC_TIMER };
static const char *const kap_source_names[] = { NULL, "policy", "sysctl", "timer" };

struct kap_value {
	unsigned int v;
	enum kap_source src;
};

struct kap_verdict {
	const struct kap_policy_info *policy;
	int keepalive;			/* 1 on, 0 off, -1 not known */
	bool have_idle_ms;
	uint32_t idle_ms;		/* time since the last activity */
	struct kap_value idle, intvl, cnt;
	bool at_risk;
	const char *why;		/* at risk because */
};

struct kap_ctx {
	struct kap_policy_info *pols;
	size_t npol;
	bool have_policies;		/* the module's policies were read */
	struct kap_cgtree tree;
	uint32_t netns;			/* inode, as lsns(8) shows it */
	uint64_t netns_cookie;		/* what policies match */
	struct kap_sysctls sys;
	uint64_t at_risk;		/* seconds; 0: not asked */
};

/* 4 or 6, as policies and events name families: IPv4-mapped IPv6 is 4 */
static int kap_sock_family(const struct kap_diag_sock *s)
{
	return s->family == AF_INET || s->mapped ? 4 : 6;
}

/*
 * Does the policy's match part fit the socket?  The module's own
 * kap_spec_match() for everything but the cgroup, which kapctl checks
 * against the cgroup v2 tree.
 */
static bool kap_policy_matches(struct kap_ctx *x, const struct kap_spec *sp,
			       const struct kap_diag_sock *s)
{
	const struct kap_match_key k = {
		.lport = s->sport,
		.rport = s->dport,
		.family = kap_sock_family(s),
		.netns = x->netns_cookie,
	};
	int under;

	if (!kap_spec_match(sp, &k))
		return false;
	if (sp->keys & KAP_KEY_BIT(KAP_KEY_CGROUP)) {
		if (!s->have_cgroup)
			return false;	/* a kernel without INET_DIAG_CGROUP_ID */
		if (!x->tree.loaded)
			kap_cgtree_load(&x->tree);
		under = kap_cgroup_under(&x->tree, s->cgroup, sp->cgroup);
		if (under < 0) {
			kap_cgtree_load(&x->tree);
			under = kap_cgroup_under(&x->tree, s->cgroup, sp->cgroup);
		}
		if (under != 1)
			return false;
	}
	return true;
}

static void kap_judge(struct kap_ctx *x, const struct kap_diag_sock *s, struct kap_verdict *v)
{
	const struct kap_spec *sp = NULL;
	size_t i;

	memset(v, 0, sizeof(*v));
	/* policies govern connections; a listener has no keepalive */
	for (i = 0; s->state != KAP_TCP_LISTEN && i < x->npol; i++) {
		if (x->pols[i].spec_ok && kap_policy_matches(x, &x->pols[i].spec, s)) {
			v->policy = &x->pols[i];
			sp = &x->pols[i].spec;
			break;
		}
	}

	if (s->timer == KAP_TIMER_KEEPALIVE)
		v->keepalive = 1;
	else if (s->timer == 0)
		v->keepalive = 0;
	else
		v->keepalive = -1;

	if (s->have_info) {
		uint32_t a = s->info.tcpi_last_data_sent, b = s->info.tcpi_last_data_recv,
			 c = s->info.tcpi_last_ack_recv;

		v->idle_ms = a < b ? a : b;
		if (c < v->idle_ms)
			v->idle_ms = c;
		v->have_idle_ms = true;
	}

#define KAP_INFER(field, key, sysval)						\
	do {									\
		if (sp && (sp->keys & KAP_KEY_BIT(key))) {			\
			v->field.v = sp->field;					\
			v->field.src = KAP_SRC_POLICY;				\
		} else if (sysval) {						\
			v->field.v = sysval;					\
			v->field.src = KAP_SRC_SYSCTL;				\
		}								\
	} while (0)
	KAP_INFER(idle, KAP_KEY_IDLE, x->sys.idle);
	KAP_INFER(intvl, KAP_KEY_INTVL, x->sys.intvl);
	KAP_INFER(cnt, KAP_KEY_CNT, x->sys.cnt);
#undef KAP_INFER

	/*
	 * With no probe out, the keepalive timer fires keepalive time after
	 * the last segment received at the latest: elapsed + remaining is a
	 * lower bound of the keepalive time in force (it can exceed it only
	 * when SO_KEEPALIVE was switched on after a quiet spell, until the
	 * next segment).  An override policy's value is known to hold.
	 */
	if (v->keepalive == 1 && !s->retrans && s->have_info &&
	    !(sp && sp->mode == KAP_MODE_OVERRIDE && v->idle.src == KAP_SRC_POLICY)) {
		uint32_t rcv = s->info.tcpi_last_data_recv < s->info.tcpi_last_ack_recv ?
			       s->info.tcpi_last_data_recv : s->info.tcpi_last_ack_recv;
		uint64_t bound = ((uint64_t)rcv + s->expires) / 1000;

		if (bound > (uint64_t)v->idle.v + 1) {
			v->idle.v = bound;
			v->idle.src = KAP_SRC_TIMER;
		}
	}

	if (x->at_risk && s->state == KAP_TCP_ESTABLISHED && v->have_idle_ms &&
	    v->idle_ms > x->at_risk * 1000) {
		if (v->keepalive == 0) {
			v->at_risk = true;
			v->why = "keepalive off";
		} else if (v->keepalive == 1 && v->idle.src && v->idle.v > x->at_risk) {
			v->at_risk = true;
			v->why = "first probe too late";
		}
	}
}

/* ---- output ------------------------------------------------------------- */

/* The text columns; "At risk" only with --at-risk. */
enum {
	KAP_SC_STATE, KAP_SC_LOCAL, KAP_SC_PEER, KAP_SC_IDLE, KAP_SC_KA, KAP_SC_SETTINGS,
	KAP_SC_POLICY, KAP_SC_TIMER, KAP_SC_RISK, KAP_SC_N
};

static const struct kap_col kap_sock_cols[KAP_SC_N] = {
	[KAP_SC_STATE] = { "State", 5, 0 },
	[KAP_SC_LOCAL] = { "Local Address:Port", 17, 0 },
	[KAP_SC_PEER] = { "Peer Address:Port", 17, 0 },
	[KAP_SC_IDLE] = { "Idle", 9, KAP_COL_RIGHT },
	[KAP_SC_KA] = { "KA", 3, 0 },
	[KAP_SC_SETTINGS] = { "Idle/Intvl/Cnt", 15, 0 },
	[KAP_SC_POLICY] = { "Policy", 6, 0 },
	[KAP_SC_TIMER] = { "Timer", 0, 0 },
	[KAP_SC_RISK] = { "At risk", 0, 0 },
};

/* A value in force: {"value", "source"} or null; "?" in text. */
static void kap_value_out(const char *key, const struct kap_value *v, char *buf, size_t len)
{
	if (!v->src) {
		kap_print_null(key);
		snprintf(buf, len, "?");
		return;
	}
	kap_open_object(key);
	kap_print_i64(KAP_PR_JSON, "value", NULL, v->v);
	kap_print_str(KAP_PR_JSON, "source", NULL, kap_source_names[v->src]);
	kap_close_object();
	snprintf(buf, len, "%u", v->v);
}

/* A socket: a row of the table, in ss -o's vocabulary in text. */
static void kap_sock_out(struct kap_table *t, const struct kap_diag_sock *s,
			 const struct kap_verdict *v, bool at_risk_mode)
{
	const char *state = s->state < KAP_NR_STATES ? kap_states[s->state].ss : NULL;
	const char *timer = s->timer < ARRAY_SIZE(kap_timer_names) ?
			    kap_timer_names[s->timer] : "unknown";
	char text[64], ms[32], a[12], b[12], c[12];

	kap_print_str(KAP_PR_JSON, "state", NULL, state ? state : "UNKNOWN");
	kap_cell_str(t, KAP_SC_STATE, NULL, state ? state : "?");
	kap_print_i64(KAP_PR_JSON, "family", NULL, kap_sock_family(s));
	kap_cell_str(t, KAP_SC_LOCAL, "src", s->src);
	kap_print_str(KAP_PR_JSON, "src_addr", NULL, s->src_addr);
	kap_print_i64(KAP_PR_JSON, "src_port", NULL, s->sport);
	kap_cell_str(t, KAP_SC_PEER, "dst", s->dst);
	kap_print_str(KAP_PR_JSON, "dst_addr", NULL, s->dst_addr);
	kap_print_i64(KAP_PR_JSON, "dst_port", NULL, s->dport);
	kap_print_i64(KAP_PR_JSON, "uid", NULL, s->uid);
	kap_print_i64(KAP_PR_JSON, "inode", NULL, s->inode);
	if (s->have_cgroup)
		kap_print_u64(KAP_PR_JSON, "cgroup", NULL, s->cgroup);
	else
		kap_print_null("cgroup");
	if (v->keepalive < 0)
		kap_cell_null(t, KAP_SC_KA, "keepalive", "?");
	else
		kap_cell_bool(t, KAP_SC_KA, "keepalive", v->keepalive);
	if (s->timer) {
		kap_open_object("timer");
		kap_print_str(KAP_PR_JSON, "kind", NULL, timer);
		kap_print_i64(KAP_PR_JSON, "expires_ms", NULL, s->expires);
		kap_print_i64(KAP_PR_JSON, "retrans", NULL, s->retrans);
		kap_close_object();
		kap_print_ms(ms, sizeof(ms), s->expires);
		snprintf(text, sizeof(text), "timer:(%s,%s,%u)", timer, ms, s->retrans);
		kap_cell_str(t, KAP_SC_TIMER, NULL, text);
	} else {
		kap_cell_null(t, KAP_SC_TIMER, "timer", "-");
	}
	if (s->have_info)
		kap_print_i64(KAP_PR_JSON, "probes_out", NULL, s->info.tcpi_probes);
	else
		kap_print_null("probes_out");
	if (v->have_idle_ms) {
		kap_print_i64(KAP_PR_JSON, "idle_ms", NULL, v->idle_ms);
		kap_cell_str(t, KAP_SC_IDLE, NULL, kap_duration_text(v->idle_ms, text, sizeof(text)));
	} else {
		kap_cell_null(t, KAP_SC_IDLE, "idle_ms", "?");
	}
	kap_open_object("keepalive_settings");
	kap_value_out("idle", &v->idle, a, sizeof(a));
	kap_value_out("intvl", &v->intvl, b, sizeof(b));
	kap_value_out("cnt", &v->cnt, c, sizeof(c));
	kap_close_object();
	snprintf(text, sizeof(text), "%s/%s/%s%s", a, b, c,
		 v->idle.src == KAP_SRC_POLICY ? " pol" :
		 v->idle.src == KAP_SRC_TIMER ? " >=" :
		 v->idle.src == KAP_SRC_SYSCTL ? " sys" : "");
	kap_cell_str(t, KAP_SC_SETTINGS, NULL, text);
	if (v->policy)
		kap_cell_str(t, KAP_SC_POLICY, "policy", v->policy->name);
	else
		kap_cell_null(t, KAP_SC_POLICY, "policy", "-");
	if (at_risk_mode) {
		kap_print_bool(KAP_PR_JSON, "at_risk", NULL, v->at_risk);
		kap_cell_str(t, KAP_SC_RISK, "reason", v->why);
	}
}

struct kap_row {
	const struct kap_diag_sock *s;
	struct kap_verdict v;
};

static int kap_sort_key;	/* 0: as sock_diag gives them; 1 idle, 2 port, 3 state */

static int kap_row_cmp(const void *a, const void *b)
{
	const struct kap_row *x = a, *y = b;
	uint64_t ix = x->v.have_idle_ms ? x->v.idle_ms : 0;
	uint64_t iy = y->v.have_idle_ms ? y->v.idle_ms : 0;

	switch (kap_sort_key) {
	case 1:
		return ix > iy ? -1 : ix < iy;
	case 2:
		return (int)x->s->sport - (int)y->s->sport;
	default:
		return (int)x->s->state - (int)y->s->state;
	}
}

/* ---- what kapctl knows before judging: policies, namespace, sysctls ------ */

/*
 * Fills x for the current network namespace: the module's policies (if it
 * is loaded: sockets are judged without them otherwise), the namespace's
 * inode and cookie, the keepalive sysctls.  warn: say which policies this
 * kapctl cannot read.
 */
static void kap_ctx_init(struct kap_ctx *x, bool warn)
{
	struct stat st;
	size_t i;

	if (kap_module_loaded() && !kap_policies_load(&x->pols, &x->npol))
		x->have_policies = true;
	for (i = 0; warn && i < x->npol; i++)
		if (!x->pols[i].spec_ok)
			kap_warn("policy '%s': its spec '%s' is not understood by this kapctl (an older version than the module?); the connections it governs are shown without it",
				 x->pols[i].name, x->pols[i].spec_text);
	if (!stat("/proc/self/ns/net", &st))
		x->netns = st.st_ino;
	if (kap_netns_cookie_self(&x->netns_cookie))
		x->netns_cookie = 0;	/* before 5.14: no netns policy matches */
	x->sys.idle = kap_read_uint("/proc/sys/net/ipv4/tcp_keepalive_time");
	x->sys.intvl = kap_read_uint("/proc/sys/net/ipv4/tcp_keepalive_intvl");
	x->sys.cnt = kap_read_uint("/proc/sys/net/ipv4/tcp_keepalive_probes");
}

static void kap_ctx_free(struct kap_ctx *x)
{
	free(x->pols);
	x->pols = NULL;
	x->npol = 0;
	kap_cgtree_free(&x->tree);
}

/*
 * The at-risk scan as a function (kapctl doctor): the ESTABLISHED
 * connections of this namespace dumped once, then judged as --at-risk
 * SECONDS judges them, for each question asked.
 */
struct kap_at_risk_scan {
	struct kap_ctx x;
	struct kap_diag_socks socks;
};

int kap_at_risk_open(struct kap_at_risk_scan **out)
{
	struct kap_at_risk_scan *sc = calloc(1, sizeof(*sc));
	int ret;

	if (!sc)
		return -ENOMEM;
	kap_ctx_init(&sc->x, false);
	ret = kap_diag_all(1U << KAP_TCP_ESTABLISHED, &sc->socks);
	if (ret) {
		kap_at_risk_close(sc);
		return ret;
	}
	*out = sc;
	return 0;
}

/*
 * The connections on port (side KAP_SIDE_LOCAL: the local port,
 * KAP_SIDE_REMOTE: the remote one, KAP_SIDE_BOTH: either) idle longer than
 * seconds without keepalive that probes them by then.
 */
size_t kap_at_risk_count(struct kap_at_risk_scan *sc, uint64_t seconds, unsigned int port,
			 enum kap_side side)
{
	struct kap_verdict v;
	size_t i, n = 0;

	sc->x.at_risk = seconds;
	for (i = 0; i < sc->socks.n; i++) {
		const struct kap_diag_sock *s = &sc->socks.s[i];

		if (!((side != KAP_SIDE_REMOTE && s->sport == port) ||
		      (side != KAP_SIDE_LOCAL && s->dport == port)))
			continue;
		kap_judge(&sc->x, s, &v);
		n += v.at_risk;
	}
	return n;
}

void kap_at_risk_close(struct kap_at_risk_scan *sc)
{
	if (!sc)
		return;
	kap_ctx_free(&sc->x);
	free(sc->socks.s);
	free(sc);
}

/* ---- the command -------------------------------------------------------- */

static int kap_state_index(const char *name)
{
	int i;

	/* as ss takes them (established) or shows them (ESTAB) */
	for (i = 1; i < KAP_NR_STATES; i++)
		if (!strcasecmp(kap_states[i].opt, name) || !strcasecmp(kap_states[i].ss, name))
			return i;
	return -1;
}

int kap_cmd_sockets(int argc, char **argv)
{
	uint32_t states = ~(1U << KAP_TCP_LISTEN | 1U << 7 | 1U << 6 | 1U << 0);
	unsigned int lo = 0, hi = 0;
	bool port_filter = false;
	const char *policy = NULL;
	struct kap_diag_socks socks = { 0 };
	struct kap_ctx x = { 0 };
	struct kap_row *rows = NULL;
	struct kap_table *t;
	char err[512];
	size_t i, r = 0;
	int family = 0, nsfd = -1;
	bool cg_filter = false;
	uint64_t cg = 0, v64;
	int c, ret;

	while ((c = kap_getopt(argc, argv)) != -1) {
		switch (c) {
		case KAP_OPT_EXIT:
			return kap_opt_exit;
		case KAP_OPT_AT_RISK:
			if (kap_duration_opt("at-risk", optarg, 1, 2147483, &x.at_risk, err,
					     sizeof(err)))
				return kap_usage_err("%s", err);
			break;
		case KAP_OPT_PORT:
			if (kap_port_filter("port", optarg, &lo, &hi, err, sizeof(err)))
				return kap_usage_err("%s", err);
			port_filter = true;
			break;
		case KAP_OPT_POLICY:
			if (kap_name_opt("policy", optarg, true, err, sizeof(err)))
				return kap_usage_err("%s", err);
			policy = optarg;
			break;
		case KAP_OPT_FAMILY:
			if (strcmp(optarg, "4") && strcmp(optarg, "6"))
				return kap_usage_err("family: '%s' is not an address family; allowed: 4 or 6",
						     optarg);
			family = atoi(optarg);
			break;
		case KAP_OPT_CGROUP:
			if (kap_number_opt("cgroup", optarg, 1, UINT64_MAX, "", &cg, err,
					   sizeof(err)) &&
			    kap_resolve_cgroup(optarg, &cg, err, sizeof(err)))
				return kap_usage_err("%s", err);
			cg_filter = true;
			break;
		case KAP_OPT_NETNS:
			if (nsfd >= 0)
				close(nsfd);
			if (kap_resolve_netns_inode(optarg, false, &v64, &nsfd, err, sizeof(err)))
				return kap_usage_err("%s", err);
			break;
		case KAP_OPT_SORT:
			if (!strcmp(optarg, "idle"))
				kap_sort_key = 1;
			else if (!strcmp(optarg, "port"))
				kap_sort_key = 2;
			else if (!strcmp(optarg, "state"))
				kap_sort_key = 3;
			else
				return kap_usage_err("sort: '%s' is not a sort key; allowed: idle, port, state",
						     optarg);
			break;
		case KAP_OPT_STATE:
			if (!strcmp(optarg, "all")) {
				states = ~0U;
				break;
			}
			ret = kap_state_index(optarg);
			if (ret < 0) {
				char names[256];
				size_t n = 0;

				for (i = 1; i < KAP_NR_STATES && n < sizeof(names); i++)
					n += snprintf(names + n, sizeof(names) - n, " %s",
						      kap_states[i].opt);
				return kap_usage_err("state: '%s' is not a TCP state; allowed:%s all",
						     optarg, names);
			}
			states = 1U << ret;
			break;
		}
	}
	if (optind < argc)
		return kap_usage_err("sockets: unexpected argument '%s'", argv[optind]);
	if (nsfd >= 0) {
		/* sock_diag answers for the namespace kapctl is in */
		if (setns(nsfd, CLONE_NEWNET)) {
			ret = -errno;
			close(nsfd);
			return kap_fail("netns: cannot enter the namespace: %s%s", strerror(-ret),
					ret == -EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		}
		close(nsfd);
	}
	if (x.at_risk)
		states = 1U << KAP_TCP_ESTABLISHED;

	/* The policies, if the module is there; sockets are shown without. */
	kap_ctx_init(&x, true);
	if (policy && strcmp(policy, "-") && !kap_policy_find(x.pols, x.npol, policy)) {
		kap_ctx_free(&x);
		return kap_fail("policy '%s' does not exist", policy);
	}

	ret = kap_diag_all(states, &socks);
	if (ret) {
		kap_ctx_free(&x);
		free(socks.s);
		return kap_fail("sock_diag: cannot dump the TCP sockets: %s%s", strerror(-ret),
				ret == -ENOENT || ret == -EPROTONOSUPPORT ?
				" (is the tcp_diag module available?)" : "");
	}
	rows = calloc(socks.n + 1, sizeof(*rows));
	if (!rows) {
		kap_ctx_free(&x);
		free(socks.s);
		return kap_fail("out of memory");
	}
	for (i = 0; i < socks.n; i++) {
		const struct kap_diag_sock *s = &socks.s[i];
		struct kap_verdict v;

		if (port_filter && !(s->sport >= lo && s->sport <= hi) &&
		    !(s->dport >= lo && s->dport <= hi))
			continue;
		if (family && kap_sock_family(s) != family)
			continue;
		if (cg_filter) {
			if (!x.tree.loaded)
				kap_cgtree_load(&x.tree);
			if (!s->have_cgroup || kap_cgroup_under(&x.tree, s->cgroup, cg) != 1)
				continue;
		}
		kap_judge(&x, s, &v);
		if (policy && (strcmp(policy, "-") ? !v.policy || strcmp(v.policy->name, policy) :
			       v.policy != NULL))
			continue;
		if (x.at_risk && !v.at_risk)
			continue;
		rows[r].s = s;
		rows[r].v = v;
		r++;
	}

	if (kap_sort_key && r > 1)
		qsort(rows, r, sizeof(*rows), kap_row_cmp);
	kap_open_object(NULL);
	t = kap_table_open("sockets", kap_sock_cols, x.at_risk ? KAP_SC_N : KAP_SC_N - 1);
	for (i = 0; i < r; i++) {
		kap_row_open(t, NULL);
		kap_sock_out(t, rows[i].s, &rows[i].v, x.at_risk);
		kap_row_close(t);
	}
	if (!kap_table_close(t))
		kap_print_text(x.at_risk ? "no connection at risk\n" :
			       socks.n && (policy || port_filter || family || cg_filter) ?
			       "no TCP connection matches (of %zu)\n" : "no TCP connections\n",
			       socks.n);
	kap_print_i64(KAP_PR_JSON, "netns", NULL, x.netns);
	kap_print_u64(KAP_PR_JSON, "netns_cookie", NULL, x.netns_cookie);
	kap_print_bool(KAP_PR_JSON, "policies_read", NULL, x.have_policies);
	kap_close_object();
	free(rows);
	free(socks.s);
	kap_ctx_free(&x);
	return KAP_EXIT_OK;
}
