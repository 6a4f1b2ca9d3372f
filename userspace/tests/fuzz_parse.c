// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the policy language (module/parse.c), built with
 * -fsanitize=fuzzer,address,undefined.  Besides memory safety it checks:
 * a refusal is EINVAL or ERANGE with a message; an accepted add's canonical
 * form parses again to the same spec and the same text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct kap_parse_error e;
	struct kap_command c;
	struct kap_spec again;
	char one[2048], two[2048];
	int ret;

	ret = kap_parse_command((const char *)data, size, &c, &e);
	if (ret) {
		if ((ret != -EINVAL && ret != -ERANGE) || !e.msg[0] ||
		    !memchr(e.msg, '\0', sizeof(e.msg)))
			abort();
		return 0;
	}
	if (c.op < KAP_OP_ADD || c.op > KAP_OP_ABORT)
		abort();
	if (c.op != KAP_OP_ADD)
		return 0;
	if (!kap_name_valid(c.name, strlen(c.name)))
		abort();
	if ((size_t)kap_spec_format(&c.spec, one, sizeof(one)) >= sizeof(one))
		abort();
	if (kap_parse_spec(one, strlen(one), &again, &e))
		abort();
	kap_spec_format(&again, two, sizeof(two));
	if (strcmp(one, two))
		abort();
	c.spec.keys &= ~(1U << KAP_KEY_ORDER);
	c.spec.order = 0;
	if (memcmp(&c.spec, &again, sizeof(again)))
		abort();
	return 0;
}
