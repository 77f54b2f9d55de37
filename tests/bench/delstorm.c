// SPDX-License-Identifier: GPL-2.0
/*
 * Delete storm for `make bench`: create N small files in DIR (not timed),
 * then unlink them one by one and print the mean wall-clock and CPU ns per
 * unlink.
 *   delstorm DIR N
 * Run it with its cwd at or above DIR: an agent session's workspace is the
 * root's cwd, and the mass-deletion breaker resumes (and exempts) a process
 * that deletes inside its workspace, after one round trip to the collector.
 * That round trip is part of what this measures.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

#define MAX_FILES 1000000L

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	char path[4096];
	double a, b, ca, cb;
	long i;
	int fd;

	if (argc != 3 || n <= 0 || n > MAX_FILES) {
		fprintf(stderr, "usage: delstorm DIR N (1..%ld)\n", MAX_FILES);
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/f%ld", argv[1], i) >= (int)sizeof(path)) {
			fprintf(stderr, "delstorm: path too long\n");
			return 2;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, "x\n", 2) != 2) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	ca = cpu_ns();
	a = wall_ns();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", argv[1], i);
		if (unlink(path)) {
			perror(path);
			return 1;
		}
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", (b - a) / n, (cb - ca) / n);
	return 0;
}
