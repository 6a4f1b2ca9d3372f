// SPDX-License-Identifier: GPL-2.0
/*
 * Bulk throughput for the benchmarks: one TCP connection, the client
 * writing 64 KiB at a time for SECONDS, the server reading and discarding.
 *
 *   bulk server ADDR PORT          serves one connection after another,
 *                                  until killed
 *   bulk client ADDR PORT SECONDS  prints MB/s (10^6 bytes) received by
 *                                  the server: the client half-closes and
 *                                  waits for the server's count
 *
 * IPv4 only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void serve(struct sockaddr_in *addr)
{
	static char buf[4 * CHUNK];
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)addr, sizeof(*addr)) || listen(ls, 16))
		die("bulk: bind/listen");
	for (;;) {
		int s = accept(ls, NULL, NULL);
		uint64_t total = 0;
		ssize_t n;

		if (s < 0)
			continue;
		while ((n = read(s, buf, sizeof(buf))) > 0)
			total += n;
		if (write(s, &total, sizeof(total)) != sizeof(total))
			perror("bulk: write count");
		close(s);
	}
}

static void client(struct sockaddr_in *addr, double secs)
{
	static char buf[CHUNK];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	double start, t;
	uint64_t total;

	if (connect(s, (struct sockaddr *)addr, sizeof(*addr)))
		die("bulk: connect");
	memset(buf, 'x', sizeof(buf));
	start = now();
	do {
		for (int i = 0; i < 16; i++)
			if (write(s, buf, sizeof(buf)) != sizeof(buf))
				die("bulk: write");
		t = now();
	} while (t - start < secs);
	shutdown(s, SHUT_WR);
	if (read(s, &total, sizeof(total)) != sizeof(total))
		die("bulk: read count");
	t = now();
	printf("%.1f\n", total / (t - start) / 1e6);
	close(s);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };

	if (argc < 4 || inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
		fprintf(stderr, "usage: bulk server ADDR PORT | client ADDR PORT SECONDS\n");
		return 2;
	}
	addr.sin_port = htons(atoi(argv[3]));
	if (!strcmp(argv[1], "server")) {
		serve(&addr);
	} else if (!strcmp(argv[1], "client") && argc == 5) {
		client(&addr, atof(argv[4]));
	} else {
		fprintf(stderr, "usage: bulk server ADDR PORT | client ADDR PORT SECONDS\n");
		return 2;
	}
	return 0;
}
