// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs surface seen through system calls, as any program sees it.
 *
 * Assumptions: runs as root in a VM where the module at $KAP_MODULE is built
 * for the running kernel and not loaded.  The fixture loads it with
 * finit_module(2) and removes it with delete_module(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define KAP_SYSFS "/sys/kernel/kapolicy"

static int load_module(const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(void)
{
	return syscall(__NR_delete_module, "kapolicy", O_NONBLOCK) ? -errno : 0;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

FIXTURE(kapolicy) {
	const char *module;
};

FIXTURE_SETUP(kapolicy)
{
	self->module = getenv("KAP_MODULE");
	if (!self->module)
		SKIP(return, "KAP_MODULE is not set");
	unload_module();
	ASSERT_EQ(0, load_module(self->module));
}

FIXTURE_TEARDOWN(kapolicy)
{
	if (self->module)
		unload_module();
}

TEST_F(kapolicy, version_is_semver)
{
	char buf[64];
	regex_t re;

	ASSERT_LT(0, read_file(KAP_SYSFS "/version", buf, sizeof(buf)));
	ASSERT_EQ(0, regcomp(&re, "^[0-9]+\\.[0-9]+\\.[0-9]+\n$", REG_EXTENDED));
	EXPECT_EQ(0, regexec(&re, buf, 0, NULL, 0)) {
		TH_LOG("version file holds \"%s\"", buf);
	}
	regfree(&re);
}

TEST_F(kapolicy, version_is_read_only)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(KAP_SYSFS "/version", &st));
	EXPECT_EQ(0444U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	fd = open(KAP_SYSFS "/version", O_WRONLY);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EACCES, errno);
	if (fd >= 0)
		close(fd);
}

TEST_F(kapolicy, version_reads_at_offsets)
{
	char whole[64], part[64];
	ssize_t n;
	int fd;

	ASSERT_LT(2, read_file(KAP_SYSFS "/version", whole, sizeof(whole)));
	fd = open(KAP_SYSFS "/version", O_RDONLY);
	ASSERT_LE(0, fd);
	n = pread(fd, part, sizeof(part) - 1, 2);
	ASSERT_EQ((ssize_t)strlen(whole) - 2, n);
	part[n] = '\0';
	EXPECT_STREQ(whole + 2, part);
	close(fd);
}

TEST_F(kapolicy, second_load_is_refused)
{
	char buf[64];

	EXPECT_EQ(-EEXIST, load_module(self->module));
	EXPECT_LT(0, read_file(KAP_SYSFS "/version", buf, sizeof(buf)));
}

TEST_F(kapolicy, unload_removes_directory)
{
	struct stat st;

	ASSERT_EQ(0, stat(KAP_SYSFS, &st));
	ASSERT_EQ(0, unload_module());
	EXPECT_EQ(-1, stat(KAP_SYSFS, &st));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, load_module(self->module));
}

TEST_HARNESS_MAIN
