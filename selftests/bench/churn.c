// SPDX-License-Identifier: GPL-2.0
/*
 * Connection churn for the benchmarks: THREADS client threads connect to
 * ADDR:PORT, send one byte, read the server's answer, close, and start
 * again, for SECONDS; prints the connections completed per second.
 *
 *   churn server ADDR PORT THREADS [rst]   accept, read a byte, answer it,
 *                                          wait for the client's close and
 *                                          close (rst: close at once with
 *                                          a RST, SO_LINGER 0)
 *   churn client ADDR PORT THREADS SECONDS
 *
 * The client closes first, so TIME_WAIT is on its side, where
 * net.ipv4.tcp_tw_reuse lets connect() take the port again: no SYN meets
 * a TIME_WAIT socket on the server, which would stall the client for a
 * second-long SYN retransmission.  IPv4 only.  The server runs until
 * killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static int rst;
static double seconds;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *serve(void *arg)
{
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char c;

	(void)arg;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) || listen(ls, 1024)) {
		perror("churn: bind/listen");
		exit(1);
	}
	for (;;) {
		int s = accept(ls, NULL, NULL);

		if (s < 0)
			continue;
		if (read(s, &c, 1) == 1) {
			if (rst) {
				setsockopt(s, SOL_SOCKET, SO_LINGER, &lg,
					   sizeof(lg));
			} else if (write(s, &c, 1) == 1) {
				while (read(s, &c, 1) > 0)
					;
			}
		}
		close(s);
	}
	return NULL;
}

static void *churn(void *arg)
{
	unsigned long *done = arg;
	double end = now() + seconds;
	char c = 'x';

	while (now() < end) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			continue;
		if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
		    write(s, &c, 1) == 1) {
			/* the answer, or the server's RST */
			if (read(s, &c, 1) < 0)
				c = 'x';
			(*done)++;
		}
		close(s);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int i, threads;
	pthread_t t[64];
	unsigned long done[64] = { 0 }, total = 0;
	double t0;

	if (argc < 5 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		fprintf(stderr, "usage: churn server ADDR PORT THREADS [rst] | client ADDR PORT THREADS SECONDS\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons(atoi(argv[3]));
	inet_pton(AF_INET, argv[2], &addr.sin_addr);
	threads = atoi(argv[4]);
	if (threads < 1 || threads > 64)
		threads = 1;
	if (!strcmp(argv[1], "server")) {
		rst = argc > 5 && !strcmp(argv[5], "rst");
		for (i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, serve, NULL);
		pthread_join(t[0], NULL);
		return 0;
	}
	seconds = argc > 5 ? atof(argv[5]) : 5;
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, churn, &done[i]);
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += done[i];
	}
	printf("%.1f\n", total / (now() - t0));
	return 0;
}
