// SPDX-License-Identifier: GPL-2.0
/* argv classification and shell-like splitting; see cmdline.h. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmdline.h"

/* ---- argv --------------------------------------------------------------- */

static enum cmdword_kind classify(const char *p, size_t n, bool *seen_ddash)
{
	if (*seen_ddash)
		return CW_OPERAND;
	if (n == 2 && p[0] == '-' && p[1] == '-') {
		*seen_ddash = true;
		return CW_DDASH;
	}
	if (n >= 3 && p[0] == '-' && p[1] == '-')
		return CW_LONG;
	if (n >= 2 && p[0] == '-')
		return CW_SHORT;
	return CW_OPERAND;   /* includes "-" (stdin) and "" */
}

/* Split into w[0..cap); true when every word fitted. */
static bool split_words(struct cmdline *c, const char *argv, size_t len, struct cmdword *w,
			size_t cap)
{
	size_t pos = 0;
	bool seen = false;

	c->w = w;
	c->n = 0;
	while (pos < len && c->n < cap) {
		const char *nul = memchr(argv + pos, '\0', len - pos);
		size_t n = nul ? (size_t)(nul - (argv + pos)) : len - pos;
		struct cmdword *cw = &w[c->n];

		cw->p = argv + pos;
		cw->n = n;
		cw->kind = c->n == 0 ? CW_ARG0 : classify(cw->p, n, &seen);
		if (cw->kind == CW_DDASH)
			c->ddash = c->n;
		c->n++;
		pos += n + 1;
	}
	if (!seen)
		c->ddash = c->n;
	return pos >= len;
}

int cmdline_init(struct cmdline *c, const char *argv, size_t len)
{
	size_t pos = 0, cap = 0;
	struct cmdword *w;

	memset(c, 0, sizeof(*c));
	if (!argv || !len)
		return 0;
	/* Count first: one allocation, sized to the words present. */
	while (pos < len && cap < CMDLINE_WORDS_MAX) {
		const char *nul = memchr(argv + pos, '\0', len - pos);

		cap++;
		pos = nul ? (size_t)(nul - argv) + 1 : len;
	}
	w = calloc(cap, sizeof(*w));
	if (!w)
		return -ENOMEM;
	split_words(c, argv, len, w, cap);
	c->w_heap = true;
	return 0;
}

int cmdline_init_buf(struct cmdline *c, const char *argv, size_t len, struct cmdword *buf,
		     size_t nbuf)
{
	memset(c, 0, sizeof(*c));
	if (!argv || !len)
		return 0;
	if (nbuf && nbuf <= CMDLINE_WORDS_MAX && split_words(c, argv, len, buf, nbuf))
		return 0;
	return cmdline_init(c, argv, len);
}

void cmdline_release(struct cmdline *c)
{
	if (!c)
		return;
	if (c->w_heap)
		free(c->w);
	memset(c, 0, sizeof(*c));
}

bool cmdline_value_is_false(const char *p, size_t n)
{
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (n == strlen(no[i]) && strncasecmp(p, no[i], n) == 0)
			return true;
	return false;
}

/* fnmatch on a counted string. */
static bool glob_n(const char *glob, const char *p, size_t n)
{
	char buf[AW_PATH_MAX];

	if (n >= sizeof(buf) || memchr(p, '\0', n))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return fnmatch(glob, buf, 0) == 0;
}

static uint64_t len_bit(size_t n)
{
	return 1ull << (n < 63 ? n : 63);
}

void cmd_valopts_prepare(struct cmd_valopts *vo)
{
	size_t i;

	memset(vo->shorts, 0, sizeof(vo->shorts));
	vo->lens = 0;
	for (i = 0; i < vo->n; i++) {
		const unsigned char *s = (const unsigned char *)vo->v[i];

		if (s[0] == '-' && s[1] && s[1] != '-' && s[2] == '\0')
			vo->shorts[s[1] / 64] |= 1ull << (s[1] % 64);
		vo->lens |= len_bit(strlen(vo->v[i]));
	}
	vo->prepared = true;
}

/* Is the short option ch declared to take a value? */
static bool vo_short(const struct cmd_valopts *vo, char ch)
{
	size_t i;

	if (vo && vo->prepared)
		return (vo->shorts[(unsigned char)ch / 64] >> ((unsigned char)ch % 64)) & 1;
	for (i = 0; vo && i < vo->n; i++) {
		const char *s = vo->v[i];

		if (s[0] == '-' && s[1] == ch && s[2] == '\0' && ch != '-')
			return true;
	}
	return false;
}

/* Is the whole word (a long or single-dash long option, before any '=')
 * declared to take a value? */
static bool vo_word(const struct cmd_valopts *vo, const char *p, size_t n)
{
	size_t i;

	if (vo && vo->prepared && !(vo->lens & len_bit(n)))
		return false;
	for (i = 0; vo && i < vo->n; i++) {
		const char *s = vo->v[i];

		if (n > 2 && strncmp(s, p, n) == 0 && s[n] == '\0')
			return true;
	}
	return false;
}

/*
 * Does option word i take the next word as its value?  A long option does
 * when declared and written without '='.  A cluster does when its first
 * declared short option is its last character ("-xn VALUE"); when such an
 * option is followed by more characters those are the value ("-nprod").
 */
static bool takes_next(const struct cmdword *w, const struct cmd_valopts *vo)
{
	size_t j;

	if (!vo || !vo->n)
		return false;
	if (w->kind == CW_LONG)
		return !memchr(w->p, '=', w->n) && vo_word(vo, w->p, w->n);
	if (w->kind != CW_SHORT)
		return false;
	if (vo_word(vo, w->p, w->n))
		return true;
	for (j = 1; j < w->n; j++)
		if (vo_short(vo, w->p[j]))
			return j + 1 == w->n;
	return false;
}

static bool match_long(const struct cmdline *c, size_t i, const struct flagspec *fs, size_t dashes)
{
	const struct cmdword *w = &c->w[i];
	const char *name = w->p + dashes, *eq;
	size_t n = w->n - dashes, nlen;

	eq = memchr(name, '=', n);
	nlen = eq ? (size_t)(eq - name) : n;
	if (nlen != fs->name_len || memcmp(name, fs->name, nlen) != 0)
		return false;
	if (!fs->value)
		return !eq || !cmdline_value_is_false(eq + 1, n - nlen - 1);
	if (eq)
		return glob_n(fs->value, eq + 1, n - nlen - 1);
	return i + 1 < c->ddash && glob_n(fs->value, c->w[i + 1].p, c->w[i + 1].n);
}

static bool match_short(const struct cmdline *c, size_t i, const struct cmd_valopts *vo,
			const struct flagspec *fs)
{
	const struct cmdword *w = &c->w[i];
	size_t j;

	for (j = 1; j < w->n; j++) {
		if (w->p[j] == fs->ch) {
			if (!fs->value)
				return true;
			if (j + 1 < w->n)
				return glob_n(fs->value, w->p + j + 1, w->n - j - 1);
			return i + 1 < c->ddash && glob_n(fs->value, c->w[i + 1].p, c->w[i + 1].n);
		}
		/* The rest of the word is this option's value, not flags. */
		if (vo_short(vo, w->p[j]))
			return false;
	}
	return false;
}

bool cmdline_has_flag(const struct cmdline *c, const struct cmd_valopts *vo,
		      const struct flagspec *fs)
{
	bool value_next = false;
	size_t i;

	for (i = 1; i < c->ddash; i++) {
		const struct cmdword *w = &c->w[i];

		if (value_next) {
			value_next = false;
			continue;
		}
		if (w->kind == CW_LONG && fs->kind == FS_LONG && match_long(c, i, fs, 2))
			return true;
		if (w->kind == CW_SHORT && fs->kind == FS_SDLONG && match_long(c, i, fs, 1))
			return true;
		if (w->kind == CW_SHORT && fs->kind == FS_SHORT && !vo_word(vo, w->p, w->n) &&
		    match_short(c, i, vo, fs))
			return true;
		value_next = takes_next(w, vo);
	}
	return false;
}

size_t cmdline_operands(const struct cmdline *c, const struct cmd_valopts *vo,
			size_t *idx, size_t max)
{
	bool value_next = false;
	size_t i, n = 0;

	for (i = 1; i < c->n; i++) {
		const struct cmdword *w = &c->w[i];

		if (w->kind == CW_DDASH)
			continue;
		if (value_next) {
			value_next = false;
			continue;
		}
		if (w->kind == CW_OPERAND) {
			if (n < max)
				idx[n] = i;
			n++;
			continue;
		}
		value_next = takes_next(w, vo);
	}
	return n;
}

size_t cmdline_join(const struct cmdline *c, char *out, size_t outlen)
{
	size_t i, pos = 0;

	for (i = 0; i < c->n; i++) {
		const struct cmdword *w = &c->w[i];
		size_t k;

		if (i) {
			if (pos + 1 < outlen)
				out[pos] = ' ';
			pos++;
		}
		for (k = 0; k < w->n; k++, pos++)
			if (pos + 1 < outlen)
				out[pos] = w->p[k];
	}
	if (outlen)
		out[pos < outlen ? pos : outlen - 1] = '\0';
	return pos;
}

int cmdline_flagspec_parse(const char *spec, struct flagspec *fs)
{
	const char *eq;
	size_t n;

	memset(fs, 0, sizeof(*fs));
	if (!spec || spec[0] != '-')
		return -EINVAL;
	eq = strchr(spec, '=');
	n = eq ? (size_t)(eq - spec) : strlen(spec);
	fs->value = eq ? eq + 1 : NULL;
	if (n >= 3 && spec[1] == '-') {
		fs->kind = FS_LONG;
		fs->name = spec + 2;
		fs->name_len = n - 2;
	} else if (n == 2 && spec[1] != '-') {
		fs->kind = FS_SHORT;
		fs->ch = spec[1];
	} else if (n >= 3) {
		fs->kind = FS_SDLONG;
		fs->name = spec + 1;
		fs->name_len = n - 1;
	} else {
		return -EINVAL;
	}
	if (fs->kind != FS_SHORT && memchr(fs->name, '-', 1))
		return -EINVAL;   /* "---x" */
	return 0;
}

/* ---- shell-like splitting ----------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int cmdline_split(const char *line, size_t n, bool mark_bars, char *out, uint32_t *col,
		  struct shword *w, size_t max, size_t *err_col, const char **why)
{
	size_t i = 0, o = 0, nw = 0;

	while (i < n) {
		struct shword cur;

		if (blank(line[i])) {
			i++;
			continue;
		}
		if (line[i] == '#')
			break;
		if (nw == max) {
			*err_col = i + 1;
			*why = "too many words on the line";
			return -E2BIG;
		}
		cur.off = o;
		cur.col = i + 1;
		while (i < n && !blank(line[i])) {
			char ch = line[i];

			if (ch == '\'') {
				size_t q = i++;

				while (i < n && line[i] != '\'') {
					col[o] = i + 1;
					out[o++] = line[i++];
				}
				if (i == n) {
					*err_col = q + 1;
					*why = "unterminated ' quote";
					return -EINVAL;
				}
				i++;
			} else if (ch == '"') {
				size_t q = i++;

				while (i < n && line[i] != '"') {
					if (line[i] == '\\' && i + 1 < n &&
					    strchr("\"\\$`", line[i + 1]))
						i++;
					col[o] = i + 1;
					out[o++] = line[i++];
				}
				if (i == n) {
					*err_col = q + 1;
					*why = "unterminated \" quote";
					return -EINVAL;
				}
				i++;
			} else if (ch == '\\' && i + 1 < n) {
				col[o] = i + 2;
				out[o++] = line[i + 1];
				i += 2;
			} else {
				col[o] = i + 1;
				out[o++] = (mark_bars && ch == '|') ? CMDLINE_BAR : ch;
				i++;
			}
		}
		cur.len = o - cur.off;
		w[nw++] = cur;
	}
	return (int)nw;
}
