// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: path_resolve() over a filesystem the input makes up.  Input:
 * lines "LINK TARGET" (an absolute link path, a space, what it holds),
 * then a last line "CWD PATH".  Every other path exists as a directory,
 * except names starting with 'x', which do not.  A result is absolute and
 * normalized; an error is one path_resolve documents; the readlink
 * function is called at most a bounded number of times. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

#define LINKS 8

struct fakefs {
	char link[LINKS][128], target[LINKS][128];
	int n;
	unsigned long calls;
};

static int fake_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	struct fakefs *fs = ctx;
	int i;

	fs->calls++;
	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->link[i], path)) {
			size_t n = strlen(fs->target[i]);

			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(buf, fs->target[i], n);
			return (int)n;
		}
	if (path_basename(path)[0] == 'x')
		return -ENOENT;
	if (path_basename(path)[0] == 'y')
		return -EACCES;
	return -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fakefs fs;
	char text[1024], out[300], *line, *save, *last = NULL, *sp;
	bool link;
	int n;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (memchr(text, '\0', size))
		return 0;
	fs.n = 0;
	fs.calls = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (last && fs.n < LINKS && (sp = strchr(last, ' ')) && last[0] == '/' &&
		    (size_t)(sp - last) < sizeof(fs.link[0]) && strlen(sp + 1) < sizeof(fs.target[0])) {
			*sp = '\0';
			if (path_join_normalize(NULL, last, fs.link[fs.n], sizeof(fs.link[0])) > 0) {
				strcpy(fs.target[fs.n], sp + 1);
				fs.n++;
			}
		}
		last = line;
	}
	if (!last || !(sp = strchr(last, ' ')))
		return 0;
	*sp = '\0';
	{
		const struct path_fs pfs = { fake_readlink, &fs };

		n = path_resolve(&pfs, last, sp + 1, (size & 1) ? PATH_RESOLVE_FOLLOW : 0, out,
				 sizeof(out), &link);
	}
	/* each step reads one component of at most PATH_MAX bytes of path,
	 * and at most 40 links add more */
	if (fs.calls > 41ul * 2 * 4096)
		abort();
	if (n < 0) {
		if (n != -EINVAL && n != -ELOOP && n != -ENAMETOOLONG && n != -EACCES)
			abort();
		if (link)
			abort();
		return 0;
	}
	if (out[0] != '/' || (size_t)n != strlen(out))
		abort();
	if (strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../") ||
	    (n > 1 && out[n - 1] == '/'))
		abort();
	return 0;
}
