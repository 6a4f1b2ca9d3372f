// SPDX-License-Identifier: GPL-2.0
/*
 * Output: a readable form for people, JSON (json-c) for scripts.  In JSON
 * mode errors are JSON too: {"error": "..."} on stdout, so a script reads
 * one document whatever happened.  Every JSON object kapctl prints carries
 * "format_version" (KAP_JSON_FORMAT): it changes only when a field changes
 * meaning or goes away, not when fields are added.
 *
 * A command describes its output once, with the kap_print_*() and
 * kap_cell_*() calls below (as iproute2's print_*(PRINT_ANY, ...) do): each
 * names a value's JSON key and its text form.  In text mode they print; in
 * JSON mode they build the document, printed when its outermost object is
 * closed.  A table is rows of cells: in text mode its columns are as wide
 * as their widest value, in JSON mode it is an array of objects.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- one output model ---------------------------------------------------- */

/*
 * JSON mode: the objects and arrays open, the document's root first.  Text
 * mode keeps none.
 */
#define KAP_OUT_DEPTH	16
static struct json_object *kap_out_stack[KAP_OUT_DEPTH];
static int kap_out_depth;

/* kapctl has no use for half an output: out of memory ends it. */
static void *kap_out_alloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		kap_err("out of memory");
		exit(KAP_EXIT_FAIL);
	}
	return p;
}

static bool kap_pr_text(enum kap_pr pr)
{
	return !kap_json && pr != KAP_PR_JSON;
}

static bool kap_pr_json(enum kap_pr pr)
{
	return kap_json && pr != KAP_PR_TEXT;
}

/*
 * Adds v (NULL: null) under key to the object on top, or to the array on
 * top.  An object's value without a key is text only: dropped.
 */
static void kap_out_add(const char *key, struct json_object *v)
{
	struct json_object *top = kap_out_depth ? kap_out_stack[kap_out_depth - 1] : NULL;

	if (top && json_object_is_type(top, json_type_array))
		json_object_array_add(top, v);
	else if (top && key)
		json_object_object_add(top, key, v);
	else
		json_object_put(v);
}

static void kap_out_push(struct json_object *v)
{
	if (kap_out_depth == KAP_OUT_DEPTH) {
		kap_err("output nested too deep");
		exit(KAP_EXIT_FAIL);
	}
	kap_out_stack[kap_out_depth++] = v;
}

/*
 * JSON: an object under key of the object on top (in the array on top;
 * the document itself if none is open).  Text: nothing.
 */
void kap_open_object(const char *key)
{
	struct json_object *o;

	if (!kap_json)
		return;
	o = json_object_new_object();
	if (kap_out_depth)
		kap_out_add(key, o);
	kap_out_push(o);
}

void kap_open_array(const char *key)
{
	struct json_object *a;

	if (!kap_json)
		return;
	a = json_object_new_array();
	if (kap_out_depth)
		kap_out_add(key, a);
	kap_out_push(a);
}

/* Closes the object or array on top; closing the document prints it. */
static void kap_out_pop(void)
{
	struct json_object *o;

	if (!kap_json || !kap_out_depth)
		return;
	o = kap_out_stack[--kap_out_depth];
	if (!kap_out_depth) {
		kap_json_print(o);
		json_object_put(o);
	}
}

void kap_close_object(void)
{
	kap_out_pop();
}

void kap_close_array(void)
{
	kap_out_pop();
}

/* After a failure: the document open is not printed (the error is). */
void kap_out_discard(void)
{
	if (kap_out_depth)
		json_object_put(kap_out_stack[0]);
	kap_out_depth = 0;
}

/* Text formats are the callers' literals, each for its one value. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* s NULL: null in JSON, nothing in text. */
void kap_print_str(enum kap_pr pr, const char *key, const char *fmt, const char *s)
{
	if (kap_pr_json(pr))
		kap_out_add(key, s ? json_object_new_string(s) : NULL);
	else if (kap_pr_text(pr) && fmt && s)
		printf(fmt, s);
}

/* fmt takes a uint64_t (PRIu64) */
void kap_print_u64(enum kap_pr pr, const char *key, const char *fmt, uint64_t v)
{
	if (kap_pr_json(pr))
		kap_out_add(key, kap_json_u64(v));
	else if (kap_pr_text(pr) && fmt)
		printf(fmt, v);
}

/* fmt takes an int64_t (PRId64) */
void kap_print_i64(enum kap_pr pr, const char *key, const char *fmt, int64_t v)
{
	if (kap_pr_json(pr))
		kap_out_add(key, json_object_new_int64(v));
	else if (kap_pr_text(pr) && fmt)
		printf(fmt, v);
}

/* true or false in JSON; fmt takes a string, "on" or "off" */
void kap_print_bool(enum kap_pr pr, const char *key, const char *fmt, bool v)
{
	if (kap_pr_json(pr))
		kap_out_add(key, json_object_new_boolean(v));
	else if (kap_pr_text(pr) && fmt)
		printf(fmt, v ? "on" : "off");
}

#pragma GCC diagnostic pop

/* JSON only: null */
void kap_print_null(const char *key)
{
	if (kap_json)
		kap_out_add(key, NULL);
}

/* JSON only: seconds, whole (1) or not (0.25, as "%g" has it); +Inf null */
void kap_print_seconds(const char *key, double s)
{
	char num[32];

	if (!kap_json)
		return;
	snprintf(num, sizeof(num), "%g", s);
	kap_out_add(key, !isfinite(s) ? NULL : s == floor(s) ? json_object_new_int64((int64_t)s) :
			 json_object_new_double_s(s, num));
}

/* Text only: labels, headings, sentences. */
void kap_print_text(const char *fmt, ...)
{
	va_list ap;

	if (kap_json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/*
 * Tables.  Text: the rows are kept until the table is closed, then printed
 * under their headings, two spaces between columns.  JSON: each row is an
 * object of the array key, open while the row is (kap_print_*() and
 * kap_open_object() add to it too); a row opened with a key of its own
 * goes under that key beside the array instead.
 */
struct kap_table {
	const char *key;
	const struct kap_col *col;
	int ncol;
	struct json_object *arr, *parent;
	char **cell;		/* text: nrow x ncol, NULL: empty */
	size_t nrow, cap;
};

struct kap_table *kap_table_open(const char *key, const struct kap_col *col, int ncol)
{
	struct kap_table *t = kap_out_alloc(NULL, sizeof(*t));

	memset(t, 0, sizeof(*t));
	t->key = key;
	t->col = col;
	t->ncol = ncol < KAP_TABLE_COLS ? ncol : KAP_TABLE_COLS;
	if (kap_json) {
		t->arr = json_object_new_array();
		t->parent = kap_out_depth ? kap_out_stack[kap_out_depth - 1] : NULL;
	}
	return t;
}

void kap_row_open(struct kap_table *t, const char *key)
{
	struct json_object *o;

	if (kap_json) {
		o = json_object_new_object();
		if (key && t->parent)
			json_object_object_add(t->parent, key, o);
		else
			json_object_array_add(t->arr, o);
		kap_out_push(o);
		return;
	}
	if (t->nrow == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cell = kap_out_alloc(t->cell, t->cap * t->ncol * sizeof(*t->cell));
	}
	memset(t->cell + t->nrow * t->ncol, 0, t->ncol * sizeof(*t->cell));
	t->nrow++;
}

/* JSON: closes the row's object (opened by kap_row_open). */
void kap_row_close(struct kap_table *t)
{
	(void)t;
	if (kap_json && kap_out_depth)
		kap_out_depth--;
}

static void kap_cell_text(struct kap_table *t, int col, const char *s)
{
	char **c;

	if (col < 0 || col >= t->ncol || !t->nrow)
		return;
	c = &t->cell[(t->nrow - 1) * t->ncol + col];
	free(*c);
	*c = kap_out_alloc(NULL, strlen(s) + 1);
	strcpy(*c, s);
}

/*
 * A cell: in text mode text in column col (-1: none), in JSON mode v
 * (consumed; NULL: null) under key (NULL: none) of the object open in the
 * row.  The callers build v in JSON mode only.
 */
static void kap_cell_put(struct kap_table *t, int col, const char *key, struct json_object *v,
			 const char *text)
{
	if (kap_json && key)
		kap_out_add(key, v);
	else if (kap_json)
		json_object_put(v);
	else if (text)
		kap_cell_text(t, col, text);
}

/* s NULL: null in JSON, an empty cell in text */
void kap_cell_str(struct kap_table *t, int col, const char *key, const char *s)
{
	kap_cell_put(t, col, key, kap_json && s ? json_object_new_string(s) : NULL, s);
}

void kap_cell_u64(struct kap_table *t, int col, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	kap_cell_put(t, col, key, kap_json ? kap_json_u64(v) : NULL, num);
}

void kap_cell_i64(struct kap_table *t, int col, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	kap_cell_put(t, col, key, kap_json ? json_object_new_int64(v) : NULL, num);
}

/* on or off in text, true or false in JSON */
void kap_cell_bool(struct kap_table *t, int col, const char *key, bool v)
{
	kap_cell_put(t, col, key, kap_json ? json_object_new_boolean(v) : NULL, v ? "on" : "off");
}

/* null in JSON, text (what stands for "none" or "not known") in text */
void kap_cell_null(struct kap_table *t, int col, const char *key, const char *text)
{
	kap_cell_put(t, col, key, NULL, text);
}

static void kap_table_line(const struct kap_table *t, const int *w, char *const *cell)
{
	int c;

	for (c = 0; c < t->ncol; c++) {
		const char *s = cell[c] ? cell[c] : "";

		if (c)
			fputs("  ", stdout);
		if (t->col[c].flags & KAP_COL_RIGHT)
			printf("%*s", w[c], s);
		else if (c == t->ncol - 1)	/* no blanks at the end of a line */
			fputs(s, stdout);
		else
			printf("%-*s", w[c], s);
	}
	putchar('\n');
}

/*
 * Text: prints the table (nothing without rows).  JSON: adds the array
 * under its key.  Returns the number of rows.
 */
size_t kap_table_close(struct kap_table *t)
{
	size_t r, n = t->nrow;
	char *head[KAP_TABLE_COLS];
	int w[KAP_TABLE_COLS], c, l;

	if (kap_json) {
		n = json_object_array_length(t->arr);
		if (t->parent)
			json_object_object_add(t->parent, t->key, t->arr);
		else
			json_object_put(t->arr);
		free(t);
		return n;
	}
	for (c = 0; c < t->ncol; c++) {
		head[c] = (char *)t->col[c].head;
		w[c] = t->col[c].width;
		if ((l = strlen(head[c])) > w[c])
			w[c] = l;
		for (r = 0; r < n; r++)
			if (t->cell[r * t->ncol + c] && (l = strlen(t->cell[r * t->ncol + c])) > w[c])
				w[c] = l;
	}
	if (n) {
		kap_table_line(t, w, head);
		for (r = 0; r < n; r++)
			kap_table_line(t, w, t->cell + r * t->ncol);
	}
	for (r = 0; r < n * t->ncol; r++)
		free(t->cell[r]);
	free(t->cell);
	free(t);
	return n;
}
