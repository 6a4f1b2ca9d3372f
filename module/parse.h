/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy language: commands written to /sys/kernel/kapolicy/control and
 * the KEY=VALUE specs of policies (grammar and ranges: sysfs/ABI).
 *
 * parse.c is compiled into the module, into kapctl (which validates before
 * it touches the kernel) and into a unit test and a libFuzzer target, so
 * that every copy accepts and refuses exactly the same input.  It uses no
 * library beyond snprintf and the string functions both sides have.
 */
#ifndef KAP_PARSE_H
#define KAP_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#endif

#define KAP_NAME_MAX		32	/* a policy name and its NUL */
#define KAP_LINE_MAX		1024	/* bytes in one command */
#define KAP_SECONDS_MAX		32767	/* idle, intvl (TCP's MAX_TCP_KEEPIDLE) */
#define KAP_CNT_MAX		127	/* cnt (MAX_TCP_KEEPCNT) */
#define KAP_USER_TIMEOUT_MAX	2147483647U	/* ms (INT_MAX) */
#define KAP_ORDER_MAX		65535

enum kap_key {
	KAP_KEY_FAMILY,
	KAP_KEY_LPORT,
	KAP_KEY_RPORT,
	KAP_KEY_CGROUP,
	KAP_KEY_NETNS,
	KAP_KEY_IDLE,
	KAP_KEY_INTVL,
	KAP_KEY_CNT,
	KAP_KEY_USER_TIMEOUT,
	KAP_KEY_KEEPALIVE,
	KAP_KEY_MODE,
	KAP_KEY_ORDER,
	KAP_NR_KEYS
};

#define KAP_KEY_BIT(k)		(1U << (k))
#define KAP_MATCH_KEYS		(KAP_KEY_BIT(KAP_KEY_FAMILY) |		\
				 KAP_KEY_BIT(KAP_KEY_LPORT) |		\
				 KAP_KEY_BIT(KAP_KEY_RPORT) |		\
				 KAP_KEY_BIT(KAP_KEY_CGROUP) |		\
				 KAP_KEY_BIT(KAP_KEY_NETNS))
#define KAP_ACTION_KEYS		(KAP_KEY_BIT(KAP_KEY_IDLE) |		\
				 KAP_KEY_BIT(KAP_KEY_INTVL) |		\
				 KAP_KEY_BIT(KAP_KEY_CNT) |		\
				 KAP_KEY_BIT(KAP_KEY_USER_TIMEOUT) |	\
				 KAP_KEY_BIT(KAP_KEY_KEEPALIVE))

enum kap_mode {
	KAP_MODE_FILL,
	KAP_MODE_OVERRIDE,
};

struct kap_port_range {
	u16 lo, hi;			/* 1 <= lo <= hi <= 65535 */
};

/* A policy as written; only the fields whose key bit is set mean anything. */
struct kap_spec {
	u32 keys;			/* KAP_KEY_BIT() of each key given */
	struct kap_port_range lport;
	struct kap_port_range rport;
	u64 cgroup;			/* cgroup v2 id */
	u64 netns;			/* netns cookie: never reused */
	u8 family;			/* 4 or 6 */
	u16 idle;			/* s */
	u16 intvl;			/* s */
	u8 cnt;
	bool user_timeout_auto;
	u32 user_timeout;		/* ms, when not auto */
	bool keepalive;			/* keepalive=on */
	u8 mode;			/* enum kap_mode */
	u32 order;			/* insert at this position */
};

enum kap_op {
	KAP_OP_ADD = 1,
	KAP_OP_DEL,
	KAP_OP_FLUSH,
	KAP_OP_MOVE,
	KAP_OP_BEGIN,
	KAP_OP_COMMIT,
	KAP_OP_ABORT,
};

struct kap_command {
	enum kap_op op;
	char name[KAP_NAME_MAX];	/* add, del, move */
	u32 position;			/* move */
	struct kap_spec spec;		/* add */
};

/* What a socket is matched on, but its cgroup (kap_spec_match()). */
struct kap_match_key {
	u16 lport, rport;		/* host order */
	u8 family;			/* 4 or 6; IPv4-mapped IPv6 is 4 */
	u64 netns;			/* netns cookie */
};

/* Why a command was refused: a negative errno and one line for people. */
struct kap_parse_error {
	int err;
	char msg[192];
};

int kap_parse_command(const char *buf, size_t len, struct kap_command *cmd,
		      struct kap_parse_error *e);
int kap_parse_spec(const char *buf, size_t len, struct kap_spec *spec,
		   struct kap_parse_error *e);
int kap_parse_ports(const char *key, const char *p, size_t len,
		    struct kap_port_range *r, struct kap_parse_error *e);
bool kap_spec_match(const struct kap_spec *s, const struct kap_match_key *k);
int kap_spec_format(const struct kap_spec *spec, char *buf, size_t size);
bool kap_name_valid(const char *name, size_t len);
const char *kap_key_name(enum kap_key key);

#endif /* KAP_PARSE_H */
