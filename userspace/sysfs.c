// SPDX-License-Identifier: GPL-2.0
/*
 * The module's sysfs files (sysfs/ABI/sysfs-kernel-kapolicy): reading the
 * counters, writing the control file (one command per write(2)).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kapctl.h"

/* The counters, from counters.h: names, column titles, help lines. */
#define KAP_COUNTER_TITLE(e, name, title, help)	[KAP_##e] = title,
#define KAP_COUNTER_HELP(e, name, title, help)	[KAP_##e] = help,
#define KAP_COUNTER_LIST(e, name, title, help)	" " #name

const char *const kap_counter_names[KAP_NR_COUNTERS] = {
	KAP_COUNTERS(KAP_COUNTER_NAME)
};
const char *const kap_counter_titles[KAP_NR_COUNTERS] = {
	KAP_COUNTERS(KAP_COUNTER_TITLE)
};
/* For Prometheus' HELP. */
const char *const kap_counter_help[KAP_NR_COUNTERS] = {
	KAP_COUNTERS(KAP_COUNTER_HELP)
};
const char kap_counter_list[] = KAP_COUNTERS(KAP_COUNTER_LIST);

int kap_counter_index(const char *name)
{
	int i;

	for (i = 0; i < KAP_NR_COUNTERS; i++)
		if (!strcmp(kap_counter_names[i], name))
			return i;
	return -1;
}

/*
 * KAPCTL_SYSFS points kapctl at another directory laid out like
 * /sys/kernel/kapolicy: the unit tests use it to run without the module.
 */
const char *kap_sysfs_dir(void)
{
	const char *dir = getenv("KAPCTL_SYSFS");

	return dir && *dir ? dir : KAP_SYSFS_DIR;
}

bool kap_module_loaded(void)
{
	struct stat st;

	return stat(kap_sysfs_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads KAP_SYSFS_DIR/rel into buf without its trailing newline. */
int kap_sysfs_read(const char *rel, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", kap_sysfs_dir(), rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n;
}

/* For commands that cannot work without the module: says so and fails. */
int kap_need_module(void)
{
	if (kap_module_loaded())
		return 0;
	kap_err("the kapolicy module is not loaded (try 'modprobe kapolicy')");
	return -1;
}

/* Reads a decimal value; -ENOENT if the file is missing, -EINVAL if not a number. */
int kap_sysfs_read_u64(const char *rel, uint64_t *v)
{
	char buf[64], *end;
	int ret;

	ret = kap_sysfs_read(rel, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (!buf[0] || *end || errno)
		return -EINVAL;
	return 0;
}

/* The counters of dir/ (a path relative to the sysfs dir); missing ones stay unset. */
int kap_sysfs_read_counters(const char *dir, struct kap_counters *c)
{
	char rel[512];
	int i, found = 0;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < KAP_NR_COUNTERS; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", dir, kap_counter_names[i]);
		if (!kap_sysfs_read_u64(rel, &c->v[i])) {
			c->have[i] = true;
			found++;
		}
	}
	return found;
}

/*
 * A whole (small) file, NUL-terminated, its length (which counts any NUL
 * bytes inside) in *lenp if lenp; NULL and *err = -errno on failure.
 */
char *kap_read_file(const char *path, size_t max, size_t *lenp, int *err)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t n;
	int fd;

	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	if (fd < 0) {
		*err = -errno;
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			char *bigger;

			if (cap >= max) {
				*err = -EFBIG;
				goto fail;
			}
			cap *= 2;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				*err = -ENOMEM;
				goto fail;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = -errno;
			goto fail;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	*err = 0;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/*
 * Before writing rel (a path in the sysfs dir): the module is loaded, has
 * the file and this user may write it.  Says what is wrong and returns -1.
 */
int kap_need_writable(const char *rel, const char *what)
{
	char path[512];

	if (kap_need_module())
		return -1;
	snprintf(path, sizeof(path), "%s/%s", kap_sysfs_dir(), rel);
	if (access(path, F_OK)) {
		kap_err("this kapolicy module has no %s (%s is missing); update the module",
			what, path);
		return -1;
	}
	if (access(path, W_OK)) {
		if (errno == EACCES || errno == EPERM)
			kap_err("permission denied: changing the %s needs root (%s is writable by root only)",
				what, path);
		else
			kap_err("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int kap_need_control(void)
{
	return kap_need_writable("control", "policy table");
}

/*
 * Writes buf to rel in one write(2); returns 0 or the kernel's -errno.
 * append: O_APPEND instead of O_TRUNC (sysfs ignores both; a plain file in
 * the tests' fake tree keeps every command, or only the last value).
 */
int kap_sysfs_write(const char *rel, const char *buf, size_t len, bool append)
{
	char path[512];
	ssize_t n;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", kap_sysfs_dir(), rel);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/*
 * Writes one command to the control file in one write(2); returns 0 or the
 * kernel's -errno.  A newline ends it when it fits within the 1024 bytes
 * the kernel takes (the newline counts); O_APPEND leaves a plain file (the
 * tests' fake control) with every command written, one per line.
 */
int kap_control_write(const char *cmd)
{
	char line[KAP_LINE_MAX + 1];
	size_t len;

	len = strlen(cmd);
	if (len > KAP_LINE_MAX)
		return -E2BIG;
	memcpy(line, cmd, len);
	if (len < KAP_LINE_MAX)
		line[len++] = '\n';
	return kap_sysfs_write("control", line, len, true);
}
