// SPDX-License-Identifier: GPL-2.0
/*
 * Many established, idle TCP connections for the benchmarks.
 *
 *   conns server ADDR PORT NPORTS
 *       listens on PORT .. PORT+NPORTS-1 and keeps every connection it
 *       accepts open until the client closes it (then closes its end),
 *       until killed
 *   conns client ADDR PORT NPORTS COUNT READY [IDLE INTVL CNT]
 *       opens COUNT connections spread over the ports, with SO_KEEPALIVE
 *       and the values given (seconds, probes) set before connect() if
 *       IDLE is given; writes the number connected to the file READY and
 *       holds them until killed
 *
 * Raises its open-file limit to what it needs (root).  IPv4 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void files(unsigned long n)
{
	struct rlimit rl = { .rlim_cur = n + 64, .rlim_max = n + 64 };

	if (!setrlimit(RLIMIT_NOFILE, &rl))
		return;
	/* not allowed (no CAP_SYS_RESOURCE): as many as the hard limit */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("conns: getrlimit(RLIMIT_NOFILE)");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("conns: setrlimit(RLIMIT_NOFILE)");
}

static void serve(struct sockaddr_in *addr, int nports)
{
	int one = 1, ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event evs[64];
	int base = ntohs(addr->sin_port);

	files(300000);
	for (int i = 0; i < nports; i++) {
		int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		addr->sin_port = htons(base + i);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(ls, (struct sockaddr *)addr, sizeof(*addr)) ||
		    listen(ls, 65535))
			die("conns: bind/listen");
		ev.data.fd = ls;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev))
			die("conns: epoll_ctl");
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, s;

			if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				close(fd);	/* the client is gone: so is this end */
				continue;
			}
			while ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				struct epoll_event cev = { .events = EPOLLRDHUP, .data.fd = s };

				if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev))
					die("conns: epoll_ctl");
			}
		}
	}
}

static void client(struct sockaddr_in *addr, int nports, long count,
		   const char *ready, char **ka)
{
	int base = ntohs(addr->sin_port);
	long ok = 0, failed = 0;
	FILE *f;

	files(count);
	for (long i = 0; i < count; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			die("conns: socket");
		if (ka) {
			int one = 1;
			int v[3] = { atoi(ka[0]), atoi(ka[1]), atoi(ka[2]) };

			if (setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v[0], sizeof(int)) ||
			    setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &v[1], sizeof(int)) ||
			    setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &v[2], sizeof(int)) ||
			    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)))
				die("conns: setsockopt");
		}
		addr->sin_port = htons(base + i % nports);
		if (connect(s, (struct sockaddr *)addr, sizeof(*addr))) {
			if (!failed++)
				fprintf(stderr, "conns: connect: %s\n", strerror(errno));
			close(s);
			continue;
		}
		ok++;
	}
	f = fopen(ready, "w");
	if (!f)
		die("conns: ready file");
	fprintf(f, "%ld\n", ok);
	fclose(f);
	if (failed)
		fprintf(stderr, "conns: %ld of %ld connections failed\n", failed, count);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int nports;

	if (argc < 5 || inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1)
		goto usage;
	addr.sin_port = htons(atoi(argv[3]));
	nports = atoi(argv[4]);
	if (nports < 1)
		goto usage;
	if (!strcmp(argv[1], "server") && argc == 5)
		serve(&addr, nports);
	if (!strcmp(argv[1], "client") && (argc == 7 || argc == 10))
		client(&addr, nports, atol(argv[5]), argv[6],
		       argc == 10 ? &argv[7] : NULL);
usage:
	fprintf(stderr, "usage: conns server ADDR PORT NPORTS\n"
		"       conns client ADDR PORT NPORTS COUNT READY [IDLE INTVL CNT]\n");
	return 2;
}
