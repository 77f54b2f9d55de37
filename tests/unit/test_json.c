// SPDX-License-Identifier: GPL-2.0
/* Tests for user/json.c: the JSON writer and text_escape(). */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "json.h"

/* --- a tiny strict JSON checker, so tests check validity, not just bytes --- */

struct jp {
	const unsigned char *s;
	size_t i, n;
	int depth;
};

static bool jp_value(struct jp *p);

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\t' || p->s[p->i] == '\r'))
		p->i++;
}

static bool jp_lit(struct jp *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0)
		return false;
	p->i += l;
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(unsigned char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (unsigned char)(0xc0 | cp >> 6);
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (unsigned char)(0xe0 | cp >> 12);
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (unsigned char)(0xf0 | cp >> 18);
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3f));
	}
}

/*
 * A JSON string at p->i.  With out set, decode it the way Python's
 * json.loads(...).encode('utf-8', 'surrogateescape') would: U+DC80..U+DCFF
 * become the single byte 0x80..0xff.  Raw bytes must be printable ASCII
 * or UTF-8 (this is what a strict parser accepts, and our writer promises
 * more: no raw control bytes at all).
 */
static bool jp_string(struct jp *p, unsigned char *out, size_t *olen)
{
	size_t o = 0;

	if (p->i >= p->n || p->s[p->i] != '"')
		return false;
	p->i++;
	while (p->i < p->n && p->s[p->i] != '"') {
		unsigned char c = p->s[p->i++];
		uint32_t cp = 0;
		int k, h;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c != '\\') {
			if (out)
				out[o++] = c;
			continue;
		}
		if (p->i >= p->n)
			return false;
		c = p->s[p->i++];
		switch (c) {
		case '"': case '\\': case '/': cp = c; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (p->n - p->i < 4)
				return false;
			for (k = 0; k < 4; k++) {
				h = hexval(p->s[p->i++]);
				if (h < 0)
					return false;
				cp = cp << 4 | (uint32_t)h;
			}
			break;
		default:
			return false;
		}
		if (!out)
			continue;
		if (cp >= 0xdc80 && cp <= 0xdcff)
			out[o++] = (unsigned char)(cp & 0xff);
		else
			put_utf8(out, &o, cp);
	}
	if (p->i >= p->n)
		return false;
	p->i++;
	if (olen)
		*olen = o;
	return true;
}

static bool jp_number(struct jp *p)
{
	size_t start = p->i;

	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0') {
		p->i++;
	} else {
		if (p->i >= p->n || p->s[p->i] < '1' || p->s[p->i] > '9')
			return false;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	return p->i > start;
}

static bool jp_container(struct jp *p, char close, bool obj)
{
	bool first = true;

	if (++p->depth > 64)
		return false;
	p->i++;
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return true;
	}
	for (;;) {
		jp_ws(p);
		if (!first) {
			if (p->i >= p->n || p->s[p->i] != ',')
				break;
			p->i++;
			jp_ws(p);
		}
		first = false;
		if (obj) {
			if (!jp_string(p, NULL, NULL))
				return false;
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i++] != ':')
				return false;
		}
		if (!jp_value(p))
			return false;
	}
	if (p->i >= p->n || p->s[p->i] != close)
		return false;
	p->i++;
	p->depth--;
	return true;
}

static bool jp_value(struct jp *p)
{
	jp_ws(p);
	if (p->i >= p->n)
		return false;
	switch (p->s[p->i]) {
	case '{': return jp_container(p, '}', true);
	case '[': return jp_container(p, ']', false);
	case '"': return jp_string(p, NULL, NULL);
	case 't': return jp_lit(p, "true");
	case 'f': return jp_lit(p, "false");
	case 'n': return jp_lit(p, "null");
	default:  return jp_number(p);
	}
}

/* Exactly one JSON value, nothing after it. */
static bool json_valid(const char *s)
{
	struct jp p = { (const unsigned char *)s, 0, strlen(s), 0 };

	if (!jp_value(&p))
		return false;
	jp_ws(&p);
	return p.i == p.n;
}

/* Decode json (exactly one string) into out; returns its length or -1. */
static long json_decode(const char *json, unsigned char *out)
{
	struct jp p = { (const unsigned char *)json, 0, strlen(json), 0 };
	size_t olen = 0;

	if (!jp_string(&p, out, &olen) || p.i != p.n)
		return -1;
	return (long)olen;
}

/* Every output byte is printable ASCII or part of valid, non-C1 UTF-8. */
static bool output_clean(const char *s)
{
	char tmp[16];
	size_t i = 0, n = strlen(s);

	/* text_escape leaves exactly such text unchanged, apart from '\'. */
	while (i < n) {
		size_t step = 1;
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			step = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (step > n - i)
				return false;
		}
		if (text_escape(s + i, step, tmp, sizeof(tmp)) != step ||
		    memcmp(tmp, s + i, step) != 0)
			return false;
		i += step;
	}
	return true;
}

/* Encode n bytes as a lone string; returns the writer's text (static copy). */
static const char *enc(const char *s, size_t n)
{
	static char *last;
	struct jsonw *w = jsonw__new();

	free(last);
	last = NULL;
	if (!w)
		return NULL;
	jsonw__strn(w, s, n);
	if (jsonw__error(w) == 0)
		last = strdup(jsonw__data(w, NULL));
	jsonw__free(w);
	return last;
}

#define ENC(lit) enc(lit, sizeof(lit) - 1)

/* Asserts that bytes encode to exactly expect and decode back. */
#define ASSERT_ENC(lit, expect) do {					\
	const char *e__ = ENC(lit);					\
	unsigned char d__[sizeof(lit) + 8];				\
	ASSERT_EQ_STR(e__, expect);					\
	ASSERT_TRUE(json_valid(e__));					\
	ASSERT_EQ_INT(json_decode(e__, d__), sizeof(lit) - 1);		\
	ASSERT_EQ_MEM(d__, lit, sizeof(lit) - 1);			\
} while (0)

/* The checker itself must reject bad input, or the tests prove nothing. */
void test_json_checker_rejects(void)
{
	unsigned char d[8];

	ASSERT_TRUE(json_valid("{\"a\":[1,true,null,\"x\"]}"));
	ASSERT_FALSE(json_valid("{\"a\":1,}"));
	ASSERT_FALSE(json_valid("[1 2]"));
	ASSERT_FALSE(json_valid("{\"a\" 1}"));
	ASSERT_FALSE(json_valid("{1:2}"));
	ASSERT_FALSE(json_valid("[1]]"));
	ASSERT_FALSE(json_valid("\"a\nb\""));
	ASSERT_FALSE(json_valid("\"\\x41\""));
	ASSERT_FALSE(json_valid("\"\\u12\""));
	ASSERT_FALSE(json_valid("[01]"));
	ASSERT_FALSE(json_valid(""));
	ASSERT_EQ_INT(json_decode("\"\\udcff\\u00e9\"", d), 3);
	ASSERT_EQ_MEM(d, "\xff\xc3\xa9", 3);
	ASSERT_FALSE(output_clean("a\x1b"));
	ASSERT_FALSE(output_clean("\xc2\x9b"));
	ASSERT_FALSE(output_clean("\xff"));
	ASSERT_TRUE(output_clean("\xc3\xa9\xf0\x9f\x98\x80 ok \\"));
}

void test_json_new_free(void)
{
	struct jsonw *w = jsonw__new();
	size_t len = 99;

	ASSERT_NOT_NULL(w);
	ASSERT_EQ_STR(jsonw__data(w, &len), "");
	ASSERT_EQ_U64(len, 0);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	jsonw__free(w);
	jsonw__free(NULL);
	ASSERT_EQ_STR(jsonw__data(NULL, &len), "");
	ASSERT_EQ_U64(len, 0);
	/* NULL writer: every call is a harmless no-op */
	jsonw__obj_begin(NULL);
	jsonw__key(NULL, "k");
	jsonw__str(NULL, "v");
	jsonw__obj_end(NULL);
	jsonw__reset(NULL);
}

void test_json_nesting_commas(void)
{
	struct jsonw *w = jsonw__new();
	const char *expect =
		"{\"a\":1,\"b\":[],\"c\":{},\"d\":[1,[2,3],{\"e\":null},\"s\"],"
		"\"f\":{\"g\":{\"h\":[true,false]}},\"i\":-5}";
	size_t len;

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "a"); jsonw__u64(w, 1);
	jsonw__key(w, "b"); jsonw__arr_begin(w); jsonw__arr_end(w);
	jsonw__key(w, "c"); jsonw__obj_begin(w); jsonw__obj_end(w);
	jsonw__key(w, "d");
	jsonw__arr_begin(w);
	jsonw__u64(w, 1);
	jsonw__arr_begin(w); jsonw__u64(w, 2); jsonw__u64(w, 3); jsonw__arr_end(w);
	jsonw__obj_begin(w); jsonw__key(w, "e"); jsonw__null(w); jsonw__obj_end(w);
	jsonw__str(w, "s");
	jsonw__arr_end(w);
	jsonw__key(w, "f");
	jsonw__obj_begin(w); jsonw__key(w, "g");
	jsonw__obj_begin(w); jsonw__key(w, "h");
	jsonw__arr_begin(w); jsonw__bool(w, true); jsonw__bool(w, false); jsonw__arr_end(w);
	jsonw__obj_end(w);
	jsonw__obj_end(w);
	jsonw__key(w, "i"); jsonw__i64(w, -5);
	jsonw__obj_end(w);

	ASSERT_EQ_INT(jsonw__error(w), 0);
	ASSERT_EQ_STR(jsonw__data(w, &len), expect);
	ASSERT_EQ_U64(len, strlen(expect));
	ASSERT_TRUE(json_valid(jsonw__data(w, NULL)));
	jsonw__free(w);
}

void test_json_numbers(void)
{
	struct jsonw *w = jsonw__new();

	ASSERT_NOT_NULL(w);
	jsonw__arr_begin(w);
	jsonw__u64(w, 0);
	jsonw__u64(w, UINT64_MAX);
	jsonw__i64(w, INT64_MIN);
	jsonw__i64(w, INT64_MAX);
	jsonw__i64(w, -1);
	jsonw__arr_end(w);
	ASSERT_EQ_STR(jsonw__data(w, NULL),
		      "[0,18446744073709551615,-9223372036854775808,9223372036854775807,-1]");
	ASSERT_TRUE(json_valid(jsonw__data(w, NULL)));
	jsonw__free(w);
}

void test_json_null_strings_and_raw(void)
{
	struct jsonw *w = jsonw__new();

	ASSERT_NOT_NULL(w);
	jsonw__arr_begin(w);
	jsonw__str(w, NULL);
	jsonw__strn(w, NULL, 5);
	jsonw__strn(w, "", 0);
	jsonw__raw(w, "{\"pre\":[1,2]}");
	jsonw__raw(w, NULL);
	jsonw__str(w, "");
	jsonw__arr_end(w);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	ASSERT_EQ_STR(jsonw__data(w, NULL), "[null,null,\"\",{\"pre\":[1,2]},null,\"\"]");
	jsonw__free(w);
}

void test_json_key_escaped(void)
{
	struct jsonw *w = jsonw__new();

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "a\"b\n\x1b");
	jsonw__u64(w, 1);
	jsonw__obj_end(w);
	ASSERT_EQ_STR(jsonw__data(w, NULL), "{\"a\\\"b\\n\\u001b\":1}");
	ASSERT_TRUE(json_valid(jsonw__data(w, NULL)));
	jsonw__free(w);
}

void test_json_every_control_byte(void)
{
	static const char *const expect[0x20] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
		"\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
		"\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
		"\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
		"\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
	};
	char in[3], want[16];
	unsigned char dec[4];
	int c;

	for (c = 0; c < 0x20; c++) {
		const char *got;

		in[0] = 'x';
		in[1] = (char)c;
		in[2] = 'y';
		got = enc(in, 3);
		snprintf(want, sizeof(want), "\"x%sy\"", expect[c]);
		ASSERT_EQ_STR(got, want);
		ASSERT_EQ_INT(json_decode(got, dec), 3);
		ASSERT_EQ_MEM(dec, in, 3);
	}
	ASSERT_ENC("\x7f", "\"\\u007f\"");
	ASSERT_ENC("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
}

void test_json_escape_sequences(void)
{
	ASSERT_ENC("\x1b[31mred\x1b[0m", "\"\\u001b[31mred\\u001b[0m\"");
	/* OSC 52 would write the clipboard of a terminal that shows it raw */
	ASSERT_ENC("\x1b]52;c;ZWNobw==\x07", "\"\\u001b]52;c;ZWNobw==\\u0007\"");
	ASSERT_ENC("rm -rf /\r\x1b[2K", "\"rm -rf /\\r\\u001b[2K\"");
}

void test_json_embedded_nul(void)
{
	ASSERT_ENC("a\0b", "\"a\\u0000b\"");
	ASSERT_ENC("\0\0", "\"\\u0000\\u0000\"");
	/* jsonw__str stops at the NUL, strn does not */
	{
		struct jsonw *w = jsonw__new();

		ASSERT_NOT_NULL(w);
		jsonw__str(w, "a\0b");
		ASSERT_EQ_STR(jsonw__data(w, NULL), "\"a\"");
		jsonw__free(w);
	}
}

void test_json_valid_utf8_passes(void)
{
	ASSERT_ENC("caf\xc3\xa9", "\"caf\xc3\xa9\"");			/* U+00E9 */
	ASSERT_ENC("\xc2\xa0", "\"\xc2\xa0\"");				/* U+00A0, first after C1 */
	ASSERT_ENC("\xdf\xbf", "\"\xdf\xbf\"");				/* U+07FF */
	ASSERT_ENC("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");			/* U+0800 */
	ASSERT_ENC("\xe2\x82\xac", "\"\xe2\x82\xac\"");			/* euro */
	ASSERT_ENC("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");			/* U+D7FF */
	ASSERT_ENC("\xee\x80\x80", "\"\xee\x80\x80\"");			/* U+E000 */
	ASSERT_ENC("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");			/* U+FFFF */
	ASSERT_ENC("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");		/* U+10000 */
	ASSERT_ENC("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");		/* emoji */
	ASSERT_ENC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");		/* U+10FFFF */
	ASSERT_ENC("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
}

void test_json_c1_controls(void)
{
	ASSERT_ENC("\xc2\x80", "\"\\u0080\"");
	ASSERT_ENC("a\xc2\x9b" "31m", "\"a\\u009b31m\"");		/* CSI */
	ASSERT_ENC("\xc2\x9f", "\"\\u009f\"");
}

void test_json_invalid_utf8(void)
{
	/* lone continuation bytes */
	ASSERT_ENC("\x80", "\"\\udc80\"");
	ASSERT_ENC("a\xbf" "b", "\"a\\udcbfb\"");
	/* truncated sequences, mid-string and at the end */
	ASSERT_ENC("\xc3", "\"\\udcc3\"");
	ASSERT_ENC("\xc3" "a", "\"\\udcc3a\"");
	ASSERT_ENC("\xe2\x82", "\"\\udce2\\udc82\"");
	ASSERT_ENC("\xe2\x82" "A", "\"\\udce2\\udc82A\"");
	ASSERT_ENC("\xf0\x9f\x98", "\"\\udcf0\\udc9f\\udc98\"");
	/* a broken sequence does not swallow the valid one after it */
	ASSERT_ENC("\xe2\xc3\xa9", "\"\\udce2\xc3\xa9\"");
	ASSERT_ENC("\xff\xc3\xa9", "\"\\udcff\xc3\xa9\"");
	/* overlongs */
	ASSERT_ENC("\xc0\xaf", "\"\\udcc0\\udcaf\"");
	ASSERT_ENC("\xc1\xbf", "\"\\udcc1\\udcbf\"");
	ASSERT_ENC("\xc0\x80", "\"\\udcc0\\udc80\"");
	ASSERT_ENC("\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\"");
	ASSERT_ENC("\xe0\x9f\xbf", "\"\\udce0\\udc9f\\udcbf\"");
	ASSERT_ENC("\xf0\x80\x80\xaf", "\"\\udcf0\\udc80\\udc80\\udcaf\"");
	ASSERT_ENC("\xf0\x8f\xbf\xbf", "\"\\udcf0\\udc8f\\udcbf\\udcbf\"");
	/* UTF-16 surrogates encoded in UTF-8 */
	ASSERT_ENC("\xed\xa0\x80", "\"\\udced\\udca0\\udc80\"");
	ASSERT_ENC("\xed\xbf\xbf", "\"\\udced\\udcbf\\udcbf\"");
	ASSERT_ENC("\xed\xb2\x80", "\"\\udced\\udcb2\\udc80\"");
	/* above U+10FFFF, and bytes that never appear in UTF-8 */
	ASSERT_ENC("\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\"");
	ASSERT_ENC("\xf5\x80\x80\x80", "\"\\udcf5\\udc80\\udc80\\udc80\"");
	ASSERT_ENC("\xf8\x88\x80\x80\x80", "\"\\udcf8\\udc88\\udc80\\udc80\\udc80\"");
	ASSERT_ENC("\xfe\xff", "\"\\udcfe\\udcff\"");
	/* a bad continuation byte inside a 4-byte sequence */
	ASSERT_ENC("\xf0\x9f\x41\x80", "\"\\udcf0\\udc9fA\\udc80\"");
}

/* xorshift64: deterministic, so a failure reproduces */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random bytes biased towards the interesting ones. */
static void random_bytes(unsigned char *b, size_t n)
{
	static const unsigned char pick[] = {
		0x00, 0x1b, 0x7f, '"', '\\', 'a', 0x80, 0xbf, 0xc0, 0xc2, 0xc3,
		0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9b, 0xa0, 0x8f, 0x90,
	};
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = rng();

		b[i] = r & 1 ? (unsigned char)(r >> 8) : pick[(r >> 8) % sizeof(pick)];
	}
}

/* The surrogateescape promise: any bytes survive encode + decode exactly. */
void test_json_roundtrip_random_bytes(void)
{
	unsigned char in[64], out[64 + 8];
	int iter;

	for (iter = 0; iter < 20000; iter++) {
		size_t n = rng() % sizeof(in);
		const char *e;

		random_bytes(in, n);
		e = enc((const char *)in, n);
		ASSERT_NOT_NULL(e);
		ASSERT_TRUE(json_valid(e));
		ASSERT_TRUE(output_clean(e));
		ASSERT_EQ_INT(json_decode(e, out), n);
		ASSERT_EQ_MEM(out, in, n);
	}
}

void test_json_big_string(void)
{
	size_t n = 1 << 20, i, len;
	char *in = malloc(n);
	unsigned char *dec = malloc(n + 8);
	struct jsonw *w = jsonw__new();
	const char *e;

	ASSERT_NOT_NULL(in);
	ASSERT_NOT_NULL(dec);
	ASSERT_NOT_NULL(w);
	/* mostly plain, with an escape every 1000 bytes */
	for (i = 0; i < n; i++)
		in[i] = i % 1000 == 999 ? '\n' : (char)('a' + i % 26);
	jsonw__strn(w, in, n);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	e = jsonw__data(w, &len);
	ASSERT_EQ_U64(len, n + n / 1000 + 2);
	ASSERT_EQ_INT(json_decode(e, dec), n);
	ASSERT_EQ_MEM(dec, in, n);

	/* worst case: every byte becomes six */
	jsonw__reset(w);
	memset(in, 0xff, n);
	jsonw__strn(w, in, n);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	e = jsonw__data(w, &len);
	ASSERT_EQ_U64(len, 6 * n + 2);
	ASSERT_EQ_MEM(e, "\"\\udcff\\udcff", 13);
	ASSERT_EQ_STR(e + len - 7, "\\udcff\"");
	ASSERT_EQ_INT(json_decode(e, dec), n);
	ASSERT_EQ_MEM(dec, in, n);
	jsonw__free(w);
	free(in);
	free(dec);
}

void test_json_reset_reuse(void)
{
	struct jsonw *w = jsonw__new();
	size_t len;

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "a");
	jsonw__reset(w);
	ASSERT_EQ_STR(jsonw__data(w, &len), "");
	ASSERT_EQ_U64(len, 0);
	/* state reset too: a fresh object gets no stray comma */
	jsonw__obj_begin(w);
	jsonw__key(w, "b");
	jsonw__u64(w, 2);
	jsonw__obj_end(w);
	ASSERT_EQ_STR(jsonw__data(w, NULL), "{\"b\":2}");
	/* reset clears a sticky error */
	jsonw__obj_end(w);
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);
	jsonw__reset(w);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	jsonw__arr_begin(w);
	jsonw__arr_end(w);
	ASSERT_EQ_STR(jsonw__data(w, NULL), "[]");
	jsonw__free(w);
}

void test_json_depth_limit(void)
{
	struct jsonw *w = jsonw__new();
	char expect[2 * JSONW_MAX_DEPTH + 1];
	int i;

	ASSERT_NOT_NULL(w);
	for (i = 0; i < JSONW_MAX_DEPTH; i++)
		jsonw__arr_begin(w);
	for (i = 0; i < JSONW_MAX_DEPTH; i++)
		jsonw__arr_end(w);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	memset(expect, '[', JSONW_MAX_DEPTH);
	memset(expect + JSONW_MAX_DEPTH, ']', JSONW_MAX_DEPTH);
	expect[2 * JSONW_MAX_DEPTH] = '\0';
	ASSERT_EQ_STR(jsonw__data(w, NULL), expect);

	jsonw__reset(w);
	for (i = 0; i <= JSONW_MAX_DEPTH; i++)
		jsonw__obj_begin(w), jsonw__key(w, "k");
	ASSERT_EQ_INT(jsonw__error(w), -E2BIG);
	/* sticky: nothing more is written */
	{
		size_t before, after;

		jsonw__data(w, &before);
		jsonw__u64(w, 1);
		jsonw__obj_end(w);
		jsonw__data(w, &after);
		ASSERT_EQ_U64(after, before);
		ASSERT_EQ_INT(jsonw__error(w), -E2BIG);
	}
	jsonw__free(w);
}

void test_json_misuse_is_an_error(void)
{
	struct jsonw *w = jsonw__new();

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__u64(w, 1);			/* value without a key */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__arr_begin(w);
	jsonw__key(w, "k");			/* key in an array */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__key(w, "k");			/* key at top level */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "a");
	jsonw__key(w, "b");			/* two keys in a row */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "a");
	jsonw__obj_end(w);			/* dangling key */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__obj_begin(w);
	jsonw__arr_end(w);			/* wrong kind */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__arr_end(w);			/* nothing open */
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);

	jsonw__reset(w);
	jsonw__obj_begin(w);
	jsonw__key(w, NULL);
	ASSERT_EQ_INT(jsonw__error(w), -EINVAL);
	jsonw__free(w);
}

void test_json_top_level_values_concatenate(void)
{
	struct jsonw *w = jsonw__new();

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__obj_end(w);
	jsonw__obj_begin(w);
	jsonw__obj_end(w);
	ASSERT_EQ_STR(jsonw__data(w, NULL), "{}{}");
	jsonw__free(w);
}

/* --- text_escape --- */

static const char *tesc(const char *s, size_t n, size_t *need)
{
	static char buf[512];

	*need = text_escape(s, n, buf, sizeof(buf));
	return buf;
}

#define ASSERT_TESC(lit, expect) do {					\
	size_t need__;							\
	const char *got__ = tesc(lit, sizeof(lit) - 1, &need__);	\
	ASSERT_EQ_STR(got__, expect);					\
	ASSERT_EQ_U64(need__, strlen(expect));				\
} while (0)

void test_text_escape_plain(void)
{
	ASSERT_TESC("", "");
	ASSERT_TESC("rm -rf /tmp/x", "rm -rf /tmp/x");
	ASSERT_TESC("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
	ASSERT_TESC("\xc2\xa0", "\xc2\xa0");
	ASSERT_TESC("a\\b", "a\\\\b");
	ASSERT_TESC("\"quoted\"", "\"quoted\"");
}

void test_text_escape_controls(void)
{
	char in[1], want[8], buf[8];
	int c;

	for (c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\\x%02x", c);
		ASSERT_EQ_U64(text_escape(in, 1, buf, sizeof(buf)), 4);
		ASSERT_EQ_STR(buf, want);
	}
	ASSERT_TESC("\x7f", "\\x7f");
	ASSERT_TESC("a\0b", "a\\x00b");
	ASSERT_TESC("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	ASSERT_TESC("line\r\n", "line\\x0d\\x0a");
	/* C1 controls: both bytes escaped, CSI included */
	ASSERT_TESC("\xc2\x9b" "2J", "\\xc2\\x9b2J");
	ASSERT_TESC("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
}

void test_text_escape_invalid_utf8(void)
{
	ASSERT_TESC("\xff", "\\xff");
	ASSERT_TESC("\x80" "a", "\\x80a");
	ASSERT_TESC("\xc0\xaf", "\\xc0\\xaf");
	ASSERT_TESC("\xed\xa0\x80", "\\xed\\xa0\\x80");
	ASSERT_TESC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	ASSERT_TESC("\xe2\x82", "\\xe2\\x82");
	ASSERT_TESC("\xe2\xc3\xa9", "\\xe2\xc3\xa9");
}

void test_text_escape_truncation(void)
{
	const char *in = "ab\x1b" "cd\xc3\xa9" "e";	/* ab \x1b cd é e */
	const char *full = "ab\\x1bcd\xc3\xa9" "e";
	size_t n = strlen(in), want = strlen(full), len;
	char buf[32];

	ASSERT_EQ_U64(text_escape(in, n, buf, sizeof(buf)), want);
	ASSERT_EQ_STR(buf, full);
	/* every buffer size: the need is the same, the output a prefix made
	 * of whole units and NUL-terminated, never half an escape */
	for (len = 1; len <= want + 1; len++) {
		memset(buf, 'Z', sizeof(buf));
		ASSERT_EQ_U64(text_escape(in, n, buf, len), want);
		ASSERT_TRUE(strlen(buf) < len);
		ASSERT_EQ_MEM(buf, full, strlen(buf));
		ASSERT_TRUE(buf[len] == 'Z');
		if (len <= 6)	/* "ab" + the 4-byte escape needs 7 */
			ASSERT_EQ_STR(buf, len < 3 ? (len == 1 ? "" : "a") : "ab");
		if (len == 9 || len == 10)	/* é (2 bytes) needs 8 + 2 + NUL */
			ASSERT_EQ_STR(buf, "ab\\x1bcd");
	}
	/* outlen 0: nothing written, need still reported */
	buf[0] = 'Z';
	ASSERT_EQ_U64(text_escape(in, n, buf, 0), want);
	ASSERT_TRUE(buf[0] == 'Z');
	ASSERT_EQ_U64(text_escape(NULL, 0, buf, sizeof(buf)), 0);
	ASSERT_EQ_STR(buf, "");
}

void test_text_escape_random_is_clean(void)
{
	unsigned char in[64];
	char out[64 * 4 + 1];
	int iter;

	for (iter = 0; iter < 5000; iter++) {
		size_t n = rng() % sizeof(in), need, i;

		random_bytes(in, n);
		need = text_escape((const char *)in, n, out, sizeof(out));
		ASSERT_TRUE(need < sizeof(out));
		ASSERT_EQ_U64(strlen(out), need);
		for (i = 0; i < need; i++) {
			unsigned char c = (unsigned char)out[i];

			ASSERT_TRUE(c >= 0x20 && c != 0x7f);
		}
		/* no raw C1 (C2 80..9F) survives */
		for (i = 0; i + 1 < need; i++)
			ASSERT_FALSE((unsigned char)out[i] == 0xc2 &&
				     (unsigned char)out[i + 1] <= 0x9f);
	}
}

/* A right-to-left override could make `rm -rf /` read differently on a
 * terminal: the text view escapes bidi controls byte by byte. */
void test_text_escape_bidi_controls(void)
{
	char out[128];

	text_escape("a\xe2\x80\xae" "b\xe2\x81\xa6" "c\xe2\x80\x8b", 12, out, sizeof(out));
	/* U+202E and U+2066 escaped; U+200B (zero width space) is not bidi */
	ASSERT_EQ_STR(out, "a\\xe2\\x80\\xaeb\\xe2\\x81\\xa6c\xe2\x80\x8b");
}

void test_json_bidi_controls_escaped(void)
{
	const char *e = enc("x\xe2\x80\xae" "y\xe2\x81\xa9", 8);
	unsigned char out[16];

	ASSERT_NOT_NULL(e);
	ASSERT_EQ_STR(e, "\"x\\u202ey\\u2069\"");
	ASSERT_EQ_INT(json_decode(e, out), 8);
	ASSERT_EQ_MEM(out, "x\xe2\x80\xae" "y\xe2\x81\xa9", 8);
}
