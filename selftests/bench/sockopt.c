// SPDX-License-Identifier: GPL-2.0
/*
 * setsockopt() cost for the benchmarks: calls setsockopt() of one kind in
 * a loop on one socket for SECONDS and prints the nanoseconds per call.
 *
 *   sockopt KIND SECONDS
 *
 *   tcp-nodelay     TCP_NODELAY on a TCP socket (not connected)
 *   tcp-keepidle    TCP_KEEPIDLE on a TCP socket (one kapolicy looks at)
 *   tcp-keepalive   SO_KEEPALIVE on a TCP socket (one kapolicy looks at)
 *   udp-rcvbuf      SO_RCVBUF on a UDP socket
 *   unix-rcvbuf     SO_RCVBUF on a UNIX stream socket
 *
 * The value alternates between two settings, so that every call writes.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct kind {
		const char *name;
		int domain, type, level, optname, v0, v1;
	} kinds[] = {
		{ "tcp-nodelay", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_NODELAY, 0, 1 },
		{ "tcp-keepidle", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_KEEPIDLE, 60, 61 },
		{ "tcp-keepalive", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE, 0, 1 },
		{ "udp-rcvbuf", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, 65536, 131072 },
		{ "unix-rcvbuf", AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF, 65536, 131072 },
	};
	const struct kind *k = NULL;
	double secs, start, t;
	unsigned long calls = 0;
	unsigned int i;
	int s;

	if (argc != 3) {
		fprintf(stderr, "usage: sockopt KIND SECONDS\n");
		return 2;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(argv[1], kinds[i].name))
			k = &kinds[i];
	secs = atof(argv[2]);
	if (!k || secs <= 0) {
		fprintf(stderr, "sockopt: unknown kind %s or bad time %s\n",
			argv[1], argv[2]);
		return 2;
	}
	s = socket(k->domain, k->type, 0);
	if (s < 0) {
		perror("sockopt: socket");
		return 1;
	}
	start = now();
	do {
		for (i = 0; i < 4096; i++) {
			int v = (i & 1) ? k->v1 : k->v0;

			if (setsockopt(s, k->level, k->optname, &v, sizeof(v))) {
				perror("sockopt: setsockopt");
				return 1;
			}
		}
		calls += 4096;
		t = now();
	} while (t - start < secs);
	printf("%.1f\n", (t - start) * 1e9 / calls);
	return 0;
}
