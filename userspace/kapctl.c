// SPDX-License-Identifier: GPL-2.0
/*
 * kapctl: keepalive policies, counters, live events and per-socket state of
 * the kapolicy module.
 *
 *   kapctl [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * One table (kap_objects) drives dispatch, "help" at every level, the man
 * page's command list and the bash completion (both checked against it by
 * the unit tests).  Names are matched exactly; there is no abbreviation.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kapctl.h"

static int kap_cmd_help(int argc, char **argv);

const struct kap_cmd kap_objects[] = {
	{ .name = "status", .fn = kap_cmd_status, .args = "",
	  .summary = "show whether the module is loaded, its version and counters" },
	{ .name = "help", .fn = kap_cmd_help, .args = "[OBJECT]",
	  .summary = "show this help, or an object's commands" },
	{ .name = NULL }
};

static const struct kap_cmd *kap_find(const struct kap_cmd *table, const char *name)
{
	for (; table && table->name; table++)
		if (!strcmp(table->name, name))
			return table;
	return NULL;
}

static void kap_print_table(FILE *f, const char *prefix, const struct kap_cmd *table)
{
	for (; table->name; table++)
		fprintf(f, "  %s%s %s\n      %s\n", prefix, table->name, table->args,
			table->summary);
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
	kap_print_table(f, "", kap_objects);
	fprintf(f, "\nSee kapctl(8).\n");
}

static int kap_cmd_help(int argc, char **argv)
{
	const struct kap_cmd *obj;
	char prefix[64];

	if (argc < 2) {
		kap_print_usage(stdout);
		return KAP_EXIT_OK;
	}
	obj = kap_find(kap_objects, argv[1]);
	if (!obj)
		return kap_usage_err("help: unknown object '%s'", argv[1]);
	if (!obj->sub) {
		printf("Usage: kapctl %s %s\n    %s\n", obj->name, obj->args, obj->summary);
		return KAP_EXIT_OK;
	}
	printf("Usage: kapctl %s COMMAND [ARGS]\n\nCommands:\n", obj->name);
	snprintf(prefix, sizeof(prefix), "%s ", obj->name);
	kap_print_table(stdout, prefix, obj->sub);
	return KAP_EXIT_OK;
}

/* Runs argv[0] from table; "help" and -h/--help work at every level. */
static int kap_dispatch(const struct kap_cmd *table, const char *parent,
			int argc, char **argv)
{
	const struct kap_cmd *cmd;
	char *help_argv[] = { "help", (char *)parent, NULL };

	if (argc < 1)
		return kap_usage_err("%s: a command is needed", parent);
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
		return kap_cmd_help(2, help_argv);
	cmd = kap_find(table, argv[0]);
	if (!cmd)
		return kap_usage_err("%s: unknown command '%s'", parent, argv[0]);
	if (cmd->sub)
		return kap_dispatch(cmd->sub, cmd->name, argc - 1, argv + 1);
	if (argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--help"))) {
		printf("Usage: kapctl %s%s%s %s\n    %s\n", parent ? parent : "",
		       parent ? " " : "", cmd->name, cmd->args, cmd->summary);
		return KAP_EXIT_OK;
	}
	return cmd->fn(argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "list-commands", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	const struct kap_cmd *obj;
	int c;

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
			printf("kapctl %s\n", KAP_VERSION);
			return KAP_EXIT_OK;
		case 'L':
			kap_list_commands();
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
	obj = kap_find(kap_objects, argv[0]);
	if (!obj)
		return kap_usage_err("unknown object '%s'", argv[0]);
	if (obj->sub)
		return kap_dispatch(obj->sub, obj->name, argc - 1, argv + 1);
	if (argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--help"))) {
		char *help_argv[] = { "help", argv[0], NULL };

		return kap_cmd_help(2, help_argv);
	}
	return obj->fn(argc, argv);
}
