// SPDX-License-Identifier: GPL-2.0
/* JSON writer and terminal escaper; see json.h for the string encoding. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSONW_INIT_CAP 256

enum level_kind { LEVEL_OBJ, LEVEL_ARR };

struct level {
	unsigned char kind;	/* enum level_kind */
	bool nonempty;		/* the next member needs a comma */
};

struct jsonw {
	char *buf;
	size_t len, cap;	/* buf[len] is always NUL */
	int err;
	int depth;
	bool after_key;		/* a key was written; its value comes next */
	struct level stack[JSONW_MAX_DEPTH];
};

/*
 * Length of the valid UTF-8 sequence starting at s[0] (n bytes available),
 * or 0 if s[0] does not start one.  The second-byte ranges are those of
 * RFC 3629's table, which exclude overlongs (E0 80..9F, F0 80..8F), UTF-16
 * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF);
 * C0 and C1 can only start overlongs.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* U+0080..U+009F: terminals may act on them like their 7-bit ESC forms. */
static bool is_c1(const unsigned char *s, size_t len)
{
	return len == 2 && s[0] == 0xc2 && s[1] <= 0x9f;
}

/*
 * Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) make a
 * terminal draw text in an order other than the bytes': an argv can look
 * like a harmless command while it is not.  The terminal view escapes them
 * and the JSON writes them as \\u escapes: the decoded string is the same.
 */
static bool is_bidi(const unsigned char *s, size_t len)
{
	if (len != 3 || s[0] != 0xe2)
		return false;
	return (s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
	       (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9);
}

struct jsonw *jsonw__new(void)
{
	struct jsonw *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->buf = malloc(JSONW_INIT_CAP);
	if (!w->buf) {
		free(w);
		return NULL;
	}
	w->cap = JSONW_INIT_CAP;
	w->buf[0] = '\0';
	return w;
}

void jsonw__free(struct jsonw *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

void jsonw__reset(struct jsonw *w)
{
	if (!w)
		return;
	w->len = 0;
	w->buf[0] = '\0';
	w->err = 0;
	w->depth = 0;
	w->after_key = false;
}

static void set_err(struct jsonw *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Room for extra more bytes plus the NUL; doubles so appends are O(1). */
static bool reserve(struct jsonw *w, size_t extra)
{
	size_t need = w->len + extra + 1, cap = w->cap;
	char *buf;

	if (w->err)
		return false;
	if (need <= cap)
		return true;
	if (need < w->len) {
		set_err(w, -ENOMEM);
		return false;
	}
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	buf = realloc(w->buf, cap);
	if (!buf) {
		set_err(w, -ENOMEM);
		return false;
	}
	w->buf = buf;
	w->cap = cap;
	return true;
}

static void put(struct jsonw *w, const void *p, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void putch(struct jsonw *w, char c)
{
	put(w, &c, 1);
}

/*
 * Called before every value: places the comma in an array and checks that
 * a value inside an object follows its key.  False means write nothing.
 */
static bool value_begin(struct jsonw *w)
{
	struct level *top;

	if (!w || w->err)
		return false;
	if (w->depth == 0)
		return true;
	top = &w->stack[w->depth - 1];
	if (top->kind == LEVEL_OBJ) {
		if (!w->after_key) {
			set_err(w, -EINVAL);
			return false;
		}
		w->after_key = false;
		return true;
	}
	if (top->nonempty)
		putch(w, ',');
	top->nonempty = true;
	return !w->err;
}

/* "\u" and four hex digits: hi selects the 00XX or the DCXX page. */
static void put_u(struct jsonw *w, unsigned char hi, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', hex[hi >> 4], hex[hi & 15], hex[c >> 4], hex[c & 15] };

	put(w, esc, sizeof(esc));
}

/* An ASCII byte that may not appear raw in a JSON string. */
static void escape_ascii(struct jsonw *w, unsigned char c)
{
	switch (c) {
	case '"':  put(w, "\\\"", 2); return;
	case '\\': put(w, "\\\\", 2); return;
	case '\n': put(w, "\\n", 2); return;
	case '\t': put(w, "\\t", 2); return;
	case '\r': put(w, "\\r", 2); return;
	case '\b': put(w, "\\b", 2); return;
	case '\f': put(w, "\\f", 2); return;
	}
	put_u(w, 0x00, c);
}

/* A byte that stands for itself inside a JSON string. */
static inline bool plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/*
 * Write s[0..n) as the body of a JSON string.  Safe runs are copied in
 * bulk; what needs escaping is one of: an ASCII byte, a C1 control (a valid
 * two-byte sequence, written as its code point), or a byte that starts no
 * valid sequence (written as U+DCXX, surrogateescape).  Invalid input is
 * consumed one byte at a time, so every byte of a broken sequence gets its
 * own escape and the next valid sequence is still recognised.
 */
static void put_escaped(struct jsonw *w, const unsigned char *s, size_t n)
{
	size_t i = 0, run = 0, len;

	/* Most strings need no escaping: one reservation up front. */
	if (!reserve(w, n + 2))
		return;
	while (i < n) {
		unsigned char c = s[i];

		if (plain_ascii(c)) {
			i++;
			continue;
		}
		len = c >= 0x80 ? utf8_len(s + i, n - i) : 1;
		if (c >= 0x80 && len && !is_c1(s + i, len) && !is_bidi(s + i, len)) {
			i += len;
			continue;
		}
		put(w, s + run, i - run);
		if (c < 0x80)
			escape_ascii(w, c);
		else if (len == 3) /* bidi control U+20xx */
			put_u(w, 0x20, ((s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f)) & 0xff);
		else if (len)
			put_u(w, 0x00, s[i + 1]);
		else
			put_u(w, 0xdc, c);
		i += len ? len : 1;
		run = i;
	}
	put(w, s + run, i - run);
}

static void put_string(struct jsonw *w, const char *s, size_t n)
{
	putch(w, '"');
	put_escaped(w, (const unsigned char *)s, n);
	putch(w, '"');
}

void jsonw__key(struct jsonw *w, const char *key)
{
	struct level *top;
	size_t n, i;
	char *o;

	if (!w || w->err)
		return;
	top = w->depth ? &w->stack[w->depth - 1] : NULL;
	if (!top || top->kind != LEVEL_OBJ || w->after_key || !key) {
		set_err(w, -EINVAL);
		return;
	}
	n = strlen(key);
	for (i = 0; i < n && plain_ascii((unsigned char)key[i]); i++)
		;
	if (i < n) {
		/* A key that needs escaping: the general path. */
		if (top->nonempty)
			putch(w, ',');
		top->nonempty = true;
		put_string(w, key, n);
		putch(w, ':');
		w->after_key = true;
		return;
	}
	/* The usual key, a plain identifier: one reservation, one copy. */
	if (!reserve(w, n + 4))
		return;
	o = w->buf + w->len;
	if (top->nonempty)
		*o++ = ',';
	top->nonempty = true;
	*o++ = '"';
	memcpy(o, key, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	*o = '\0';
	w->len = (size_t)(o - w->buf);
	w->after_key = true;
}

static void begin(struct jsonw *w, enum level_kind kind, char c)
{
	if (!value_begin(w))
		return;
	if (w->depth == JSONW_MAX_DEPTH) {
		set_err(w, -E2BIG);
		return;
	}
	w->stack[w->depth].kind = kind;
	w->stack[w->depth].nonempty = false;
	w->depth++;
	putch(w, c);
}

static void end(struct jsonw *w, enum level_kind kind, char c)
{
	if (!w || w->err)
		return;
	if (w->depth == 0 || w->stack[w->depth - 1].kind != kind || w->after_key) {
		set_err(w, -EINVAL);
		return;
	}
	w->depth--;
	putch(w, c);
}

void jsonw__obj_begin(struct jsonw *w) { begin(w, LEVEL_OBJ, '{'); }
void jsonw__obj_end(struct jsonw *w)   { end(w, LEVEL_OBJ, '}'); }
void jsonw__arr_begin(struct jsonw *w) { begin(w, LEVEL_ARR, '['); }
void jsonw__arr_end(struct jsonw *w)   { end(w, LEVEL_ARR, ']'); }

void jsonw__strn(struct jsonw *w, const char *s, size_t n)
{
	if (!s) {
		jsonw__null(w);
		return;
	}
	if (value_begin(w))
		put_string(w, s, n);
}

void jsonw__str(struct jsonw *w, const char *s)
{
	if (!s)
		jsonw__null(w);
	else
		jsonw__strn(w, s, strlen(s));
}

void jsonw__raw(struct jsonw *w, const char *json)
{
	if (!json)
		json = "null";
	if (value_begin(w))
		put(w, json, strlen(json));
}

/* Decimal digits of v, written backwards ending at end; returns the first.
 * Called for a dozen numbers in every record, where snprintf cost more than
 * all the rest of writing them. */
static char *u64_digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jsonw__u64(struct jsonw *w, uint64_t v)
{
	char tmp[24], *p = u64_digits(v, tmp + sizeof(tmp));

	if (value_begin(w))
		put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw__i64(struct jsonw *w, int64_t v)
{
	char tmp[24], *p;

	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	p = u64_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, tmp + sizeof(tmp));
	if (v < 0)
		*--p = '-';
	if (value_begin(w))
		put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw__bool(struct jsonw *w, bool v)
{
	jsonw__raw(w, v ? "true" : "false");
}

void jsonw__null(struct jsonw *w)
{
	jsonw__raw(w, "null");
}

const char *jsonw__data(const struct jsonw *w, size_t *len)
{
	if (len)
		*len = w ? w->len : 0;
	return w ? w->buf : "";
}

int jsonw__error(const struct jsonw *w)
{
	return w ? w->err : -EINVAL;
}

/*
 * One unit of terminal output for the bytes at s: a printable UTF-8
 * sequence copied whole, or one escaped byte.  Returns the unit's length
 * and sets *used to the input bytes it stands for.  A C1 control is valid
 * UTF-8 but is escaped byte by byte: its second byte alone starts no valid
 * sequence, so the next call escapes it too.
 */
static size_t text_unit(const unsigned char *s, size_t n, char unit[4], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = utf8_len(s, n);

	*used = 1;
	if (s[0] == '\\') {
		memcpy(unit, "\\\\", 2);
		return 2;
	}
	if (len && s[0] >= 0x20 && s[0] != 0x7f && !is_c1(s, len) && !is_bidi(s, len)) {
		memcpy(unit, s, len);
		*used = len;
		return len;
	}
	unit[0] = '\\';
	unit[1] = 'x';
	unit[2] = hex[s[0] >> 4];
	unit[3] = hex[s[0] & 15];
	return 4;
}

size_t text_escape(const char *s, size_t n, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, need = 0, fill = 0, ulen, used;
	bool full = false;
	char unit[4];

	while (s && i < n) {
		ulen = text_unit(u + i, n - i, unit, &used);
		/* Stop copying at the first unit that doesn't fit whole, so a
		 * truncated result never ends in half an escape or character. */
		if (!full && fill + ulen < outlen) {
			memcpy(out + fill, unit, ulen);
			fill += ulen;
		} else {
			full = true;
		}
		need += ulen;
		i += used;
	}
	if (outlen)
		out[fill] = '\0';
	return need;
}

size_t utf8_seq_len(const void *s, size_t n)
{
	return n ? utf8_len(s, n) : 0;
}
