// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl: keepalive policies, counters, live events and per-socket state of
 * the kapolicy module.
 *
 *   kapctl [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * One table (kap_objects) drives dispatch, "help" at every level, the
 * options each command takes, the man page's command list and the bash
 * completion (both checked against it by the unit tests through
 * --list-commands and --list-options).  Names are matched exactly; there is
 * no abbreviation.
 *
 * Hidden options for the completion and the tests, one item a line:
 *   --list-commands  "OBJECT [COMMAND]"
 *   --list-options   "OBJECT [COMMAND]: --opt --opt=" (= takes a value)
 *   --list-counters  the counters' names (stats --sort), from counters.h
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kapctl.h"

static int kap_cmd_help(int argc, char **argv);

/* The keys of "policy add -h"; t_cli.sh checks them against the parser's. */
static const char kap_policy_keys[] =
	"\nMatch keys (all given must match; none: every connection):\n"
	"  lport=P[-Q]            local port or range, 1-65535, or a TCP service name\n"
	"  rport=P[-Q]            remote port or range, 1-65535, or a TCP service name\n"
	"  cgroup=ID|PATH         a cgroup v2 id or directory: its processes and those below\n"
	"  unit=NAME              a running systemd unit's cgroup (nginx: nginx.service)\n"
	"  netns=NAME|PATH|COOKIE a network namespace (/run/netns/NAME, /proc/PID/ns/net)\n"
	"  family=4|6             the address family (IPv4-mapped IPv6 is 4)\n"
	"Action keys (at least one of idle intvl cnt user_timeout keepalive):\n"
	"  preset=NAME            for a middlebox's idle timeout T: idle=T/2 intvl=T/10\n"
	"                         cnt=5 user_timeout=auto keepalive=on; keys given win.\n"
	"                         aws-nlb aws-nat azure-lb gcp-firewall gcp-nat ipvs\n"
	"                         conntrack timeout:SECONDS (kapctl policy presets)\n"
	"  idle=DURATION          TCP_KEEPIDLE, 1-32767 seconds (90, 5m, 1h30m)\n"
	"  intvl=DURATION         TCP_KEEPINTVL, 1-32767 seconds\n"
	"  cnt=N                  TCP_KEEPCNT, 1-127 probes\n"
	"  user_timeout=MS|auto   TCP_USER_TIMEOUT, 1-2147483647 ms (or 30s, 2m); auto:\n"
	"                         idle + intvl * cnt\n"
	"  keepalive=on           switch SO_KEEPALIVE on where it is off\n"
	"  mode=fill|override     fill (default): the application's own values win;\n"
	"                         override: the policy's win, also over later setsockopt()\n"
	"  order=N                its position in the match order, 0-65535 (default: last)\n"
	"unit= and preset= are kapctl's: it writes the keys they stand for.\n";

static const struct kap_cmd kap_policy_cmds[] = {
	{ .name = "add", .fn = kap_cmd_policy_add, .args = "NAME KEY=VALUE...",
	  .summary = "add a policy (keys: family lport rport cgroup unit netns preset idle intvl cnt user_timeout keepalive mode order)",
	  .more = kap_policy_keys },
	{ .name = "del", .fn = kap_cmd_policy_del, .args = "NAME",
	  .summary = "delete a policy; its connections go back to their own settings" },
	{ .name = "flush", .fn = kap_cmd_policy_flush, .args = "",
	  .summary = "delete every policy" },
	{ .name = "move", .fn = kap_cmd_policy_move, .args = "NAME POSITION",
	  .summary = "move a policy to POSITION in the match order (0: first)" },
	{ .name = "list", .fn = kap_cmd_policy_list, .args = "",
	  .summary = "list the policies in match order with their main counters" },
	{ .name = "show", .fn = kap_cmd_policy_show, .args = "NAME",
	  .summary = "show one policy, its keys and all its counters" },
	{ .name = "enforce", .fn = kap_cmd_policy_enforce, .args = "[on|off]",
	  .summary = "show or set whether policies are applied (off: observe only)" },
	{ .name = "presets", .fn = kap_cmd_policy_presets, .args = "[NAME|timeout:SECONDS]",
	  .summary = "list the presets for middlebox idle timeouts (preset=) and their keys" },
	{ .name = NULL }
};

static const struct kap_cmd kap_stats_cmds[] = {
	{ .name = "global", .fn = kap_cmd_stats, .args = "[OPTIONS]",
	  .summary = "host-wide counters and the module's limits (the default)",
	  .opts = kap_stats_global_opts },
	{ .name = "ports", .fn = kap_cmd_stats, .args = "[OPTIONS]",
	  .summary = "counters by service port",
	  .opts = kap_stats_ports_opts },
	{ .name = "all", .fn = kap_cmd_stats, .args = "[OPTIONS]",
	  .summary = "the three views in one run (for Prometheus: one scrape file)",
	  .opts = kap_stats_all_opts },
	{ .name = "policies", .fn = kap_cmd_stats, .args = "[OPTIONS]",
	  .summary = "counters by policy, in match order",
	  .opts = kap_stats_policies_opts },
	{ .name = NULL }
};

const struct kap_cmd kap_objects[] = {
	{ .name = "status", .fn = kap_cmd_status, .args = "",
	  .summary = "show whether the module is loaded, its version, enforce, policies and counters" },
	{ .name = "policy", .args = "COMMAND",
	  .summary = "add, delete, move and list keepalive policies",
	  .sub = kap_policy_cmds, .dflt = "list" },
	{ .name = "stats", .args = "[global|ports|policies] [OPTIONS]",
	  .summary = "keepalive counters: host-wide, by port, by policy; text, JSON or Prometheus",
	  .sub = kap_stats_cmds, .dflt = "global", .opts = kap_stats_opts },
	{ .name = "watch", .fn = kap_cmd_watch, .args = "[OPTIONS]",
	  .summary = "print keepalive events as they happen",
	  .opts = kap_watch_opts },
	{ .name = "sockets", .fn = kap_cmd_sockets, .args = "[OPTIONS]",
	  .summary = "per-connection keepalive state (sock_diag), governing policy, connections at risk",
	  .opts = kap_sockets_opts },
	{ .name = "doctor", .fn = kap_cmd_doctor, .args = "[OPTIONS]",
	  .summary = "diagnose idle connections that died: the middlebox timeout behind them and the policy that fixes it",
	  .opts = kap_doctor_opts },
	{ .name = "apply", .fn = kap_cmd_apply, .args = "[--check] [--flush] [--missing-ok] FILE|-",
	  .summary = "replace the policy table with a config file's policies, all or nothing",
	  .opts = kap_apply_opts },
	{ .name = "help", .fn = kap_cmd_help, .args = "[OBJECT]",
	  .summary = "show this help, or an object's commands" },
	{ .name = NULL }
};

/* The command running now and its full name ("stats ports"), for options. */
static const struct kap_cmd *kap_cur;
static const char *kap_cur_parent;
static char kap_cur_name[64];
int kap_opt_exit;
bool kap_cmd_defaulted;	/* the object's default command runs (none named) */

static const struct kap_cmd *kap_cmd_find(const struct kap_cmd *table, const char *name)
{
	for (; table && table->name; table++)
		if (!strcmp(table->name, name))
			return table;
	return NULL;
}

static bool kap_is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

static void kap_print_cmds(FILE *f, const char *prefix, const struct kap_cmd *table)
{
	for (; table->name; table++)
		fprintf(f, "  %s%s %s\n      %s\n", prefix, table->name, table->args,
			table->summary);
}

static void kap_print_opts(FILE *f, const struct kap_opt *o)
{
	char left[64];

	if (!o || !o->name)
		return;
	fprintf(f, "\nOptions:\n");
	for (; o->name; o++) {
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-22s %s\n", left, o->help);
	}
}

/* --list-commands: "OBJECT [COMMAND]" per line, for completion and tests */
static void kap_list_commands(void)
{
	const struct kap_cmd *obj, *cmd;

	for (obj = kap_objects; obj->name; obj++) {
		if (!obj->sub) {
			printf("%s\n", obj->name);
			continue;
		}
		for (cmd = obj->sub; cmd->name; cmd++)
			printf("%s %s\n", obj->name, cmd->name);
	}
}

/* --list-options: "OBJECT [COMMAND]: --opt --opt=" (= takes a value) */
static void kap_list_options(void)
{
	const struct kap_cmd *obj, *cmd;
	const struct kap_opt *o;

	for (obj = kap_objects; obj->name; obj++) {
		const struct kap_cmd *one[] = { obj, NULL };
		const struct kap_cmd *const *list = one;
		const struct kap_cmd *subs[16];
		size_t n = 0;

		if (obj->sub) {
			for (cmd = obj->sub; cmd->name && n < 15; cmd++)
				subs[n++] = cmd;
			subs[n] = NULL;
			list = subs;
		}
		for (; *list; list++) {
			cmd = *list;
			if (obj->sub)
				printf("%s %s:", obj->name, cmd->name);
			else
				printf("%s:", obj->name);
			for (o = cmd->opts; o && o->name; o++)
				printf(" --%s%s", o->name, o->arg ? "=" : "");
			printf("\n");
		}
	}
}

/* --list-counters: the counters' names, in the module's order */
static void kap_list_counters(void)
{
	int i;

	for (i = 0; i < KAP_NR_COUNTERS; i++)
		printf("%s\n", kap_counter_names[i]);
}

static void kap_print_usage(FILE *f)
{
	fprintf(f,
		"Usage: kapctl [OPTIONS] OBJECT [COMMAND] [ARGS]\n"
		"\n"
		"Options:\n"
		"  -j, --json       JSON output (errors too)\n"
		"  -p, --pretty     pretty-printed JSON output (implies -j)\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show kapctl's version\n"
		"\n"
		"Objects and commands:\n");
	kap_print_cmds(f, "", kap_objects);
	fprintf(f, "\n'kapctl help OBJECT' and 'kapctl OBJECT COMMAND help' show more.\n"
		"See kapctl(8).\n");
}

static void kap_print_cmd_help(const char *parent, const struct kap_cmd *cmd)
{
	printf("Usage: kapctl %s%s%s %s\n    %s\n", parent ? parent : "",
	       parent ? " " : "", cmd->name, cmd->args, cmd->summary);
	kap_print_opts(stdout, cmd->opts);
	if (cmd->more)
		fputs(cmd->more, stdout);
}

static int kap_cmd_help(int argc, char **argv)
{
	const struct kap_cmd *obj, *cmd;
	char prefix[64];

	if (argc < 2) {
		kap_print_usage(stdout);
		return KAP_EXIT_OK;
	}
	if (argc > 3)
		return kap_usage_err("help: too many arguments");
	obj = kap_cmd_find(kap_objects, argv[1]);
	if (!obj)
		return kap_usage_err("help: unknown object '%s'", argv[1]);
	if (!obj->sub) {
		if (argc > 2)
			return kap_usage_err("help: '%s' has no commands", obj->name);
		kap_print_cmd_help(NULL, obj);
		return KAP_EXIT_OK;
	}
	if (argc > 2) {
		cmd = kap_cmd_find(obj->sub, argv[2]);
		if (!cmd)
			return kap_usage_err("help: unknown command '%s %s'", obj->name, argv[2]);
		kap_print_cmd_help(obj->name, cmd);
		return KAP_EXIT_OK;
	}
	printf("Usage: kapctl %s %s\n    %s\n\nCommands:\n", obj->name, obj->args,
	       obj->summary);
	snprintf(prefix, sizeof(prefix), "%s ", obj->name);
	kap_print_cmds(stdout, prefix, obj->sub);
	if (obj->dflt)
		printf("\nWithout a command: kapctl %s %s.\n", obj->name, obj->dflt);
	return KAP_EXIT_OK;
}

/* Runs a leaf command with argv[0] its name. */
static int kap_run(const char *parent, const struct kap_cmd *cmd, int argc, char **argv)
{
	kap_cur = cmd;
	kap_cur_parent = parent;
	if (kap_cmd_defaulted)	/* "kapctl stats --port 1": speak of "stats" */
		snprintf(kap_cur_name, sizeof(kap_cur_name), "%s", parent);
	else
		snprintf(kap_cur_name, sizeof(kap_cur_name), "%s%s%s", parent ? parent : "",
			 parent ? " " : "", cmd->name);
	/* "help", -h, --help; "help" is a NAME where one is expected */
	if (argc > 1 && kap_is_help(argv[1]) &&
	    (strcmp(argv[1], "help") || strncmp(cmd->args, "NAME", 4))) {
		kap_print_cmd_help(parent, cmd);
		return KAP_EXIT_OK;
	}
	optind = 0;	/* glibc: start a fresh scan for kap_getopt */
	return cmd->fn(argc, argv);
}

/* Runs argv[0] from an object's table; "help" works at every level. */
static int kap_dispatch(const struct kap_cmd *obj, int argc, char **argv)
{
	const struct kap_cmd *cmd;
	char *help_argv[] = { "help", (char *)obj->name, NULL };

	if (argc >= 1 && kap_is_help(argv[0]))
		return kap_cmd_help(2, help_argv);
	if (obj->dflt && (argc < 1 || argv[0][0] == '-')) {
		/* "kapctl stats --port 5432": the default command */
		char **args = calloc(argc + 2, sizeof(*args));
		struct kap_cmd dflt = *kap_cmd_find(obj->sub, obj->dflt);
		int ret;

		if (!args)
			return kap_fail("out of memory");
		args[0] = (char *)obj->dflt;
		kap_cmd_defaulted = true;
		if (obj->opts)
			dflt.opts = obj->opts;
		memcpy(args + 1, argv, argc * sizeof(*args));
		ret = kap_run(obj->name, &dflt, argc + 1, args);
		free(args);
		return ret;
	}
	if (argc < 1)
		return kap_usage_err("%s: a command is needed (%s help)", obj->name, obj->name);
	cmd = kap_cmd_find(obj->sub, argv[0]);
	if (!cmd)
		return kap_usage_err("%s: unknown command '%s'", obj->name, argv[0]);
	return kap_run(obj->name, cmd, argc, argv);
}

/*
 * getopt_long() takes unambiguous prefixes of long options ("--por" for
 * "--port"); kapctl takes exact names only.  Returns the first "--word"
 * of argv[from..] that is not exactly one of opts, or NULL.  stop_early:
 * the options end at the first argument that is not one (main's "+").
 */
static const char *kap_inexact(int argc, char **argv, int from, const struct option *opts,
			       bool stop_early)
{
	const struct option *o;
	int i;

	for (i = from; i < argc; i++) {
		size_t len;

		if (!strcmp(argv[i], "--"))
			break;
		if (strncmp(argv[i], "--", 2)) {
			if (stop_early && argv[i][0] != '-')
				break;
			continue;
		}
		len = strcspn(argv[i] + 2, "=");
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, argv[i] + 2, len))
				break;
		if (!o->name)
			return argv[i];
		if (o->has_arg == required_argument && !argv[i][2 + len])
			i++;	/* its value */
	}
	return NULL;
}

/* -j/-p/--json/--pretty anywhere before "--": JSON, also for an early error */
static void kap_json_asked(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--pretty") ||
		    (argv[i][0] == '-' && argv[i][1] != '-' && strpbrk(argv[i] + 1, "jp") &&
		     strspn(argv[i] + 1, "jph") == strlen(argv[i] + 1)))
			kap_json = true;
		if (!strcmp(argv[i], "--pretty") ||
		    (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i] + 1, 'p') &&
		     strspn(argv[i] + 1, "jph") == strlen(argv[i] + 1)))
			kap_pretty = true;
	}
}

/*
 * The first word of argv[from..] (before "--") that is a cluster of short
 * options with one not in known ("-foo"), or NULL: getopt() would name
 * the word before it.
 */
static const char *kap_bad_short(int argc, char **argv, int from, const struct option *opts,
				 const char *known)
{
	const struct option *o;
	int i;

	for (i = from; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strncmp(argv[i], "--", 2)) {
			for (o = opts; o->name; o++)
				if (!strcmp(o->name, argv[i] + 2))
					break;
			if (o->name && o->has_arg == required_argument)
				i++;	/* its value, "--at-risk -1" */
			continue;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			continue;
		if (strspn(argv[i] + 1, known) != strlen(argv[i] + 1))
			return argv[i];
	}
	return NULL;
}

/*
 * The options of the running command.  Long options only, besides the
 * common -j, -p and -h (which may also come after the command).
 */
int kap_getopt(int argc, char **argv)
{
	const char *bad;
	struct option lopts[32];
	const struct kap_opt *o;
	size_t n = 0;
	int c;

	for (o = kap_cur ? kap_cur->opts : NULL; o && o->name && n < 28; o++) {
		lopts[n].name = o->name;
		lopts[n].has_arg = o->arg ? required_argument : no_argument;
		lopts[n].flag = NULL;
		lopts[n].val = o->val;
		n++;
	}
	lopts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lopts[n++] = (struct option){ "pretty", no_argument, NULL, 'p' };
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };

	if (optind == 0 && ((bad = kap_inexact(argc, argv, 1, lopts, false)) ||
			    (bad = kap_bad_short(argc, argv, 1, lopts, "jph")))) {
		kap_json_asked(argc, argv);	/* the error in the form asked for */
		kap_opt_exit = kap_usage_err("%s: unknown option '%.*s'", kap_cur_name,
					     (int)strcspn(bad, "="), bad);
		return KAP_OPT_EXIT;
	}
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, ":jph", lopts, NULL);
		switch (c) {
		case 'j':
			kap_json = true;
			continue;
		case 'p':
			kap_json = kap_pretty = true;
			continue;
		case 'h':
			kap_print_cmd_help(kap_cur_parent, kap_cur);
			kap_opt_exit = KAP_EXIT_OK;
			return KAP_OPT_EXIT;
		case ':':
			kap_opt_exit = kap_usage_err("%s: option '%s' needs a value",
						     kap_cur_name, argv[optind - 1]);
			return KAP_OPT_EXIT;
		case '?':
			kap_opt_exit = kap_usage_err("%s: unknown option '%s'", kap_cur_name,
						     argv[optind - 1]);
			return KAP_OPT_EXIT;
		default:
			return c;
		}
	}
}

/* kapctl's version and the loaded module's; a warning when they differ. */
static int kap_print_version(void)
{
	char mod[64] = "";
	bool loaded = kap_module_loaded() && kap_sysfs_read("version", mod, sizeof(mod)) >= 0;

	mod[strcspn(mod, "\n")] = '\0';
	kap_open_object(NULL);
	kap_print_str(KAP_PR_ANY, "kapctl", "kapctl %s\n", KAP_VERSION);
	if (loaded) {
		kap_print_str(KAP_PR_ANY, "module", "module %s\n", mod);
	} else {
		kap_print_null("module");
		kap_print_text("module not loaded\n");
	}
	kap_close_object();
	fflush(stdout);
	if (loaded && strcmp(mod, KAP_VERSION))
		kap_warn("kapctl %s and the module %s differ: install both from the same release",
			 KAP_VERSION, mod);
	return KAP_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "list-commands", no_argument, NULL, 'L' },
		{ "list-options", no_argument, NULL, 'O' },
		{ "list-counters", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	const struct kap_cmd *obj;
	const char *bad;
	int c;

	bad = kap_inexact(argc, argv, 1, opts, true);
	if (!bad && argc > 1 && argv[1][0] == '-' && argv[1][1] != '-' && argv[1][1] &&
	    strspn(argv[1] + 1, "jphV") != strlen(argv[1] + 1))
		bad = argv[1];
	if (bad)
		return kap_usage_err("unknown option '%.*s'", (int)strcspn(bad, "="), bad);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jphV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			kap_json = true;
			break;
		case 'p':
			kap_json = kap_pretty = true;
			break;
		case 'h':
			kap_print_usage(stdout);
			return KAP_EXIT_OK;
		case 'V':
			return kap_print_version();
		case 'L':
			kap_list_commands();
			return KAP_EXIT_OK;
		case 'O':
			kap_list_options();
			return KAP_EXIT_OK;
		case 'C':
			kap_list_counters();
			return KAP_EXIT_OK;
		default:
			return kap_usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		kap_print_usage(stderr);
		return KAP_EXIT_USAGE;
	}
	obj = kap_cmd_find(kap_objects, argv[0]);
	if (!obj)
		return kap_usage_err("unknown object '%s'", argv[0]);
	if (obj->sub)
		return kap_dispatch(obj, argc - 1, argv + 1);
	if (argc > 1 && kap_is_help(argv[1])) {
		char *help_argv[] = { "help", argv[0], NULL };

		return kap_cmd_help(2, help_argv);
	}
	return kap_run(NULL, obj, argc, argv);
}
