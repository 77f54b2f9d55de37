// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: lexical path normalisation.  The result, when there is one, is
 * absolute, has no "." or ".." component and no "//", and is idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[512], dir[256], out[300], again[300];
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
