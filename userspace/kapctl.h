/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapctl: the operator's tool for kapolicy.  Shared declarations.
 *
 * Grammar: kapctl [OPTIONS] OBJECT [COMMAND] [ARGS]; exit 0 on success,
 * 1 on failure, 2 on a usage error.
 *
 * Files, one per object or concern:
 *   kapctl.c   the command table, dispatch, help, per-command options
 *   out.c      the output model: one description of a command's output,
 *              printed as text or built as JSON (tables too); errors
 *              (JSON too in JSON mode)
 *   sysfs.c    the module's files: read, list, write the control file
 *   spec.c     policy words: cgroup paths and service names, validation
 *              with the module's own parser, the policies in sysfs
 *   status.c, policy.c, stats.c, watch.c, sockets.c, apply.c, doctor.c:
 *              the objects (doctor.c also reads the deaths file for stats)
 */
#ifndef KAPCTL_H
#define KAPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "counters.h"
#include "parse.h"

#define KAP_EXIT_OK	0
#define KAP_EXIT_FAIL	1
#define KAP_EXIT_USAGE	2

#define KAP_SYSFS_DIR	"/sys/kernel/kapolicy"

/* An option of a command: "--name ARG", or "-j"-style for the common ones. */
struct kap_opt {
	const char *name;	/* long name, without "--" */
	const char *arg;	/* metavariable, NULL for a flag */
	int val;		/* returned by kap_getopt */
	const char *help;	/* one line */
};

/* A command table drives dispatch, help, the man page and completion. */
struct kap_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* synopsis of the arguments */
	const char *summary;	/* one line */
	const struct kap_cmd *sub;	/* NULL-terminated subcommands */
	const struct kap_opt *opts;	/* {NULL}-terminated, or NULL; of an
					 * object with dflt: when none is named */
	const char *dflt;	/* the subcommand run when none is named */
	const char *more;	/* printed after the options in its help */
};

extern const struct kap_cmd kap_objects[];

/*
 * kap_getopt: the options of the running command (its table's opts plus
 * -j/--json, -p/--pretty and -h/--help, which it handles itself).  Returns
 * an option's val, -1 at the end of the options, or KAP_OPT_EXIT when the
 * command should return kap_opt_exit (help shown, or a usage error).
 */
#define KAP_OPT_EXIT	(-2)
extern int kap_opt_exit;
int kap_getopt(int argc, char **argv);

/* out.c: text or JSON output, errors included */
extern bool kap_json;
extern bool kap_pretty;
void kap_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kap_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define KAP_JSON_FORMAT	1	/* "format_version" of every JSON object */
const char *kap_duration_text(uint64_t ms, char *buf, size_t len);
int kap_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kap_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kap_fail_with(struct json_object *extra, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kap_json_print(struct json_object *obj);
void kap_json_line(struct json_object *obj);
struct json_object *kap_json_u64(uint64_t v);
void kap_print_ms(char *buf, size_t len, unsigned int ms);

/*
 * The output model (out.c): one description of a command's output, printed
 * as text or built as JSON.  KAP_PR_ANY: both; KAP_PR_TEXT, KAP_PR_JSON:
 * one of them.  A key is the JSON key (ignored in an array), a fmt the
 * printf format of the text (NULL: no text).  The first object opened is
 * the document; closing it prints it.
 */
enum kap_pr { KAP_PR_ANY, KAP_PR_TEXT, KAP_PR_JSON };

void kap_open_object(const char *key);
void kap_close_object(void);
void kap_open_array(const char *key);
void kap_close_array(void);
void kap_out_discard(void);
void kap_print_str(enum kap_pr pr, const char *key, const char *fmt, const char *s);
void kap_print_u64(enum kap_pr pr, const char *key, const char *fmt, uint64_t v);
void kap_print_i64(enum kap_pr pr, const char *key, const char *fmt, int64_t v);
void kap_print_bool(enum kap_pr pr, const char *key, const char *fmt, bool v);
void kap_print_null(const char *key);
void kap_print_seconds(const char *key, double s);
void kap_print_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A table's column: heading, least width, flags. */
#define KAP_COL_RIGHT	0x1	/* right-aligned (numbers) */
#define KAP_TABLE_COLS	24	/* columns at most */

struct kap_col {
	const char *head;
	int width;
	unsigned int flags;
};

struct kap_table;
struct kap_table *kap_table_open(const char *key, const struct kap_col *col, int ncol);
void kap_row_open(struct kap_table *t, const char *key);
void kap_row_close(struct kap_table *t);
void kap_cell_str(struct kap_table *t, int col, const char *key, const char *s);
void kap_cell_u64(struct kap_table *t, int col, const char *key, uint64_t v);
void kap_cell_i64(struct kap_table *t, int col, const char *key, int64_t v);
void kap_cell_bool(struct kap_table *t, int col, const char *key, bool v);
void kap_cell_null(struct kap_table *t, int col, const char *key, const char *text);
size_t kap_table_close(struct kap_table *t);

/*
 * sysfs.c: the module's files.  The counters are the module's own list
 * (counters.h), indexed by enum kap_counter; these arrays are generated
 * from it.
 */
extern const char *const kap_counter_names[KAP_NR_COUNTERS];	/* stats/NAME */
extern const char *const kap_counter_titles[KAP_NR_COUNTERS];	/* table columns */
extern const char *const kap_counter_help[KAP_NR_COUNTERS];	/* one line */
extern const char kap_counter_list[];	/* " name name ...": for messages */
int kap_counter_index(const char *name);

/* Counter values as read from sysfs; have[c]: the file was there. */
struct kap_counters {
	bool have[KAP_NR_COUNTERS];
	uint64_t v[KAP_NR_COUNTERS];
};

const char *kap_sysfs_dir(void);
bool kap_module_loaded(void);
int kap_sysfs_read(const char *rel, char *buf, size_t len);
int kap_sysfs_read_u64(const char *rel, uint64_t *v);
int kap_sysfs_read_counters(const char *dir, struct kap_counters *c);
int kap_need_module(void);
int kap_need_writable(const char *rel, const char *what);
int kap_need_control(void);
int kap_sysfs_write(const char *rel, const char *buf, size_t len, bool append);
int kap_control_write(const char *cmd);
char *kap_read_file(const char *path, size_t max, size_t *lenp, int *err);

/* stats.c: the module's limits (limits/NAME), {NULL}-terminated */
struct kap_limit {
	const char *name;
	bool counter;		/* a Prometheus counter, else a gauge */
	const char *help;	/* one line */
};
extern const struct kap_limit kap_limits[];
void kap_limits_out(const char *key, const char *head, const char *indent);

/* spec.c: policy words and the policies of the module */
int kap_resolve_cgroup(const char *value, uint64_t *id, char *err, size_t errlen);
int kap_resolve_netns(const char *value, uint64_t *cookie, char *err, size_t errlen);
int kap_netns_cookie_self(uint64_t *cookie);
int kap_resolve_netns_inode(const char *value, bool number_ok, uint64_t *ino, int *fd,
			    char *err, size_t errlen);
const char *kap_quote(const char *value, char *buf, size_t size);
int kap_parse_duration(const char *s, uint64_t unit_ms, uint64_t *out);
int kap_duration_opt(const char *opt, const char *value, uint64_t min, uint64_t max,
		     uint64_t *out, char *err, size_t errlen);
int kap_port_filter(const char *opt, const char *value, unsigned int *lo,
		    unsigned int *hi, char *err, size_t errlen);
int kap_name_opt(const char *opt, const char *value, bool none_ok, char *err,
		 size_t errlen);
int kap_number_opt(const char *opt, const char *value, uint64_t min, uint64_t max,
		   const char *unit, uint64_t *out, char *err, size_t errlen);
int kap_build_add(const char *name, char **words, int n, char *cmd, size_t size,
		  struct kap_command *c, char *err, size_t errlen);
void kap_control_refusal(const struct kap_command *c, int err, char *msg,
			 size_t len);
void kap_spec_out(const char *key, const struct kap_spec *s);

/*
 * Presets (preset=NAME, or timeout:SECONDS): keepalive timing for a
 * middlebox that forgets an idle flow after timeout seconds.  timeout 0:
 * read when used (conntrack: its sysctl, or KAPCTL_CONNTRACK_TIMEOUT_FILE).
 */
struct kap_preset {
	const char *name;
	unsigned int timeout;	/* s */
	const char *source;	/* where the timeout comes from, one line */
};

struct kap_preset_values {
	const struct kap_preset *preset;
	uint64_t timeout;	/* s */
	unsigned int idle, intvl, cnt;	/* user_timeout=auto keepalive=on too */
};

#define KAP_PRESET_CNT		5
#define KAP_PRESET_TIMEOUT_MIN	10
#define KAP_PRESET_TIMEOUT_MAX	86400
extern const struct kap_preset kap_presets[];	/* {NULL}-terminated */
int kap_preset_resolve(const char *value, struct kap_preset_values *v, char *err,
		       size_t errlen);
int kap_preset_keys(const struct kap_preset_values *v, unsigned int skip, char *buf,
		    size_t size);

/* The cgroup v2 hierarchy as ids (directory inodes) and their parents. */
struct kap_cg {
	uint64_t id, parent;	/* parent 0: the root */
};

struct kap_cgtree {
	struct kap_cg *e;	/* sorted by id */
	size_t n, cap;
	bool loaded;
};

int kap_cgtree_load(struct kap_cgtree *t);
void kap_cgtree_free(struct kap_cgtree *t);
int kap_cgroup_under(const struct kap_cgtree *t, uint64_t id, uint64_t ancestor);

struct kap_policy_info {
	char name[KAP_NAME_MAX];
	long order;		/* -1 if unreadable */
	char spec_text[KAP_LINE_MAX];
	struct kap_spec spec;
	bool spec_ok;		/* spec_text parsed */
	struct kap_counters stats;
};

int kap_policies_load(struct kap_policy_info **out, size_t *n);
struct kap_policy_info *kap_policy_find(struct kap_policy_info *p, size_t n,
					const char *name);
/* Where a policy's values go in a table: columns, -1 for none. */
struct kap_policy_cols {
	int order, name, spec;
	int counter[KAP_NR_COUNTERS];
};

extern const struct kap_policy_cols kap_policy_lines;
void kap_policy_out(const struct kap_policy_info *p, struct kap_table *t,
		    const struct kap_policy_cols *col);
void kap_policies_table(const struct kap_policy_info *p, size_t n, const char *only,
			const struct kap_col *cols, int ncol, const struct kap_policy_cols *pc);
void kap_counters_out(const char *key, const char *head, const char *indent,
		      const struct kap_counters *c);
int kap_load_policies_or_say(struct kap_policy_info **p, size_t *n);
extern bool kap_cmd_defaulted;

/*
 * doctor.c: the deaths file, how long established connections had been
 * idle before they died, per service port and kind of death
 * (sysfs/ABI/sysfs-kernel-kapolicy).  Its bucket bounds come from its
 * header; each line's buckets count the deaths in (le[i-1], le[i]], not
 * cumulative.
 */
#define KAP_DEATHS_FILE		"deaths"
#define KAP_DEATH_BUCKETS_MAX	64

enum kap_death_kind {
	KAP_DEATH_RESET,	/* a RST answered the first segment after idle */
	KAP_DEATH_RETRANS,	/* that segment was never acknowledged */
	KAP_DEATH_KEEPALIVE,	/* keepalive probes went unanswered */
	KAP_NR_DEATH_KINDS	/* a kind this kapctl does not know */
};

/* The port is the local one, the remote one, or both (sockets.c too). */
enum kap_side { KAP_SIDE_NONE, KAP_SIDE_LOCAL, KAP_SIDE_REMOTE, KAP_SIDE_BOTH };

extern const char *const kap_death_kind_names[KAP_NR_DEATH_KINDS];
extern const char *const kap_side_names[];	/* by enum kap_side; NONE is "-" */

struct kap_death_line {
	bool other;		/* ports beyond limits/ports_max */
	unsigned int port;
	char kind[16];		/* as the file names it */
	enum kap_death_kind k;	/* KAP_NR_DEATH_KINDS: unknown to kapctl */
	enum kap_side side;
	uint64_t count, sum_ms, min_ms, max_ms;
	uint64_t *bucket;	/* nb values */
};

struct kap_deaths {
	size_t nb;				/* buckets, +Inf the last */
	double le[KAP_DEATH_BUCKETS_MAX];	/* upper bounds in s, inclusive */
	char le_text[KAP_DEATH_BUCKETS_MAX][24];	/* as the header has them */
	struct kap_death_line *l;
	size_t n;
	uint64_t *pool;
};

int kap_deaths_load(struct kap_deaths *d, char *err, size_t errlen);
void kap_deaths_free(struct kap_deaths *d);

/* sockets.c: the at-risk scan of --at-risk, for doctor */
struct kap_at_risk_scan;
int kap_at_risk_open(struct kap_at_risk_scan **out);
size_t kap_at_risk_count(struct kap_at_risk_scan *sc, uint64_t seconds, unsigned int port,
			 enum kap_side side);
void kap_at_risk_close(struct kap_at_risk_scan *sc);

/* spec.c: a preset's timing for a timeout of t seconds (any t >= 1) */
void kap_preset_timing(uint64_t t, struct kap_preset_values *v);

/* commands */
int kap_cmd_status(int argc, char **argv);
int kap_cmd_policy_add(int argc, char **argv);
int kap_cmd_policy_del(int argc, char **argv);
int kap_cmd_policy_flush(int argc, char **argv);
int kap_cmd_policy_move(int argc, char **argv);
int kap_cmd_policy_list(int argc, char **argv);
int kap_cmd_policy_show(int argc, char **argv);
int kap_cmd_policy_enforce(int argc, char **argv);
int kap_cmd_policy_presets(int argc, char **argv);
int kap_cmd_stats(int argc, char **argv);
int kap_cmd_watch(int argc, char **argv);
int kap_cmd_sockets(int argc, char **argv);
int kap_cmd_apply(int argc, char **argv);
int kap_cmd_doctor(int argc, char **argv);

extern const struct kap_opt kap_stats_opts[];
extern const struct kap_opt kap_stats_global_opts[];
extern const struct kap_opt kap_stats_ports_opts[];
extern const struct kap_opt kap_stats_policies_opts[];
extern const struct kap_opt kap_stats_all_opts[];
extern const struct kap_opt kap_watch_opts[];
extern const struct kap_opt kap_sockets_opts[];
extern const struct kap_opt kap_apply_opts[];
extern const struct kap_opt kap_doctor_opts[];

#endif /* KAPCTL_H */
