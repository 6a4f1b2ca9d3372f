// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the policy language (module/parse.c), outside the kernel:
 * the table of malformed commands shared with the VM test
 * (selftests/policy_cases.txt), good commands and their canonical forms,
 * and round trips of the canonical form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "parse.h"

#ifndef CASES_FILE
#define CASES_FILE "../../selftests/policy_cases.txt"
#endif

/* printf %b-style unescaping: \n \r \t \\ \xHH */
static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	while (*in) {
		if (in[0] == '\\' && in[1]) {
			in++;
			switch (*in) {
			case 'n': out[n++] = '\n'; in++; break;
			case 'r': out[n++] = '\r'; in++; break;
			case 't': out[n++] = '\t'; in++; break;
			case 'x': {
				char hex[3] = { in[1], in[2], 0 };

				out[n++] = (char)strtol(hex, NULL, 16);
				in += 3;
				break;
			}
			default: out[n++] = *in++; break;
			}
		} else {
			out[n++] = *in++;
		}
	}
	return n;
}

static int errno_of(const char *name)
{
	if (!strcmp(name, "EINVAL"))
		return EINVAL;
	if (!strcmp(name, "ERANGE"))
		return ERANGE;
	if (!strcmp(name, "ENOENT"))
		return ENOENT;
	if (!strcmp(name, "EEXIST"))
		return EEXIST;
	return -1;
}

TEST(malformed_table)
{
	char line[2048], cmdbuf[2048];
	int rows = 0, parse_rows = 0;
	FILE *f = fopen(CASES_FILE, "r");

	ASSERT_NE(NULL, f) TH_LOG("cannot open %s", CASES_FILE);
	while (fgets(line, sizeof(line), f)) {
		char *tab1, *tab2, *cmd;
		struct kap_command c;
		struct kap_parse_error e;
		size_t len;
		int want, got;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		tab1 = strchr(line, '\t');
		ASSERT_NE(NULL, tab1);
		*tab1 = '\0';
		tab2 = strchr(tab1 + 1, '\t');
		ASSERT_NE(NULL, tab2);
		*tab2 = '\0';
		cmd = tab2 + 1;
		rows++;
		want = errno_of(line);
		ASSERT_LT(0, want);
		if (!strcmp(cmd, "@LONG")) {
			strcpy(cmdbuf, "add long idle=5");
			len = strlen(cmdbuf);
			while (len < 1100)
				cmdbuf[len++] = ' ';
			cmdbuf[len] = '\0';
		} else {
			len = unescape(cmd, cmdbuf);
		}
		got = kap_parse_command(cmdbuf, len, &c, &e);
		if (!strcmp(tab1 + 1, "parse")) {
			parse_rows++;
			EXPECT_EQ(-want, got) TH_LOG("'%s': %s", cmd, e.msg);
			EXPECT_NE('\0', e.msg[0]) TH_LOG("'%s': no message", cmd);
		} else {
			/* the parser accepts it; the table refuses it */
			EXPECT_EQ(0, got) TH_LOG("'%s': %s", cmd, e.msg);
		}
	}
	fclose(f);
	EXPECT_LE(40, parse_rows);
	TH_LOG("%d rows, %d refused by the parser", rows, parse_rows);
}

struct good_case {
	const char *cmd;
	enum kap_op op;
	const char *name;
	const char *canonical;
};

static const struct good_case good[] = {
	{ "add pg lport=5432 idle=60 intvl=10 cnt=5 keepalive=on", KAP_OP_ADD, "pg",
	  "lport=5432 idle=60 intvl=10 cnt=5 keepalive=on mode=fill" },
	{ "add app cgroup=1234 idle=240 intvl=15 cnt=4 mode=override\n", KAP_OP_ADD, "app",
	  "cgroup=1234 idle=240 intvl=15 cnt=4 mode=override" },
	{ "add\tw  mode=override  rport=1-1024\tidle=1 family=6 ", KAP_OP_ADD, "w",
	  "family=6 rport=1-1024 idle=1 mode=override" },
	{ "add u user_timeout=auto", KAP_OP_ADD, "u", "user_timeout=auto mode=fill" },
	{ "add u user_timeout=2147483647 netns=4026531840", KAP_OP_ADD, "u",
	  "netns=4026531840 user_timeout=2147483647 mode=fill" },
	{ "add n netns=18446744073709551615 idle=5", KAP_OP_ADD, "n",
	  "netns=18446744073709551615 idle=5 mode=fill" },
	{ "add Z_9-z idle=32767 intvl=32767 cnt=127 lport=65535-65535", KAP_OP_ADD, "Z_9-z",
	  "lport=65535 idle=32767 intvl=32767 cnt=127 mode=fill" },
	{ "add k keepalive=on order=0", KAP_OP_ADD, "k", "keepalive=on mode=fill" },
	{ "add lead idle=007", KAP_OP_ADD, "lead", "idle=7 mode=fill" },
	{ "add name-of-exactly-thirty-one-c idle=5", KAP_OP_ADD,
	  "name-of-exactly-thirty-one-c", "idle=5 mode=fill" },
	{ "del pg", KAP_OP_DEL, "pg", NULL },
	{ "flush", KAP_OP_FLUSH, "", NULL },
	{ "move pg 3", KAP_OP_MOVE, "pg", NULL },
	{ "begin\n", KAP_OP_BEGIN, "", NULL },
	{ "commit", KAP_OP_COMMIT, "", NULL },
	{ "abort", KAP_OP_ABORT, "", NULL },
};

TEST(good_commands)
{
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct kap_command c;
		struct kap_parse_error e;
		char canon[512];

		ASSERT_EQ(0, kap_parse_command(good[i].cmd, strlen(good[i].cmd), &c, &e))
			TH_LOG("'%s': %s", good[i].cmd, e.msg);
		EXPECT_EQ(good[i].op, c.op);
		EXPECT_STREQ(good[i].name, c.name);
		if (good[i].canonical) {
			kap_spec_format(&c.spec, canon, sizeof(canon));
			EXPECT_STREQ(good[i].canonical, canon);
		}
	}
}

TEST(order_and_position)
{
	struct kap_command c;
	struct kap_parse_error e;

	ASSERT_EQ(0, kap_parse_command("add a idle=1 order=12", 21, &c, &e));
	EXPECT_NE(0U, c.spec.keys & KAP_KEY_BIT(KAP_KEY_ORDER));
	EXPECT_EQ(12U, c.spec.order);
	ASSERT_EQ(0, kap_parse_command("move a 7", 8, &c, &e));
	EXPECT_EQ(7U, c.position);
}

TEST(canonical_round_trip)
{
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct kap_command c;
		struct kap_spec again;
		struct kap_parse_error e;
		char one[512], two[512];

		if (good[i].op != KAP_OP_ADD)
			continue;
		ASSERT_EQ(0, kap_parse_command(good[i].cmd, strlen(good[i].cmd), &c, &e));
		kap_spec_format(&c.spec, one, sizeof(one));
		ASSERT_EQ(0, kap_parse_spec(one, strlen(one), &again, &e)) TH_LOG("%s", e.msg);
		kap_spec_format(&again, two, sizeof(two));
		EXPECT_STREQ(one, two);
		c.spec.keys &= ~KAP_KEY_BIT(KAP_KEY_ORDER);
		c.spec.order = 0;
		EXPECT_EQ(0, memcmp(&c.spec, &again, sizeof(again)));
	}
}

TEST(messages_name_field_value_and_range)
{
	struct kap_command c;
	struct kap_parse_error e;

	kap_parse_command("add x idle=0", 12, &c, &e);
	EXPECT_STREQ("idle: '0' is out of range; allowed: 1-32767 (seconds)", e.msg);
	kap_parse_command("add x lport=80-20 idle=1", 24, &c, &e);
	EXPECT_STREQ("lport: '80-20' is a reversed range; allowed: P or P-Q with 1 <= P <= Q <= 65535",
		     e.msg);
	kap_parse_command("add x cnt=128", 13, &c, &e);
	EXPECT_STREQ("cnt: '128' is out of range; allowed: 1-127", e.msg);
}

TEST(format_truncates_safely)
{
	struct kap_command c;
	struct kap_parse_error e;
	char small[8];
	const char *cmd = "add pg lport=5432 idle=60 intvl=10 cnt=5";
	int n;

	ASSERT_EQ(0, kap_parse_command(cmd, strlen(cmd), &c, &e));
	n = kap_spec_format(&c.spec, small, sizeof(small));
	EXPECT_LT((int)sizeof(small), n);
	EXPECT_EQ('\0', small[sizeof(small) - 1]);
}

TEST_HARNESS_MAIN
