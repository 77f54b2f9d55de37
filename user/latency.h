/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A latency histogram with exact-enough percentiles and a bounded cost:
 * 1 us buckets up to 2 ms, 100 us buckets up to 100 ms, one overflow
 * bucket beyond, and the exact maximum.  Recording is O(1); a percentile
 * is one pass over ~3000 counters, cheap enough for the status file every
 * second.  Used for the gate latency (kernel exec timestamp to SIGCONT).
 */
#ifndef AW_LATENCY_H
#define AW_LATENCY_H

#include <stdint.h>

#define LAT_FINE_US    2000              /* 1 us buckets below this */
#define LAT_COARSE_US  100000            /* 100 us buckets below this */
#define LAT_STEP_US    100
#define LAT_BUCKETS    (LAT_FINE_US + (LAT_COARSE_US - LAT_FINE_US) / LAT_STEP_US + 1)

struct lat_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t b[LAT_BUCKETS];
};

void lat__observe(struct lat_hist *h, uint64_t ns);

/*
 * The q-th quantile (0 < q <= 1) in microseconds: the upper edge of the
 * bucket holding the ceil(q * count)-th smallest sample, so never below
 * the true value, and at most one bucket (1 us under 2 ms, 100 us under
 * 100 ms) above it; past 100 ms, the maximum.  0 when empty.
 */
uint64_t lat__quantile_us(const struct lat_hist *h, double q);

#endif
