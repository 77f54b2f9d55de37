// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the RFC 5424 formatter on arbitrary fields.  Checks, not just
 * crashes: whatever slog__format() accepts must re-parse with the RFC 5424
 * ABNF (PRI, header fields, SD-ELEMENT, escaped PARAM-VALUEs, BOM + UTF-8
 * MSG), each value must come back as given when it was clean UTF-8, and
 * the MSG must be the input or, when truncated, a prefix cut at a
 * character boundary.
 *
 * Input: byte 0 facility and severity, byte 1 flags, bytes 2-3 the buffer
 * size, then '\n'-separated fields: hostname, msgid, then name/value pairs;
 * the last field is the MSG.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "slog.h"

#define MAXF (2 + 2 * SLOG_MAX_PARAMS + 1)

struct field {
	const char *p;
	size_t n;
};

static void check(int cond)
{
	if (!cond)
		abort();
}

static const char *expect_field(const char *p, const char *end, size_t max)
{
	const char *s = p;

	while (p < end && *p != ' ') {
		check(*p >= 33 && *p <= 126);
		p++;
	}
	check(p > s && (size_t)(p - s) <= max && p < end);
	return p + 1;
}

static const char *expect_name(const char *p, const char *end, char stop)
{
	const char *s = p;

	while (p < end && *p != stop) {
		check(*p >= 33 && *p <= 126 && *p != '=' && *p != ']' && *p != '"');
		p++;
	}
	check(p > s && p - s <= 32 && p < end);
	return p;
}

/* A PARAM-VALUE after its opening quote: unescaped into v, returns the
 * position after the closing quote. */
static const char *expect_value(const char *p, const char *end, char *v, size_t *vl)
{
	*vl = 0;
	for (;;) {
		check(p < end);
		if (*p == '"')
			return p + 1;
		check(*p != ']');
		if (*p == '\\') {
			check(p + 1 < end && (p[1] == '"' || p[1] == '\\' || p[1] == ']'));
			p++;
		}
		check((unsigned char)*p >= 0x20 && *p != 0x7f);
		v[(*vl)++] = *p++;
		check(*vl <= SLOG_VALUE_MAX);
	}
}

static bool clean(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return n <= SLOG_VALUE_MAX && slog__utf8_valid(s, n);
}

static const char *expect_sd(const char *p, const char *end, const char *h_sd_id,
			     const struct slog_param *pr, size_t np, bool truncated)
{
	char v[SLOG_VALUE_MAX + 1];
	size_t i, vl;

	if (*p == '-') {
		check(!h_sd_id || (!np && !truncated));
		return p + 1;
	}
	check(*p == '[');
	p = expect_name(p + 1, end, ' ');
	for (i = 0; i < np + truncated; i++) {
		const char *name;

		check(*p == ' ');
		name = ++p;
		p = expect_name(p, end, '=');
		check(p + 1 < end && p[1] == '"');
		if (i == np) {
			check(!strncmp(name, "truncated=", 10));
			p = expect_value(p + 2, end, v, &vl);
			continue;
		}
		check((size_t)(p - name) == strlen(pr[i].name) && !memcmp(name, pr[i].name, p - name));
		p = expect_value(p + 2, end, v, &vl);
		if (clean(pr[i].value, strlen(pr[i].value)))
			check(vl == strlen(pr[i].value) && !memcmp(v, pr[i].value, vl));
		check(slog__utf8_valid(v, vl));
	}
	check(p < end && *p == ']');
	return p + 1;
}

static void reparse(const char *b, size_t n, const struct slog_header *h, const char *msg,
		    size_t len, bool truncated)
{
	const char *p = b, *end = b + n;
	char pri[8];
	size_t k;

	k = (size_t)snprintf(pri, sizeof(pri), "<%d>1 ", h->facility * 8 + h->severity);
	check(n > k && !memcmp(p, pri, k));
	p += k;
	if (*p == '-') {
		check(!h->time_ns);
		p += 2;
	} else {
		check(n - (p - b) > 28 && p[10] == 'T' && p[19] == '.' && p[26] == 'Z' && p[27] == ' ');
		p += 28;
	}
	p = expect_field(p, end, 255);
	p = expect_field(p, end, 48);
	p = expect_field(p, end, 128);
	p = expect_field(p, end, 32);
	p = expect_sd(p, end, h->sd_id, h->params, h->nparams, truncated && h->sd_id);
	if (p == end) {
		check(!len);
		return;
	}
	check(*p++ == ' ');
	/* The BOM exactly when asked for and the MSG is UTF-8. */
	if (h->bom && slog__utf8_valid(msg, len)) {
		check(end - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3));
		p += 3;
		check(slog__utf8_valid(p, end - p));
	}
	check((size_t)(end - p) <= len && !memcmp(p, msg, end - p));
	check(truncated || (size_t)(end - p) == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slog_param pr[SLOG_MAX_PARAMS];
	struct field f[MAXF];
	struct slog_header h = { 0 };
	char strs[MAXF][300], *buf;
	size_t nf = 0, i, cap;
	const char *p, *end;
	bool trunc;
	int r;

	if (size < 4)
		return 0;
	h.facility = data[0] % 24;
	h.severity = data[0] / 24 % 8;
	h.bom = data[1] & 1;
	h.sd_id = data[1] & 2 ? NULL : SLOG_DEFAULT_SD_ID;
	h.time_ns = data[1] & 4 ? 0 : 1767323045123456789ull;
	h.app = "agentwatch";
	h.procid = "4242";
	cap = 1 + (data[2] | data[3] << 8) % 8192;
	p = (const char *)data + 4;
	end = (const char *)data + size;
	while (nf < MAXF - 1) {
		const char *nl = memchr(p, '\n', end - p);

		if (!nl)
			break;
		f[nf++] = (struct field){ p, (size_t)(nl - p) };
		p = nl + 1;
	}
	f[nf++] = (struct field){ p, (size_t)(end - p) };	/* the MSG: the rest */
	/* Header and param fields as C strings (cut at 299 bytes and a NUL). */
	for (i = 0; i + 1 < nf; i++) {
		size_t n = f[i].n < 299 ? f[i].n : 299;
		char *z;

		memcpy(strs[i], f[i].p, n);
		strs[i][n] = '\0';
		if ((z = memchr(strs[i], '\0', n)))
			*z = '\0';
	}
	if (nf > 1)
		h.hostname = strs[0];
	if (nf > 2)
		h.msgid = strs[1];
	for (i = 2; i + 2 < nf; i += 2)
		pr[h.nparams++] = (struct slog_param){ strs[i], strs[i + 1] };
	h.params = pr;

	buf = malloc(cap);
	if (!buf)
		return 0;
	r = slog__format(buf, cap, &h, f[nf - 1].p, f[nf - 1].n, &trunc);
	if (r >= 0) {
		check((size_t)r < cap && buf[r] == '\0');
		reparse(buf, r, &h, f[nf - 1].p, f[nf - 1].n, trunc);
	}
	free(buf);
	return 0;
}
