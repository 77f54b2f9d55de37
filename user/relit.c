// SPDX-License-Identifier: GPL-2.0
/* Required literals of an extended regular expression; see relit.h. */
#include <string.h>

#include "relit.h"

/* Characters that stand for themselves after a backslash. */
static const char escapable[] = ".[]()*+?{}|^$\\";

/* Past the bracket expression that starts at s[i] == '['; 0 when it does
 * not end.  "[]a]" and "[^]a]" hold a ']'; "[[:alpha:]]" a class. */
static size_t skip_bracket(const char *s, size_t i)
{
	size_t j = i + 1;

	if (s[j] == '^')
		j++;
	if (s[j] == ']')
		j++;
	while (s[j] && s[j] != ']') {
		if (s[j] == '[' && (s[j + 1] == ':' || s[j + 1] == '.' || s[j + 1] == '=')) {
			char close[3] = { s[j + 1], ']', '\0' };
			const char *end = strstr(s + j + 2, close);

			if (!end)
				return 0;
			j = (size_t)(end - s) + 2;
			continue;
		}
		j++;
	}
	return s[j] ? j + 1 : 0;
}

/* Past the unit that starts at s[i]: an escaped character, a bracket
 * expression, a group with all it holds, or one character; 0 when it does
 * not end. */
static size_t skip_unit(const char *s, size_t i)
{
	if (s[i] == '\\')
		return s[i + 1] ? i + 2 : 0;
	if (s[i] == '[')
		return skip_bracket(s, i);
	if (s[i] != '(')
		return i + 1;
	for (i++; s[i] && s[i] != ')';)
		if (!(i = skip_unit(s, i)))
			return 0;
	return s[i] ? i + 1 : 0;
}

struct run {
	char best[256];         /* the longest finished run: best[0..best_n) ... */
	size_t best_n;
	char cur[256];          /* ... and the one being read */
	size_t n;
};

static void run_end(struct run *r)
{
	if (r->n > r->best_n) {
		memcpy(r->best, r->cur, r->n);
		r->best_n = r->n;
	}
	r->n = 0;
}

/*
 * The longest literal run of the alternative s[b..e); its length (0: none
 * or not understood), the bytes in r->best.
 */
static size_t branch_literal(const char *s, size_t b, size_t e, struct run *r)
{
	size_t i = b, j;

	r->best_n = r->n = 0;
	while (i < e) {
		char ch = s[i];

		switch (ch) {
		case '\\':
			if (i + 1 >= e)
				return 0;
			if (!strchr(escapable, s[i + 1])) {
				run_end(r);     /* \< \> \b \w \1 ...: not a character */
				i += 2;
				continue;
			}
			ch = s[i + 1];
			i += 2;
			break;
		case '[':
		case '(':
			run_end(r);
			if (!(j = skip_unit(s, i)) || j > e)
				return 0;
			i = j;
			continue;
		case ')':
			return 0;       /* unbalanced: leave it to regcomp */
		case '.':
		case '^':
		case '$':
			run_end(r);
			i++;
			continue;
		case '*':
		case '?':
		case '{':
			/* The atom before may be absent: it is not part of the run. */
			if (r->n)
				r->n--;
			run_end(r);
			if (ch == '{') {
				const char *close = memchr(s + i, '}', e - i);

				if (!close)
					return 0;
				i = (size_t)(close - s) + 1;
			} else {
				i++;
			}
			continue;
		case '+':
			/* Present at least once, but what follows is not next to it. */
			run_end(r);
			i++;
			continue;
		default:
			i++;
			break;
		}
		if (r->n == sizeof(r->cur)) {
			/* So long a run is plenty: keep what there is. */
			run_end(r);
			continue;
		}
		r->cur[r->n++] = ch;
		/* A quantifier applies to this character alone: see above. */
	}
	run_end(r);
	return r->best_n;
}

size_t relit_extract(const char *ere, char *out, size_t outlen)
{
	struct run r;
	size_t i = 0, b = 0, pos = 0, count = 0;

	if (!ere || !out || !outlen)
		return 0;
	for (;;) {
		/* Find the end of this top-level alternative. */
		while (ere[i] && ere[i] != '|')
			if (!(i = skip_unit(ere, i)))
				return 0;
		if (branch_literal(ere, b, i, &r) < RELIT_MIN)
			return 0;
		if (pos + r.best_n + 2 > outlen)
			return 0;
		memcpy(out + pos, r.best, r.best_n);
		pos += r.best_n;
		out[pos++] = '\0';
		count++;
		if (!ere[i])
			break;
		b = ++i;
	}
	out[pos] = '\0';
	return count;
}

bool relit_any(const char *lits, const char *s, bool icase)
{
	for (; *lits; lits += strlen(lits) + 1)
		if (icase ? strcasestr(s, lits) != NULL : strstr(s, lits) != NULL)
			return true;
	return false;
}
