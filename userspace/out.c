// SPDX-License-Identifier: GPL-2.0
/*
 * Output: a readable form for people, JSON (json-c) for scripts.  In JSON
 * mode errors are JSON too: {"error": "..."} on stdout, so a script reads
 * one document whatever happened.  Every JSON object kapctl prints carries
 * "format_version" (KAP_JSON_FORMAT): it changes only when a field changes
 * meaning or goes away, not when fields are added.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "kapctl.h"

bool kap_json;
bool kap_pretty;

static void kap_json_stamp(struct json_object *obj)
{
	if (json_object_is_type(obj, json_type_object) &&
	    !json_object_object_get_ex(obj, "format_version", NULL))
		json_object_object_add(obj, "format_version", json_object_new_int(KAP_JSON_FORMAT));
}

void kap_json_print(struct json_object *obj)
{
	int flags = kap_pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			       : JSON_C_TO_STRING_PLAIN;

	kap_json_stamp(obj);
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

/*
 * A duration as ss(8) writes its timers, with hours: "850ms", "48sec",
 * "2min29sec", "3hr5min".
 */
const char *kap_duration_text(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 "sec", s);
	else if (s < 3600 && s % 60)
		snprintf(buf, len, "%" PRIu64 "min%" PRIu64 "sec", s / 60, s % 60);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "min", s / 60);
	else if ((s / 60) % 60)
		snprintf(buf, len, "%" PRIu64 "hr%" PRIu64 "min", s / 3600, (s / 60) % 60);
	else
		snprintf(buf, len, "%" PRIu64 "hr", s / 3600);
	return buf;
}

/* A warning: always on stderr, so that a JSON document stays one document. */
void kap_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kapctl: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

/* A failure (exit 1): prints the error and returns KAP_EXIT_FAIL. */
int kap_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kap_verr(fmt, ap);
	va_end(ap);
	return KAP_EXIT_FAIL;
}

/* One compact JSON document per line, flushed (kapctl watch -j). */
void kap_json_line(struct json_object *obj)
{
	kap_json_stamp(obj);
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

/*
 * json-c stores integers as int64; counters and cgroup ids are u64.  Values
 * above INT64_MAX (never seen in practice) keep their exact digits.
 */
struct json_object *kap_json_u64(uint64_t v)
{
	char digits[24];

	if (v <= INT64_MAX)
		return json_object_new_int64((int64_t)v);
	snprintf(digits, sizeof(digits), "%" PRIu64, v);
	return json_object_new_double_s((double)v, digits);
}

/* A duration in ms the way ss -o prints timers: "1min58sec", "4.210ms"... */
void kap_print_ms(char *buf, size_t len, unsigned int ms)
{
	unsigned int min = ms / 60000, sec = ms / 1000 % 60, rest = ms % 1000;
	size_t n = 0;

	buf[0] = '\0';
	if (min) {
		n += snprintf(buf + n, len - n, "%umin", min);
		rest = 0;
		if (min > 9)
			sec = 0;
	}
	if (sec && n < len) {
		if (sec > 9)
			rest = 0;
		n += snprintf(buf + n, len - n, "%u%s", sec, rest ? "." : "sec");
	}
	if (rest && n < len)
		snprintf(buf + n, len - n, "%03ums", rest);
	if (!buf[0])
		snprintf(buf, len, "0ms");
}

/*
 * A failure with details: in JSON mode {"error": MSG} plus the members of
 * extra (consumed); in text mode MSG only.  Returns KAP_EXIT_FAIL.
 */
int kap_fail_with(struct json_object *extra, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (kap_json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "error", json_object_new_string(msg));
		if (extra) {
			json_object_object_foreach(extra, key, val)
				json_object_object_add(obj, key, json_object_get(val));
		}
		kap_json_print(obj);
		json_object_put(obj);
	} else {
		fprintf(stderr, "kapctl: %s\n", msg);
	}
	json_object_put(extra);
	return KAP_EXIT_FAIL;
}
