// SPDX-License-Identifier: GPL-2.0
#include "latency.h"

static unsigned int bucket_of(uint64_t us)
{
	if (us < LAT_FINE_US)
		return (unsigned int)us;
	if (us < LAT_COARSE_US)
		return LAT_FINE_US + (unsigned int)((us - LAT_FINE_US) / LAT_STEP_US);
	return LAT_BUCKETS - 1;
}

/* The largest microsecond value bucket i holds. */
static uint64_t bucket_top_us(unsigned int i)
{
	if (i < LAT_FINE_US)
		return i;
	return LAT_FINE_US + (uint64_t)(i - LAT_FINE_US + 1) * LAT_STEP_US - 1;
}

void lat__observe(struct lat_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->b[bucket_of(ns / 1000)]++;
}

uint64_t lat__quantile_us(const struct lat_hist *h, double q)
{
	uint64_t rank, seen = 0, max_us = h->max_ns / 1000;

	if (!h->count || !(q > 0))
		return 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count || !rank)
		rank++;   /* ceil, without libm */
	for (unsigned int i = 0; i < LAT_BUCKETS - 1; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = bucket_top_us(i);

			return top < max_us ? top : max_us;
		}
	}
	return max_us;
}
