// SPDX-License-Identifier: GPL-2.0
/* Lexical path normalization; see paths.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "paths.h"

/*
 * Step back to the component ending before *end in s.  Returns false when
 * none is left; else sets *start and *len and moves *end before it.
 */
static bool prev_component(const char *s, size_t *end, size_t *start, size_t *len)
{
	size_t e = *end, b;

	while (e > 0 && s[e - 1] == '/')
		e--;
	if (e == 0)
		return false;
	b = e;
	while (b > 0 && s[b - 1] != '/')
		b--;
	*start = b;
	*len = e - b;
	*end = b;
	return true;
}

/* Copy n bytes to out[pos..], dropping what falls past the room for a NUL. */
static void emit(char *out, size_t outlen, size_t pos, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && pos + i + 1 < outlen; i++)
		out[pos + i] = p[i];
}

/*
 * Walk the components of src[0] then src[1]... from the last one back.
 * Going right to left, a ".." cancels the next kept component to its left,
 * and ".." left over at the start is dropped (never above "/"); that is
 * the same result as the usual stack, but the final length is known after
 * one pass and nothing needs a buffer as long as the input.  With out set,
 * the second pass writes each kept component at its final offset, given
 * the total length from the first.  Returns the result's length.
 */
static size_t walk(const char *const src[], int nsrc, char *out, size_t outlen, size_t total)
{
	size_t skip = 0, len = 0, end, start, clen;
	int k;

	for (k = nsrc - 1; k >= 0; k--) {
		const char *s = src[k];

		end = strlen(s);
		while (prev_component(s, &end, &start, &clen)) {
			if (clen == 1 && s[start] == '.')
				continue;
			if (clen == 2 && s[start] == '.' && s[start + 1] == '.') {
				skip++;
				continue;
			}
			if (skip) {
				skip--;
				continue;
			}
			len += clen + 1;
			if (out) {
				emit(out, outlen, total - len, "/", 1);
				emit(out, outlen, total - len + 1, s + start, clen);
			}
		}
	}
	if (len == 0) {		/* everything cancelled: the root */
		if (out)
			emit(out, outlen, 0, "/", 1);
		len = 1;
	}
	return len;
}

int path_join_normalize(const char *dir, const char *path, char *out, size_t outlen)
{
	const char *src[2];
	size_t total;
	int nsrc = 0;

	if (out && outlen)
		out[0] = '\0';
	if (!path)
		return -EINVAL;
	if (path[0] != '/') {
		if (!dir || dir[0] != '/')
			return -EINVAL;
		src[nsrc++] = dir;
	}
	src[nsrc++] = path;

	total = walk(src, nsrc, NULL, 0, 0);
	if (!out || !outlen)
		return -ENAMETOOLONG;
	walk(src, nsrc, out, outlen, total);
	if (total >= outlen || total > INT_MAX) {
		out[outlen - 1 < total ? outlen - 1 : total] = '\0';
		return -ENAMETOOLONG;
	}
	out[total] = '\0';
	return (int)total;
}

bool path_is_under(const char *path, const char *dir)
{
	size_t n;

	if (!path || !dir || !path[0] || !dir[0])
		return false;
	n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		n--;
	if (n == 0)		/* dir is "/" */
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const char *path_basename(const char *path)
{
	const char *last, *p;

	if (!path)
		return "";
	last = strrchr(path, '/');
	if (!last)
		return path;
	if (last[1])
		return last + 1;
	/* Trailing slash: only slashes is the root, anything else a dir. */
	for (p = last; p > path && p[-1] == '/'; p--)
		;
	return p == path ? last : last + 1;
}
