// SPDX-License-Identifier: GPL-2.0
/*
 * Fork storm for `make bench`: fork N children that exit at once, one at a
 * time, so the collector's process table fills with N session processes;
 * print the mean wall-clock and CPU ns per fork+exit+wait.
 *   forkstorm N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchclock.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	double a, b, ca, cb;
	long i;

	if (n <= 0 || n > 10000000) {
		fprintf(stderr, "usage: forkstorm N\n");
		return 2;
	}
	ca = cpu_ns();
	a = wall_ns();
	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "forkstorm: child failed\n");
			return 1;
		}
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", (b - a) / n, (cb - ca) / n);
	return 0;
}
