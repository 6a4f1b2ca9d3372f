// SPDX-License-Identifier: GPL-2.0
/*
 * Policy words between the operator and the kernel.
 *
 * kapctl takes conveniences the kernel does not: cgroup=PATH (a cgroup v2
 * directory, absolute, relative to the cgroup2 mount, or as
 * /proc/PID/cgroup prints it) for cgroup=ID, netns=NAME (/run/netns/NAME)
 * or netns=PATH (/proc/PID/ns/net) for the namespace's cookie, TCP service
 * names (lport=postgresql, rport=http-https) for port numbers, durations
 * with units (idle=5m), and two keys of its own: unit=NAME (a systemd
 * unit: its cgroup=ID) and preset=NAME (the timing for a middlebox's idle
 * timeout: idle intvl cnt user_timeout keepalive).  All are turned into
 * the kernel's form first; then the whole command goes through the
 * module's own parser (module/parse.c, compiled in), so that anything
 * kapctl lets through is exactly what the kernel accepts, and a refusal
 * carries the parser's message: field, quoted value, allowed range.
 *
 * Also here: the policies as sysfs shows them (policies/NAME/{spec,order,
 * stats/}), read and parsed back with the same parser.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/nsfs.h>

#include "kapctl.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE		71
#endif

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

/* What kapctl takes for a port beyond the parser's P or P-Q */
#define KAP_PORTS_NAMES		"or a TCP service name (/etc/services)"
#define KAP_PORTS_ALLOWED	"P or P-Q with 1 <= P <= Q <= 65535, " KAP_PORTS_NAMES

/* Where cgroup v2 is mounted: the first cgroup2 line of mountinfo. */
static const char *kap_cgroup_root(void)
{
	static char root[512];
	char line[4096];
	FILE *f;

	if (root[0])
		return root;
	snprintf(root, sizeof(root), "/sys/fs/cgroup");
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return root;
	while (fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE ... */
		char *sep = strstr(line, " - "), mnt[512];

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(root, sizeof(root), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return root;
}

static bool kap_all_digits(const char *s, const char *also)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !(also && strchr(also, *s)))
			return false;
	return true;
}

/* A cgroup v2 directory's id: its inode number. */
static int kap_cgroup_dir(const char *path, uint64_t *id, bool *other_fs)
{
	struct statfs sfs;
	struct stat st;

	*other_fs = false;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC) {
		*other_fs = true;
		return -EINVAL;
	}
	*id = st.st_ino;
	return 0;
}

/*
 * A cgroup path's id: "/a/b" is taken as it is if it is a cgroup v2
 * directory, else under the cgroup2 mount (the form of /proc/PID/cgroup:
 * "/" is the root cgroup); "a/b" is under the mount.  Returns 0 or -errno
 * of the path as given (*other: it is not on cgroup2).
 */
static int kap_cgroup_lookup(const char *value, uint64_t *id, bool *other)
{
	const char *root = kap_cgroup_root();
	char path[4096];
	int ret;

	if (value[0] == '/') {
		ret = kap_cgroup_dir(value, id, other);
		if (ret) {
			bool first_other = *other;
			int first = ret;

			snprintf(path, sizeof(path), "%s%s", root, value);
			ret = kap_cgroup_dir(path, id, other);
			if (ret == -ENOENT) {	/* say what the path as given is */
				ret = first;
				*other = first_other;
			}
		}
	} else {
		snprintf(path, sizeof(path), "%s/%s", root, value);
		ret = kap_cgroup_dir(path, id, other);
	}
	return ret;
}

/* cgroup=VALUE: a number is left to the parser; a path is resolved to its id. */
int kap_resolve_cgroup(const char *value, uint64_t *id, char *err, size_t errlen)
{
	const char *root = kap_cgroup_root();
	bool other = false;
	int ret;

	if (!*value) {
		snprintf(err, errlen, "cgroup: '' is empty; allowed: a cgroup v2 id or a directory under %s (/ for the root)",
			 root);
		return -EINVAL;
	}
	ret = kap_cgroup_lookup(value, id, &other);
	if (!ret)
		return 0;
	if (other)
		snprintf(err, errlen, "cgroup: '%s' is not a cgroup v2 directory; "
			 "allowed: a cgroup v2 id or a directory under %s", value, root);
	else
		snprintf(err, errlen, "cgroup: '%s' %s; allowed: a cgroup v2 id or a directory under %s",
			 value, ret == -ENOENT ? "does not exist" :
			 ret == -ENOTDIR ? "is not a directory" : strerror(-ret), root);
	return -EINVAL;
}

/* The cookie of the network namespace this process is in. */
int kap_netns_cookie_self(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, ret = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * The cookie of the network namespace behind an nsfs file: a child enters
 * it and asks a socket there (the cookie is what policies match: unlike
 * the inode number, the kernel never gives it to another namespace).
 */
static int kap_netns_cookie_of(int nsfd, uint64_t *cookie)
{
	int pipefd[2], status, ret;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return ret;
	}
	if (!pid) {
		uint64_t c = 0;

		close(pipefd[0]);
		if (setns(nsfd, CLONE_NEWNET))
			_exit(errno);
		ret = kap_netns_cookie_self(&c);
		if (ret)
			_exit(-ret);
		_exit(write(pipefd[1], &c, sizeof(c)) == sizeof(c) ? 0 : EIO);
	}
	close(pipefd[1]);
	n = read(pipefd[0], cookie, sizeof(*cookie));
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -EINTR;
	if (WEXITSTATUS(status))
		return -WEXITSTATUS(status);
	return n == sizeof(*cookie) ? 0 : -EIO;
}

/*
 * --netns of watch and sockets: a name (/run/netns), an nsfs path, or (for
 * watch, whose events name namespaces so) an inode number.  *fd (if fd)
 * gets the namespace open, to enter it.
 */
int kap_resolve_netns_inode(const char *value, bool number_ok, uint64_t *ino, int *fd,
			    char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	int nsfd;

	if (number_ok && kap_all_digits(value, NULL)) {
		*ino = strtoull(value, NULL, 10);
		if (fd)
			*fd = -1;
		return 0;
	}
	if (strchr(value, '/'))
		snprintf(path, sizeof(path), "%s", value);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", value);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || fstat(nsfd, &st) || ioctl(nsfd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		snprintf(err, errlen, "netns: '%s' %s; allowed: a namespace name (/run/netns), an nsfs path (/proc/PID/ns/net)%s",
			 value, nsfd < 0 && errno == ENOENT ? "does not exist" :
			 "is not a network namespace", number_ok ? " or an inode number" : "");
		if (nsfd >= 0)
			close(nsfd);
		return -EINVAL;
	}
	*ino = st.st_ino;
	if (fd)
		*fd = nsfd;
	else
		close(nsfd);
	return 0;
}

/*
 * netns=VALUE: a number is left to the parser (a cookie); a path is an
 * nsfs file (/proc/PID/ns/net, /run/netns/NAME); anything else a name
 * under /run/netns, as ip-netns(8) names them.
 */
int kap_resolve_netns(const char *value, uint64_t *cookie, char *err, size_t errlen)
{
	char path[4096];
	int fd, ret;

	if (strchr(value, '/'))
		snprintf(path, sizeof(path), "%s", value);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", value);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "netns: '%s' %s; allowed: a namespace name (/run/netns), an nsfs path (/proc/PID/ns/net) or a namespace cookie",
			 value, ret == -ENOENT ? "does not exist" : strerror(-ret));
		return -EINVAL;
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		snprintf(err, errlen, "netns: '%s' is not a network namespace; allowed: a namespace name (/run/netns), an nsfs path (/proc/PID/ns/net) or a namespace cookie",
			 value);
		return -EINVAL;
	}
	ret = kap_netns_cookie_of(fd, cookie);
	close(fd);
	if (ret) {
		snprintf(err, errlen, "netns: cannot enter '%s' to read its cookie: %s",
			 value, strerror(-ret));
		return -EINVAL;
	}
	return 0;
}

/* One end of a port range into out: digits as they are, a service name as its port. */
static bool kap_port_word(const char *s, size_t len, char *out, size_t size)
{
	char name[256];
	struct servent *se;

	if (!len || len >= sizeof(name))
		return false;
	memcpy(name, s, len);
	name[len] = '\0';
	if (kap_all_digits(name, NULL)) {
		snprintf(out, size, "%s", name);
		return true;
	}
	se = getservbyname(name, "tcp");
	if (!se)
		return false;
	snprintf(out, size, "%u", ntohs((uint16_t)se->s_port));
	return true;
}

/*
 * lport=/rport=VALUE with service names: "postgresql", "http-https".
 * Writes VALUE with each name replaced by its port into out, for the
 * parser to check as numbers; returns 0, or -EINVAL (with err) when a
 * word is neither digits nor a service.  Service names may contain '-':
 * the whole value is tried first, then each dash as the range's separator.
 */
static int kap_resolve_ports(const char *key, const char *value, char *out, size_t size,
			     char *err, size_t errlen)
{
	size_t len = strlen(value), i;
	char a[256], b[256];

	if (kap_all_digits(value, "-")) {
		snprintf(out, size, "%s", value);
		return 0;
	}
	if (kap_port_word(value, len, a, sizeof(a))) {
		snprintf(out, size, "%s", a);
		return 0;
	}
	for (i = 1; i + 1 < len; i++) {
		if (value[i] != '-')
			continue;
		if (kap_port_word(value, i, a, sizeof(a)) &&
		    kap_port_word(value + i + 1, len - i - 1, b, sizeof(b))) {
			if (!strcmp(a, b))
				snprintf(out, size, "%s", a);
			else
				snprintf(out, size, "%s-%s", a, b);
			return 0;
		}
	}
	snprintf(err, errlen, "%s: '%.40s%s' is not a port, port range or TCP service name; allowed: %s",
		 key, value, len > 40 ? "..." : "", KAP_PORTS_ALLOWED);
	return -EINVAL;
}

/* ---- presets: keepalive timing for a middlebox's idle timeout ------------ */

/*
 * The middleboxes' TCP idle timeouts, as their vendors document them (the
 * defaults: where one is configured otherwise, use timeout:SECONDS).
 */
const struct kap_preset kap_presets[] = {
	{ "aws-nlb", 350, "AWS Network Load Balancer: TCP idle timeout 350 s" },
	{ "aws-nat", 350, "AWS NAT gateway: idle timeout 350 s" },
	{ "azure-lb", 240, "Azure Load Balancer: default idle timeout 4 min" },
	{ "gcp-firewall", 600, "GCP VPC firewall rules: connection tracking, 10 min idle" },
	{ "gcp-nat", 1200, "GCP Cloud NAT: TCP established idle timeout 1200 s" },
	{ "ipvs", 900, "Linux IPVS: TCP established timeout 900 s (ipvsadm --set)" },
	{ "conntrack", 0, "net.netfilter.nf_conntrack_tcp_timeout_established here (default 432000 s)" },
	{ NULL }
};

#define KAP_PRESET_NAMES	"aws-nlb aws-nat azure-lb gcp-firewall gcp-nat ipvs conntrack timeout:SECONDS"
#define KAP_PRESET_RANGE	"timeout:SECONDS with 10-86400 seconds, a number or with units (350, 5m50s)"
#define KAP_CONNTRACK_FILE	"/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"

/* Where the conntrack preset reads its timeout: KAPCTL_CONNTRACK_TIMEOUT_FILE for tests. */
static const char *kap_conntrack_timeout_file(void)
{
	const char *env = getenv("KAPCTL_CONNTRACK_TIMEOUT_FILE");

	return env && *env ? env : KAP_CONNTRACK_FILE;
}

static unsigned int kap_clamp_seconds(uint64_t s)
{
	return s < 1 ? 1 : s > KAP_SECONDS_MAX ? KAP_SECONDS_MAX : (unsigned int)s;
}

/*
 * The timing for a middlebox timeout t: the first probe at t/2, so that
 * one lost probe is retried before the flow is forgotten; then cnt probes
 * t/10 apart, so that a dead peer is found about t after the last data.
 * (kapctl doctor uses it for timeouts below timeout:'s 10 s too.)
 */
void kap_preset_timing(uint64_t t, struct kap_preset_values *v)
{
	v->timeout = t;
	v->idle = kap_clamp_seconds(t / 2);
	v->intvl = kap_clamp_seconds(t / 10);
	v->cnt = KAP_PRESET_CNT;
}

/* The established-TCP timeout of nf_conntrack, in kapctl's network namespace. */
static int kap_conntrack_timeout(uint64_t *t, char *err, size_t errlen)
{
	const char *path = kap_conntrack_timeout_file();
	char buf[64], q[80];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "preset: 'conntrack' cannot read %s: %s (is nf_conntrack loaded? else use preset=timeout:SECONDS)",
			 path, strerror(errno));
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		snprintf(err, errlen, "preset: 'conntrack' cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -EINVAL;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!kap_all_digits(buf, NULL) || strlen(buf) > 12) {
		snprintf(err, errlen, "preset: 'conntrack': %s holds '%s', not a number of seconds",
			 path, kap_quote(buf, q, sizeof(q)));
		return -EINVAL;
	}
	*t = strtoull(buf, NULL, 10);
	if (*t < KAP_PRESET_TIMEOUT_MIN) {
		snprintf(err, errlen, "preset: 'conntrack': %s is %" PRIu64 " s, out of range; allowed: %d or more seconds",
			 path, *t, KAP_PRESET_TIMEOUT_MIN);
		return -EINVAL;
	}
	return 0;
}

/* preset=VALUE: a name of kap_presets, or timeout:SECONDS; into v. */
int kap_preset_resolve(const char *value, struct kap_preset_values *v, char *err,
		       size_t errlen)
{
	const struct kap_preset *p;
	char q[80];
	uint64_t t;
	int ret;

	memset(v, 0, sizeof(*v));
	if (!strncmp(value, "timeout:", 8)) {
		ret = kap_parse_duration(value + 8, 1000, &t);
		if (ret == -EINVAL) {
			snprintf(err, errlen, "preset: '%s' is not a duration; allowed: " KAP_PRESET_RANGE,
				 kap_quote(value, q, sizeof(q)));
			return -EINVAL;
		}
		if (ret || t < KAP_PRESET_TIMEOUT_MIN || t > KAP_PRESET_TIMEOUT_MAX) {
			uint64_t ms;

			snprintf(err, errlen, "preset: '%s' %s; allowed: " KAP_PRESET_RANGE,
				 kap_quote(value, q, sizeof(q)), ret && !kap_parse_duration(value + 8, 1, &ms) ?
				 "is not whole seconds" : "is out of range");
			return -EINVAL;
		}
		kap_preset_timing(t, v);
		return 0;
	}
	for (p = kap_presets; p->name; p++)
		if (!strcmp(p->name, value))
			break;
	if (!p->name) {
		snprintf(err, errlen, "preset: '%s' is not a preset; allowed: " KAP_PRESET_NAMES,
			 kap_quote(value, q, sizeof(q)));
		return -EINVAL;
	}
	t = p->timeout;
	if (!t && kap_conntrack_timeout(&t, err, errlen))
		return -EINVAL;
	kap_preset_timing(t, v);
	v->preset = p;
	return 0;
}

/*
 * A preset's keys, "idle=175 intvl=35 cnt=5 user_timeout=auto keepalive=on",
 * but those in skip (KAP_KEY_BIT()s: given explicitly); returns the length.
 */
int kap_preset_keys(const struct kap_preset_values *v, unsigned int skip, char *buf,
		    size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
#define KAP_ADD(k, ...)							\
	do {								\
		if (!(skip & KAP_KEY_BIT(k)) && n < size)		\
			n += snprintf(buf + n, size - n, __VA_ARGS__);	\
	} while (0)
	KAP_ADD(KAP_KEY_IDLE, "%sidle=%u", n ? " " : "", v->idle);
	KAP_ADD(KAP_KEY_INTVL, "%sintvl=%u", n ? " " : "", v->intvl);
	KAP_ADD(KAP_KEY_CNT, "%scnt=%u", n ? " " : "", v->cnt);
	KAP_ADD(KAP_KEY_USER_TIMEOUT, "%suser_timeout=auto", n ? " " : "");
	KAP_ADD(KAP_KEY_KEEPALIVE, "%skeepalive=on", n ? " " : "");
#undef KAP_ADD
	return n < size ? (int)n : (int)size - 1;
}

/* ---- unit=NAME: a systemd unit's cgroup ---------------------------------- */

#define KAP_UNIT_NAME_MAX	255	/* systemd's UNIT_NAME_MAX, its NUL not counted */
#define KAP_UNIT_ALLOWED	"a systemd unit name (nginx.service; nginx is nginx.service), " \
				"at most 255 characters from A-Z a-z 0-9 : - _ . \\ @"

/*
 * The unit's name as systemctl completes it: one without a unit type's
 * suffix gets ".service".  Characters outside systemd's set are refused,
 * not escaped: a path is cgroup=PATH's.
 */
static int kap_unit_name(const char *value, char *unit, size_t size, char *err, size_t errlen)
{
	static const char *const types[] = { "service", "socket", "target", "device", "mount",
					     "automount", "swap", "timer", "path", "slice",
					     "scope" };
	const char *dot = strrchr(value, '.'), *s;
	bool typed = false;
	char q[80];
	size_t i;

	for (s = value; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(":-_.\\@", *s))
			break;
	for (i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot + 1, types[i]))
			typed = true;
	if (!*value || *s || strlen(value) + (typed ? 0 : 8) > KAP_UNIT_NAME_MAX ||
	    strlen(value) + 9 > size) {
		snprintf(err, errlen, "unit: '%s' is not a unit name; allowed: " KAP_UNIT_ALLOWED,
			 kap_quote(value, q, sizeof(q)));
		return -EINVAL;
	}
	snprintf(unit, size, "%s%s", value, typed ? "" : ".service");
	return 0;
}

/* systemctl, or KAPCTL_SYSTEMCTL (for tests) */
static const char *kap_systemctl(void)
{
	const char *env = getenv("KAPCTL_SYSTEMCTL");

	return env && *env ? env : "systemctl";
}

/*
 * Runs "systemctl show --property=ControlGroup --value -- UNIT" (no shell;
 * the long form of -P, which systemd 246 added): its first line into out,
 * the first line of its errors into why.  Returns 0, -errno if it
 * could not run, or 1 if it failed (why says how).
 */
static int kap_systemctl_cgroup(const char *unit, char *out, size_t size, char *why,
				size_t whylen)
{
	char *argv[] = { (char *)kap_systemctl(), "show", "--property=ControlGroup", "--value",
			 "--", (char *)unit, NULL };
	posix_spawn_file_actions_t fa;
	struct pollfd pfd[2];
	char *buf[2] = { out, why };
	size_t len[2] = { 0, 0 }, cap[2] = { size - 1, whylen - 1 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, status, ret, i;
	pid_t pid;

	out[0] = why[0] = '\0';
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	ret = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (ret)
		goto out;

	/* both until their end: a full pipe would stop systemctl */
	pfd[0].fd = outp[0];
	pfd[1].fd = errp[0];
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			char chunk[512];
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			if ((size_t)n > cap[i] - len[i])
				n = cap[i] - len[i];
			memcpy(buf[i] + len[i], chunk, n);
			len[i] += n;
		}
	}
	out[len[0]] = '\0';
	why[len[1]] = '\0';
	out[strcspn(out, "\n")] = '\0';
	why[strcspn(why, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!why[0])
			snprintf(why, whylen, WIFEXITED(status) ? "exit status %d" : "killed by signal %d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		ret = 1;
	}
out:
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return ret;
}

/* unit=VALUE: the unit's cgroup as "cgroup=ID", into out. */
static int kap_resolve_unit(const char *value, char *out, size_t size, char *err,
			    size_t errlen)
{
	char unit[KAP_UNIT_NAME_MAX + 16], path[4096], why[256];
	bool other = false;
	uint64_t id;
	int ret;

	if (kap_unit_name(value, unit, sizeof(unit), err, errlen))
		return -EINVAL;
	ret = kap_systemctl_cgroup(unit, path, sizeof(path), why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "unit: '%s': cannot run %s: %s (unit= needs systemd; cgroup=PATH names a cgroup without it)",
			 unit, kap_systemctl(), strerror(-ret));
		return -EINVAL;
	}
	if (ret) {
		snprintf(err, errlen, "unit: '%s': systemctl show failed: %s", unit, why);
		return -EINVAL;
	}
	/* no cgroup: not running, or not known */
	if (!path[0]) {
		snprintf(err, errlen, "unit: '%s' has no cgroup (is it running? a policy names a running unit's cgroup)",
			 unit);
		return -EINVAL;
	}
	ret = kap_cgroup_lookup(path, &id, &other);
	if (ret) {
		char what[96];

		if (other)
			snprintf(what, sizeof(what), "is not a cgroup v2 directory");
		else if (ret == -ENOENT)
			snprintf(what, sizeof(what), "does not exist");
		else
			snprintf(what, sizeof(what), "cannot be used (%s)", strerror(-ret));
		snprintf(err, errlen, "unit: '%s' has cgroup '%s', which %s under %s%s", unit, path,
			 what, kap_cgroup_root(), ret == -ENOENT ? " (did it just stop?)" : "");
		return -EINVAL;
	}
	snprintf(out, size, "cgroup=%" PRIu64, id);
	return 0;
}

/* One KEY=VALUE word in the kernel's form, into out. */
static int kap_resolve_word(const char *w, char *out, size_t size, char *err,
			    size_t errlen)
{
	const char *eq = strchr(w, '=');
	size_t klen = eq ? (size_t)(eq - w) : 0;
	uint64_t id;

	if (eq && klen == 6 && !strncmp(w, "cgroup", 6) && eq[1] &&
	    !kap_all_digits(eq + 1, NULL)) {
		if (kap_resolve_cgroup(eq + 1, &id, err, errlen))
			return -EINVAL;
		snprintf(out, size, "cgroup=%" PRIu64, id);
		return 0;
	}
	if (eq && eq[1] && !kap_all_digits(eq + 1, NULL) &&
	    strspn(eq + 1, "0123456789dhms") == strlen(eq + 1) &&
	    ((klen == 4 && !strncmp(w, "idle", 4)) || (klen == 5 && !strncmp(w, "intvl", 5)) ||
	     (klen == 12 && !strncmp(w, "user_timeout", 12) && strcmp(eq + 1, "auto")))) {
		uint64_t unit = klen == 12 ? 1 : 1000, v;
		int ret = kap_parse_duration(eq + 1, unit, &v);

		if (ret == -EINVAL) {
			snprintf(err, errlen, "%.*s: '%s' is not a duration; allowed: %s", (int)klen, w,
				 eq + 1, unit == 1 ? "1-2147483647 (ms) or auto, as a number or with units (30s, 2m, 1500ms)" :
				 "1-32767 (seconds), as a number or with units (90, 5m, 1h30m)");
			return -EINVAL;
		}
		if (ret == -ERANGE && unit != 1) {
			snprintf(err, errlen, "%.*s: '%s' is out of range; allowed: 1-32767 (seconds), in whole seconds",
				 (int)klen, w, eq + 1);
			return -EINVAL;
		}
		if (ret || v < 1 || v > (unit == 1 ? KAP_USER_TIMEOUT_MAX : KAP_SECONDS_MAX)) {
			snprintf(err, errlen, "%.*s: '%s' is out of range; allowed: %s", (int)klen, w,
				 eq + 1, unit == 1 ? "1-2147483647 (ms) or auto" : "1-32767 (seconds)");
			return -EINVAL;
		}
		snprintf(out, size, "%.*s=%" PRIu64, (int)klen, w, v);
		return 0;
	}
	/*
	 * A number in nsfs's inode range (from 0xF0000000, PROC_DYNAMIC_FIRST)
	 * is most likely the inode an older kapolicy took: say so, as cookies
	 * count up from 1.
	 */
	if (eq && klen == 5 && !strncmp(w, "netns", 5) && kap_all_digits(eq + 1, NULL) &&
	    strtoull(eq + 1, NULL, 10) >= 0xF0000000ULL)
		kap_warn("netns: '%s' looks like a namespace inode number; a netns policy names the namespace's cookie (netns=NAME or netns=/proc/PID/ns/net give it)",
			 eq + 1);
	if (eq && klen == 5 && !strncmp(w, "netns", 5) && eq[1] &&
	    !kap_all_digits(eq + 1, NULL)) {
		if (kap_resolve_netns(eq + 1, &id, err, errlen))
			return -EINVAL;
		snprintf(out, size, "netns=%" PRIu64, id);
		return 0;
	}
	if (eq && klen == 5 && (!strncmp(w, "lport", 5) || !strncmp(w, "rport", 5)) &&
	    eq[1]) {
		char key[6];

		memcpy(key, w, 5);
		key[5] = '\0';
		snprintf(out, size, "%s=", key);
		return kap_resolve_ports(key, eq + 1, out + klen + 1, size - klen - 1, err,
					 errlen);
	}
	snprintf(out, size, "%s", w);
	return 0;
}

/* w is "key=..." */
static bool kap_key_is(const char *w, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(w, key, n) && w[n] == '=';
}

#define KAP_SPACE	" \t\n\v\f\r"

/*
 * "add NAME" + the words of spec (separated by any white space), resolved
 * and validated by the module's parser.  On success cmd holds the command
 * to write and c its parsed form; on failure err holds one line and the
 * return is a negative errno.
 *
 * kapctl's own keys become the kernel's here: preset=NAME its keys, where
 * it stands, but for the keys given explicitly (wherever they stand: they
 * win); unit=NAME the unit's cgroup=ID.
 */
int kap_build_add(const char *name, char **words, int n, char *cmd, size_t size,
		  struct kap_command *c, char *err, size_t errlen)
{
	static const enum kap_key actions[] = { KAP_KEY_IDLE, KAP_KEY_INTVL, KAP_KEY_CNT,
						KAP_KEY_USER_TIMEOUT, KAP_KEY_KEEPALIVE };
	struct kap_preset_values pv;
	struct kap_parse_error e;
	char *all = NULL, **w = NULL, *save = NULL, *t;
	int i, k, nw = 0, preset = -1, unit = -1, cgroup = -1, ret = -ENOMEM;
	size_t len, total, alen = 0;
	unsigned int given = 0;

	/* all the words, split at white space */
	for (i = 0; i < n; i++)
		alen += strlen(words[i]) + 1;
	all = malloc(alen + 1);
	w = calloc(alen / 2 + 2, sizeof(*w));
	if (!all || !w) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	all[0] = '\0';
	for (i = 0, len = 0; i < n; i++)
		len += sprintf(all + len, "%s ", words[i]);
	for (t = strtok_r(all, KAP_SPACE, &save); t; t = strtok_r(NULL, KAP_SPACE, &save))
		w[nw++] = t;

	ret = -EINVAL;
	for (i = 0; i < nw; i++) {
		if (strlen(w[i]) > KAP_LINE_MAX) {
			snprintf(err, errlen, "policy: '%s' has a word of %zu bytes; allowed: at most %d bytes in all",
				 name, strlen(w[i]), KAP_LINE_MAX);
			goto out;
		}
		if (kap_key_is(w[i], "preset")) {
			if (preset >= 0) {
				snprintf(err, errlen, "preset: is given twice; allowed: one preset per policy");
				goto out;
			}
			preset = i;
		} else if (kap_key_is(w[i], "unit")) {
			if (unit >= 0) {
				snprintf(err, errlen, "unit: is given twice; allowed: each key once");
				goto out;
			}
			unit = i;
		} else if (kap_key_is(w[i], "cgroup")) {
			cgroup = i;
		}
		for (k = 0; k < (int)ARRAY_SIZE(actions); k++)
			if (kap_key_is(w[i], kap_key_name(actions[k])))
				given |= KAP_KEY_BIT(actions[k]);
	}
	if (unit >= 0 && cgroup >= 0) {
		snprintf(err, errlen, "unit: '%s' is given with cgroup=; allowed: one of unit=NAME and cgroup=ID|PATH",
			 w[unit] + 5);
		goto out;
	}

	total = len = snprintf(cmd, size, "add %s", name);
	for (i = 0; i < nw; i++) {
		char word[KAP_LINE_MAX + 2];

		if (i == preset) {
			if (kap_preset_resolve(w[i] + 7, &pv, err, errlen))
				goto out;
			if (!kap_preset_keys(&pv, given, word, sizeof(word)))
				continue;	/* every one given explicitly */
		} else if (i == unit) {
			if (kap_resolve_unit(w[i] + 5, word, sizeof(word), err, errlen))
				goto out;
		} else if (kap_resolve_word(w[i], word, sizeof(word), err, errlen)) {
			goto out;
		}
		total += 1 + strlen(word);
		if (len < size)
			len += snprintf(cmd + len, size - len, " %s", word);
	}
	if (total > KAP_LINE_MAX) {
		snprintf(err, errlen, "policy: '%s' is %zu bytes as a control command; allowed: at most %d",
			 name, total, KAP_LINE_MAX);
		goto out;
	}
	ret = kap_parse_command(cmd, strlen(cmd), c, &e);
	if (ret)
		snprintf(err, errlen, "%s", e.msg);
out:
	free(all);
	free(w);
	return ret;
}

/*
 * Why the kernel refused a command, in words: "policy 'pg' already
 * exists", "cannot add policy 'pg': the policy table is full ...".
 */
void kap_control_refusal(const struct kap_command *c, int err, char *msg, size_t len)
{
	const char *why = NULL;
	char what[96], buf[160];

	switch (c->op) {
	case KAP_OP_ADD:
		snprintf(what, sizeof(what), "add policy '%s'", c->name);
		break;
	case KAP_OP_DEL:
		snprintf(what, sizeof(what), "delete policy '%s'", c->name);
		break;
	case KAP_OP_MOVE:
		snprintf(what, sizeof(what), "move policy '%s'", c->name);
		break;
	case KAP_OP_FLUSH:
		snprintf(what, sizeof(what), "flush the policies");
		break;
	case KAP_OP_BEGIN:
		snprintf(what, sizeof(what), "begin a transaction");
		break;
	case KAP_OP_COMMIT:
		snprintf(what, sizeof(what), "commit the transaction");
		break;
	default:
		snprintf(what, sizeof(what), "abort the transaction");
		break;
	}

	switch (-err) {
	case EEXIST:
		if (c->op == KAP_OP_ADD) {
			snprintf(msg, len, "policy '%s' already exists", c->name);
			return;
		}
		break;
	case ENOENT:
		if (c->op == KAP_OP_ADD && (c->spec.keys & KAP_KEY_BIT(KAP_KEY_CGROUP))) {
			snprintf(buf, sizeof(buf), "no cgroup with id %llu exists",
				 (unsigned long long)c->spec.cgroup);
			why = buf;
		} else if (c->op == KAP_OP_DEL || c->op == KAP_OP_MOVE) {
			snprintf(msg, len, "policy '%s' does not exist", c->name);
			return;
		} else if (c->op == KAP_OP_COMMIT || c->op == KAP_OP_ABORT) {
			why = "no transaction is open";
		}
		break;
	case ENOSPC:
		if (c->op == KAP_OP_ADD)
			why = "the policy table is full (module parameter max_policies) or its port index would exceed its bound";
		else if (c->op == KAP_OP_COMMIT)
			why = "the new table's port index would exceed its bound (too many overlapping port ranges)";
		break;
	case EBUSY:
		why = "another process has a policy transaction open; try again when it has finished";
		break;
	case EACCES:
	case EPERM:
		why = "permission denied: only root changes policies";
		break;
	case EINVAL:
	case ERANGE:
		snprintf(buf, sizeof(buf), "the module refused it as malformed (%s); are kapctl and the module the same version?",
			 strerror(-err));
		why = buf;
		break;
	case ENODEV:
		why = "the module is being unloaded";
		break;
	case ENOMEM:
		why = "the kernel is out of memory";
		break;
	}
	if (!why) {
		snprintf(buf, sizeof(buf), "%s", strerror(-err));
		why = buf;
	}
	snprintf(msg, len, "cannot %s: %s", what, why);
}

static void kap_range_out(const char *key, const struct kap_port_range *r)
{
	kap_open_object(key);
	kap_print_i64(KAP_PR_JSON, "from", NULL, r->lo);
	kap_print_i64(KAP_PR_JSON, "to", NULL, r->hi);
	kap_close_object();
}

/* JSON only: a spec's keys, the keys given, with typed values, under key. */
void kap_spec_out(const char *key, const struct kap_spec *s)
{
	kap_open_object(key);
#define KAP_HAS(k)	(s->keys & KAP_KEY_BIT(k))
	if (KAP_HAS(KAP_KEY_FAMILY))
		kap_print_i64(KAP_PR_JSON, "family", NULL, s->family);
	if (KAP_HAS(KAP_KEY_LPORT))
		kap_range_out("lport", &s->lport);
	if (KAP_HAS(KAP_KEY_RPORT))
		kap_range_out("rport", &s->rport);
	if (KAP_HAS(KAP_KEY_CGROUP))
		kap_print_u64(KAP_PR_JSON, "cgroup", NULL, s->cgroup);
	if (KAP_HAS(KAP_KEY_NETNS))
		kap_print_u64(KAP_PR_JSON, "netns", NULL, s->netns);
	if (KAP_HAS(KAP_KEY_IDLE))
		kap_print_i64(KAP_PR_JSON, "idle", NULL, s->idle);
	if (KAP_HAS(KAP_KEY_INTVL))
		kap_print_i64(KAP_PR_JSON, "intvl", NULL, s->intvl);
	if (KAP_HAS(KAP_KEY_CNT))
		kap_print_i64(KAP_PR_JSON, "cnt", NULL, s->cnt);
	if (KAP_HAS(KAP_KEY_USER_TIMEOUT) && s->user_timeout_auto)
		kap_print_str(KAP_PR_JSON, "user_timeout", NULL, "auto");
	else if (KAP_HAS(KAP_KEY_USER_TIMEOUT))
		kap_print_i64(KAP_PR_JSON, "user_timeout", NULL, s->user_timeout);
	if (KAP_HAS(KAP_KEY_KEEPALIVE))
		kap_print_bool(KAP_PR_JSON, "keepalive", NULL, true);
	kap_print_str(KAP_PR_JSON, "mode", NULL, s->mode == KAP_MODE_OVERRIDE ? "override" : "fill");
	if (KAP_HAS(KAP_KEY_ORDER))
		kap_print_i64(KAP_PR_JSON, "order", NULL, s->order);
#undef KAP_HAS
	kap_close_object();
}

static int kap_policy_cmp(const void *a, const void *b)
{
	const struct kap_policy_info *x = a, *y = b;

	if (x->order != y->order) {
		if (x->order < 0)
			return 1;
		if (y->order < 0)
			return -1;
		return x->order < y->order ? -1 : 1;
	}
	return strcmp(x->name, y->name);
}

/*
 * The policies of the module, in match order.  Returns 0, or -errno when
 * the policies directory cannot be read (-ENOENT: a module without a
 * policy table).  A policy deleted while it is read is left out.
 */
int kap_policies_load(struct kap_policy_info **out, size_t *n)
{
	struct kap_policy_info *p = NULL, *bigger;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	char path[512];
	DIR *d;

	snprintf(path, sizeof(path), "%s/policies", kap_sysfs_dir());
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct kap_policy_info *pi;
		struct kap_parse_error e;
		char rel[512], buf[32];

		if (de->d_name[0] == '.' || !kap_name_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			bigger = realloc(p, cap * sizeof(*p));
			if (!bigger) {
				free(p);
				closedir(d);
				return -ENOMEM;
			}
			p = bigger;
		}
		pi = &p[cnt];
		memset(pi, 0, sizeof(*pi));
		snprintf(pi->name, sizeof(pi->name), "%.*s", (int)sizeof(pi->name) - 1, de->d_name);
		snprintf(rel, sizeof(rel), "policies/%s/spec", pi->name);
		if (kap_sysfs_read(rel, pi->spec_text, sizeof(pi->spec_text)) < 0)
			continue;	/* deleted meanwhile */
		pi->spec_ok = !kap_parse_spec(pi->spec_text, strlen(pi->spec_text),
					      &pi->spec, &e);
		snprintf(rel, sizeof(rel), "policies/%s/order", pi->name);
		pi->order = -1;
		if (kap_sysfs_read(rel, buf, sizeof(buf)) > 0 && kap_all_digits(buf, NULL))
			pi->order = strtol(buf, NULL, 10);
		snprintf(rel, sizeof(rel), "policies/%s/stats", pi->name);
		kap_sysfs_read_counters(rel, &pi->stats);
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(p, cnt, sizeof(*p), kap_policy_cmp);
	*out = p;
	*n = cnt;
	return 0;
}

struct kap_policy_info *kap_policy_find(struct kap_policy_info *p, size_t n,
					const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return &p[i];
	return NULL;
}

/*
 * A --port filter: P, P-Q or a service name ("--port postgresql"),
 * checked by the module's parser as lport= and rport= are; its message
 * names the service names too.  Returns 0 or -EINVAL (err set).
 */
int kap_port_filter(const char *opt, const char *value, unsigned int *lo,
		    unsigned int *hi, char *err, size_t errlen)
{
	struct kap_parse_error e;
	struct kap_port_range r;
	char ports[600];

	if (kap_resolve_ports(opt, value, ports, sizeof(ports), err, errlen))
		return -EINVAL;
	if (kap_parse_ports(opt, ports, strlen(ports), &r, &e)) {
		snprintf(err, errlen, "%s, " KAP_PORTS_NAMES, e.msg);
		return -EINVAL;
	}
	*lo = r.lo;
	*hi = r.hi;
	return 0;
}

/*
 * A policy name given as an argument or option; with none_ok also "-"
 * (no policy).  Returns 0 or -EINVAL (err set).
 */
/* value for a one-line message: control bytes as C escapes, at most 64 */
const char *kap_quote(const char *value, char *buf, size_t size)
{
	size_t n = 0;

	for (; *value && n + 5 < size && n < 64; value++) {
		unsigned char ch = *value;

		if (ch == '\n')
			n += snprintf(buf + n, size - n, "\\n");
		else if (ch == '\t')
			n += snprintf(buf + n, size - n, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			n += snprintf(buf + n, size - n, "\\x%02x", ch);
		else
			buf[n++] = ch;
	}
	if (*value && n + 4 < size)
		n += snprintf(buf + n, size - n, "...");
	buf[n] = '\0';
	return buf;
}

int kap_name_opt(const char *opt, const char *value, bool none_ok, char *err, size_t errlen)
{
	char q[80];

	if ((none_ok && !strcmp(value, "-")) || kap_name_valid(value, strlen(value)))
		return 0;
	snprintf(err, errlen, "%s: '%s' is not a valid name; allowed: 1-31 characters from A-Z a-z 0-9 _ -%s",
		 opt, kap_quote(value, q, sizeof(q)), none_ok ? ", or '-' for none" : "");
	return -EINVAL;
}

/*
 * A duration as people write it: a number of unit_ms each ("300"), or
 * numbers with units, largest first, each unit once: "5m", "1h30m",
 * "2m30s", "500ms".  Returns 0 and *out in unit_ms, -EINVAL if it is not
 * one, -ERANGE if it is not a whole number of unit_ms or overflows.
 */
int kap_parse_duration(const char *s, uint64_t unit_ms, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = { { "d", 86400000 }, { "h", 3600000 }, { "ms", 1 }, { "m", 60000 },
		      { "s", 1000 } };
	static const int rank[] = { 0, 1, 4, 2, 3 };	/* d h m s ms */
	uint64_t total = 0, n;
	int last = -1, u;

	if (kap_all_digits(s, NULL)) {
		errno = 0;
		*out = strtoull(s, NULL, 10);
		return errno ? -ERANGE : 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		n = 0;
		for (; isdigit((unsigned char)*s); s++) {
			if (n > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (*s - '0');
		}
		for (u = 0; u < (int)ARRAY_SIZE(units); u++)
			if (!strncmp(s, units[u].name, strlen(units[u].name)))
				break;	/* "ms" is tried before "m" */
		if (u == (int)ARRAY_SIZE(units) || rank[u] <= last)
			return -EINVAL;
		last = rank[u];
		s += strlen(units[u].name);
		if (n && units[u].ms > UINT64_MAX / n)
			return -ERANGE;
		if (total > UINT64_MAX - n * units[u].ms)
			return -ERANGE;
		total += n * units[u].ms;
	}
	if (total % unit_ms)
		return -ERANGE;
	*out = total / unit_ms;
	return 0;
}

/* A decimal number of an option in [min, max], or -EINVAL with err set. */
int kap_number_opt(const char *opt, const char *value, uint64_t min, uint64_t max,
		   const char *unit, uint64_t *out, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	if (!kap_all_digits(value, NULL)) {
		snprintf(err, errlen, "%s: '%s' is not a number; allowed: %" PRIu64 "-%" PRIu64 "%s",
			 opt, value, min, max, unit);
		return -EINVAL;
	}
	*out = strtoull(value, &end, 10);
	if (errno || *out < min || *out > max) {
		snprintf(err, errlen, "%s: '%s' is out of range; allowed: %" PRIu64 "-%" PRIu64 "%s",
			 opt, value, min, max, unit);
		return -EINVAL;
	}
	return 0;
}

/* An option's duration in seconds ("300", "5m", "1h30m") in [min, max]. */
int kap_duration_opt(const char *opt, const char *value, uint64_t min, uint64_t max,
		     uint64_t *out, char *err, size_t errlen)
{
	int ret = kap_parse_duration(value, 1000, out);

	if (ret == -EINVAL) {
		snprintf(err, errlen, "%s: '%s' is not a duration; allowed: %" PRIu64 "-%" PRIu64
			 " seconds, as a number or with units (90, 5m, 1h30m)", opt, value, min, max);
		return -EINVAL;
	}
	if (ret || *out < min || *out > max) {
		snprintf(err, errlen, "%s: '%s' is out of range; allowed: %" PRIu64 "-%" PRIu64
			 " seconds, as a number or with units (90, 5m, 1h30m)", opt, value, min, max);
		return -EINVAL;
	}
	return 0;
}

/* ---- the cgroup v2 tree: which cgroup is below which --------------------- */

static int kap_cg_cmp(const void *a, const void *b)
{
	const struct kap_cg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int kap_cg_add(struct kap_cgtree *t, uint64_t id, uint64_t parent)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct kap_cg *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].id = id;
	t->e[t->n].parent = parent;
	t->n++;
	return 0;
}

/* Depth-first under dirfd (closed here), whose id is self. */
static int kap_cg_walk(struct kap_cgtree *t, int dirfd, uint64_t self, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		int fd;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* removed meanwhile */
		if (fstat(fd, &st)) {
			close(fd);
			continue;
		}
		ret = kap_cg_add(t, st.st_ino, self);
		if (!ret && depth < 64)
			ret = kap_cg_walk(t, fd, st.st_ino, depth + 1);
		else
			close(fd);
	}
	closedir(d);
	return ret;
}

/* (Re)reads the tree under the cgroup2 mount. */
int kap_cgtree_load(struct kap_cgtree *t)
{
	struct stat st;
	int fd, ret;

	t->n = 0;
	fd = open(kap_cgroup_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = kap_cg_add(t, st.st_ino, 0);
	if (!ret)
		ret = kap_cg_walk(t, fd, st.st_ino, 0);
	else
		close(fd);
	if (t->n)
		qsort(t->e, t->n, sizeof(*t->e), kap_cg_cmp);
	t->loaded = !ret;
	return ret;
}

void kap_cgtree_free(struct kap_cgtree *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static const struct kap_cg *kap_cg_find(const struct kap_cgtree *t, uint64_t id)
{
	struct kap_cg key = { .id = id };

	return t->n ? bsearch(&key, t->e, t->n, sizeof(*t->e), kap_cg_cmp) : NULL;
}

/*
 * 1 if cgroup id is ancestor or below it, 0 if not, -1 if id is not in the
 * tree (a cgroup created after the tree was read: reload and ask again).
 */
int kap_cgroup_under(const struct kap_cgtree *t, uint64_t id, uint64_t ancestor)
{
	const struct kap_cg *c;
	int depth;

	if (id == ancestor)
		return 1;
	c = kap_cg_find(t, id);
	if (!c)
		return -1;
	for (depth = 0; c && depth < 128; depth++) {
		if (c->parent == ancestor)
			return 1;
		if (!c->parent)
			return 0;
		c = kap_cg_find(t, c->parent);
	}
	return 0;
}
