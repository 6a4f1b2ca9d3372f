// SPDX-License-Identifier: GPL-2.0
/*
 * The policy language (see parse.h).  A command is one line of words
 * separated by spaces or tabs, with at most one trailing newline:
 *
 *   add NAME KEY=VALUE...   del NAME   flush   move NAME POSITION
 *   begin   commit   abort
 *
 * Every refusal says which field, quotes the value and states what is
 * allowed.  Numbers are decimal digits only; a number too large to read is
 * out of range (ERANGE), like one outside its bounds; everything else
 * malformed is EINVAL.
 *
 * Pure functions over a buffer and its length: no allocation, no locks;
 * safe in any context.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdio.h>
#include <string.h>
#endif

#include "parse.h"

static const char *const kap_key_names[KAP_NR_KEYS] = {
	[KAP_KEY_FAMILY]	= "family",
	[KAP_KEY_LPORT]		= "lport",
	[KAP_KEY_RPORT]		= "rport",
	[KAP_KEY_CGROUP]	= "cgroup",
	[KAP_KEY_NETNS]		= "netns",
	[KAP_KEY_IDLE]		= "idle",
	[KAP_KEY_INTVL]		= "intvl",
	[KAP_KEY_CNT]		= "cnt",
	[KAP_KEY_USER_TIMEOUT]	= "user_timeout",
	[KAP_KEY_KEEPALIVE]	= "keepalive",
	[KAP_KEY_MODE]		= "mode",
	[KAP_KEY_ORDER]		= "order",
};

const char *kap_key_name(enum kap_key key)
{
	return key < KAP_NR_KEYS ? kap_key_names[key] : "?";
}

/* A word of the line: [p, p + len). */
struct kap_word {
	const char *p;
	size_t len;
};

#define KAP_QUOTE_MAX	40	/* bytes of a bad value quoted in a message */

/* Sets e and returns its errno: "FIELD: 'VALUE' PROBLEM; allowed ALLOWED" */
static int kap_parse_fail(struct kap_parse_error *e, int err, const char *field,
			  const char *value, size_t vlen, const char *problem,
			  const char *allowed)
{
	int n = vlen > KAP_QUOTE_MAX ? KAP_QUOTE_MAX : (int)vlen;

	e->err = err;
	if (value)
		snprintf(e->msg, sizeof(e->msg), "%s: '%.*s%s' %s%s%s", field,
			 n, value, (size_t)n < vlen ? "..." : "", problem,
			 allowed ? "; allowed: " : "", allowed ? allowed : "");
	else
		snprintf(e->msg, sizeof(e->msg), "%s: %s%s%s", field, problem,
			 allowed ? "; allowed: " : "", allowed ? allowed : "");
	return err;
}

static bool kap_word_is(const struct kap_word *w, const char *s)
{
	return w->len == strlen(s) && !memcmp(w->p, s, w->len);
}

/* Splits [buf, buf + len) into at most max words; returns their number. */
static int kap_split(const char *buf, size_t len, struct kap_word *words,
		     int max, struct kap_parse_error *e)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == max)
			return kap_parse_fail(e, -EINVAL, "line", NULL, 0,
					      "has too many words", "at most 16 keys");
		words[n].p = buf + i;
		while (i < len && buf[i] != ' ' && buf[i] != '\t')
			i++;
		words[n].len = buf + i - words[n].p;
		n++;
	}
	return n;
}

/* Checks the characters of a line; returns its length without a final \n. */
static int kap_line(const char *buf, size_t len, struct kap_parse_error *e)
{
	size_t i;

	if (len > KAP_LINE_MAX) {
		snprintf(e->msg, sizeof(e->msg),
			 "line: %zu bytes is too long; allowed: at most %d",
			 len, KAP_LINE_MAX);
		e->err = -EINVAL;
		return e->err;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if (!c)
			return kap_parse_fail(e, -EINVAL, "line", NULL, 0,
					      "contains a NUL byte", NULL);
		if (c < 0x20 && c != '\t')
			return kap_parse_fail(e, -EINVAL, "line", NULL, 0,
					      "contains a control character",
					      "printable characters, spaces, tabs");
		if (c >= 0x7f)
			return kap_parse_fail(e, -EINVAL, "line", NULL, 0,
					      "contains a non-ASCII byte",
					      "printable ASCII");
	}
	return (int)len;
}

bool kap_name_valid(const char *name, size_t len)
{
	size_t i;

	if (!len || len >= KAP_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int kap_name(const struct kap_word *w, char *name,
		    struct kap_parse_error *e)
{
	if (!kap_name_valid(w->p, w->len))
		return kap_parse_fail(e, -EINVAL, "name", w->p, w->len, "is not a valid name",
				      "1-31 characters from A-Z a-z 0-9 _ -");
	memcpy(name, w->p, w->len);
	name[w->len] = '\0';
	return 0;
}

/*
 * A decimal number in [min, max]: -EINVAL if not digits, -ERANGE if
 * outside (however many digits it has).
 */
static int kap_number(const char *p, size_t len, u64 min, u64 max, u64 *out)
{
	bool big = false;
	u64 v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		if (big || v > (~0ULL - (p[i] - '0')) / 10)
			big = true;
		else
			v = v * 10 + (p[i] - '0');
	}
	if (big || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int kap_value_number(const char *key, const char *p, size_t len,
			    u64 min, u64 max, const char *allowed, u64 *out,
			    struct kap_parse_error *e)
{
	int ret = kap_number(p, len, min, max, out);

	if (ret == -EINVAL)
		return kap_parse_fail(e, ret, key, p, len, "is not a number", allowed);
	if (ret == -ERANGE)
		return kap_parse_fail(e, ret, key, p, len, "is out of range", allowed);
	return 0;
}

/*
 * A port or port range, P or P-Q: the lport=/rport= value (and kapctl's
 * --port filters).  Returns 0, or -EINVAL/-ERANGE with e set, naming key.
 */
int kap_parse_ports(const char *key, const char *p, size_t len,
		    struct kap_port_range *r, struct kap_parse_error *e)
{
	static const char allowed[] = "P or P-Q with 1 <= P <= Q <= 65535";
	const char *dash = memchr(p, '-', len);
	u64 lo, hi;
	int ret;

	if (!dash) {
		ret = kap_number(p, len, 1, 65535, &lo);
		hi = lo;
	} else {
		ret = kap_number(p, dash - p, 1, 65535, &lo);
		if (!ret || ret == -ERANGE) {
			int ret2 = kap_number(dash + 1, p + len - dash - 1, 1,
					      65535, &hi);

			ret = ret2 == -EINVAL ? ret2 : (ret ?: ret2);
		}
	}
	if (ret == -EINVAL)
		return kap_parse_fail(e, ret, key, p, len, "is not a port or port range",
				      allowed);
	if (ret == -ERANGE)
		return kap_parse_fail(e, ret, key, p, len, "is out of range", allowed);
	if (lo > hi)
		return kap_parse_fail(e, -EINVAL, key, p, len, "is a reversed range",
				      allowed);
	r->lo = lo;
	r->hi = hi;
	return 0;
}

static int kap_key_lookup(const char *p, size_t len)
{
	int k;

	for (k = 0; k < KAP_NR_KEYS; k++)
		if (strlen(kap_key_names[k]) == len &&
		    !memcmp(kap_key_names[k], p, len))
			return k;
	return -1;
}

static int kap_spec_word(const struct kap_word *w, struct kap_spec *s,
			 struct kap_parse_error *e)
{
	const char *eq = memchr(w->p, '=', w->len);
	const char *v;
	size_t vlen;
	int k, ret = 0;
	u64 n;

	if (!eq || eq == w->p)
		return kap_parse_fail(e, -EINVAL, "policy", w->p, w->len,
				      "is not KEY=VALUE", NULL);
	k = kap_key_lookup(w->p, eq - w->p);
	if (k < 0)
		return kap_parse_fail(e, -EINVAL, "key", w->p, eq - w->p, "is unknown",
				      "family lport rport cgroup netns idle intvl cnt user_timeout keepalive mode order");
	if (s->keys & KAP_KEY_BIT(k))
		return kap_parse_fail(e, -EINVAL, kap_key_names[k], NULL, 0,
				      "is given twice", "each key once");
	v = eq + 1;
	vlen = w->p + w->len - v;
	if (!vlen)
		return kap_parse_fail(e, -EINVAL, kap_key_names[k], NULL, 0,
				      "has no value", NULL);

	switch (k) {
	case KAP_KEY_FAMILY:
		if (vlen == 1 && (*v == '4' || *v == '6'))
			s->family = *v - '0';
		else
			ret = kap_parse_fail(e, -EINVAL, "family", v, vlen,
					     "is not an address family", "4 or 6");
		break;
	case KAP_KEY_LPORT:
		ret = kap_parse_ports("lport", v, vlen, &s->lport, e);
		break;
	case KAP_KEY_RPORT:
		ret = kap_parse_ports("rport", v, vlen, &s->rport, e);
		break;
	case KAP_KEY_CGROUP:
		ret = kap_value_number("cgroup", v, vlen, 1, ~0ULL,
				       "a cgroup v2 id, 1-18446744073709551615",
				       &s->cgroup, e);
		break;
	case KAP_KEY_NETNS:
		ret = kap_value_number("netns", v, vlen, 1, ~0ULL,
				       "a network namespace cookie (SO_NETNS_COOKIE), 1-18446744073709551615",
				       &s->netns, e);
		break;
	case KAP_KEY_IDLE:
		ret = kap_value_number("idle", v, vlen, 1, KAP_SECONDS_MAX,
				       "1-32767 (seconds)", &n, e);
		s->idle = n;
		break;
	case KAP_KEY_INTVL:
		ret = kap_value_number("intvl", v, vlen, 1, KAP_SECONDS_MAX,
				       "1-32767 (seconds)", &n, e);
		s->intvl = n;
		break;
	case KAP_KEY_CNT:
		ret = kap_value_number("cnt", v, vlen, 1, KAP_CNT_MAX, "1-127",
				       &n, e);
		s->cnt = n;
		break;
	case KAP_KEY_USER_TIMEOUT:
		if (vlen == 4 && !memcmp(v, "auto", 4)) {
			s->user_timeout_auto = true;
			break;
		}
		ret = kap_value_number("user_timeout", v, vlen, 1,
				       KAP_USER_TIMEOUT_MAX,
				       "1-2147483647 (ms) or auto", &n, e);
		s->user_timeout = n;
		break;
	case KAP_KEY_KEEPALIVE:
		if (vlen == 2 && !memcmp(v, "on", 2))
			s->keepalive = true;
		else
			ret = kap_parse_fail(e, -EINVAL, "keepalive", v, vlen,
					     "is not a keepalive setting", "on");
		break;
	case KAP_KEY_MODE:
		if (vlen == 4 && !memcmp(v, "fill", 4))
			s->mode = KAP_MODE_FILL;
		else if (vlen == 8 && !memcmp(v, "override", 8))
			s->mode = KAP_MODE_OVERRIDE;
		else
			ret = kap_parse_fail(e, -EINVAL, "mode", v, vlen,
					     "is not a mode", "fill or override");
		break;
	case KAP_KEY_ORDER:
		ret = kap_value_number("order", v, vlen, 0, KAP_ORDER_MAX,
				       "0-65535", &n, e);
		s->order = n;
		break;
	}
	if (!ret)
		s->keys |= KAP_KEY_BIT(k);
	return ret;
}

static int kap_spec_words(const struct kap_word *w, int n, struct kap_spec *s,
			  struct kap_parse_error *e)
{
	int i, ret;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		ret = kap_spec_word(&w[i], s, e);
		if (ret)
			return ret;
	}
	if (!(s->keys & KAP_ACTION_KEYS))
		return kap_parse_fail(e, -EINVAL, "policy", NULL, 0, "has no action",
				      "at least one of idle intvl cnt user_timeout keepalive");
	s->keys |= KAP_KEY_BIT(KAP_KEY_MODE);	/* fill unless given */
	return 0;
}

#define KAP_MAX_WORDS	(2 + KAP_NR_KEYS + 4)

int kap_parse_spec(const char *buf, size_t len, struct kap_spec *spec,
		   struct kap_parse_error *e)
{
	struct kap_word w[KAP_MAX_WORDS];
	int n;

	e->err = 0;
	e->msg[0] = '\0';
	n = kap_line(buf, len, e);
	if (n < 0)
		return n;
	n = kap_split(buf, n, w, KAP_MAX_WORDS, e);
	if (n < 0)
		return n;
	return kap_spec_words(w, n, spec, e);
}

static const struct {
	const char *name;
	enum kap_op op;
	int words;	/* besides the command; -1: a name and a spec */
} kap_commands[] = {
	{ "add", KAP_OP_ADD, -1 },
	{ "del", KAP_OP_DEL, 1 },
	{ "flush", KAP_OP_FLUSH, 0 },
	{ "move", KAP_OP_MOVE, 2 },
	{ "begin", KAP_OP_BEGIN, 0 },
	{ "commit", KAP_OP_COMMIT, 0 },
	{ "abort", KAP_OP_ABORT, 0 },
};

int kap_parse_command(const char *buf, size_t len, struct kap_command *cmd,
		      struct kap_parse_error *e)
{
	struct kap_word w[KAP_MAX_WORDS];
	unsigned int c;
	int n, ret;
	u64 pos;

	memset(cmd, 0, sizeof(*cmd));
	e->err = 0;
	e->msg[0] = '\0';
	n = kap_line(buf, len, e);
	if (n < 0)
		return n;
	n = kap_split(buf, n, w, KAP_MAX_WORDS, e);
	if (n < 0)
		return n;
	if (!n)
		return kap_parse_fail(e, -EINVAL, "command", NULL, 0, "is missing",
				      "add del flush move begin commit abort");
	for (c = 0; c < ARRAY_SIZE(kap_commands); c++)
		if (kap_word_is(&w[0], kap_commands[c].name))
			break;
	if (c == ARRAY_SIZE(kap_commands))
		return kap_parse_fail(e, -EINVAL, "command", w[0].p, w[0].len, "is unknown",
				      "add del flush move begin commit abort");
	cmd->op = kap_commands[c].op;

	if (kap_commands[c].words >= 0 && n - 1 > kap_commands[c].words)
		return kap_parse_fail(e, -EINVAL, kap_commands[c].name,
				      w[1 + kap_commands[c].words].p,
				      w[1 + kap_commands[c].words].len,
				      "is one word too many", NULL);
	if (kap_commands[c].words > 0 && n - 1 < kap_commands[c].words)
		return kap_parse_fail(e, -EINVAL, kap_commands[c].name, NULL, 0,
				      cmd->op == KAP_OP_MOVE ? "needs a name and a position" :
				      "needs a policy name", NULL);
	if (cmd->op == KAP_OP_ADD && n < 2)
		return kap_parse_fail(e, -EINVAL, "add", NULL, 0,
				      "needs a policy name and KEY=VALUE words", NULL);

	switch (cmd->op) {
	case KAP_OP_ADD:
		ret = kap_name(&w[1], cmd->name, e);
		return ret ?: kap_spec_words(&w[2], n - 2, &cmd->spec, e);
	case KAP_OP_DEL:
		return kap_name(&w[1], cmd->name, e);
	case KAP_OP_MOVE:
		ret = kap_name(&w[1], cmd->name, e);
		if (ret)
			return ret;
		ret = kap_value_number("position", w[2].p, w[2].len, 0,
				       KAP_ORDER_MAX, "0-65535", &pos, e);
		cmd->position = pos;
		return ret;
	default:
		return 0;
	}
}

/* The canonical form: keys in enum order, mode always given. */
int kap_spec_format(const struct kap_spec *s, char *buf, size_t size)
{
	size_t n = 0;

#define KAP_OUT(...)							\
	do {								\
		int __r = snprintf(n < size ? buf + n : NULL,		\
				   n < size ? size - n : 0, __VA_ARGS__);	\
		if (__r > 0)						\
			n += __r;					\
	} while (0)
#define KAP_SP	(n ? " " : "")

	if (s->keys & KAP_KEY_BIT(KAP_KEY_FAMILY))
		KAP_OUT("%sfamily=%u", KAP_SP, s->family);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_LPORT)) {
		KAP_OUT("%slport=%u", KAP_SP, s->lport.lo);
		if (s->lport.hi != s->lport.lo)
			KAP_OUT("-%u", s->lport.hi);
	}
	if (s->keys & KAP_KEY_BIT(KAP_KEY_RPORT)) {
		KAP_OUT("%srport=%u", KAP_SP, s->rport.lo);
		if (s->rport.hi != s->rport.lo)
			KAP_OUT("-%u", s->rport.hi);
	}
	if (s->keys & KAP_KEY_BIT(KAP_KEY_CGROUP))
		KAP_OUT("%scgroup=%llu", KAP_SP, (unsigned long long)s->cgroup);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_NETNS))
		KAP_OUT("%snetns=%llu", KAP_SP, s->netns);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_IDLE))
		KAP_OUT("%sidle=%u", KAP_SP, s->idle);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_INTVL))
		KAP_OUT("%sintvl=%u", KAP_SP, s->intvl);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_CNT))
		KAP_OUT("%scnt=%u", KAP_SP, s->cnt);
	if (s->keys & KAP_KEY_BIT(KAP_KEY_USER_TIMEOUT)) {
		if (s->user_timeout_auto)
			KAP_OUT("%suser_timeout=auto", KAP_SP);
		else
			KAP_OUT("%suser_timeout=%u", KAP_SP, s->user_timeout);
	}
	if (s->keys & KAP_KEY_BIT(KAP_KEY_KEEPALIVE))
		KAP_OUT("%skeepalive=on", KAP_SP);
	KAP_OUT("%smode=%s", KAP_SP,
		s->mode == KAP_MODE_OVERRIDE ? "override" : "fill");
#undef KAP_SP
#undef KAP_OUT
	return (int)n;
}

/*
 * Whether a socket with key k meets every match key of s but the cgroup:
 * the one definition of matching, shared by the module's table and by
 * kapctl sockets.  A cgroup key is the caller's to check (the kernel holds
 * the cgroup itself, kapctl walks cgroupfs): s->keys says whether there is
 * one.
 */
bool kap_spec_match(const struct kap_spec *s, const struct kap_match_key *k)
{
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_FAMILY)) && s->family != k->family)
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_LPORT)) &&
	    (k->lport < s->lport.lo || k->lport > s->lport.hi))
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_RPORT)) &&
	    (k->rport < s->rport.lo || k->rport > s->rport.hi))
		return false;
	if ((s->keys & KAP_KEY_BIT(KAP_KEY_NETNS)) && s->netns != k->netns)
		return false;
	return true;
}
