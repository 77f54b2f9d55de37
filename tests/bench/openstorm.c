// SPDX-License-Identifier: GPL-2.0
/*
 * Open storm for `make bench`: N times open() FILE read-only and close it,
 * and print the mean wall-clock and CPU ns per open.
 *   openstorm FILE N
 * Run outside any session: this is what every process on the host pays for
 * an open while the sensor runs.  Its programs on the open syscalls return
 * at once for it, so the figure is mostly the syscall tracepoints' own cost,
 * which the kernel's BPF run-time stats don't count.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "benchclock.h"

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	double a, b, ca, cb;
	long i;
	int fd;

	if (argc != 3 || n <= 0) {
		fprintf(stderr, "usage: openstorm FILE N\n");
		return 2;
	}
	ca = cpu_ns();
	a = wall_ns();
	for (i = 0; i < n; i++) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
		close(fd);
	}
	b = wall_ns();
	cb = cpu_ns();
	printf("%.0f %.0f\n", (b - a) / n, (cb - ca) / n);
	return 0;
}
