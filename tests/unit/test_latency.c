// SPDX-License-Identifier: GPL-2.0
/* Tests for user/latency.c: the gate latency histogram. */
#include "test.h"
#include "latency.h"

void test_latency_quantiles_fine_and_coarse(void)
{
	static struct lat_hist h;

	ASSERT_EQ_U64(lat__quantile_us(&h, 0.5), 0);
	/* 1..100 us, one sample each: p50 is 50 us, p99 99 us, max 100 us */
	for (uint64_t us = 1; us <= 100; us++)
		lat__observe(&h, us * 1000 + 400);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.5), 50);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.99), 99);
	ASSERT_EQ_U64(lat__quantile_us(&h, 1.0), 100);
	ASSERT_EQ_U64(h.max_ns, 100400);
	/* one slow outlier in the coarse range: p99 unchanged, max exact */
	lat__observe(&h, 5432100);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.99), 100);
	ASSERT_EQ_U64(lat__quantile_us(&h, 1.0), 5432);
	ASSERT_EQ_U64(h.count, 101);
}

void test_latency_overflow_reports_max(void)
{
	static struct lat_hist h;

	lat__observe(&h, 250ull * 1000 * 1000);   /* 250 ms: past the buckets */
	lat__observe(&h, 3ull * 1000 * 1000 * 1000);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.5), 3000000);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.01), 3000000);
}

void test_latency_coarse_bucket_edge(void)
{
	static struct lat_hist h;

	lat__observe(&h, 2050ull * 1000);         /* 2.05 ms: bucket 2000..2099 us */
	lat__observe(&h, 9000ull * 1000);
	ASSERT_EQ_U64(lat__quantile_us(&h, 0.5), 2099);
	ASSERT_EQ_U64(lat__quantile_us(&h, 1.0), 9000);
}
