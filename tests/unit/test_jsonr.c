// SPDX-License-Identifier: GPL-2.0
/* The JSON reader, against the JSON writer: what one writes the other
 * reads back byte for byte, hostile bytes included. */
#include "test.h"
#include "json.h"
#include "jsonr.h"

void test_jsonr_roundtrip_hostile_bytes(void)
{
	static const char raw[] = "a\x01\x1b[31m\n\"\\\xff\xfe\xc3\xa9\xf0\x9f\x98\x80\x00z";
	struct jsonw *w = jsonw__new();
	struct jdoc *d;
	const struct jnode *v;
	const char *s;
	size_t len;
	char err[128];

	ASSERT_NOT_NULL(w);
	jsonw__obj_begin(w);
	jsonw__key(w, "argv");
	jsonw__arr_begin(w);
	jsonw__strn(w, raw, sizeof(raw) - 1);
	jsonw__arr_end(w);
	jsonw__key(w, "n");
	jsonw__i64(w, -42);
	jsonw__key(w, "ok");
	jsonw__bool(w, true);
	jsonw__obj_end(w);
	s = jsonw__data(w, &len);
	d = jsonr__parse(s, len, err, sizeof(err));
	jsonw__free(w);
	ASSERT_NOT_NULL(d);
	v = jnode__get(jsonr__root(d), "argv");
	ASSERT_NOT_NULL(v);
	ASSERT_EQ_INT(v->t, J_ARR);
	s = jnode__str(v->child, &len);
	ASSERT_EQ_U64(len, sizeof(raw) - 1);
	ASSERT_EQ_MEM(s, raw, len);
	ASSERT_EQ_INT(jnode__int(jnode__get(jsonr__root(d), "n"), 0), -42);
	ASSERT_TRUE(jnode__bool(jnode__get(jsonr__root(d), "ok")));
	ASSERT_NULL(jnode__get(jsonr__root(d), "missing"));
	jsonr__free(d);
}

void test_jsonr_surrogate_pairs_and_lone_surrogates(void)
{
	const char *in = "[\"\\ud83d\\ude00\", \"\\ud800x\", \"\\udc80\"]";
	struct jdoc *d = jsonr__parse(in, strlen(in), NULL, 0);
	const struct jnode *e;

	ASSERT_NOT_NULL(d);
	e = jsonr__root(d)->child;
	ASSERT_EQ_STR(jnode__str(e, NULL), "\xf0\x9f\x98\x80");
	ASSERT_EQ_STR(jnode__str(e->next, NULL), "\xef\xbf\xbdx"); /* lone high: U+FFFD */
	ASSERT_EQ_STR(jnode__str(e->next->next, NULL), "\x80");    /* escaped raw byte */
	jsonr__free(d);
}

void test_jsonr_errors(void)
{
	static const char *bad[] = {
		"", "{", "[1,]", "{\"a\" 1}", "\"abc", "[\"\\q\"]", "[\"a\x01\"]", "1 2", "nul",
		"{\"a\":}", "[\"\\u12\"]",
	};
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jdoc *d = jsonr__parse(bad[i], strlen(bad[i]), err, sizeof(err));

		if (d) {
			jsonr__free(d);
			test__fail(__FILE__, __LINE__, "parsed invalid JSON %s", bad[i]);
			return;
		}
		ASSERT_TRUE(strncmp(err, "offset ", 7) == 0);
	}
}

void test_jsonr_depth_cap(void)
{
	char buf[JSONR_MAX_DEPTH * 2 + 8];
	size_t i, n = 0;

	for (i = 0; i < JSONR_MAX_DEPTH + 1; i++)
		buf[n++] = '[';
	for (i = 0; i < JSONR_MAX_DEPTH + 1; i++)
		buf[n++] = ']';
	ASSERT_NULL(jsonr__parse(buf, n, NULL, 0));
	n = 0;
	for (i = 0; i < JSONR_MAX_DEPTH; i++)
		buf[n++] = '[';
	for (i = 0; i < JSONR_MAX_DEPTH; i++)
		buf[n++] = ']';
	{
		struct jdoc *d = jsonr__parse(buf, n, NULL, 0);

		ASSERT_NOT_NULL(d);
		jsonr__free(d);
	}
}

void test_jsonr_exact_u64(void)
{
	const char *in = "[18446744073709551615, 9007199254740993, 18446744073709551616, -1, 1.5, 7]";
	struct jdoc *d = jsonr__parse(in, strlen(in), NULL, 0);
	const struct jnode *e;

	ASSERT_NOT_NULL(d);
	e = jsonr__root(d)->child;
	ASSERT_EQ_U64(jnode__u64(e, 0), UINT64_MAX);
	ASSERT_EQ_U64(jnode__u64(e->next, 0), 9007199254740993ull);	/* 2^53 + 1 */
	ASSERT_EQ_U64(jnode__u64(e->next->next, 1), 1);			/* overflows: dflt */
	ASSERT_EQ_U64(jnode__u64(e->next->next->next, 2), 2);		/* negative */
	ASSERT_EQ_U64(jnode__u64(e->next->next->next->next, 3), 3);	/* fraction */
	ASSERT_EQ_U64(jnode__u64(e->next->next->next->next->next, 0), 7);
	ASSERT_EQ_INT(jnode__int(e->next->next->next->next->next, 0), 7);
	jsonr__free(d);
}
