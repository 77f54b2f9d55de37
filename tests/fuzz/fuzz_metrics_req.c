// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the metrics endpoint's HTTP request parser on arbitrary bytes,
 * and the exposition writer with those bytes as a label value and HELP
 * text.  Beyond "no crash":
 *  - the parser answers only with the statuses metrics.h lists, a route
 *    only with 200, and always once METRICS_MAX_REQUEST bytes are in;
 *  - an answer, once given, is the one the longer input gets too: the
 *    server answers as soon as it can, so more bytes must not change it;
 *  - the exposition is valid UTF-8 with no control byte but the three
 *    '\n' that end its three lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "metrics.h"

static bool known_status(int s)
{
	return s == 200 || s == 400 || s == 404 || s == 405 || s == 414 || s == 431 || s == 505;
}

static void check_parser(const char *d, size_t n)
{
	struct metrics_req req, pre;
	int r = metrics__parse_request(d, n, &req);
	size_t cut;

	if (r != 0 && r != 1)
		abort();
	if (r == 0 && n >= METRICS_MAX_REQUEST)
		abort();
	if (r == 1 && (!known_status(req.status) ||
		       (req.status == 200) != (req.route != METRICS_ROUTE_NONE)))
		abort();
	for (cut = n / 2; cut < n; cut += (n - cut + 1) / 2) {
		if (metrics__parse_request(d, cut, &pre) != 1)
			continue;
		if (r != 1 || pre.status != req.status || pre.route != req.route ||
		    pre.head != req.head)
			abort();
	}
}

static void check_writer(const char *d, size_t n)
{
	struct prom_buf *b = prom__new();
	char *s = malloc(n + 1);
	const char *const l[] = { "v", s, NULL };
	const unsigned char *o;
	size_t len, i, lines = 0;

	if (!b || !s)
		goto out;
	memcpy(s, d, n);
	s[n] = '\0';		/* label values are C strings */
	prom__family(b, "m", PROM_GAUGE, s);
	prom__sample_u64(b, "m", l, 1);
	if (prom__error(b))
		goto out;	/* only -E2BIG is possible, and n is small */
	o = (const unsigned char *)prom__data(b, &len);
	for (i = 0; i < len;) {
		size_t k = utf8_seq_len(o + i, len - i);

		if (!k || o[i] == 0x7f || (o[i] < 0x20 && o[i] != '\n'))
			abort();
		lines += o[i] == '\n';
		i += k;
	}
	/* HELP only when the (NUL-cut) text is not empty. */
	if (lines != (s[0] ? 3u : 2u) || o[len - 1] != '\n')
		abort();
out:
	prom__free(b);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parser((const char *)data, size);
	if (size <= 4096)
		check_writer((const char *)data, size);
	return 0;
}
