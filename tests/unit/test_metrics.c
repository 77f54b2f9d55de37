// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for user/metrics.c: the exposition writer against golden text, the
 * address and request parsers on tables, and the server on real loopback
 * TCP sockets.
 *
 * The server never blocks, so one thread plays both sides: test clients are
 * plain sockets read with MSG_DONTWAIT, and pump() alternates
 * metrics__process() with reading them until each has seen EOF or a
 * deadline passes.  Every loop is bounded in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "metrics.h"

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

void test_metrics_prom_golden(void)
{
	struct prom_buf *b = prom__new();
	const char *const l1[] = { "rule", "deny-rm", "agent", "claude", NULL };
	const char *const l2[] = { "rule", "a\\b\"c\nd", NULL };
	const char *expect =
		"# HELP aw_events_total Events read.\n"
		"# TYPE aw_events_total counter\n"
		"aw_events_total 42\n"
		"# HELP aw_hits_total Rule hits; a \\\\ and a\\nnewline \"quoted\".\n"
		"# TYPE aw_hits_total counter\n"
		"aw_hits_total{rule=\"deny-rm\",agent=\"claude\"} 7\n"
		"aw_hits_total{rule=\"a\\\\b\\\"c\\nd\"} 18446744073709551615\n"
		"# TYPE aw:ratio gauge\n"
		"aw:ratio 0.1\n";

	ASSERT_NOT_NULL(b);
	prom__family(b, "aw_events_total", PROM_COUNTER, "Events read.");
	prom__sample_u64(b, "aw_events_total", NULL, 42);
	prom__family(b, "aw_hits_total", PROM_COUNTER,
		     "Rule hits; a \\ and a\nnewline \"quoted\".");
	prom__sample_u64(b, "aw_hits_total", l1, 7);
	prom__sample_u64(b, "aw_hits_total", l2, UINT64_MAX);
	prom__family(b, "aw:ratio", PROM_GAUGE, NULL);
	prom__sample(b, "aw:ratio", NULL, 0.1);
	ASSERT_EQ_INT(prom__error(b), 0);
	ASSERT_EQ_STR(prom__data(b, NULL), expect);
	prom__free(b);
}

/* Each value as prom__sample() writes it: shortest round trip, and the
 * spellings Go's ParseFloat takes for the special values. */
void test_metrics_prom_values(void)
{
	static const struct { double v; const char *s; } cases[] = {
		{ 0, "0" }, { -0.0, "-0" }, { 1, "1" }, { 0.5, "0.5" }, { 0.1, "0.1" },
		{ 1e-06, "1e-06" }, { 123456789012.0, "123456789012" },
		{ 1.0 / 3, "0.3333333333333333" }, { 0.1 + 0.2, "0.30000000000000004" }, { 2.5e300, "2.5e+300" },
		{ -7.25, "-7.25" }, { INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
	};
	struct prom_buf *b = prom__new();
	char want[64];
	size_t i;

	ASSERT_NOT_NULL(b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		prom__reset(b);
		prom__family(b, "v", PROM_GAUGE, NULL);
		prom__sample(b, "v", NULL, cases[i].v);
		snprintf(want, sizeof(want), "# TYPE v gauge\nv %s\n", cases[i].s);
		ASSERT_EQ_STR(prom__data(b, NULL), want);
	}
	prom__free(b);
}

/* Label values carry attacker-influenced bytes: whatever they are, the
 * output stays valid UTF-8 with no raw control byte. */
void test_metrics_prom_label_bytes(void)
{
	struct prom_buf *b = prom__new();
	const char *const l[] = {
		"v", "ok \xc3\xa9 \xe2\x82\xac|\xff|\xc0\xaf|\x1b[31m|\r|\t|\x7f|\xed\xa0\x80|\xc3", NULL
	};
	const char *expect =
		"# HELP m x\xef\xbf\xbdy \xc3\xa9 \\\\n\n"
		"# TYPE m gauge\n"
		"m{v=\"ok \xc3\xa9 \xe2\x82\xac|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
		"\xef\xbf\xbd[31m|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|"
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\"} 1\n";

	ASSERT_NOT_NULL(b);
	prom__family(b, "m", PROM_GAUGE, "x\ry \xc3\xa9 \\n");
	prom__sample_u64(b, "m", l, 1);
	ASSERT_EQ_INT(prom__error(b), 0);
	ASSERT_EQ_STR(prom__data(b, NULL), expect);
	prom__free(b);
}

/* Run one misuse on a fresh buffer after a valid gauge family "g"; the
 * error it must leave, and the output must not have grown past the
 * family. */
static int misuse(int which)
{
	const char *const dup[] = { "a", "1", "a", "2", NULL };
	const char *const reserved[] = { "__name__", "x", NULL };
	const char *const badname[] = { "a-b", "x", NULL };
	const char *const digit[] = { "1a", "x", NULL };
	const char *const nullv[] = { "a", NULL, NULL };
	const char *const le[] = { "le", "1", NULL };
	const char *many[2 * PROM_MAX_LABELS + 3];
	struct prom_hist h;
	struct prom_buf *b = prom__new();
	size_t before, after;
	int err, i;

	if (!b)
		return -ENOMEM;
	prom__family(b, "g", PROM_GAUGE, "help");
	prom__data(b, &before);
	switch (which) {
	case 0: prom__sample(b, "other", NULL, 1); break;
	case 1: prom__family(b, "g", PROM_COUNTER, NULL); break;
	case 2: prom__family(b, "9lives", PROM_GAUGE, NULL); break;
	case 3: prom__family(b, "a b", PROM_GAUGE, NULL); break;
	case 4: prom__family(b, "", PROM_GAUGE, NULL); break;
	case 5: prom__family(b, "t", (enum prom_type)9, NULL); break;
	case 6: prom__sample(b, "g", dup, 1); break;
	case 7: prom__sample(b, "g", reserved, 1); break;
	case 8: prom__sample(b, "g", badname, 1); break;
	case 9: prom__sample(b, "g", digit, 1); break;
	case 10: prom__sample(b, "g", nullv, 1); break;
	case 11:
		prom_hist__init(&h, prom_hist_latency_ns, PROM_HIST_LATENCY_N);
		prom__histogram(b, "g", NULL, &h);	/* g is a gauge */
		break;
	case 12:
		prom_hist__init(&h, prom_hist_latency_ns, PROM_HIST_LATENCY_N);
		prom__family(b, "h", PROM_HISTOGRAM, NULL);
		prom__data(b, &before);
		prom__histogram(b, "h", le, &h);
		break;
	case 13:
		prom__family(b, "h", PROM_HISTOGRAM, NULL);
		prom__data(b, &before);
		prom__sample(b, "h", NULL, 1);		/* only via prom__histogram() */
		break;
	case 14:
		for (i = 0; i <= PROM_MAX_LABELS; i++) {
			static char names[PROM_MAX_LABELS + 1][8];

			snprintf(names[i], sizeof(names[i]), "l%d", i);
			many[2 * i] = names[i];
			many[2 * i + 1] = "v";
		}
		many[2 * i] = NULL;
		prom__sample(b, "g", many, 1);
		break;
	case 15: {
		static char longname[PROM_MAX_NAME + 2];

		memset(longname, 'a', PROM_MAX_NAME + 1);
		prom__family(b, longname, PROM_GAUGE, NULL);
		break;
	}
	case 16:
		prom__reset(b);
		prom__data(b, &before);
		prom__sample(b, "g", NULL, 1);		/* no family since reset */
		break;
	}
	err = prom__error(b);
	prom__data(b, &after);
	if (after != before)
		err = -EFAULT;		/* an invalid call wrote something */
	/* Sticky: a valid call afterwards changes nothing. */
	prom__sample(b, "g", NULL, 2);
	prom__data(b, &after);
	if (after != before || prom__error(b) != err)
		err = -EFAULT;
	prom__free(b);
	return err;
}

void test_metrics_prom_misuse(void)
{
	int i;

	for (i = 0; i <= 16; i++) {
		int err = misuse(i);

		if (err != (i == 14 ? -E2BIG : -EINVAL)) {
			test__fail(__FILE__, __LINE__, "misuse %d: got %d", i, err);
			return;
		}
	}
}

void test_metrics_prom_reset_and_limit(void)
{
	struct prom_buf *b = prom__new();
	char help[1024];
	size_t len;
	int i;

	ASSERT_NOT_NULL(b);
	prom__family(b, "x", PROM_GAUGE, NULL);
	prom__family(b, "x", PROM_GAUGE, NULL);
	ASSERT_EQ_INT(prom__error(b), -EINVAL);
	prom__reset(b);
	ASSERT_EQ_INT(prom__error(b), 0);
	ASSERT_EQ_STR(prom__data(b, &len), "");
	ASSERT_EQ_U64(len, 0);
	/* After a reset the same family may be declared again. */
	prom__family(b, "x", PROM_GAUGE, NULL);
	ASSERT_EQ_INT(prom__error(b), 0);
	memset(help, 'h', sizeof(help) - 1);
	help[sizeof(help) - 1] = '\0';
	for (i = 0; i < (int)(PROM_MAX_LEN / 1000) + 10 && !prom__error(b); i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		prom__family(b, name, PROM_GAUGE, help);
	}
	ASSERT_EQ_INT(prom__error(b), -E2BIG);
	prom__data(b, &len);
	ASSERT_TRUE(len <= PROM_MAX_LEN);
	prom__free(b);
	prom__free(NULL);
}

void test_metrics_prom_histogram(void)
{
	static const uint64_t bounds[] = { 1000, 10000, 100000 };	/* 1us 10us 100us */
	const char *const l[] = { "rule", "r1", NULL };
	const char *expect =
		"# HELP aw_eval_seconds Rule evaluation time.\n"
		"# TYPE aw_eval_seconds histogram\n"
		"aw_eval_seconds_bucket{rule=\"r1\",le=\"1e-06\"} 2\n"
		"aw_eval_seconds_bucket{rule=\"r1\",le=\"1e-05\"} 4\n"
		"aw_eval_seconds_bucket{rule=\"r1\",le=\"0.0001\"} 5\n"
		"aw_eval_seconds_bucket{rule=\"r1\",le=\"+Inf\"} 7\n"
		"aw_eval_seconds_sum{rule=\"r1\"} 1.000162002\n"
		"aw_eval_seconds_count{rule=\"r1\"} 7\n"
		"aw_eval_seconds_bucket{le=\"1e-06\"} 0\n"
		"aw_eval_seconds_bucket{le=\"1e-05\"} 0\n"
		"aw_eval_seconds_bucket{le=\"0.0001\"} 0\n"
		"aw_eval_seconds_bucket{le=\"+Inf\"} 0\n"
		"aw_eval_seconds_sum 0\n"
		"aw_eval_seconds_count 0\n";
	struct prom_hist h, empty;
	struct prom_buf *b = prom__new();

	ASSERT_NOT_NULL(b);
	ASSERT_EQ_INT(prom_hist__init(&h, bounds, 3), 0);
	ASSERT_EQ_INT(prom_hist__init(&empty, bounds, 3), 0);
	prom_hist__observe(&h, 0);		/* le 1us */
	prom_hist__observe(&h, 1000);		/* exactly on a bound: that bucket */
	prom_hist__observe(&h, 1001);		/* le 10us */
	prom_hist__observe(&h, 10000);
	prom_hist__observe(&h, 50000);		/* le 100us */
	prom_hist__observe(&h, 100001);		/* +Inf */
	prom_hist__observe(&h, 1000000000);	/* 1 s: +Inf */
	ASSERT_EQ_U64(h.count, 7);
	ASSERT_EQ_U64(h.sum_ns, 1000162002);
	ASSERT_EQ_U64(h.counts[0], 2);
	ASSERT_EQ_U64(h.counts[1], 2);
	ASSERT_EQ_U64(h.counts[2], 1);
	ASSERT_EQ_U64(h.counts[3], 2);
	prom__family(b, "aw_eval_seconds", PROM_HISTOGRAM, "Rule evaluation time.");
	prom__histogram(b, "aw_eval_seconds", l, &h);
	prom__histogram(b, "aw_eval_seconds", NULL, &empty);
	ASSERT_EQ_INT(prom__error(b), 0);
	ASSERT_EQ_STR(prom__data(b, NULL), expect);
	prom__free(b);
}

void test_metrics_prom_hist_init_and_saturation(void)
{
	static const uint64_t unsorted[] = { 10, 5 }, equal[] = { 5, 5 };
	uint64_t many[PROM_HIST_MAX_BUCKETS + 1];
	struct prom_hist h;
	size_t i;

	for (i = 0; i < PROM_HIST_MAX_BUCKETS + 1; i++)
		many[i] = i + 1;
	ASSERT_EQ_INT(prom_hist__init(&h, unsorted, 2), -EINVAL);
	ASSERT_EQ_INT(prom_hist__init(&h, equal, 2), -EINVAL);
	ASSERT_EQ_INT(prom_hist__init(&h, many, 0), -EINVAL);
	ASSERT_EQ_INT(prom_hist__init(&h, many, PROM_HIST_MAX_BUCKETS + 1), -EINVAL);
	ASSERT_EQ_INT(prom_hist__init(&h, many, PROM_HIST_MAX_BUCKETS), 0);
	prom_hist__observe(&h, PROM_HIST_MAX_BUCKETS);	/* the last finite bucket */
	ASSERT_EQ_U64(h.counts[PROM_HIST_MAX_BUCKETS - 1], 1);
	ASSERT_EQ_INT(prom_hist__init(&h, prom_hist_latency_ns, PROM_HIST_LATENCY_N), 0);
	prom_hist__observe(&h, UINT64_MAX - 1);
	prom_hist__observe(&h, 5);
	ASSERT_EQ_U64(h.sum_ns, UINT64_MAX);
	ASSERT_EQ_U64(h.counts[PROM_HIST_LATENCY_N], 1);
	ASSERT_EQ_U64(h.counts[0], 1);
	for (i = 1; i < PROM_HIST_LATENCY_N; i++)
		ASSERT_TRUE(prom_hist_latency_ns[i] > prom_hist_latency_ns[i - 1]);
}

/* ------------------------------------------------------------------ */
/* Address                                                             */
/* ------------------------------------------------------------------ */

static bool addr_is(const char *addr, int family, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[INET6_ADDRSTRLEN], err[256];

	if (metrics__parse_addr(addr, &ss, &len, err, sizeof(err)) || err[0])
		return false;
	if (ss.ss_family != family)
		return false;
	if (family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		return len == sizeof(*s4) && ntohs(s4->sin_port) == port && !strcmp(buf, host);
	}
	{
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		return len == sizeof(*s6) && ntohs(s6->sin6_port) == port && !strcmp(buf, host);
	}
}

void test_metrics_parse_addr_good(void)
{
	ASSERT_TRUE(addr_is("127.0.0.1:9464", AF_INET, "127.0.0.1", 9464));
	ASSERT_TRUE(addr_is(":9464", AF_INET, "127.0.0.1", 9464));	/* loopback, not any */
	ASSERT_TRUE(addr_is("localhost:9464", AF_INET, "127.0.0.1", 9464));
	ASSERT_TRUE(addr_is("LocalHost:1", AF_INET, "127.0.0.1", 1));
	ASSERT_TRUE(addr_is("0.0.0.0:9464", AF_INET, "0.0.0.0", 9464));
	ASSERT_TRUE(addr_is("10.1.2.3:65535", AF_INET, "10.1.2.3", 65535));
	ASSERT_TRUE(addr_is("127.0.0.1:0", AF_INET, "127.0.0.1", 0));
	ASSERT_TRUE(addr_is("[::1]:9464", AF_INET6, "::1", 9464));
	ASSERT_TRUE(addr_is("[::]:80", AF_INET6, "::", 80));
	ASSERT_TRUE(addr_is("[fe80::1:2]:00080", AF_INET6, "fe80::1:2", 80));
	ASSERT_TRUE(addr_is("[::ffff:127.0.0.1]:1", AF_INET6, "::ffff:127.0.0.1", 1));
}

void test_metrics_parse_addr_bad(void)
{
	static const struct { const char *addr, *why; } cases[] = {
		{ "", "expected HOST:PORT" },
		{ "9464", "no :PORT" },
		{ "127.0.0.1", "no :PORT" },
		{ "127.0.0.1:", "no port after ':'" },
		{ ":", "no port after ':'" },
		{ "127.0.0.1:65536", "0 to 65535" },
		{ "127.0.0.1:-1", "0 to 65535" },
		{ "127.0.0.1:+80", "0 to 65535" },
		{ "127.0.0.1: 80", "0 to 65535" },
		{ "127.0.0.1:80 ", "0 to 65535" },
		{ "127.0.0.1:123456", "0 to 65535" },
		{ "127.0.0.1:0x50", "0 to 65535" },
		{ "::1:9464", "needs brackets" },
		{ "[::1:9464", "no ']'" },
		{ "[::1]9464", "expected :PORT after ']'" },
		{ "[::1]", "expected :PORT after ']'" },
		{ "[]:9464", "not an IPv6 address" },
		{ "[127.0.0.1]:9464", "not an IPv6 address" },
		{ "[fe80::1%eth0]:9464", "scoped" },
		{ "example.com:9464", "not resolved" },
		{ "127.1:9464", "not resolved" },
		{ "0127.0.0.1:9464", "not resolved" },
		{ "256.0.0.1:9464", "not resolved" },
		{ " 127.0.0.1:9464", "not resolved" },
		{ "localhost.:9464", "not resolved" },
		{ "\x1b[31mevil:1", "\\x1b[31mevil" },		/* echoed escaped */
	};
	struct sockaddr_storage ss;
	char err[256], longaddr[METRICS_MAX_ADDR + 10];
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = metrics__parse_addr(cases[i].addr, &ss, &len, err, sizeof(err));

		if (r != -EINVAL || !strstr(err, cases[i].why) || !strstr(err, "bad metrics address")) {
			test__fail(__FILE__, __LINE__, "'%s': got %d \"%s\", expected -EINVAL and \"%s\"",
				   cases[i].addr, r, err, cases[i].why);
			return;
		}
	}
	ASSERT_EQ_INT(metrics__parse_addr(NULL, &ss, &len, err, sizeof(err)), -EINVAL);
	memset(longaddr, '1', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[0] = ':';
	ASSERT_EQ_INT(metrics__parse_addr(longaddr, &ss, &len, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "longer than 128 bytes"));
	/* No err buffer, and a tiny one: still -EINVAL, still terminated. */
	ASSERT_EQ_INT(metrics__parse_addr("x", &ss, &len, NULL, 0), -EINVAL);
	ASSERT_EQ_INT(metrics__parse_addr("x", &ss, &len, err, 4), -EINVAL);
	ASSERT_EQ_INT(strlen(err), 3);
}

/* ------------------------------------------------------------------ */
/* Request parser                                                      */
/* ------------------------------------------------------------------ */

void test_metrics_parse_request(void)
{
	static const struct {
		const char *in;
		int ret, status;
		enum metrics_route route;
		bool head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1, 200, METRICS_ROUTE_METRICS, false },
		{ "GET /metrics HTTP/1.0\n\n", 1, 200, METRICS_ROUTE_METRICS, false },
		{ "GET /metrics?x=1&y HTTP/1.1\r\n\r\n", 1, 200, METRICS_ROUTE_METRICS, false },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 1, 200, METRICS_ROUTE_METRICS, true },
		{ "GET / HTTP/1.1\r\nA: b\tc \xff\r\nB:\r\n\r\n", 1, 200, METRICS_ROUTE_ROOT, false },
		{ "GET /?q HTTP/1.1\r\n\r\n", 1, 200, METRICS_ROUTE_ROOT, false },
		/* incomplete */
		{ "", 0, 0, 0, false },
		{ "GE", 0, 0, 0, false },
		{ "GET /metrics HTTP/1.1\r", 0, 0, 0, false },
		{ "GET /metrics HTTP/1.1\r\n", 0, 0, 0, false },
		{ "GET /metrics HTTP/1.1\r\nHost: x", 0, 0, 0, false },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r", 0, 0, 0, false },
		{ "POST /metrics HTTP/1.1\r\n", 0, 0, 0, false },	/* 405 at the end */
		/* answered */
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 1, 404, METRICS_ROUTE_NONE, false },
		{ "GET /metrics/ HTTP/1.1\r\n\r\n", 1, 404, METRICS_ROUTE_NONE, false },
		{ "GET //metrics HTTP/1.1\r\n\r\n", 1, 404, METRICS_ROUTE_NONE, false },
		{ "GET /%6detrics HTTP/1.1\r\n\r\n", 1, 404, METRICS_ROUTE_NONE, false },
		{ "HEAD /nope HTTP/1.1\r\n\r\n", 1, 404, METRICS_ROUTE_NONE, true },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1, 405, METRICS_ROUTE_NONE, false },
		{ "get /metrics HTTP/1.1\r\n\r\n", 1, 405, METRICS_ROUTE_NONE, false },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", 1, 405, METRICS_ROUTE_NONE, false },
		{ "GET http://x/metrics HTTP/1.1\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 1, 505, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/0.9\r\n\r\n", 1, 505, METRICS_ROUTE_NONE, false },
		/* bad syntax: answered as soon as seen */
		{ "GET /metrics\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET  /metrics HTTP/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1 \r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.10\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics http/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /m\xc3\xa9trics HTTP/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /m\xc3", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET\t/metrics HTTP/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "G(T /metrics HTTP/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "\r\nGET /metrics HTTP/1.1\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "\x16\x03\x01\x02\x00", 1, 400, METRICS_ROUTE_NONE, false },	/* TLS hello */
		{ " GET", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\n: x\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\n c", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nA: b\x01", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\nA: b\r\r", 1, 400, METRICS_ROUTE_NONE, false },
		{ "GET /metrics HTTP/1.1\r\n\x7f", 1, 400, METRICS_ROUTE_NONE, false },
	};
	struct metrics_req req;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = metrics__parse_request(cases[i].in, strlen(cases[i].in), &req);

		if (r != cases[i].ret || (r && (req.status != cases[i].status ||
						req.route != cases[i].route ||
						req.head != cases[i].head))) {
			test__fail(__FILE__, __LINE__,
				   "case %zu: got %d status %d route %d head %d, expected %d %d %d %d",
				   i, r, req.status, req.route, req.head, cases[i].ret,
				   cases[i].status, cases[i].route, cases[i].head);
			return;
		}
	}
	/* A NUL inside is not the end of the string. */
	ASSERT_EQ_INT(metrics__parse_request("GET /metrics HTTP/1.1\r\nA: \0\r\n\r\n", 31, &req), 1);
	ASSERT_EQ_INT(req.status, 400);
	ASSERT_EQ_INT(metrics__parse_request("GET /\0", 6, &req), 1);
	ASSERT_EQ_INT(req.status, 400);
}

/* The size limit: a request line or a header block that doesn't end
 * within METRICS_MAX_REQUEST bytes, and bytes beyond it never looked at. */
void test_metrics_parse_request_limits(void)
{
	size_t big = 2 * METRICS_MAX_REQUEST;
	char *buf = malloc(big);
	struct metrics_req req;
	size_t hdr;

	ASSERT_NOT_NULL(buf);
	memset(buf, 'a', big);
	memcpy(buf, "GET /", 5);
	ASSERT_EQ_INT(metrics__parse_request(buf, METRICS_MAX_REQUEST - 1, &req), 0);
	ASSERT_EQ_INT(metrics__parse_request(buf, METRICS_MAX_REQUEST, &req), 1);
	ASSERT_EQ_INT(req.status, 414);
	ASSERT_EQ_INT(metrics__parse_request(buf, big, &req), 1);
	ASSERT_EQ_INT(req.status, 414);

	hdr = strlen("GET /metrics HTTP/1.1\r\nX: ");
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX: ", hdr);
	ASSERT_EQ_INT(metrics__parse_request(buf, METRICS_MAX_REQUEST - 1, &req), 0);
	ASSERT_EQ_INT(metrics__parse_request(buf, big, &req), 1);
	ASSERT_EQ_INT(req.status, 431);
	/* The end of the headers just past the limit doesn't count. */
	memcpy(buf + METRICS_MAX_REQUEST, "\r\n\r\n", 4);
	ASSERT_EQ_INT(metrics__parse_request(buf, METRICS_MAX_REQUEST + 4, &req), 1);
	ASSERT_EQ_INT(req.status, 431);
	/* ... and just inside it does. */
	memcpy(buf + METRICS_MAX_REQUEST - 4, "\r\n\r\n", 4);
	ASSERT_EQ_INT(metrics__parse_request(buf, big, &req), 1);
	ASSERT_EQ_INT(req.status, 200);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* Server on loopback                                                  */
/* ------------------------------------------------------------------ */

#define PUMP_MS 3000	/* longest any exchange may take in a test */

struct rctx {
	int calls;
	int fail;		/* return this from render */
	size_t big;		/* render a gauge with a label this long */
	uint64_t value;
};

static int render(void *ctx, struct prom_buf *b)
{
	struct rctx *r = ctx;
	const char *l[] = { "v", NULL, NULL };
	char *s = NULL;

	r->calls++;
	if (r->fail)
		return r->fail;
	prom__family(b, "aw_up", PROM_GAUGE, "Up.");
	prom__sample_u64(b, "aw_up", NULL, r->value);
	if (r->big) {
		s = malloc(r->big + 1);
		if (!s)
			return -ENOMEM;
		memset(s, 'x', r->big);
		s[r->big] = '\0';
		l[1] = s;
		prom__family(b, "aw_big", PROM_GAUGE, NULL);
		prom__sample_u64(b, "aw_big", l, 1);
		free(s);
	}
	return 0;
}

struct tcl {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
	int err;		/* recv's errno if it failed (ECONNRESET) */
};

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool tcl_connect(struct tcl *c, const struct metrics *m, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(metrics__port(m)) };

	memset(c, 0, sizeof(*c));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->cap = 1u << 16;
	c->buf = malloc(c->cap + 1);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!c->buf || c->fd < 0)
		return false;
	if (rcvbuf && setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		return false;
	/* Loopback connect completes from the listen backlog, before any
	 * accept(), so this doesn't wait on the server. */
	return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static bool tcl_send(struct tcl *c, const char *s, size_t n)
{
	return send(c->fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n;
}

/* Read what has arrived, at most max bytes (0: no limit). */
static void tcl_read_max(struct tcl *c, size_t max)
{
	size_t start = c->len;

	while (!c->eof && !c->err && (!max || c->len - start < max)) {
		ssize_t n;

		if (c->len == c->cap) {
			char *nb = realloc(c->buf, 2 * c->cap + 1);

			if (!nb) {
				c->err = ENOMEM;
				return;
			}
			c->buf = nb;
			c->cap *= 2;
		}
		n = recv(c->fd, c->buf + c->len,
			 max && max - (c->len - start) < c->cap - c->len ?
			 max - (c->len - start) : c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += n;
			c->buf[c->len] = '\0';
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->err = errno;
		}
		if (n < 0)
			return;
	}
}

static void tcl_read(struct tcl *c)
{
	tcl_read_max(c, 0);
}

static void tcl_close(struct tcl *c)
{
	if (c->fd > 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* metrics__process() and read clients[0..n) until each has EOF (or an
 * error) or until ms_max passes.  True if all finished. */
static bool pump(struct metrics *m, struct rctx *r, struct tcl *cls, int n, uint64_t ms_max)
{
	uint64_t end = ms() + ms_max;
	int i, done;

	do {
		metrics__process(m, render, r);
		for (done = 0, i = 0; i < n; i++) {
			tcl_read(&cls[i]);
			done += cls[i].eof || cls[i].err;
		}
		if (done == n)
			return true;
		poll(NULL, 0, 1);
	} while (ms() < end);
	return false;
}

static struct metrics *open_loopback(void)
{
	struct metrics *m = NULL;

	if (metrics__open("127.0.0.1:0", &m))
		return NULL;
	return m;
}

/* One request on a new connection; the answer in c (caller closes). */
static bool exchange(struct metrics *m, struct rctx *r, const char *req, struct tcl *c)
{
	return tcl_connect(c, m, 0) && tcl_send(c, req, strlen(req)) && pump(m, r, c, 1, PUMP_MS) &&
	       !c->err;
}

void test_metrics_http_get_metrics(void)
{
	struct rctx r = { .value = 7 };
	struct metrics *m = open_loopback();
	struct metrics_stats st;
	struct tcl c;
	char addr[64];
	const char *expect =
		"HTTP/1.1 200 OK\r\n"
		"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: 44\r\n"
		"Cache-Control: no-store\r\n"
		"Connection: close\r\n"
		"\r\n"
		"# HELP aw_up Up.\n# TYPE aw_up gauge\naw_up 7\n";

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(metrics__port(m) != 0);
	metrics__addr(m, addr, sizeof(addr));
	ASSERT_TRUE(!strncmp(addr, "127.0.0.1:", 10) && atoi(addr + 10) == metrics__port(m));
	ASSERT_TRUE(metrics__fd(m) >= 0);
	ASSERT_EQ_INT(metrics__timeout_ms(m), -1);
	ASSERT_TRUE(exchange(m, &r, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &c));
	ASSERT_EQ_STR(c.buf, expect);
	ASSERT_EQ_INT(r.calls, 1);
	tcl_close(&c);
	metrics__stats(m, &st);
	ASSERT_EQ_U64(st.accepted, 1);
	ASSERT_EQ_U64(st.requests, 1);
	ASSERT_EQ_U64(st.renders, 1);
	ASSERT_EQ_U64(st.bad_requests, 0);
	/* The client closed after its EOF: the slot is free again. */
	ASSERT_TRUE(pump(m, &r, NULL, 0, 0));
	ASSERT_EQ_INT(metrics__timeout_ms(m), -1);
	metrics__free(m);
}

/* Status line and body of one exchange. */
static void check_answer(struct metrics *m, const char *req, const char *status,
			 const char *header, const char *body_end)
{
	struct rctx r = { 0 };
	struct tcl c;
	char *sep;

	if (!exchange(m, &r, req, &c)) {
		test__fail(__FILE__, __LINE__, "no complete answer to \"%s\"", req);
		tcl_close(&c);
		return;
	}
	sep = strstr(c.buf, "\r\n\r\n");
	if (strncmp(c.buf, status, strlen(status)) || !sep || !strstr(c.buf, header) ||
	    strlen(sep + 4) < strlen(body_end) ||
	    strcmp(sep + 4 + strlen(sep + 4) - strlen(body_end), body_end)) {
		test__fail(__FILE__, __LINE__, "\"%s\": got \"%s\", expected \"%s\", \"%s\" and a "
			   "body ending \"%s\"", req, c.buf, status, header, body_end);
	}
	tcl_close(&c);
}

void test_metrics_http_statuses(void)
{
	struct metrics *m = open_loopback();

	ASSERT_NOT_NULL(m);
	check_answer(m, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n",
		     "Content-Type: text/html; charset=utf-8\r\n", "</html>\n");
	check_answer(m, "HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n",
		     "Content-Length: 44\r\n", "");	/* 44 bytes, none sent */
	check_answer(m, "GET /nope HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n",
		     "Content-Length: 14\r\n", "404 Not Found\n");
	check_answer(m, "DELETE /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n",
		     "\r\nAllow: GET, HEAD\r\n", "405 Method Not Allowed\n");
	check_answer(m, "\x16\x03\x01\x00\x05hello", "HTTP/1.1 400 Bad Request\r\n",
		     "Connection: close\r\n", "400 Bad Request\n");
	check_answer(m, "GET /metrics HTTP/3.0\r\n\r\n", "HTTP/1.1 505 ",
		     "Connection: close\r\n", "505 HTTP Version Not Supported\n");
	metrics__free(m);
}

/* HEAD has the body's length but no body: nothing follows the head. */
void test_metrics_http_head_has_no_body(void)
{
	struct rctx r = { 0 };
	struct metrics *m = open_loopback();
	struct tcl c;

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(exchange(m, &r, "HEAD /metrics HTTP/1.0\r\n\r\n", &c));
	ASSERT_NOT_NULL(strstr(c.buf, "Content-Length: 44\r\n"));
	ASSERT_EQ_INT(strlen(strstr(c.buf, "\r\n\r\n")), 4);
	tcl_close(&c);
	metrics__free(m);
}

void test_metrics_http_render_failure_is_500(void)
{
	struct rctx r = { .fail = -EIO };
	struct metrics *m = open_loopback();
	struct metrics_stats st;
	struct tcl c;

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(exchange(m, &r, "GET /metrics HTTP/1.1\r\n\r\n", &c));
	ASSERT_TRUE(!strncmp(c.buf, "HTTP/1.1 500 Internal Server Error\r\n", 36));
	ASSERT_NULL(strstr(c.buf, "aw_up"));
	tcl_close(&c);
	metrics__stats(m, &st);
	ASSERT_EQ_U64(st.render_errors, 1);
	metrics__free(m);
}

/* A scrape flood renders once per METRICS_RENDER_REUSE_MS, not once per
 * scrape; after that a scrape sees new values. */
void test_metrics_http_render_reuse(void)
{
	struct rctx r = { .value = 1 };
	struct metrics *m = open_loopback();
	struct tcl c;
	uint64_t t0 = ms();
	int i;

	ASSERT_NOT_NULL(m);
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(exchange(m, &r, "GET /metrics HTTP/1.1\r\n\r\n", &c));
		ASSERT_NOT_NULL(strstr(c.buf, "aw_up 1\n"));
		tcl_close(&c);
		r.value = 2;
	}
	if (ms() - t0 < METRICS_RENDER_REUSE_MS)
		ASSERT_EQ_INT(r.calls, 1);
	poll(NULL, 0, METRICS_RENDER_REUSE_MS + 10);
	ASSERT_TRUE(exchange(m, &r, "GET /metrics HTTP/1.1\r\n\r\n", &c));
	ASSERT_NOT_NULL(strstr(c.buf, "aw_up 2\n"));
	tcl_close(&c);
	metrics__free(m);
}

/* A client that sent half a request and went quiet holds its slot, but
 * nobody waits for it: the next client is answered at once. */
void test_metrics_http_stalled_client_does_not_block(void)
{
	struct rctx r = { .value = 3 };
	struct metrics *m = open_loopback();
	struct tcl slow, fast;
	uint64_t t0;

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(tcl_connect(&slow, m, 0));
	ASSERT_TRUE(tcl_send(&slow, "GET /metr", 9));
	metrics__process(m, render, &r);
	t0 = ms();
	ASSERT_TRUE(exchange(m, &r, "GET /metrics HTTP/1.1\r\n\r\n", &fast));
	ASSERT_TRUE(ms() - t0 < 1000);
	ASSERT_TRUE(!strncmp(fast.buf, "HTTP/1.1 200 OK\r\n", 17));
	ASSERT_NOT_NULL(strstr(fast.buf, "\naw_up 3\n"));
	/* The stalled one is still waiting, with a deadline the caller sees. */
	tcl_read(&slow);
	ASSERT_FALSE(slow.eof);
	ASSERT_EQ_U64(slow.len, 0);
	ASSERT_TRUE(metrics__timeout_ms(m) > 0 && metrics__timeout_ms(m) <= METRICS_READ_TIMEOUT_MS);
	/* ... and it may finish its request later. */
	ASSERT_TRUE(tcl_send(&slow, "ics HTTP/1.1\r\n\r\n", 16));
	ASSERT_TRUE(pump(m, &r, &slow, 1, PUMP_MS));
	ASSERT_NOT_NULL(strstr(slow.buf, "\naw_up 3\n"));
	tcl_close(&slow);
	tcl_close(&fast);
	metrics__free(m);
}

/* Past METRICS_READ_TIMEOUT_MS a client that never finishes gets 408 and
 * loses its slot. */
void test_metrics_http_read_timeout(void)
{
	struct rctx r = { 0 };
	struct metrics *m = open_loopback();
	struct metrics_stats st;
	struct tcl c;
	uint64_t t0 = ms();

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(tcl_connect(&c, m, 0));
	ASSERT_TRUE(tcl_send(&c, "GET /metrics HTTP/1.1\r\nHost:", 28));
	ASSERT_TRUE(pump(m, &r, &c, 1, METRICS_READ_TIMEOUT_MS + 1000));
	ASSERT_TRUE(ms() - t0 >= METRICS_READ_TIMEOUT_MS);
	ASSERT_TRUE(!strncmp(c.buf, "HTTP/1.1 408 Request Timeout\r\n", 30));
	metrics__stats(m, &st);
	ASSERT_EQ_U64(st.timed_out, 1);
	ASSERT_EQ_INT(r.calls, 0);
	tcl_close(&c);
	metrics__free(m);
}

/* More than METRICS_MAX_REQUEST bytes without an end: 431, and the
 * connection is closed cleanly even though the client sent more than we
 * read (no RST eating the answer). */
void test_metrics_http_oversized_request(void)
{
	struct rctx r = { 0 };
	struct metrics *m = open_loopback();
	size_t n = 3 * METRICS_MAX_REQUEST, hl;
	char *req = malloc(n);
	struct tcl c;

	ASSERT_NOT_NULL(m);
	ASSERT_NOT_NULL(req);
	memset(req, 'a', n);
	hl = strlen("GET /metrics HTTP/1.1\r\nX-Big: ");
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", hl);
	ASSERT_TRUE(tcl_connect(&c, m, 0));
	ASSERT_TRUE(tcl_send(&c, req, n));
	free(req);
	ASSERT_TRUE(pump(m, &r, &c, 1, PUMP_MS));
	ASSERT_EQ_INT(c.err, 0);
	ASSERT_TRUE(!strncmp(c.buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46));
	ASSERT_EQ_INT(r.calls, 0);
	tcl_close(&c);
	metrics__free(m);
}

/* METRICS_MAX_CLIENTS idle connections fill the slots; the next one is
 * told 503 and closed, and the slots still work. */
void test_metrics_http_too_many_clients(void)
{
	struct rctx r = { .value = 5 };
	struct metrics *m = open_loopback();
	struct tcl c[METRICS_MAX_CLIENTS + 1];
	struct metrics_stats st;
	int i;

	ASSERT_NOT_NULL(m);
	for (i = 0; i <= METRICS_MAX_CLIENTS; i++) {
		ASSERT_TRUE(tcl_connect(&c[i], m, 0));
		/* One at a time, so accept order is connect order. */
		metrics__process(m, render, &r);
	}
	ASSERT_TRUE(pump(m, &r, &c[METRICS_MAX_CLIENTS], 1, PUMP_MS));
	ASSERT_TRUE(!strncmp(c[METRICS_MAX_CLIENTS].buf, "HTTP/1.1 503 Service Unavailable\r\n", 34));
	ASSERT_NOT_NULL(strstr(c[METRICS_MAX_CLIENTS].buf, "Retry-After: 1\r\n"));
	metrics__stats(m, &st);
	ASSERT_EQ_U64(st.busy, 1);
	ASSERT_EQ_U64(st.accepted, METRICS_MAX_CLIENTS);
	/* The admitted ones are still served. */
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		ASSERT_TRUE(tcl_send(&c[i], "GET /metrics HTTP/1.1\r\n\r\n", 25));
	ASSERT_TRUE(pump(m, &r, c, METRICS_MAX_CLIENTS, PUMP_MS));
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		ASSERT_NOT_NULL(strstr(c[i].buf, "\naw_up 5\n"));
	ASSERT_EQ_INT(r.calls, 1);	/* one render for all of them */
	for (i = 0; i <= METRICS_MAX_CLIENTS; i++)
		tcl_close(&c[i]);
	metrics__free(m);
}

/* A body far larger than the socket buffers goes out over many
 * metrics__process() calls, each writing what the socket takes, to a
 * client that reads a little at a time; it arrives whole. */
void test_metrics_http_partial_writes(void)
{
	struct rctx r = { .value = 9, .big = 3u << 20 };
	struct metrics *m = open_loopback();
	uint64_t end = ms() + 10000;
	int calls = 0;
	struct tcl c;
	char *body;
	size_t i;

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(tcl_connect(&c, m, 4096));
	ASSERT_TRUE(tcl_send(&c, "GET /metrics HTTP/1.1\r\n\r\n", 25));
	while (!c.eof && !c.err && ms() < end) {
		metrics__process(m, render, &r);
		calls++;
		tcl_read_max(&c, 64u << 10);
	}
	ASSERT_TRUE(c.eof);
	ASSERT_EQ_INT(c.err, 0);
	/* 3 MiB at 64 KiB a round, less what the socket buffers hold. */
	ASSERT_TRUE(calls > 10);
	body = strstr(c.buf, "\r\n\r\n");
	ASSERT_NOT_NULL(body);
	body += 4;
	ASSERT_TRUE(!strncmp(body, "# HELP aw_up Up.\n# TYPE aw_up gauge\naw_up 9\n"
			     "# TYPE aw_big gauge\naw_big{v=\"", 74));
	for (i = 74; i < 74 + r.big; i++)
		if (body[i] != 'x')
			break;
	ASSERT_EQ_U64(i, 74 + r.big);
	ASSERT_EQ_STR(body + i, "\"} 1\n");
	ASSERT_EQ_INT(r.calls, 1);
	tcl_close(&c);
	metrics__free(m);
}

/* A client that never reads a large answer is dropped at the write
 * deadline instead of holding its slot (and the body) for good. */
void test_metrics_http_slow_reader_dropped(void)
{
	struct rctx r = { .big = 3u << 20 };
	struct metrics *m = open_loopback();
	struct metrics_stats st;
	uint64_t end;
	struct tcl c;

	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(tcl_connect(&c, m, 4096));
	ASSERT_TRUE(tcl_send(&c, "GET /metrics HTTP/1.1\r\n\r\n", 25));
	end = ms() + METRICS_WRITE_TIMEOUT_MS + 1500;
	do {
		metrics__process(m, render, &r);
		metrics__stats(m, &st);
		poll(NULL, 0, 5);
	} while (!st.write_failed && ms() < end);
	ASSERT_EQ_U64(st.write_failed, 1);
	ASSERT_EQ_INT(metrics__timeout_ms(m), -1);	/* no client left */
	tcl_close(&c);
	metrics__free(m);
}

void test_metrics_open_errors(void)
{
	struct metrics *m = NULL, *m2 = (struct metrics *)1;
	char addr[64];

	ASSERT_EQ_INT(metrics__open("nonsense", &m2), -EINVAL);
	ASSERT_NULL(m2);
	ASSERT_EQ_INT(metrics__open("127.0.0.1:0", NULL), -EINVAL);
	ASSERT_EQ_INT(metrics__open("127.0.0.1:0", &m), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", metrics__port(m));
	ASSERT_EQ_INT(metrics__open(addr, &m2), -EADDRINUSE);
	ASSERT_NULL(m2);
	metrics__free(m);
	metrics__free(NULL);
	ASSERT_EQ_INT(metrics__fd(NULL), -1);
	ASSERT_EQ_INT(metrics__port(NULL), 0);
	metrics__process(NULL, render, NULL);
}

/* [::1] where the host has IPv6; skipped (passes) where it doesn't. */
void test_metrics_ipv6_loopback(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct rctx r = { .value = 6 };
	struct metrics *m = NULL;
	struct tcl c = { .fd = -1 };
	char addr[64];
	int err = metrics__open("[::1]:0", &m);

	if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)
		return;
	ASSERT_EQ_INT(err, 0);
	metrics__addr(m, addr, sizeof(addr));
	ASSERT_TRUE(!strncmp(addr, "[::1]:", 6));
	sa.sin6_port = htons(metrics__port(m));
	c.cap = 4096;
	c.buf = malloc(c.cap + 1);
	c.fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_NOT_NULL(c.buf);
	ASSERT_TRUE(c.fd >= 0);
	ASSERT_EQ_INT(connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_TRUE(tcl_send(&c, "GET /metrics HTTP/1.1\r\n\r\n", 25));
	ASSERT_TRUE(pump(m, &r, &c, 1, PUMP_MS));
	ASSERT_NOT_NULL(strstr(c.buf, "\naw_up 6\n"));
	tcl_close(&c);
	metrics__free(m);
}
