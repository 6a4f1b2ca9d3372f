// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the module's sysfs files (sysfs/ABI/sysfs-kernel-kapolicy).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kapctl.h"

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
