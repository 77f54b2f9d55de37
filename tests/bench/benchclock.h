/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Clocks for the `make bench` helpers.  Each helper prints two figures per
 * operation: wall-clock ns, and CPU ns (user+system of the helper and every
 * child it waited for).  The CPU figure includes what the kernel does in the
 * workload's own context (BPF programs, audit records) but not the time the
 * workload spends waiting, for a sensor's round trip or for other work on a
 * busy machine, so the two together tell cost from delay.
 */
#ifndef BENCHCLOCK_H
#define BENCHCLOCK_H

#include <sys/resource.h>
#include <time.h>

static inline double wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static inline double tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1e9 + tv.tv_usec * 1e3;
}

static inline double cpu_ns(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return tv_ns(self.ru_utime) + tv_ns(self.ru_stime) + tv_ns(kids.ru_utime) + tv_ns(kids.ru_stime);
}

#endif
