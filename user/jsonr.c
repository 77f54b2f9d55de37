// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"

/*
 * Nodes and decoded strings come from an arena owned by the document: one
 * parse is a handful of allocations instead of two per value (the log
 * queries parse every record of a million-record log).
 */
struct ablock {
	struct ablock *next;
	size_t used, cap;
	max_align_t data[];
};

struct jdoc {
	struct jnode *root;
	struct ablock *blocks;  /* newest first */
	size_t next_cap;
};

struct parser {
	const char *p, *start, *end;
	struct jdoc *doc;
	char *err;
	size_t errlen;
	int depth;
};

static int fail(struct parser *ps, const char *what)
{
	if (ps->err && ps->errlen && !ps->err[0])
		snprintf(ps->err, ps->errlen, "offset %zu: %s", (size_t)(ps->p - ps->start), what);
	return -EINVAL;
}

/* n bytes, aligned for any type, zeroed; NULL when out of memory. */
static void *arena_alloc(struct jdoc *d, size_t n)
{
	struct ablock *b = d->blocks;
	size_t a = _Alignof(max_align_t), cap;
	void *p;

	n = (n + a - 1) / a * a;
	if (!b || b->cap - b->used < n) {
		cap = d->next_cap > n ? d->next_cap : n;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = d->blocks;
		b->used = 0;
		b->cap = cap;
		d->blocks = b;
		if (d->next_cap < (64u << 20))
			d->next_cap *= 2;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	return memset(p, 0, n);
}

static struct jnode *node_new(struct parser *ps, enum jtype t)
{
	struct jnode *n = arena_alloc(ps->doc, sizeof(*n));

	if (n)
		n->t = t;
	return n;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return fail(ps, "expected 4 hex digits after \\u");
	for (i = 0; i < 4; i++) {
		char c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(ps, "expected a hex digit");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* A string at ps->p (after the opening quote).  Decoded output is never
 * longer than the escaped input, so one allocation of that size is enough. */
static int parse_string(struct parser *ps, char **out, size_t *out_len)
{
	const char *q = ps->p;
	bool escaped = false;
	char *buf, *o;

	/* One pass to the closing quote; most strings have no escape and no
	 * control byte, and are then copied whole. */
	while (q < ps->end && *q != '"') {
		if (*q == '\\') {
			escaped = true;
			q++;
		} else if ((unsigned char)*q < 0x20) {
			escaped = true; /* the slow path below reports it */
		}
		q++;
	}
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	if (!escaped) {
		buf = arena_alloc(ps->doc, q - ps->p + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, ps->p, q - ps->p);
		*out = buf;
		*out_len = q - ps->p;
		ps->p = q + 1;
		return 0;
	}
	buf = arena_alloc(ps->doc, q - ps->p + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = *ps->p++;
		unsigned cp, lo;

		if (c < 0x20) {
			return fail(ps, "raw control byte in a string");
		}
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (ps->p >= ps->end)
			break;
		switch (*ps->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (hex4(ps, &cp)) {
				return -EINVAL;
			}
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u') {
				const char *save = ps->p;

				ps->p += 2;
				if (hex4(ps, &lo)) {
					return -EINVAL;
				}
				if (lo >= 0xdc00 && lo < 0xe000) {
					o += put_utf8(o, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
					break;
				}
				ps->p = save;
			}
			if (cp >= 0xdc80 && cp <= 0xdcff)
				*o++ = (char)(cp - 0xdc00);   /* a raw byte, escaped losslessly */
			else if (cp >= 0xd800 && cp < 0xe000)
				o += put_utf8(o, 0xfffd);
			else
				o += put_utf8(o, cp);
			break;
		default:
			return fail(ps, "unknown escape");
		}
	}
	if (ps->p >= ps->end) {
		return fail(ps, "unterminated string");
	}
	ps->p++; /* closing quote */
	*o = '\0';
	*out = buf;
	*out_len = o - buf;
	return 0;
}

static int parse_value(struct parser *ps, struct jnode **out);

static int parse_container(struct parser *ps, struct jnode *n, char close)
{
	struct jnode **tail = &n->child;

	if (++ps->depth > JSONR_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t key_len = 0;
		struct jnode *v;
		int err;

		skip_ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			ps->p++;
			if ((err = parse_string(ps, &key, &key_len)))
				return err;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') 
				return fail(ps, "expected ':'");
			ps->p++;
		}
		if ((err = parse_value(ps, &v))) 
			return err;
		v->key = key;
		v->key_len = key_len;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		return fail(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool take_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	ps->p += n;
	return true;
}

/* Identifiers such as cgroup ids are u64: keep the exact value of a plain
 * integer beside the double, which rounds above 2^53. */
static void exact_u64(struct jnode *n, const char *num, size_t k)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < k; i++) {
		unsigned d = (unsigned char)num[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return;
		v = v * 10 + d;
	}
	n->is_u64 = true;
	n->u64 = v;
}

static int parse_value(struct parser *ps, struct jnode **out)
{
	struct jnode *n;
	char c;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "expected a value");
	c = *ps->p;
	if (c == '{' || c == '[') {
		n = node_new(ps, c == '{' ? J_OBJ : J_ARR);
		if (!n)
			return -ENOMEM;
		ps->p++;
		*out = n;
		return parse_container(ps, n, c == '{' ? '}' : ']');
	}
	if (c == '"') {
		n = node_new(ps, J_STR);
		if (!n)
			return -ENOMEM;
		ps->p++;
		*out = n;
		return parse_string(ps, &n->s, &n->s_len);
	}
	if (take_word(ps, "true") || take_word(ps, "false")) {
		n = node_new(ps, J_BOOL);
		if (!n)
			return -ENOMEM;
		n->b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		*out = n;
		return 0;
	}
	if (take_word(ps, "null")) {
		n = node_new(ps, J_NULL);
		*out = n;
		return n ? 0 : -ENOMEM;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		char num[64];
		size_t k = 0;
		char *e;

		while (ps->p < ps->end && k + 1 < sizeof(num) &&
		       strchr("+-0123456789.eE", *ps->p))
			num[k++] = *ps->p++;
		num[k] = '\0';
		n = node_new(ps, J_NUM);
		if (!n)
			return -ENOMEM;
		n->num = strtod(num, &e);
		if (*e || !k)
			return fail(ps, "bad number");
		exact_u64(n, num, k);
		*out = n;
		return 0;
	}
	return fail(ps, "expected a value");
}

struct jdoc *jsonr__parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps = { text, text, text + len, NULL, err, errlen, 0 };
	struct jdoc *d = calloc(1, sizeof(*d));

	if (err && errlen)
		err[0] = '\0';
	if (!d)
		return NULL;
	/* Most of a record's bytes become node or string memory: start there. */
	d->next_cap = len < 2048 ? 4096 : 2 * len;
	ps.doc = d;
	if (parse_value(&ps, &d->root)) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "out of memory");
		jsonr__free(d);
		return NULL;
	}
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing bytes after the value");
		jsonr__free(d);
		return NULL;
	}
	return d;
}

void jsonr__free(struct jdoc *d)
{
	struct ablock *b, *next;

	if (!d)
		return;
	for (b = d->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(d);
}

const struct jnode *jsonr__root(const struct jdoc *d)
{
	return d ? d->root : NULL;
}

const struct jnode *jnode__get(const struct jnode *obj, const char *key)
{
	const struct jnode *n;
	size_t kl = strlen(key);

	if (!obj || obj->t != J_OBJ)
		return NULL;
	for (n = obj->child; n; n = n->next)
		if (n->key_len == kl && !memcmp(n->key, key, kl))
			return n;
	return NULL;
}

const char *jnode__str(const struct jnode *n, size_t *len)
{
	if (!n || n->t != J_STR)
		return NULL;
	if (len)
		*len = n->s_len;
	return n->s;
}

int64_t jnode__int(const struct jnode *n, int64_t dflt)
{
	if (!n || n->t != J_NUM || isnan(n->num) || n->num > 9.2e18 || n->num < -9.2e18)
		return dflt;
	return (int64_t)n->num;
}

bool jnode__bool(const struct jnode *n)
{
	return n && n->t == J_BOOL && n->b;
}

uint64_t jnode__u64(const struct jnode *n, uint64_t dflt)
{
	return n && n->t == J_NUM && n->is_u64 ? n->u64 : dflt;
}
