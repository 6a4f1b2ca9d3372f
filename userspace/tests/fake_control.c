// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD shim for kapctl's unit tests: a plain file named "control"
 * under $KAPCTL_SYSFS that refuses commands as the kernel would.
 *
 *   FAKE_CONTROL_REFUSE="ERRNO:PREFIX|ERRNO:PREFIX..."
 *
 * A write(2) to such a file whose data starts with PREFIX fails with
 * ERRNO (nothing is written; "#refused ERRNO DATA" is appended instead, so
 * that a test sees what was tried and in which order).  Other writes go
 * through: the file collects the accepted commands.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);

static int is_control(int fd)
{
	const char *dir = getenv("KAPCTL_SYSFS");
	char link[64], path[4096], want[4096];
	ssize_t n;

	if (!dir)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	if (!realpath(dir, want))
		return 0;
	strncat(want, "/control", sizeof(want) - strlen(want) - 1);
	return !strcmp(path, want);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	const char *rules = getenv("FAKE_CONTROL_REFUSE");

	if (!real_write)
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (rules && is_control(fd)) {
		char *copy = strdup(rules), *save = NULL, *rule;

		for (rule = strtok_r(copy, "|", &save); rule; rule = strtok_r(NULL, "|", &save)) {
			char *colon = strchr(rule, ':'), note[1200];
			int err = atoi(rule);
			size_t plen;

			if (!colon)
				continue;
			plen = strlen(colon + 1);
			if (len >= plen && !memcmp(buf, colon + 1, plen)) {
				int n = snprintf(note, sizeof(note), "#refused %d %.*s", err,
						 (int)len, (const char *)buf);

				if (n > 0 && note[n - 1] != '\n' && n + 1 < (int)sizeof(note))
					note[n++] = '\n';
				real_write(fd, note, n);
				free(copy);
				errno = err;
				return -1;
			}
		}
		free(copy);
	}
	return real_write(fd, buf, len);
}
