/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapctl: the operator's tool for kapolicy.  Shared declarations.
 *
 * Grammar: kapctl [OPTIONS] OBJECT [COMMAND] [ARGS]; exit 0 on success,
 * 1 on failure, 2 on a usage error.
 */
#ifndef KAPCTL_H
#define KAPCTL_H

#include <stdbool.h>
#include <json-c/json.h>

#define KAP_EXIT_OK	0
#define KAP_EXIT_FAIL	1
#define KAP_EXIT_USAGE	2

#define KAP_SYSFS_DIR	"/sys/kernel/kapolicy"

/* A command table drives dispatch, help, the man page and completion. */
struct kap_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* synopsis of the arguments */
	const char *summary;	/* one line */
	const struct kap_cmd *sub;	/* NULL-terminated subcommands */
};

extern const struct kap_cmd kap_objects[];

/* out.c: text or JSON output, errors included */
extern bool kap_json;
extern bool kap_pretty;
void kap_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kap_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kap_json_print(struct json_object *obj);

/* sysfs.c: the module's files */
const char *kap_sysfs_dir(void);
bool kap_module_loaded(void);
int kap_sysfs_read(const char *rel, char *buf, size_t len);
int kap_need_module(void);

/* commands */
int kap_cmd_status(int argc, char **argv);

#endif /* KAPCTL_H */
