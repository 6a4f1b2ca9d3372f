// SPDX-License-Identifier: GPL-2.0
/*
 * Output: a readable form for people, JSON (json-c) for scripts.  In JSON
 * mode errors are JSON too: {"error": "..."} on stdout, so a script reads
 * one document whatever happened.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kapctl.h"

bool kap_json;
bool kap_pretty;

void kap_json_print(struct json_object *obj)
{
	int flags = kap_pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			       : JSON_C_TO_STRING_PLAIN;

	puts(json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void kap_verr(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (kap_json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "error", json_object_new_string(msg));
		kap_json_print(obj);
		json_object_put(obj);
	} else {
		fprintf(stderr, "kapctl: %s\n", msg);
	}
}

void kap_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kap_verr(fmt, ap);
	va_end(ap);
}

int kap_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kap_verr(fmt, ap);
	va_end(ap);
	if (!kap_json)
		fprintf(stderr, "Try 'kapctl help'.\n");
	return KAP_EXIT_USAGE;
}
