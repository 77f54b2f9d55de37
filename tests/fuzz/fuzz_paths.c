// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: lexical path normalisation.  The result, when there is one, is
 * absolute, has no "." or ".." component and no "//", and is idempotent;
 * it is what a plain stack of components gives, in any size of buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

/* The textbook way, with room for anything: the reference. */
static size_t ref_normalize(const char *dir, const char *path, char *out)
{
	const char *src[2] = { dir, path };
	size_t len = 0;
	int k;

	for (k = path[0] == '/' ? 1 : 0; k < 2; k++) {
		const char *s = src[k];

		while (*s) {
			size_t n;

			while (*s == '/')
				s++;
			n = strcspn(s, "/");
			if (n == 0 || (n == 1 && s[0] == '.')) {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (len && out[--len] != '/')
					;
			} else {
				out[len++] = '/';
				memcpy(out + len, s, n);
				len += n;
			}
			s += n;
		}
	}
	if (!len)
		out[len++] = '/';
	out[len] = '\0';
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[512], dir[256], out[300], again[300], ref[1024], small[24];
	const uint8_t *sep = memchr(data, '\n', size);
	size_t dl = sep ? (size_t)(sep - data) : 0;
	size_t pl = sep ? size - dl - 1 : size;
	int n;

	if (dl >= sizeof(dir) || pl >= sizeof(in))
		return 0;
	memcpy(dir, data, dl);
	dir[dl] = '\0';
	memcpy(in, sep ? sep + 1 : data, pl);
	in[pl] = '\0';
	n = path_join_normalize(dl ? dir : NULL, in, out, sizeof(out));
	if (n < 0 && n != -ENAMETOOLONG && n != -EINVAL)
		abort();
	if (n == -EINVAL && (in[0] == '/' || (dl && dir[0] == '/')))
		abort();
	if (n != -EINVAL) {
		size_t rl = ref_normalize(dl ? dir : "/", in, ref);
		int m = path_join_normalize(dl ? dir : NULL, in, small, sizeof(small));

		if (rl < sizeof(out) ? (n != (int)rl || strcmp(out, ref)) : n != -ENAMETOOLONG)
			abort();
		if (rl < sizeof(small) ? (m != (int)rl || strcmp(small, ref)) : m != -ENAMETOOLONG)
			abort();
		/* Too long: what fits of the result, cut short. */
		if (m == -ENAMETOOLONG && strncmp(small, ref, sizeof(small) - 1))
			abort();
	}
	if (n < 0)
		return 0;
	if (out[0] != '/' || (size_t)n != strlen(out))
		abort();
	if (strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../"))
		abort();
	if (path_join_normalize(NULL, out, again, sizeof(again)) != n || strcmp(out, again))
		abort();
	return 0;
}
