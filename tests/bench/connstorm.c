// SPDX-License-Identifier: GPL-2.0
/*
 * Connect storm for `make bench`: listen on 127.0.0.1 (an ephemeral port),
 * then N times connect() a new TCP socket to it, accept() and close both, and
 * print the mean wall-clock and CPU ns per round.
 *   connstorm N
 * One thread is enough: a loopback connect() completes the handshake in the
 * kernel and returns once the connection sits in the accept queue.  The
 * client closes with SO_LINGER 0 (RST, no TIME_WAIT), so repeated runs don't
 * run out of ephemeral ports.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	socklen_t len = sizeof(sa);
	double a, b, ca, cb;
	int lfd, cfd, afd;
	long i;

	if (argc != 2 || n <= 0 || n > 1000000) {
		fprintf(stderr, "usage: connstorm N (1..1000000)\n");
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		perror("connstorm: listener");
		return 1;
	}
	ca = cpu_ns();
	a = wall_ns();
	for (i = 0; i < n; i++) {
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("connstorm: connect");
			return 1;
		}
		afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (afd < 0) {
			perror("connstorm: accept");
			return 1;
		}
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cfd);
		close(afd);
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", (b - a) / n, (cb - ca) / n);
	return 0;
}
