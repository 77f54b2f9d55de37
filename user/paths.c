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

/*
 * The usual stack, left to right, in one pass: the common case, where the
 * result fits.  Returns its length, or -1 when a step would not fit in
 * out (then walk() works out what to keep; a later ".." might have
 * brought the result back within outlen).
 */
static long walk_forward(const char *const src[], int nsrc, char *out, size_t outlen)
{
	size_t len = 0;
	int k;

	for (k = 0; k < nsrc; k++) {
		const char *s = src[k];

		for (;;) {
			size_t n;

			while (*s == '/')
				s++;
			if (!*s)
				break;
			for (n = 1; s[n] && s[n] != '/'; n++)
				;
			if (n == 1 && s[0] == '.') {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (len > 0 && out[len - 1] != '/')
					len--;
				if (len > 0)
					len--;
			} else {
				if (len + 1 + n >= outlen)
					return -1;
				out[len] = '/';
				memcpy(out + len + 1, s, n);
				len += 1 + n;
			}
			s += n;
		}
	}
	if (len == 0) {
		if (outlen < 2)
			return -1;
		out[len++] = '/';
	}
	out[len] = '\0';
	return (long)len;
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

	if (out && outlen) {
		long n = walk_forward(src, nsrc, out, outlen);

		if (n >= 0 && n <= INT_MAX)
			return (int)n;
	}
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

/* ---- resolution ---------------------------------------------------------- */

/* The walk: res is where it is (absolute, normalized, every component a
 * real directory but possibly the last), rest what is left to walk. */
struct rwalk {
	char res[PATH_MAX];
	size_t rlen;
	char rest[2 * PATH_MAX];
	size_t pos, len;                /* rest[pos..len) is still to walk */
};

static void res_pop(struct rwalk *w)
{
	while (w->rlen > 1 && w->res[w->rlen - 1] != '/')
		w->rlen--;
	if (w->rlen > 1)
		w->rlen--;
	w->res[w->rlen] = '\0';
}

static int res_push(struct rwalk *w, const char *c, size_t n)
{
	size_t sep = w->rlen > 1;

	if (w->rlen + sep + n >= sizeof(w->res))
		return -ENAMETOOLONG;
	if (sep)
		w->res[w->rlen++] = '/';
	memcpy(w->res + w->rlen, c, n);
	w->rlen += n;
	w->res[w->rlen] = '\0';
	return 0;
}

/* rest becomes target, '/', then what was left after the link. */
static int rest_splice(struct rwalk *w, const char *target, size_t tn)
{
	size_t left = w->len - w->pos, sep = left ? 1 : 0;

	if (tn + sep + left >= sizeof(w->rest))
		return -ENAMETOOLONG;
	memmove(w->rest + tn + sep, w->rest + w->pos, left);
	memcpy(w->rest, target, tn);
	if (sep)
		w->rest[tn] = '/';
	w->len = tn + sep + left;
	w->rest[w->len] = '\0';
	w->pos = 0;
	return 0;
}

static int resolve_walk(struct rwalk *w, const struct path_fs *fs, bool follow_last,
			bool *last_link)
{
	char target[PATH_MAX];
	unsigned links = 0;
	bool missing = false;
	int n, err;

	for (;;) {
		const char *c;
		size_t cn, e;
		bool last;

		while (w->pos < w->len && w->rest[w->pos] == '/')
			w->pos++;
		if (w->pos >= w->len)
			return 0;
		c = w->rest + w->pos;
		for (e = w->pos; e < w->len && w->rest[e] != '/'; e++)
			;
		cn = e - w->pos;
		w->pos = e;
		for (; e < w->len && w->rest[e] == '/'; e++)
			;
		last = e == w->len;
		if (cn == 1 && c[0] == '.')
			continue;
		if (cn == 2 && c[0] == '.' && c[1] == '.') {
			/* res holds no link (but a last one, and this is not
			 * last), so its parent is the physical one. */
			res_pop(w);
			continue;
		}
		/* c points into rest, which res_push does not touch. */
		if ((err = res_push(w, c, cn)))
			return err;
		if (missing)
			continue;
		n = fs->readlink(fs->ctx, w->res, target, sizeof(target));
		if (n == -EINVAL)
			continue;
		if (n == -ENOENT || n == -ENOTDIR || n == 0) {
			/* An empty link fails the kernel's lookup too (ENOENT). */
			missing = true;
			continue;
		}
		if (n < 0)
			return n;
		if ((size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		if (last && !follow_last) {
			if (last_link)
				*last_link = true;
			return 0;
		}
		if (++links > PATH_MAXSYMLINKS)
			return -ELOOP;
		res_pop(w);
		if (n > 0 && target[0] == '/') {
			w->rlen = 1;
			strcpy(w->res, "/");
		}
		if ((err = rest_splice(w, target, (size_t)n)))
			return err;
	}
}

int path_resolve(const struct path_fs *fs, const char *cwd, const char *path, unsigned flags,
		 char *out, size_t outlen, bool *last_link)
{
	struct rwalk w;
	size_t pl;
	int err;

	if (last_link)
		*last_link = false;
	if (out && outlen)
		out[0] = '\0';
	if (!path || !path[0])
		return -EINVAL;
	if (path[0] != '/' && (!cwd || cwd[0] != '/'))
		return -EINVAL;
	/* The lexical form first: what a failure leaves in out. */
	err = path_join_normalize(cwd, path, out, outlen);
	if (err == -EINVAL)
		return err;
	if (path[0] == '/') {
		strcpy(w.res, "/");
		w.rlen = 1;
	} else {
		int r = path_join_normalize(NULL, cwd, w.res, sizeof(w.res));

		if (r < 0)
			return r;
		w.rlen = (size_t)r;
	}
	pl = strlen(path);
	if (pl >= sizeof(w.rest))
		return -ENAMETOOLONG;
	memcpy(w.rest, path, pl + 1);
	w.pos = 0;
	w.len = pl;
	err = resolve_walk(&w, fs, (flags & PATH_RESOLVE_FOLLOW) || path[pl - 1] == '/', last_link);
	if (err) {
		if (last_link)
			*last_link = false;
		return err;
	}
	if (!out || w.rlen >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, w.res, w.rlen + 1);
	return (int)w.rlen;
}
