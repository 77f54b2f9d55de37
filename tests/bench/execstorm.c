// SPDX-License-Identifier: GPL-2.0
/*
 * Exec storm for `make bench`: fork+exec PROGRAM N times, one at a time, and
 * print the mean wall-clock and CPU ns per fork+exec+wait.
 *   execstorm N [PROGRAM]      (default /bin/true)
 * PROGRAM "-" forks children that exit at once, without an exec: a fork
 * storm, which fills the collector's process table fastest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

int main(int argc, char **argv)
{
	const char *prog = argc > 2 ? argv[2] : "/bin/true";
	long n = argc > 1 ? atol(argv[1]) : 1000;
	double a, b, ca, cb;
	long i;

	if (n <= 0 || n > 10000000) {
		fprintf(stderr, "usage: execstorm N [PROGRAM]\n");
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
		if (pid == 0) {
			if (!strcmp(prog, "-"))
				_exit(0);
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "execstorm: child failed\n");
			return 1;
		}
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", (b - a) / n, (cb - ca) / n);
	return 0;
}
