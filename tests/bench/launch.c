// SPDX-License-Identifier: GPL-2.0
/*
 * Launcher for `make bench`: run CMD ARGS... as a child, wait for it, and
 * print its wall-clock and CPU ns (its own and its waited-for descendants').
 *   launch CMD [ARGS...]
 * Exec'd through a symlink named like the bench's fake agent, this process
 * opens an agent session and CMD (make, the compilers, the shells) runs
 * inside it.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

int main(int argc, char **argv)
{
	double a, b, ca, cb;
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: launch CMD [ARGS...]\n");
		return 2;
	}
	ca = cpu_ns();
	a = wall_ns();
	pid = fork();
	if (pid < 0) {
		perror("launch: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "launch: %s failed\n", argv[1]);
		return 1;
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", b - a, cb - ca);
	return 0;
}
